//! What reviewing, taking away and deleting a long interview costs: a
//! 30-minute session (90 000 stored 20 ms Opus frames of the candidate's
//! voice at 16 kHz, 8 s of the interviewer's at 24 kHz before each of 10
//! answers, five of which cut into the question's last second; a transcript
//! segment per turn; real Opus packets of a voiced signal) is replayed (`export::audio_file` for `interview.ogg`, both voices
//! decoded, mixed and coded again, and one answer, copied: what
//! `GET /v1/interviews/{id}/audio/…` builds before its first byte, beside
//! reading the stored frames alone, the floor, in the same run), exported (`export::build` + `Bundle::to_zip`, what
//! `GET /v1/interviews/{id}/export` does) and then deleted (`secure_delete`
//! plus the truncating checkpoint). Prints wall time and sizes; nothing is
//! compared with a fixed threshold.
//!
//! ```text
//! cargo bench -p candor-server --all-features --bench review [-- --minutes 30]
//! ```

use std::sync::Arc;
use std::time::Instant;

use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use candor_server::store::{
    AudioFormat, InterviewRecord, SegmentKind, SessionRecord, SessionWrite, SqliteStore, Store,
    StoredCodec, TranscriptRecord, UserRecord,
};

/// One second of a voiced signal (a 140 Hz buzz with its harmonics, its
/// loudness moving at a syllable rate) as 50 Opus packets at `rate`.
fn voiced_second(rate: u32) -> Vec<bytes::Bytes> {
    let samples: Vec<f32> = (0..rate)
        .map(|n| {
            let t = n as f32 / rate as f32;
            let envelope = 0.5 + 0.5 * (std::f32::consts::TAU * 4.0 * t).sin();
            let buzz: f32 = (1..=12)
                .map(|h| (std::f32::consts::TAU * 140.0 * h as f32 * t).sin() / h as f32)
                .sum();
            0.1 * envelope * buzz
        })
        .collect();
    candor_server::voice::encode_clip(candor_audio::Codec::Opus, rate, &samples).unwrap()
}

fn main() {
    let minutes: u64 = std::env::args()
        .skip_while(|a| a != "--minutes")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .create_user(&UserRecord {
            id: "u".into(),
            email: Some("a@example.org".into()),
            display_name: "a".into(),
            password_hash: None,
            local_profile: None,
            created_at_ms: 0,
        })
        .unwrap();
    store
        .create_interview(&InterviewRecord {
            id: "i".into(),
            user_id: "u".into(),
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: 10,
            status: InterviewStatus::Created,
            created_at_ms: 1_764_570_000_000,
            updated_at_ms: 0,
            retry_of: None,
        })
        .unwrap();
    let duration_ms = minutes * 60_000;
    store
        .create_session(&SessionRecord {
            id: "s".into(),
            interview_id: "i".into(),
            user_id: "u".into(),
            engine: "practice".into(),
            end_reason: None,
            started_at_ms: 0,
            ended_at_ms: None,
            duration_ms: None,
            last_client_seq: 0,
            input: Some(AudioFormat {
                codec: StoredCodec::Opus,
                sample_rate_hz: 16_000,
                frame_ms: 20,
            }),
            output: Some(AudioFormat {
                codec: StoredCodec::Opus,
                sample_rate_hz: 24_000,
                frame_ms: 20,
            }),
        })
        .unwrap();
    let sid: Arc<str> = Arc::from("s");
    let frames = duration_ms / 20;
    let candidate = voiced_second(16_000);
    let interviewer = voiced_second(24_000);
    // Ten questions, each asked then answered, spread over the session.
    let turn = duration_ms / 10;
    // One commit per second of audio, as the recorder batches; the
    // interviewer speaks the first 8 s of each turn.
    let mut seq = 0u64;
    let mut voice_seq = 0u64;
    while seq < frames {
        let mut batch: Vec<SessionWrite> = Vec::new();
        for _ in 0..50.min(frames - seq) {
            seq += 1;
            let at_ms = (seq - 1) * 20;
            batch.push(SessionWrite::Audio {
                session_id: sid.clone(),
                seq,
                timestamp_us: at_ms * 1000,
                data: candidate[(seq as usize - 1) % candidate.len()].clone(),
            });
            if at_ms % turn < 8_000 {
                voice_seq += 1;
                batch.push(SessionWrite::InterviewerAudio {
                    session_id: sid.clone(),
                    seq: voice_seq,
                    due_us: at_ms * 1000,
                    data: interviewer[(voice_seq as usize - 1) % interviewer.len()].clone(),
                });
            }
        }
        store.record(&batch).unwrap();
    }
    let mut writes = Vec::new();
    for q in 0..10u64 {
        let at = q * turn;
        for (i, (speaker, kind, from, to)) in [
            (Speaker::Interviewer, SegmentKind::Question, at, at + 8_000),
            (
                Speaker::Candidate,
                SegmentKind::Answer,
                at + 10_000,
                at + turn - 5_000,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            writes.push(SessionWrite::Transcript {
                session_id: sid.clone(),
                segment: TranscriptRecord {
                    segment_id: q * 2 + i as u64 + 1,
                    speaker,
                    kind,
                    text: "A sentence of the kind people say in interviews, repeated. ".repeat(20),
                    start_ms: from,
                    end_ms: to,
                    question_index: q as u32 + 1,
                    interrupted: false,
                },
            });
        }
        // Every other answer cuts into the question's last second: both
        // voices at once, coded again in the replay.
        let cut_in = if q % 2 == 1 { 7_000 } else { 10_000 };
        writes.push(SessionWrite::Speech {
            session_id: sid.clone(),
            start_ms: at + cut_in,
            end_ms: at + turn - 5_000,
        });
    }
    store.record(&writes).unwrap();
    store
        .end_session("s", "interview_complete", 1, duration_ms)
        .unwrap();
    candor_server::results::process(&store, "i").unwrap();
    let db_bytes = std::fs::metadata(dir.path().join("candor.db"))
        .unwrap()
        .len();

    // Replay. The window fetches the file whole and plays it from a Blob
    // (WebKitGTK cannot stream media from the app's scheme), so the file's
    // size is what replay holds in the web process.
    let started = Instant::now();
    let stored = store.candidate_frames("s").unwrap();
    let read = started.elapsed();
    let stored_bytes: usize = stored.iter().map(|f| f.data.len()).sum();
    drop(stored);
    let started = Instant::now();
    let whole = candor_server::export::audio_file(&store, "i", "interview.ogg")
        .unwrap()
        .expect("interview.ogg");
    let whole_t = started.elapsed();
    let started = Instant::now();
    let answer = candor_server::export::audio_file(&store, "i", "answer-05.ogg")
        .unwrap()
        .expect("answer-05.ogg");
    let answer_t = started.elapsed();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "replay: reading the {frames} stored candidate frames ({:.2} MiB) {:.0} ms (the floor); \
         interview.ogg (both voices mixed) built in {:.0} ms ({:.2}x the floor), {:.2} MiB held by the window; \
         answer-05.ogg built in {:.0} ms ({:.2}x), {:.2} MiB",
        stored_bytes as f64 / 1048576.0,
        ms(read),
        ms(whole_t),
        whole_t.as_secs_f64() / read.as_secs_f64(),
        whole.bytes.len() as f64 / 1048576.0,
        ms(answer_t),
        answer_t.as_secs_f64() / read.as_secs_f64(),
        answer.bytes.len() as f64 / 1048576.0,
    );

    let started = Instant::now();
    let bundle = candor_server::export::build(&store, "i").unwrap();
    let built = started.elapsed();
    let zip = bundle.to_zip().unwrap();
    let zipped = started.elapsed();
    println!(
        "{minutes}-minute interview, {frames} frames, database {:.1} MiB",
        db_bytes as f64 / 1048576.0
    );
    println!(
        "export: build {:.0} ms, build + zip {:.0} ms, zip {:.2} MiB, {} files (interview.ogg {:.2} MiB)",
        built.as_secs_f64() * 1000.0,
        zipped.as_secs_f64() * 1000.0,
        zip.len() as f64 / 1048576.0,
        bundle.files.len(),
        bundle.file("interview.ogg").unwrap().bytes.len() as f64 / 1048576.0,
    );
    let started = Instant::now();
    let erasure = store.delete_interview("i").unwrap().unwrap();
    println!(
        "delete (secure_delete + truncating checkpoint): {:.0} ms, {:.1} MiB of audio erased, wiped: {}",
        started.elapsed().as_secs_f64() * 1000.0,
        erasure.audio_bytes as f64 / 1048576.0,
        erasure.wiped
    );
}
