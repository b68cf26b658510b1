//! The recorder's group commit on each backend: `Store::record` with what
//! one `commit_interval` (100 ms) of many live sessions brings — per
//! session five 20 ms Opus frames of 60 bytes, and now and then a
//! transcript segment and a speech span. Measured on SQLite (a temporary
//! directory) and, when `CANDOR_TEST_POSTGRES_URL` is set (e.g. under
//! `scripts/with-postgres`), on PostgreSQL (a fresh schema, dropped after)
//! in the same run; prints batch latency quantiles, the frames a second a
//! backend can commit, and PostgreSQL's ratio to SQLite. Nothing is
//! compared with a fixed threshold.
//!
//! ```text
//! scripts/with-postgres cargo bench -p candor-server --bench store_record [-- --sessions 200 --batches 100]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use candor_server::store::{
    AudioFormat, FrameFlags, InterviewRecord, PostgresStore, SegmentKind, SessionRecord,
    SessionWrite, SqliteStore, Store, StoredCodec, TranscriptRecord, UserRecord,
};

const FRAMES_PER_BATCH: u64 = 5;

struct Run {
    batch: Vec<Duration>,
    frames: u64,
    total: Duration,
}

impl Run {
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.batch.clone();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }

    fn frames_per_second(&self) -> f64 {
        self.frames as f64 / self.total.as_secs_f64()
    }
}

fn arg(name: &str, default: u64) -> u64 {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn prepare(store: &dyn Store, sessions: u64) -> Vec<Arc<str>> {
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
    (0..sessions)
        .map(|n| {
            let interview = format!("i{n}");
            store
                .create_interview(&InterviewRecord {
                    id: interview.clone(),
                    user_id: "u".into(),
                    role: Role::SoftwareEngineer,
                    seniority: Seniority::Mid,
                    job_description: None,
                    cv_text: None,
                    question_count: 10,
                    status: InterviewStatus::Created,
                    created_at_ms: n as i64,
                    updated_at_ms: 0,
                    retry_of: None,
                })
                .unwrap();
            let id = format!("s{n}");
            store
                .create_session(&SessionRecord {
                    id: id.clone(),
                    interview_id: interview,
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
                    output: None,
                    owner: None,
                    lease_until_ms: None,
                })
                .unwrap();
            Arc::from(id)
        })
        .collect()
}

/// One commit interval of every session, as the recorder batches it.
fn batch(sessions: &[Arc<str>], n: u64) -> Vec<SessionWrite> {
    let mut writes = Vec::new();
    for seq in n * FRAMES_PER_BATCH + 1..=(n + 1) * FRAMES_PER_BATCH {
        for sid in sessions {
            writes.push(SessionWrite::Audio {
                session_id: sid.clone(),
                seq,
                timestamp_us: seq * 20_000,
                flags: FrameFlags::VOICE,
                data: Bytes::from(vec![(seq % 251) as u8; 60]),
            });
        }
    }
    // An answer's end every 30 intervals (3 s) per session, staggered.
    for (i, sid) in sessions.iter().enumerate() {
        if (n + i as u64).is_multiple_of(30) {
            writes.push(SessionWrite::Transcript {
                session_id: sid.clone(),
                segment: TranscriptRecord {
                    segment_id: n + 1,
                    speaker: Speaker::Candidate,
                    kind: SegmentKind::Answer,
                    text: "I led the migration of our billing system to the new ledger".into(),
                    start_ms: n * 100,
                    end_ms: n * 100 + 3000,
                    question_index: 1,
                    interrupted: false,
                },
            });
            writes.push(SessionWrite::Speech {
                session_id: sid.clone(),
                start_ms: n * 100,
                end_ms: n * 100 + 3000,
            });
        }
    }
    writes
}

fn run(store: &dyn Store, sessions: u64, batches: u64) -> Run {
    let ids = prepare(store, sessions);
    // Warm-up: connections, caches, statement plans.
    for n in 0..5 {
        store.record(&batch(&ids, n)).unwrap();
    }
    let mut times = Vec::new();
    let t0 = Instant::now();
    for n in 5..5 + batches {
        let writes = batch(&ids, n);
        let t = Instant::now();
        store.record(&writes).unwrap();
        times.push(t.elapsed());
    }
    let total = t0.elapsed();
    let last = store.session(&ids[0]).unwrap().unwrap().last_client_seq;
    assert_eq!(last, (5 + batches) * FRAMES_PER_BATCH, "every batch stored");
    Run {
        batch: times,
        frames: batches * FRAMES_PER_BATCH * sessions,
        total,
    }
}

fn report(name: &str, r: &Run) {
    println!(
        "{name:<10} batch p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  {:>9.0} frames/s committed",
        r.quantile(0.5).as_secs_f64() * 1e3,
        r.quantile(0.99).as_secs_f64() * 1e3,
        r.quantile(1.0).as_secs_f64() * 1e3,
        r.frames_per_second()
    );
}

fn main() {
    let sessions = arg("--sessions", 200);
    let batches = arg("--batches", 100);
    println!(
        "store_record: {sessions} sessions, {batches} batches of {FRAMES_PER_BATCH} frames each (one 100 ms commit interval)"
    );

    let dir = tempfile::tempdir().unwrap();
    let sqlite = run(&SqliteStore::open(dir.path()).unwrap(), sessions, batches);
    report("sqlite", &sqlite);

    let Some(url) = std::env::var("CANDOR_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!(
            "postgres   not measured: CANDOR_TEST_POSTGRES_URL is not set (run under scripts/with-postgres)"
        );
        return;
    };
    let schema = format!("bench_record_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store =
        PostgresStore::open(&format!("{url}{sep}options=-csearch_path%3D{schema}")).unwrap();
    let pg = run(&store, sessions, batches);
    drop(store);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
    report("postgres", &pg);
    println!(
        "postgres / sqlite: batch p50 {:.2}x, p99 {:.2}x, frames/s {:.2}x",
        pg.quantile(0.5).as_secs_f64() / sqlite.quantile(0.5).as_secs_f64(),
        pg.quantile(0.99).as_secs_f64() / sqlite.quantile(0.99).as_secs_f64(),
        pg.frames_per_second() / sqlite.frames_per_second()
    );
}
