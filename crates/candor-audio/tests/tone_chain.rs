//! Synthetic tones through the real capture chain (source → callback → ring →
//! worker → echo canceller → resampler → Opus), decoded and measured.

mod common;

use std::time::Duration;

use candor_audio::codec::FRAME_MS;
use candor_audio::{
    CaptureSettings, Pacing, PcmFormat, SourceSpec, VoiceProcessing, capture_all, wav,
};
use common::{decode_all, frequency, rms_db, sine};

/// A steady tone is exactly what noise suppression is built to remove, so
/// these measurements run the echo canceller and high-pass without it.
fn settings() -> CaptureSettings {
    CaptureSettings {
        processing: VoiceProcessing {
            noise_suppression: false,
            ..VoiceProcessing::default()
        },
        ..CaptureSettings::default()
    }
}

fn check_tone(path: &std::path::Path, seconds: f64, input_db: f64) {
    let frames = capture_all(
        &SourceSpec::Wav {
            path: path.into(),
            pacing: Pacing::AsFastAsPossible,
        },
        settings(),
        Duration::from_secs(60),
    )
    .unwrap();
    let expected = (seconds * 1000.0 / f64::from(FRAME_MS)) as usize;
    assert_eq!(frames.len(), expected, "one frame per 20 ms of input");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.seq, i as u64);
    }
    let pcm = decode_all(&frames);
    assert_eq!(pcm.len(), expected * 320);
    // Skip the first second (codec and canceller settle), measure the rest.
    let steady = &pcm[16_000..pcm.len() - 1600];
    let f = frequency(steady, 16_000);
    assert!((f - 440.0).abs() <= 2.0, "frequency {f} Hz");
    let level = rms_db(steady);
    assert!(
        (level - input_db).abs() <= 1.0,
        "level {level:.2} dBFS, input {input_db:.2} dBFS"
    );
    // Loud, but steady: the neural detector and the level modulation check
    // do not take a tone for the candidate's voice.
    let voiced = frames.iter().skip(50).filter(|f| f.voice).count();
    assert_eq!(voiced, 0, "a steady tone is not a voice");
}

#[test]
fn tone_44k1_stereo_i16_keeps_frequency_and_level() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    let mono = sine(440.0, 0.5, 44_100, 44_100 * 5);
    let stereo: Vec<f32> = mono.iter().flat_map(|s| [*s, *s]).collect();
    wav::write_file(&path, 44_100, 2, false, &stereo).unwrap();
    check_tone(&path, 5.0, rms_db(&mono));
}

#[test]
fn tone_48k_mono_f32_keeps_frequency_and_level() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    let mono = sine(440.0, 0.3, 48_000, 48_000 * 5);
    wav::write_file(&path, 48_000, 1, true, &mono).unwrap();
    check_tone(&path, 5.0, rms_db(&mono));
}

#[test]
fn ten_minutes_give_exactly_thirty_thousand_frames() {
    let frames = capture_all(
        &SourceSpec::Tone {
            frequency: 440.0,
            amplitude: 0.3,
            rate: 48_000,
            channels: 1,
            format: PcmFormat::F32,
            duration: Duration::from_secs(600),
            pacing: Pacing::AsFastAsPossible,
        },
        CaptureSettings::default(),
        Duration::from_secs(100),
    )
    .unwrap();
    assert_eq!(frames.len(), 30_000);
    assert!(frames.iter().enumerate().all(|(i, f)| f.seq == i as u64));
    assert!(
        frames
            .windows(2)
            .all(|w| w[0].captured_at <= w[1].captured_at)
    );
}
