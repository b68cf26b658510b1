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
use candor_audio::echo_path::EchoPathSpec;
use candor_audio::echo_trial::{TrialAudio, TrialResult, TrialSpec, run_trial};
use candor_audio::resample::MonoResampler;
use candor_audio::wav;

const RATE: u32 = 48_000;

fn speech(text: &str, dir: &std::path::Path, name: &str) -> Vec<f32> {
    let path = dir.join(name);
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "165", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "espeak-ng is needed for the benchmark (apt-get install espeak-ng)"
    );
    let (rate, s) = wav::read_mono(&path).unwrap();
    let mut r = MonoResampler::new(rate, RATE).unwrap();
    let mut out = Vec::new();
    r.process(&s, &mut out).unwrap();
    out
}

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
    let dir = tempfile::tempdir().unwrap();
    let q1 = speech(
        "Tell me about a time you led a difficult project, and what you learned from it.",
        dir.path(),
        "q1.wav",
    );
    let q2 = speech(
        "Why do you want to work here, and where do you see yourself in five years?",
        dir.path(),
        "q2.wav",
    );
    let mut far = vec![0.0f32; RATE as usize / 2];
    let mut turns = Vec::new();
    for q in [&q1, &q2] {
        let start = far.len();
        far.extend_from_slice(q);
        turns.push(start..far.len());
        far.extend(std::iter::repeat_n(0.0, RATE as usize * 5));
    }
    let audio = TrialAudio {
        far: &far,
        near: &[],
        turns: &turns,
    };
    let laptop = |gain_db, delay: (f64, f64), drift_ppm| EchoPathSpec {
        delay_ms: delay.0,
        delay_end_ms: delay.1,
        change_at_s: 3.0,
        glide_s: 0.2,
        gain_db,
        drift_ppm,
        rt60_s: 0.35,
        clip_drive: 2.0,
        noise_dbfs: -70.0,
    };
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
