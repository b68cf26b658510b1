//! The store conformance suite: every case runs against SQLite and against
//! PostgreSQL through the `Store` trait alone, so both backends keep the
//! same semantics (ordering and cursors, token expiry, batched records
//! raising `last_client_seq`, duplicates stored once, cascades, quotas,
//! retries and their links, session ownership: claims, lease renewal and
//! expiry, release, and the sweep's compare-and-set end).
//!
//! The PostgreSQL cases need a server: `CANDOR_TEST_POSTGRES_URL` (which
//! `scripts/with-postgres`, run by `scripts/test`, sets to a throw-away
//! cluster). Each case gets a fresh schema of its own, so cases run in
//! parallel. Without the variable the PostgreSQL cases fail when `CI` is
//! set and are skipped, saying so, otherwise.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use candor_server::store::{
    AudioFormat, Claim, FrameFlags, InterviewRecord, ListCursor, OutcomeRecord, RetryOfRecord,
    SegmentKind, SessionRecord, SessionWrite, Store, StoreError, StoredCodec, StoredFrame,
    TranscriptRecord, UserRecord,
};

/// A database a case runs on; `open` may be called again to reopen it.
trait Backend {
    fn open(&self) -> Arc<dyn Store>;
    /// What `Erasure::wiped` says after a delete with no other reader.
    fn wipes(&self) -> bool;
}

mod sqlite {
    use super::*;
    use candor_server::SqliteStore;

    pub struct Sqlite(tempfile::TempDir);

    pub fn backend() -> Sqlite {
        Sqlite(tempfile::tempdir().unwrap())
    }

    impl Backend for Sqlite {
        fn open(&self) -> Arc<dyn Store> {
            Arc::new(SqliteStore::open(self.0.path()).unwrap())
        }
        fn wipes(&self) -> bool {
            true
        }
    }
}

mod pg {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    use candor_server::PostgresStore;
    use postgres::{Client, NoTls};

    pub const URL_VAR: &str = "CANDOR_TEST_POSTGRES_URL";

    /// A fresh schema in the test cluster, dropped with everything in it
    /// when the case ends.
    pub struct Schema {
        admin: String,
        name: String,
        url: String,
    }

    /// The case's schema, or None (skip) when no server is configured
    /// outside CI.
    pub fn backend() -> Option<Schema> {
        let admin = match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
                assert!(
                    !ci,
                    "{URL_VAR} is not set: CI runs the PostgreSQL store cases (scripts/test starts a cluster)"
                );
                println!(
                    "SKIPPED: PostgreSQL store case, {URL_VAR} is not set (run under scripts/with-postgres)"
                );
                return None;
            }
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "conformance_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = Client::connect(&admin, NoTls).expect("connect to the test cluster");
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options=-csearch_path%3D{name}");
        Some(Schema { admin, name, url })
    }

    impl Schema {
        /// The URL of a connection to this schema.
        pub fn url(&self) -> &str {
            &self.url
        }

        pub fn client(&self) -> Client {
            Client::connect(&self.url, NoTls).unwrap()
        }
    }

    impl Backend for Schema {
        fn open(&self) -> Arc<dyn Store> {
            Arc::new(PostgresStore::open(&self.url).unwrap())
        }
        fn wipes(&self) -> bool {
            false
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            if let Ok(mut client) = Client::connect(&self.admin, NoTls) {
                let _ =
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        }
    }
}

/// Each case as a test on each backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $case() {
                    super::cases::$case(&super::sqlite::backend());
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                fn $case() {
                    if let Some(schema) = super::pg::backend() {
                        super::cases::$case(&schema);
                    }
                }
            )*
        }
    };
}

conformance!(
    users_and_conflicts,
    tokens_expire_and_expired_ones_are_cleaned_up,
    local_user_is_created_once,
    interview_round_trip_status_and_count,
    interviews_list_newest_first_with_a_cursor,
    session_lifecycle_marks_the_interview,
    latest_session_and_unfinished_sessions,
    recorded_audio_raises_the_high_water_mark_in_order,
    a_replayed_batch_is_stored_once,
    the_interviewers_audio_is_kept_beside_the_candidates,
    a_batch_is_visible_whole,
    timeline_orders_and_replaces_segments_and_spans,
    results_replace_and_outcomes_follow_the_request,
    deleting_an_interview_removes_everything_of_it,
    writes_of_a_deleted_session_are_not_kept,
    everything_survives_reopening,
    a_retry_round_trips_with_its_link,
    retries_list_oldest_first_for_one_interview_and_its_owner,
    deleting_the_first_interview_leaves_its_retries,
    results_of_several_interviews_follow_the_request,
    a_session_runs_on_one_instance_until_its_lease_runs_out,
    a_released_session_is_claimable_at_once_and_an_ended_one_never,
    only_sessions_no_one_holds_are_swept_and_ended_once,
    racing_claims_have_exactly_one_winner,
    a_saved_state_is_kept_only_while_its_writer_holds_the_session,
    lease_renewals_and_recording_at_once_never_fail,
);

/// PostgreSQL only: a batch that fails part-way keeps nothing (PostgreSQL
/// refuses NUL in text; SQLite has no write that fails in a batch).
#[test]
fn postgres_a_failed_batch_keeps_nothing() {
    let Some(schema) = pg::backend() else {
        return;
    };
    let store = schema.open();
    setup_user(store.as_ref());
    store.create_interview(&interview("i1", "u1", 1)).unwrap();
    store.create_session(&session("s1", "i1", 5)).unwrap();
    let sid: Arc<str> = Arc::from("s1");
    let mut batch = audio(&sid, 1..=5);
    batch.push(SessionWrite::Speech {
        session_id: sid.clone(),
        start_ms: 0,
        end_ms: 80,
    });
    batch.push(transcript(&sid, 1, "bad \0 text"));
    assert!(store.record(&batch).is_err());
    assert_eq!(store.session("s1").unwrap().unwrap().last_client_seq, 0);
    assert!(store.candidate_frames("s1").unwrap().is_empty());
    let t = store.timeline("s1").unwrap().unwrap();
    assert!(t.speech.is_empty() && t.transcript.is_empty());
    assert_eq!(store.user_audio_bytes("u1").unwrap(), 0);
}

/// PostgreSQL only: after a delete and a late batch, no row in any table
/// of the schema names the deleted interview or session.
#[test]
fn postgres_no_row_names_a_deleted_interview() {
    let Some(schema) = pg::backend() else {
        return;
    };
    let store = schema.open();
    setup_user(store.as_ref());
    record_interview(store.as_ref(), "i1", &["s1"], "GONE");
    store.delete_interview("i1").unwrap().unwrap();
    let sid: Arc<str> = Arc::from("s1");
    store.record(&audio(&sid, 500..=501)).unwrap();
    let mut client = schema.client();
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND data_type = 'text'",
            &[],
        )
        .unwrap();
    assert!(columns.len() > 10, "the schema's text columns are found");
    for c in &columns {
        let (table, column): (String, String) = (c.get(0), c.get(1));
        for id in ["i1", "s1"] {
            let n: i64 = client
                .query_one(
                    &format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = $1"),
                    &[&id],
                )
                .unwrap()
                .get(0);
            assert_eq!(n, 0, "{table}.{column} still names {id}");
        }
    }
}

/// `Server::start` with `Config::database` keeps everything in PostgreSQL
/// (and nothing in the data directory): a user registered and an interview
/// created over HTTP are read back from the schema by a store of its own.
#[tokio::test]
async fn a_server_with_a_database_url_keeps_its_data_in_postgres() {
    // The driver blocks: the schema is made and dropped off the runtime.
    let Some(schema) = tokio::task::spawn_blocking(pg::backend).await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::fast_config(dir.path());
    config.database = candor_server::DatabaseUrl::parse(schema.url()).unwrap();
    let server = candor_server::Server::start(config).await.unwrap();
    let api = common::Api::new(server.addr());
    let auth = api.register("pg@example.org").await;
    let created = api.create_interview(&auth.token, 3).await;
    let listed: serde_json::Value = api
        .http
        .get(api.url("/v1/interviews"))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.to_string().contains(&created.id), "{listed}");
    server.shutdown().await;
    assert!(!dir.path().join("candor.db").exists(), "no SQLite file");
    tokio::task::spawn_blocking(move || {
        let store = schema.open();
        let user = store.user_by_email("pg@example.org").unwrap().unwrap();
        assert_eq!(user.id, auth.user.id);
        let stored = store.interview(&created.id).unwrap().unwrap();
        assert_eq!(stored.user_id, user.id);
        assert_eq!(stored.question_count, 3);
        drop(store);
        drop(schema);
    })
    .await
    .unwrap();
}

// Records the cases build on.

fn user(id: &str, email: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        email: Some(email.into()),
        display_name: format!("{id} name"),
        password_hash: Some("$argon2id$v=19$x".into()),
        local_profile: None,
        created_at_ms: 1,
    }
}

fn setup_user(store: &dyn Store) {
    store.create_user(&user("u1", "a@x.org")).unwrap();
}

fn interview(id: &str, user: &str, at: i64) -> InterviewRecord {
    InterviewRecord {
        id: id.into(),
        user_id: user.into(),
        role: Role::SoftwareEngineer,
        seniority: Seniority::Mid,
        job_description: None,
        cv_text: None,
        question_count: 3,
        status: InterviewStatus::Created,
        created_at_ms: at,
        updated_at_ms: at,
        retry_of: None,
    }
}

/// A one-question retry of question `k` of interview `first`.
fn retry(id: &str, user: &str, at: i64, first: &str, k: u32) -> InterviewRecord {
    InterviewRecord {
        question_count: 1,
        retry_of: Some(RetryOfRecord {
            interview_id: first.into(),
            question_index: k,
            question: format!("Question {k} of {first}?"),
        }),
        ..interview(id, user, at)
    }
}

fn session(id: &str, interview: &str, started_at_ms: i64) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        interview_id: interview.into(),
        user_id: "u1".into(),
        engine: "practice".into(),
        end_reason: None,
        started_at_ms,
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
        owner: None,
        lease_until_ms: None,
    }
}

fn frame_data(sid: &str, seq: u64) -> Vec<u8> {
    format!("{sid}-frame-{seq:04}").into_bytes()
}

/// What the client said of frame `seq`: some frames without voice, some
/// muted, so the flags' round trip is checked.
fn flags_of(seq: u64) -> FrameFlags {
    FrameFlags {
        voice_activity: !seq.is_multiple_of(3),
        muted: seq.is_multiple_of(5),
    }
}

fn audio(sid: &Arc<str>, seqs: std::ops::RangeInclusive<u64>) -> Vec<SessionWrite> {
    seqs.map(|seq| SessionWrite::Audio {
        session_id: sid.clone(),
        seq,
        timestamp_us: seq * 20_000,
        flags: flags_of(seq),
        data: Bytes::from(frame_data(sid, seq)),
    })
    .collect()
}

fn voice_data(sid: &str, seq: u64) -> Vec<u8> {
    format!("{sid}-interviewer-{seq:04}").into_bytes()
}

/// The interviewer's chunks `seqs`, due every 20 ms from 1 s on.
fn interviewer(sid: &Arc<str>, seqs: std::ops::RangeInclusive<u64>) -> Vec<SessionWrite> {
    seqs.map(|seq| SessionWrite::InterviewerAudio {
        session_id: sid.clone(),
        seq,
        due_us: 1_000_000 + seq * 20_000,
        data: Bytes::from(voice_data(sid, seq)),
    })
    .collect()
}

fn transcript(sid: &Arc<str>, segment_id: u64, text: &str) -> SessionWrite {
    SessionWrite::Transcript {
        session_id: sid.clone(),
        segment: TranscriptRecord {
            segment_id,
            speaker: Speaker::Candidate,
            kind: SegmentKind::Answer,
            text: text.into(),
            start_ms: segment_id * 1000,
            end_ms: segment_id * 1000 + 900,
            question_index: 1,
            interrupted: false,
        },
    }
}

/// Packed size of frames as the quota counts them (20 bytes of framing).
fn packed_len(sid: &str, seqs: std::ops::RangeInclusive<u64>) -> u64 {
    seqs.map(|seq| 20 + frame_data(sid, seq).len() as u64).sum()
}

/// Packed size of the interviewer's frames.
fn packed_voice_len(sid: &str, seqs: std::ops::RangeInclusive<u64>) -> u64 {
    seqs.map(|seq| 20 + voice_data(sid, seq).len() as u64).sum()
}

/// An ended interview with results: each session 200 candidate frames, 100
/// of the interviewer's, a transcript segment and a speech span, everything
/// carrying `marker`.
fn record_interview(store: &dyn Store, interview_id: &str, sessions: &[&str], marker: &str) {
    let mut i = interview(interview_id, "u1", 1);
    i.job_description = Some(format!("job {marker}"));
    store.create_interview(&i).unwrap();
    for (n, sid) in sessions.iter().enumerate() {
        store
            .create_session(&session(sid, interview_id, 5 + n as i64))
            .unwrap();
        let id: Arc<str> = Arc::from(*sid);
        let mut writes = audio(&id, 1..=200);
        writes.extend(interviewer(&id, 1..=100));
        writes.push(transcript(&id, 1, &format!("words {marker}")));
        writes.push(SessionWrite::Speech {
            session_id: id.clone(),
            start_ms: 10,
            end_ms: 900,
        });
        store.record(&writes).unwrap();
        store.end_session(sid, "user_initiated", 9, 4_000).unwrap();
    }
    store
        .save_results(
            interview_id,
            sessions[0],
            &format!("{{\"m\":\"{marker}\"}}"),
            10,
        )
        .unwrap();
}

fn ids(list: &[InterviewRecord]) -> Vec<&str> {
    list.iter().map(|i| i.id.as_str()).collect()
}

mod cases {
    use super::*;

    pub fn users_and_conflicts(b: &dyn Backend) {
        let store = b.open();
        let u1 = user("u1", "a@x.org");
        store.create_user(&u1).unwrap();
        assert!(matches!(
            store.create_user(&user("u2", "a@x.org")),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.create_user(&user("u1", "other@x.org")),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.user_by_email("a@x.org").unwrap(), Some(u1.clone()));
        assert_eq!(store.user_by_email("A@x.org").unwrap(), None);
        assert_eq!(store.user_by_id("u1").unwrap(), Some(u1));
        assert_eq!(store.user_by_id("u2").unwrap(), None);
    }

    pub fn tokens_expire_and_expired_ones_are_cleaned_up(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.insert_token("h1", "u1", 10, 20).unwrap();
        assert_eq!(store.user_by_token("h1", 15).unwrap().unwrap().id, "u1");
        assert_eq!(store.user_by_token("h1", 19).unwrap().unwrap().id, "u1");
        assert!(store.user_by_token("h1", 20).unwrap().is_none(), "expired");
        assert!(store.user_by_token("nope", 15).unwrap().is_none());
        store.delete_token("h1").unwrap();
        assert!(store.user_by_token("h1", 15).unwrap().is_none());
        store.delete_token("h1").unwrap();

        // A new token removes the expired ones: asked as of before its
        // expiry, the old token is gone.
        store.insert_token("old", "u1", 10, 20).unwrap();
        store.insert_token("live", "u1", 10, 100).unwrap();
        store.insert_token("new", "u1", 30, 100).unwrap();
        assert!(store.user_by_token("old", 15).unwrap().is_none());
        assert!(store.user_by_token("live", 15).unwrap().is_some());
        assert!(store.user_by_token("new", 31).unwrap().is_some());
    }

    pub fn local_user_is_created_once(b: &dyn Backend) {
        let store = b.open();
        let mut new = user("l1", "");
        new.email = None;
        new.password_hash = None;
        new.local_profile = Some("default".into());
        let a = store.local_user(&new).unwrap();
        new.id = "l2".into();
        new.display_name = "someone else".into();
        let b2 = store.local_user(&new).unwrap();
        assert_eq!(a.id, "l1");
        assert_eq!(b2, a);
        assert_eq!(a.display_name, "l1 name");
        assert_eq!(a.email, None);
        new.id = "l3".into();
        new.local_profile = Some("second".into());
        assert_eq!(store.local_user(&new).unwrap().id, "l3");
    }

    pub fn interview_round_trip_status_and_count(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_user(&user("u2", "b@x.org")).unwrap();
        let mut i = interview("i1", "u1", 100);
        i.role = Role::ProductManager;
        i.seniority = Seniority::Senior;
        i.job_description = Some("Führung, 数据 — \"quotes\" 'and' \\ back".into());
        i.cv_text = Some("line one\nline two".into());
        i.question_count = u32::MAX;
        store.create_interview(&i).unwrap();
        assert_eq!(store.interview("i1").unwrap(), Some(i.clone()));
        assert_eq!(store.interview("i2").unwrap(), None);
        assert!(store.create_interview(&i).is_err(), "an id is created once");
        assert!(
            store
                .create_interview(&interview("i9", "nobody", 1))
                .is_err(),
            "an interview belongs to an existing user"
        );

        store
            .set_interview_status("i1", InterviewStatus::Failed, 150)
            .unwrap();
        let got = store.interview("i1").unwrap().unwrap();
        assert_eq!(got.status, InterviewStatus::Failed);
        assert_eq!(got.updated_at_ms, 150);
        assert_eq!(got.created_at_ms, 100);
        store
            .set_interview_status("nope", InterviewStatus::Ready, 1)
            .unwrap();

        store.create_interview(&interview("i2", "u1", 101)).unwrap();
        store.create_interview(&interview("j1", "u2", 101)).unwrap();
        assert_eq!(store.count_interviews("u1").unwrap(), 2);
        assert_eq!(store.count_interviews("u2").unwrap(), 1);
        assert_eq!(store.count_interviews("u3").unwrap(), 0);
    }

    pub fn interviews_list_newest_first_with_a_cursor(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_user(&user("u2", "b@x.org")).unwrap();
        for i in 0..5 {
            store
                .create_interview(&interview(&format!("i{i}"), "u1", 100 + i))
                .unwrap();
        }
        // Ties on the creation time order by id, bytewise ("B" < "a").
        for id in ["a", "B", "c"] {
            store.create_interview(&interview(id, "u1", 102)).unwrap();
        }
        store.create_interview(&interview("x", "u2", 200)).unwrap();

        let all = store.list_interviews("u1", None, 100).unwrap();
        assert_eq!(ids(&all), ["i4", "i3", "i2", "c", "a", "B", "i1", "i0"]);
        assert!(all.iter().all(|i| i.user_id == "u1"));

        // Page by page, each page strictly older than the last one's end.
        let mut pages = Vec::new();
        let mut cursor: Option<ListCursor> = None;
        loop {
            let page = store.list_interviews("u1", cursor.as_ref(), 3).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 3);
            let last = page.last().unwrap();
            cursor = Some(ListCursor {
                created_at_ms: last.created_at_ms,
                id: last.id.clone(),
            });
            pages.push(ids(&page).iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        assert_eq!(
            pages,
            [
                vec!["i4", "i3", "i2"],
                vec!["c", "a", "B"],
                vec!["i1", "i0"]
            ]
        );
        let mid = ListCursor {
            created_at_ms: 102,
            id: "a".into(),
        };
        assert_eq!(
            ids(&store.list_interviews("u1", Some(&mid), 10).unwrap()),
            ["B", "i1", "i0"]
        );
        assert!(store.list_interviews("u1", None, 0).unwrap().is_empty());
        assert!(store.list_interviews("u3", None, 10).unwrap().is_empty());
    }

    pub fn session_lifecycle_marks_the_interview(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        let s1 = session("s1", "i1", 5);
        store.create_session(&s1).unwrap();
        assert_eq!(store.session("s1").unwrap(), Some(s1.clone()));
        assert_eq!(store.session("s2").unwrap(), None);
        let i = store.interview("i1").unwrap().unwrap();
        assert_eq!(i.status, InterviewStatus::InProgress);
        assert_eq!(i.updated_at_ms, 5);
        assert!(
            store.create_session(&session("s9", "nope", 5)).is_err(),
            "a session belongs to an existing interview"
        );

        // Sessions stored before the audio format was recorded have none.
        let mut s2 = session("s2", "i1", 6);
        s2.input = None;
        s2.engine = "gemini".into();
        store.create_session(&s2).unwrap();
        assert_eq!(store.session("s2").unwrap(), Some(s2));
        let mut pcm = session("s3", "i1", 7);
        pcm.input = Some(AudioFormat {
            codec: StoredCodec::Pcm16,
            sample_rate_hz: 48_000,
            frame_ms: 10,
        });
        store.create_session(&pcm).unwrap();
        assert_eq!(store.session("s3").unwrap(), Some(pcm));

        store
            .end_session("s1", "user_initiated", 90, 61_000)
            .unwrap();
        let ended = store.session("s1").unwrap().unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some("user_initiated"));
        assert_eq!(ended.ended_at_ms, Some(90));
        assert_eq!(ended.duration_ms, Some(61_000));
        let i = store.interview("i1").unwrap().unwrap();
        assert_eq!(i.status, InterviewStatus::Processing);
        assert_eq!(i.updated_at_ms, 90);
        assert_eq!(ids(&store.interviews_processing().unwrap()), ["i1"]);

        // Ending again changes nothing: the first end stands.
        store
            .set_interview_status("i1", InterviewStatus::Ready, 95)
            .unwrap();
        store.end_session("s1", "server_restart", 99, 1).unwrap();
        let again = store.session("s1").unwrap().unwrap();
        assert_eq!(again, ended);
        assert_eq!(
            store.interview("i1").unwrap().unwrap().status,
            InterviewStatus::Ready
        );
        assert!(store.interviews_processing().unwrap().is_empty());
        store.end_session("nope", "x", 1, 1).unwrap();
    }

    pub fn latest_session_and_unfinished_sessions(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        for id in ["i1", "i2", "i3"] {
            store.create_interview(&interview(id, "u1", 1)).unwrap();
        }
        assert_eq!(store.latest_session("i1").unwrap(), None);
        store.create_session(&session("b", "i1", 10)).unwrap();
        store.create_session(&session("a", "i1", 30)).unwrap();
        store.create_session(&session("c", "i1", 20)).unwrap();
        assert_eq!(store.latest_session("i1").unwrap().unwrap().id, "a");
        // Same start: the one stored last.
        store.create_session(&session("0", "i1", 30)).unwrap();
        assert_eq!(store.latest_session("i1").unwrap().unwrap().id, "0");
        store.create_session(&session("d", "i2", 1)).unwrap();
        assert_eq!(store.latest_session("i2").unwrap().unwrap().id, "d");
        assert_eq!(store.latest_session("i3").unwrap(), None);

        for s in ["b", "c"] {
            store.end_session(s, "user_initiated", 40, 1).unwrap();
        }
        let mut open: Vec<String> = store
            .unfinished_sessions()
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        open.sort();
        assert_eq!(open, ["0", "a", "d"]);

        store.end_session("d", "user_initiated", 40, 1).unwrap();
        store
            .set_interview_status("i3", InterviewStatus::Processing, 41)
            .unwrap();
        let mut processing = ids(&store.interviews_processing().unwrap())
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        processing.sort();
        // i1 still has live sessions, yet the end of one of them marked it.
        assert_eq!(processing, ["i1", "i2", "i3"]);
    }

    pub fn recorded_audio_raises_the_high_water_mark_in_order(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_session(&session("s1", "i1", 5)).unwrap();
        store.create_session(&session("s2", "i1", 6)).unwrap();
        let (s1, s2): (Arc<str>, Arc<str>) = (Arc::from("s1"), Arc::from("s2"));
        store.record(&[]).unwrap();

        // Two sessions interleaved in one batch, then more batches.
        let mut batch: Vec<SessionWrite> = audio(&s1, 1..=3)
            .into_iter()
            .zip(audio(&s2, 1..=3))
            .flat_map(|(a, b)| [a, b])
            .collect();
        store.record(&batch).unwrap();
        assert_eq!(store.session("s1").unwrap().unwrap().last_client_seq, 3);
        assert_eq!(store.session("s2").unwrap().unwrap().last_client_seq, 3);
        store.record(&audio(&s1, 4..=10)).unwrap();
        store.record(&audio(&s1, 11..=11)).unwrap();
        assert_eq!(store.session("s1").unwrap().unwrap().last_client_seq, 11);
        assert_eq!(store.session("s2").unwrap().unwrap().last_client_seq, 3);

        let frames = store.candidate_frames("s1").unwrap();
        let want: Vec<StoredFrame> = (1..=11)
            .map(|seq| StoredFrame {
                seq,
                timestamp_us: seq * 20_000,
                flags: flags_of(seq),
                data: frame_data("s1", seq),
            })
            .collect();
        assert_eq!(frames, want);
        assert_eq!(
            store.candidate_audio("s1").unwrap(),
            want.iter()
                .map(|f| (f.seq, f.data.clone()))
                .collect::<Vec<_>>()
        );
        assert_eq!(store.candidate_frames("s2").unwrap().len(), 3);
        assert!(store.candidate_frames("s3").unwrap().is_empty());

        // An empty frame and one of the largest the protocol carries.
        batch = vec![
            SessionWrite::Audio {
                session_id: s2.clone(),
                seq: 4,
                timestamp_us: 0,
                flags: FrameFlags::VOICE,
                data: Bytes::new(),
            },
            SessionWrite::Audio {
                session_id: s2.clone(),
                seq: 5,
                timestamp_us: 100_000,
                flags: FrameFlags::VOICE,
                data: Bytes::from(vec![0xAB; 64 * 1024]),
            },
        ];
        store.record(&batch).unwrap();
        let s2_frames = store.candidate_frames("s2").unwrap();
        assert_eq!(s2_frames.len(), 5);
        assert_eq!(s2_frames[3].data, b"");
        assert_eq!(s2_frames[4].data.len(), 64 * 1024);

        // The quota counts every stored frame with its framing.
        assert_eq!(
            store.user_audio_bytes("u1").unwrap(),
            packed_len("s1", 1..=11) + packed_len("s2", 1..=3) + 20 + (20 + 64 * 1024)
        );
        assert_eq!(store.user_audio_bytes("u2").unwrap(), 0);
    }

    pub fn a_replayed_batch_is_stored_once(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_session(&session("s1", "i1", 5)).unwrap();
        let sid: Arc<str> = Arc::from("s1");
        let first = audio(&sid, 1..=3);
        store.record(&first).unwrap();
        store.record(&audio(&sid, 4..=6)).unwrap();
        // The first batch again (and its first frame alone): nothing new,
        // and the high-water mark is not lowered.
        store.record(&first).unwrap();
        store.record(&first[..1]).unwrap();
        assert_eq!(store.session("s1").unwrap().unwrap().last_client_seq, 6);
        let seqs: Vec<u64> = store
            .candidate_frames("s1")
            .unwrap()
            .iter()
            .map(|f| f.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
        assert_eq!(
            store.user_audio_bytes("u1").unwrap(),
            packed_len("s1", 1..=6)
        );
    }

    pub fn the_interviewers_audio_is_kept_beside_the_candidates(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_session(&session("s1", "i1", 5)).unwrap();
        let s1: Arc<str> = Arc::from("s1");
        // Interleaved as a session records them, over two commits.
        for (c, v) in [(1..=3, 1..=2), (4..=6, 3..=5)] {
            let (mut a, mut i) = (audio(&s1, c).into_iter(), interviewer(&s1, v).into_iter());
            let mut writes = Vec::new();
            loop {
                match (i.next(), a.next()) {
                    (None, None) => break,
                    (voice, candidate) => writes.extend(voice.into_iter().chain(candidate)),
                }
            }
            store.record(&writes).unwrap();
        }
        let voice = store.interviewer_frames("s1").unwrap();
        assert_eq!(
            voice.iter().map(|f| f.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(voice[2].timestamp_us, 1_060_000, "when it was due");
        assert_eq!(voice[4].data, voice_data("s1", 5));
        let candidate = store.candidate_frames("s1").unwrap();
        assert_eq!(
            candidate.iter().map(|f| f.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6],
            "the candidate's side is its own"
        );
        let s = store.session("s1").unwrap().unwrap();
        assert_eq!(s.last_client_seq, 6, "raised by the candidate's audio only");
        assert_eq!(s.output, session("s1", "i1", 5).output, "its coding");
        assert_eq!(
            store.user_audio_bytes("u1").unwrap(),
            packed_len("s1", 1..=6),
            "the quota counts the candidate's audio"
        );
        assert!(store.interviewer_frames("s2").unwrap().is_empty());
    }

    pub fn a_batch_is_visible_whole(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_session(&session("s1", "i1", 5)).unwrap();
        let sid: Arc<str> = Arc::from("s1");
        // Readers on other threads while batches commit: each sees whole
        // batches only — as many frames as the stored high-water mark says
        // (it is read after the frames, so it may be ahead, never behind).
        let batches = 40u64;
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::Relaxed);
                    let frames = store.candidate_frames("s1").unwrap();
                    let high = store.session("s1").unwrap().unwrap().last_client_seq;
                    assert_eq!(frames.len() % 5, 0, "a batch is stored whole");
                    assert!(frames.len() as u64 <= high, "the mark follows its frames");
                    if finished {
                        return frames.len() as u64;
                    }
                }
            });
            for n in 0..batches {
                let mut batch = audio(&sid, n * 5 + 1..=n * 5 + 5);
                batch.push(transcript(&sid, n + 1, &format!("segment {n}")));
                store.record(&batch).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(reader.join().unwrap(), batches * 5, "the last read saw all");
        });
        assert_eq!(
            store.session("s1").unwrap().unwrap().last_client_seq,
            batches * 5
        );
        let t = store.timeline("s1").unwrap().unwrap();
        assert_eq!(t.transcript.len() as u64, batches);
    }

    pub fn timeline_orders_and_replaces_segments_and_spans(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_session(&session("s1", "i1", 5)).unwrap();
        assert!(store.timeline("nope").unwrap().is_none());
        let sid: Arc<str> = Arc::from("s1");
        let seg = |id: u64, speaker, kind, text: &str, interrupted| TranscriptRecord {
            segment_id: id,
            speaker,
            kind,
            text: text.into(),
            start_ms: id * 1000,
            end_ms: id * 1000 + 500,
            question_index: id as u32,
            interrupted,
        };
        let kinds = [
            (Speaker::Interviewer, SegmentKind::Greeting),
            (Speaker::Interviewer, SegmentKind::Question),
            (Speaker::Candidate, SegmentKind::Answer),
            (Speaker::Interviewer, SegmentKind::FollowUp),
            (Speaker::Interviewer, SegmentKind::Remark),
            (Speaker::Interviewer, SegmentKind::Closing),
        ];
        // Written out of order, in two batches; segment 3 is revised within
        // the first batch and again in the second, span 100 likewise.
        let mut first = Vec::new();
        for id in [6u64, 3, 1, 5] {
            let (speaker, kind) = kinds[id as usize - 1];
            first.push(SessionWrite::Transcript {
                session_id: sid.clone(),
                segment: seg(id, speaker, kind, &format!("draft {id}"), id == 5),
            });
        }
        first.push(SessionWrite::Transcript {
            session_id: sid.clone(),
            segment: seg(
                3,
                Speaker::Candidate,
                SegmentKind::Answer,
                "revised 3",
                false,
            ),
        });
        for (start, end) in [(300, 400), (100, 150), (100, 180)] {
            first.push(SessionWrite::Speech {
                session_id: sid.clone(),
                start_ms: start,
                end_ms: end,
            });
        }
        store.record(&first).unwrap();
        let mut second = Vec::new();
        for id in [4u64, 2, 3] {
            let (speaker, kind) = kinds[id as usize - 1];
            second.push(SessionWrite::Transcript {
                session_id: sid.clone(),
                segment: seg(id, speaker, kind, &format!("final {id}"), false),
            });
        }
        for (start, end) in [(200, 250), (100, 190)] {
            second.push(SessionWrite::Speech {
                session_id: sid.clone(),
                start_ms: start,
                end_ms: end,
            });
        }
        store.record(&second).unwrap();

        let t = store.timeline("s1").unwrap().unwrap();
        assert_eq!(t.session, store.session("s1").unwrap().unwrap());
        assert_eq!(t.session.last_client_seq, 0, "no audio, no mark");
        let got: Vec<(u64, &str)> = t
            .transcript
            .iter()
            .map(|s| (s.segment_id, s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "draft 1"),
                (2, "final 2"),
                (3, "final 3"),
                (4, "final 4"),
                (5, "draft 5"),
                (6, "draft 6")
            ]
        );
        for s in &t.transcript {
            let (speaker, kind) = kinds[s.segment_id as usize - 1];
            assert_eq!(
                *s,
                seg(s.segment_id, speaker, kind, &s.text, s.segment_id == 5)
            );
        }
        assert_eq!(t.speech, [(100, 190), (200, 250), (300, 400)]);
    }

    pub fn results_replace_and_outcomes_follow_the_request(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        for id in ["i1", "i2", "i3"] {
            store.create_interview(&interview(id, "u1", 1)).unwrap();
        }
        assert_eq!(store.results("i1").unwrap(), None);
        let feedback = r#"{"overall":{"duration_ms":61000},"scores":[{"name":"pace","value":70,"explanation":"x"},{"name":"completion","value":100,"explanation":"y"}],"transcript":[]}"#;
        store.save_results("i1", "s1", feedback, 5).unwrap();
        assert_eq!(store.results("i1").unwrap().as_deref(), Some(feedback));
        let i1 = store.interview("i1").unwrap().unwrap();
        assert_eq!(i1.status, InterviewStatus::Ready);
        assert_eq!(i1.updated_at_ms, 5);
        // Saved again (recomputed): the new feedback replaces the old.
        let second = r#"{"overall":{"duration_ms":30000},"scores":[{"name":"pace","value":55}]}"#;
        store.save_results("i2", "s2", feedback, 6).unwrap();
        store.save_results("i2", "s2", second, 7).unwrap();
        assert_eq!(store.results("i2").unwrap().as_deref(), Some(second));
        // Feedback without the parts outcomes read.
        store.save_results("i3", "s3", "{}", 8).unwrap();

        let got = store
            .outcomes(&["i2".into(), "nope".into(), "i1".into(), "i3".into()])
            .unwrap();
        assert_eq!(
            got,
            [
                OutcomeRecord {
                    interview_id: "i2".into(),
                    duration_ms: 30_000,
                    scores: vec![("pace".into(), 55)],
                },
                OutcomeRecord {
                    interview_id: "i1".into(),
                    duration_ms: 61_000,
                    scores: vec![("pace".into(), 70), ("completion".into(), 100)],
                },
                OutcomeRecord {
                    interview_id: "i3".into(),
                    duration_ms: 0,
                    scores: vec![],
                },
            ]
        );
        assert!(store.outcomes(&[]).unwrap().is_empty());
    }

    pub fn deleting_an_interview_removes_everything_of_it(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.insert_token("h1", "u1", 1, i64::MAX).unwrap();
        record_interview(store.as_ref(), "i1", &["s1", "s1b"], "GONE");
        record_interview(store.as_ref(), "i2", &["s2"], "KEPT");
        assert_eq!(store.count_interviews("u1").unwrap(), 2);

        let erasure = store.delete_interview("i1").unwrap().expect("it existed");
        assert_eq!(erasure.sessions, 2);
        assert_eq!(
            erasure.audio_bytes,
            packed_len("s1", 1..=200)
                + packed_len("s1b", 1..=200)
                + packed_voice_len("s1", 1..=100)
                + packed_voice_len("s1b", 1..=100),
            "both sides' audio"
        );
        assert_eq!(erasure.wiped, b.wipes());

        assert_eq!(store.interview("i1").unwrap(), None);
        for s in ["s1", "s1b"] {
            assert_eq!(store.session(s).unwrap(), None);
            assert!(store.candidate_frames(s).unwrap().is_empty());
            assert!(store.interviewer_frames(s).unwrap().is_empty());
            assert!(store.timeline(s).unwrap().is_none());
        }
        assert_eq!(store.results("i1").unwrap(), None);
        assert_eq!(store.latest_session("i1").unwrap(), None);
        assert!(store.outcomes(&["i1".into()]).unwrap().is_empty());
        assert_eq!(ids(&store.list_interviews("u1", None, 10).unwrap()), ["i2"]);
        assert_eq!(store.count_interviews("u1").unwrap(), 1);

        // The rest is untouched: the other interview, the user, their token.
        assert_eq!(store.candidate_frames("s2").unwrap().len(), 200);
        assert_eq!(store.interviewer_frames("s2").unwrap().len(), 100);
        assert_eq!(store.timeline("s2").unwrap().unwrap().transcript.len(), 1);
        assert!(store.results("i2").unwrap().is_some());
        assert_eq!(
            store.user_audio_bytes("u1").unwrap(),
            packed_len("s2", 1..=200)
        );
        assert_eq!(store.user_by_token("h1", 2).unwrap().unwrap().id, "u1");

        assert_eq!(store.delete_interview("i1").unwrap(), None, "gone already");
        assert_eq!(store.delete_interview("never").unwrap(), None);
    }

    pub fn writes_of_a_deleted_session_are_not_kept(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        record_interview(store.as_ref(), "i1", &["s1"], "LATE");
        record_interview(store.as_ref(), "i2", &["s2"], "KEPT");
        store.delete_interview("i1").unwrap().unwrap();
        // The recorder's last batch for it arrives after the delete, mixed
        // with another session's.
        let (s1, s2): (Arc<str>, Arc<str>) = (Arc::from("s1"), Arc::from("s2"));
        let mut late = audio(&s1, 201..=203);
        late.push(transcript(&s1, 7, "late words"));
        late.push(SessionWrite::Speech {
            session_id: s1.clone(),
            start_ms: 4_000,
            end_ms: 4_020,
        });
        late.extend(interviewer(&s1, 101..=102));
        late.extend(audio(&s2, 201..=202));
        store.record(&late).unwrap();
        assert!(store.candidate_frames("s1").unwrap().is_empty());
        assert!(store.interviewer_frames("s1").unwrap().is_empty());
        assert_eq!(store.candidate_frames("s2").unwrap().len(), 202);
        assert_eq!(store.session("s2").unwrap().unwrap().last_client_seq, 202);
        assert_eq!(
            store.user_audio_bytes("u1").unwrap(),
            packed_len("s2", 1..=202)
        );
        // A session of the same id later finds nothing of the old one.
        store.create_interview(&interview("i3", "u1", 2)).unwrap();
        store.create_session(&session("s1", "i3", 9)).unwrap();
        let t = store.timeline("s1").unwrap().unwrap();
        assert!(t.transcript.is_empty() && t.speech.is_empty());
        assert!(store.candidate_frames("s1").unwrap().is_empty());
        assert!(store.interviewer_frames("s1").unwrap().is_empty());
        assert_eq!(t.session.last_client_seq, 0);
    }

    pub fn everything_survives_reopening(b: &dyn Backend) {
        {
            let store = b.open();
            setup_user(store.as_ref());
            store.insert_token("h1", "u1", 1, 100).unwrap();
            record_interview(store.as_ref(), "i1", &["s1"], "KEPT");
            store.create_interview(&interview("i2", "u1", 3)).unwrap();
            store.create_session(&session("s2", "i2", 4)).unwrap();
            let sid: Arc<str> = Arc::from("s2");
            store.record(&audio(&sid, 1..=3)).unwrap();
        }
        // Opened again (its migrations find nothing to do) and twice at once.
        let store = b.open();
        let other = b.open();
        assert_eq!(store.user_by_token("h1", 2).unwrap().unwrap().id, "u1");
        assert_eq!(store.candidate_frames("s1").unwrap().len(), 200);
        assert!(store.results("i1").unwrap().is_some());
        assert_eq!(store.session("s2").unwrap().unwrap().last_client_seq, 3);
        let open: Vec<String> = other
            .unfinished_sessions()
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(open, ["s2"]);
        store.end_session("s2", "server_restart", 9, 60).unwrap();
        assert_eq!(ids(&other.interviews_processing().unwrap()), ["i2"]);
    }
    pub fn a_retry_round_trips_with_its_link(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        let mut r = retry("r1", "u1", 5, "i1", 2);
        r.retry_of.as_mut().unwrap().question =
            "Let's begin. Führung, 数据 — \"quotes\" 'and' \\ back?".into();
        r.retry_of.as_mut().unwrap().question_index = u32::MAX;
        store.create_interview(&r).unwrap();
        assert_eq!(store.interview("r1").unwrap(), Some(r.clone()));
        assert_eq!(
            store.interview("i1").unwrap().unwrap().retry_of,
            None,
            "an interview that is no retry has no link"
        );
        // Every way an interview is read carries the link.
        let listed = store.list_interviews("u1", None, 10).unwrap();
        assert_eq!(listed, [r.clone(), interview("i1", "u1", 1)]);
        store.create_session(&session("s1", "r1", 6)).unwrap();
        store
            .end_session("s1", "interview_complete", 7, 60)
            .unwrap();
        let processing = store.interviews_processing().unwrap();
        assert_eq!(processing.len(), 1);
        assert_eq!(processing[0].retry_of, r.retry_of);
        assert_eq!(store.count_interviews("u1").unwrap(), 2, "a retry counts");
    }

    pub fn retries_list_oldest_first_for_one_interview_and_its_owner(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_user(&user("u2", "b@x.org")).unwrap();
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_interview(&interview("i2", "u1", 2)).unwrap();
        // Created out of order; ties on the creation time order by id,
        // bytewise ("B" < "a").
        for r in [
            retry("r3", "u1", 30, "i1", 1),
            retry("r1", "u1", 10, "i1", 2),
            retry("a", "u1", 20, "i1", 2),
            retry("B", "u1", 20, "i1", 3),
            retry("r2", "u1", 15, "i2", 2),
            // Another user's interview naming i1 (the API never makes one):
            // never listed for u1.
            retry("x1", "u2", 12, "i1", 2),
        ] {
            store.create_interview(&r).unwrap();
        }
        let of_i1 = store.retries_of("u1", "i1", 100).unwrap();
        assert_eq!(ids(&of_i1), ["r1", "B", "a", "r3"]);
        assert_eq!(of_i1[0], retry("r1", "u1", 10, "i1", 2), "whole records");
        assert_eq!(ids(&store.retries_of("u1", "i1", 2).unwrap()), ["r1", "B"]);
        assert!(store.retries_of("u1", "i1", 0).unwrap().is_empty());
        assert_eq!(ids(&store.retries_of("u1", "i2", 100).unwrap()), ["r2"]);
        assert_eq!(ids(&store.retries_of("u2", "i1", 100).unwrap()), ["x1"]);
        assert!(store.retries_of("u2", "i2", 100).unwrap().is_empty());
        assert!(
            store.retries_of("u1", "r1", 100).unwrap().is_empty(),
            "a retry has no retries of its own"
        );
        assert!(store.retries_of("u1", "nope", 100).unwrap().is_empty());
        // A retry's status is its own.
        store
            .set_interview_status("r1", InterviewStatus::Ready, 50)
            .unwrap();
        let of_i1 = store.retries_of("u1", "i1", 100).unwrap();
        assert_eq!(of_i1[0].status, InterviewStatus::Ready);
        assert_eq!(of_i1[1].status, InterviewStatus::Created);
    }

    pub fn deleting_the_first_interview_leaves_its_retries(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        record_interview(store.as_ref(), "i1", &["s1"], "FIRST");
        let r = retry("r1", "u1", 20, "i1", 2);
        store.create_interview(&r).unwrap();
        store.create_session(&session("s2", "r1", 21)).unwrap();
        let sid: Arc<str> = Arc::from("s2");
        store.record(&audio(&sid, 1..=10)).unwrap();
        store
            .end_session("s2", "interview_complete", 22, 900)
            .unwrap();
        store
            .save_results("r1", "s2", "{\"m\":\"again\"}", 23)
            .unwrap();

        let erasure = store.delete_interview("i1").unwrap().expect("it existed");
        assert_eq!(erasure.sessions, 1, "the retry's session is its own");
        assert_eq!(store.interview("i1").unwrap(), None);
        let kept = store.interview("r1").unwrap().expect("the retry stays");
        assert_eq!(kept.retry_of, r.retry_of, "still naming the first");
        assert_eq!(kept.status, InterviewStatus::Ready);
        assert_eq!(
            store.results("r1").unwrap().as_deref(),
            Some("{\"m\":\"again\"}")
        );
        assert_eq!(store.candidate_frames("s2").unwrap().len(), 10);
        assert_eq!(ids(&store.retries_of("u1", "i1", 100).unwrap()), ["r1"]);
        assert_eq!(ids(&store.list_interviews("u1", None, 10).unwrap()), ["r1"]);

        // Deleting the retry leaves nothing of it.
        store.delete_interview("r1").unwrap().unwrap();
        assert!(store.retries_of("u1", "i1", 100).unwrap().is_empty());
        assert_eq!(store.count_interviews("u1").unwrap(), 0);
    }

    pub fn results_of_several_interviews_follow_the_request(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        for id in ["i1", "i2", "i3"] {
            store.create_interview(&interview(id, "u1", 1)).unwrap();
        }
        store.save_results("i1", "s1", "{\"n\":1}", 5).unwrap();
        store.save_results("i3", "s3", "{\"n\":3}", 5).unwrap();
        store.save_results("i3", "s3", "{\"n\":33}", 6).unwrap();
        let got = store
            .results_of(&["i3".into(), "i2".into(), "nope".into(), "i1".into()])
            .unwrap();
        assert_eq!(
            got,
            [
                ("i3".to_owned(), "{\"n\":33}".to_owned()),
                ("i1".to_owned(), "{\"n\":1}".to_owned()),
            ]
        );
        assert!(store.results_of(&[]).unwrap().is_empty());
        assert!(store.results_of(&["i2".into()]).unwrap().is_empty());
    }

    /// A session created for instance `owner` with a lease until `until`.
    fn owned(store: &dyn Store, id: &str, owner: &str, until: i64) {
        let mut s = session(id, "i1", 5);
        s.owner = Some(owner.into());
        s.lease_until_ms = Some(until);
        store.create_session(&s).unwrap();
        let stored = store.session(id).unwrap().unwrap();
        assert_eq!(stored.owner.as_deref(), Some(owner));
        assert_eq!(stored.lease_until_ms, Some(until));
    }

    fn holder(store: &dyn Store, id: &str) -> (Option<String>, Option<i64>) {
        let s = store.session(id).unwrap().unwrap();
        (s.owner, s.lease_until_ms)
    }

    pub fn a_session_runs_on_one_instance_until_its_lease_runs_out(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        owned(store.as_ref(), "s1", "a", 1_000);
        let held_by_a = |until_ms| Claim::Held {
            owner: "a".into(),
            until_ms,
        };
        // Another instance cannot take it while the lease runs.
        assert_eq!(
            store.claim_session("s1", "b", 500, 9_000).unwrap(),
            held_by_a(1_000)
        );
        assert_eq!(
            holder(store.as_ref(), "s1"),
            (Some("a".into()), Some(1_000))
        );
        // Its owner may claim it again (and so extend the lease) …
        assert_eq!(
            store.claim_session("s1", "a", 500, 2_000).unwrap(),
            Claim::Claimed
        );
        // … and renews it.
        assert!(
            store
                .renew_leases("a", &["s1".into()], 3_000)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.claim_session("s1", "b", 2_999, 9_000).unwrap(),
            held_by_a(3_000)
        );
        // Once the lease has run out, another instance takes it.
        assert_eq!(
            store.claim_session("s1", "b", 3_000, 6_000).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            holder(store.as_ref(), "s1"),
            (Some("b".into()), Some(6_000))
        );
        // The old owner's renewal finds it lost (and an unknown one too),
        // and changes nothing.
        assert_eq!(
            store
                .renew_leases("a", &["s1".into(), "nope".into()], 9_000)
                .unwrap(),
            ["s1", "nope"]
        );
        assert_eq!(
            holder(store.as_ref(), "s1"),
            (Some("b".into()), Some(6_000))
        );
        assert_eq!(
            store.claim_session("s1", "a", 4_000, 9_000).unwrap(),
            Claim::Held {
                owner: "b".into(),
                until_ms: 6_000
            }
        );
        // Nor can the old owner release it.
        assert!(!store.release_session("s1", "a", 4_000).unwrap());
        assert!(store.renew_leases("b", &[], 9_000).unwrap().is_empty());
    }

    pub fn a_released_session_is_claimable_at_once_and_an_ended_one_never(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        owned(store.as_ref(), "s1", "a", 10_000);
        assert!(store.unheld_sessions(500).unwrap().is_empty());
        // Handed over: held by no one, long before the lease would have run out.
        assert!(store.release_session("s1", "a", 500).unwrap());
        assert!(!store.release_session("s1", "a", 600).unwrap(), "once");
        assert_eq!(holder(store.as_ref(), "s1"), (None, Some(500)));
        let unheld = store.unheld_sessions(501).unwrap();
        assert_eq!(unheld.len(), 1);
        assert_eq!(unheld[0].id, "s1");
        assert!(
            store.renew_leases("a", &["s1".into()], 20_000).unwrap() == ["s1"],
            "a released session is not renewed"
        );
        assert_eq!(
            store.claim_session("s1", "b", 501, 4_000).unwrap(),
            Claim::Claimed
        );
        assert!(store.unheld_sessions(501).unwrap().is_empty());
        // Ended: no one claims it, whatever its lease.
        store
            .end_session("s1", "user_initiated", 600, 1_000)
            .unwrap();
        for (instance, now) in [("b", 700), ("c", 99_000)] {
            assert_eq!(
                store.claim_session("s1", instance, now, now + 1).unwrap(),
                Claim::Gone
            );
        }
        // Its holder, still finishing it, is not told to let it go.
        assert!(
            store
                .renew_leases("b", &["s1".into()], 9_000)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.claim_session("s1", "c", 99_000, 99_001).unwrap(),
            Claim::Gone
        );
        assert!(!store.release_session("s1", "b", 800).unwrap());
        assert!(store.unheld_sessions(99_000).unwrap().is_empty());
        assert_eq!(store.claim_session("nope", "b", 1, 2).unwrap(), Claim::Gone);
        // A session stored before sessions had owners is anyone's.
        store.create_session(&session("old", "i1", 1)).unwrap();
        assert_eq!(holder(store.as_ref(), "old"), (None, None));
        assert_eq!(
            store.claim_session("old", "c", 1, 2).unwrap(),
            Claim::Claimed
        );
    }

    pub fn only_sessions_no_one_holds_are_swept_and_ended_once(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        owned(store.as_ref(), "live", "a", 1_000);
        owned(store.as_ref(), "handed", "a", 1_000);
        store.release_session("handed", "a", 100).unwrap();
        store.create_session(&session("old", "i1", 1)).unwrap();
        owned(store.as_ref(), "done", "a", 1_000);
        store.end_session("done", "user_initiated", 50, 10).unwrap();
        store
            .set_interview_status("i1", InterviewStatus::InProgress, 60)
            .unwrap();
        let unheld = |now| {
            let mut ids: Vec<String> = store
                .unheld_sessions(now)
                .unwrap()
                .into_iter()
                .map(|s| s.id)
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(unheld(999), ["handed", "old"]);
        assert_eq!(unheld(1_000), ["handed", "live", "old"]);
        // The sweep's end loses to a live lease …
        assert!(
            !store
                .end_unheld_session("live", "server_restart", 999, 999, 5)
                .unwrap()
        );
        assert!(store.session("live").unwrap().unwrap().end_reason.is_none());
        assert_eq!(
            store.interview("i1").unwrap().unwrap().status,
            InterviewStatus::InProgress
        );
        // … and to an instance that claimed the session meanwhile.
        assert_eq!(
            store.claim_session("handed", "b", 200, 5_000).unwrap(),
            Claim::Claimed
        );
        assert!(
            !store
                .end_unheld_session("handed", "server_restart", 1_000, 1_000, 5)
                .unwrap()
        );
        // Past the lease it ends the session, once.
        assert!(
            store
                .end_unheld_session("live", "server_restart", 1_000, 1_000, 5)
                .unwrap()
        );
        assert!(
            !store
                .end_unheld_session("live", "server_restart", 1_001, 1_001, 6)
                .unwrap()
        );
        let ended = store.session("live").unwrap().unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some("server_restart"));
        assert_eq!(ended.ended_at_ms, Some(1_000));
        assert_eq!(ended.duration_ms, Some(5));
        assert_eq!(
            store.interview("i1").unwrap().unwrap().status,
            InterviewStatus::Processing
        );
        assert!(
            !store
                .end_unheld_session("done", "server_restart", 9_000, 9_000, 5)
                .unwrap(),
            "an ended session stays as it ended"
        );
        assert!(
            !store
                .end_unheld_session("nope", "server_restart", 9_000, 9_000, 5)
                .unwrap()
        );
        assert_eq!(unheld(4_999), ["old"]);
        assert_eq!(unheld(5_000), ["handed", "old"], "b's lease ran out");
    }

    /// An instance renews its sessions' leases while its recorder writes
    /// for the same sessions: neither waits on the other in a cycle (on
    /// PostgreSQL both lock the rows in one order and neither upgrades a
    /// lock it holds), so neither fails.
    pub fn lease_renewals_and_recording_at_once_never_fail(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        let ids: Vec<String> = (0..12).map(|k| format!("s{k:02}")).collect();
        for id in &ids {
            owned(store.as_ref(), id, "a", 1_000);
        }
        let sids: Vec<Arc<str>> = ids.iter().map(|id| Arc::from(id.as_str())).collect();
        const ROUNDS: u64 = 150;
        let barrier = Arc::new(std::sync::Barrier::new(3));
        let recorder = {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for round in 1..=ROUNDS {
                    // Every session's next frame and a saved state, in a
                    // batch ordered as the recorder's queue happens to be.
                    let mut batch = Vec::new();
                    for sid in sids.iter().rev() {
                        batch.extend(audio(sid, round..=round));
                        batch.push(SessionWrite::Resume {
                            session_id: sid.clone(),
                            owner: Arc::from("a"),
                            state: format!("round {round}"),
                        });
                    }
                    store.record(&batch).unwrap();
                }
            })
        };
        let renewals: Vec<_> = [false, true]
            .into_iter()
            .map(|reversed| {
                let (store, barrier, mut ids) = (store.clone(), barrier.clone(), ids.clone());
                if reversed {
                    ids.reverse();
                }
                std::thread::spawn(move || {
                    barrier.wait();
                    for round in 0..ROUNDS as i64 {
                        let lost = store.renew_leases("a", &ids, 2_000 + round).unwrap();
                        assert!(lost.is_empty(), "{lost:?}");
                    }
                })
            })
            .collect();
        recorder.join().unwrap();
        for r in renewals {
            r.join().unwrap();
        }
        for id in &ids {
            let s = store.session(id).unwrap().unwrap();
            assert_eq!(s.last_client_seq, ROUNDS);
            assert_eq!(s.owner.as_deref(), Some("a"));
        }
    }

    pub fn racing_claims_have_exactly_one_winner(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        for round in 0..5 {
            let id = format!("s{round}");
            owned(store.as_ref(), &id, "gone", 100);
            let barrier = Arc::new(std::sync::Barrier::new(6));
            let claims: Vec<_> = (0..6)
                .map(|k| {
                    let (store, barrier, id) = (store.clone(), barrier.clone(), id.clone());
                    std::thread::spawn(move || {
                        let me = format!("instance-{k}");
                        barrier.wait();
                        (
                            me.clone(),
                            store.claim_session(&id, &me, 200, 5_000).unwrap(),
                        )
                    })
                })
                .collect();
            let claims: Vec<(String, Claim)> =
                claims.into_iter().map(|t| t.join().unwrap()).collect();
            let winners: Vec<&String> = claims
                .iter()
                .filter(|(_, c)| *c == Claim::Claimed)
                .map(|(me, _)| me)
                .collect();
            assert_eq!(winners.len(), 1, "{claims:?}");
            let winner = winners[0].clone();
            for (_, c) in &claims {
                if *c != Claim::Claimed {
                    assert_eq!(
                        *c,
                        Claim::Held {
                            owner: winner.clone(),
                            until_ms: 5_000
                        }
                    );
                }
            }
            assert_eq!(holder(store.as_ref(), &id), (Some(winner), Some(5_000)));
        }
    }

    pub fn a_saved_state_is_kept_only_while_its_writer_holds_the_session(b: &dyn Backend) {
        let store = b.open();
        setup_user(store.as_ref());
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        owned(store.as_ref(), "s1", "a", 1_000);
        assert_eq!(store.resume_state("s1").unwrap(), None);
        let sid: Arc<str> = Arc::from("s1");
        let save = |owner: &str, state: &str| SessionWrite::Resume {
            session_id: sid.clone(),
            owner: Arc::from(owner),
            state: state.into(),
        };
        // With the audio it follows, in one batch; the batch's last wins.
        let mut batch = audio(&sid, 1..=3);
        batch.push(save("a", "one"));
        batch.push(save("a", "two"));
        store.record(&batch).unwrap();
        assert_eq!(store.resume_state("s1").unwrap().as_deref(), Some("two"));
        assert_eq!(store.session("s1").unwrap().unwrap().last_client_seq, 3);
        // Not by an instance that does not hold it.
        store.record(&[save("b", "three")]).unwrap();
        assert_eq!(store.resume_state("s1").unwrap().as_deref(), Some("two"));
        // Taken over: the new holder's, and no longer the old one's.
        store.claim_session("s1", "b", 1_000, 2_000).unwrap();
        store.record(&[save("b", "four")]).unwrap();
        store.record(&[save("a", "late")]).unwrap();
        assert_eq!(store.resume_state("s1").unwrap().as_deref(), Some("four"));
        assert_eq!(store.resume_state("nope").unwrap(), None);
        reopened_state(b);
    }

    /// The saved state survives reopening the store.
    fn reopened_state(b: &dyn Backend) {
        let store = b.open();
        assert_eq!(store.resume_state("s1").unwrap().as_deref(), Some("four"));
    }
}
