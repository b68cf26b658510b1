//! Whole clips in memory: a WAV image read into mono samples, and a clip
//! resampled in one go.
//!
//! The streaming parts of the crate (capture, playback) work block by block;
//! the backend instead synthesizes a whole utterance at once and wants it
//! back whole, aligned and of the exact length. These two functions serve it
//! (and tests that prepare audio) without a file on disk.

use hound::SampleFormat;

use crate::AudioError;
use crate::resample::MonoResampler;

/// Reads a WAV image (any rate, channel count and PCM format) as mono f32,
/// channels averaged. Returns (rate, samples).
///
/// A program that streams WAV to a pipe (espeak-ng `--stdout`) cannot fill in
/// the sizes and writes "very long" instead; reading simply stops where the
/// bytes end.
pub fn read_wav(bytes: &[u8]) -> Result<(u32, Vec<f32>), AudioError> {
    let mut reader = hound::WavReader::new(bytes)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::UnsupportedFormat(format!("{spec:?}")));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        SampleFormat::Float => reader.samples::<f32>().map_while(Result::ok).collect(),
        SampleFormat::Int => {
            let full_scale = (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map_while(Result::ok)
                .map(|s| s as f32 / full_scale)
                .collect()
        }
    };
    let mono = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok((spec.sample_rate, mono))
}

/// `samples` at `from` Hz resampled to `to` Hz: exactly
/// `round(len · to / from)` samples, aligned with the input (the resampler's
/// delay is removed and its tail flushed with silence).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    let mut resampler = MonoResampler::new(from, to)?;
    let wanted =
        ((samples.len() as u64 * u64::from(to) + u64::from(from) / 2) / u64::from(from)) as usize;
    let skip = resampler.delay_frames();
    let mut out = Vec::with_capacity(skip + wanted + to as usize / 50);
    resampler.process(samples, &mut out)?;
    let silence = vec![0.0; (from as usize).div_ceil(100)];
    while out.len() < skip + wanted {
        resampler.process(&silence, &mut out)?;
    }
    out.drain(..skip);
    out.truncate(wanted);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::frame_level_db;

    fn sine(rate: u32, hz: f32, ms: u32, amp: f32) -> Vec<f32> {
        (0..rate * ms / 1000)
            .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    /// A 16-bit WAV image of `channels` interleaved channels, with the sizes a
    /// pipe writer leaves when `streamed`.
    fn wav_image(rate: u32, channels: u16, samples: &[i16], streamed: bool) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut bytes, spec).unwrap();
        for s in samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        let mut bytes = bytes.into_inner();
        if streamed {
            bytes[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
            bytes[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn wav_images_read_as_mono() {
        let stereo = [16_384i16, 0, -8_192, -8_192, 100, 300];
        for streamed in [false, true] {
            let (rate, mono) = read_wav(&wav_image(22_050, 2, &stereo, streamed)).unwrap();
            assert_eq!(rate, 22_050);
            assert_eq!(mono, [0.25, -0.25, 200.0 / 32_768.0]);
        }
        assert!(read_wav(b"nonsense").is_err());
    }

    #[test]
    fn resampling_keeps_length_level_and_timing() {
        let tone = sine(22_050, 440.0, 1000, 0.5);
        let out = resample(&tone, 22_050, 24_000).unwrap();
        assert_eq!(out.len(), 24_000);
        let (a, b) = (frame_level_db(&tone), frame_level_db(&out[100..23_900]));
        assert!((a - b).abs() < 0.5, "{a} vs {b}");

        // A tone that starts half-way starts half-way after resampling.
        let mut late = vec![0.0; 8_000];
        late.extend(sine(16_000, 300.0, 500, 0.5));
        let out = resample(&late, 16_000, 48_000).unwrap();
        assert_eq!(out.len(), 48_000);
        assert!(frame_level_db(&out[..23_500]) < -40.0);
        assert!(frame_level_db(&out[24_500..]) > -10.0);

        assert_eq!(resample(&[0.5; 7], 16_000, 16_000).unwrap(), [0.5; 7]);
        assert!(resample(&[], 16_000, 24_000).unwrap().is_empty());
    }
}
