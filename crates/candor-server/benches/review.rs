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

#[path = "support/long_interview.rs"]
mod long_interview;

use std::time::Instant;

use candor_server::store::{SqliteStore, Store, UserRecord};
use long_interview::{LongInterview, seed};

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
    let frames = seed(
        &store,
        &LongInterview {
            user_id: "u",
            interview_id: "i",
            session_id: "s",
            minutes,
            created_at_ms: 1_764_570_000_000,
        },
    );
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
