//! The types the engine shows to its front ends (the desktop UI over Tauri
//! IPC, the CLI's `--json` lines): the lifecycle view with Candor's payloads,
//! the pushed events, and the user's intents' arguments. Serialized in
//! camelCase; the UI's TypeScript for them (`ui/src/ipc/generated.ts`) is
//! generated from these types (see [`crate::ts`]).
//!
//! They are deliberately not the data API's types: the API speaks in
//! milliseconds and snake_case enums for machines; these speak in what the
//! screens show. The conversions live here and nowhere else.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_lifecycle::Payloads;
use serde::{Deserialize, Serialize};

/// Candor's payload types for the lifecycle core.
#[derive(Debug, PartialEq)]
pub struct Candor;

impl Payloads for Candor {
    type Credentials = Credentials;
    type Profile = Profile;
    type Setup = InterviewSetup;
    type History = History;
    type Results = Results;
}

/// The whole state, as the UI renders it.
pub type View = candor_lifecycle::View<Profile, History, Results>;

/// How the user signs in. Its `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Password {
        email: String,
        password: String,
    },
    /// A new account: registered, then signed in.
    NewAccount {
        email: String,
        password: String,
    },
    /// The local profile on the embedded backend: no account, no network.
    Offline {
        name: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { email, .. } => f
                .debug_struct("Password")
                .field("email", email)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::NewAccount { email, .. } => f
                .debug_struct("NewAccount")
                .field("email", email)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Offline { name } => f.debug_struct("Offline").field("name", name).finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Profile {
    pub name: String,
    pub email: Option<String>,
    /// True for the local offline profile (embedded backend, no account).
    pub offline: bool,
}

impl From<&candor_api::User> for Profile {
    fn from(user: &candor_api::User) -> Self {
        Profile {
            name: if user.display_name.is_empty() {
                user.email.clone()
            } else {
                user.display_name.clone()
            },
            email: (!user.email.is_empty()).then(|| user.email.clone()),
            offline: user.local,
        }
    }
}

/// The roles with question banks. On the wire (IPC, `--json`, the CLI's
/// `--role`) by their UI ids: `software-engineer`, `product-manager`,
/// `data-scientist`, `behavioural`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

    /// The id on the wire, e.g. `software-engineer`.
    pub fn id(self) -> &'static str {
        match self {
            Role::SoftwareEngineer => "software-engineer",
            Role::ProductManager => "product-manager",
            Role::DataScientist => "data-scientist",
            Role::Behavioural => "behavioural",
        }
    }
}

impl From<Role> for candor_api::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::SoftwareEngineer => candor_api::Role::SoftwareEngineer,
            Role::ProductManager => candor_api::Role::ProductManager,
            Role::DataScientist => candor_api::Role::DataScientist,
            Role::Behavioural => candor_api::Role::Behavioural,
        }
    }
}

impl From<candor_api::Role> for Role {
    fn from(role: candor_api::Role) -> Self {
        match role {
            candor_api::Role::SoftwareEngineer => Role::SoftwareEngineer,
            candor_api::Role::ProductManager => Role::ProductManager,
            candor_api::Role::DataScientist => Role::DataScientist,
            candor_api::Role::Behavioural => Role::Behavioural,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.id() == s)
            .ok_or_else(|| format!("Unknown role “{s}”."))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.id())
    }
}

/// How senior the interview is pitched. On the wire: `junior`, `mid`, `senior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Seniority {
    Junior,
    Mid,
    Senior,
}

impl Seniority {
    pub const ALL: [Seniority; 3] = [Seniority::Junior, Seniority::Mid, Seniority::Senior];

    /// The id on the wire, e.g. `mid`.
    pub fn id(self) -> &'static str {
        match self {
            Seniority::Junior => "junior",
            Seniority::Mid => "mid",
            Seniority::Senior => "senior",
        }
    }
}

impl From<Seniority> for candor_api::Seniority {
    fn from(seniority: Seniority) -> Self {
        match seniority {
            Seniority::Junior => candor_api::Seniority::Junior,
            Seniority::Mid => candor_api::Seniority::Mid,
            Seniority::Senior => candor_api::Seniority::Senior,
        }
    }
}

impl From<candor_api::Seniority> for Seniority {
    fn from(seniority: candor_api::Seniority) -> Self {
        match seniority {
            candor_api::Seniority::Junior => Seniority::Junior,
            candor_api::Seniority::Mid => Seniority::Mid,
            candor_api::Seniority::Senior => Seniority::Senior,
        }
    }
}

impl std::str::FromStr for Seniority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Seniority::ALL
            .into_iter()
            .find(|seniority| seniority.id() == s)
            .ok_or_else(|| format!("Unknown seniority “{s}”."))
    }
}

impl std::fmt::Display for Seniority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.id())
    }
}

/// What the user chose on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InterviewSetup {
    pub role: Role,
    pub seniority: Seniority,
    pub job_description: Option<String>,
    pub cv_text: Option<String>,
    pub question_count: u32,
    /// Answer one question of a past interview again (then the interview
    /// asks that question only, with the original's role and texts).
    #[serde(default)]
    pub retry: Option<RetryTarget>,
}

/// The question of a past interview to answer again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryTarget {
    pub interview_id: String,
    /// 1-based, as in that interview's results.
    pub question_index: u32,
}

/// The question an interview answers again, and where it was first asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryOf {
    /// The interview the question was first asked in (it may since have
    /// been deleted).
    pub interview_id: String,
    /// 1-based index of the question there.
    pub question_index: u32,
    pub question: String,
}

impl From<&candor_api::RetryOf> for RetryOf {
    fn from(r: &candor_api::RetryOf) -> Self {
        RetryOf {
            interview_id: r.interview_id.clone(),
            question_index: r.question_index,
            question: r.question.clone(),
        }
    }
}

/// One answer to a question that was answered more than once: what the
/// results page puts side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Attempt {
    /// The interview the answer was given in.
    pub interview_id: String,
    /// RFC 3339: when that interview was created.
    pub created_at: String,
    /// The question's 1-based index in the interview that first asked it
    /// (the same for every attempt at it).
    pub question_index: u32,
    /// The first answer, not a retry.
    pub first: bool,
    pub answered: bool,
    pub answer_sec: f64,
    pub speaking_sec: f64,
    pub response_latency_sec: Option<f64>,
    pub pauses: u32,
    pub longest_pause_sec: f64,
    /// Only when a transcript of the answer exists.
    pub words_per_minute: Option<f64>,
    pub filler_words: Option<u32>,
}

impl Attempt {
    fn from_api(a: &candor_api::Attempt, first_interview: &str) -> Self {
        let q = &a.feedback;
        Attempt {
            interview_id: a.interview_id.clone(),
            created_at: rfc3339(a.created_at_ms),
            question_index: a.question_index,
            first: a.interview_id == first_interview,
            answered: q.answered,
            answer_sec: sec(q.answer_duration_ms),
            speaking_sec: sec(q.speaking_ms),
            response_latency_sec: q.response_latency_ms.map(sec),
            pauses: q.pauses,
            longest_pause_sec: sec(q.longest_pause_ms),
            words_per_minute: q.words_per_minute,
            filler_words: q.filler_words,
        }
    }
}

impl InterviewSetup {
    /// The API request (blank texts left out). Role and seniority are typed,
    /// so every set-up makes a request; the server checks the rest.
    pub fn to_request(&self) -> candor_api::CreateInterviewRequest {
        let text = |t: &Option<String>| {
            t.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        candor_api::CreateInterviewRequest {
            role: self.role.into(),
            seniority: self.seniority.into(),
            job_description: text(&self.job_description),
            cv_text: text(&self.cv_text),
            question_count: Some(self.question_count),
            retry: self.retry.as_ref().map(|r| candor_api::RetryTarget {
                interview_id: r.interview_id.clone(),
                question_index: r.question_index,
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum InterviewStatus {
    Created,
    Live,
    Processing,
    Ready,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InterviewSummary {
    pub id: String,
    pub role: Role,
    pub seniority: Seniority,
    /// RFC 3339.
    pub created_at: String,
    pub status: InterviewStatus,
    pub duration_sec: Option<f64>,
    /// 0–100, when results are ready.
    pub overall_score: Option<f64>,
    /// Each score, when results are ready (what the dashboard's progress
    /// charts draw).
    pub scores: Vec<ScorePoint>,
    /// Set when the interview answered one question of another again.
    pub retry_of: Option<RetryOf>,
}

/// One score of a past interview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScorePoint {
    pub key: String,
    pub label: String,
    /// 0–100.
    pub value: u32,
}

/// The history the dashboard lists: the newest interviews, as many as the
/// candidate asked to see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct History {
    /// Newest first.
    pub items: Vec<InterviewSummary>,
    /// Older interviews exist beyond these ("Show more").
    pub has_more: bool,
}

impl From<&candor_api::Interview> for InterviewSummary {
    fn from(i: &candor_api::Interview) -> Self {
        use candor_api::InterviewStatus as S;
        InterviewSummary {
            id: i.id.clone(),
            role: i.role.into(),
            seniority: i.seniority.into(),
            created_at: rfc3339(i.created_at_ms),
            status: match i.status {
                S::Created => InterviewStatus::Created,
                S::InProgress => InterviewStatus::Live,
                S::Processing => InterviewStatus::Processing,
                S::Ready => InterviewStatus::Ready,
                S::Failed => InterviewStatus::Failed,
            },
            duration_sec: i.outcome.as_ref().map(|o| o.duration_ms as f64 / 1000.0),
            overall_score: i.outcome.as_ref().and_then(|o| {
                (!o.scores.is_empty()).then(|| {
                    o.scores.iter().map(|s| f64::from(s.value)).sum::<f64>() / o.scores.len() as f64
                })
            }),
            scores: i
                .outcome
                .iter()
                .flat_map(|o| &o.scores)
                .map(|s| ScorePoint {
                    key: s.name.clone(),
                    label: label(&s.name),
                    value: s.value,
                })
                .collect(),
            retry_of: i.retry_of.as_ref().map(RetryOf::from),
        }
    }
}

/// The feedback page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Results {
    pub interview_id: String,
    pub role: Role,
    pub seniority: Seniority,
    /// The interviewer that ran it: `practice` (offline) or `gemini`; empty
    /// when reviewing past results.
    pub engine: String,
    /// RFC 3339.
    pub completed_at: String,
    pub duration_sec: f64,
    /// The questions the interview was set up with (`questions` holds those
    /// asked: fewer when it ended early).
    pub questions_planned: u32,
    pub overall: OverallMetrics,
    /// Each score explained by the numbers it comes from.
    pub scores: Vec<Score>,
    pub questions: Vec<QuestionFeedback>,
    pub transcript: Vec<TranscriptLine>,
    /// The AI interviewer's written assessment of the transcript, when one
    /// was made.
    pub assessment: Option<Assessment>,
    /// Why there is no assessment although one was attempted (the results
    /// then hold the measured metrics only).
    pub assessment_unavailable: Option<String>,
    /// The job description's key terms the candidate used and missed (when
    /// a description was given and the candidate's words are known).
    pub job_terms: Option<JobTerms>,
    /// The candidate's most used words, most used first (when the words are
    /// known).
    pub most_used_words: Vec<WordCount>,
    /// Whether the recording holds the interviewer's voice too (interviews
    /// recorded before Candor kept it hold the candidate's only).
    pub interviewer_voice: bool,
    /// Set when this interview answered one question of another again.
    pub retry_of: Option<RetryOf>,
    /// Every attempt at a question this interview shares with others
    /// (oldest first; empty when nothing was answered again).
    pub attempts: Vec<Attempt>,
}

/// Coverage of the job description's key terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobTerms {
    pub used: Vec<String>,
    pub missing: Vec<String>,
}

/// A word and how often the candidate said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WordCount {
    pub word: String,
    pub count: u32,
}

/// An AI model's assessment of the interview transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Assessment {
    /// The model that wrote it.
    pub model: String,
    /// Two or three sentences on the interview as a whole.
    pub summary: String,
    /// One score per category, each with its reason.
    pub scores: Vec<AssessmentScore>,
    pub strengths: Vec<String>,
    pub improvements: Vec<String>,
    /// The weakest answer, and a stronger one built from what was said.
    pub weakest_answer: Option<BetterAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssessmentScore {
    pub label: String,
    /// 0–100.
    pub score: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BetterAnswer {
    pub question: String,
    /// What the answer lacked.
    pub why: String,
    pub better_answer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OverallMetrics {
    /// Candidate speaking time / total speaking time, 0–1.
    pub talk_time_ratio: f64,
    pub candidate_speaking_sec: f64,
    pub interviewer_speaking_sec: f64,
    pub longest_monologue_sec: f64,
    pub interruptions: u32,
    /// Mean time from a question's end to the candidate starting, seconds.
    pub average_response_latency_sec: Option<f64>,
    /// Only when a transcript of the candidate exists.
    pub words_per_minute: Option<f64>,
    pub filler_words: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Score {
    pub key: String,
    pub label: String,
    /// 0–100.
    pub score: f64,
    /// Plain-language explanation citing the numbers.
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuestionFeedback {
    /// 1-based.
    pub index: u32,
    pub question: String,
    pub answer_sec: f64,
    pub response_latency_sec: Option<f64>,
    pub pauses: u32,
    pub longest_pause_sec: f64,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Speaker {
    Interviewer,
    Candidate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
    pub start_sec: f64,
    pub end_sec: f64,
    /// The question the line belongs to (0: the greeting).
    pub question_index: u32,
}

fn sec(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

impl Results {
    /// The feedback page for `interview` from the API's feedback; `engine`
    /// names the interviewer that ran it, when the client knows.
    pub fn from_api(
        interview: &candor_api::Interview,
        feedback: &candor_api::Feedback,
        attempts: &[candor_api::Attempt],
        engine: String,
    ) -> Self {
        // The first answer is the one given in the interview the question
        // was first asked in: the retry's original, or this interview.
        let first = interview
            .retry_of
            .as_ref()
            .map_or(interview.id.as_str(), |r| r.interview_id.as_str());
        let o = &feedback.overall;
        let latencies: Vec<u64> = feedback
            .questions
            .iter()
            .filter_map(|q| q.response_latency_ms)
            .collect();
        Results {
            interview_id: interview.id.clone(),
            role: interview.role.into(),
            seniority: interview.seniority.into(),
            engine,
            completed_at: rfc3339(feedback.computed_at_ms),
            duration_sec: sec(o.duration_ms),
            questions_planned: interview.question_count,
            overall: OverallMetrics {
                talk_time_ratio: o.talk_time_ratio,
                candidate_speaking_sec: sec(o.candidate_speaking_ms),
                interviewer_speaking_sec: sec(o.interviewer_speaking_ms),
                longest_monologue_sec: sec(o.longest_monologue_ms),
                interruptions: o.interruptions,
                average_response_latency_sec: (!latencies.is_empty())
                    .then(|| sec(latencies.iter().sum::<u64>()) / latencies.len() as f64),
                words_per_minute: o.words_per_minute,
                filler_words: o.filler_words.as_ref().map(|f| f.total),
            },
            scores: feedback
                .scores
                .iter()
                .map(|s| Score {
                    key: s.name.clone(),
                    label: label(&s.name),
                    score: f64::from(s.value),
                    explanation: s.explanation.clone(),
                })
                .collect(),
            questions: feedback
                .questions
                .iter()
                .map(|q| QuestionFeedback {
                    index: q.index,
                    question: q.question.clone(),
                    answer_sec: sec(q.answer_duration_ms),
                    response_latency_sec: q.response_latency_ms.map(sec),
                    pauses: q.pauses,
                    longest_pause_sec: sec(q.longest_pause_ms),
                    note: q.notes.join(" "),
                })
                .collect(),
            transcript: feedback
                .transcript
                .iter()
                .map(|t| TranscriptLine {
                    speaker: match t.speaker {
                        candor_api::Speaker::Interviewer => Speaker::Interviewer,
                        candor_api::Speaker::Candidate => Speaker::Candidate,
                    },
                    text: t.text.clone(),
                    start_sec: sec(t.start_ms),
                    end_sec: sec(t.end_ms),
                    question_index: t.question_index,
                })
                .collect(),
            assessment: feedback.ai.as_ref().map(|ai| Assessment {
                model: ai.model.clone(),
                summary: ai.summary.clone(),
                scores: ai
                    .scores
                    .iter()
                    .map(|s| AssessmentScore {
                        label: label(&s.category),
                        score: s.score.min(100),
                        reason: s.reason.clone(),
                    })
                    .collect(),
                strengths: ai.strengths.clone(),
                improvements: ai.improvements.clone(),
                weakest_answer: ai.weakest_answer.as_ref().map(|w| BetterAnswer {
                    question: w.question.clone(),
                    why: w.why.clone(),
                    better_answer: w.better_answer.clone(),
                }),
            }),
            assessment_unavailable: feedback.ai_unavailable_reason.clone(),
            job_terms: feedback.job_terms.as_ref().map(|t| JobTerms {
                used: t.used.clone(),
                missing: t.missing.clone(),
            }),
            most_used_words: feedback
                .most_used_words
                .iter()
                .map(|w| WordCount {
                    word: w.word.clone(),
                    count: w.count,
                })
                .collect(),
            interviewer_voice: feedback.interviewer_voice,
            retry_of: interview.retry_of.as_ref().map(RetryOf::from),
            attempts: attempts
                .iter()
                .map(|a| Attempt::from_api(a, first))
                .collect(),
        }
    }

    /// The mean of the scores, as the history shows it.
    pub fn overall_score(&self) -> Option<f64> {
        (!self.scores.is_empty())
            .then(|| self.scores.iter().map(|s| s.score).sum::<f64>() / self.scores.len() as f64)
    }
}

/// `talk_time_balance` → "Talk time balance".
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Unix milliseconds as RFC 3339 UTC, e.g. `2026-11-26T07:51:28Z`.
pub fn rfc3339(ms: i64) -> String {
    let time = if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH
    };
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the interviewer is doing (from `InterviewerState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Activity {
    Speaking,
    Listening,
    Thinking,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AudioDevice {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceList {
    pub inputs: Vec<AudioDevice>,
    pub outputs: Vec<AudioDevice>,
    pub selected_input: Option<String>,
    pub selected_output: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum NoticeLevel {
    Info,
    Warning,
}

/// Everything the engine pushes, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EngineEvent {
    View {
        view: Box<View>,
    },
    /// Live transcript: within a `segmentId` each message replaces the text;
    /// `isFinal` settles it.
    Transcript {
        speaker: Speaker,
        segment_id: u64,
        text: String,
        is_final: bool,
        start_ms: u64,
    },
    /// Input level for the mic meter, at most 25 per second (capture's level
    /// meter); `level` is 0–1 (perceptual).
    Level {
        level: f32,
        voice: bool,
    },
    /// Echo stays strong after cancellation (`strong`: the speakers feed
    /// back into the microphone; headphones would help) or no longer does.
    /// Sent when it changes while live (each call starts without it).
    Echo {
        strong: bool,
    },
    Interviewer {
        activity: Activity,
        question_index: u32,
        question_count: u32,
    },
    /// Once per second while live.
    Stats {
        elapsed_ms: u64,
        uplink_kbps: f64,
        buffered_ms: u64,
        muted: bool,
    },
    Devices {
        devices: DeviceList,
    },
    /// Something to tell the user that is not a state (e.g. "Microphone
    /// switched to the default device").
    Notice {
        level: NoticeLevel,
        message: String,
    },
    /// The speech models changed (a download started, finished, failed or
    /// was cancelled; a model was deleted or chosen; the source changed).
    SpeechModels {
        models: SpeechModels,
    },
    /// A model download's progress, at most 10 per second.
    ModelDownload {
        id: String,
        downloaded_bytes: u64,
        total_bytes: u64,
    },
    /// When a session ends: the candidate audio accounting. `frames_stored`
    /// is what the server says it holds; `frames_lost` counts frames dropped
    /// because an outage outlasted the replay buffer.
    SessionSummary {
        frames_sent: u64,
        frames_stored: u64,
        frames_lost: u64,
    },
}

/// The speech models the offline interviewer can hear the candidate with,
/// as the settings show them (the catalog with what is on disk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpeechModels {
    /// Where models download from (`<url>/<model id>/<file>`); `None`: no
    /// source is set, so nothing can be downloaded.
    pub source: Option<ModelSource>,
    /// The catalog, in its order (the default model first).
    pub models: Vec<SpeechModelInfo>,
    /// The model the offline interviewer hears with (an id of `models`);
    /// `None`: answers are timed but not transcribed.
    pub in_use: Option<String>,
    /// False when a hosted backend runs the interviews: the models then
    /// wait for offline practice.
    pub offline_interviewer: bool,
}

/// The configured model source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelSource {
    pub url: String,
    /// Set by the `CANDOR_MODEL_SOURCE` environment variable rather than the
    /// settings.
    pub from_environment: bool,
}

/// One catalog model: what it is, what it costs, whether it is on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpeechModelInfo {
    pub id: String,
    pub name: String,
    pub languages: String,
    /// What it costs in processor time.
    pub speed: String,
    /// How well it transcribes.
    pub quality: String,
    /// Bytes to download, and to keep on disk once installed.
    pub size_bytes: u64,
    pub state: SpeechModelState,
    /// Why the last download or load of it failed (until the next attempt).
    pub error: Option<String>,
}

/// Whether a model is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SpeechModelState {
    Absent,
    /// A download stopped before the end (a cut, or the app closed): what
    /// arrived is kept and downloading again resumes it.
    Partial {
        downloaded_bytes: u64,
    },
    /// Being downloaded now (`modelDownload` events follow its progress).
    Downloading {
        downloaded_bytes: u64,
    },
    /// Every file is in place and verified.
    Installed,
}

/// App settings the user can change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    /// Hosted backend URL; `None` uses the embedded offline backend.
    pub backend_url: Option<String>,
    /// Echo cancellation (turn off with headphones).
    pub echo_cancellation: bool,
}

/// What the About dialog shows: the app's version, where it keeps things on
/// this computer, and the third-party components built into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct About {
    pub version: String,
    /// Candor's own licence (SPDX expression).
    pub licence: String,
    pub locations: AppLocations,
    /// The third-party components compiled into the app, most visible first.
    pub components: Vec<BundledComponent>,
}

/// An interview written to a folder (its voice, transcript and report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportedInterview {
    /// The folder, an absolute path.
    pub folder: String,
    /// The file names written into it.
    pub files: Vec<String>,
}

/// Where the desktop app keeps its things (absolute paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppLocations {
    /// The offline backend's database and the downloaded speech models.
    pub data: String,
    /// `candor.log` and older logs.
    pub logs: String,
    /// `settings.json` and the window's size and position.
    pub settings: String,
}

/// A third-party component built into the app and its licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BundledComponent {
    pub name: String,
    /// What Candor uses it for, in a few words.
    pub purpose: String,
    /// SPDX licence expression.
    pub licence: String,
    /// The project's home page.
    pub url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            backend_url: None,
            echo_cancellation: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_the_password() {
        let c = Credentials::Password {
            email: "a@b.c".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn results_of_an_interview_ended_early_keep_the_planned_count() {
        let interview: candor_api::Interview = serde_json::from_value(serde_json::json!({
            "id": "iv-1", "role": "software_engineer", "seniority": "mid",
            "question_count": 5, "status": "ready", "created_at_ms": 0, "updated_at_ms": 0
        }))
        .unwrap();
        let feedback: candor_api::Feedback = serde_json::from_value(serde_json::json!({
            "session_id": "s-1", "end_reason": "user_initiated",
            "overall": {
                "duration_ms": 60000, "candidate_speaking_ms": 30000,
                "interviewer_speaking_ms": 20000, "talk_time_ratio": 0.6,
                "longest_monologue_ms": 30000, "interruptions": 0,
                "questions_asked": 1, "questions_answered": 1
            },
            "questions": [{
                "index": 1, "question": "Tell me about yourself.", "follow_ups_asked": 0,
                "answered": true, "answer_duration_ms": 30000, "speaking_ms": 30000,
                "pauses": 0, "longest_pause_ms": 0, "pause_threshold_ms": 2000, "notes": []
            }],
            "scores": [], "transcript": [], "computed_at_ms": 0
        }))
        .unwrap();
        let results = Results::from_api(&interview, &feedback, &[], "practice".into());
        assert_eq!(results.questions.len(), 1);
        assert_eq!(results.questions_planned, 5);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn setup_maps_to_the_api() {
        let setup = InterviewSetup {
            role: Role::ProductManager,
            seniority: Seniority::Senior,
            job_description: Some("  ".into()),
            cv_text: Some(" CV ".into()),
            question_count: 3,
            retry: None,
        };
        let req = setup.to_request();
        assert_eq!(req.role, candor_api::Role::ProductManager);
        assert_eq!(req.seniority, candor_api::Seniority::Senior);
        assert_eq!(req.job_description, None);
        assert_eq!(req.cv_text.as_deref(), Some("CV"));
    }

    #[test]
    fn role_and_seniority_keep_their_wire_ids_and_refuse_unknown_ones() {
        let setup: InterviewSetup = serde_json::from_value(serde_json::json!({
            "role": "data-scientist",
            "seniority": "mid",
            "jobDescription": null,
            "cvText": null,
            "questionCount": 5,
        }))
        .unwrap();
        assert_eq!(setup.role, Role::DataScientist);
        assert_eq!(setup.seniority, Seniority::Mid);
        for role in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.id());
            assert_eq!(role.id().parse::<Role>(), Ok(role));
            assert_eq!(Role::from(candor_api::Role::from(role)), role);
        }
        for seniority in Seniority::ALL {
            assert_eq!(serde_json::to_value(seniority).unwrap(), seniority.id());
            assert_eq!(seniority.id().parse::<Seniority>(), Ok(seniority));
            assert_eq!(
                Seniority::from(candor_api::Seniority::from(seniority)),
                seniority
            );
        }
        assert!(
            "staff"
                .parse::<Seniority>()
                .unwrap_err()
                .contains("seniority")
        );
        assert!("pilot".parse::<Role>().unwrap_err().contains("role"));
        let staff = serde_json::json!({
            "role": "behavioural", "seniority": "staff",
            "jobDescription": null, "cvText": null, "questionCount": 5,
        });
        assert!(serde_json::from_value::<InterviewSetup>(staff).is_err());
        assert_eq!(format!("{:<8}|", Seniority::Mid), "mid     |");
    }

    #[test]
    fn events_serialize_as_the_ui_contract() {
        let e = EngineEvent::Transcript {
            speaker: Speaker::Interviewer,
            segment_id: 3,
            text: "Hi".into(),
            is_final: false,
            start_ms: 10,
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "transcript");
        assert_eq!(json["segmentId"], 3);
        assert_eq!(json["isFinal"], false);
        assert_eq!(json["speaker"], "interviewer");
        assert_eq!(label("talk_time_balance"), "Talk time balance");
    }
}
