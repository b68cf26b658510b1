//! A long practice interview written straight into a store, as the session's
//! recorder would have written it, with its results computed: the review
//! benches' subject (`review` here, `replay_open` of the desktop app, which
//! opens it in the window).
//!
//! The session: the candidate's voice as 20 ms Opus frames at 16 kHz for the
//! whole length, ten questions evenly spread, the interviewer's voice (Opus at
//! 24 kHz) for the first 8 s of each — from the session's first frame, so a
//! replay is audible at once — every other answer cutting into the
//! question's last second (both voices at once, coded again in a replay), a
//! transcript segment per turn. The packets are real Opus of a voiced signal.

use std::sync::Arc;

use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use candor_server::store::{
    AudioFormat, FrameFlags, InterviewRecord, SegmentKind, SessionRecord, SessionWrite, Store,
    StoredCodec, TranscriptRecord,
};

/// The interview to write.
pub struct LongInterview<'a> {
    pub user_id: &'a str,
    pub interview_id: &'a str,
    pub session_id: &'a str,
    pub minutes: u64,
    pub created_at_ms: i64,
}

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
    candor_server::voice::encode_clip(candor_audio::Codec::Opus, rate, &samples)
        .expect("Opus encodes a voiced second")
}

/// Writes the interview (its user must exist), ends its session and
/// computes its results. Returns the number of candidate frames.
pub fn seed(store: &dyn Store, spec: &LongInterview<'_>) -> u64 {
    let opus = |rate| AudioFormat {
        codec: StoredCodec::Opus,
        sample_rate_hz: rate,
        frame_ms: 20,
    };
    store
        .create_interview(&InterviewRecord {
            id: spec.interview_id.into(),
            user_id: spec.user_id.into(),
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: 10,
            status: InterviewStatus::Created,
            created_at_ms: spec.created_at_ms,
            updated_at_ms: spec.created_at_ms,
            retry_of: None,
        })
        .expect("interview");
    store
        .create_session(&SessionRecord {
            id: spec.session_id.into(),
            interview_id: spec.interview_id.into(),
            user_id: spec.user_id.into(),
            engine: "practice".into(),
            end_reason: None,
            started_at_ms: spec.created_at_ms,
            ended_at_ms: None,
            duration_ms: None,
            last_client_seq: 0,
            input: Some(opus(16_000)),
            output: Some(opus(24_000)),
            owner: None,
            lease_until_ms: None,
        })
        .expect("session");
    let sid: Arc<str> = Arc::from(spec.session_id);
    let duration_ms = spec.minutes * 60_000;
    let frames = duration_ms / 20;
    let candidate = voiced_second(16_000);
    let interviewer = voiced_second(24_000);
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
                flags: FrameFlags::VOICE,
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
        store.record(&batch).expect("audio");
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
        let cut_in = if q % 2 == 1 { 7_000 } else { 10_000 };
        writes.push(SessionWrite::Speech {
            session_id: sid.clone(),
            start_ms: at + cut_in,
            end_ms: at + turn - 5_000,
        });
    }
    store.record(&writes).expect("transcript");
    store
        .end_session(
            spec.session_id,
            "interview_complete",
            spec.created_at_ms + duration_ms as i64,
            duration_ms,
        )
        .expect("end");
    candor_server::results::process(store, spec.interview_id).expect("results");
    frames
}
