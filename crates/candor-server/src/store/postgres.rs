//! [`Store`] on PostgreSQL: the shared store of a hosted backend that runs
//! on several machines (SQLite stays the embedded, one-machine default).
//!
//! The driver is the synchronous `postgres` crate behind two `r2d2` pools,
//! which fits the blocking trait: every call already runs on a blocking
//! thread ([`super::Db::run`], the recorder's own thread). As on SQLite,
//! [`Store::record`] (the recorder's group commits) has a pool of its own
//! (one connection), so a burst of API reads never delays audio
//! acknowledgements behind the API's connections.
//!
//! Tables live in the connection's schema (its `search_path`: `public`
//! unless the URL says otherwise, e.g. `?options=-csearch_path%3Dcandor`).
//! Migrations are versioned in `candor_migrations` and applied under an
//! advisory lock, so instances starting at once migrate once.
//!
//! Concurrency: several instances write at once, in READ COMMITTED
//! transactions. `record` locks the rows of the sessions it writes for
//! (`FOR SHARE`) and writes only for sessions that exist; `delete_interview`
//! locks the interview and its sessions (`FOR UPDATE`) before deleting, so a
//! batch either commits before the delete (and is deleted with it) or finds
//! its session gone (and keeps nothing).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{GenericClient, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2::{Pool, PooledConnection};
use thiserror::Error;

use super::{
    AudioFormat, Claim, Erasure, FrameFlags, InterviewRecord, ListCursor, OutcomeRecord,
    RetryOfRecord, SegmentKind, SessionRecord, SessionWrite, Store, StoreError, StoredCodec,
    StoredFrame, Timeline, TranscriptRecord, UserRecord, frames,
};

/// Connections the API side may hold (requests, session starts, results).
const POOL_SIZE: u32 = 16;
/// How long a call waits for a connection (a free one, or a new one to a
/// server that restarts) before it fails; SQLite's busy timeout is the same.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);
/// Opening a connection, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The advisory lock key migrations run under (any constant, the same for
/// every instance).
const MIGRATION_LOCK: i64 = 0x63616e646f72; // "candor"

/// What went wrong talking to PostgreSQL.
#[derive(Debug, Error)]
pub enum PostgresError {
    /// The database URL does not parse (the URL itself is not repeated: it
    /// may hold a password).
    #[error("invalid database URL: {0}")]
    Url(#[source] postgres::Error),
    /// No connection could be had within the checkout timeout (the server
    /// is down, unreachable, refuses the login, or every connection is busy).
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2_postgres::r2d2::Error),
    /// A statement failed.
    #[error("postgres: {0}")]
    Query(#[from] postgres::Error),
    /// The database holds a schema version this build does not know (a newer
    /// server migrated it).
    #[error("the database schema is at version {found}, newer than this server's {known}")]
    NewerSchema { found: i64, known: i64 },
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        StoreError::Postgres(PostgresError::Query(e))
    }
}

impl From<r2d2_postgres::r2d2::Error> for StoreError {
    fn from(e: r2d2_postgres::r2d2::Error) -> Self {
        StoreError::Postgres(PostgresError::Pool(e))
    }
}

/// Schema versions, applied in order; `candor_migrations` lists those that
/// ran. Version 1 is the SQLite schema after its third migration, and each
/// later version v is SQLite's migration v + 2, with Postgres types: integers are `BIGINT` (u64 values stored as their i64
/// bit pattern, as on SQLite), audio `BYTEA`, flags `BOOLEAN`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT UNIQUE,
        display_name TEXT NOT NULL,
        password_hash TEXT,
        local_profile TEXT UNIQUE,
        created_at_ms BIGINT NOT NULL
    );
    CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT NOT NULL
    );
    CREATE INDEX tokens_user ON tokens(user_id);
    CREATE INDEX tokens_expiry ON tokens(expires_at_ms);
    -- Ids compare bytewise ("C"), as on SQLite, so the newest-first list
    -- and its cursor order the same whatever the database's collation.
    CREATE TABLE interviews (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        seniority TEXT NOT NULL,
        job_description TEXT,
        cv_text TEXT,
        question_count BIGINT NOT NULL,
        status TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX interviews_user_created ON interviews(user_id, created_at_ms DESC, id DESC);
    CREATE INDEX interviews_processing ON interviews(id) WHERE status = 'processing';
    -- `ord`: insertion order (SQLite's rowid), the tie-break of the latest
    -- session.
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        ord BIGINT GENERATED ALWAYS AS IDENTITY,
        interview_id TEXT NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        engine TEXT NOT NULL,
        end_reason TEXT,
        started_at_ms BIGINT NOT NULL,
        ended_at_ms BIGINT,
        duration_ms BIGINT,
        last_client_seq BIGINT NOT NULL DEFAULT 0,
        input_codec TEXT,
        input_rate_hz BIGINT,
        input_frame_ms BIGINT
    );
    CREATE INDEX sessions_interview ON sessions(interview_id, started_at_ms);
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE INDEX sessions_unfinished ON sessions(ord) WHERE end_reason IS NULL;
    -- Candidate audio, one row per session per commit, packed as on SQLite
    -- (`store::frames`). Opus does not compress: stored out of line as is.
    CREATE TABLE candidate_audio (
        session_id TEXT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        frames BYTEA NOT NULL,
        PRIMARY KEY (session_id, first_seq)
    );
    ALTER TABLE candidate_audio ALTER COLUMN frames SET STORAGE EXTERNAL;
    CREATE TABLE transcripts (
        session_id TEXT NOT NULL,
        segment_id BIGINT NOT NULL,
        speaker TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        start_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL,
        question_index BIGINT NOT NULL,
        interrupted BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (session_id, segment_id)
    );
    CREATE TABLE speech_spans (
        session_id TEXT NOT NULL,
        start_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL,
        PRIMARY KEY (session_id, start_ms)
    );
    CREATE TABLE results (
        interview_id TEXT PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        feedback TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );
    "#,
    // 2: the interviewer's voice, as the session sent it, packed like the
    // candidate's (`timestamp_us` is when each chunk was due to play), and
    // its coding.
    r#"
    CREATE TABLE interviewer_audio (
        session_id TEXT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        frames BYTEA NOT NULL,
        PRIMARY KEY (session_id, first_seq)
    );
    ALTER TABLE interviewer_audio ALTER COLUMN frames SET STORAGE EXTERNAL;
    ALTER TABLE sessions ADD COLUMN output_codec TEXT;
    ALTER TABLE sessions ADD COLUMN output_rate_hz BIGINT;
    ALTER TABLE sessions ADD COLUMN output_frame_ms BIGINT;
    "#,
    // 3: a retry of one question of an earlier interview: the first
    // interview's id (no foreign key: deleting it keeps its retries), the
    // question's index there and its text; NULL for other interviews.
    r#"
    ALTER TABLE interviews ADD COLUMN retry_of TEXT COLLATE "C";
    ALTER TABLE interviews ADD COLUMN retry_question BIGINT;
    ALTER TABLE interviews ADD COLUMN retry_text TEXT;
    CREATE INDEX interviews_retry_of ON interviews(retry_of, created_at_ms, id)
        WHERE retry_of IS NOT NULL;
    "#,
    // 4: who runs a live session: the owning server instance and until
    // when its lease runs (NULL: held by no one — handed over, or stored
    // before sessions had owners).
    r#"
    ALTER TABLE sessions ADD COLUMN owner TEXT;
    ALTER TABLE sessions ADD COLUMN lease_until_ms BIGINT;
    CREATE INDEX sessions_owner ON sessions(owner) WHERE end_reason IS NULL;
    "#,
    // 5: what a live session needs to continue on another instance (its
    // engine's state, clock and sequence numbers), saved at turn
    // boundaries and on hand-over.
    r#"
    ALTER TABLE sessions ADD COLUMN resume_state TEXT;
    "#,
];

/// Inserts one side's packed audio rows (`table`: `candidate_audio` or
/// `interviewer_audio`) of the sessions still there; returns the sessions
/// written for with the last seq of each.
fn insert_audio<'a>(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    rows: BTreeMap<&'a str, (u64, u64, Vec<u8>)>,
    live: &std::collections::HashSet<&str>,
) -> Result<Vec<(&'a str, u64)>, StoreError> {
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(id, _)| live.contains(id))
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
    let first: Vec<i64> = rows.iter().map(|(_, r)| r.0 as i64).collect();
    let last: Vec<i64> = rows.iter().map(|(_, r)| r.1 as i64).collect();
    let packed: Vec<&[u8]> = rows.iter().map(|(_, r)| r.2.as_slice()).collect();
    tx.execute_typed(
        &format!(
            "INSERT INTO {table} (session_id, first_seq, last_seq, frames)
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::bytea[])
             ON CONFLICT (session_id, first_seq) DO NOTHING"
        ),
        &[
            (&ids, Type::TEXT_ARRAY),
            (&first, Type::INT8_ARRAY),
            (&last, Type::INT8_ARRAY),
            (&packed, Type::BYTEA_ARRAY),
        ],
    )?;
    Ok(rows.into_iter().map(|(id, r)| (id, r.1)).collect())
}

/// The tables keyed by session id alone (no foreign key: they are written
/// on the recorder's hot path).
const SESSION_TABLES: [&str; 4] = [
    "candidate_audio",
    "interviewer_audio",
    "transcripts",
    "speech_spans",
];

type Manager = PostgresConnectionManager<NoTls>;
type Conn = PooledConnection<Manager>;

/// PostgreSQL-backed [`Store`].
pub struct PostgresStore {
    /// Always `Some` until dropped (see the `Drop` impl).
    pools: Option<Pools>,
}

/// The API side's connections and the recorder's one.
struct Pools {
    api: Pool<Manager>,
    recorder: Pool<Manager>,
}

/// The `postgres` driver closes a connection by blocking on a runtime of
/// its own, which panics on a thread that runs async tasks — where the
/// server drops its store at shutdown. The pools are dropped on a thread of
/// their own then, and the drop returns once their connections are closed.
impl Drop for PostgresStore {
    fn drop(&mut self) {
        let Some(pools) = self.pools.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            drop(pools);
            return;
        }
        let (hand_over, handed) = std::sync::mpsc::channel::<Pools>();
        let closing = std::thread::Builder::new()
            .name("candor-pg-close".into())
            .spawn(move || drop(handed.recv()));
        match closing {
            Ok(thread) => {
                let _ = hand_over.send(pools);
                let _ = thread.join();
            }
            Err(e) => {
                // No thread to be had: the connections stay open until
                // this process ends, rather than a panic in a destructor.
                tracing::warn!(error = %e, "cannot close the PostgreSQL connections");
                std::mem::forget(pools);
            }
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`,
    /// or key=value settings) and migrates its schema. Blocking: call it
    /// off the async runtime. Connections are unencrypted (`NoTls`): run the
    /// database on the same host or a private network.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(PostgresError::Url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("candor-server");
        }
        let pool = |max_size| {
            Pool::builder()
                .max_size(max_size)
                .min_idle(Some(1))
                .connection_timeout(CHECKOUT_TIMEOUT)
                .build(Manager::new(config.clone(), NoTls))
        };
        let store = Self {
            pools: Some(Pools {
                api: pool(POOL_SIZE)?,
                recorder: pool(1)?,
            }),
        };
        migrate(&mut store.conn()?)?;
        Ok(store)
    }

    fn pools(&self) -> &Pools {
        self.pools
            .as_ref()
            .expect("the pools live until the store is dropped")
    }

    fn conn(&self) -> Result<Conn, StoreError> {
        Ok(self.pools().api.get()?)
    }

    /// One side's audio frames of a session (`table`: `candidate_audio` or
    /// `interviewer_audio`), in seq order.
    fn frames(&self, table: &str, session_id: &str) -> Result<Vec<StoredFrame>, StoreError> {
        let found = self.conn()?.query(
            &format!("SELECT frames FROM {table} WHERE session_id = $1 ORDER BY first_seq"),
            &[&session_id],
        )?;
        let mut out = Vec::new();
        for row in &found {
            frames::unpack_into(&mut out, row.try_get::<_, &[u8]>(0)?)?;
        }
        Ok(out)
    }
}

fn migrate(conn: &mut Conn) -> Result<(), StoreError> {
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS candor_migrations (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let done: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM candor_migrations",
            &[],
        )?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i64;
    if done > known {
        return Err(StoreError::Postgres(PostgresError::NewerSchema {
            found: done,
            known,
        }));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO candor_migrations (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

const USER_COLS: &str = "id, email, display_name, password_hash, local_profile, created_at_ms";
const INTERVIEW_COLS: &str = "id, user_id, role, seniority, job_description, cv_text, question_count, status, created_at_ms, updated_at_ms, retry_of, retry_question, retry_text";
/// A session no instance holds as of `$3` (claims) — unowned, never
/// leased, or its lease ran out.
const UNHELD: &str = "(owner IS NULL OR lease_until_ms IS NULL OR lease_until_ms <= $3)";
/// Held by no one since the first parameter: released or run out then.
const UNHELD_SINCE_1: &str = "(lease_until_ms IS NULL OR lease_until_ms <= $1)";
const SESSION_COLS: &str = "id, interview_id, user_id, engine, end_reason, started_at_ms, ended_at_ms, duration_ms, last_client_seq, input_codec, input_rate_hz, input_frame_ms, output_codec, output_rate_hz, output_frame_ms, owner, lease_until_ms";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

/// A stored u32 (kept as BIGINT).
fn get_u32(r: &Row, i: usize) -> Result<u32, StoreError> {
    let v: i64 = r.try_get(i)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} is out of range")))
}

fn user_from_row(r: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        display_name: r.try_get(2)?,
        password_hash: r.try_get(3)?,
        local_profile: r.try_get(4)?,
        created_at_ms: r.try_get(5)?,
    })
}

fn interview_from_row(r: &Row) -> Result<InterviewRecord, StoreError> {
    let role: String = r.try_get(2)?;
    let seniority: String = r.try_get(3)?;
    let status: String = r.try_get(7)?;
    Ok(InterviewRecord {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        seniority: Seniority::parse(&seniority).ok_or_else(|| corrupt("seniority", &seniority))?,
        job_description: r.try_get(4)?,
        cv_text: r.try_get(5)?,
        question_count: get_u32(r, 6)?,
        status: InterviewStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        created_at_ms: r.try_get(8)?,
        updated_at_ms: r.try_get(9)?,
        retry_of: retry_from_row(r, 10)?,
    })
}

/// A retry's link from its three columns (first interview, question index,
/// question text) starting at `at`; None when the first is NULL.
fn retry_from_row(r: &Row, at: usize) -> Result<Option<RetryOfRecord>, StoreError> {
    let Some(interview_id) = r.try_get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    let missing = || corrupt("retry of", &interview_id);
    if r.try_get::<_, Option<i64>>(at + 1)?.is_none() {
        return Err(missing());
    }
    Ok(Some(RetryOfRecord {
        question_index: get_u32(r, at + 1)?,
        question: r
            .try_get::<_, Option<String>>(at + 2)?
            .ok_or_else(missing)?,
        interview_id,
    }))
}

fn session_from_row(r: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: r.try_get(0)?,
        interview_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        engine: r.try_get(3)?,
        end_reason: r.try_get(4)?,
        started_at_ms: r.try_get(5)?,
        ended_at_ms: r.try_get(6)?,
        duration_ms: r.try_get::<_, Option<i64>>(7)?.map(|v| v as u64),
        last_client_seq: r.try_get::<_, i64>(8)? as u64,
        input: format_from_row(r, 9)?,
        output: format_from_row(r, 12)?,
        owner: r.try_get(15)?,
        lease_until_ms: r.try_get(16)?,
    })
}

/// An audio format from its three columns (codec, rate, frame length)
/// starting at `at`; None when the codec is NULL.
fn format_from_row(r: &Row, at: usize) -> Result<Option<AudioFormat>, StoreError> {
    match r.try_get::<_, Option<String>>(at)? {
        None => Ok(None),
        Some(codec) => Ok(Some(AudioFormat {
            codec: StoredCodec::parse(&codec).ok_or_else(|| corrupt("codec", &codec))?,
            sample_rate_hz: get_u32(r, at + 1)?,
            frame_ms: get_u32(r, at + 2)?,
        })),
    }
}

fn speaker_str(s: Speaker) -> &'static str {
    match s {
        Speaker::Interviewer => "interviewer",
        Speaker::Candidate => "candidate",
    }
}

fn rows<T>(
    rows: Vec<Row>,
    map: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(map).collect()
}

fn one<T>(
    row: Option<Row>,
    map: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    row.as_ref().map(map).transpose()
}

fn session_by_id(
    c: &mut impl GenericClient,
    id: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    one(
        c.query_opt(
            &format!("SELECT {SESSION_COLS} FROM sessions WHERE id = $1"),
            &[&id],
        )?,
        session_from_row,
    )
}

impl Store for PostgresStore {
    fn create_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let res = self.conn()?.execute(
            &format!("INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                &u.id,
                &u.email,
                &u.display_name,
                &u.password_hash,
                &u.local_profile,
                &u.created_at_ms,
            ],
        );
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::Conflict("user"))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        one(
            self.conn()?.query_opt(
                &format!("SELECT {USER_COLS} FROM users WHERE email = $1"),
                &[&email],
            )?,
            user_from_row,
        )
    }

    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        one(
            self.conn()?.query_opt(
                &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
                &[&id],
            )?,
            user_from_row,
        )
    }

    fn local_user(&self, new: &UserRecord) -> Result<UserRecord, StoreError> {
        let mut conn = self.conn()?;
        conn.execute(
            &format!(
                "INSERT INTO users ({USER_COLS}) VALUES ($1, NULL, $2, NULL, $3, $4)
                 ON CONFLICT (local_profile) DO NOTHING"
            ),
            &[
                &new.id,
                &new.display_name,
                &new.local_profile,
                &new.created_at_ms,
            ],
        )?;
        user_from_row(&conn.query_one(
            &format!("SELECT {USER_COLS} FROM users WHERE local_profile = $1"),
            &[&new.local_profile],
        )?)
    }

    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        created_at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        // Opportunistic clean-up keeps the table from growing without bound.
        conn.execute(
            "DELETE FROM tokens WHERE expires_at_ms <= $1",
            &[&created_at_ms],
        )?;
        conn.execute(
            "INSERT INTO tokens (token_hash, user_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &user_id, &created_at_ms, &expires_at_ms],
        )?;
        Ok(())
    }

    fn user_by_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        one(
            self.conn()?.query_opt(
                "SELECT u.id, u.email, u.display_name, u.password_hash, u.local_profile, u.created_at_ms
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = $1 AND t.expires_at_ms > $2",
                &[&token_hash, &now_ms],
            )?,
            user_from_row,
        )
    }

    fn delete_token(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM tokens WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn create_interview(&self, i: &InterviewRecord) -> Result<(), StoreError> {
        self.conn()?.execute(
            &format!(
                "INSERT INTO interviews ({INTERVIEW_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &i.id,
                &i.user_id,
                &i.role.as_str(),
                &i.seniority.as_str(),
                &i.job_description,
                &i.cv_text,
                &i64::from(i.question_count),
                &i.status.as_str(),
                &i.created_at_ms,
                &i.updated_at_ms,
                &i.retry_of.as_ref().map(|r| r.interview_id.as_str()),
                &i.retry_of.as_ref().map(|r| i64::from(r.question_index)),
                &i.retry_of.as_ref().map(|r| r.question.as_str()),
            ],
        )?;
        Ok(())
    }

    fn interview(&self, id: &str) -> Result<Option<InterviewRecord>, StoreError> {
        one(
            self.conn()?.query_opt(
                &format!("SELECT {INTERVIEW_COLS} FROM interviews WHERE id = $1"),
                &[&id],
            )?,
            interview_from_row,
        )
    }

    fn list_interviews(
        &self,
        user_id: &str,
        before: Option<&ListCursor>,
        limit: u32,
    ) -> Result<Vec<InterviewRecord>, StoreError> {
        let mut conn = self.conn()?;
        let limit = i64::from(limit);
        let found = match before {
            Some(c) => conn.query(
                &format!(
                    "SELECT {INTERVIEW_COLS} FROM interviews
                     WHERE user_id = $1 AND (created_at_ms, id) < ($2, $3)
                     ORDER BY created_at_ms DESC, id DESC LIMIT $4"
                ),
                &[&user_id, &c.created_at_ms, &c.id, &limit],
            )?,
            None => conn.query(
                &format!(
                    "SELECT {INTERVIEW_COLS} FROM interviews WHERE user_id = $1
                     ORDER BY created_at_ms DESC, id DESC LIMIT $2"
                ),
                &[&user_id, &limit],
            )?,
        };
        rows(found, interview_from_row)
    }

    fn set_interview_status(
        &self,
        id: &str,
        status: InterviewStatus,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE interviews SET status = $2, updated_at_ms = $3 WHERE id = $1",
            &[&id, &status.as_str(), &now_ms],
        )?;
        Ok(())
    }

    fn retries_of(
        &self,
        user_id: &str,
        first_id: &str,
        limit: u32,
    ) -> Result<Vec<InterviewRecord>, StoreError> {
        rows(
            self.conn()?.query(
                &format!(
                    "SELECT {INTERVIEW_COLS} FROM interviews
                     WHERE retry_of = $1 AND user_id = $2
                     ORDER BY created_at_ms, id LIMIT $3"
                ),
                &[&first_id, &user_id, &i64::from(limit)],
            )?,
            interview_from_row,
        )
    }

    fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO sessions ({SESSION_COLS})
                 VALUES ($1, $2, $3, $4, NULL, $5, NULL, NULL, 0, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &s.id,
                &s.interview_id,
                &s.user_id,
                &s.engine,
                &s.started_at_ms,
                &s.input.map(|i| i.codec.as_str()),
                &s.input.map(|i| i64::from(i.sample_rate_hz)),
                &s.input.map(|i| i64::from(i.frame_ms)),
                &s.output.map(|o| o.codec.as_str()),
                &s.output.map(|o| i64::from(o.sample_rate_hz)),
                &s.output.map(|o| i64::from(o.frame_ms)),
                &s.owner,
                &s.lease_until_ms,
            ],
        )?;
        tx.execute(
            "UPDATE interviews SET status = 'in_progress', updated_at_ms = $2 WHERE id = $1",
            &[&s.interview_id, &s.started_at_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        session_by_id(&mut *self.conn()?, id)
    }

    fn end_session(
        &self,
        id: &str,
        reason: &str,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE sessions SET end_reason = $2, ended_at_ms = $3, duration_ms = $4
             WHERE id = $1 AND end_reason IS NULL",
            &[&id, &reason, &ended_at_ms, &(duration_ms as i64)],
        )?;
        if n > 0 {
            tx.execute(
                "UPDATE interviews SET status = 'processing', updated_at_ms = $2
                 WHERE id = (SELECT interview_id FROM sessions WHERE id = $1)",
                &[&id, &ended_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn unfinished_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        rows(
            self.conn()?.query(
                &format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE end_reason IS NULL ORDER BY ord"
                ),
                &[],
            )?,
            session_from_row,
        )
    }

    fn claim_session(
        &self,
        id: &str,
        instance: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Claim, StoreError> {
        let mut conn = self.conn()?;
        // One UPDATE: under READ COMMITTED a concurrent claim of the same
        // row waits for the other to commit, then re-checks the condition
        // against the row as that one left it — so only one of them wins.
        let n = conn.execute(
            &format!(
                "UPDATE sessions SET owner = $2, lease_until_ms = $4
                 WHERE id = $1 AND end_reason IS NULL AND (owner = $2 OR {UNHELD})"
            ),
            &[&id, &instance, &now_ms, &until_ms],
        )?;
        if n > 0 {
            return Ok(Claim::Claimed);
        }
        let held = conn.query_opt(
            "SELECT owner, lease_until_ms FROM sessions WHERE id = $1 AND end_reason IS NULL",
            &[&id],
        )?;
        let held = match held {
            Some(r) => Some((
                r.try_get::<_, Option<String>>(0)?,
                r.try_get::<_, Option<i64>>(1)?,
            )),
            None => None,
        };
        Ok(match held {
            Some((Some(owner), Some(until_ms))) => Claim::Held { owner, until_ms },
            // An unheld row would have been claimed: a session that ended
            // in between, or none.
            _ => Claim::Gone,
        })
    }

    fn renew_leases(
        &self,
        instance: &str,
        ids: &[String],
        until_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The rows are locked in id order, as `record` locks them: in any
        // other order the two deadlock.
        let renewed = self.conn()?.query(
            "UPDATE sessions SET lease_until_ms = $3
             WHERE owner = $2 AND id IN (
                 SELECT id FROM sessions WHERE id = ANY($1) AND owner = $2
                 ORDER BY id FOR UPDATE)
             RETURNING id",
            &[&ids, &instance, &until_ms],
        )?;
        let renewed: std::collections::HashSet<String> = renewed
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(ids
            .iter()
            .filter(|id| !renewed.contains(*id))
            .cloned()
            .collect())
    }

    fn release_session(&self, id: &str, instance: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            "UPDATE sessions SET owner = NULL, lease_until_ms = $3
             WHERE id = $1 AND owner = $2 AND end_reason IS NULL",
            &[&id, &instance, &now_ms],
        )?;
        Ok(n > 0)
    }

    fn resume_state(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()?
            .query_opt("SELECT resume_state FROM sessions WHERE id = $1", &[&id])?
            .map(|r| r.try_get::<_, Option<String>>(0))
            .transpose()?
            .flatten())
    }

    fn unheld_sessions(&self, since_ms: i64) -> Result<Vec<SessionRecord>, StoreError> {
        rows(
            self.conn()?.query(
                &format!(
                    "SELECT {SESSION_COLS} FROM sessions
                     WHERE end_reason IS NULL AND {UNHELD_SINCE_1} ORDER BY ord"
                ),
                &[&since_ms],
            )?,
            session_from_row,
        )
    }

    fn end_unheld_session(
        &self,
        id: &str,
        reason: &str,
        since_ms: i64,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE sessions SET end_reason = $2, ended_at_ms = $4, duration_ms = $5
             WHERE id = $1 AND end_reason IS NULL
               AND (lease_until_ms IS NULL OR lease_until_ms <= $3)",
            &[&id, &reason, &since_ms, &ended_at_ms, &(duration_ms as i64)],
        )?;
        if n > 0 {
            tx.execute(
                "UPDATE interviews SET status = 'processing', updated_at_ms = $2
                 WHERE id = (SELECT interview_id FROM sessions WHERE id = $1)",
                &[&id, &ended_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn interviews_processing(&self) -> Result<Vec<InterviewRecord>, StoreError> {
        rows(
            self.conn()?.query(
                &format!(
                    "SELECT {INTERVIEW_COLS} FROM interviews WHERE status = 'processing'
                     ORDER BY created_at_ms, id"
                ),
                &[],
            )?,
            interview_from_row,
        )
    }

    fn latest_session(&self, interview_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        one(
            self.conn()?.query_opt(
                &format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE interview_id = $1
                     ORDER BY started_at_ms DESC, ord DESC LIMIT 1"
                ),
                &[&interview_id],
            )?,
            session_from_row,
        )
    }

    fn record(&self, writes: &[SessionWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        // Per session: (first seq, last seq, packed frames). Transcript
        // segments and speech spans keyed as in their tables, the batch's
        // last write of a key winning (as SQLite's INSERT OR REPLACE).
        // Sorted maps: the same batch always locks and writes in one order.
        let mut audio: BTreeMap<&str, (u64, u64, Vec<u8>)> = BTreeMap::new();
        let mut interviewer: BTreeMap<&str, (u64, u64, Vec<u8>)> = BTreeMap::new();
        let mut segments: BTreeMap<(&str, u64), &TranscriptRecord> = BTreeMap::new();
        let mut spans: BTreeMap<(&str, u64), u64> = BTreeMap::new();
        let mut resume: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        for w in writes {
            match w {
                SessionWrite::Audio {
                    session_id,
                    seq,
                    timestamp_us: stamp,
                    data,
                    ..
                }
                | SessionWrite::InterviewerAudio {
                    session_id,
                    seq,
                    due_us: stamp,
                    data,
                } => {
                    let (rows, flags) = match w {
                        SessionWrite::Audio { flags, .. } => (&mut audio, *flags),
                        _ => (&mut interviewer, FrameFlags::VOICE),
                    };
                    frames::add(
                        |new| rows.entry(session_id.as_ref()).or_insert(new),
                        *seq,
                        *stamp,
                        flags,
                        data,
                    );
                }
                SessionWrite::Transcript {
                    session_id,
                    segment,
                } => {
                    segments.insert((session_id.as_ref(), segment.segment_id), segment);
                }
                SessionWrite::Speech {
                    session_id,
                    start_ms,
                    end_ms,
                } => {
                    spans.insert((session_id.as_ref(), *start_ms), *end_ms);
                }
                SessionWrite::Resume {
                    session_id,
                    owner,
                    state,
                } => {
                    resume.insert(session_id.as_ref(), (owner.as_ref(), state.as_str()));
                }
            }
        }
        let mut ids: Vec<&str> = writes.iter().map(SessionWrite::session_id).collect();
        ids.sort_unstable();
        ids.dedup();

        let mut conn = self.pools().recorder.get()?;
        let mut tx = conn.transaction()?;
        // The sessions written for, locked until commit so that a delete
        // waits for this batch; a session deleted with its interview while
        // its last writes were queued (the delete refuses live sessions, but
        // a session may start between that check and the delete) is not
        // found, and keeps nothing.
        let live: Vec<String> = tx
            .query_typed(
                "SELECT id FROM sessions WHERE id = ANY($1) ORDER BY id FOR SHARE",
                &[(&ids, Type::TEXT_ARRAY)],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let live: std::collections::HashSet<&str> = live.iter().map(String::as_str).collect();

        insert_audio(&mut tx, "interviewer_audio", interviewer, &live)?;
        let audio = insert_audio(&mut tx, "candidate_audio", audio, &live)?;
        if !audio.is_empty() {
            let ids: Vec<&str> = audio.iter().map(|(id, _)| *id).collect();
            let last: Vec<i64> = audio.iter().map(|(_, last)| *last as i64).collect();
            tx.execute_typed(
                "UPDATE sessions s SET last_client_seq = GREATEST(s.last_client_seq, v.last)
                 FROM UNNEST($1::text[], $2::int8[]) AS v(id, last) WHERE s.id = v.id",
                &[(&ids, Type::TEXT_ARRAY), (&last, Type::INT8_ARRAY)],
            )?;
        }

        let segments: Vec<_> = segments
            .into_iter()
            .filter(|((id, _), _)| live.contains(id))
            .collect();
        if !segments.is_empty() {
            let ids: Vec<&str> = segments.iter().map(|((id, _), _)| *id).collect();
            let seg: Vec<i64> = segments.iter().map(|((_, n), _)| *n as i64).collect();
            let speaker: Vec<&str> = segments
                .iter()
                .map(|(_, s)| speaker_str(s.speaker))
                .collect();
            let kind: Vec<&str> = segments.iter().map(|(_, s)| s.kind.as_str()).collect();
            let text: Vec<&str> = segments.iter().map(|(_, s)| s.text.as_str()).collect();
            let start: Vec<i64> = segments.iter().map(|(_, s)| s.start_ms as i64).collect();
            let end: Vec<i64> = segments.iter().map(|(_, s)| s.end_ms as i64).collect();
            let question: Vec<i64> = segments
                .iter()
                .map(|(_, s)| i64::from(s.question_index))
                .collect();
            let interrupted: Vec<bool> = segments.iter().map(|(_, s)| s.interrupted).collect();
            tx.execute_typed(
                "INSERT INTO transcripts (session_id, segment_id, speaker, kind, text, start_ms, end_ms, question_index, interrupted)
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::bool[])
                 ON CONFLICT (session_id, segment_id) DO UPDATE SET
                     speaker = EXCLUDED.speaker, kind = EXCLUDED.kind, text = EXCLUDED.text,
                     start_ms = EXCLUDED.start_ms, end_ms = EXCLUDED.end_ms,
                     question_index = EXCLUDED.question_index, interrupted = EXCLUDED.interrupted",
                &[
                    (&ids, Type::TEXT_ARRAY),
                    (&seg, Type::INT8_ARRAY),
                    (&speaker, Type::TEXT_ARRAY),
                    (&kind, Type::TEXT_ARRAY),
                    (&text, Type::TEXT_ARRAY),
                    (&start, Type::INT8_ARRAY),
                    (&end, Type::INT8_ARRAY),
                    (&question, Type::INT8_ARRAY),
                    (&interrupted, Type::BOOL_ARRAY),
                ],
            )?;
        }

        let spans: Vec<_> = spans
            .into_iter()
            .filter(|((id, _), _)| live.contains(id))
            .collect();
        if !spans.is_empty() {
            let ids: Vec<&str> = spans.iter().map(|((id, _), _)| *id).collect();
            let start: Vec<i64> = spans.iter().map(|((_, s), _)| *s as i64).collect();
            let end: Vec<i64> = spans.iter().map(|(_, e)| *e as i64).collect();
            tx.execute_typed(
                "INSERT INTO speech_spans (session_id, start_ms, end_ms)
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[])
                 ON CONFLICT (session_id, start_ms) DO UPDATE SET end_ms = EXCLUDED.end_ms",
                &[
                    (&ids, Type::TEXT_ARRAY),
                    (&start, Type::INT8_ARRAY),
                    (&end, Type::INT8_ARRAY),
                ],
            )?;
        }
        for (id, (owner, state)) in resume {
            tx.execute(
                "UPDATE sessions SET resume_state = $3 WHERE id = $1 AND owner = $2",
                &[&id, &owner, &state],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn timeline(&self, session_id: &str) -> Result<Option<Timeline>, StoreError> {
        let mut conn = self.conn()?;
        // One snapshot for the session and its rows.
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let Some(session) = session_by_id(&mut tx, session_id)? else {
            return Ok(None);
        };
        let transcript = rows(
            tx.query(
                "SELECT segment_id, speaker, kind, text, start_ms, end_ms, question_index, interrupted
                 FROM transcripts WHERE session_id = $1 ORDER BY segment_id",
                &[&session_id],
            )?,
            |r| {
                let speaker: String = r.try_get(1)?;
                let kind: String = r.try_get(2)?;
                Ok(TranscriptRecord {
                    segment_id: r.try_get::<_, i64>(0)? as u64,
                    speaker: match speaker.as_str() {
                        "interviewer" => Speaker::Interviewer,
                        "candidate" => Speaker::Candidate,
                        other => return Err(corrupt("speaker", other)),
                    },
                    kind: SegmentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                    text: r.try_get(3)?,
                    start_ms: r.try_get::<_, i64>(4)? as u64,
                    end_ms: r.try_get::<_, i64>(5)? as u64,
                    question_index: get_u32(r, 6)?,
                    interrupted: r.try_get(7)?,
                })
            },
        )?;
        let speech = rows(
            tx.query(
                "SELECT start_ms, end_ms FROM speech_spans WHERE session_id = $1 ORDER BY start_ms",
                &[&session_id],
            )?,
            |r| {
                Ok((
                    r.try_get::<_, i64>(0)? as u64,
                    r.try_get::<_, i64>(1)? as u64,
                ))
            },
        )?;
        tx.commit()?;
        Ok(Some(Timeline {
            session,
            transcript,
            speech,
        }))
    }

    fn candidate_audio(&self, session_id: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .candidate_frames(session_id)?
            .into_iter()
            .map(|f| (f.seq, f.data))
            .collect())
    }

    fn candidate_frames(&self, session_id: &str) -> Result<Vec<StoredFrame>, StoreError> {
        self.frames("candidate_audio", session_id)
    }

    fn interviewer_frames(&self, session_id: &str) -> Result<Vec<StoredFrame>, StoreError> {
        self.frames("interviewer_audio", session_id)
    }

    fn user_audio_bytes(&self, user_id: &str) -> Result<u64, StoreError> {
        let bytes: i64 = self
            .conn()?
            .query_one(
                "SELECT COALESCE(SUM(octet_length(a.frames)), 0)::int8 FROM sessions s
                 JOIN candidate_audio a ON a.session_id = s.id WHERE s.user_id = $1",
                &[&user_id],
            )?
            .try_get(0)?;
        Ok(bytes.max(0) as u64)
    }

    fn count_interviews(&self, user_id: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT COUNT(*) FROM interviews WHERE user_id = $1",
                &[&user_id],
            )?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    fn save_results(
        &self,
        interview_id: &str,
        session_id: &str,
        feedback_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO results (interview_id, session_id, feedback, created_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (interview_id) DO UPDATE SET session_id = EXCLUDED.session_id,
                 feedback = EXCLUDED.feedback, created_at_ms = EXCLUDED.created_at_ms",
            &[&interview_id, &session_id, &feedback_json, &now_ms],
        )?;
        tx.execute(
            "UPDATE interviews SET status = 'ready', updated_at_ms = $2 WHERE id = $1",
            &[&interview_id, &now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn results(&self, interview_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT feedback FROM results WHERE interview_id = $1",
                &[&interview_id],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn results_of(&self, interview_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let found = self.conn()?.query(
            "SELECT interview_id, feedback FROM results WHERE interview_id = ANY($1)",
            &[&interview_ids],
        )?;
        let mut by_id: HashMap<String, String> = HashMap::new();
        for r in &found {
            by_id.insert(r.try_get(0)?, r.try_get(1)?);
        }
        Ok(interview_ids
            .iter()
            .filter_map(|id| Some((id.clone(), by_id.get(id)?.clone())))
            .collect())
    }

    fn outcomes(&self, interview_ids: &[String]) -> Result<Vec<OutcomeRecord>, StoreError> {
        // Only the two parts of the feedback needed, not its transcript;
        // the feedback is stored as the text it was given, parsed here.
        let found = self.conn()?.query(
            "SELECT interview_id, f #>> '{overall,duration_ms}', (f -> 'scores')::text
             FROM (SELECT interview_id, feedback::json AS f FROM results
                   WHERE interview_id = ANY($1)) r",
            &[&interview_ids],
        )?;
        let mut by_id: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
        for r in &found {
            by_id.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
        }
        let mut out = Vec::new();
        for id in interview_ids {
            let Some((duration, scores)) = by_id.get(id) else {
                continue;
            };
            let duration: i64 = match duration {
                None => 0,
                Some(d) => d
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("duration_ms {d:?}")))?,
            };
            let scores: Vec<serde_json::Value> = scores
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .unwrap_or_default();
            out.push(OutcomeRecord {
                interview_id: id.clone(),
                duration_ms: duration.max(0) as u64,
                scores: scores
                    .iter()
                    .filter_map(|s| {
                        Some((s["name"].as_str()?.to_owned(), s["value"].as_u64()? as u32))
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    fn delete_interview(&self, interview_id: &str) -> Result<Option<Erasure>, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Locked first: a session cannot start on it, and recorder batches
        // of its sessions either committed before (and are deleted here) or
        // wait and then find their session gone.
        if tx
            .query_opt(
                "SELECT id FROM interviews WHERE id = $1 FOR UPDATE",
                &[&interview_id],
            )?
            .is_none()
        {
            return Ok(None);
        }
        let sessions: Vec<String> = tx
            .query(
                "SELECT id FROM sessions WHERE interview_id = $1 ORDER BY id FOR UPDATE",
                &[&interview_id],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let audio_bytes: i64 = tx
            .query_one(
                "SELECT ((SELECT COALESCE(SUM(octet_length(frames)), 0) FROM candidate_audio
                         WHERE session_id = ANY($1))
                      + (SELECT COALESCE(SUM(octet_length(frames)), 0) FROM interviewer_audio
                         WHERE session_id = ANY($1)))::int8",
                &[&sessions],
            )?
            .try_get(0)?;
        // The tables keyed by session have no foreign key (they are written
        // on the recorder's hot path), so they are deleted by name; sessions
        // and results would cascade, but are named too.
        for table in SESSION_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE session_id = ANY($1)"),
                &[&sessions],
            )?;
        }
        tx.execute(
            "DELETE FROM results WHERE interview_id = $1",
            &[&interview_id],
        )?;
        let removed = tx.execute(
            "DELETE FROM sessions WHERE interview_id = $1",
            &[&interview_id],
        )?;
        tx.execute("DELETE FROM interviews WHERE id = $1", &[&interview_id])?;
        tx.commit()?;
        Ok(Some(Erasure {
            sessions: removed,
            audio_bytes: audio_bytes.max(0) as u64,
            // Committed: no query returns the rows again. But PostgreSQL
            // keeps deleted row versions in the table files until VACUUM
            // frees their space and later writes reuse it, and the WAL (and
            // any archive, replica or backup) holds what was written; none
            // of that is overwritten here.
            wiped: false,
        }))
    }
}
