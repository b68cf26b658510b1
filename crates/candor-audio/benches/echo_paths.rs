//! Echo handling per condition: ERLE and the residual-echo false-speech
//! rate, with the canceller off as the same-run baseline. Run with
//! `cargo bench -p candor-audio --bench echo_paths`.
//!
//! Each condition plays two interviewer questions (espeak-ng) through a
//! simulated laptop path (`echo_path`) to a silent candidate (device stamps
//! exact, as jittery as PulseAudio's, or from an output device whose
//! reported latency settles over the first seconds) and judges the
//! captured frames as the server does (`echo_trial`). Printed per condition,
//! canceller on | off: ERLE (dB), the share of echo-only frames taken for
//! speech, seconds of phantom speech, phantom answers and interruptions.

use candor_audio::VoiceProcessing;
use candor_audio::echo_trial::{Script, TrialResult, TrialSpec, laptop, run_trial};

const RATE: u32 = 48_000;

fn cell(r: &TrialResult) -> String {
    format!(
        "{:>5.1} dB {:>5.1} % {:>4.2} s {}/{}",
        r.erle_db(),
        100.0 * r.false_speech_rate(),
        r.speech_s(),
        r.answers(),
        r.interruptions()
    )
}

fn main() {
    let script = Script::spoken(RATE)
        .expect("espeak-ng is needed for the benchmark (apt-get install espeak-ng)");
    let audio = script.audio(&[]);
    let conditions = [
        (
            "-20 dB, 40 ms",
            laptop(-20.0, (40.0, 40.0), 0.0),
            20,
            0.0,
            0.0,
        ),
        (
            "-12 dB, 80 ms, -100 ppm",
            laptop(-12.0, (80.0, 80.0), -100.0),
            20,
            0.0,
            0.0,
        ),
        ("0 dB, 40 ms", laptop(0.0, (40.0, 40.0), 0.0), 20, 0.0, 0.0),
        (
            "0 dB, 300 ms, +100 ppm",
            laptop(0.0, (300.0, 300.0), 100.0),
            20,
            0.0,
            0.0,
        ),
        (
            "0 dB, 250 ms, slow worker",
            laptop(0.0, (250.0, 250.0), 100.0),
            100,
            0.0,
            0.0,
        ),
        (
            "0 dB, 80 ms, -100 ppm",
            laptop(0.0, (80.0, 80.0), -100.0),
            20,
            0.0,
            0.0,
        ),
        (
            "0 dB, 40->300 ms jump",
            laptop(0.0, (40.0, 300.0), 100.0),
            20,
            0.0,
            0.0,
        ),
        (
            "0 dB, 300->80 ms jump",
            laptop(0.0, (300.0, 80.0), -100.0),
            20,
            0.0,
            0.0,
        ),
        (
            "+6 dB, 150 ms, +100 ppm",
            laptop(6.0, (150.0, 150.0), 100.0),
            20,
            0.0,
            0.0,
        ),
        (
            "+14 dB, 150 ms, +100 ppm (beyond a laptop)",
            laptop(14.0, (150.0, 150.0), 100.0),
            20,
            0.0,
            0.0,
        ),
        (
            "0 dB, 80 ms, -100 ppm, stamps ±5 ms",
            laptop(0.0, (80.0, 80.0), -100.0),
            20,
            5.0,
            0.0,
        ),
        (
            "0 dB, 80 ms, -100 ppm, latency settling 20 ms",
            laptop(0.0, (80.0, 80.0), -100.0),
            20,
            0.0,
            20.0,
        ),
    ];
    println!(
        "{:<46} | {:^34} | {:^34} | {:^34}",
        "condition (silent candidate)",
        "AEC + near-end decision",
        "AEC, level only (old server)",
        "AEC off, level only"
    );
    println!(
        "{:<46} | {:^34} | {:^34} | {:^34}",
        "",
        "ERLE false phantom ans/int",
        "ERLE false phantom ans/int",
        "ERLE false phantom ans/int"
    );
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = conditions
            .iter()
            .map(|(name, path, worker, jitter, settle)| {
                scope.spawn(move || {
                    let on = TrialSpec {
                        path: *path,
                        worker_period_ms: *worker,
                        stamp_jitter_ms: *jitter,
                        stamp_settle_ms: *settle,
                        ..TrialSpec::default()
                    };
                    let level_only = TrialSpec {
                        judge_uses_voice_flag: false,
                        ..on
                    };
                    let off = TrialSpec {
                        processing: VoiceProcessing::OFF,
                        judge_uses_voice_flag: false,
                        ..on
                    };
                    let [a, b, c] = [on, level_only, off].map(|s| run_trial(&s, audio).unwrap());
                    (*name, a, b, c)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, a, b, c) in results {
        println!(
            "{name:<46} | {:^34} | {:^34} | {:^34}",
            cell(&a),
            cell(&b),
            cell(&c)
        );
    }
}
