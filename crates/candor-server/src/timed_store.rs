//! Store latency: a [`Store`] that forwards every call to another and
//! records how long it took in [`Metrics`] (`candor_store_seconds{op}`).
//!
//! Wrapping the store once, where the server starts, times every caller —
//! request handlers, session starts, the recorder's group commits, results
//! processing — whatever the backend, without any of them knowing.

use std::sync::Arc;
use std::time::Instant;

use candor_api::InterviewStatus;

use crate::metrics::Metrics;
use crate::store::{
    Claim, Erasure, InterviewRecord, ListCursor, OutcomeRecord, SessionRecord, SessionWrite, Store,
    StoreError, StoredFrame, Timeline, UserRecord,
};

/// A [`Store`] whose calls are timed.
pub(crate) struct TimedStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl TimedStore {
    pub(crate) fn wrap(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Arc<dyn Store> {
        Arc::new(Self { inner, metrics })
    }

    fn timed<T>(&self, op: &'static str, call: impl FnOnce(&dyn Store) -> T) -> T {
        let t0 = Instant::now();
        let out = call(self.inner.as_ref());
        self.metrics.record_store(op, t0.elapsed());
        out
    }
}

type R<T> = Result<T, StoreError>;

impl Store for TimedStore {
    fn create_user(&self, user: &UserRecord) -> R<()> {
        self.timed("create_user", |s| s.create_user(user))
    }
    fn user_by_email(&self, email: &str) -> R<Option<UserRecord>> {
        self.timed("user_by_email", |s| s.user_by_email(email))
    }
    fn user_by_id(&self, id: &str) -> R<Option<UserRecord>> {
        self.timed("user_by_id", |s| s.user_by_id(id))
    }
    fn local_user(&self, new: &UserRecord) -> R<UserRecord> {
        self.timed("local_user", |s| s.local_user(new))
    }
    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        created_at_ms: i64,
        expires_at_ms: i64,
    ) -> R<()> {
        self.timed("insert_token", |s| {
            s.insert_token(token_hash, user_id, created_at_ms, expires_at_ms)
        })
    }
    fn user_by_token(&self, token_hash: &str, now_ms: i64) -> R<Option<UserRecord>> {
        self.timed("user_by_token", |s| s.user_by_token(token_hash, now_ms))
    }
    fn delete_token(&self, token_hash: &str) -> R<()> {
        self.timed("delete_token", |s| s.delete_token(token_hash))
    }
    fn create_interview(&self, interview: &InterviewRecord) -> R<()> {
        self.timed("create_interview", |s| s.create_interview(interview))
    }
    fn interview(&self, id: &str) -> R<Option<InterviewRecord>> {
        self.timed("interview", |s| s.interview(id))
    }
    fn list_interviews(
        &self,
        user_id: &str,
        before: Option<&ListCursor>,
        limit: u32,
    ) -> R<Vec<InterviewRecord>> {
        self.timed("list_interviews", |s| {
            s.list_interviews(user_id, before, limit)
        })
    }
    fn set_interview_status(&self, id: &str, status: InterviewStatus, now_ms: i64) -> R<()> {
        self.timed("set_interview_status", |s| {
            s.set_interview_status(id, status, now_ms)
        })
    }
    fn retries_of(&self, user_id: &str, first_id: &str, limit: u32) -> R<Vec<InterviewRecord>> {
        self.timed("retries_of", |s| s.retries_of(user_id, first_id, limit))
    }
    fn create_session(&self, session: &SessionRecord) -> R<()> {
        self.timed("create_session", |s| s.create_session(session))
    }
    fn session(&self, id: &str) -> R<Option<SessionRecord>> {
        self.timed("session", |s| s.session(id))
    }
    fn end_session(&self, id: &str, reason: &str, ended_at_ms: i64, duration_ms: u64) -> R<()> {
        self.timed("end_session", |s| {
            s.end_session(id, reason, ended_at_ms, duration_ms)
        })
    }
    fn unfinished_sessions(&self) -> R<Vec<SessionRecord>> {
        self.timed("unfinished_sessions", |s| s.unfinished_sessions())
    }
    fn claim_session(&self, id: &str, instance: &str, now_ms: i64, until_ms: i64) -> R<Claim> {
        self.timed("claim_session", |s| {
            s.claim_session(id, instance, now_ms, until_ms)
        })
    }
    fn renew_leases(&self, instance: &str, ids: &[String], until_ms: i64) -> R<Vec<String>> {
        self.timed("renew_leases", |s| s.renew_leases(instance, ids, until_ms))
    }
    fn release_session(&self, id: &str, instance: &str, now_ms: i64) -> R<bool> {
        self.timed("release_session", |s| {
            s.release_session(id, instance, now_ms)
        })
    }
    fn resume_state(&self, id: &str) -> R<Option<String>> {
        self.timed("resume_state", |s| s.resume_state(id))
    }
    fn unheld_sessions(&self, since_ms: i64) -> R<Vec<SessionRecord>> {
        self.timed("unheld_sessions", |s| s.unheld_sessions(since_ms))
    }
    fn end_unheld_session(
        &self,
        id: &str,
        reason: &str,
        since_ms: i64,
        ended_at_ms: i64,
        duration_ms: u64,
    ) -> R<bool> {
        self.timed("end_unheld_session", |s| {
            s.end_unheld_session(id, reason, since_ms, ended_at_ms, duration_ms)
        })
    }
    fn interviews_processing(&self) -> R<Vec<InterviewRecord>> {
        self.timed("interviews_processing", |s| s.interviews_processing())
    }
    fn latest_session(&self, interview_id: &str) -> R<Option<SessionRecord>> {
        self.timed("latest_session", |s| s.latest_session(interview_id))
    }
    fn record(&self, writes: &[SessionWrite]) -> R<()> {
        self.timed("record", |s| s.record(writes))
    }
    fn timeline(&self, session_id: &str) -> R<Option<Timeline>> {
        self.timed("timeline", |s| s.timeline(session_id))
    }
    fn candidate_audio(&self, session_id: &str) -> R<Vec<(u64, Vec<u8>)>> {
        self.timed("candidate_audio", |s| s.candidate_audio(session_id))
    }
    fn candidate_frames(&self, session_id: &str) -> R<Vec<StoredFrame>> {
        self.timed("candidate_frames", |s| s.candidate_frames(session_id))
    }
    fn interviewer_frames(&self, session_id: &str) -> R<Vec<StoredFrame>> {
        self.timed("interviewer_frames", |s| s.interviewer_frames(session_id))
    }
    fn user_audio_bytes(&self, user_id: &str) -> R<u64> {
        self.timed("user_audio_bytes", |s| s.user_audio_bytes(user_id))
    }
    fn count_interviews(&self, user_id: &str) -> R<u64> {
        self.timed("count_interviews", |s| s.count_interviews(user_id))
    }
    fn save_results(
        &self,
        interview_id: &str,
        session_id: &str,
        feedback_json: &str,
        now_ms: i64,
    ) -> R<()> {
        self.timed("save_results", |s| {
            s.save_results(interview_id, session_id, feedback_json, now_ms)
        })
    }
    fn results(&self, interview_id: &str) -> R<Option<String>> {
        self.timed("results", |s| s.results(interview_id))
    }
    fn results_of(&self, interview_ids: &[String]) -> R<Vec<(String, String)>> {
        self.timed("results_of", |s| s.results_of(interview_ids))
    }
    fn outcomes(&self, interview_ids: &[String]) -> R<Vec<OutcomeRecord>> {
        self.timed("outcomes", |s| s.outcomes(interview_ids))
    }
    fn delete_interview(&self, interview_id: &str) -> R<Option<Erasure>> {
        self.timed("delete_interview", |s| s.delete_interview(interview_id))
    }
}
