//! AI feedback: when a session ends, the stored transcript (with the
//! measured metrics) goes to the Gemini API's `generateContent` with a JSON
//! response schema, and the structured answer — scores per category with
//! reasons, strengths, improvements, a better version of the weakest answer
//! — is stored beside the metrics. If the request fails the metrics-only
//! feedback is stored, marked as such with the reason.

use std::time::Duration;

use candor_api::{AiFeedback, AiScore, Feedback, FeedbackSource, Speaker, SuggestedAnswer};
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::config::{ApiKey, GeminiConfig};
use crate::store::InterviewRecord;

/// The categories the model scores, in order.
pub const CATEGORIES: [&str; 5] = [
    "structure",
    "relevance",
    "specificity",
    "communication",
    "role_knowledge",
];

#[derive(Debug, Error)]
pub enum FeedbackError {
    #[error("the transcript holds none of the candidate's words")]
    NoTranscript,
    #[error("the feedback request failed: {0}")]
    Transport(String),
    #[error("the feedback request timed out")]
    Timeout,
    #[error("the Gemini API answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("the Gemini API's answer is not usable feedback: {0}")]
    Invalid(String),
}

impl FeedbackError {
    /// The reason shown beside metrics-only results.
    pub fn user_message(&self) -> String {
        match self {
            FeedbackError::NoTranscript => {
                "No transcript of your words was recorded, so only the measured feedback is available."
                    .into()
            }
            e => format!("The AI assessment could not be produced ({e}); the measured feedback is complete."),
        }
    }
}

/// Asks Gemini for feedback on a transcript.
#[derive(Debug, Clone)]
pub struct FeedbackClient {
    http: reqwest::Client,
    base_url: String,
    model: String,
    key: ApiKey,
    timeout: Duration,
}

impl FeedbackClient {
    /// None without an API key.
    pub fn new(cfg: &GeminiConfig) -> Option<Self> {
        let key = cfg.api_key.clone()?;
        let http = candor_http::client_builder()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .ok()?;
        Some(Self {
            http,
            base_url: cfg.base_url.trim_end_matches('/').to_owned(),
            model: cfg.feedback_model.clone(),
            key,
            timeout: cfg.feedback_timeout,
        })
    }

    /// The model's assessment of `feedback`'s transcript.
    pub async fn assess(
        &self,
        interview: &InterviewRecord,
        feedback: &Feedback,
    ) -> Result<AiFeedback, FeedbackError> {
        if !feedback
            .transcript
            .iter()
            .any(|s| s.speaker == Speaker::Candidate && !s.text.trim().starts_with('['))
        {
            return Err(FeedbackError::NoTranscript);
        }
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            self.base_url,
            crate::engine::gemini::url_encode(&self.model)
        );
        let body = request_body(interview, feedback);
        let send = self
            .http
            .post(url)
            // In a header rather than the URL: request URLs end up in logs.
            .header("x-goog-api-key", self.key.expose())
            .json(&body)
            .send();
        let res = tokio::time::timeout(self.timeout, async {
            let res = send
                .await
                .map_err(|e| FeedbackError::Transport(e.without_url().to_string()))?;
            let status = res.status().as_u16();
            let text = res
                .text()
                .await
                .map_err(|e| FeedbackError::Transport(e.without_url().to_string()))?;
            Ok::<_, FeedbackError>((status, text))
        })
        .await
        .map_err(|_| FeedbackError::Timeout)??;
        parse_response(res.0, &res.1, &self.model)
    }
}

/// The prompt: the interview's setting, the measured metrics and the transcript.
fn prompt(interview: &InterviewRecord, f: &Feedback) -> String {
    let mut p = format!(
        "Interview for a {} {} role ({} questions planned).\n",
        interview.seniority.spoken(),
        interview.role.spoken(),
        interview.question_count
    );
    if let Some(jd) = interview
        .job_description
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        let jd: String = jd.chars().take(6000).collect();
        p.push_str(&format!("Job description:\n<<<\n{jd}\n>>>\n"));
    }
    let o = &f.overall;
    p.push_str(&format!(
        "\nMeasured: candidate spoke {:.0} s, interviewer {:.0} s; {} of {} questions answered",
        o.candidate_speaking_ms as f64 / 1000.0,
        o.interviewer_speaking_ms as f64 / 1000.0,
        o.questions_answered,
        o.questions_asked
    ));
    if let Some(w) = o.words_per_minute {
        p.push_str(&format!("; {w:.0} words per minute"));
    }
    if let Some(fw) = &o.filler_words {
        p.push_str(&format!(
            "; {} filler words ({:.1} per 100 words)",
            fw.total, fw.per_100_words
        ));
    }
    p.push_str(
        ".\n\nTranscript (automatic speech recognition; ignore small recognition errors):\n",
    );
    for s in &f.transcript {
        let who = match s.speaker {
            Speaker::Interviewer => "Interviewer",
            Speaker::Candidate => "Candidate",
        };
        p.push_str(&format!(
            "[{:>4} s] {who}: {}\n",
            s.start_ms / 1000,
            s.text.trim()
        ));
    }
    p
}

const INSTRUCTION: &str = "You are an expert interview coach. Assess the candidate's answers in \
the transcript of a practice job interview. Be specific and fair: base every score and remark on \
what the candidate actually said, quote or paraphrase it, and do not invent content. Scores are \
0-100 (50 = adequate, 80 = strong). Categories: structure (clear situation-action-result \
structure), relevance (answers the question asked), specificity (concrete examples, numbers, \
outcomes, own contribution), communication (clarity and concision), role_knowledge (depth \
expected at this seniority). Give 2-4 strengths and 2-4 improvements, each one actionable \
sentence. For the weakest answer, say what it lacked and write a better answer in the \
candidate's voice, using only facts the candidate mentioned (mark any placeholder in [brackets]).";

fn schema() -> Value {
    let string = json!({"type": "STRING"});
    json!({
        "type": "OBJECT",
        "properties": {
            "summary": string,
            "scores": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "category": {"type": "STRING", "enum": CATEGORIES},
                        "score": {"type": "INTEGER"},
                        "reason": string,
                    },
                    "required": ["category", "score", "reason"],
                },
            },
            "strengths": {"type": "ARRAY", "items": string},
            "improvements": {"type": "ARRAY", "items": string},
            "weakest_answer": {
                "type": "OBJECT",
                "properties": {
                    "question": string,
                    "why": string,
                    "better_answer": string,
                },
                "required": ["question", "why", "better_answer"],
            },
        },
        "required": ["summary", "scores", "strengths", "improvements", "weakest_answer"],
    })
}

/// The `generateContent` request body.
pub fn request_body(interview: &InterviewRecord, feedback: &Feedback) -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": INSTRUCTION}]},
        "contents": [{"role": "user", "parts": [{"text": prompt(interview, feedback)}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": schema(),
            "temperature": 0.3,
        },
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<CandidateContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<TextPart>,
}

#[derive(Debug, Deserialize)]
struct TextPart {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thought: bool,
}

/// The model's JSON, as the schema asks for it.
#[derive(Debug, Deserialize)]
struct ModelFeedback {
    summary: String,
    scores: Vec<ModelScore>,
    #[serde(default)]
    strengths: Vec<String>,
    #[serde(default)]
    improvements: Vec<String>,
    #[serde(default)]
    weakest_answer: Option<SuggestedAnswer>,
}

#[derive(Debug, Deserialize)]
struct ModelScore {
    category: String,
    score: i64,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    error: ApiErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ApiErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

/// Turns the HTTP answer into feedback, validating the model's JSON.
pub fn parse_response(status: u16, body: &str, model: &str) -> Result<AiFeedback, FeedbackError> {
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<ApiErrorBody>(body)
            .map(|b| {
                format!("{} {}", b.error.status, b.error.message)
                    .trim()
                    .to_owned()
            })
            .unwrap_or_else(|_| "no error details".into());
        return Err(FeedbackError::Api { status, message });
    }
    let res: GenerateResponse =
        serde_json::from_str(body).map_err(|e| FeedbackError::Invalid(e.to_string()))?;
    let cand = res.candidates.into_iter().next().ok_or_else(|| {
        FeedbackError::Invalid("no candidates (the prompt may have been blocked)".into())
    })?;
    let text: String = cand
        .content
        .map(|c| {
            c.parts
                .into_iter()
                .filter(|p| !p.thought)
                .filter_map(|p| p.text)
                .collect()
        })
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(FeedbackError::Invalid(format!(
            "empty answer (finish reason {})",
            cand.finish_reason.as_deref().unwrap_or("unknown")
        )));
    }
    let m: ModelFeedback =
        serde_json::from_str(&text).map_err(|e| FeedbackError::Invalid(e.to_string()))?;
    let mut scores = Vec::new();
    for s in m.scores {
        if !CATEGORIES.contains(&s.category.as_str()) {
            continue;
        }
        if !(0..=100).contains(&s.score) {
            return Err(FeedbackError::Invalid(format!(
                "score {} for {} is outside 0-100",
                s.score, s.category
            )));
        }
        if scores.iter().any(|x: &AiScore| x.category == s.category) {
            continue;
        }
        scores.push(AiScore {
            category: s.category,
            score: s.score as u32,
            reason: s.reason.trim().to_owned(),
        });
    }
    if scores.is_empty() || m.summary.trim().is_empty() {
        return Err(FeedbackError::Invalid("no scores or no summary".into()));
    }
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Ok(AiFeedback {
        model: model.to_owned(),
        summary: m.summary.trim().to_owned(),
        scores,
        strengths: clean(m.strengths),
        improvements: clean(m.improvements),
        weakest_answer: m
            .weakest_answer
            .filter(|w| !w.better_answer.trim().is_empty()),
    })
}

/// Adds the AI assessment to `feedback`, or marks it metrics-only with the
/// reason. Without a client (no key configured) it stays metrics-only.
pub async fn enrich(
    client: Option<&FeedbackClient>,
    interview: &InterviewRecord,
    feedback: &mut Feedback,
) {
    let Some(client) = client else {
        feedback.feedback_source = FeedbackSource::MetricsOnly;
        return;
    };
    match client.assess(interview, feedback).await {
        Ok(ai) => {
            feedback.feedback_source = FeedbackSource::Ai;
            feedback.ai = Some(ai);
            feedback.ai_unavailable_reason = None;
        }
        Err(e) => {
            tracing::warn!(interview = %interview.id, error = %e, "AI feedback unavailable; storing the measured feedback");
            feedback.feedback_source = FeedbackSource::MetricsOnly;
            feedback.ai = None;
            feedback.ai_unavailable_reason = Some(e.user_message());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(model_json: &Value) -> String {
        json!({"candidates": [{"content": {"parts": [{"text": model_json.to_string()}]}, "finishReason": "STOP"}]})
            .to_string()
    }

    #[test]
    fn a_valid_answer_becomes_feedback() {
        let body = wrap(&json!({
            "summary": "Clear answers.",
            "scores": [
                {"category": "structure", "score": 70, "reason": "Used STAR."},
                {"category": "made_up", "score": 10, "reason": "x"},
                {"category": "structure", "score": 10, "reason": "duplicate"}
            ],
            "strengths": ["Concrete numbers", " "],
            "improvements": ["State the result first"],
            "weakest_answer": {"question": "Q2?", "why": "No result.", "better_answer": "I cut costs by [X]%."}
        }));
        let f = parse_response(200, &body, "m").unwrap();
        assert_eq!(f.scores.len(), 1);
        assert_eq!(f.scores[0].score, 70);
        assert_eq!(f.strengths, vec!["Concrete numbers"]);
        assert_eq!(f.weakest_answer.unwrap().question, "Q2?");
    }

    #[test]
    fn bad_answers_are_errors() {
        assert!(matches!(
            parse_response(
                429,
                r#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#,
                "m"
            ),
            Err(FeedbackError::Api { status: 429, .. })
        ));
        assert!(matches!(
            parse_response(200, "not json", "m"),
            Err(FeedbackError::Invalid(_))
        ));
        assert!(matches!(
            parse_response(200, r#"{"candidates":[]}"#, "m"),
            Err(FeedbackError::Invalid(_))
        ));
        let out_of_range = wrap(
            &json!({"summary": "s", "scores": [{"category": "structure", "score": 140, "reason": "r"}],
            "strengths": [], "improvements": []}),
        );
        assert!(matches!(
            parse_response(200, &out_of_range, "m"),
            Err(FeedbackError::Invalid(_))
        ));
    }
}
