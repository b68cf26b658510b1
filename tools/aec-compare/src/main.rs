//! Candor's echo canceller against WebRTC's own C++ audio processing module,
//! on the same signals, so that the choice between them is a measurement.
//!
//! Candor cancels echo with WebRTC's AEC3 through `sonora`, a pure-Rust port
//! (`candor_audio::aec`). The reference is the C++ module itself, built from
//! the sources the `webrtc-audio-processing` crate bundles (WebRTC M131 as
//! PulseAudio packages it). Both run with the same stages (AEC3, noise
//! suppression "moderate", high-pass filter) at 48 kHz, in 10 ms blocks, fed
//! the same blocks: what the loudspeaker was sent, and the microphone. With
//! the canceller off as the same-run baseline. The C++ module runs WebRTC's
//! default AEC3 settings, sonora Candor's (`candor_audio::aec`: a suppressor
//! that switches to a stricter near-end tuning more readily).
//!
//! The signals are the echo tests' own (`candor_audio::echo_trial::Script`,
//! `echo_trial::laptop`):
//! two interviewer questions (espeak-ng) with listening gaps, through a
//! simulated laptop path (`candor_audio::echo_path`: delay, drift, early
//! reflections and reverberation, a soft-clipping loudspeaker, microphone
//! noise), and a candidate who is silent, who interrupts two seconds into the
//! second question, or who answers half a second after the first one ends.
//! The output is judged by level alone (the server's fixed-threshold gate,
//! −42 dBFS, onset 2, hang-over 10), the same for every canceller: Candor's
//! own near-end decision is not applied, since it is what the canceller's
//! output feeds.
//!
//! Printed per condition and canceller: ERLE over echo-only frames, the
//! share of echo-only frames judged speech and the phantom answers and
//! interruptions (silent candidate); how much of the candidate survives while
//! the interviewer talks over it, and whether the barge-in is heard; whether
//! the answer in the echo tail is heard; processing time per 10 ms block
//! (the calling thread's CPU time, so the conditions can run side by side).
//! The same signals also go through Candor's whole capture chain
//! (`echo_trial`: simulated devices, reference alignment, delay tracking,
//! the canceller), judged on level and then as the server judges, with the
//! near-end decision's voice flag.
//!
//! Run with `scripts/compare-aec`; `scripts/compare-aec --trace N` prints,
//! instead, the barge-in of condition N (0-based) frame by frame: the
//! candidate and the echo at the microphone, and each canceller's output
//! (`*`: loud enough for the gate).

use std::time::Duration;

use candor_audio::aec::{EchoCanceller, VoiceProcessing};
use candor_audio::echo_path::{EchoPath, EchoPathSpec};
use candor_audio::echo_trial::{Script, TrialFrame, TrialResult, TrialSpec, judge, run_trial};
use webrtc_audio_processing::Processor;
use webrtc_audio_processing::config::{
    Config, EchoCanceller as CppEchoCanceller, HighPassFilter, NoiseSuppression,
};

const RATE: u32 = 48_000;
const BLOCK: usize = RATE as usize / 100;
/// Frames are judged 20 ms at a time, as the server receives them.
const FRAME: usize = 2 * BLOCK;

/// One echo canceller under test, fed 10 ms blocks.
trait Canceller: Send {
    fn render(&mut self, block: &[f32]);
    fn capture(&mut self, block: &mut [f32]);
}

/// Candor's: `candor_audio::aec` as the capture configures it.
struct Sonora(EchoCanceller);

impl Canceller for Sonora {
    fn render(&mut self, block: &[f32]) {
        self.0.process_render(block).expect("sonora render");
    }
    fn capture(&mut self, block: &mut [f32]) {
        self.0.process_capture(block).expect("sonora capture");
    }
}

/// WebRTC's C++ audio processing module.
struct Cpp(Processor);

impl Canceller for Cpp {
    fn render(&mut self, block: &[f32]) {
        self.0
            .analyze_render_frame([block])
            .expect("C++ APM render");
    }
    fn capture(&mut self, block: &mut [f32]) {
        self.0
            .process_capture_frame([block])
            .expect("C++ APM capture");
    }
}

/// No processing: the microphone as it is.
struct Off;

impl Canceller for Off {
    fn render(&mut self, _: &[f32]) {}
    fn capture(&mut self, _: &mut [f32]) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Sonora,
    Cpp,
    Off,
    /// Candor's whole capture chain (reference alignment, delay tracking,
    /// sonora, resampling), judged on level like the others.
    Chain,
    /// The same, judged as the practice server does: level and the client's
    /// voice flag, which the near-end decision clears on residual echo.
    ChainDecision,
}

impl Which {
    const ALL: [Which; 5] = [
        Which::Sonora,
        Which::Cpp,
        Which::Off,
        Which::Chain,
        Which::ChainDecision,
    ];

    fn label(self) -> &'static str {
        match self {
            Which::Sonora => "sonora (Candor)",
            Which::Cpp => "WebRTC C++ APM",
            Which::Off => "off",
            Which::Chain => "Candor's chain",
            Which::ChainDecision => "  + its decision",
        }
    }

    fn make(self) -> Box<dyn Canceller> {
        match self {
            Which::Sonora => Box::new(Sonora(
                EchoCanceller::new(VoiceProcessing::default(), RATE, RATE)
                    .expect("sonora canceller"),
            )),
            Which::Cpp => {
                let apm = Processor::new(RATE).expect("C++ APM");
                apm.set_config(Config {
                    echo_canceller: Some(CppEchoCanceller::Full {
                        stream_delay_ms: None,
                    }),
                    noise_suppression: Some(NoiseSuppression::default()),
                    high_pass_filter: Some(HighPassFilter::default()),
                    ..Config::default()
                });
                Box::new(Cpp(apm))
            }
            Which::Off | Which::Chain | Which::ChainDecision => Box::new(Off),
        }
    }
}

/// One run: the frames as `echo_trial` judges them (a frame's level is the
/// canceller's output; its voice flag is set on every frame, so the judge
/// goes by level alone unless Candor's decision is asked for), and the
/// canceller's processing time.
struct Run {
    result: TrialResult,
    busy: Duration,
    blocks: usize,
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn mean_square(x: &[f32]) -> f64 {
    x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64
}

fn run(which: Which, path: EchoPathSpec, s: &Script, near: &[f32]) -> Run {
    if matches!(which, Which::Chain | Which::ChainDecision) {
        return run_chain(which == Which::ChainDecision, path, s, near);
    }
    let mut canceller = which.make();
    let mut echo = EchoPath::new(path, RATE);
    let frames_n = s.far.len() / FRAME;
    let mut frames = Vec::with_capacity(frames_n);
    let mut busy = Duration::ZERO;
    let mut mic = vec![0.0f32; BLOCK];
    let mut echo_only = vec![0.0f32; BLOCK];
    let mut near_only = vec![0.0f32; BLOCK];
    let talking = |i: usize| s.turns.iter().any(|t| t.contains(&i));
    for f in 0..frames_n {
        let (mut out_power, mut echo_power, mut near_power) = (0.0, 0.0, 0.0);
        for b in 0..2 {
            let start = f * FRAME + b * BLOCK;
            let played = &s.far[start..start + BLOCK];
            for &x in played {
                echo.play(x);
            }
            for i in 0..BLOCK {
                echo_only[i] = echo.hear();
                near_only[i] = near.get(start + i).copied().unwrap_or(0.0);
                mic[i] = echo_only[i] + near_only[i];
            }
            let t0 = thread_cpu_time();
            canceller.render(played);
            canceller.capture(&mut mic);
            busy += thread_cpu_time().saturating_sub(t0);
            out_power += mean_square(&mic) / 2.0;
            echo_power += mean_square(&echo_only) / 2.0;
            near_power += mean_square(&near_only) / 2.0;
        }
        // The echo is heard `delay` after the turn is played; the
        // interviewer counts as talking from its turn's start to its
        // echo's end, as the practice interviewer's own state does.
        let at = f * FRAME;
        frames.push(TrialFrame {
            voice: true,
            level_db: (10.0 * out_power.max(1e-20).log10()) as f32,
            echo_power,
            near_power,
            interviewer_talking: talking(at) || talking(at.saturating_sub(RATE as usize * 3 / 10)),
        });
    }
    let judged = judge(frames.iter().map(|f| (f.voice, f.level_db)), false);
    Run {
        result: TrialResult {
            frames,
            judged,
            echo_warning: false,
            echo_reports: Vec::new(),
        },
        busy,
        blocks: frames_n * 2,
    }
}

/// The same signals through Candor's capture chain, its simulated devices
/// and worker (`echo_trial`, 40 ms output latency, 20 ms callbacks, exact
/// stamps).
fn run_chain(decision: bool, path: EchoPathSpec, s: &Script, near: &[f32]) -> Run {
    let spec = TrialSpec {
        path,
        judge_uses_voice_flag: decision,
        ..TrialSpec::default()
    };
    let result = run_trial(&spec, s.audio(near)).expect("Candor's capture chain");
    Run {
        blocks: result.frames.len() * 2,
        result,
        // Not comparable: the simulation runs on the same thread.
        busy: Duration::ZERO,
    }
}

impl Run {
    /// How much of the candidate comes through while the interviewer
    /// talks over them: power after processing against the candidate's
    /// power at the microphone, over the frames where both are there.
    fn double_talk_kept_db(&self) -> f64 {
        let (mut near, mut out) = (0.0, 0.0);
        for f in &self.result.frames {
            if f.interviewer_talking && f.near_power > 1e-5 && f.echo_power > 1e-5 {
                near += f.near_power;
                out += 10f64.powf(f64::from(f.level_db) / 10.0);
            }
        }
        10.0 * (out.max(1e-20) / near.max(1e-20)).log10()
    }

    /// Processing time per 10 ms block, when measured.
    fn us_per_block(&self) -> Option<f64> {
        (!self.busy.is_zero()).then(|| self.busy.as_secs_f64() * 1e6 / self.blocks.max(1) as f64)
    }
}

/// The echo tests' laptop path, or (`clean`) the same without reverberation
/// or clipping.
fn laptop(gain_db: f64, delay: (f64, f64), drift_ppm: f64, clean: bool) -> EchoPathSpec {
    let path = candor_audio::echo_trial::laptop(gain_db, delay, drift_ppm);
    if clean {
        EchoPathSpec {
            rt60_s: 0.0,
            clip_drive: 0.0,
            ..path
        }
    } else {
        path
    }
}

fn main() {
    let trace = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, n] if flag == "--trace" => Some(n.parse::<usize>().expect("--trace N: a number")),
        _ => {
            eprintln!("usage: aec-compare [--trace CONDITION]");
            std::process::exit(2);
        }
    };
    let s = Script::spoken(RATE).expect("espeak-ng is needed (apt-get install espeak-ng)");
    let barge = s.candidate_at(s.turns[1].start + 2 * RATE as usize, 0.5);
    let tail = s.candidate_at(s.turns[0].end + RATE as usize / 2, 0.5);
    let conditions = [
        ("-20 dB, 60 ms", laptop(-20.0, (60.0, 60.0), 0.0, false)),
        (
            "0 dB, 40 ms, clean path",
            laptop(0.0, (40.0, 40.0), 0.0, true),
        ),
        ("0 dB, 40 ms", laptop(0.0, (40.0, 40.0), 0.0, false)),
        (
            "0 dB, 200 ms, +100 ppm",
            laptop(0.0, (200.0, 200.0), 100.0, false),
        ),
        (
            "0 dB, 40->300 ms jump",
            laptop(0.0, (40.0, 300.0), 100.0, false),
        ),
        (
            "+6 dB, 150 ms, clean path",
            laptop(6.0, (150.0, 150.0), 0.0, true),
        ),
        (
            "+6 dB, 150 ms, -100 ppm",
            laptop(6.0, (150.0, 150.0), -100.0, false),
        ),
    ];
    if let Some(n) = trace {
        let (name, path) = conditions.get(n).expect("--trace N: no such condition");
        print_barge_in(name, *path, &s, &barge);
        return;
    }
    println!(
        "paths: reverberant (RT60 0.35 s) with a soft-clipping loudspeaker unless 'clean'; \
         the judge is the level gate alone (-42 dBFS)"
    );
    println!(
        "{:<27} {:<16} | {:^33} | {:^21} | {:^14} | {:>7}",
        "condition",
        "canceller",
        "silent: ERLE false phantom a/i",
        "barge-in: kept heard",
        "tail answer",
        "us/10ms"
    );
    let rows: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = conditions
            .iter()
            .map(|(name, path)| {
                let (s, barge, tail) = (&s, &barge, &tail);
                scope.spawn(move || {
                    let cells: Vec<_> = Which::ALL
                        .iter()
                        .map(|&w| {
                            (
                                w,
                                run(w, *path, s, &[]),
                                run(w, *path, s, barge),
                                run(w, *path, s, tail),
                            )
                        })
                        .collect();
                    (*name, cells)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a condition panicked"))
            .collect()
    });
    for (name, cells) in rows {
        for (w, silent, barge, tail) in cells {
            println!(
                "{:<27} {:<16} | {:>5.1} dB {:>5.1} % {:>4.2} s {}/{} | {:>6.1} dB {:>3} int | {} ans {:>4.2} s | {:>7}",
                name,
                w.label(),
                silent.result.erle_db(),
                100.0 * silent.result.false_speech_rate(),
                silent.result.speech_s(),
                silent.result.answers(),
                silent.result.interruptions(),
                barge.double_talk_kept_db(),
                barge.result.interruptions(),
                tail.result.answers(),
                tail.result.speech_s(),
                silent
                    .us_per_block()
                    .map_or_else(|| "-".into(), |us| format!("{us:.0}")),
            );
        }
    }
}

/// The barge-in frame by frame (see the module docs).
fn print_barge_in(name: &str, path: EchoPathSpec, s: &Script, barge: &[f32]) {
    let runs: Vec<_> = Which::ALL.iter().map(|&w| run(w, path, s, barge)).collect();
    let db = |p: f64| 10.0 * p.max(1e-12).log10();
    println!("barge-in over \"{name}\", output level (dBFS) per 20 ms frame; *: voiced");
    print!("{:>5} {:>6} {:>6} |", "frame", "near", "echo");
    for w in Which::ALL {
        print!(" {:>16}", w.label().trim());
    }
    println!();
    let start = (s.turns[1].start + 2 * RATE as usize) / FRAME;
    for k in start.saturating_sub(3)..start + 75 {
        let f = runs[0].result.frames[k];
        print!(
            "{k:>5} {:>6.1} {:>6.1} |",
            db(f.near_power),
            db(f.echo_power)
        );
        for r in &runs {
            match (r.result.frames.get(k), r.result.judged.get(k)) {
                (Some(g), Some(j)) => {
                    print!(" {:>15.1}{}", g.level_db, if j.voiced { "*" } else { " " })
                }
                _ => print!(" {:>16}", "-"),
            }
        }
        println!();
    }
}
