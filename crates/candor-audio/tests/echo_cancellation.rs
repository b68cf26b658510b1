//! Echo cancellation on real speech: espeak-ng far-end speech through a
//! simulated echo path (40 ms delay, ×0.4, one-pole low-pass) into the mic.
//! In far-end-only sections the echo must drop by ≥ 30 dB (ERLE); in
//! double-talk the near-end talker must keep its level within 3 dB.

mod common;

use candor_audio::aec::{EchoCanceller, VoiceProcessing};
use candor_audio::resample::MonoResampler;
use candor_audio::wav;

const RATE: u32 = 48_000;
const BLOCK: usize = 480;

fn speech(text: &str, voice: &str, dir: &std::path::Path, name: &str) -> Vec<f32> {
    let path = dir.join(name);
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "160", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng is required for this test (apt-get install espeak-ng)");
    assert!(status.success());
    let (rate, samples) = wav::read_mono(&path).unwrap();
    let mut r = MonoResampler::new(rate, RATE).unwrap();
    let mut out = Vec::new();
    r.process(&samples, &mut out).unwrap();
    r.process(&vec![0.0; rate as usize / 10], &mut out).unwrap();
    out.drain(..r.delay_frames());
    out
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|s| f64::from(*s).powi(2)).sum()
}

#[test]
fn echo_is_cancelled_and_near_end_survives_double_talk() {
    let dir = tempfile::tempdir().unwrap();
    let far_a = speech(
        "Tell me about a time you led a difficult project, and what you learned from it.",
        "en-us",
        dir.path(),
        "far_a.wav",
    );
    let far_b = speech(
        "Why do you want to work here, and where do you see yourself in five years?",
        "en-us",
        dir.path(),
        "far_b.wav",
    );
    let near = speech(
        "I migrated our billing system to a new platform without downtime.",
        "en+f3",
        dir.path(),
        "near.wav",
    );
    // Timeline: far-end A, far-end B (far only), then far-end A again with the
    // near-end talker starting at the same time (double-talk).
    let mut far = Vec::new();
    far.extend_from_slice(&far_a);
    far.extend_from_slice(&far_b);
    let double_start = far.len();
    far.extend_from_slice(&far_a);
    let total = far.len().div_ceil(BLOCK) * BLOCK;
    far.resize(total, 0.0);
    let mut near_track = vec![0.0f32; total];
    let near_len = near.len().min(total - double_start);
    near_track[double_start..double_start + near_len].copy_from_slice(&near[..near_len]);

    // Echo path: 40 ms delay, attenuation, low-pass.
    let delay = RATE as usize * 40 / 1000;
    let mut echo = vec![0.0f32; total];
    let mut lp = 0.0f32;
    for i in delay..total {
        lp += 0.35 * (0.4 * far[i - delay] - lp);
        echo[i] = lp;
    }
    let mic: Vec<f32> = echo.iter().zip(&near_track).map(|(e, n)| e + n).collect();

    let mut aec = EchoCanceller::new(VoiceProcessing::default(), RATE, RATE).unwrap();
    let mut out = vec![0.0f32; total];
    for b in 0..total / BLOCK {
        let r = b * BLOCK..(b + 1) * BLOCK;
        aec.process_render(&far[r.clone()]).unwrap();
        out[r.clone()].copy_from_slice(&mic[r.clone()]);
        aec.process_capture(&mut out[r]).unwrap();
    }

    // ERLE over the far-only part after the first 2 s of convergence, on
    // blocks where the echo is really there (speech, not pauses).
    let (mut e_in, mut e_out) = (0.0, 0.0);
    let max_block = (0..double_start / BLOCK)
        .map(|b| energy(&echo[b * BLOCK..(b + 1) * BLOCK]))
        .fold(0.0, f64::max);
    for b in (2 * RATE as usize / BLOCK)..(double_start / BLOCK) {
        let r = b * BLOCK..(b + 1) * BLOCK;
        let e = energy(&echo[r.clone()]);
        if e > max_block * 1e-3 {
            e_in += e;
            e_out += energy(&out[r]);
        }
    }
    assert!(e_in > 0.0, "no echo energy measured");
    let erle = 10.0 * (e_in / e_out.max(1e-12)).log10();
    assert!(erle >= 30.0, "ERLE {erle:.1} dB (< 30 dB)");

    // Double-talk: output energy against the near-end alone, over the
    // near-end's active span.
    let span = double_start..double_start + near_len;
    let near_db = 10.0 * energy(&near_track[span.clone()]).log10();
    let out_db = 10.0 * energy(&out[span]).log10();
    let change = out_db - near_db;
    assert!(
        change.abs() <= 3.0,
        "near-end level changed by {change:.2} dB in double-talk"
    );
    println!("ERLE {erle:.1} dB, near-end change in double-talk {change:+.2} dB");
}
