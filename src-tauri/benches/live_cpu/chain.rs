//! The capture chain's own cost, as `candor-audio`'s `capture_chain` bench
//! measures it ("chain, echo cancellation on"), in this run: the live path's
//! settings (`CaptureSettings::default()`, the app's with echo cancellation
//! on), 48 kHz speech with a 40 ms echo of the far end, fed in 20 ms blocks
//! as fast as one core runs it, best of three. Its share of one core is the
//! floor the app's capture worker is compared with.

use std::path::Path;
use std::time::{Duration, Instant};

use candor_audio::capture::{CaptureOutput, CaptureProcessor, CaptureSettings, Stamp};
use candor_audio::resample::MonoResampler;
use candor_audio::{Heard, wav};

const RATE: u32 = 48_000;
const CHUNK: usize = 960;
const SECONDS: usize = 30;

/// `wav` (any rate, mono) at 48 kHz.
pub fn speech_48k(path: &Path) -> Vec<f32> {
    let (rate, s) = wav::read_mono(path).expect("the speech WAV");
    let mut r = MonoResampler::new(rate, RATE).expect("a resampler");
    let mut out = Vec::new();
    r.process(&s, &mut out).expect("resampled");
    out
}

/// The chain's CPU per second of audio, as % of one core.
pub fn cpu_share(speech: &[f32]) -> f64 {
    let n = RATE as usize * SECONDS;
    let near: Vec<f32> = speech.iter().cycle().take(n).copied().collect();
    let far: Vec<f32> = speech
        .iter()
        .cycle()
        .skip(speech.len() / 2)
        .take(n)
        .map(|s| s * 0.8)
        .collect();
    let d = RATE as usize / 25;
    let mic: Vec<f32> = (0..n)
        .map(|i| near[i] * 0.5 + if i >= d { far[i - d] * 0.3 } else { 0.0 })
        .collect();
    let best = (0..3).map(|_| run(&mic, &far)).min().expect("three rounds");
    best.as_secs_f64() / SECONDS as f64 * 100.0
}

fn run(mic: &[f32], far: &[f32]) -> Duration {
    let t0 = Instant::now();
    let mut p = CaptureProcessor::new(RATE, CaptureSettings::default(), 0).expect("the chain");
    let at = Instant::now();
    let time = |index: usize| at + Duration::from_secs_f64(index as f64 / f64::from(RATE));
    p.new_reference(RATE).expect("a reference");
    let mut frames = 0usize;
    for (i, block) in mic.chunks_exact(CHUNK).enumerate() {
        let heard = Heard {
            index: (i * CHUNK) as u64,
            at: time(i * CHUNK),
        };
        p.feed_reference(&far[i * CHUNK..(i + 1) * CHUNK], heard)
            .expect("reference fed");
        let stamp = Stamp {
            end_index: ((i + 1) * CHUNK) as u64,
            at: time((i + 1) * CHUNK - 1),
        };
        p.process(block, stamp, &mut |o| {
            if let CaptureOutput::Frame(_) = o {
                frames += 1;
            }
        })
        .expect("processed");
    }
    assert!(frames > 0, "the chain produced frames");
    t0.elapsed()
}
