//! The report: one HTML page holding the results' content (scores with
//! their explanations, the measured metrics, each question, the AI
//! assessment when there is one, the candidate's words, the transcript),
//! styled inline and fit for printing. It loads nothing: no script, no font,
//! no image, so it opens the same anywhere, offline, for as long as it is kept.

use candor_api::{Feedback, Speaker};

use super::transcript::clock;
use crate::store::InterviewRecord;

/// `&`, `<`, `>`, `"` escaped for HTML text and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `talk_time_balance` → "Talk time balance" (as the app labels scores).
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Unix ms as a UTC date and time, `2026-12-01 06:15 UTC`.
pub(super) fn utc(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60
    )
}

fn secs(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {:02} s", ms / 60_000, ms / 1000 % 60)
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; max-width: 860px; margin: 32px auto; padding: 0 20px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid #d9dde5; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 4px; }
.meta { color: #5b6475; margin: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px; list-style: none; padding: 0; }
.card { border: 1px solid #d9dde5; border-radius: 8px; padding: 10px 12px; break-inside: avoid; }
.score { font-size: 24px; font-weight: 700; }
.muted { color: #5b6475; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
ol.questions { padding-left: 20px; }
ol.questions li { margin-bottom: 12px; break-inside: avoid; }
.transcript p { margin: 2px 0; }
.transcript .who { font-weight: 600; }
.transcript .at { color: #5b6475; font-variant-numeric: tabular-nums; margin-right: 6px; }
blockquote { margin: 6px 0; padding-left: 12px; border-left: 3px solid #d9dde5; }
@media print { body { margin: 0; max-width: none; font-size: 11pt; } h2 { break-after: avoid; } a { color: inherit; text-decoration: none; } }
"#;

/// The report page of `interview` with `feedback`. `audio_note` says what
/// audio the folder holds (or why there is none).
pub fn html(interview: &InterviewRecord, feedback: &Feedback, audio_note: &str) -> String {
    let title = format!(
        "Interview practice: {} ({}), {}",
        label(interview.role.as_str()),
        interview.seniority.as_str(),
        utc(interview.created_at_ms)
    );
    let o = &feedback.overall;
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may load: the page is whole on its own.
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    ));
    h.push_str(&format!(
        "<h1>Your interview feedback</h1>\n<p class=\"meta\">{}</p>\n",
        esc(&title)
    ));
    h.push_str(&format!(
        "<p class=\"meta\">{} · {} of {} questions answered · exported by Candor</p>\n",
        secs(o.duration_ms),
        o.questions_answered,
        o.questions_asked.max(interview.question_count)
    ));
    h.push_str(&format!("<p class=\"meta\">{}</p>\n", esc(audio_note)));

    if let Some(ai) = &feedback.ai {
        h.push_str("<h2>The interviewer's assessment</h2>\n");
        h.push_str(&format!("<p>{}</p>\n", esc(&ai.summary)));
        if !ai.scores.is_empty() {
            h.push_str("<table>\n");
            for s in &ai.scores {
                h.push_str(&format!(
                    "<tr><th>{}</th><td>{}/100</td><td>{}</td></tr>\n",
                    esc(&label(&s.category)),
                    s.score,
                    esc(&s.reason)
                ));
            }
            h.push_str("</table>\n");
        }
        for (heading, items) in [
            ("What went well", &ai.strengths),
            ("What to work on", &ai.improvements),
        ] {
            if !items.is_empty() {
                h.push_str(&format!("<h3>{heading}</h3>\n<ul>\n"));
                for i in items {
                    h.push_str(&format!("<li>{}</li>\n", esc(i)));
                }
                h.push_str("</ul>\n");
            }
        }
        if let Some(w) = &ai.weakest_answer {
            h.push_str(&format!(
                "<h3>A stronger answer</h3>\n<p class=\"muted\">{}</p>\n<p>{}</p>\n<blockquote>{}</blockquote>\n",
                esc(&w.question),
                esc(&w.why),
                esc(&w.better_answer)
            ));
        }
        h.push_str(&format!(
            "<p class=\"muted\">Written by {} from the transcript.</p>\n",
            esc(&ai.model)
        ));
    } else if let Some(why) = &feedback.ai_unavailable_reason {
        h.push_str(&format!(
            "<p class=\"muted\">No written assessment: {}</p>\n",
            esc(why)
        ));
    }

    h.push_str("<h2>Scores</h2>\n");
    if feedback.scores.is_empty() {
        h.push_str("<p class=\"muted\">No scores were produced for this interview.</p>\n");
    } else {
        h.push_str("<ul class=\"grid\">\n");
        for s in &feedback.scores {
            h.push_str(&format!(
                "<li class=\"card\"><h3>{}</h3><div class=\"score\">{}<small>/100</small></div><p>{}</p></li>\n",
                esc(&label(&s.name)),
                s.value,
                esc(&s.explanation)
            ));
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>At a glance</h2>\n<table>\n");
    let mut row = |k: &str, v: String| {
        h.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            esc(k),
            esc(&v)
        ));
    };
    row("Length", secs(o.duration_ms));
    row("You spoke", secs(o.candidate_speaking_ms));
    row("The interviewer spoke", secs(o.interviewer_speaking_ms));
    row(
        "Your share of talking",
        format!("{:.0}%", o.talk_time_ratio * 100.0),
    );
    row(
        "Longest answer without a break",
        secs(o.longest_monologue_ms),
    );
    row("Interruptions", o.interruptions.to_string());
    if let Some(wpm) = o.words_per_minute {
        row("Pace", format!("{wpm:.0} words per minute"));
    }
    if let Some(f) = &o.filler_words {
        row(
            "Filler words",
            format!("{} ({:.1} per 100 words)", f.total, f.per_100_words),
        );
    }
    h.push_str("</table>\n");

    h.push_str("<h2>Question by question</h2>\n");
    if feedback.questions.is_empty() {
        h.push_str("<p class=\"muted\">No questions were asked.</p>\n");
    } else {
        h.push_str("<ol class=\"questions\">\n");
        for q in &feedback.questions {
            let mut facts = vec![if q.answered {
                format!("answer {}", secs(q.answer_duration_ms))
            } else {
                "not answered".to_owned()
            }];
            if let Some(l) = q.response_latency_ms {
                facts.push(format!("started after {}", secs(l)));
            }
            facts.push(format!("{} pauses", q.pauses));
            if q.pauses > 0 {
                facts.push(format!("longest pause {}", secs(q.longest_pause_ms)));
            }
            if let Some(w) = q.words_per_minute {
                facts.push(format!("{w:.0} wpm"));
            }
            if let Some(f) = q.filler_words {
                facts.push(format!("{f} filler words"));
            }
            if q.follow_ups_asked > 0 {
                facts.push(format!("{} follow-ups", q.follow_ups_asked));
            }
            h.push_str(&format!(
                "<li><h3>{}</h3><p class=\"muted\">{}</p>",
                esc(&q.question),
                esc(&facts.join(" · "))
            ));
            for n in &q.notes {
                h.push_str(&format!("<p>{}</p>", esc(n)));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ol>\n");
    }

    if feedback.job_terms.is_some() || !feedback.most_used_words.is_empty() {
        h.push_str("<h2>Your words</h2>\n");
        if let Some(t) = &feedback.job_terms {
            h.push_str(&format!(
                "<p>Key terms of the job description you used: {}.</p>\n",
                esc(&if t.used.is_empty() {
                    "none".to_owned()
                } else {
                    t.used.join(", ")
                })
            ));
            if !t.missing.is_empty() {
                h.push_str(&format!(
                    "<p>Not used: {}.</p>\n",
                    esc(&t.missing.join(", "))
                ));
            }
        }
        if !feedback.most_used_words.is_empty() {
            let words: Vec<String> = feedback
                .most_used_words
                .iter()
                .map(|w| format!("{} ×{}", w.word, w.count))
                .collect();
            h.push_str(&format!(
                "<p>Your most used words: {}.</p>\n",
                esc(&words.join(", "))
            ));
        }
    }

    h.push_str("<h2>Transcript</h2>\n<div class=\"transcript\">\n");
    if feedback.transcript.is_empty() {
        h.push_str("<p class=\"muted\">No transcript was recorded for this interview.</p>\n");
    }
    for s in &feedback.transcript {
        let who = match s.speaker {
            Speaker::Interviewer => "Interviewer",
            Speaker::Candidate => "You",
        };
        h.push_str(&format!(
            "<p><span class=\"at\">{}</span><span class=\"who\">{who}:</span> {}</p>\n",
            clock(s.start_ms),
            esc(s.text.trim())
        ));
    }
    h.push_str("</div>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_825_600_000), "2000-02-29 12:00 UTC");
        assert_eq!(utc(1_796_106_900_000), "2026-12-01 06:35 UTC");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b>\"a\" & b</b>"),
            "&lt;b&gt;&quot;a&quot; &amp; b&lt;/b&gt;"
        );
        assert_eq!(label("talk_time_balance"), "Talk time balance");
    }
}
