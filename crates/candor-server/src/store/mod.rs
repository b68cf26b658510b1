//! Storage: the [`Store`] trait and its two implementations, SQLite (the
//! embedded and one-machine default, [`SqliteStore`]) and PostgreSQL (the
//! shared store of a hosted backend on several machines, [`PostgresStore`]).
//!
//! The trait is synchronous and object-safe: every call is blocking work that
//! callers run off the async runtime ([`Db::run`] uses `spawn_blocking`; the
//! session recorder has a thread of its own). Both implementations pass one
//! conformance suite (`tests/store_conformance.rs`). Architecture invariant:
//! nothing outside this module knows SQL.

mod frames;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

use std::sync::Arc;

use bytes::Bytes;
use candor_api::{InterviewStatus, Role, Seniority, Speaker};
use thiserror::Error;

#[cfg(feature = "postgres")]
pub use self::postgres::{PostgresError, PostgresStore};
pub use sqlite::SqliteStore;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] PostgresError),
    /// A PostgreSQL store was asked of a build without the `postgres` feature.
    #[cfg(not(feature = "postgres"))]
    #[error(
        "this build has no PostgreSQL store (candor-server's `postgres` feature); without a database URL the server keeps SQLite in its data directory"
    )]
    NoPostgres,
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Join(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    /// None for a local profile.
    pub email: Option<String>,
    pub display_name: String,
    /// Argon2 PHC string; None for a local profile.
    pub password_hash: Option<String>,
    /// Set for a local (password-less) profile.
    pub local_profile: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterviewRecord {
    pub id: String,
    pub user_id: String,
    pub role: Role,
    pub seniority: Seniority,
    pub job_description: Option<String>,
    pub cv_text: Option<String>,
    pub question_count: u32,
    pub status: InterviewStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Set when the interview answers one question of an earlier one again.
    pub retry_of: Option<RetryOfRecord>,
}

/// What a retry answers again: one question of the first interview that
/// asked it. A retry of a retry names the same first interview, so every
/// attempt at a question points at one original. Not a foreign key: the
/// first interview may be deleted, and its retries stay (they are
/// interviews of their own) still naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOfRecord {
    /// The first interview that asked the question.
    pub interview_id: String,
    /// 1-based index of the question there.
    pub question_index: u32,
    /// The question, as it was asked there.
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub interview_id: String,
    pub user_id: String,
    pub engine: String,
    /// None while the session is live.
    pub end_reason: Option<String>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// Session clock (ms) when it ended: the length of the conversation.
    pub duration_ms: Option<u64>,
    /// Highest candidate audio seq durably stored.
    pub last_client_seq: u64,
    /// How the candidate's audio is coded. None for sessions stored before
    /// the format was recorded (Candor's clients always sent Opus at 16 kHz).
    pub input: Option<AudioFormat>,
    /// How the interviewer's audio is coded (what the session sent). None
    /// for sessions stored before the interviewer's voice was recorded.
    pub output: Option<AudioFormat>,
    /// The server instance running the session (see [`Store::claim_session`]);
    /// None when no instance holds it: handed over, or stored before
    /// sessions had owners.
    pub owner: Option<String>,
    /// Until when (ms since the epoch) the owner's lease runs. A session
    /// whose lease ran out is held by no one: its owner stopped renewing
    /// (it crashed, or lost the store).
    pub lease_until_ms: Option<i64>,
}

/// The answer to [`Store::claim_session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The claimant holds the session now, until the lease it asked for.
    Claimed,
    /// Another instance holds a lease that has not run out.
    Held { owner: String, until_ms: i64 },
    /// The session has ended, or never existed.
    Gone,
}

/// How one side's audio is coded: the candidate's as the session's
/// `StartRequest` set it, the interviewer's as its `StartResponse` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    pub codec: StoredCodec,
    pub sample_rate_hz: u32,
    pub frame_ms: u32,
}

/// The codec of stored audio frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredCodec {
    /// One Opus packet per frame.
    Opus,
    /// Little-endian signed 16-bit mono PCM.
    Pcm16,
}

impl StoredCodec {
    pub fn as_str(self) -> &'static str {
        match self {
            StoredCodec::Opus => "opus",
            StoredCodec::Pcm16 => "pcm16",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [StoredCodec::Opus, StoredCodec::Pcm16]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// What kind of turn a transcript segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SegmentKind {
    Greeting,
    Question,
    FollowUp,
    Remark,
    Closing,
    Answer,
}

impl SegmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Greeting => "greeting",
            SegmentKind::Question => "question",
            SegmentKind::FollowUp => "follow_up",
            SegmentKind::Remark => "remark",
            SegmentKind::Closing => "closing",
            SegmentKind::Answer => "answer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SegmentKind::Greeting,
            SegmentKind::Question,
            SegmentKind::FollowUp,
            SegmentKind::Remark,
            SegmentKind::Closing,
            SegmentKind::Answer,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A final transcript segment (partials are never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptRecord {
    pub segment_id: u64,
    pub speaker: Speaker,
    pub kind: SegmentKind,
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub question_index: u32,
    /// True when the candidate cut this interviewer segment short.
    pub interrupted: bool,
}

/// What a live session records while it runs. The recorder thread batches
/// these into one transaction per commit interval.
#[derive(Debug, Clone)]
pub enum SessionWrite {
    /// One candidate audio chunk, in seq order.
    Audio {
        session_id: Arc<str>,
        seq: u64,
        timestamp_us: u64,
        flags: FrameFlags,
        data: Bytes,
    },
    Transcript {
        session_id: Arc<str>,
        segment: TranscriptRecord,
    },
    /// One interviewer audio chunk as the session sent it, in seq order,
    /// with the session time it was due to play.
    InterviewerAudio {
        session_id: Arc<str>,
        seq: u64,
        due_us: u64,
        data: Bytes,
    },
    /// A stretch of candidate speech found by voice activity detection.
    Speech {
        session_id: Arc<str>,
        start_ms: u64,
        end_ms: u64,
    },
    /// What the session needs to continue on another instance, as of the
    /// writes queued before it: kept only while `owner` holds the session
    /// (the batch's last one wins). Read back with [`Store::resume_state`].
    Resume {
        session_id: Arc<str>,
        owner: Arc<str>,
        state: String,
    },
}

/// One stored audio chunk (the candidate's or the interviewer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFrame {
    pub seq: u64,
    /// The candidate's: the client's capture stamp (µs since the session
    /// started; 0 if unstamped). The interviewer's: when it was due to play
    /// (µs on the session clock).
    pub timestamp_us: u64,
    /// What the client said of it (the interviewer's: [`FrameFlags::VOICE`]).
    pub flags: FrameFlags,
    pub data: Vec<u8>,
}

/// What the client said of a candidate chunk, stored with it so a session
/// continued elsewhere hears it as it was heard first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFlags {
    /// `AudioChunk.voice_activity`: the client's near-end speech verdict
    /// (false over echo its canceller only suppressed).
    pub voice_activity: bool,
    /// `AudioChunk.muted`: silence from a muted microphone.
    pub muted: bool,
}

impl FrameFlags {
    /// Voice possible, not muted: what a chunk says without flags.
    pub const VOICE: Self = Self {
        voice_activity: true,
        muted: false,
    };
}

impl SessionWrite {
    /// The session the write belongs to.
    pub fn session_id(&self) -> &str {
        match self {
            SessionWrite::Audio { session_id, .. }
            | SessionWrite::InterviewerAudio { session_id, .. }
            | SessionWrite::Transcript { session_id, .. }
            | SessionWrite::Speech { session_id, .. }
            | SessionWrite::Resume { session_id, .. } => session_id,
        }
    }
}

/// Everything results processing reads about one session.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub session: SessionRecord,
    pub transcript: Vec<TranscriptRecord>,
    /// Candidate speech spans, ordered by start.
    pub speech: Vec<(u64, u64)>,
}

/// A page position in the newest-first interview list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub created_at_ms: i64,
    pub id: String,
}

/// Storage behind the server. Blocking; see the module docs.
pub trait Store: Send + Sync + 'static {
    // Users and tokens.
    fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// The local profile's user, created (from `new`) if it does not exist.
    fn local_user(&self, new: &UserRecord) -> Result<UserRecord, StoreError>;
    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        created_at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// The user of an unexpired token.
    fn user_by_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<UserRecord>, StoreError>;
    fn delete_token(&self, token_hash: &str) -> Result<(), StoreError>;

    // Interviews.
    fn create_interview(&self, interview: &InterviewRecord) -> Result<(), StoreError>;
    fn interview(&self, id: &str) -> Result<Option<InterviewRecord>, StoreError>;
    /// Newest first, strictly older than `before` when given.
    fn list_interviews(
        &self,
        user_id: &str,
        before: Option<&ListCursor>,
        limit: u32,
    ) -> Result<Vec<InterviewRecord>, StoreError>;
    fn set_interview_status(
        &self,
        id: &str,
        status: InterviewStatus,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The user's retries of interview `first_id` (those whose `retry_of`
    /// names it, whatever their status), oldest first (by creation time,
    /// then id), at most `limit`. The first interview need not exist any
    /// more.
    fn retries_of(
        &self,
        user_id: &str,
        first_id: &str,
        limit: u32,
    ) -> Result<Vec<InterviewRecord>, StoreError>;

    // Sessions.
    /// Records a new live session and marks its interview in progress.
    fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Marks the session ended and its interview `processing`.
    fn end_session(
        &self,
        id: &str,
        reason: &str,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> Result<(), StoreError>;
    /// Sessions that never ended (live ones, handed-over ones and those a
    /// server left when it stopped without closing them).
    fn unfinished_sessions(&self) -> Result<Vec<SessionRecord>, StoreError>;

    // Session ownership: one instance at a time runs a live session. Each
    // check-and-write below is one atomic statement (or transaction), so two
    // instances racing for a session never both win.
    /// Takes session `id` for `instance` with a lease until `until_ms`, if
    /// no one else holds it at `now_ms`: it is unowned (handed over), its
    /// lease ran out before `now_ms`, or `instance` holds it already.
    fn claim_session(
        &self,
        id: &str,
        instance: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Claim, StoreError>;
    /// Extends the leases `instance` holds on `ids` to `until_ms`. Returns
    /// those of `ids` it no longer holds (another instance claimed them
    /// after the lease ran out, or they are gone): their sessions must stop
    /// running here. A session that ended here is still held (its task
    /// may still be finishing).
    fn renew_leases(
        &self,
        instance: &str,
        ids: &[String],
        until_ms: i64,
    ) -> Result<Vec<String>, StoreError>;
    /// Lets go of session `id` if `instance` holds it (a hand-over): it
    /// stays unfinished, held by no one, claimable at once; its lease end
    /// becomes `now_ms`, when it was let go. False if `instance` did not
    /// hold it.
    fn release_session(&self, id: &str, instance: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// The last state a session saved to continue elsewhere
    /// ([`SessionWrite::Resume`]), if any.
    fn resume_state(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// Unfinished sessions no instance has held since `since_ms` or
    /// earlier: released then, or their lease ran out then (or they never
    /// had one).
    fn unheld_sessions(&self, since_ms: i64) -> Result<Vec<SessionRecord>, StoreError>;
    /// Ends session `id` at `ended_at_ms` as [`end_session`](Store::end_session)
    /// does, but only if no instance has held it since `since_ms` (a
    /// session another instance claimed meanwhile is left alone). True if
    /// this call ended it: the caller then computes its results.
    fn end_unheld_session(
        &self,
        id: &str,
        reason: &str,
        since_ms: i64,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> Result<bool, StoreError>;
    /// Interviews in `processing` (results to compute).
    fn interviews_processing(&self) -> Result<Vec<InterviewRecord>, StoreError>;
    /// The latest session of an interview.
    fn latest_session(&self, interview_id: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Applies a batch of session writes in one transaction, so a crash keeps
    /// all or none of it. Also raises each session's stored `last_client_seq`.
    fn record(&self, writes: &[SessionWrite]) -> Result<(), StoreError>;
    fn timeline(&self, session_id: &str) -> Result<Option<Timeline>, StoreError>;
    /// Candidate audio chunks of a session in seq order: (seq, data).
    fn candidate_audio(&self, session_id: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Candidate audio chunks of a session in seq order, with their capture
    /// stamps.
    fn candidate_frames(&self, session_id: &str) -> Result<Vec<StoredFrame>, StoreError>;
    /// Interviewer audio chunks of a session in seq order, with the session
    /// time each was due to play.
    fn interviewer_frames(&self, session_id: &str) -> Result<Vec<StoredFrame>, StoreError>;

    /// Bytes of candidate audio stored over all of a user's sessions (with
    /// the storage's framing: the quota errs on the generous side by a few
    /// bytes a frame). The interviewer's audio is not counted: the server
    /// produces it, at most as long as the session the quota allowed.
    fn user_audio_bytes(&self, user_id: &str) -> Result<u64, StoreError>;

    /// Interviews a user has created.
    fn count_interviews(&self, user_id: &str) -> Result<u64, StoreError>;

    // Results.
    /// Stores the feedback (JSON) and marks the interview `ready`.
    fn save_results(
        &self,
        interview_id: &str,
        session_id: &str,
        feedback_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    fn results(&self, interview_id: &str) -> Result<Option<String>, StoreError>;
    /// The feedback (JSON) of those of `interview_ids` that have results,
    /// as (interview id, feedback), in the order asked: [`results`] of
    /// several interviews at once.
    ///
    /// [`results`]: Store::results
    fn results_of(&self, interview_ids: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    /// The length and scores of those of `interview_ids` that have results.
    fn outcomes(&self, interview_ids: &[String]) -> Result<Vec<OutcomeRecord>, StoreError>;

    // Deletion.
    /// Deletes an interview and everything stored for it (its sessions,
    /// their candidate audio, transcript segments and speech spans, its
    /// results), in one transaction. Whether the deleted content is also
    /// gone from the storage's files depends on the backend: see
    /// [`Erasure::wiped`]. `Ok(None)` when no such interview exists.
    fn delete_interview(&self, interview_id: &str) -> Result<Option<Erasure>, StoreError>;
}

/// A stored result's length and scores, without the rest of its feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRecord {
    pub interview_id: String,
    pub duration_ms: u64,
    /// (name, value 0..=100), in the feedback's order.
    pub scores: Vec<(String, u32)>,
}

/// What a deletion removed, and whether its content is gone from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    /// Sessions removed with the interview.
    pub sessions: u64,
    /// Bytes of audio removed, both sides (with the storage's framing).
    pub audio_bytes: u64,
    /// True when the deleted content was overwritten in the database's
    /// files and no journal still holds a copy of it.
    ///
    /// SQLite (`secure_delete` and a truncating checkpoint): false only
    /// when another reader kept the write-ahead log from being emptied; the
    /// copy there is overwritten at the next checkpoint.
    ///
    /// PostgreSQL: always false. The rows are deleted in a committed
    /// transaction, so no query (on any instance) returns them again, but
    /// PostgreSQL keeps deleted row versions in its table files until
    /// VACUUM frees the space and later writes reuse it, and its WAL (with
    /// any archive, replica or backup made from it) keeps what was written.
    pub wiped: bool,
}

/// Async access to a [`Store`]: each call runs on tokio's blocking pool.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `f` against the store on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Join(e.to_string()))?
    }
}
