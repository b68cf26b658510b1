//! What the offline interviewer's voice costs before it can speak: the
//! interview's first line synthesized cold (the first synthesis in the
//! process, Flite's set-up included), the first question (not yet cached) and
//! the same question again (cached), each through `voice::Voice` as a session
//! uses it (synthesis, resampling to 24 kHz, Opus encoding, as the app asks). The
//! baseline, measured in the same run on the same texts, is the voice Candor
//! used before: an espeak-ng process per line, its WAV resampled and encoded
//! the same way (skipped with a note when espeak-ng is not installed).
//!
//! Last, the working memory a line costs while it is synthesized: the growth
//! of the process's peak resident set (Linux's `VmHWM`, reset through
//! `/proc/self/clear_refs`) over its resident set just before, for one sentence
//! (the baseline) and for a four-sentence line that contains it. Synthesis
//! goes sentence by sentence, so the line costs its longest sentence's
//! synthesis plus its own audio (samples and Opus frames), not synthesis
//! working memory in proportion to its length (skipped where `/proc` cannot
//! be reset).
//!
//! ```text
//! cargo bench -p candor-server --bench voice
//! ```

use std::process::Command;
use std::time::{Duration, Instant};

use candor_api::{Role, Seniority};
use candor_audio::Codec;
use candor_server::engine::questions;
use candor_server::voice::{Voice, encode_clip};

const RATE_HZ: u32 = 24_000;
const WPM: u32 = 165;

fn main() {
    let greeting = "Hello, and thanks for joining. I'm your practice interviewer for this \
        mid-level software engineer interview. I'll ask you 5 questions. Take your time \
        with each answer.";
    let plan = questions::plan(Role::SoftwareEngineer, Seniority::Mid, 5, "bench");
    let first = plan[0].text.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let voice = Voice::new(WPM, RATE_HZ).unwrap();
    let timed = |text: &str| {
        let t = Instant::now();
        let said = runtime
            .block_on(voice.say(text, Codec::Opus))
            .expect("the voice speaks");
        (t.elapsed(), said.frame_count() as f64 * 0.02)
    };
    let (cold, greeting_secs) = timed(greeting);
    let (question, question_secs) = timed(&first);
    let (cached, _) = timed(&first);

    println!("offline interviewer voice, {WPM} words per minute, sent at {RATE_HZ} Hz");
    println!(
        "  first line, cold       {:>8.1} ms for {greeting_secs:.1} s of speech ({:.0}x real time)",
        ms(cold),
        greeting_secs / cold.as_secs_f64()
    );
    println!(
        "  first question         {:>8.1} ms for {question_secs:.1} s of speech ({:.0}x real time)",
        ms(question),
        question_secs / question.as_secs_f64()
    );
    println!("  first question, cached {:>8.3} ms", ms(cached));

    match espeak_line(&first).zip(espeak_line(greeting)) {
        Some(((espeak_q, espeak_q_secs), (espeak_g, _))) => {
            println!("  baseline: espeak-ng as a process (the previous voice), same texts");
            println!(
                "  first line             {:>8.1} ms   in-process / baseline {:.2}",
                ms(espeak_g),
                cold.as_secs_f64() / espeak_g.as_secs_f64()
            );
            println!(
                "  first question         {:>8.1} ms for {espeak_q_secs:.1} s   in-process / baseline {:.2}",
                ms(espeak_q),
                question.as_secs_f64() / espeak_q.as_secs_f64()
            );
        }
        None => println!("  baseline skipped: espeak-ng is not installed"),
    }

    let sentence = "I'm your practice interviewer for this senior product manager interview.";
    let line = "Hello, and welcome back. I'm your practice interviewer for this senior \
        product manager interview. I'll ask you 7 questions about the product. Take your \
        time with each answer.";
    let peak = |text: &str| {
        peak_growth_kib(|| {
            runtime
                .block_on(voice.say(text, Codec::Opus))
                .expect("the voice speaks");
        })
    };
    match peak(sentence).zip(peak(line)) {
        Some((one, four)) => {
            println!("  working memory while synthesizing (peak resident growth)");
            println!("  one sentence           {one:>8} KiB");
            println!(
                "  four-sentence line     {four:>8} KiB   line / sentence {:.2}",
                four as f64 / one.max(1) as f64
            );
        }
        None => println!("  working memory skipped: /proc/self/clear_refs is not writable"),
    }
}

/// How far the process's peak resident set rises above its resident set
/// while `work` runs, in KiB. None where the peak cannot be reset.
fn peak_growth_kib(work: impl FnOnce()) -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let before = status_kib("VmRSS")?;
    work();
    Some(status_kib("VmHWM")?.saturating_sub(before))
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The previous voice's cost for `text`: espeak-ng's WAV, resampled and
/// encoded in Opus. None when espeak-ng does not run.
fn espeak_line(text: &str) -> Option<(Duration, f64)> {
    let t = Instant::now();
    let out = Command::new("espeak-ng")
        .args([
            "--stdout",
            "-v",
            "en-us",
            "-s",
            &WPM.to_string(),
            "--",
            text,
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let (rate, samples) = candor_audio::clip::read_wav(&out.stdout).ok()?;
    let samples = candor_audio::clip::resample(&samples, rate, RATE_HZ).ok()?;
    let opus = encode_clip(Codec::Opus, RATE_HZ, &samples).ok()?;
    Some((t.elapsed(), opus.len() as f64 * 0.02))
}
