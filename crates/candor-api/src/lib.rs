//! Candor's data API: the JSON bodies of the backend's HTTP routes.
//!
//! The server serialises these and the client deserialises them, so both sides
//! share one definition. This crate knows nothing of HTTP libraries or the
//! server: it is plain serde types, plus the route paths as constants.
//!
//! Conventions: field names are `snake_case`; times are Unix milliseconds
//! (`*_ms`); ids are opaque strings; every failure is an [`ApiError`] body
//! (`{"error":{"code":..,"message":..}}`) with a matching HTTP status.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Route paths, relative to the server's base URL.
pub mod paths {
    pub const REGISTER: &str = "/v1/auth/register";
    pub const SIGN_IN: &str = "/v1/auth/sign-in";
    pub const SIGN_OUT: &str = "/v1/auth/sign-out";
    pub const ME: &str = "/v1/auth/me";
    /// Offline profile sign-in; only served when the server enables it.
    pub const LOCAL: &str = "/v1/auth/local";
    pub const INTERVIEWS: &str = "/v1/interviews";
    /// `GET /v1/interviews/{id}`; `DELETE` erases it and everything stored for it.
    pub const INTERVIEW: &str = "/v1/interviews/{id}";
    /// `GET /v1/interviews/{id}/results`.
    pub const RESULTS: &str = "/v1/interviews/{id}/results";
    /// `GET /v1/interviews/{id}/export`: the interview's files as a zip.
    pub const EXPORT: &str = "/v1/interviews/{id}/export";
    /// `GET /v1/interviews/{id}/audio/{file}`: one of the export's audio
    /// files (`interview.ogg`, `answer-NN.ogg`) for replay, as Ogg Opus,
    /// with byte ranges.
    pub const AUDIO: &str = "/v1/interviews/{id}/audio/{file}";
    /// The live session WebSocket (protobuf frames, see `candor-protocol`).
    pub const SESSION: &str = "/v1/session";
    pub const OPENAPI: &str = "/v1/openapi.json";
    pub const HEALTH: &str = "/healthz";

    /// `/v1/interviews/{id}` for a concrete id.
    pub fn interview(id: &str) -> String {
        format!("/v1/interviews/{id}")
    }

    /// `/v1/interviews/{id}/results` for a concrete id.
    pub fn results(id: &str) -> String {
        format!("/v1/interviews/{id}/results")
    }

    /// `/v1/interviews/{id}/export` for a concrete id.
    pub fn export(id: &str) -> String {
        format!("/v1/interviews/{id}/export")
    }

    /// `/v1/interviews/{id}/audio/{file}` for a concrete id and file.
    pub fn audio(id: &str, file: &str) -> String {
        format!("/v1/interviews/{id}/audio/{file}")
    }
}

// ---------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterRequest {
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The answer to every valid registration (202), whether or not the email
/// was already registered, so registering does not reveal which emails
/// exist: the new account's owner signs in next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterResponse {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
}

/// Sign-in without a password for the offline embedded mode: one local user
/// per profile name on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LocalSignInRequest {
    /// Defaults to `"default"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// Answer to register, sign-in and local sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuthResponse {
    /// Opaque bearer token: `Authorization: Bearer <token>` on HTTP, and
    /// `StartRequest.auth_token` on the session socket.
    pub token: String,
    pub expires_at_ms: i64,
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    pub id: String,
    /// Empty for a local profile.
    pub email: String,
    pub display_name: String,
    /// True for an offline local profile (no password).
    pub local: bool,
    pub created_at_ms: i64,
}

// ---------------------------------------------------------------------------
// Interviews
// ---------------------------------------------------------------------------

/// The job the candidate practises for; each has its own question bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SoftwareEngineer,
    ProductManager,
    DataScientist,
    /// Behavioural questions only, for any role.
    Behavioural,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::SoftwareEngineer,
        Role::ProductManager,
        Role::DataScientist,
        Role::Behavioural,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SoftwareEngineer => "software_engineer",
            Role::ProductManager => "product_manager",
            Role::DataScientist => "data_scientist",
            Role::Behavioural => "behavioural",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// How the interviewer says it.
    pub fn spoken(self) -> &'static str {
        match self {
            Role::SoftwareEngineer => "software engineer",
            Role::ProductManager => "product manager",
            Role::DataScientist => "data scientist",
            Role::Behavioural => "behavioural",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    Junior,
    Mid,
    Senior,
}

impl Seniority {
    pub const ALL: [Seniority; 3] = [Seniority::Junior, Seniority::Mid, Seniority::Senior];

    pub fn as_str(self) -> &'static str {
        match self {
            Seniority::Junior => "junior",
            Seniority::Mid => "mid",
            Seniority::Senior => "senior",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn spoken(self) -> &'static str {
        match self {
            Seniority::Junior => "junior",
            Seniority::Mid => "mid-level",
            Seniority::Senior => "senior",
        }
    }
}

/// Where an interview is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InterviewStatus {
    /// Created, no session yet.
    Created,
    /// A session is live (or dropped and still resumable).
    InProgress,
    /// The session ended; feedback is being computed.
    Processing,
    /// Feedback is available.
    Ready,
    /// Feedback could not be computed.
    Failed,
}

impl InterviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InterviewStatus::Created => "created",
            InterviewStatus::InProgress => "in_progress",
            InterviewStatus::Processing => "processing",
            InterviewStatus::Ready => "ready",
            InterviewStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            InterviewStatus::Created,
            InterviewStatus::InProgress,
            InterviewStatus::Processing,
            InterviewStatus::Ready,
            InterviewStatus::Failed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Limits on [`CreateInterviewRequest`].
pub const MAX_QUESTIONS: u32 = 12;
pub const DEFAULT_QUESTIONS: u32 = 5;
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateInterviewRequest {
    pub role: Role,
    pub seniority: Seniority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_text: Option<String>,
    /// 1..=12; defaults to 5. Ignored for a retry (one question).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_count: Option<u32>,
    /// Answer one question of a past interview again: the new interview
    /// asks only that question, with the original's role, seniority, job
    /// description and CV (the request's own are ignored). The original must
    /// be the caller's, have results, and have asked the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryTarget>,
}

/// The question of a past interview to answer again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetryTarget {
    pub interview_id: String,
    /// 1-based, as in that interview's [`QuestionFeedback::index`].
    pub question_index: u32,
}

/// What a retry answers again. Retrying a retry links to the same first
/// interview, so every attempt at a question points at one original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetryOf {
    /// The interview the question was first asked in (it may since have
    /// been deleted).
    pub interview_id: String,
    /// 1-based index of the question there.
    pub question_index: u32,
    /// The question, as it was asked there.
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Interview {
    pub id: String,
    pub role: Role,
    pub seniority: Seniority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_text: Option<String>,
    pub question_count: u32,
    pub status: InterviewStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// In the list, for an interview with results: its length and scores,
    /// so a client can draw progress without fetching every result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Set when this interview answers one question of another again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<RetryOf>,
}

/// A ready interview's length and scores (as in its [`Feedback`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Outcome {
    pub duration_ms: u64,
    pub scores: Vec<ScoreValue>,
}

/// One score of an [`Outcome`]: [`Score`] without its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScoreValue {
    pub name: String,
    /// 0..=100.
    pub value: u32,
}

/// One page of `GET /v1/interviews`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InterviewPage {
    pub items: Vec<Interview>,
    /// Pass as `?cursor=` to get the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query of `GET /v1/interviews`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ListInterviewsQuery {
    /// 1..=100, default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

/// `GET /v1/interviews/{id}/results`: the seed's `processingResults` →
/// `resultsReady`. Poll while `status` is `processing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ResultsResponse {
    /// No session has run for this interview yet.
    NotStarted,
    /// The session is live or its feedback is being computed.
    Processing,
    Ready {
        feedback: Feedback,
        /// Every attempt at a question this interview shares with others:
        /// for a retry, the first answer and each retry of that question
        /// with results (this one too); for an original, each of its
        /// questions that was answered again, with all its attempts. Oldest
        /// first; empty when nothing was retried.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attempts: Vec<Attempt>,
    },
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Feedback {
    pub session_id: String,
    /// Why the session ended, e.g. `interview_complete`, `user_initiated`.
    pub end_reason: String,
    pub overall: OverallMetrics,
    pub questions: Vec<QuestionFeedback>,
    /// Each score comes with the numbers it is computed from.
    pub scores: Vec<Score>,
    pub transcript: Vec<TranscriptSegment>,
    pub computed_at_ms: i64,
    /// Whether `ai` holds a model's assessment or the feedback is the
    /// measured metrics only. Results stored before this field existed read
    /// as `metrics_only`.
    #[serde(default)]
    pub feedback_source: FeedbackSource,
    /// The AI assessment of the transcript (when `feedback_source` is `ai`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiFeedback>,
    /// Why there is no AI assessment although one was attempted (the API
    /// failed, timed out, or there was no transcript of the candidate's
    /// words), in plain language. Absent when AI feedback is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_unavailable_reason: Option<String>,
    /// The job description's key terms the candidate used and did not (when
    /// a job description was given and the candidate's words are known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_terms: Option<JobTerms>,
    /// The candidate's most used meaningful words, most used first (when
    /// the candidate's words are known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub most_used_words: Vec<WordCount>,
    /// Whether the interviewer's voice was recorded: then the interview's
    /// recording (`interview.ogg`) holds both voices. Results of sessions
    /// recorded before Candor kept it read as false.
    #[serde(default)]
    pub interviewer_voice: bool,
}

/// Coverage of a job description's key terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct JobTerms {
    /// Key terms the candidate said (in any form), in the job description's order of weight.
    pub used: Vec<String>,
    /// Key terms never said.
    pub missing: Vec<String>,
}

/// A word and how often it was said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WordCount {
    pub word: String,
    pub count: u32,
}

/// Where an interview's qualitative feedback comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeedbackSource {
    /// Only the measured metrics and their scores.
    #[default]
    MetricsOnly,
    /// The metrics plus an AI model's assessment of the transcript.
    Ai,
}

/// An AI model's assessment of the interview transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AiFeedback {
    /// The model that wrote it.
    pub model: String,
    /// Two or three sentences on the interview as a whole.
    pub summary: String,
    /// One score per category, each with its reason.
    pub scores: Vec<AiScore>,
    pub strengths: Vec<String>,
    pub improvements: Vec<String>,
    /// The weakest answer and a better one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weakest_answer: Option<SuggestedAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AiScore {
    /// e.g. `structure`, `relevance`, `specificity`, `communication`, `role_knowledge`.
    pub category: String,
    /// 0..=100.
    pub score: u32,
    /// Why, citing the transcript.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SuggestedAnswer {
    pub question: String,
    /// What the candidate's answer lacked.
    pub why: String,
    /// A stronger answer the candidate could give, built from what they said.
    pub better_answer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OverallMetrics {
    pub duration_ms: u64,
    pub candidate_speaking_ms: u64,
    pub interviewer_speaking_ms: u64,
    /// Candidate speaking time / (candidate + interviewer speaking time), 0..1.
    pub talk_time_ratio: f64,
    /// Longest stretch of one answer, first word to last.
    pub longest_monologue_ms: u64,
    /// Times the candidate talked over the interviewer.
    pub interruptions: u32,
    pub questions_asked: u32,
    pub questions_answered: u32,
    /// Only when a transcript of the candidate's words exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words_per_minute: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filler_words: Option<FillerWords>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FillerWords {
    pub total: u32,
    /// Per 100 words.
    pub per_100_words: f64,
    /// Each filler and how often it occurred, most frequent first.
    pub counts: Vec<FillerCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FillerCount {
    pub word: String,
    pub count: u32,
}

/// One answer to a question, from the interview it was given in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Attempt {
    pub interview_id: String,
    pub created_at_ms: i64,
    /// The question's 1-based index in the first interview that asked it
    /// (the same for every attempt at it).
    pub question_index: u32,
    /// The answer's measurements, from that interview's results (its
    /// `index` is the question's place in that interview).
    pub feedback: QuestionFeedback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuestionFeedback {
    /// 1-based.
    pub index: u32,
    pub question: String,
    pub follow_ups_asked: u32,
    pub answered: bool,
    /// End of the question to the candidate's first sound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_latency_ms: Option<u64>,
    /// First sound to last sound of the answer.
    pub answer_duration_ms: u64,
    /// Time actually speaking within the answer.
    pub speaking_ms: u64,
    /// Silences of at least `pause_threshold_ms` inside the answer.
    pub pauses: u32,
    pub longest_pause_ms: u64,
    pub pause_threshold_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words_per_minute: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filler_words: Option<u32>,
    /// Plain-language notes on this answer.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Score {
    /// e.g. `talk_time_balance`, `responsiveness`, `pace`.
    pub name: String,
    /// 0..=100.
    pub value: u32,
    /// Which numbers the score comes from and how, in plain language.
    pub explanation: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Interviewer,
    Candidate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TranscriptSegment {
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The question this segment belongs to (0 for the greeting).
    pub question_index: u32,
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The body of every failed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiErrorBody {
    pub code: ErrorCode,
    /// Safe to show to the user.
    pub message: String,
}

/// Machine-readable error codes; each has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body or a parameter is invalid.
    InvalidArgument,
    /// 401: no token, or unknown / expired token, or wrong email or password.
    Unauthenticated,
    /// 403: the resource belongs to someone else.
    PermissionDenied,
    /// 404
    NotFound,
    /// 409: e.g. the email is already registered.
    Conflict,
    /// 429: too many attempts, or the server is busy; the `Retry-After`
    /// header says when to try again.
    ResourceExhausted,
    /// 500
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::ResourceExhausted => 429,
            ErrorCode::Internal => 500,
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ApiErrorBody {
                code,
                message: message.into(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.error.code, self.error.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shape() {
        let e = ApiError::new(ErrorCode::NotFound, "no such interview");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "no such interview"}})
        );
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
    }

    #[test]
    fn results_are_tagged_by_status() {
        let json = serde_json::to_value(ResultsResponse::Processing).unwrap();
        assert_eq!(json, serde_json::json!({"status": "processing"}));
        let back: ResultsResponse = serde_json::from_value(json).unwrap();
        assert_eq!(back, ResultsResponse::Processing);
    }

    #[test]
    fn feedback_without_the_ai_fields_still_parses() {
        let json = serde_json::json!({
            "session_id": "s", "end_reason": "interview_complete",
            "overall": {"duration_ms": 1, "candidate_speaking_ms": 0, "interviewer_speaking_ms": 0,
                        "talk_time_ratio": 0.0, "longest_monologue_ms": 0, "interruptions": 0,
                        "questions_asked": 0, "questions_answered": 0},
            "questions": [], "scores": [], "transcript": [], "computed_at_ms": 5
        });
        let f: Feedback = serde_json::from_value(json).unwrap();
        assert_eq!(f.feedback_source, FeedbackSource::MetricsOnly);
        assert_eq!(f.ai, None);
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!(back["feedback_source"], "metrics_only");
        assert!(back.get("ai").is_none());
    }

    #[test]
    fn create_request_defaults() {
        let req: CreateInterviewRequest =
            serde_json::from_str(r#"{"role":"product_manager","seniority":"senior"}"#).unwrap();
        assert_eq!(req.role, Role::ProductManager);
        assert_eq!(req.seniority, Seniority::Senior);
        assert_eq!(req.question_count, None);
    }

    #[test]
    fn enum_strings_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, serde_json::Value::String(r.as_str().into()));
        }
        for s in Seniority::ALL {
            assert_eq!(Seniority::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            InterviewStatus::parse("in_progress"),
            Some(InterviewStatus::InProgress)
        );
    }
}
