//! What an answer's words say, as far as plain rules can tell: whether it
//! sets the scene, says what the candidate did (not only "we"), gives a
//! number or a result, whether it sounds finished, and which of the job
//! description's key terms it uses.
//!
//! Pure functions of text, shared by the practice interviewer (a follow-up
//! chosen from what was missing, the end of a turn) and by results (notes
//! that cite the answer, job-term coverage). Rules, not a model: each finding
//! is something the candidate can check against their own words.

use std::collections::BTreeMap;

/// Lower-case words of `text` (letters, digits, apostrophes, `%`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '%'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "percent",
    "half",
];

/// Words that report an outcome.
const OUTCOME_WORDS: &[&str] = &[
    "result",
    "resulted",
    "results",
    "outcome",
    "reduced",
    "increased",
    "improved",
    "saved",
    "cut",
    "grew",
    "doubled",
    "halved",
    "shipped",
    "launched",
    "delivered",
    "finished",
    "completed",
    "achieved",
    "won",
    "fixed",
    "solved",
    "resolved",
    "lowered",
    "raised",
    "faster",
    "cheaper",
    "fewer",
    "less",
    "more",
    "success",
    "successful",
    "successfully",
    "learned",
    "impact",
];

/// Words that set the scene of a story.
const SITUATION_WORDS: &[&str] = &[
    "when", "while", "at", "during", "project", "team", "company", "job", "role", "client",
    "customer", "last", "previous", "ago", "year", "was",
];

/// Verbs that, after "I", say what the candidate did.
fn is_action(word: &str) -> bool {
    !matches!(
        word,
        "am" | "was"
            | "think"
            | "guess"
            | "mean"
            | "don't"
            | "didn't"
            | "would"
            | "could"
            | "should"
            | "have"
            | "had"
            | "feel"
            | "felt"
            | "believe"
            | "suppose"
            | "like"
            | "um"
            | "uh"
            | "just"
            | "really"
            | "kind"
            | "sort"
            | "know"
    )
}

/// Words that leave a sentence open when they come last.
const OPEN_ENDINGS: &[&str] = &[
    "and", "but", "or", "so", "because", "that", "which", "who", "the", "a", "an", "to", "of",
    "with", "for", "in", "on", "at", "my", "our", "was", "were", "is", "i", "we", "um", "uh",
    "like", "then", "if",
];

/// What one answer's words show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnswerContent {
    pub word_count: usize,
    /// A phrase with a number in it ("forty services", "30%").
    pub number: Option<String>,
    /// A phrase that reports an outcome ("reduced the bill").
    pub outcome: Option<String>,
    /// "I" followed by what the candidate did ("I wrote").
    pub own_actions: Vec<String>,
    /// How often the candidate said "we".
    pub we_count: usize,
    /// The answer places itself (when, where, which team or project).
    pub sets_scene: bool,
}

/// The few words around `words[i]`, as the candidate said them.
fn phrase(words: &[String], i: usize) -> String {
    let from = i.saturating_sub(1);
    let to = (i + 3).min(words.len());
    words[from..to].join(" ")
}

fn is_number(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&word)
}

/// Reads one answer.
pub fn analyse(text: &str) -> AnswerContent {
    let w = words(text);
    let mut c = AnswerContent {
        word_count: w.len(),
        ..AnswerContent::default()
    };
    let mut scene_hits = 0;
    for (i, word) in w.iter().enumerate() {
        if c.number.is_none() && is_number(word) {
            c.number = Some(phrase(&w, i));
        }
        if c.outcome.is_none() && OUTCOME_WORDS.contains(&word.as_str()) {
            c.outcome = Some(phrase(&w, i));
        }
        if word == "i"
            && let Some(next) = w.get(i + 1)
            && is_action(next)
        {
            c.own_actions.push(format!("I {next}"));
        }
        if word == "we" {
            c.we_count += 1;
        }
        if SITUATION_WORDS.contains(&word.as_str()) {
            scene_hits += 1;
        }
    }
    c.sets_scene = scene_hits >= 2;
    c
}

/// Notes on an answer that cite it: what it did well and what it lacks, in
/// the structure interviewers listen for (situation, own actions, result).
/// Nothing for an answer too short to judge.
pub fn notes(c: &AnswerContent) -> Vec<String> {
    let mut out = Vec::new();
    if c.word_count < 12 {
        return out;
    }
    match (&c.number, &c.outcome) {
        (Some(n), _) => out.push(format!(
            "You backed the answer with a figure (\u{201c}{n}\u{201d}) — keep doing that."
        )),
        (None, Some(o)) => out.push(format!(
            "You named a result (\u{201c}{o}\u{201d}) but no number: say by how much, or how many."
        )),
        (None, None) => out.push(
            "No number or result was mentioned: end with what changed because of you, and by how much."
                .to_owned(),
        ),
    }
    if c.own_actions.is_empty() && c.we_count > 0 {
        out.push(format!(
            "You said \u{201c}we\u{201d} {} time(s) and never what you did yourself: say \u{201c}I …\u{201d} for your part.",
            c.we_count
        ));
    } else if c.own_actions.is_empty() {
        out.push("The answer never says what you did (\u{201c}I decided…\u{201d}, \u{201c}I built…\u{201d}).".to_owned());
    } else if c.we_count > 2 * c.own_actions.len() + 2 {
        out.push(format!(
            "\u{201c}We\u{201d} ({}) outnumbers your own actions ({}, e.g. \u{201c}{}\u{201d}): make your part clearer.",
            c.we_count,
            c.own_actions.len(),
            c.own_actions[0]
        ));
    }
    if !c.sets_scene {
        out.push(
            "The situation is missing: start with where and when this happened and what was at stake."
                .to_owned(),
        );
    }
    out
}

/// Every follow-up [`follow_up`] may ask (for speaking them in advance).
pub const FOLLOW_UPS: [&str; 3] = [
    "What was the measurable result?",
    "What did you personally do?",
    "Can you set the scene: where was this, and what was at stake?",
];

/// The follow-up an interviewer would ask about what the answer left out,
/// most telling gap first.
pub fn follow_up(c: &AnswerContent) -> Option<&'static str> {
    if c.word_count < 8 {
        return None;
    }
    if c.number.is_none() && c.outcome.is_none() {
        Some(FOLLOW_UPS[0])
    } else if c.own_actions.is_empty() {
        Some(FOLLOW_UPS[1])
    } else if !c.sets_scene {
        Some(FOLLOW_UPS[2])
    } else {
        None
    }
}

/// Whether a transcript so far reads as a finished thought: it ends a
/// sentence and does not stop on a word that leaves it open ("and", "the",
/// "um"). Empty text is not finished.
pub fn sounds_finished(text: &str) -> bool {
    let trimmed = text.trim_end();
    let Some(last) = words(trimmed).pop() else {
        return false;
    };
    let ends_sentence = trimmed.ends_with(['.', '!', '?']);
    ends_sentence && !OPEN_ENDINGS.contains(&last.as_str()) && !trimmed.ends_with("...")
}

/// Common words that are never a job's key term.
const STOPWORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "at",
    "by",
    "from",
    "as",
    "is",
    "are",
    "be",
    "will",
    "you",
    "your",
    "we",
    "our",
    "us",
    "this",
    "that",
    "it",
    "its",
    "they",
    "their",
    "who",
    "what",
    "which",
    "have",
    "has",
    "not",
    "can",
    "all",
    "about",
    "into",
    "across",
    "other",
    "more",
    "work",
    "working",
    "team",
    "teams",
    "role",
    "experience",
    "years",
    "strong",
    "ability",
    "skills",
    "looking",
    "join",
    "help",
    "new",
    "including",
    "within",
    "well",
    "plus",
    "must",
    "should",
    "would",
    "like",
    "also",
    "such",
    "using",
    "use",
    "based",
    "etc",
    "e",
    "g",
    "i",
    "ie",
    "eg",
    "do",
    "does",
    "how",
    "our",
    "if",
    "so",
    "out",
    "up",
    "them",
    "own",
    "any",
    "each",
    "both",
    "able",
    "great",
    "good",
    "high",
    "hiring",
    "hire",
    "engineer",
    "engineers",
    "developer",
    "developers",
    "build",
    "building",
    "company",
    "candidate",
    "ideal",
    "responsibilities",
    "requirements",
    "call",
    "day",
    "make",
];

/// The job description's key terms: its most frequent meaningful words,
/// first-seen order for ties, at most `max`.
pub fn key_terms(job_description: &str, max: usize) -> Vec<String> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, w) in words(job_description).into_iter().enumerate() {
        if w.len() < 3 || STOPWORDS.contains(&w.as_str()) || w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let e = counts.entry(w).or_insert((0, i));
        e.0 += 1;
    }
    let mut ranked: Vec<(String, usize, usize)> = counts
        .into_iter()
        .map(|(w, (n, first))| (w, n, first))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    ranked.into_iter().take(max).map(|(w, _, _)| w).collect()
}

/// Which of `terms` the candidate used (by whole word, any form that starts
/// with the term, so "deploy" covers "deployed").
pub fn covered_terms<'a>(terms: &'a [String], said: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let said = words(said);
    terms
        .iter()
        .map(String::as_str)
        .partition(|t| said.iter().any(|w| w.starts_with(t)))
}

/// The candidate's most used meaningful words, most used first.
pub fn most_used_words(said: &str, max: usize) -> Vec<(String, u32)> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for w in words(said) {
        if w.len() >= 4 && !STOPWORDS.contains(&w.as_str()) && !OPEN_ENDINGS.contains(&w.as_str()) {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, u32)> = counts.into_iter().filter(|(_, n)| *n > 1).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(max);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAR: &str = "Last year at my previous company our team was missing every release date. \
        I wrote a release checklist and I moved the tests into the pipeline. \
        As a result we cut the release time from two days to three hours.";

    #[test]
    fn a_full_story_has_scene_actions_and_a_figure() {
        let c = analyse(STAR);
        assert!(c.sets_scene);
        assert_eq!(c.own_actions, vec!["I wrote", "I moved"]);
        assert_eq!(c.number.as_deref(), Some("from two days to"));
        assert!(c.outcome.is_some());
        assert_eq!(follow_up(&c), None);
        let n = notes(&c);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].contains("two days"),
            "the note cites the answer: {n:?}"
        );
    }

    #[test]
    fn gaps_become_notes_and_the_follow_up() {
        let vague = analyse(
            "We talked about the problem and we made a plan and then we worked on it together \
             until everyone was happy with how it went.",
        );
        assert_eq!(follow_up(&vague), Some("What was the measurable result?"));
        let n = notes(&vague);
        assert!(n.iter().any(|n| n.contains("No number or result")), "{n:?}");
        assert!(
            n.iter().any(|n| n.contains("\u{201c}we\u{201d} 3 time(s)")),
            "{n:?}"
        );

        let no_self = analyse(
            "At my last job the team reduced costs by thirty percent when we moved the \
             servers to a cheaper provider.",
        );
        assert_eq!(follow_up(&no_self), Some("What did you personally do?"));
        assert_eq!(follow_up(&analyse("Yes.")), None, "too short to judge");
    }

    #[test]
    fn a_thought_is_finished_only_at_a_closed_sentence_end() {
        assert!(sounds_finished("We shipped it two weeks early."));
        assert!(sounds_finished("Does that answer it?"));
        assert!(!sounds_finished("The main thing I learned was"));
        assert!(!sounds_finished("I talked to the team and."));
        assert!(!sounds_finished("So, um..."));
        assert!(!sounds_finished("Then we, uh."));
        assert!(!sounds_finished(""));
    }

    #[test]
    fn job_terms_are_ranked_and_coverage_accepts_word_forms() {
        let jd = "We are hiring a backend engineer to build payment APIs in Rust. \
                  You will own payment reliability, on-call and Kubernetes deployments. \
                  Experience with Postgres and payment compliance is a plus.";
        let terms = key_terms(jd, 8);
        assert_eq!(terms[0], "payment");
        assert!(terms.contains(&"rust".to_owned()), "{terms:?}");
        let (used, missing) = covered_terms(
            &terms,
            "I built payments in Rust and deployed them on Kubernetes.",
        );
        assert!(
            used.contains(&"payment") && used.contains(&"rust"),
            "{used:?}"
        );
        assert!(!missing.contains(&"rust"));
        assert_eq!(used.len() + missing.len(), terms.len());
    }

    #[test]
    fn most_used_words_skip_the_small_ones() {
        let top = most_used_words("the billing billing system system system and and and", 2);
        assert_eq!(top, vec![("system".into(), 3), ("billing".into(), 2)]);
    }
}
