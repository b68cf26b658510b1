//! Results processing: from a finished session's timeline (transcript with
//! timings, candidate speech spans) to feedback with plain-language scores.
//!
//! Everything here is a pure function of the stored timeline, so results can
//! be recomputed after a restart and tested without a server. The optional
//! AI assessment is added between [`prepare`] and [`save`] by
//! [`crate::feedback`].

use candor_api::{
    Feedback, FeedbackSource, FillerCount, FillerWords, InterviewStatus, JobTerms, OverallMetrics,
    QuestionFeedback, Score, Speaker, TranscriptSegment, WordCount,
};

use crate::auth::now_ms;
use crate::content;
use crate::store::{InterviewRecord, SegmentKind, Store, StoreError, Timeline, TranscriptRecord};

/// A silence inside an answer at least this long counts as a pause.
pub const PAUSE_THRESHOLD_MS: u64 = 1000;
/// Key terms taken from a job description.
const JOB_TERMS: usize = 12;
/// Most used words shown.
const MOST_USED: usize = 8;

/// Computes and stores the measured feedback of an interview's latest
/// session (no AI step).
pub fn process(store: &dyn Store, interview_id: &str) -> Result<(), StoreError> {
    match prepare(store, interview_id)? {
        Some(p) => save(store, &p),
        None => Ok(()),
    }
}

/// An interview's measured feedback, computed and not yet stored (the AI
/// step of [`crate::feedback`] may add to it).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub interview: InterviewRecord,
    pub session_id: String,
    pub feedback: Feedback,
}

/// Computes the measured feedback of an interview's latest session. An
/// interview without a session is marked failed (None).
pub fn prepare(store: &dyn Store, interview_id: &str) -> Result<Option<Prepared>, StoreError> {
    let Some(session) = store.latest_session(interview_id)? else {
        store.set_interview_status(interview_id, InterviewStatus::Failed, now_ms())?;
        return Ok(None);
    };
    let Some(timeline) = store.timeline(&session.id)? else {
        return Err(StoreError::NotFound("session"));
    };
    let interview = store
        .interview(interview_id)?
        .ok_or(StoreError::NotFound("interview"))?;
    let feedback = compute(
        &timeline,
        interview.job_description.as_deref(),
        interview.question_count,
    );
    Ok(Some(Prepared {
        interview,
        session_id: session.id,
        feedback,
    }))
}

/// Stores prepared feedback; the interview becomes ready.
pub fn save(store: &dyn Store, p: &Prepared) -> Result<(), StoreError> {
    let json =
        serde_json::to_string(&p.feedback).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store.save_results(&p.interview.id, &p.session_id, &json, now_ms())
}

/// True when a candidate segment holds recognised words rather than the
/// offline placeholder (`[answer, 42 s]`).
fn has_words(t: &TranscriptRecord) -> bool {
    t.speaker == Speaker::Candidate && !t.text.trim_start().starts_with('[')
}

/// Words per minute of `text` spoken over `speaking_ms`.
pub fn words_per_minute(text: &str, speaking_ms: u64) -> Option<f64> {
    if speaking_ms == 0 {
        return None;
    }
    let words = text.split_whitespace().count();
    Some(words as f64 * 60_000.0 / speaking_ms as f64)
}

const FILLERS: [&str; 12] = [
    "you know",
    "i mean",
    "kind of",
    "sort of",
    "um",
    "uh",
    "er",
    "erm",
    "ah",
    "like",
    "basically",
    "literally",
];

/// A drawn-out hesitation as it is written down ("umm", "uhhh", "errr",
/// "ahh") in its short form; any other word as it is.
fn hesitation(word: &str) -> String {
    for short in ["um", "uh", "er", "ah"] {
        let mut letters = short.chars();
        let (first, last) = (letters.next(), letters.next());
        let mut chars = word.chars().peekable();
        let mut run = |c: Option<char>| {
            let mut n = 0;
            while chars.peek().copied() == c {
                chars.next();
                n += 1;
            }
            n
        };
        if run(first) >= 1 && run(last) >= 1 && chars.peek().is_none() {
            return short.to_owned();
        }
    }
    word.to_owned()
}

/// Counts filler words and phrases (case-insensitive, whole words; a
/// drawn-out "umm" is an "um").
pub fn filler_words(text: &str) -> FillerWords {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| hesitation(&w.to_lowercase()))
        .collect();
    let mut counts: Vec<FillerCount> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let mut matched = false;
        for f in FILLERS {
            let parts: Vec<&str> = f.split(' ').collect();
            if i + parts.len() <= words.len() && parts.iter().zip(&words[i..]).all(|(p, w)| *p == w)
            {
                match counts.iter_mut().find(|c| c.word == f) {
                    Some(c) => c.count += 1,
                    None => counts.push(FillerCount {
                        word: f.to_owned(),
                        count: 1,
                    }),
                }
                i += parts.len();
                matched = true;
                break;
            }
        }
        if !matched {
            i += 1;
        }
    }
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.word.cmp(&b.word)));
    let total: u32 = counts.iter().map(|c| c.count).sum();
    FillerWords {
        total,
        per_100_words: if words.is_empty() {
            0.0
        } else {
            total as f64 * 100.0 / words.len() as f64
        },
        counts,
    }
}

fn secs(ms: u64) -> String {
    let s = (ms as f64 / 1000.0).round() as u64;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// Clips speech spans to a window.
fn spans_in(speech: &[(u64, u64)], from: u64, to: u64) -> Vec<(u64, u64)> {
    speech
        .iter()
        .filter(|(a, b)| *b > from && *a < to)
        .map(|&(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| b > a)
        .collect()
}

/// Where on the session clock the candidate may answer one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerWindow {
    pub question_index: u32,
    /// After the question, or where the candidate cut into it.
    pub from_ms: u64,
    /// The next question, the closing, or the end of the session.
    pub to_ms: u64,
}

/// Each asked question's answer window, in order of asking: the one rule
/// the per-question feedback and the exported answers share.
pub fn answer_windows(t: &Timeline) -> Vec<AnswerWindow> {
    let duration_ms = session_length_ms(t);
    let interviewer = || {
        t.transcript
            .iter()
            .filter(|s| s.speaker == Speaker::Interviewer)
    };
    let questions: Vec<&TranscriptRecord> = interviewer()
        .filter(|s| s.kind == SegmentKind::Question)
        .collect();
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| AnswerWindow {
            question_index: q.question_index,
            // The answer starts after the question, or inside it when the
            // candidate cut in.
            from_ms: if q.interrupted { q.start_ms } else { q.end_ms },
            to_ms: questions
                .get(i + 1)
                .map(|n| n.start_ms)
                .or_else(|| {
                    interviewer()
                        .find(|s| s.kind == SegmentKind::Closing)
                        .map(|s| s.start_ms)
                })
                .unwrap_or(duration_ms),
        })
        .collect()
}

/// The session's length: as recorded, or as far as anything in it reaches.
fn session_length_ms(t: &Timeline) -> u64 {
    let last_end = t
        .transcript
        .iter()
        .map(|s| s.end_ms)
        .chain(t.speech.iter().map(|s| s.1))
        .max()
        .unwrap_or(0);
    t.session.duration_ms.unwrap_or(0).max(last_end)
}

/// The feedback of one session; `job_description`, when the candidate gave
/// one, is what their words are checked against; `planned_questions` is how
/// many questions the interview was set up with.
pub fn compute(t: &Timeline, job_description: Option<&str>, planned_questions: u32) -> Feedback {
    let interviewer: Vec<&TranscriptRecord> = t
        .transcript
        .iter()
        .filter(|s| s.speaker == Speaker::Interviewer)
        .collect();
    let duration_ms = session_length_ms(t);
    // The candidate's speech. Sound heard only while the interviewer itself
    // was talking, and ended before it stopped, is left out: a talker who
    // cuts in goes on after the interviewer yields (its turn ends at the
    // interruption), its own echo does not, and neither is a murmur of
    // assent an answer or speaking time.
    let heard: Vec<(u64, u64)> = t
        .speech
        .iter()
        .copied()
        .filter(|&(a, b)| !interviewer.iter().any(|s| s.start_ms <= a && b <= s.end_ms))
        .collect();

    // Questions in order of asking.
    let questions: Vec<&TranscriptRecord> = interviewer
        .iter()
        .copied()
        .filter(|s| s.kind == SegmentKind::Question)
        .collect();
    let windows = answer_windows(t);
    let mut per_question = Vec::new();
    for (q, w) in questions.iter().zip(&windows) {
        let (from, window_end) = (w.from_ms, w.to_ms);
        // Interviewer turns inside the window (follow-ups, remarks) are not
        // part of the candidate's pauses.
        let busy: Vec<(u64, u64)> = interviewer
            .iter()
            .filter(|s| s.start_ms >= from && s.start_ms < window_end)
            .map(|s| (s.start_ms, s.end_ms))
            .collect();
        let spans = spans_in(&heard, from, window_end);
        let speaking_ms: u64 = spans.iter().map(|(a, b)| b - a).sum();
        let mut pauses = 0;
        let mut longest_pause_ms = 0;
        for w in spans.windows(2) {
            let (gap_a, gap_b) = (w[0].1, w[1].0);
            let interviewer_spoke = busy.iter().any(|(a, b)| *a < gap_b && *b > gap_a);
            let gap = gap_b.saturating_sub(gap_a);
            if !interviewer_spoke && gap >= PAUSE_THRESHOLD_MS {
                pauses += 1;
                longest_pause_ms = longest_pause_ms.max(gap);
            }
        }
        let answered = !spans.is_empty();
        let answer_duration_ms = match (spans.first(), spans.last()) {
            (Some(a), Some(b)) => b.1 - a.0,
            _ => 0,
        };
        let response_latency_ms = spans.first().map(|(a, _)| a.saturating_sub(q.end_ms));
        let words: String = t
            .transcript
            .iter()
            .filter(|s| has_words(s) && s.question_index == q.question_index)
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let wpm = if words.is_empty() {
            None
        } else {
            words_per_minute(&words, speaking_ms)
        };
        let fillers = (!words.is_empty()).then(|| filler_words(&words).total);
        let follow_ups_asked = interviewer
            .iter()
            .filter(|s| s.kind == SegmentKind::FollowUp && s.question_index == q.question_index)
            .count() as u32;
        let mut notes = Vec::new();
        if !answered {
            notes.push("No answer was heard for this question.".to_owned());
        } else {
            if answer_duration_ms < 20_000 {
                notes.push(format!(
                    "The answer lasted {}. Strong answers usually take 30 seconds to 2 minutes: add a concrete example and its result.",
                    secs(answer_duration_ms)
                ));
            } else if answer_duration_ms > 180_000 {
                notes.push(format!(
                    "The answer lasted {}. Consider a shorter version that leads with the result.",
                    secs(answer_duration_ms)
                ));
            }
            if let Some(l) = response_latency_ms.filter(|l| *l > 5_000) {
                notes.push(format!(
                    "You took {} before starting. A short bridge (\"Let me think about a good example\") helps.",
                    secs(l)
                ));
            }
            if longest_pause_ms >= 4_000 {
                notes.push(format!("The longest pause was {}.", secs(longest_pause_ms)));
            }
            if !words.is_empty() {
                notes.extend(content::notes(&content::analyse(&words)));
            }
        }
        for f in interviewer
            .iter()
            .filter(|s| s.kind == SegmentKind::FollowUp && s.question_index == q.question_index)
        {
            notes.push(format!(
                "The interviewer followed up: \u{201c}{}\u{201d}",
                f.text
            ));
        }
        per_question.push(QuestionFeedback {
            index: q.question_index,
            question: q.text.clone(),
            follow_ups_asked,
            answered,
            response_latency_ms,
            answer_duration_ms,
            speaking_ms,
            pauses,
            longest_pause_ms,
            pause_threshold_ms: PAUSE_THRESHOLD_MS,
            words_per_minute: wpm,
            filler_words: fillers,
            notes,
        });
    }

    let candidate_speaking_ms: u64 = heard.iter().map(|(a, b)| b.saturating_sub(*a)).sum();
    let interviewer_speaking_ms: u64 = interviewer
        .iter()
        .map(|s| s.end_ms.saturating_sub(s.start_ms))
        .sum();
    let talk_total = candidate_speaking_ms + interviewer_speaking_ms;
    let talk_time_ratio = if talk_total == 0 {
        0.0
    } else {
        candidate_speaking_ms as f64 / talk_total as f64
    };
    let longest_monologue_ms = t
        .transcript
        .iter()
        .filter(|s| s.speaker == Speaker::Candidate)
        .map(|s| s.end_ms.saturating_sub(s.start_ms))
        .chain(per_question.iter().map(|q| q.answer_duration_ms))
        .max()
        .unwrap_or(0);
    let interruptions = interviewer.iter().filter(|s| s.interrupted).count() as u32;
    let all_words: String = t
        .transcript
        .iter()
        .filter(|s| has_words(s))
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let (words_per_minute, filler) = if all_words.is_empty() {
        (None, None)
    } else {
        (
            words_per_minute(&all_words, candidate_speaking_ms),
            Some(filler_words(&all_words)),
        )
    };
    let overall = OverallMetrics {
        duration_ms,
        candidate_speaking_ms,
        interviewer_speaking_ms,
        talk_time_ratio,
        longest_monologue_ms,
        interruptions,
        questions_asked: per_question.len() as u32,
        questions_answered: per_question.iter().filter(|q| q.answered).count() as u32,
        words_per_minute,
        filler_words: filler,
    };
    // The interviewer closing the interview itself means every question it
    // meant to ask was asked; any other end cut the interview short.
    let finished = t.session.end_reason.as_deref() == Some("interview_complete");
    let expected = if finished {
        overall.questions_asked
    } else {
        planned_questions.max(overall.questions_asked)
    };
    let scores = scores(&overall, &per_question, expected);
    Feedback {
        session_id: t.session.id.clone(),
        end_reason: t.session.end_reason.clone().unwrap_or_default(),
        overall,
        questions: per_question,
        scores,
        transcript: t
            .transcript
            .iter()
            .map(|s| TranscriptSegment {
                speaker: s.speaker,
                text: s.text.clone(),
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                question_index: s.question_index,
            })
            .collect(),
        computed_at_ms: now_ms(),
        interviewer_voice: t.session.output.is_some(),
        feedback_source: FeedbackSource::MetricsOnly,
        ai: None,
        ai_unavailable_reason: None,
        job_terms: job_description
            .filter(|_| !all_words.is_empty())
            .map(|jd| content::key_terms(jd, JOB_TERMS))
            .filter(|terms| !terms.is_empty())
            .map(|terms| {
                let (used, missing) = content::covered_terms(&terms, &all_words);
                JobTerms {
                    used: used.into_iter().map(str::to_owned).collect(),
                    missing: missing.into_iter().map(str::to_owned).collect(),
                }
            }),
        most_used_words: content::most_used_words(&all_words, MOST_USED)
            .into_iter()
            .map(|(word, count)| WordCount { word, count })
            .collect(),
    }
}

fn clamp_score(v: f64) -> u32 {
    v.round().clamp(0.0, 100.0) as u32
}

/// `expected`: the questions the candidate should have answered (the planned
/// ones, unless the interviewer finished with fewer).
fn scores(o: &OverallMetrics, qs: &[QuestionFeedback], expected: u32) -> Vec<Score> {
    let mut out = Vec::new();
    let pct = (o.talk_time_ratio * 100.0).round();
    let balance = if o.talk_time_ratio < 0.55 {
        100.0 - (0.55 - o.talk_time_ratio) * 200.0
    } else if o.talk_time_ratio > 0.8 {
        100.0 - (o.talk_time_ratio - 0.8) * 300.0
    } else {
        100.0
    };
    out.push(Score {
        name: "talk_time_balance".into(),
        value: clamp_score(balance),
        explanation: format!(
            "You spoke for {} and the interviewer for {}: {pct}% of the talking was yours. \
             In an interview the candidate usually does best with 55–80% of the talking; \
             the score drops 2 points per percentage point below 55% and 3 per point above 80%.",
            secs(o.candidate_speaking_ms),
            secs(o.interviewer_speaking_ms)
        ),
    });

    let answered: Vec<&QuestionFeedback> = qs.iter().filter(|q| q.answered).collect();
    if !answered.is_empty() {
        let mut lat: Vec<u64> = answered
            .iter()
            .filter_map(|q| q.response_latency_ms)
            .collect();
        lat.sort_unstable();
        let median = lat.get(lat.len() / 2).copied().unwrap_or(0);
        out.push(Score {
            name: "responsiveness".into(),
            value: clamp_score(100.0 - (median.saturating_sub(3000) as f64 / 1000.0) * 10.0),
            explanation: format!(
                "Your typical (median) time from the end of a question to your first word was {}. \
                 Up to 3 seconds scores full marks; each further second costs 10 points.",
                secs(median)
            ),
        });

        let per: Vec<f64> = answered
            .iter()
            .map(|q| {
                let d = q.answer_duration_ms as f64;
                if d < 30_000.0 {
                    100.0 * d / 30_000.0
                } else if d <= 120_000.0 {
                    100.0
                } else {
                    (100.0 - (d - 120_000.0) / 3000.0).max(40.0)
                }
            })
            .collect();
        let durations: Vec<String> = answered
            .iter()
            .map(|q| secs(q.answer_duration_ms))
            .collect();
        out.push(Score {
            name: "answer_depth".into(),
            value: clamp_score(per.iter().sum::<f64>() / per.len() as f64),
            explanation: format!(
                "Your answers lasted {}. Answers of 30 seconds to 2 minutes score full marks \
                 (enough for a situation, your action and its result); shorter ones score in \
                 proportion, longer ones lose a point every 3 seconds.",
                durations.join(", ")
            ),
        });

        let pauses: u32 = answered.iter().map(|q| q.pauses).sum();
        let speaking: u64 = answered.iter().map(|q| q.speaking_ms).sum();
        let longest = answered
            .iter()
            .map(|q| q.longest_pause_ms)
            .max()
            .unwrap_or(0);
        let per_min = if speaking == 0 {
            0.0
        } else {
            pauses as f64 * 60_000.0 / speaking as f64
        };
        let long_penalty = (longest.saturating_sub(4000) as f64 / 1000.0) * 5.0;
        out.push(Score {
            name: "fluency".into(),
            value: clamp_score(100.0 - (per_min - 3.0).max(0.0) * 10.0 - long_penalty),
            explanation: format!(
                "You paused {pauses} time(s) for {} s or more while answering ({per_min:.1} per \
                 minute of speech); the longest pause was {}. Up to 3 pauses a minute is natural; \
                 each more costs 10 points, and every second of a pause beyond 4 s costs 5.",
                PAUSE_THRESHOLD_MS / 1000,
                secs(longest)
            ),
        });
    }

    if let Some(wpm) = o.words_per_minute {
        let off = if wpm < 120.0 {
            120.0 - wpm
        } else if wpm > 160.0 {
            wpm - 160.0
        } else {
            0.0
        };
        out.push(Score {
            name: "pace".into(),
            value: clamp_score(100.0 - off * 2.0),
            explanation: format!(
                "You spoke at {wpm:.0} words per minute. 120–160 is easy to follow; \
                 each word per minute outside that band costs 2 points."
            ),
        });
    }
    if let Some(f) = &o.filler_words {
        out.push(Score {
            name: "filler_words".into(),
            value: clamp_score(100.0 - (f.per_100_words - 2.0).max(0.0) * 10.0),
            explanation: format!(
                "You used {} filler word(s), {:.1} per 100 words. Up to 2 per 100 words goes \
                 unnoticed; each more per 100 words costs 10 points.",
                f.total, f.per_100_words
            ),
        });
    }

    out.push(Score {
        name: "composure".into(),
        value: clamp_score(100.0 - o.interruptions as f64 * 15.0),
        explanation: format!(
            "You started speaking while the interviewer was still talking {} time(s); each costs 15 points.",
            o.interruptions
        ),
    });
    if expected > 0 {
        let explanation = if expected > o.questions_asked {
            format!(
                "You answered {} of the {expected} planned questions (the interview ended after {} of them); the score is the share of planned questions with an answer.",
                o.questions_answered, o.questions_asked
            )
        } else {
            format!(
                "You answered {} of the {expected} questions; the score is the share of questions with an answer.",
                o.questions_answered
            )
        };
        out.push(Score {
            name: "completion".into(),
            value: clamp_score(o.questions_answered as f64 * 100.0 / expected as f64),
            explanation,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionRecord;

    fn seg(
        speaker: Speaker,
        kind: SegmentKind,
        q: u32,
        a: u64,
        b: u64,
        text: &str,
    ) -> TranscriptRecord {
        TranscriptRecord {
            segment_id: a,
            speaker,
            kind,
            text: text.into(),
            start_ms: a,
            end_ms: b,
            question_index: q,
            interrupted: false,
        }
    }

    fn session() -> SessionRecord {
        SessionRecord {
            id: "s".into(),
            interview_id: "i".into(),
            user_id: "u".into(),
            engine: "practice".into(),
            end_reason: Some("interview_complete".into()),
            started_at_ms: 0,
            ended_at_ms: Some(1),
            duration_ms: Some(100_000),
            last_client_seq: 0,
            input: None,
            output: None,
            owner: None,
            lease_until_ms: None,
        }
    }

    #[test]
    fn filler_words_count_words_and_phrases() {
        let f = filler_words(
            "Um, so I was, like, you know, kind of leading it. Um... UH, basically done.",
        );
        assert_eq!(f.total, 7);
        assert_eq!(
            f.counts[0],
            FillerCount {
                word: "um".into(),
                count: 2
            }
        );
        assert!(f.counts.iter().any(|c| c.word == "you know"));
        assert!(f.counts.iter().any(|c| c.word == "kind of"));
        // "likely", "umbrella" and "erase" are not fillers.
        assert_eq!(filler_words("likely umbrella erase").total, 0);
        assert_eq!(filler_words("").per_100_words, 0.0);
    }

    #[test]
    fn drawn_out_hesitations_count_as_their_short_form() {
        let f = filler_words("Umm, it was, uhhh, a big one. Errr... ahh. Mum, huh, errand.");
        assert_eq!(f.total, 4, "{f:?}");
        for word in ["um", "uh", "er", "ah"] {
            assert!(
                f.counts.iter().any(|c| c.word == word && c.count == 1),
                "{f:?}"
            );
        }
    }

    #[test]
    fn completion_counts_the_planned_questions_unless_the_interviewer_finished() {
        use SegmentKind::*;
        use Speaker::*;
        let one_answer = |end_reason: &str| Timeline {
            session: SessionRecord {
                end_reason: Some(end_reason.into()),
                ..session()
            },
            transcript: vec![
                seg(Interviewer, Question, 1, 0, 3_000, "Q1?"),
                seg(Candidate, Answer, 1, 4_000, 20_000, "[answer, 16 s]"),
            ],
            speech: vec![(4_000, 20_000)],
        };
        let completion = |f: &Feedback| {
            f.scores
                .iter()
                .find(|s| s.name == "completion")
                .cloned()
                .expect("a completion score")
        };
        // Five planned, the candidate ended it after the first.
        let cut = completion(&compute(&one_answer("user_initiated"), None, 5));
        assert_eq!(cut.value, 20);
        assert!(
            cut.explanation.contains("1 of the 5 planned questions"),
            "{}",
            cut.explanation
        );
        // The interviewer closed the interview after one: nothing was cut.
        let done = completion(&compute(&one_answer("interview_complete"), None, 5));
        assert_eq!(done.value, 100);
        assert!(
            done.explanation.contains("1 of the 1 questions"),
            "{}",
            done.explanation
        );
    }

    /// The whole path results take: the interview's planned count comes from
    /// its stored record, the end from its stored session.
    #[test]
    fn prepared_results_of_a_cut_interview_count_its_planned_questions() {
        use crate::store::{SessionWrite, SqliteStore, UserRecord};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .create_user(&UserRecord {
                id: "u".into(),
                email: Some("ada@example.org".into()),
                display_name: "Ada".into(),
                password_hash: None,
                local_profile: None,
                created_at_ms: 0,
            })
            .unwrap();
        store
            .create_interview(&InterviewRecord {
                id: "i".into(),
                user_id: "u".into(),
                role: candor_api::Role::SoftwareEngineer,
                seniority: candor_api::Seniority::Mid,
                job_description: None,
                cv_text: None,
                question_count: 5,
                status: InterviewStatus::Created,
                created_at_ms: 0,
                updated_at_ms: 0,
                retry_of: None,
            })
            .unwrap();
        store
            .create_session(&SessionRecord {
                end_reason: None,
                ended_at_ms: None,
                duration_ms: None,
                ..session()
            })
            .unwrap();
        let write = |segment| SessionWrite::Transcript {
            session_id: "s".into(),
            segment,
        };
        store
            .record(&[
                write(seg(
                    Speaker::Interviewer,
                    SegmentKind::Question,
                    1,
                    0,
                    3_000,
                    "Q1?",
                )),
                write(seg(
                    Speaker::Candidate,
                    SegmentKind::Answer,
                    1,
                    4_000,
                    20_000,
                    "[answer, 16 s]",
                )),
                SessionWrite::Speech {
                    session_id: "s".into(),
                    start_ms: 4_000,
                    end_ms: 20_000,
                },
            ])
            .unwrap();
        // The candidate ended it after the first of five questions.
        store.end_session("s", "user_initiated", 1, 25_000).unwrap();

        let prepared = prepare(&store, "i").unwrap().expect("a session ran");
        let completion = prepared
            .feedback
            .scores
            .iter()
            .find(|s| s.name == "completion")
            .expect("a completion score");
        assert_eq!(prepared.feedback.overall.questions_asked, 1);
        assert_eq!(
            completion.value, 20,
            "1 answered of 5 planned, not of 1 asked"
        );
        assert!(
            completion
                .explanation
                .contains("You answered 1 of the 5 planned questions"),
            "{}",
            completion.explanation
        );
    }

    #[test]
    fn words_per_minute_from_text() {
        let text = "one two three four five six seven eight nine ten";
        assert_eq!(words_per_minute(text, 5_000), Some(120.0));
        assert_eq!(words_per_minute(text, 0), None);
    }

    #[test]
    fn sound_only_inside_the_interviewers_own_turn_is_neither_an_answer_nor_speaking_time() {
        use SegmentKind::*;
        use Speaker::*;
        let t = Timeline {
            session: session(),
            transcript: vec![
                seg(Interviewer, Question, 1, 0, 5_000, "Q1?"),
                seg(Interviewer, Remark, 1, 25_000, 27_500, "Let's move on."),
                seg(Interviewer, Question, 2, 27_500, 32_000, "Q2?"),
                seg(Candidate, Answer, 2, 33_000, 38_000, "[answer, 5 s]"),
                seg(Interviewer, Closing, 2, 40_000, 42_000, "Bye"),
            ],
            // Two blips of the interviewer's own echo inside its remark;
            // then an answer to Q2 that began while Q2 was still asked.
            speech: vec![(25_500, 25_540), (25_900, 25_940), (31_000, 38_000)],
        };
        let f = compute(&t, None, 2);
        let q1 = &f.questions[0];
        assert!(!q1.answered, "echo in the remark is not an answer");
        assert_eq!(q1.response_latency_ms, None);
        assert_eq!(q1.speaking_ms, 0);
        let q2 = &f.questions[1];
        assert!(q2.answered, "speech going on past the question is");
        assert_eq!(f.overall.questions_answered, 1);
        assert_eq!(
            f.overall.candidate_speaking_ms, 7_000,
            "the blips are not speaking time either"
        );
    }

    #[test]
    fn per_question_latency_duration_and_pauses() {
        use SegmentKind::*;
        use Speaker::*;
        let t = Timeline {
            session: session(),
            transcript: vec![
                seg(Interviewer, Greeting, 0, 0, 3_000, "Hello"),
                seg(Interviewer, Question, 1, 3_000, 8_000, "Q1?"),
                seg(Candidate, Answer, 1, 10_000, 40_000, "[answer, 30 s]"),
                seg(Interviewer, Remark, 1, 41_000, 42_000, "Thanks."),
                seg(Interviewer, Question, 2, 42_000, 47_000, "Q2?"),
                seg(
                    Candidate,
                    Answer,
                    2,
                    48_000,
                    53_000,
                    "Um I think, like, it went well",
                ),
                seg(Interviewer, Closing, 2, 60_000, 65_000, "Bye"),
            ],
            // Q1: speech 10–20 s, pause 2 s, 22–30 s, pause 0.5 s, 30.5–40 s.
            speech: vec![
                (10_000, 20_000),
                (22_000, 30_000),
                (30_500, 40_000),
                (48_000, 53_000),
            ],
        };
        let f = compute(&t, None, 2);
        assert_eq!(f.questions.len(), 2);
        let q1 = &f.questions[0];
        assert_eq!(q1.response_latency_ms, Some(2_000));
        assert_eq!(q1.answer_duration_ms, 30_000);
        assert_eq!(q1.speaking_ms, 27_500);
        assert_eq!((q1.pauses, q1.longest_pause_ms), (1, 2_000));
        let q2 = &f.questions[1];
        assert_eq!(q2.response_latency_ms, Some(1_000));
        assert_eq!(q2.filler_words, Some(2));
        assert_eq!(q2.words_per_minute, Some(7.0 * 60.0 / 5.0));
        assert_eq!(f.overall.candidate_speaking_ms, 32_500);
        assert_eq!(f.overall.interviewer_speaking_ms, 19_000);
        assert!((f.overall.talk_time_ratio - 32_500.0 / 51_500.0).abs() < 1e-9);
        assert_eq!(f.overall.longest_monologue_ms, 30_000);
        assert_eq!(f.overall.questions_answered, 2);
        assert!(f.overall.words_per_minute.is_some());
        let names: Vec<&str> = f.scores.iter().map(|s| s.name.as_str()).collect();
        for n in [
            "talk_time_balance",
            "responsiveness",
            "answer_depth",
            "fluency",
            "pace",
            "filler_words",
            "composure",
            "completion",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        assert!(
            f.scores
                .iter()
                .all(|s| s.value <= 100 && !s.explanation.is_empty())
        );
        let balance = &f.scores[0];
        assert!(
            balance.explanation.contains("63%"),
            "{}",
            balance.explanation
        );
    }

    #[test]
    fn the_candidates_words_give_notes_job_terms_and_most_used_words() {
        use SegmentKind::*;
        use Speaker::*;
        let answer = "We had a payment outage at my last company during a busy week. \
                      I wrote the rollback plan and I moved payment traffic to Postgres replicas.";
        let t = Timeline {
            session: session(),
            transcript: vec![
                seg(
                    Interviewer,
                    Question,
                    1,
                    0,
                    3_000,
                    "Tell me about an incident.",
                ),
                seg(Candidate, Answer, 1, 4_000, 30_000, answer),
                seg(
                    Interviewer,
                    FollowUp,
                    1,
                    31_000,
                    33_000,
                    "Could you tell me a bit more? What was the measurable result?",
                ),
                seg(
                    Candidate,
                    Answer,
                    1,
                    34_000,
                    40_000,
                    "Payment errors stopped.",
                ),
            ],
            speech: vec![(4_000, 30_000), (34_000, 40_000)],
        };
        let jd = "Backend role on payment systems: Postgres, Kubernetes and incident response.";
        let f = compute(&t, Some(jd), 2);
        let notes = &f.questions[0].notes;
        assert!(notes.iter().any(|n| n.contains("No number")), "{notes:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("followed up") && n.contains("measurable result")),
            "{notes:?}"
        );
        let terms = f.job_terms.expect("a job description was given");
        assert!(terms.used.contains(&"payment".to_owned()), "{terms:?}");
        assert!(terms.used.contains(&"postgres".to_owned()), "{terms:?}");
        assert!(
            terms.missing.contains(&"kubernetes".to_owned()),
            "{terms:?}"
        );
        assert_eq!(f.most_used_words[0].word, "payment");
        assert_eq!(f.most_used_words[0].count, 3);
        // Without words (offline, no recognition) there is nothing to check.
        let mut silent = t.clone();
        for s in &mut silent.transcript {
            if s.speaker == Candidate {
                s.text = "[answer, 26 s]".into();
            }
        }
        let f = compute(&silent, Some(jd), 2);
        assert!(f.job_terms.is_none() && f.most_used_words.is_empty());
    }

    #[test]
    fn offline_placeholder_is_not_counted_as_words() {
        let t = Timeline {
            session: session(),
            transcript: vec![
                seg(
                    Speaker::Interviewer,
                    SegmentKind::Question,
                    1,
                    0,
                    1_000,
                    "Q?",
                ),
                seg(
                    Speaker::Candidate,
                    SegmentKind::Answer,
                    1,
                    2_000,
                    4_000,
                    "[answer, 2 s]",
                ),
            ],
            speech: vec![(2_000, 4_000)],
        };
        let f = compute(&t, None, 2);
        assert_eq!(f.overall.words_per_minute, None);
        assert_eq!(f.overall.filler_words, None);
        assert_eq!(f.questions[0].words_per_minute, None);
    }
}
