//! Signal analysis shared by Candor's audio tests.
#![allow(dead_code)]

use candor_audio::EncodedFrame;
use candor_audio::codec::{AudioDecoder, Codec};

/// Decodes frames (in order) to 16 kHz mono.
pub fn decode_all(frames: &[EncodedFrame]) -> Vec<f32> {
    let mut dec = AudioDecoder::new(Codec::Opus, 16_000).unwrap();
    let mut out = Vec::new();
    for f in frames {
        dec.decode(&f.payload, &mut out).unwrap();
    }
    out
}

/// Frequency from positive-going zero crossings, interpolated.
pub fn frequency(samples: &[f32], rate: u32) -> f64 {
    let mut first = None;
    let mut last = 0.0;
    let mut count = 0usize;
    for i in 1..samples.len() {
        let (a, b) = (samples[i - 1], samples[i]);
        if a < 0.0 && b >= 0.0 {
            let t = (i - 1) as f64 + f64::from(a / (a - b));
            if first.is_none() {
                first = Some(t);
            } else {
                count += 1;
            }
            last = t;
        }
    }
    let first = first.expect("no zero crossing");
    count as f64 * f64::from(rate) / (last - first)
}

pub fn rms_db(samples: &[f32]) -> f64 {
    let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    10.0 * (sum / samples.len() as f64).max(1e-20).log10()
}

pub fn sine(freq: f64, amp: f64, rate: u32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as f32
        })
        .collect()
}

/// Makes speech with espeak-ng into `path` (22.05 kHz mono i16). Panics with
/// a clear message when espeak-ng is missing: these tests must not pass
/// without speech.
pub fn espeak(text: &str, path: &std::path::Path) {
    let status = std::process::Command::new("espeak-ng")
        .args(["-s", "150", "-w"])
        .arg(path)
        .arg(text)
        .status()
        .expect("espeak-ng is required for this test (apt-get install espeak-ng)");
    assert!(status.success(), "espeak-ng failed");
}

/// Power of `samples` at `freq` (Goertzel), normalised by length.
pub fn goertzel_power(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s0 = f64::from(*x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len() as f64).powi(2)
}
