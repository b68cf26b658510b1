//! [`Store`] on SQLite: one file `candor.db` in the data directory, WAL mode.
//!
//! Two connections: one serves the HTTP API and the session start path, the
//! other is used only by [`Store::record`] (the session recorder's batched
//! audio/transcript commits), so a burst of API reads never delays audio
//! acknowledgements behind a mutex. `std::sync::Mutex` is right here: it is
//! only ever taken on blocking threads, never across an `.await`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{
    AudioFormat, Claim, Erasure, FrameFlags, InterviewRecord, ListCursor, OutcomeRecord,
    RetryOfRecord, SegmentKind, SessionRecord, SessionWrite, Store, StoreError, StoredCodec,
    StoredFrame, Timeline, TranscriptRecord, UserRecord, frames,
};

/// Schema versions, applied in order; `PRAGMA user_version` holds how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT UNIQUE,
        display_name TEXT NOT NULL,
        password_hash TEXT,
        local_profile TEXT UNIQUE,
        created_at_ms INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE INDEX tokens_user ON tokens(user_id);
    CREATE TABLE interviews (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        seniority TEXT NOT NULL,
        job_description TEXT,
        cv_text TEXT,
        question_count INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE INDEX interviews_user_created ON interviews(user_id, created_at_ms DESC, id DESC);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        interview_id TEXT NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        engine TEXT NOT NULL,
        end_reason TEXT,
        started_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        duration_ms INTEGER,
        last_client_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_interview ON sessions(interview_id, started_at_ms);
    -- Candidate audio, one row per session per commit (a row per 20 ms
    -- frame would cost a B-tree insert per frame). `frames` packs each
    -- frame as seq (u64 LE), timestamp_us (u64 LE), length (u32 LE), bytes.
    CREATE TABLE candidate_audio (
        session_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        frames BLOB NOT NULL,
        PRIMARY KEY (session_id, first_seq)
    ) WITHOUT ROWID;
    CREATE TABLE transcripts (
        session_id TEXT NOT NULL,
        segment_id INTEGER NOT NULL,
        speaker TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        question_index INTEGER NOT NULL,
        interrupted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, segment_id)
    ) WITHOUT ROWID;
    CREATE TABLE speech_spans (
        session_id TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        PRIMARY KEY (session_id, start_ms)
    ) WITHOUT ROWID;
    CREATE TABLE results (
        interview_id TEXT PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        feedback TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    );
    "#,
    // 2: per-user quotas look sessions up by user.
    r#"
    CREATE INDEX sessions_user ON sessions(user_id);
    "#,
    // 3: the candidate audio's coding, so stored frames can be decoded and
    // exported (NULL for sessions recorded before).
    r#"
    ALTER TABLE sessions ADD COLUMN input_codec TEXT;
    ALTER TABLE sessions ADD COLUMN input_rate_hz INTEGER;
    ALTER TABLE sessions ADD COLUMN input_frame_ms INTEGER;
    "#,
    // 4: the interviewer's voice, as the session sent it, packed like the
    // candidate's (`timestamp_us` is when each chunk was due to play), and
    // its coding.
    r#"
    CREATE TABLE interviewer_audio (
        session_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        frames BLOB NOT NULL,
        PRIMARY KEY (session_id, first_seq)
    ) WITHOUT ROWID;
    ALTER TABLE sessions ADD COLUMN output_codec TEXT;
    ALTER TABLE sessions ADD COLUMN output_rate_hz INTEGER;
    ALTER TABLE sessions ADD COLUMN output_frame_ms INTEGER;
    "#,
    // 5: a retry of one question of an earlier interview: the first
    // interview's id (no foreign key: deleting it keeps its retries), the
    // question's index there and its text; NULL for other interviews.
    r#"
    ALTER TABLE interviews ADD COLUMN retry_of TEXT;
    ALTER TABLE interviews ADD COLUMN retry_question INTEGER;
    ALTER TABLE interviews ADD COLUMN retry_text TEXT;
    CREATE INDEX interviews_retry_of ON interviews(retry_of, created_at_ms, id)
        WHERE retry_of IS NOT NULL;
    "#,
    // 6: who runs a live session: the owning server instance and until
    // when its lease runs (NULL: held by no one — handed over, or stored
    // before sessions had owners).
    r#"
    ALTER TABLE sessions ADD COLUMN owner TEXT;
    ALTER TABLE sessions ADD COLUMN lease_until_ms INTEGER;
    "#,
    // 7: what a live session needs to continue on another instance (its
    // engine's state, clock and sequence numbers), saved at turn
    // boundaries and on hand-over.
    r#"
    ALTER TABLE sessions ADD COLUMN resume_state TEXT;
    "#,
];

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
    recorder: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn open_conn(path: &Path, cache_kib: u32) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // WAL: readers never block the writer. synchronous=FULL: a commit is on
    // disk when it returns, so acknowledged audio survives a power cut too.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Negative: a size in KiB rather than in pages.
    conn.pragma_update(None, "cache_size", -i64::from(cache_kib))?;
    // Deleted content is overwritten with zeros, not left in free pages:
    // a deleted interview's audio and words must not stay in the file.
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(conn)
}

impl SqliteStore {
    /// The page cache of each connection that [`SqliteStore::open`] gives:
    /// 32 MiB, for a server recording many sessions at once (WAL checkpoints
    /// under load re-read recent pages).
    pub const SERVER_CACHE_KIB: u32 = 32 * 1024;

    /// Opens (creating if needed) `candor.db` in `data_dir` and migrates it,
    /// with [`SqliteStore::SERVER_CACHE_KIB`] of page cache a connection.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(data_dir, Self::SERVER_CACHE_KIB)
    }

    /// [`SqliteStore::open`] with `cache_kib` KiB of page cache for each of
    /// the two connections. What the recorder writes stays in its cache
    /// until the cache is full (a 30-minute interview's audio is ~17 MiB of
    /// pages), so this bounds what recording adds to the process.
    pub fn open_with_cache(data_dir: &Path, cache_kib: u32) -> Result<Self, StoreError> {
        let path = data_dir.join("candor.db");
        // Owner-only: SQLite gives its WAL and shared-memory files the
        // database file's mode.
        crate::private_fs::create_dir(data_dir)
            .and_then(|()| crate::private_fs::touch(&path))
            .map_err(|source| StoreError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?;
        let mut conn = open_conn(&path, cache_kib)?;
        migrate(&mut conn)?;
        let recorder = open_conn(&path, cache_kib)?;
        Ok(Self {
            conn: Mutex::new(conn),
            recorder: Mutex::new(recorder),
        })
    }

    /// One side's audio frames of a session (`table`: `candidate_audio` or
    /// `interviewer_audio`), in seq order.
    fn frames(&self, table: &str, session_id: &str) -> Result<Vec<StoredFrame>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT frames FROM {table} WHERE session_id = ?1 ORDER BY first_seq"
        ))?;
        let blobs = stmt
            .query_map([session_id], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<StoredFrame> = Vec::new();
        for blob in blobs {
            frames::unpack_into(&mut out, &blob)?;
        }
        Ok(out)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable (SQLite
        // rolls back the open statement), so a poisoned lock is recovered.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        password_hash: r.get(3)?,
        local_profile: r.get(4)?,
        created_at_ms: r.get(5)?,
    })
}

const USER_COLS: &str = "id, email, display_name, password_hash, local_profile, created_at_ms";
const INTERVIEW_COLS: &str = "id, user_id, role, seniority, job_description, cv_text, question_count, status, created_at_ms, updated_at_ms, retry_of, retry_question, retry_text";
/// The tables keyed by session id alone (no foreign key: they are written
/// on the recorder's hot path).
const SESSION_TABLES: [&str; 4] = [
    "candidate_audio",
    "interviewer_audio",
    "transcripts",
    "speech_spans",
];

/// A session no instance holds as of `?3` (claims) — unowned, never
/// leased, or its lease ran out.
const UNHELD: &str = "(owner IS NULL OR lease_until_ms IS NULL OR lease_until_ms <= ?3)";
/// Held by no one since the first parameter: released or run out then.
const UNHELD_SINCE_1: &str = "(lease_until_ms IS NULL OR lease_until_ms <= ?1)";
const SESSION_COLS: &str = "id, interview_id, user_id, engine, end_reason, started_at_ms, ended_at_ms, duration_ms, last_client_seq, input_codec, input_rate_hz, input_frame_ms, output_codec, output_rate_hz, output_frame_ms, owner, lease_until_ms";

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {value:?}").into(),
    )
}

fn interview_from_row(r: &Row<'_>) -> rusqlite::Result<InterviewRecord> {
    let role: String = r.get(2)?;
    let seniority: String = r.get(3)?;
    let status: String = r.get(7)?;
    Ok(InterviewRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        seniority: Seniority::parse(&seniority).ok_or_else(|| corrupt("seniority", &seniority))?,
        job_description: r.get(4)?,
        cv_text: r.get(5)?,
        question_count: r.get(6)?,
        status: InterviewStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        created_at_ms: r.get(8)?,
        updated_at_ms: r.get(9)?,
        retry_of: retry_from_row(r, 10)?,
    })
}

/// A retry's link from its three columns (first interview, question index,
/// question text) starting at `at`; None when the first is NULL.
fn retry_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<RetryOfRecord>> {
    let Some(interview_id) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    let missing = || corrupt("retry of", &interview_id);
    Ok(Some(RetryOfRecord {
        question_index: r.get::<_, Option<u32>>(at + 1)?.ok_or_else(missing)?,
        question: r.get::<_, Option<String>>(at + 2)?.ok_or_else(missing)?,
        interview_id,
    }))
}

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.get(0)?,
        interview_id: r.get(1)?,
        user_id: r.get(2)?,
        engine: r.get(3)?,
        end_reason: r.get(4)?,
        started_at_ms: r.get(5)?,
        ended_at_ms: r.get(6)?,
        duration_ms: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        last_client_seq: r.get::<_, i64>(8)? as u64,
        input: format_from_row(r, 9)?,
        output: format_from_row(r, 12)?,
        owner: r.get(15)?,
        lease_until_ms: r.get(16)?,
    })
}

/// An audio format from its three columns (codec, rate, frame length)
/// starting at `at`; None when the codec is NULL.
fn format_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<AudioFormat>> {
    match r.get::<_, Option<String>>(at)? {
        None => Ok(None),
        Some(codec) => Ok(Some(AudioFormat {
            codec: StoredCodec::parse(&codec).ok_or_else(|| corrupt("codec", &codec))?,
            sample_rate_hz: r.get(at + 1)?,
            frame_ms: r.get(at + 2)?,
        })),
    }
}

fn speaker_str(s: Speaker) -> &'static str {
    match s {
        Speaker::Interviewer => "interviewer",
        Speaker::Candidate => "candidate",
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl Store for SqliteStore {
    fn create_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        let res = self.conn().execute(
            &format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![
                u.id,
                u.email,
                u.display_name,
                u.password_hash,
                u.local_profile,
                u.created_at_ms
            ],
        );
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("user")),
            Err(e) => Err(e.into()),
        }
    }

    fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE email = ?1"),
                [email],
                user_from_row,
            )
            .optional()?)
    }

    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id],
                user_from_row,
            )
            .optional()?)
    }

    fn local_user(&self, new: &UserRecord) -> Result<UserRecord, StoreError> {
        let conn = self.conn();
        conn.execute(
            &format!(
                "INSERT INTO users ({USER_COLS}) VALUES (?1, NULL, ?2, NULL, ?3, ?4)
                 ON CONFLICT(local_profile) DO NOTHING"
            ),
            params![
                new.id,
                new.display_name,
                new.local_profile,
                new.created_at_ms
            ],
        )?;
        Ok(conn.query_row(
            &format!("SELECT {USER_COLS} FROM users WHERE local_profile = ?1"),
            [&new.local_profile],
            user_from_row,
        )?)
    }

    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        created_at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        // Opportunistic clean-up keeps the table from growing without bound.
        conn.execute(
            "DELETE FROM tokens WHERE expires_at_ms <= ?1",
            [created_at_ms],
        )?;
        conn.execute(
            "INSERT INTO tokens (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, user_id, created_at_ms, expires_at_ms],
        )?;
        Ok(())
    }

    fn user_by_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT u.id, u.email, u.display_name, u.password_hash, u.local_profile, u.created_at_ms
                 FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = ?1 AND t.expires_at_ms > ?2",
                params![token_hash, now_ms],
                user_from_row,
            )
            .optional()?)
    }

    fn delete_token(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM tokens WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn create_interview(&self, i: &InterviewRecord) -> Result<(), StoreError> {
        self.conn().execute(
            &format!(
                "INSERT INTO interviews ({INTERVIEW_COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            params![
                i.id,
                i.user_id,
                i.role.as_str(),
                i.seniority.as_str(),
                i.job_description,
                i.cv_text,
                i.question_count,
                i.status.as_str(),
                i.created_at_ms,
                i.updated_at_ms,
                i.retry_of.as_ref().map(|r| &r.interview_id),
                i.retry_of.as_ref().map(|r| r.question_index),
                i.retry_of.as_ref().map(|r| &r.question)
            ],
        )?;
        Ok(())
    }

    fn interview(&self, id: &str) -> Result<Option<InterviewRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {INTERVIEW_COLS} FROM interviews WHERE id = ?1"),
                [id],
                interview_from_row,
            )
            .optional()?)
    }

    fn list_interviews(
        &self,
        user_id: &str,
        before: Option<&ListCursor>,
        limit: u32,
    ) -> Result<Vec<InterviewRecord>, StoreError> {
        let conn = self.conn();
        let rows = match before {
            Some(c) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {INTERVIEW_COLS} FROM interviews
                     WHERE user_id = ?1 AND (created_at_ms, id) < (?2, ?3)
                     ORDER BY created_at_ms DESC, id DESC LIMIT ?4"
                ))?;
                stmt.query_map(
                    params![user_id, c.created_at_ms, c.id, limit],
                    interview_from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?
            }
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {INTERVIEW_COLS} FROM interviews WHERE user_id = ?1
                     ORDER BY created_at_ms DESC, id DESC LIMIT ?2"
                ))?;
                stmt.query_map(params![user_id, limit], interview_from_row)?
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        Ok(rows)
    }

    fn set_interview_status(
        &self,
        id: &str,
        status: InterviewStatus,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE interviews SET status = ?2, updated_at_ms = ?3 WHERE id = ?1",
            params![id, status.as_str(), now_ms],
        )?;
        Ok(())
    }

    fn retries_of(
        &self,
        user_id: &str,
        first_id: &str,
        limit: u32,
    ) -> Result<Vec<InterviewRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {INTERVIEW_COLS} FROM interviews
             WHERE retry_of = ?1 AND user_id = ?2
             ORDER BY created_at_ms, id LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(params![first_id, user_id, limit], interview_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            &format!("INSERT INTO sessions ({SESSION_COLS}) VALUES (?1, ?2, ?3, ?4, NULL, ?5, NULL, NULL, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                s.id,
                s.interview_id,
                s.user_id,
                s.engine,
                s.started_at_ms,
                s.input.map(|i| i.codec.as_str()),
                s.input.map(|i| i.sample_rate_hz),
                s.input.map(|i| i.frame_ms),
                s.output.map(|o| o.codec.as_str()),
                s.output.map(|o| o.sample_rate_hz),
                s.output.map(|o| o.frame_ms),
                s.owner,
                s.lease_until_ms
            ],
        )?;
        tx.execute(
            "UPDATE interviews SET status = 'in_progress', updated_at_ms = ?2 WHERE id = ?1",
            params![s.interview_id, s.started_at_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE id = ?1"),
                [id],
                session_from_row,
            )
            .optional()?)
    }

    fn end_session(
        &self,
        id: &str,
        reason: &str,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE sessions SET end_reason = ?2, ended_at_ms = ?3, duration_ms = ?4
             WHERE id = ?1 AND end_reason IS NULL",
            params![id, reason, ended_at_ms, duration_ms as i64],
        )?;
        if n > 0 {
            tx.execute(
                "UPDATE interviews SET status = 'processing', updated_at_ms = ?2
                 WHERE id = (SELECT interview_id FROM sessions WHERE id = ?1)",
                params![id, ended_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn unfinished_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE end_reason IS NULL"
        ))?;
        let rows = stmt
            .query_map([], session_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn claim_session(
        &self,
        id: &str,
        instance: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Claim, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            &format!(
                "UPDATE sessions SET owner = ?2, lease_until_ms = ?4
                 WHERE id = ?1 AND end_reason IS NULL AND (owner = ?2 OR {UNHELD})"
            ),
            params![id, instance, now_ms, until_ms],
        )?;
        let claim = if n > 0 {
            Claim::Claimed
        } else {
            let held = tx
                .query_row(
                    "SELECT owner, lease_until_ms FROM sessions
                     WHERE id = ?1 AND end_reason IS NULL",
                    [id],
                    |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<i64>>(1)?)),
                )
                .optional()?;
            match held {
                Some((Some(owner), Some(until_ms))) => Claim::Held { owner, until_ms },
                // Unheld rows were claimed above: only an ended or unknown
                // session gets here.
                _ => Claim::Gone,
            }
        };
        tx.commit()?;
        Ok(claim)
    }

    fn renew_leases(
        &self,
        instance: &str,
        ids: &[String],
        until_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut lost = Vec::new();
        {
            let mut stmt =
                tx.prepare("UPDATE sessions SET lease_until_ms = ?3 WHERE id = ?1 AND owner = ?2")?;
            for id in ids {
                if stmt.execute(params![id, instance, until_ms])? == 0 {
                    lost.push(id.clone());
                }
            }
        }
        tx.commit()?;
        Ok(lost)
    }

    fn release_session(&self, id: &str, instance: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE sessions SET owner = NULL, lease_until_ms = ?3
             WHERE id = ?1 AND owner = ?2 AND end_reason IS NULL",
            params![id, instance, now_ms],
        )?;
        Ok(n > 0)
    }

    fn resume_state(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT resume_state FROM sessions WHERE id = ?1",
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    fn unheld_sessions(&self, since_ms: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE end_reason IS NULL AND {UNHELD_SINCE_1}"
        ))?;
        let rows = stmt
            .query_map(params![since_ms], session_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn end_unheld_session(
        &self,
        id: &str,
        reason: &str,
        since_ms: i64,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE sessions SET end_reason = ?2, ended_at_ms = ?4, duration_ms = ?5
             WHERE id = ?1 AND end_reason IS NULL
               AND (lease_until_ms IS NULL OR lease_until_ms <= ?3)",
            params![id, reason, since_ms, ended_at_ms, duration_ms as i64],
        )?;
        if n > 0 {
            tx.execute(
                "UPDATE interviews SET status = 'processing', updated_at_ms = ?2
                 WHERE id = (SELECT interview_id FROM sessions WHERE id = ?1)",
                params![id, ended_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn interviews_processing(&self) -> Result<Vec<InterviewRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {INTERVIEW_COLS} FROM interviews WHERE status = 'processing'"
        ))?;
        let rows = stmt
            .query_map([], interview_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn latest_session(&self, interview_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE interview_id = ?1
                     ORDER BY started_at_ms DESC, rowid DESC LIMIT 1"
                ),
                [interview_id],
                session_from_row,
            )
            .optional()?)
    }

    fn record(&self, writes: &[SessionWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut conn = self.recorder.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        // Per session and side: (first seq, last seq, packed frames).
        let mut audio_rows: HashMap<&str, (u64, u64, Vec<u8>)> = HashMap::new();
        let mut interviewer_rows: HashMap<&str, (u64, u64, Vec<u8>)> = HashMap::new();
        {
            let mut audio = tx.prepare_cached(
                "INSERT OR IGNORE INTO candidate_audio (session_id, first_seq, last_seq, frames) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut interviewer = tx.prepare_cached(
                "INSERT OR IGNORE INTO interviewer_audio (session_id, first_seq, last_seq, frames) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut transcript = tx.prepare_cached(
                "INSERT OR REPLACE INTO transcripts (session_id, segment_id, speaker, kind, text, start_ms, end_ms, question_index, interrupted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut speech = tx.prepare_cached(
                "INSERT OR REPLACE INTO speech_spans (session_id, start_ms, end_ms) VALUES (?1, ?2, ?3)",
            )?;
            let mut resume = tx.prepare_cached(
                "UPDATE sessions SET resume_state = ?3 WHERE id = ?1 AND owner = ?2",
            )?;
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
                            SessionWrite::Audio { flags, .. } => (&mut audio_rows, *flags),
                            _ => (&mut interviewer_rows, FrameFlags::VOICE),
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
                        segment: s,
                    } => {
                        transcript.execute(params![
                            session_id.as_ref(),
                            s.segment_id as i64,
                            speaker_str(s.speaker),
                            s.kind.as_str(),
                            s.text,
                            s.start_ms as i64,
                            s.end_ms as i64,
                            s.question_index,
                            s.interrupted
                        ])?;
                    }
                    SessionWrite::Speech {
                        session_id,
                        start_ms,
                        end_ms,
                    } => {
                        speech.execute(params![
                            session_id.as_ref(),
                            *start_ms as i64,
                            *end_ms as i64
                        ])?;
                    }
                    SessionWrite::Resume {
                        session_id,
                        owner,
                        state,
                    } => {
                        resume.execute(params![session_id.as_ref(), owner.as_ref(), state])?;
                    }
                }
            }
            let mut seq = tx.prepare_cached(
                "UPDATE sessions SET last_client_seq = MAX(last_client_seq, ?2) WHERE id = ?1",
            )?;
            for (id, (first, last, frames)) in &audio_rows {
                audio.execute(params![id, *first as i64, *last as i64, frames])?;
                seq.execute(params![id, *last as i64])?;
            }
            for (id, (first, last, frames)) in &interviewer_rows {
                interviewer.execute(params![id, *first as i64, *last as i64, frames])?;
            }
            // A session deleted with its interview while its last writes
            // were queued (the delete refuses live sessions, but a session
            // may start between that check and the delete) keeps nothing.
            let mut exists =
                tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM sessions WHERE id = ?1)")?;
            let mut ids: Vec<&str> = writes.iter().map(SessionWrite::session_id).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if !exists.query_row([id], |r| r.get::<_, bool>(0))? {
                    for table in SESSION_TABLES {
                        tx.execute(&format!("DELETE FROM {table} WHERE session_id = ?1"), [id])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn timeline(&self, session_id: &str) -> Result<Option<Timeline>, StoreError> {
        let Some(session) = self.session(session_id)? else {
            return Ok(None);
        };
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT segment_id, speaker, kind, text, start_ms, end_ms, question_index, interrupted
             FROM transcripts WHERE session_id = ?1 ORDER BY segment_id",
        )?;
        let transcript = stmt
            .query_map([session_id], |r| {
                let speaker: String = r.get(1)?;
                let kind: String = r.get(2)?;
                Ok(TranscriptRecord {
                    segment_id: r.get::<_, i64>(0)? as u64,
                    speaker: match speaker.as_str() {
                        "interviewer" => Speaker::Interviewer,
                        "candidate" => Speaker::Candidate,
                        other => return Err(corrupt("speaker", other)),
                    },
                    kind: SegmentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                    text: r.get(3)?,
                    start_ms: r.get::<_, i64>(4)? as u64,
                    end_ms: r.get::<_, i64>(5)? as u64,
                    question_index: r.get(6)?,
                    interrupted: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT start_ms, end_ms FROM speech_spans WHERE session_id = ?1 ORDER BY start_ms",
        )?;
        let speech = stmt
            .query_map([session_id], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Timeline {
            session,
            transcript,
            speech,
        }))
    }

    fn user_audio_bytes(&self, user_id: &str) -> Result<u64, StoreError> {
        let bytes: i64 = self.conn().query_row(
            "SELECT COALESCE(SUM(length(a.frames)), 0) FROM sessions s \
             JOIN candidate_audio a ON a.session_id = s.id WHERE s.user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        Ok(bytes.max(0) as u64)
    }

    fn count_interviews(&self, user_id: &str) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM interviews WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
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

    fn save_results(
        &self,
        interview_id: &str,
        session_id: &str,
        feedback_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO results (interview_id, session_id, feedback, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![interview_id, session_id, feedback_json, now_ms],
        )?;
        tx.execute(
            "UPDATE interviews SET status = 'ready', updated_at_ms = ?2 WHERE id = ?1",
            params![interview_id, now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn results(&self, interview_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT feedback FROM results WHERE interview_id = ?1",
                [interview_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn results_of(&self, interview_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT feedback FROM results WHERE interview_id = ?1")?;
        let mut out = Vec::new();
        for id in interview_ids {
            if let Some(feedback) = stmt.query_row([id], |r| r.get(0)).optional()? {
                out.push((id.clone(), feedback));
            }
        }
        Ok(out)
    }

    fn outcomes(&self, interview_ids: &[String]) -> Result<Vec<OutcomeRecord>, StoreError> {
        let conn = self.conn();
        // Only the two parts of the feedback needed, not its transcript.
        let mut stmt = conn.prepare_cached(
            "SELECT json_extract(feedback, '$.overall.duration_ms'), json_extract(feedback, '$.scores')
             FROM results WHERE interview_id = ?1",
        )?;
        let mut out = Vec::new();
        for id in interview_ids {
            let row = stmt
                .query_row([id], |r| {
                    Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .optional()?;
            let Some((duration, scores)) = row else {
                continue;
            };
            let scores: Vec<serde_json::Value> = scores
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .unwrap_or_default();
            out.push(OutcomeRecord {
                interview_id: id.clone(),
                duration_ms: duration.unwrap_or(0).max(0) as u64,
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM interviews WHERE id = ?1)",
            [interview_id],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(None);
        }
        let mut audio_bytes: i64 = 0;
        for table in ["candidate_audio", "interviewer_audio"] {
            audio_bytes += tx.query_row(
                &format!(
                    "SELECT COALESCE(SUM(length(a.frames)), 0) FROM sessions s
                     JOIN {table} a ON a.session_id = s.id WHERE s.interview_id = ?1"
                ),
                [interview_id],
                |r| r.get::<_, i64>(0),
            )?;
        }
        // The tables keyed by session have no foreign key (they are written
        // on the recorder's hot path), so they are deleted by name; sessions
        // and results would cascade, but are named too so that nothing
        // depends on `foreign_keys` being on.
        for table in SESSION_TABLES {
            tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE session_id IN
                     (SELECT id FROM sessions WHERE interview_id = ?1)"
                ),
                [interview_id],
            )?;
        }
        tx.execute(
            "DELETE FROM results WHERE interview_id = ?1",
            [interview_id],
        )?;
        let sessions = tx.execute(
            "DELETE FROM sessions WHERE interview_id = ?1",
            [interview_id],
        )?;
        tx.execute("DELETE FROM interviews WHERE id = ?1", [interview_id])?;
        tx.commit()?;
        // With `secure_delete` the new versions of the pages hold zeros where
        // the content was; the old versions are still in the database file
        // (and, if not yet checkpointed, in the WAL as first written). A
        // truncating checkpoint copies the zeroed pages over the file and
        // empties the WAL. It cannot finish while another connection reads an
        // older snapshot; the next checkpoint then completes it.
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(Some(Erasure {
            sessions: sessions as u64,
            audio_bytes: audio_bytes.max(0) as u64,
            wiped: busy == 0,
        }))
    }
}

/// What only SQLite can be asked: whether deleted bytes are left in its
/// files and tables. The behaviour both backends share is checked by the
/// conformance suite (`tests/store_conformance.rs`).
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn user(id: &str, email: &str) -> UserRecord {
        UserRecord {
            id: id.into(),
            email: Some(email.into()),
            display_name: id.into(),
            password_hash: Some("x".into()),
            local_profile: None,
            created_at_ms: 1,
        }
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

    fn session_record(id: &str, interview: &str) -> SessionRecord {
        SessionRecord {
            id: id.into(),
            interview_id: interview.into(),
            user_id: "u1".into(),
            engine: "practice".into(),
            end_reason: None,
            started_at_ms: 5,
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
        }
    }

    /// An interview with everything a session stores, each piece carrying
    /// `marker` so its bytes can be looked for in the file.
    fn record_interview(store: &SqliteStore, interview_id: &str, session_id: &str, marker: &str) {
        let mut i = interview(interview_id, "u1", 1);
        i.job_description = Some(format!("job {marker}"));
        store.create_interview(&i).unwrap();
        store
            .create_session(&session_record(session_id, interview_id))
            .unwrap();
        let sid: Arc<str> = Arc::from(session_id);
        let mut writes: Vec<_> = (1..=200u64)
            .map(|seq| SessionWrite::Audio {
                session_id: sid.clone(),
                seq,
                timestamp_us: seq * 20_000,
                flags: FrameFlags::VOICE,
                data: bytes::Bytes::from(format!("{marker}-frame-{seq:04}").into_bytes()),
            })
            .collect();
        writes.extend((1..=50u64).map(|seq| SessionWrite::InterviewerAudio {
            session_id: sid.clone(),
            seq,
            due_us: seq * 20_000,
            data: bytes::Bytes::from(format!("{marker}-voice-{seq:04}").into_bytes()),
        }));
        writes.push(SessionWrite::Transcript {
            session_id: sid.clone(),
            segment: TranscriptRecord {
                segment_id: 1,
                speaker: Speaker::Candidate,
                kind: SegmentKind::Answer,
                text: format!("words {marker}"),
                start_ms: 0,
                end_ms: 900,
                question_index: 1,
                interrupted: false,
            },
        });
        writes.push(SessionWrite::Speech {
            session_id: sid,
            start_ms: 10,
            end_ms: 900,
        });
        store.record(&writes).unwrap();
        store
            .end_session(session_id, "user_initiated", 9, 4_000)
            .unwrap();
        store
            .save_results(
                interview_id,
                session_id,
                &format!("{{\"m\":\"{marker}\"}}"),
                10,
            )
            .unwrap();
    }

    /// Rows in any table, any column, equal to `value`.
    fn rows_naming(store: &SqliteStore, value: &str) -> Vec<String> {
        let conn = store.conn();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut found = Vec::new();
        for table in tables {
            let columns: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for column in columns {
                let n: i64 = conn
                    .query_row(
                        &format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = ?1"),
                        [value],
                        |r| r.get(0),
                    )
                    .unwrap();
                if n > 0 {
                    found.push(format!("{table}.{column}"));
                }
            }
        }
        found
    }

    /// Whether `needle` occurs in the database file or its WAL.
    fn on_disk(dir: &std::path::Path, needle: &str) -> bool {
        ["candor.db", "candor.db-wal"].iter().any(|name| {
            std::fs::read(dir.join(name))
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
    }

    #[test]
    fn deleting_an_interview_leaves_no_row_and_no_bytes_of_it_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.create_user(&user("u1", "a@x.org")).unwrap();
        record_interview(&store, "i1", "s1", "GONE-7f3a");
        record_interview(&store, "i2", "s2", "KEPT-19c4");
        for marker in ["GONE-7f3a-frame-0137", "words GONE-7f3a", "job GONE-7f3a"] {
            assert!(on_disk(dir.path(), marker), "{marker} is on disk before");
        }

        let erasure = store.delete_interview("i1").unwrap().expect("it existed");
        assert_eq!(erasure.sessions, 1);
        assert!(erasure.audio_bytes >= 200 * 20, "{erasure:?}");
        assert!(
            erasure.wiped,
            "nothing else was reading: the WAL is emptied"
        );

        assert_eq!(rows_naming(&store, "i1"), Vec::<String>::new());
        assert_eq!(rows_naming(&store, "s1"), Vec::<String>::new());
        assert!(store.candidate_audio("s1").unwrap().is_empty());
        assert!(store.timeline("s1").unwrap().is_none());
        assert!(store.results("i1").unwrap().is_none());
        assert!(
            !on_disk(dir.path(), "GONE-7f3a"),
            "no byte of the deleted interview's audio, words or set-up is left in the files"
        );

        // The other interview is untouched.
        assert_eq!(store.candidate_audio("s2").unwrap().len(), 200);
        assert!(store.results("i2").unwrap().is_some());
        assert!(on_disk(dir.path(), "KEPT-19c4-frame-0137"));
        assert_eq!(store.user_audio_bytes("u1").unwrap(), {
            let n: u64 = (1..=200u64)
                .map(|seq| 20 + format!("KEPT-19c4-frame-{seq:04}").len() as u64)
                .sum();
            n
        });

        assert_eq!(store.delete_interview("i1").unwrap(), None, "gone already");
    }

    #[test]
    fn interviews_stored_before_retries_read_as_no_retry() {
        let dir = tempfile::tempdir().unwrap();
        {
            // A database of the schema before retries, with an interview.
            let conn =
                open_conn(&dir.path().join("candor.db"), SqliteStore::SERVER_CACHE_KIB).unwrap();
            for sql in &MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            conn.execute_batch(
                "INSERT INTO users (id, display_name, created_at_ms) VALUES ('u1', 'u1', 1);
                 INSERT INTO interviews (id, user_id, role, seniority, question_count, status,
                     created_at_ms, updated_at_ms)
                 VALUES ('i1', 'u1', 'software_engineer', 'mid', 3, 'ready', 1, 1);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let old = store.interview("i1").unwrap().unwrap();
        assert_eq!(
            old,
            InterviewRecord {
                status: InterviewStatus::Ready,
                ..interview("i1", "u1", 1)
            }
        );
        let mut retry = interview("r1", "u1", 2);
        retry.retry_of = Some(RetryOfRecord {
            interview_id: "i1".into(),
            question_index: 2,
            question: "Why?".into(),
        });
        store.create_interview(&retry).unwrap();
        assert_eq!(store.retries_of("u1", "i1", 10).unwrap(), [retry]);
    }

    #[test]
    fn writes_of_a_deleted_session_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.create_user(&user("u1", "a@x.org")).unwrap();
        record_interview(&store, "i1", "s1", "LATE-5e1d");
        store.delete_interview("i1").unwrap().unwrap();
        // The recorder's last batch for it arrives after the delete.
        let sid: Arc<str> = Arc::from("s1");
        store
            .record(&[
                SessionWrite::Audio {
                    session_id: sid.clone(),
                    seq: 201,
                    timestamp_us: 4_020_000,
                    flags: FrameFlags::VOICE,
                    data: bytes::Bytes::from_static(b"LATE-5e1d-frame-0201"),
                },
                SessionWrite::Speech {
                    session_id: sid,
                    start_ms: 4_000,
                    end_ms: 4_020,
                },
            ])
            .unwrap();
        assert_eq!(rows_naming(&store, "s1"), Vec::<String>::new());
    }

    /// The memory `conn`'s page cache holds now (`SQLITE_DBSTATUS_CACHE_USED`).
    #[allow(unsafe_code)]
    fn cache_used(conn: &Connection) -> usize {
        let (mut now, mut highest) = (0, 0);
        // SAFETY: the handle is a live connection's, borrowed for the call;
        // SQLite only writes the two integers it is given.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
                &mut now,
                &mut highest,
                0,
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        usize::try_from(now).unwrap_or(0)
    }

    /// Records a 30-minute interview as the recorder does (a batch a second
    /// here, with a frame of each side every 20 ms) and returns what the
    /// recorder's page cache holds at its end.
    fn cached_after_a_long_interview(store: &SqliteStore) -> usize {
        store.create_user(&user("u1", "a@x.org")).unwrap();
        store.create_interview(&interview("i1", "u1", 1)).unwrap();
        store.create_session(&session_record("s1", "i1")).unwrap();
        let sid: Arc<str> = Arc::from("s1");
        for second in 0..1800u64 {
            let writes: Vec<_> = (second * 50 + 1..=second * 50 + 50)
                .flat_map(|seq| {
                    [
                        SessionWrite::Audio {
                            session_id: sid.clone(),
                            seq,
                            timestamp_us: seq * 20_000,
                            flags: FrameFlags::VOICE,
                            data: bytes::Bytes::from(vec![seq as u8; 50]),
                        },
                        SessionWrite::InterviewerAudio {
                            session_id: sid.clone(),
                            seq,
                            due_us: seq * 20_000,
                            data: bytes::Bytes::from(vec![seq as u8; 60]),
                        },
                    ]
                })
                .collect();
            store.record(&writes).unwrap();
        }
        cache_used(&store.recorder.lock().unwrap())
    }

    #[test]
    fn a_long_interview_keeps_no_more_pages_than_the_cache_it_was_given() {
        const MIB: usize = 1024 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with_cache(dir.path(), 2 * 1024).unwrap();
        let compact = cached_after_a_long_interview(&store);
        // SQLite counts each page's own header in what it holds (~7 %).
        assert!(compact <= 2 * MIB + MIB / 4, "{compact} bytes cached");

        // The server's cache keeps what was written, up to its size.
        let dir = tempfile::tempdir().unwrap();
        let server = cached_after_a_long_interview(&SqliteStore::open(dir.path()).unwrap());
        assert!(server > 8 * MIB, "{server} bytes cached");
    }
}
