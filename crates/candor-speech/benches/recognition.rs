//! Recognition benchmarks, printed as a table with ratios against baselines measured in
//! the same run:
//!
//! 1. Real-time factor (decode time ÷ audio length, lower is faster) and word error rate
//!    of tiny.en and base over the Piper fixtures, for Candor's recognizer (int8 and
//!    float32, 1 and 2 threads, the full 30 s encoder window and the fitted one) against
//!    ct2rs's stock `Whisper` pipeline on the same model (its own front end, no prompt) —
//!    the baseline.
//! 2. How soon the end of a turn can be judged: the last 4 s alone
//!    (`Recognizer::transcribe_tail`) against the whole turn, on one and two threads.
//! 3. Latency from the end of an answer to its final transcript, p50/p95, through the
//!    recognition worker: finals only in the full and the fitted window, answers spoken
//!    in real time with partials every second, and the practice engine's pattern
//!    (partials every 2 s; 0.16 s into the pause the tail, at 0.4 s a partial of it all,
//!    the answer ending at 0.6 s and reusing it), against the baseline of calling the recognizer directly on the same audio in
//!    the full window (Candor's recognition before fitted windows).
//!
//! Needs `scripts/setup-speech` (with `CANDOR_SETUP_WHISPER_BASE=1` for base). Run:
//! `cargo bench -p candor-speech` (or `--profile dev` to reuse the test build of
//! CTranslate2, which is compiled with optimisation either way).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use candor_speech::wer::WordErrors;
use candor_speech::{
    EncoderWindow, Precision, RecognitionEvent, RecognitionWorker, Recognizer, RecognizerOptions,
    SAMPLE_RATE, TurnId, WorkerConfig,
};
use support::{Voice, optional_model_dir, rendered, utterances};

fn main() {
    let fixtures: Vec<(support::Utterance, Vec<f32>)> = utterances()
        .into_iter()
        .map(|u| {
            let audio = rendered(Voice::Piper, &u.id);
            (u, audio)
        })
        .collect();
    let audio_seconds: f64 = fixtures.iter().map(|(_, a)| seconds(a.len())).sum();
    println!(
        "candor-speech recognition benchmark: {} Piper fixtures, {audio_seconds:.1} s of speech, {} cores",
        fixtures.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    println!("\n== Real-time factor (decode time / audio time; lower is faster) ==");
    println!(
        "{:<44} {:>8} {:>10} {:>8} {:>8} {:>12}",
        "configuration", "RTF", "decode s", "CPU s", "WER %", "vs baseline"
    );
    for (model, id) in [("tiny.en", "whisper-tiny.en"), ("base", "whisper-base")] {
        let Some(dir) = optional_model_dir(id) else {
            println!(
                "{model}: not in the cache (scripts/setup-speech with CANDOR_SETUP_WHISPER_BASE=1)"
            );
            continue;
        };
        // Baseline: ct2rs's stock pipeline (its front end, no prompt, float32), greedy.
        let stock =
            ct2rs::Whisper::new(&dir, ct2rs::Config::default()).expect("stock pipeline loads");
        let options = ct2rs::WhisperOptions {
            beam_size: 1,
            ..Default::default()
        };
        // ct2rs's stock pipeline always needs a language (it detects one otherwise, which
        // English-only models refuse).
        let language = Some("en");
        let (baseline, baseline_cpu, baseline_wer) = timed(&fixtures, |audio| {
            stock
                .generate(audio, language, false, &options)
                .expect("stock transcription")
                .join(" ")
        });
        row(
            &format!("{model} ct2rs stock pipeline (baseline)"),
            (baseline, baseline_cpu, baseline_wer),
            audio_seconds,
            baseline,
        );
        drop(stock);
        for (precision, threads, window) in [
            (Precision::Int8, 1, EncoderWindow::Full),
            (Precision::Int8, 1, SHORT_WINDOW),
            (Precision::Int8, 1, EncoderWindow::DEFAULT),
            (Precision::Int8, 2, EncoderWindow::DEFAULT),
            (Precision::Float32, 2, EncoderWindow::DEFAULT),
        ] {
            let recognizer = Recognizer::load(
                &dir,
                RecognizerOptions {
                    precision,
                    threads,
                    window,
                    ..RecognizerOptions::default()
                },
            )
            .expect("model loads");
            let measured = timed(&fixtures, |audio| {
                recognizer.transcribe(audio).expect("transcription")
            });
            let window = match window {
                EncoderWindow::Full => "30 s".to_owned(),
                EncoderWindow::Fitted { padding, min } => {
                    format!("+{} s ≥{} s", padding.as_secs(), min.as_secs())
                }
            };
            row(
                &format!("{model} Candor {precision:?}, {threads} thr, {window}"),
                measured,
                audio_seconds,
                baseline,
            );
        }
    }

    let Some(tiny) = optional_model_dir("whisper-tiny.en") else {
        println!("tiny.en is not in the cache: run scripts/setup-speech");
        return;
    };
    tail_verdict(&tiny, &fixtures);
    let options = RecognizerOptions::default();
    let full = RecognizerOptions {
        window: EncoderWindow::Full,
        ..options.clone()
    };
    println!(
        "\n== End of answer → final transcript (tiny.en, {:?}, {} thread(s)) ==",
        options.precision, options.threads
    );
    // Baseline: the recognizer called directly in the full window, nothing else running.
    let direct = Recognizer::load(&tiny, full.clone()).expect("model loads");
    let mut baseline = Vec::new();
    for _ in 0..3 {
        for (_, audio) in &fixtures {
            let started = Instant::now();
            direct.transcribe(audio).expect("transcription");
            baseline.push(started.elapsed());
        }
    }
    drop(direct);
    let baseline_p = percentiles(&mut baseline);
    latency_row(
        "direct Recognizer::transcribe, 30 s (baseline)",
        baseline_p,
        baseline_p,
    );

    let finals_only = through_worker(&tiny, &full, &fixtures, 3, None);
    latency_row("worker, finals only, 30 s window", finals_only, baseline_p);
    let short = RecognizerOptions {
        window: SHORT_WINDOW,
        ..options.clone()
    };
    let finals_only = through_worker(&tiny, &short, &fixtures, 3, None);
    latency_row(
        "worker, finals only, fitted +4 s ≥8 s",
        finals_only,
        baseline_p,
    );
    let finals_only = through_worker(&tiny, &options, &fixtures, 3, None);
    latency_row(
        "worker, finals only, fitted (default)",
        finals_only,
        baseline_p,
    );
    let with_partials = through_worker(&tiny, &options, &fixtures, 1, Some(Speaking::every(1)));
    latency_row(
        "worker, real time, partial every 1 s, fitted",
        with_partials,
        baseline_p,
    );
    let practice = through_worker(&tiny, &options, &fixtures, 1, Some(Speaking::practice()));
    latency_row(
        "worker, practice pattern (tail, partial reused)",
        practice,
        baseline_p,
    );
    println!("\ngoal: p95 ≤ 1.50 s with tiny.en on 2 cores");
}

/// How soon the end of a turn can be judged: its last `TAIL` alone
/// (`Recognizer::transcribe_tail`, what the practice engine decides a finished thought
/// by) against the whole turn in the default window (the baseline, same run), on one
/// and two threads.
fn tail_verdict(model: &std::path::Path, fixtures: &[(support::Utterance, Vec<f32>)]) {
    println!(
        "\n== A turn's end: its last {} s alone vs the whole turn (tiny.en, 3 rounds) ==",
        candor_speech::TAIL.as_secs()
    );
    for threads in [1, 2] {
        let recognizer = Recognizer::load(
            model,
            RecognizerOptions {
                threads,
                ..RecognizerOptions::default()
            },
        )
        .expect("model loads");
        let (mut whole, mut tail, mut runaways) = (Vec::new(), Vec::new(), 0);
        for _ in 0..3 {
            for (_, audio) in fixtures {
                let started = Instant::now();
                recognizer.transcribe(audio).expect("transcription");
                whole.push(started.elapsed());
                let started = Instant::now();
                let words = recognizer.transcribe_tail(audio).expect("transcription");
                tail.push(started.elapsed());
                runaways += usize::from(words.is_none());
            }
        }
        let whole = percentiles(&mut whole);
        latency_row(
            &format!("whole turn, {threads} thr (baseline)"),
            whole,
            whole,
        );
        latency_row(
            &format!("its tail, {threads} thr ({runaways} ran away)"),
            percentiles(&mut tail),
            whole,
        );
    }
}

/// A tighter fitted window than the default, to compare against: as fast on average,
/// but tiny.en runs away in it more often.
const SHORT_WINDOW: EncoderWindow = EncoderWindow::Fitted {
    padding: Duration::from_secs(4),
    min: Duration::from_secs(8),
};

fn seconds(samples: usize) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}

/// CPU time this process has used so far (all threads), from /proc (Linux); the other
/// engineers' and CI's load on a shared machine stretches wall time, not this.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split(' ').collect());
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second).
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    Duration::from_millis(ticks * 10)
}

/// Transcribes every fixture once (after one warm-up); returns the total decode time, the
/// CPU time it took and the WER over the fixtures without fillers.
fn timed(
    fixtures: &[(support::Utterance, Vec<f32>)],
    mut transcribe: impl FnMut(&[f32]) -> String,
) -> (Duration, Duration, f64) {
    transcribe(&fixtures[0].1);
    let cpu_before = process_cpu();
    let mut total = Duration::ZERO;
    let mut errors = WordErrors::default();
    for (utterance, audio) in fixtures {
        let started = Instant::now();
        let text = transcribe(audio);
        total += started.elapsed();
        if !utterance.has_fillers() {
            errors = errors + WordErrors::between(&utterance.text, &text);
        }
    }
    (total, process_cpu() - cpu_before, errors.rate())
}

fn row(
    name: &str,
    (elapsed, cpu, wer): (Duration, Duration, f64),
    audio_seconds: f64,
    baseline: Duration,
) {
    println!(
        "{name:<44} {:>8.3} {:>10.2} {:>8.2} {:>8.1} {:>11.2}×",
        elapsed.as_secs_f64() / audio_seconds,
        elapsed.as_secs_f64(),
        cpu.as_secs_f64(),
        wer * 100.0,
        elapsed.as_secs_f64() / baseline.as_secs_f64()
    );
}

/// How a benchmarked answer is "spoken" into the worker.
#[derive(Clone, Copy)]
struct Speaking {
    /// The audio so far is offered this often while the answer is spoken.
    partial_every: Duration,
    /// What happens in the pause after the speech, if the answer ends on it.
    pause: Option<Pause>,
}

/// The practice engine's pause at the end of an answer, timed from the end of the
/// speech: its last seconds offered as a tail, then all of it as a partial, then the
/// answer ends, reusing that partial.
#[derive(Clone, Copy)]
struct Pause {
    tail_at: Duration,
    partial_at: Duration,
    ends_at: Duration,
}

impl Speaking {
    fn every(seconds: u64) -> Self {
        Self {
            partial_every: Duration::from_secs(seconds),
            pause: None,
        }
    }

    /// The practice engine (`engine::practice::hearing`): partials every 2 s; 0.16 s
    /// into the pause the tail, at 0.4 s a partial of it all; a finished thought ends
    /// the answer 0.6 s into the pause.
    fn practice() -> Self {
        Self {
            partial_every: Duration::from_secs(2),
            pause: Some(Pause {
                tail_at: Duration::from_millis(160),
                partial_at: Duration::from_millis(400),
                ends_at: Duration::from_millis(600),
            }),
        }
    }
}

/// Plays every fixture `rounds` times as a candidate turn through a worker and measures
/// from the final submission (the answer's end) to the final event. With `speaking`,
/// the answer is "spoken" in real time and the audio so far is offered as partials.
fn through_worker(
    model: &std::path::Path,
    options: &RecognizerOptions,
    fixtures: &[(support::Utterance, Vec<f32>)],
    rounds: usize,
    speaking: Option<Speaking>,
) -> (Duration, Duration) {
    let recognizer = Recognizer::load(model, options.clone()).expect("model loads");
    let (events_tx, events) = mpsc::channel();
    let worker = RecognitionWorker::spawn(recognizer, WorkerConfig::default(), move |event| {
        let _ = events_tx.send((Instant::now(), event));
    })
    .expect("worker starts");
    let mut latencies = Vec::new();
    let mut turn = 0;
    for _ in 0..rounds {
        for (_, audio) in fixtures {
            turn += 1;
            if let Some(speaking) = speaking {
                let step = (speaking.partial_every.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
                let started = Instant::now();
                for end in (step..audio.len()).step_by(step) {
                    let due = started + Duration::from_secs_f64(seconds(end));
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    worker
                        .submit_partial(TurnId(turn), audio[..end].to_vec())
                        .expect("partial accepted");
                }
                let due = started + Duration::from_secs_f64(seconds(audio.len()));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if let Some(pause) = speaking.pause {
                    let ended = Instant::now();
                    let until = |at: Duration| {
                        std::thread::sleep((ended + at).saturating_duration_since(Instant::now()))
                    };
                    until(pause.tail_at);
                    let tail = audio.len().saturating_sub(
                        (candor_speech::TAIL.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize,
                    );
                    worker
                        .submit_tail(TurnId(turn), audio[tail..].to_vec())
                        .expect("tail accepted");
                    until(pause.partial_at);
                    worker
                        .submit_partial(TurnId(turn), audio.clone())
                        .expect("partial accepted");
                    until(pause.ends_at);
                }
            }
            let submitted = Instant::now();
            if speaking.is_some_and(|s| s.pause.is_some()) {
                worker
                    .submit_final_reusing(TurnId(turn), audio.clone(), TurnId(turn))
                    .expect("final accepted");
            } else {
                worker
                    .submit_final(TurnId(turn), audio.clone())
                    .expect("final accepted");
            }
            loop {
                let (at, event) = events.recv().expect("worker alive");
                match event {
                    RecognitionEvent::Final(t) if t.turn == TurnId(turn) => {
                        latencies.push(at - submitted);
                        break;
                    }
                    RecognitionEvent::Failed { error, .. } => panic!("{error}"),
                    _ => {}
                }
            }
        }
    }
    worker.shutdown();
    percentiles(&mut latencies)
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.95))
}

fn latency_row(name: &str, (p50, p95): (Duration, Duration), (b50, b95): (Duration, Duration)) {
    println!(
        "{name:<48} p50 {:>6.3} s ({:>5.2}×)   p95 {:>6.3} s ({:>5.2}×)",
        p50.as_secs_f64(),
        p50.as_secs_f64() / b50.as_secs_f64(),
        p95.as_secs_f64(),
        p95.as_secs_f64() / b95.as_secs_f64()
    );
}
