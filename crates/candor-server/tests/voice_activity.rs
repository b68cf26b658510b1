//! What the interviewer takes for the candidate's voice, on Opus chunks as the
//! client sends them: background noise at a level an energy threshold calls
//! speech (a fan's pink noise, hiss, mains hum, typing, a steady tone) is not
//! speech; a voice is, also over that noise. The energy-only decision of the
//! same chunks is printed beside the detector's for comparison.

use candor_audio::Codec;
use candor_audio::meter::frame_level_db;
use candor_audio::speech_gate::SpeechGate;
use candor_server::voice::Listener;
use candor_server::voice::listen::{VAD_HANGOVER, VAD_ONSET};

const RATE: usize = 16_000;
const THRESHOLD_DBFS: f32 = -42.0;

/// A deterministic noise generator (xorshift), uniform in [-1, 1].
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f32 / u32::MAX as f32 * 2.0 - 1.0
    }
}

fn seconds(s: f32) -> usize {
    (s * RATE as f32) as usize
}

fn white(level: f32, len: usize) -> Vec<f32> {
    let mut n = Noise(1);
    (0..len).map(|_| level * n.next()).collect()
}

/// Pink noise (Kellet's filter): the spectrum of a fan or air conditioning.
fn pink(level: f32, len: usize) -> Vec<f32> {
    let mut n = Noise(2);
    let mut b = [0.0f32; 7];
    (0..len)
        .map(|_| {
            let w = n.next();
            b[0] = 0.99886 * b[0] + w * 0.055_517_9;
            b[1] = 0.99332 * b[1] + w * 0.075_075_9;
            b[2] = 0.969 * b[2] + w * 0.153_852;
            b[3] = 0.8665 * b[3] + w * 0.310_485_6;
            b[4] = 0.55 * b[4] + w * 0.532_952_2;
            b[5] = -0.7616 * b[5] - w * 0.016_898;
            let out = b.iter().sum::<f32>() + w * 0.5362;
            b[6] = w * 0.115_926;
            level * out
        })
        .collect()
}

/// Mains hum: 50 Hz and its harmonics.
fn hum(level: f32, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            (1..8)
                .map(|k| level / k as f32 * (std::f32::consts::TAU * 50.0 * k as f32 * t).sin())
                .sum()
        })
        .collect()
}

/// Typing: short noise bursts eight times a second.
fn typing(level: f32, len: usize) -> Vec<f32> {
    let mut n = Noise(3);
    (0..len)
        .map(|i| {
            if i % 2_000 < 60 {
                level * n.next()
            } else {
                0.0
            }
        })
        .collect()
}

fn tone(hz: f32, level: f32, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| level * (std::f32::consts::TAU * hz * i as f32 / RATE as f32).sin())
        .collect()
}

fn speech(text: &str) -> Vec<f32> {
    let out = std::process::Command::new("espeak-ng")
        .args(["--stdout", "-s", "170", text])
        .output()
        .expect("espeak-ng runs");
    assert!(out.status.success());
    let (rate, samples) = candor_audio::clip::read_wav(&out.stdout).unwrap();
    candor_audio::clip::resample(&samples, rate, RATE as u32).unwrap()
}

fn mix(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b.iter().cycle()).map(|(x, y)| x + y).collect()
}

/// Frames in speech, by the detector and by the energy threshold alone.
fn speaking_frames(samples: &[f32]) -> (usize, usize) {
    let chunks = candor_server::voice::encode_clip(Codec::Opus, RATE as u32, samples).unwrap();
    let mut ear = Listener::new(Codec::Opus, 20, THRESHOLD_DBFS).unwrap();
    let mut energy = SpeechGate::new(THRESHOLD_DBFS, VAD_ONSET, VAD_HANGOVER);
    let mut by_detector = 0;
    let mut by_energy = 0;
    for c in &chunks {
        let heard = ear.hear(c, true);
        by_detector += usize::from(heard.speaking);
        by_energy += usize::from(energy.update(frame_level_db(heard.pcm)));
    }
    (by_detector, by_energy)
}

#[test]
fn background_noise_is_not_speech() {
    let len = seconds(5.0);
    let noises = [
        ("pink noise (fan), -30 dBFS", pink(0.03, len)),
        ("white noise (hiss), -30 dBFS", white(0.055, len)),
        ("mains hum, -25 dBFS", hum(0.05, len)),
        ("typing", typing(0.5, len)),
        ("steady 200 Hz tone", tone(200.0, 0.3, len)),
    ];
    for (name, noise) in noises {
        let (detector, energy) = speaking_frames(&noise);
        println!("{name:32} speech frames: detector {detector:3}, energy only {energy:3} of 250");
        assert!(
            detector * 20 < 500,
            "{name}: {} ms of phantom speech",
            detector * 20
        );
    }
}

#[test]
fn a_voice_is_heard_also_over_noise() {
    let voice = speech(
        "I led the migration of our billing system to a new database. \
         We moved forty services in three months without downtime.",
    );
    let clean = speaking_frames(&voice).0;
    let over_fan = speaking_frames(&mix(&voice, &pink(0.01, voice.len()))).0;
    let over_hiss = speaking_frames(&mix(&voice, &white(0.02, voice.len()))).0;
    let frames = voice.len() / 320;
    println!(
        "speech frames of {frames}: clean {clean}, over a fan {over_fan}, over hiss {over_hiss}"
    );
    assert!(clean * 10 >= frames * 8, "clean: {clean} of {frames}");
    assert!(
        over_fan * 10 >= clean * 9,
        "over a fan: {over_fan} vs {clean}"
    );
    assert!(
        over_hiss * 10 >= clean * 9,
        "over hiss: {over_hiss} vs {clean}"
    );
}
