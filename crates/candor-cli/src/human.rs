//! Text output for people: state lines, the transcript, a level meter, the
//! history table and the results. (`--json` prints the engine's events instead.)

use std::io::{IsTerminal, Write};

use candor_client::ipc::{Attempt, InterviewSummary, Results, Speaker};

pub fn error(message: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "candor: {message}");
}

/// A question on stderr, without a newline (the answer follows on the same line).
pub fn prompt(question: &str) {
    let mut err = std::io::stderr();
    let _ = write!(err, "{question}");
    let _ = err.flush();
}

pub fn is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// A state change, in the seed's words.
pub fn state(name: &str, detail: &str) {
    clear_meter();
    let text = match name {
        "unauthenticated" => "Signed out",
        "authenticating" => "Signing in…",
        "idle" => "Ready",
        "initializing" => "Creating the interview…",
        "requestingPermissions" => "Opening the microphone…",
        "permissionsDenied" => "Microphone unavailable",
        "connecting" => "Connecting…",
        "live" => "Live — the interviewer is with you",
        "reconnecting" => "Connection lost — reconnecting (your audio is kept)…",
        "ending" => "Ending session…",
        "processingResults" => "Analyzing your interview…",
        "resultsReady" => "Results ready",
        "error" => "Error",
        other => other,
    };
    if detail.is_empty() {
        println!("● {text}");
    } else {
        println!("● {text}: {detail}");
    }
}

/// A settled transcript line.
pub fn transcript(speaker: Speaker, text: &str) {
    clear_meter();
    let who = match speaker {
        Speaker::Interviewer => "Interviewer",
        Speaker::Candidate => "You",
    };
    println!("  {who}: {text}");
}

/// The input level on a line of its own that is redrawn (terminals only).
pub fn meter(level: f32, elapsed_ms: u64, question: (u32, u32)) {
    if !is_tty() {
        return;
    }
    let bars = (level.clamp(0.0, 1.0) * 20.0).round() as usize;
    let secs = elapsed_ms / 1000;
    let q = if question.1 > 0 {
        format!("Q{}/{}", question.0.max(1), question.1)
    } else {
        String::new()
    };
    print!(
        "\r  {:02}:{:02} {q:<6} mic [{}{}]",
        secs / 60,
        secs % 60,
        "#".repeat(bars),
        " ".repeat(20 - bars)
    );
    let _ = std::io::stdout().flush();
}

fn clear_meter() {
    if is_tty() {
        print!("\r\x1b[2K");
    }
}

pub fn history(items: &[InterviewSummary]) {
    if items.is_empty() {
        println!("No interviews yet. Start one with `candor practice`.");
        return;
    }
    for i in items {
        println!(
            "{}  {:<20} {:<8} {:<10} {}{}",
            i.created_at,
            i.role,
            i.seniority,
            format!("{:?}", i.status).to_lowercase(),
            i.id,
            i.retry_of
                .as_ref()
                .map(|r| format!(
                    "  (question {} of {} again)",
                    r.question_index, r.interview_id
                ))
                .unwrap_or_default()
        );
    }
}

pub fn results(r: &Results) {
    clear_meter();
    let o = &r.overall;
    println!();
    println!(
        "Results — {} ({}), {:.0} s",
        r.role, r.seniority, r.duration_sec
    );
    println!(
        "  You spoke {:.0} s, the interviewer {:.0} s (your share {:.0}%).",
        o.candidate_speaking_sec,
        o.interviewer_speaking_sec,
        o.talk_time_ratio * 100.0
    );
    if let Some(latency) = o.average_response_latency_sec {
        println!("  You started answering after {latency:.1} s on average.");
    }
    println!(
        "  Longest answer {:.0} s; you talked over the interviewer {} time(s).",
        o.longest_monologue_sec, o.interruptions
    );
    if let Some(wpm) = o.words_per_minute {
        println!("  Pace: {wpm:.0} words per minute.");
    }
    for s in &r.scores {
        println!(
            "  {:>3}/100  {} — {}",
            s.score.round(),
            s.label,
            s.explanation
        );
    }
    for q in &r.questions {
        println!(
            "  Q{} ({:.0} s, {} pause(s)): {}",
            q.index, q.answer_sec, q.pauses, q.question
        );
        if !q.note.is_empty() {
            println!("      {}", q.note);
        }
    }
    if let Some(retry) = &r.retry_of {
        println!(
            "  This answered question {} of interview {} again.",
            retry.question_index, retry.interview_id
        );
    }
    attempts(&r.attempts);
}

/// Every attempt at a question answered more than once, one line each.
fn attempts(attempts: &[Attempt]) {
    let mut questions: Vec<u32> = attempts.iter().map(|a| a.question_index).collect();
    questions.sort_unstable();
    questions.dedup();
    for q in questions {
        println!("  Attempts at question {q}:");
        for a in attempts.iter().filter(|a| a.question_index == q) {
            let mut line = format!(
                "    {}  {:<11} answer {:.0} s, {} pause(s)",
                a.created_at,
                if a.first { "first" } else { "again" },
                a.answer_sec,
                a.pauses
            );
            if let Some(l) = a.response_latency_sec {
                line.push_str(&format!(", started after {l:.1} s"));
            }
            if let Some(wpm) = a.words_per_minute {
                line.push_str(&format!(", {wpm:.0} wpm"));
            }
            if let Some(f) = a.filler_words {
                line.push_str(&format!(", {f} filler word(s)"));
            }
            println!("{line}");
        }
    }
}
