//! A practice session with laptop speakers, simulated end to end on one
//! thread: what the tests and the benchmark of echo handling run.
//!
//! The interviewer's audio is played by a simulated output device (20 ms
//! callbacks that write `output_latency` ahead of the loudspeaker and stamp
//! the reference with when it will be heard, as a device reporting its
//! latency does), goes through an
//! [`EchoPath`](crate::echo_path::EchoPath) into a simulated microphone (20 ms
//! callbacks on its own, possibly drifting, clock), together with the
//! candidate's voice if any; a simulated capture worker wakes every
//! `worker_period` and does what the real worker does — hands the
//! [`CaptureProcessor`] the reference written so far with when it is heard,
//! then the microphone audio that arrived with when it was captured. A slow worker (a debug build, a loaded machine)
//! processes in bigger lumps; the simulation covers that too.
//!
//! The frames that come out are then judged as the practice interviewer
//! judges them: speech by the same fixed-threshold gate as the server
//! (`speech_gate`, onset 2, hangover 10) on frames that are loud *and*
//! carry the client's voice flag; an interruption is 300 ms of voiced audio
//! in one speech span while the interviewer talks (`speech_gate::BargeIn`,
//! the interviewer's own rule); an answer is speech while it listens.

use std::time::{Duration, Instant};

use crate::aec::VoiceProcessing;
use crate::capture::{CaptureOutput, CaptureProcessor, CaptureSettings, EchoReport, Stamp};
use crate::echo_link::Heard;
use crate::echo_path::{EchoPath, EchoPathSpec};
use crate::error::AudioError;
use crate::speech_gate::{BargeIn, SpeechGate};

/// The server's default speech threshold (dBFS).
pub const SERVER_THRESHOLD_DB: f32 = -42.0;
/// Voiced audio within one speech span that interrupts the interviewer
/// (the practice interviewer's default `barge_in`).
pub const BARGE_IN_MS: u64 = 300;
const FRAME_MS: u64 = 20;
/// Time constant (s) of a settling output latency
/// ([`TrialSpec::stamp_settle_ms`]).
pub const STAMP_SETTLE_S: f64 = 1.5;

/// The judge's verdict on one 20 ms frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// Loud enough, and (when the judge uses it) flagged as voice.
    pub voiced: bool,
    /// A speech span is open after this frame (onset and hang-over).
    pub speaking: bool,
}

/// Judges frames (their voice flag and level) as the server does: the
/// fixed-threshold gate (onset 2, hang-over 10) over frames that are loud
/// and, with `use_voice_flag`, flagged as voice.
pub fn judge(frames: impl IntoIterator<Item = (bool, f32)>, use_voice_flag: bool) -> Vec<Judged> {
    let mut gate = SpeechGate::new(SERVER_THRESHOLD_DB, 2, 10);
    frames
        .into_iter()
        .map(|(voice, level_db)| {
            let voiced = gate.is_loud(level_db) && (voice || !use_voice_flag);
            Judged {
                voiced,
                speaking: gate.update_voiced(voiced),
            }
        })
        .collect()
}

/// Interruptions: within each stretch of frames where `talking` holds, a
/// barge-in by the interviewer's rule (each stretch is cut off at most once,
/// as the interviewer stops at the first).
pub fn interruptions(judged: &[Judged], talking: impl Fn(usize) -> bool) -> usize {
    let mut count = 0;
    let mut rule = BargeIn::new(BARGE_IN_MS);
    let mut cut = false;
    for (k, j) in judged.iter().enumerate() {
        if !talking(k) {
            rule = BargeIn::new(BARGE_IN_MS);
            cut = false;
            continue;
        }
        let at = k as u64 * FRAME_MS;
        if rule.update(at, j.voiced, j.speaking, FRAME_MS).is_some() && !cut {
            cut = true;
            count += 1;
        }
    }
    count
}

/// Answers: stretches of frames where `talking` does not hold (the
/// interviewer listens) in which the judge heard speech.
pub fn answers(judged: &[Judged], talking: impl Fn(usize) -> bool) -> usize {
    let mut count = 0;
    let mut counted = false;
    for (k, j) in judged.iter().enumerate() {
        if talking(k) {
            counted = false;
        } else if j.speaking && !counted {
            counted = true;
            count += 1;
        }
    }
    count
}

/// The session the echo tests, the benchmark and the canceller comparison
/// play, spoken by espeak-ng: the interviewer's two questions (US English
/// voice) after half a second of silence, each followed by 5 s of
/// listening, and the candidate's answer (a female voice), at one rate.
#[derive(Debug, Clone)]
pub struct Script {
    /// The rate of every signal.
    pub rate: u32,
    /// What the interviewer plays (silence between its turns).
    pub far: Vec<f32>,
    /// The interviewer's turns, as sample ranges of `far`.
    pub turns: Vec<std::ops::Range<usize>>,
    /// The candidate's answer, as spoken.
    pub answer: Vec<f32>,
}

impl Script {
    /// Speaks the session at `rate` (espeak-ng must be installed).
    pub fn spoken(rate: u32) -> Result<Self, AudioError> {
        let q1 = speak(
            "Tell me about a time you led a difficult project, and what you learned from it.",
            "en-us",
            rate,
        )?;
        let q2 = speak(
            "Why do you want to work here, and where do you see yourself in five years?",
            "en-us",
            rate,
        )?;
        let answer = speak(
            "I migrated our billing system to a new platform without downtime.",
            "en+f3",
            rate,
        )?;
        let mut far = vec![0.0f32; rate as usize / 2];
        let mut turns = Vec::new();
        for q in [&q1, &q2] {
            let start = far.len();
            far.extend_from_slice(q);
            turns.push(start..far.len());
            far.extend(std::iter::repeat_n(0.0, rate as usize * 5));
        }
        Ok(Self {
            rate,
            far,
            turns,
            answer,
        })
    }

    /// The candidate's answer at `gain`, starting `at` samples into the
    /// session (on the microphone's timeline).
    pub fn candidate_at(&self, at: usize, gain: f32) -> Vec<f32> {
        let mut near = vec![0.0f32; at];
        near.extend(self.answer.iter().map(|x| x * gain));
        near
    }

    /// The session as a trial plays it, with `near` as the candidate.
    pub fn audio<'a>(&'a self, near: &'a [f32]) -> TrialAudio<'a> {
        TrialAudio {
            far: &self.far,
            near,
            turns: &self.turns,
        }
    }
}

/// `text` spoken by espeak-ng's `voice` at 165 words a minute, resampled to
/// `rate`.
pub fn speak(text: &str, voice: &str, rate: u32) -> Result<Vec<f32>, AudioError> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("candor-speak-{}-{n}.wav", std::process::id()));
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .map_err(|e| {
            AudioError::Io(std::io::Error::new(
                e.kind(),
                format!("espeak-ng (apt-get install espeak-ng): {e}"),
            ))
        })?;
    if !status.success() {
        let _ = std::fs::remove_file(&path);
        return Err(AudioError::Io(std::io::Error::other(format!(
            "espeak-ng failed: {status}"
        ))));
    }
    let read = crate::wav::read_mono(&path);
    let _ = std::fs::remove_file(&path);
    let (from, samples) = read?;
    let mut resampler = crate::resample::MonoResampler::new(from, rate)?;
    let mut out = Vec::new();
    resampler.process(&samples, &mut out)?;
    Ok(out)
}

/// A laptop's loudspeaker-to-microphone path as the echo tests vary it: a
/// reverberant room (RT60 0.35 s), a soft-clipping loudspeaker (drive 2),
/// −70 dBFS of microphone noise, and the delay moving from `delay.0` to
/// `delay.1` ms over 0.2 s, 3 s in (during the first question's echo).
pub fn laptop(gain_db: f64, delay: (f64, f64), drift_ppm: f64) -> EchoPathSpec {
    EchoPathSpec {
        delay_ms: delay.0,
        delay_end_ms: delay.1,
        change_at_s: 3.0,
        glide_s: 0.2,
        gain_db,
        drift_ppm,
        rt60_s: 0.35,
        clip_drive: 2.0,
        noise_dbfs: -70.0,
    }
}

/// How a trial runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialSpec {
    /// The loudspeaker → microphone path.
    pub path: EchoPathSpec,
    /// Device rate of both streams.
    pub rate: u32,
    /// How far ahead of the loudspeaker the output callback writes (the
    /// output latency a device reports).
    pub output_latency_ms: u64,
    /// How long after capture the input callback delivers.
    pub input_latency_ms: u64,
    /// How often the capture worker wakes, in ms.
    pub worker_period_ms: u64,
    /// How far off each callback's timestamp is, at most (uniform, ms):
    /// 0 for a device whose stamps are exact; PulseAudio's scatter by 2-8
    /// ms RMS around their line (measured over the private loopback).
    pub stamp_jitter_ms: f64,
    /// How far off the output device's reported latency is at first (ms,
    /// positive: it says its audio is heard later than it is), settling
    /// to the truth with a time constant of [`STAMP_SETTLE_S`]: PulseAudio's
    /// first seconds of playback stamps are biased so, which reads as a
    /// rate 1,000–4,000 ppm off (measured over the private loopback).
    pub stamp_settle_ms: f64,
    /// The capture's voice processing.
    pub processing: VoiceProcessing,
    /// Whether the judge requires the client's voice flag (the server after
    /// this change) or only the level (the server before it).
    pub judge_uses_voice_flag: bool,
}

impl Default for TrialSpec {
    fn default() -> Self {
        Self {
            path: EchoPathSpec::default(),
            rate: 48_000,
            output_latency_ms: 40,
            input_latency_ms: 20,
            worker_period_ms: 20,
            stamp_jitter_ms: 0.0,
            stamp_settle_ms: 0.0,
            processing: VoiceProcessing::default(),
            judge_uses_voice_flag: true,
        }
    }
}

/// The audio of a trial, at the trial's rate, on one timeline.
#[derive(Debug, Clone, Copy)]
pub struct TrialAudio<'a> {
    /// What the interviewer plays (silence between its turns).
    pub far: &'a [f32],
    /// The candidate's voice as the microphone hears it (empty: silent).
    pub near: &'a [f32],
    /// The interviewer's turns, as sample ranges of `far`.
    pub turns: &'a [std::ops::Range<usize>],
}

/// One frame as it left the capture, with what the simulation knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialFrame {
    /// The client's voice flag.
    pub voice: bool,
    /// The frame's level after processing, dBFS.
    pub level_db: f32,
    /// Echo power at the microphone over the frame (mean square).
    pub echo_power: f64,
    /// Candidate voice power at the microphone over the frame.
    pub near_power: f64,
    /// The interviewer was talking (its turn, on the microphone's timeline).
    pub interviewer_talking: bool,
}

/// What a trial measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialResult {
    /// Every frame.
    pub frames: Vec<TrialFrame>,
    /// The judge's verdict per frame.
    pub judged: Vec<Judged>,
    /// Whether the capture warned of strong echo at the end.
    pub echo_warning: bool,
    /// The capture's account of the echo path, a second at a time.
    pub echo_reports: Vec<EchoReport>,
}

impl TrialResult {
    /// Seconds of candidate speech the judge heard.
    pub fn speech_s(&self) -> f64 {
        self.judged.iter().filter(|j| j.speaking).count() as f64 * FRAME_MS as f64 / 1000.0
    }

    /// Interruptions: barge-ins by the interviewer's rule while it talks
    /// (each turn can be interrupted once).
    pub fn interruptions(&self) -> usize {
        interruptions(&self.judged, |k| self.frames[k].interviewer_talking)
    }

    /// Answers: listening stretches (between and after the interviewer's
    /// turns) in which the judge heard speech.
    pub fn answers(&self) -> usize {
        answers(&self.judged, |k| self.frames[k].interviewer_talking)
    }

    /// Echo return loss enhancement over frames where the echo is there
    /// and the candidate is not: echo power at the microphone against the
    /// power after processing, in dB.
    pub fn erle_db(&self) -> f64 {
        let peak = self.frames.iter().map(|f| f.echo_power).fold(0.0, f64::max);
        let (mut e_in, mut e_out) = (0.0, 0.0);
        for f in self.echo_only() {
            if f.echo_power > peak * 1e-3 {
                e_in += f.echo_power;
                e_out += 10f64.powf(f64::from(f.level_db) / 10.0);
            }
        }
        10.0 * (e_in / e_out.max(1e-20)).log10()
    }

    /// Of the frames with echo and no candidate voice, the share the judge
    /// took for speech.
    pub fn false_speech_rate(&self) -> f64 {
        let floor = 10f64.powf(-60.0 / 10.0);
        let (mut n, mut bad) = (0usize, 0usize);
        for (f, j) in self.frames.iter().zip(&self.judged) {
            if f.near_power < 1e-9 && f.echo_power > floor {
                n += 1;
                bad += usize::from(j.speaking);
            }
        }
        bad as f64 / n.max(1) as f64
    }

    fn echo_only(&self) -> impl Iterator<Item = &TrialFrame> {
        self.frames.iter().filter(|f| f.near_power < 1e-9)
    }
}

/// A capture chunk waiting for its callback to run.
struct Pending {
    due_ms: u64,
    samples: Vec<f32>,
    stamp: Stamp,
}

/// Runs one trial (see the module docs).
pub fn run_trial(spec: &TrialSpec, audio: TrialAudio<'_>) -> Result<TrialResult, AudioError> {
    let rate = u64::from(spec.rate);
    let chunk = (rate * FRAME_MS / 1000) as usize;
    let settings = CaptureSettings {
        processing: spec.processing,
        ..CaptureSettings::default()
    };
    let mut processor = CaptureProcessor::new(spec.rate, settings, 0)?;
    let mut path = EchoPath::new(spec.path, spec.rate);
    let mut echo_only = EchoPath::new(
        EchoPathSpec {
            noise_dbfs: -300.0,
            ..spec.path
        },
        spec.rate,
    );
    let base = Instant::now();
    // Stamps start a second in, so that jitter never puts one before `base`.
    let mut noise = 0x2545_f491u32;
    let jitter_us = spec.stamp_jitter_ms * 1000.0;
    let settle_us =
        |us: u64| spec.stamp_settle_ms * 1000.0 * (-(us as f64) / (STAMP_SETTLE_S * 1e6)).exp();
    let mut at = |us: u64, bias_us: f64| {
        noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let off = (f64::from(noise >> 16) / 65_536.0 - 0.5) * 2.0 * jitter_us;
        base + Duration::from_micros((1e6 + us as f64 + off + bias_us) as u64)
    };
    let drift = 1.0 + spec.path.drift_ppm * 1e-6;
    let total_ms = audio.far.len().max(audio.near.len()) as u64 * 1000 / rate + 1500;

    let mut written = 0usize; // reference samples written by the output callback
    let mut reference: Vec<(Heard, Vec<f32>)> = Vec::new();
    processor.new_reference(spec.rate)?;
    let mut spoken = 0usize; // loudspeaker samples played
    let mut mic: Vec<f32> = Vec::with_capacity(chunk);
    let mut mic_index = 0u64;
    let mut echo_acc = (0.0f64, 0.0f64, 0usize);
    let mut frame_truth: Vec<(f64, f64)> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut frames = Vec::new();
    let mut warning = false;
    let mut echo_reports = Vec::new();
    let far_at = |i: usize| audio.far.get(i).copied().unwrap_or(0.0);

    for ms in 0..total_ms {
        // The output callback writes 20 ms at a time, `output_latency`
        // ahead of the loudspeaker.
        let ahead = ((ms + spec.output_latency_ms) * rate / 1000) as usize;
        while written + chunk <= ahead {
            let heard = Heard {
                index: written as u64,
                at: {
                    let us = written as u64 * 1_000_000 / rate;
                    at(us, settle_us(us))
                },
            };
            reference.push((heard, (written..written + chunk).map(far_at).collect()));
            written += chunk;
        }
        // The loudspeaker plays up to now; the microphone hears up to now
        // on its own clock.
        let spoken_by_now = (ms * rate / 1000) as usize;
        while spoken < spoken_by_now {
            let x = far_at(spoken);
            path.play(x);
            echo_only.play(x);
            spoken += 1;
        }
        let mic_by_now = ((ms * rate) as f64 * drift / 1000.0) as u64;
        while mic_index < mic_by_now && path.next_source_position() + 2.0 < spoken as f64 {
            let echo = echo_only.hear();
            let near = audio.near.get(mic_index as usize).copied().unwrap_or(0.0);
            mic.push(path.hear() + near);
            echo_acc.0 += f64::from(echo).powi(2);
            echo_acc.1 += f64::from(near).powi(2);
            echo_acc.2 += 1;
            if echo_acc.2 == chunk {
                frame_truth.push((echo_acc.0 / chunk as f64, echo_acc.1 / chunk as f64));
                echo_acc = (0.0, 0.0, 0);
            }
            mic_index += 1;
            if mic.len() == chunk {
                pending.push(Pending {
                    due_ms: ms + spec.input_latency_ms,
                    samples: std::mem::take(&mut mic),
                    stamp: Stamp {
                        end_index: mic_index,
                        at: at((mic_index as f64 * 1e6 / (rate as f64 * drift)) as u64, 0.0),
                    },
                });
            }
        }
        // The capture worker.
        if ms % spec.worker_period_ms == 0 {
            for (heard, samples) in reference.drain(..) {
                processor.feed_reference(&samples, heard)?;
            }
            let due: Vec<Pending> = {
                let (due, later) = pending.drain(..).partition(|p| p.due_ms <= ms);
                pending = later;
                due
            };
            for p in due {
                processor.process(&p.samples, p.stamp, &mut |o| match o {
                    CaptureOutput::Frame(f) => frames.push((f.voice, f.level_db)),
                    CaptureOutput::StrongEcho(on) => warning = on,
                    CaptureOutput::Echo(r) => echo_reports.push(r),
                    CaptureOutput::Level(_) => {}
                })?;
            }
        }
    }

    let mic_frame_ms = |k: usize| -> f64 { (k as f64 * FRAME_MS as f64) / drift };
    let talking = |t_ms: f64| {
        let i = (t_ms * rate as f64 / 1000.0) as usize;
        // The echo of a turn reaches the microphone after the path delay;
        // the interviewer "talks" from the start of its turn to its end.
        audio.turns.iter().any(|r| r.contains(&i))
    };
    let frames: Vec<TrialFrame> = frames
        .iter()
        .enumerate()
        .map(|(k, (voice, level_db))| {
            let (echo_power, near_power) = frame_truth.get(k).copied().unwrap_or((0.0, 0.0));
            TrialFrame {
                voice: *voice,
                level_db: *level_db,
                echo_power,
                near_power,
                interviewer_talking: talking(mic_frame_ms(k)),
            }
        })
        .collect();
    let judged = judge(
        frames.iter().map(|f| (f.voice, f.level_db)),
        spec.judge_uses_voice_flag,
    );
    Ok(TrialResult {
        frames,
        judged,
        echo_warning: warning,
        echo_reports,
    })
}
