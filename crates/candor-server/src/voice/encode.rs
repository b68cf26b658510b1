//! Interviewer audio as the client receives it: 20 ms frames of Opus or
//! PCM16 at the session's output rate.
//!
//! One [`StreamEncoder`] serves both interviewers: the Gemini bridge pushes
//! the model's PCM16 in pieces of any length and rate, the practice voice
//! encodes a whole synthesized clip ([`encode_clip`]). Both encode with the
//! same Opus settings.

use bytes::Bytes;
use candor_audio::codec::{FRAME_MS, OPUS_RATES, OpusEncoder, encode_pcm16};
use candor_audio::resample::MonoResampler;
use candor_audio::sample::AudioSample;
use candor_audio::{Codec, EncoderSettings};

use super::VoiceError;

/// Interviewer audio bitrate: speech at 24 kbit/s.
pub const OUTPUT_BITRATE: i32 = 24_000;

/// Opus settings for interviewer audio.
const INTERVIEWER_OPUS: EncoderSettings = EncoderSettings {
    bitrate: OUTPUT_BITRATE,
    // The downlink is TCP: nothing is lost, FEC would only cost bits.
    fec: false,
    expected_loss_percent: 0,
    dtx: false,
    complexity: 8,
};

/// Fails unless interviewer audio can be sent at `rate_hz` (an Opus rate,
/// for either codec).
pub fn check_output_rate(rate_hz: u32) -> Result<(), VoiceError> {
    if OPUS_RATES.contains(&rate_hz) {
        Ok(())
    } else {
        Err(VoiceError::Unsupported(format!(
            "output rate {rate_hz} Hz (Opus needs 8, 12, 16, 24 or 48 kHz)"
        )))
    }
}

/// Turns mono audio (at any rate, in pieces of any length) into 20 ms frames
/// of the session's output: Opus or PCM16 at `rate_hz`. Audio from another
/// rate is resampled on the way.
pub struct StreamEncoder {
    rate_hz: u32,
    frame: usize,
    opus: Option<OpusEncoder>,
    resampler: Option<MonoResampler>,
    input: Vec<f32>,
    pending: Vec<f32>,
}

impl std::fmt::Debug for StreamEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEncoder")
            .field("rate_hz", &self.rate_hz)
            .field("opus", &self.opus.is_some())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl StreamEncoder {
    /// 20 ms frames of `codec` at `rate_hz` (8, 12, 16, 24 or 48 kHz).
    pub fn new(codec: Codec, rate_hz: u32) -> Result<Self, VoiceError> {
        check_output_rate(rate_hz)?;
        let opus = match codec {
            Codec::Opus => Some(OpusEncoder::with_rate(rate_hz, INTERVIEWER_OPUS)?),
            Codec::Pcm16 => None,
        };
        Ok(Self {
            rate_hz,
            frame: (rate_hz * FRAME_MS / 1000) as usize,
            opus,
            resampler: None,
            input: Vec::new(),
            pending: Vec::new(),
        })
    }

    pub fn frame_ms(&self) -> u32 {
        FRAME_MS
    }

    /// Adds `pcm_le` (little-endian PCM16 at `in_rate` Hz) and returns every
    /// completed frame.
    pub fn push(&mut self, pcm_le: &[u8], in_rate: u32) -> Result<Vec<Bytes>, VoiceError> {
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        input.extend(
            pcm_le
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]).to_f32()),
        );
        let frames = self.push_samples(&input, in_rate);
        self.input = input;
        frames
    }

    /// Adds mono `samples` at `in_rate` Hz and returns every completed frame.
    pub fn push_samples(
        &mut self,
        samples: &[f32],
        in_rate: u32,
    ) -> Result<Vec<Bytes>, VoiceError> {
        if in_rate == self.rate_hz {
            self.pending.extend_from_slice(samples);
        } else {
            if self
                .resampler
                .as_ref()
                .is_none_or(|r| r.in_rate() != in_rate)
            {
                self.resampler = Some(MonoResampler::new(in_rate, self.rate_hz)?);
            }
            if let Some(r) = self.resampler.as_mut() {
                r.process(samples, &mut self.pending)?;
            }
        }
        let mut out = Vec::with_capacity(self.pending.len() / self.frame);
        let mut start = 0;
        while self.pending.len() - start >= self.frame {
            out.push(self.encode(start)?);
            start += self.frame;
        }
        self.pending.drain(..start);
        Ok(out)
    }

    /// The last partial frame, padded with silence (at the end of a turn).
    pub fn flush(&mut self) -> Result<Option<Bytes>, VoiceError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        self.pending.resize(self.frame, 0.0);
        let frame = self.encode(0)?;
        self.pending.clear();
        Ok(Some(frame))
    }

    /// Forgets buffered audio (the turn was interrupted).
    pub fn reset(&mut self) {
        self.pending.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.reset();
        }
    }

    fn encode(&mut self, start: usize) -> Result<Bytes, VoiceError> {
        let frame = &self.pending[start..start + self.frame];
        match self.opus.as_mut() {
            Some(enc) => Ok(Bytes::from(enc.encode_vec(frame)?)),
            None => Ok(Bytes::from(encode_pcm16(frame))),
        }
    }
}

/// A whole mono clip at `rate_hz` as 20 ms frames of `codec` (the last one
/// padded with silence).
pub fn encode_clip(codec: Codec, rate_hz: u32, samples: &[f32]) -> Result<Vec<Bytes>, VoiceError> {
    let mut encoder = StreamEncoder::new(codec, rate_hz)?;
    let mut frames = encoder.push_samples(samples, rate_hz)?;
    frames.extend(encoder.flush()?);
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_audio::codec::AudioDecoder;
    use candor_audio::meter::frame_level_db;

    use crate::voice::test_tone;

    #[test]
    fn clips_become_whole_frames_that_keep_the_speech_level() {
        let tone = test_tone(16_000, 300.0, 6240);
        let packets = encode_clip(Codec::Opus, 16_000, &tone).unwrap();
        assert_eq!(packets.len(), 20, "the last partial frame is padded");
        let mut dec = AudioDecoder::new(Codec::Opus, 16_000).unwrap();
        let mut out = Vec::new();
        for p in &packets {
            dec.decode(p, &mut out).unwrap();
        }
        assert_eq!(out.len(), 6400);
        let level = frame_level_db(&out[1600..6000]);
        assert!((level - frame_level_db(&tone)).abs() < 3.0, "{level}");

        let raw = encode_clip(Codec::Pcm16, 16_000, &tone).unwrap();
        assert_eq!(raw.len(), 20);
        assert!(raw.iter().all(|f| f.len() == 640));
        assert!(encode_clip(Codec::Opus, 44_100, &tone).is_err());
    }

    #[test]
    fn stream_encoder_frames_any_chunking_and_resamples() {
        let tone = test_tone(24_000, 300.0, 24_000);
        let bytes = encode_pcm16(&tone);
        let mut enc = StreamEncoder::new(Codec::Opus, 24_000).unwrap();
        let mut frames = Vec::new();
        // Odd-sized pieces, as the Live API sends them.
        for piece in bytes.chunks(1234 * 2) {
            frames.extend(enc.push(piece, 24_000).unwrap());
        }
        frames.extend(enc.flush().unwrap());
        assert_eq!(frames.len(), 50);
        let mut dec = AudioDecoder::new(Codec::Opus, 24_000).unwrap();
        let mut all = Vec::new();
        for f in &frames {
            dec.decode(f, &mut all).unwrap();
        }
        assert!((frame_level_db(&all[4800..]) - frame_level_db(&tone)).abs() < 3.0);

        let mut pcm_enc = StreamEncoder::new(Codec::Pcm16, 24_000).unwrap();
        let from16 = encode_pcm16(&test_tone(16_000, 300.0, 16_000));
        let mut n = 0;
        for piece in from16.chunks(640) {
            n += pcm_enc.push(piece, 16_000).unwrap().len();
        }
        assert!((48..=50).contains(&n), "{n} frames of resampled audio");
        pcm_enc.reset();
        assert_eq!(pcm_enc.flush().unwrap(), None);
    }
}
