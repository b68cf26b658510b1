//! "Answer this again": a retry is an interview of its own that asks one
//! question of an earlier interview again. Two rules live here, apart from
//! the routes: what a new retry links to ([`link`]), and which answers a
//! ready interview's results list as the attempts at its retried questions
//! ([`related`] reads them, [`attempts`] orders them).
//!
//! Every retry names the first interview that asked its question (a retry
//! of a retry names the same one), so the attempts at a question are that
//! interview's answer and its retries at that question.

use candor_api::{Attempt, Feedback, InterviewStatus, QuestionFeedback};

use crate::store::{InterviewRecord, RetryOfRecord, Store, StoreError};

/// At most this many retries of one interview are read for its attempts.
pub(crate) const MAX_RETRIES: u32 = 100;

/// Why a question of an interview cannot be answered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotRetryable {
    /// The interview has no results (not yet, or they failed).
    NotReady,
    /// The interview asked no question of that index; `asked` holds the
    /// indices it did ask.
    NoSuchQuestion { asked: Vec<u32> },
}

/// What a retry of question `index` of `target` links to. `feedback` is the
/// target's stored results, if it has any. The target's own question, with
/// its text as asked there; when the target is itself a retry, the first
/// interview's question it retried.
pub(crate) fn link(
    target: &InterviewRecord,
    feedback: Option<&Feedback>,
    index: u32,
) -> Result<RetryOfRecord, NotRetryable> {
    let feedback = match feedback {
        Some(f) if target.status == InterviewStatus::Ready => f,
        _ => return Err(NotRetryable::NotReady),
    };
    let asked = question(feedback, index).ok_or_else(|| NotRetryable::NoSuchQuestion {
        asked: feedback.questions.iter().map(|q| q.index).collect(),
    })?;
    Ok(match &target.retry_of {
        Some(first) => first.clone(),
        None => RetryOfRecord {
            interview_id: target.id.clone(),
            question_index: index,
            question: asked.question.clone(),
        },
    })
}

/// The interviews whose answers are attempts at the questions a ready
/// interview shares with others, with their feedback.
#[derive(Debug, Default)]
pub(crate) struct Related {
    /// For a retry: the first interview, when it still exists, is the same
    /// user's and has results.
    first: Option<(InterviewRecord, Feedback)>,
    /// The first interview's retries that have results, oldest first; for
    /// a retry, those at its question other than itself.
    retries: Vec<(InterviewRecord, Feedback)>,
}

/// Reads what [`attempts`] needs for `interview` (ready, the caller's): at
/// most three store calls, one for all the feedback.
pub(crate) fn related(
    store: &dyn Store,
    interview: &InterviewRecord,
) -> Result<Related, StoreError> {
    let (first_id, at) = match &interview.retry_of {
        Some(r) => (r.interview_id.as_str(), Some(r.question_index)),
        None => (interview.id.as_str(), None),
    };
    let retries: Vec<InterviewRecord> = store
        .retries_of(&interview.user_id, first_id, MAX_RETRIES)?
        .into_iter()
        .filter(|r| {
            r.status == InterviewStatus::Ready
                && r.id != interview.id
                && r.retry_of
                    .as_ref()
                    .is_some_and(|l| at.is_none_or(|k| l.question_index == k))
        })
        .collect();
    let first = match at {
        Some(_) => store
            .interview(first_id)?
            .filter(|f| f.user_id == interview.user_id && f.status == InterviewStatus::Ready),
        None => None,
    };
    let ids: Vec<String> = first.iter().chain(&retries).map(|i| i.id.clone()).collect();
    if ids.is_empty() {
        return Ok(Related::default());
    }
    let mut found = store.results_of(&ids)?;
    let mut feedback_of = |i: InterviewRecord| -> Option<(InterviewRecord, Feedback)> {
        let at = found.iter().position(|(id, _)| *id == i.id)?;
        let (_, json) = found.swap_remove(at);
        match serde_json::from_str(&json) {
            Ok(f) => Some((i, f)),
            Err(e) => {
                // One unreadable result leaves out its attempt only.
                tracing::error!(interview = %i.id, error = %e, "stored feedback does not parse");
                None
            }
        }
    };
    Ok(Related {
        first: first.and_then(&mut feedback_of),
        retries: retries.into_iter().filter_map(feedback_of).collect(),
    })
}

/// Every attempt at the questions `interview` (ready, with `feedback`)
/// shares with others, oldest first; empty when nothing was retried.
///
/// For a retry of question k of a first interview: the first answer there
/// (while that interview is there to read) and every retry of it at k with
/// results, this one included. For a first interview: for each question
/// answered again, its own answer (these first, by question), then every
/// retry with results. Each attempt carries k; its feedback is the
/// answering interview's, as stored (a retry's question is its question 1).
pub(crate) fn attempts(
    interview: &InterviewRecord,
    feedback: &Feedback,
    related: Related,
) -> Vec<Attempt> {
    let Related { first, retries } = related;
    match &interview.retry_of {
        Some(link) => {
            let k = link.question_index;
            let mut out: Vec<Attempt> = first
                .iter()
                .filter_map(|(f, fb)| Some(attempt(f, k, question(fb, k)?)))
                .collect();
            let mut again: Vec<Attempt> = retries
                .iter()
                .map(|(r, fb)| (r, fb))
                .chain([(interview, feedback)])
                .filter_map(|(r, fb)| Some(attempt(r, k, question(fb, 1)?)))
                .collect();
            again.sort_by(|a, b| {
                (a.created_at_ms, &a.interview_id).cmp(&(b.created_at_ms, &b.interview_id))
            });
            out.extend(again);
            out
        }
        None => {
            let again: Vec<Attempt> = retries
                .iter()
                .filter_map(|(r, fb)| {
                    let k = r.retry_of.as_ref()?.question_index;
                    Some(attempt(r, k, question(fb, 1)?))
                })
                .collect();
            let mut retried: Vec<u32> = again.iter().map(|a| a.question_index).collect();
            retried.sort_unstable();
            retried.dedup();
            retried
                .into_iter()
                .filter_map(|k| Some(attempt(interview, k, question(feedback, k)?)))
                .chain(again)
                .collect()
        }
    }
}

/// Question `index` of a feedback.
fn question(feedback: &Feedback, index: u32) -> Option<&QuestionFeedback> {
    feedback.questions.iter().find(|q| q.index == index)
}

/// `interview`'s answer to question k of the first interview.
fn attempt(interview: &InterviewRecord, k: u32, answer: &QuestionFeedback) -> Attempt {
    Attempt {
        interview_id: interview.id.clone(),
        created_at_ms: interview.created_at_ms,
        question_index: k,
        feedback: answer.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_api::{Role, Seniority};

    fn interview(id: &str, at: i64, retry_of: Option<(&str, u32)>) -> InterviewRecord {
        InterviewRecord {
            id: id.into(),
            user_id: "u1".into(),
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: if retry_of.is_some() { 1 } else { 3 },
            status: InterviewStatus::Ready,
            created_at_ms: at,
            updated_at_ms: at,
            retry_of: retry_of.map(|(id, k)| RetryOfRecord {
                interview_id: id.into(),
                question_index: k,
                question: format!("question {k} of {id}?"),
            }),
        }
    }

    /// Feedback whose questions are `asked` (index, text), each answered
    /// for `index * 1000 + salt` ms, so attempts can be told apart.
    fn feedback(asked: &[(u32, &str)], salt: u64) -> Feedback {
        let questions: Vec<serde_json::Value> = asked
            .iter()
            .map(|(index, text)| {
                serde_json::json!({
                    "index": index, "question": text, "follow_ups_asked": 0, "answered": true,
                    "answer_duration_ms": u64::from(*index) * 1000 + salt, "speaking_ms": 0,
                    "pauses": 0, "longest_pause_ms": 0, "pause_threshold_ms": 1500, "notes": []
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "session_id": "s", "end_reason": "interview_complete",
            "overall": {"duration_ms": 1, "candidate_speaking_ms": 0, "interviewer_speaking_ms": 0,
                        "talk_time_ratio": 0.0, "longest_monologue_ms": 0, "interruptions": 0,
                        "questions_asked": asked.len(), "questions_answered": asked.len()},
            "questions": questions, "scores": [], "transcript": [], "computed_at_ms": 5
        }))
        .unwrap()
    }

    fn first_feedback() -> Feedback {
        feedback(
            &[(1, "Q one?"), (2, "Let's see. Q two?"), (3, "Q three?")],
            0,
        )
    }

    /// (interview, question index, the answer's duration) of each attempt.
    fn summary(attempts: &[Attempt]) -> Vec<(&str, u32, u64)> {
        attempts
            .iter()
            .map(|a| {
                (
                    a.interview_id.as_str(),
                    a.question_index,
                    a.feedback.answer_duration_ms,
                )
            })
            .collect()
    }

    #[test]
    fn a_retry_links_to_the_question_as_asked_and_a_retry_of_a_retry_to_the_first() {
        let first = interview("o", 1, None);
        let fb = first_feedback();
        let link2 = link(&first, Some(&fb), 2).unwrap();
        assert_eq!(
            link2,
            RetryOfRecord {
                interview_id: "o".into(),
                question_index: 2,
                question: "Let's see. Q two?".into(),
            }
        );
        let mut retry = interview("r", 2, None);
        retry.retry_of = Some(link2.clone());
        let again = link(&retry, Some(&feedback(&[(1, "Q two?")], 5)), 1).unwrap();
        assert_eq!(again, link2, "the same first interview and question");

        for index in [0, 4] {
            assert_eq!(
                link(&first, Some(&fb), index),
                Err(NotRetryable::NoSuchQuestion {
                    asked: vec![1, 2, 3]
                })
            );
        }
        let mut live = first.clone();
        live.status = InterviewStatus::InProgress;
        assert_eq!(link(&live, None, 1), Err(NotRetryable::NotReady));
        let mut failed = first.clone();
        failed.status = InterviewStatus::Failed;
        assert_eq!(link(&failed, None, 1), Err(NotRetryable::NotReady));
        assert_eq!(link(&first, None, 1), Err(NotRetryable::NotReady));
    }

    #[test]
    fn a_retrys_attempts_are_the_first_answer_and_every_retry_oldest_first() {
        let first = interview("o", 1, None);
        let me = interview("r2", 30, Some(("o", 2)));
        let related = Related {
            first: Some((first, first_feedback())),
            retries: vec![
                (
                    interview("r1", 20, Some(("o", 2))),
                    feedback(&[(1, "Q two?")], 7),
                ),
                (
                    interview("r3", 40, Some(("o", 2))),
                    feedback(&[(1, "Q two?")], 9),
                ),
            ],
        };
        let got = attempts(&me, &feedback(&[(1, "Q two?")], 8), related);
        assert_eq!(
            summary(&got),
            [
                ("o", 2, 2000),
                ("r1", 2, 1007),
                ("r2", 2, 1008),
                ("r3", 2, 1009)
            ]
        );
        assert_eq!(got[0].created_at_ms, 1);
        assert_eq!(got[0].feedback.question, "Let's see. Q two?");
        assert_eq!(got[1].feedback.index, 1, "as stored in the retry");

        // The first interview deleted: the retries' answers alone.
        let got = attempts(&me, &feedback(&[(1, "Q two?")], 8), Related::default());
        assert_eq!(summary(&got), [("r2", 2, 1008)]);
    }

    #[test]
    fn a_first_interviews_attempts_are_its_answers_first_then_its_retries() {
        let first = interview("o", 1, None);
        let related = Related {
            first: None,
            retries: vec![
                (
                    interview("r1", 20, Some(("o", 3))),
                    feedback(&[(1, "Q three?")], 1),
                ),
                (
                    interview("r2", 30, Some(("o", 1))),
                    feedback(&[(1, "Q one?")], 2),
                ),
                (
                    interview("r3", 40, Some(("o", 3))),
                    feedback(&[(1, "Q three?")], 3),
                ),
                // A retry that ended before its question was asked.
                (interview("r4", 50, Some(("o", 2))), feedback(&[], 0)),
            ],
        };
        let got = attempts(&first, &first_feedback(), related);
        assert_eq!(
            summary(&got),
            [
                ("o", 1, 1000),
                ("o", 3, 3000),
                ("r1", 3, 1001),
                ("r2", 1, 1002),
                ("r3", 3, 1003)
            ]
        );
        assert!(attempts(&first, &first_feedback(), Related::default()).is_empty());
    }
}
