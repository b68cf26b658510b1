//! Opus encoder and decoder wrappers with Candor's settings.
//!
//! Upstream: 16 kHz mono, 20 ms frames, VOIP mode, ~20 kbit/s VBR, in-band FEC
//! on (tuned for 10 % loss so the redundancy is really coded), DTX optional.
//! Downstream: a decoder that can conceal a lost frame from the FEC data
//! carried by the next one. PCM16 is the fallback codec for servers that send
//! raw audio. These types have no device dependency, so the backend server
//! uses them as well.

use opus::{Application, Bitrate, Channels, Decoder, Encoder, Signal};

use crate::AudioError;

/// Capture side: 16 kHz mono.
pub const CAPTURE_RATE: u32 = 16_000;
/// 20 ms frames.
pub const FRAME_MS: u32 = 20;
/// Samples per 20 ms frame at 16 kHz.
pub const CAPTURE_FRAME_SAMPLES: usize = (CAPTURE_RATE * FRAME_MS / 1000) as usize;
/// The sample rates Opus encodes and decodes at, in Hz. Everything in Candor
/// that checks or picks an Opus rate uses this list.
pub const OPUS_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];
/// The largest packet we produce or accept (Opus' own limit is 1275 bytes per frame).
pub const MAX_PACKET: usize = 1500;

/// The wire codec of an audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Opus packets.
    Opus,
    /// Little-endian signed 16-bit mono PCM.
    Pcm16,
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderSettings {
    /// Target bitrate in bit/s.
    pub bitrate: i32,
    /// In-band forward error correction.
    pub fec: bool,
    /// Expected packet loss in percent (FEC is only coded when > 0).
    pub expected_loss_percent: i32,
    /// Discontinuous transmission (tiny packets in silence).
    pub dtx: bool,
    /// libopus complexity 0..=10.
    pub complexity: i32,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            bitrate: 20_000,
            fec: true,
            expected_loss_percent: 10,
            dtx: false,
            complexity: 8,
        }
    }
}

/// A 16 kHz mono Opus encoder for 20 ms frames.
pub struct OpusEncoder {
    inner: Encoder,
    lookahead: usize,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("lookahead", &self.lookahead)
            .finish()
    }
}

impl OpusEncoder {
    /// A 16 kHz encoder with `settings`.
    pub fn new(settings: EncoderSettings) -> Result<Self, AudioError> {
        Self::with_rate(CAPTURE_RATE, settings)
    }

    /// An encoder at `rate` Hz (one of [`OPUS_RATES`]; frames are then
    /// `rate / 50` samples). The backend uses it for 24 kHz interviewer audio.
    pub fn with_rate(rate: u32, settings: EncoderSettings) -> Result<Self, AudioError> {
        check_opus_rate(rate)?;
        let mut inner = Encoder::new(rate, Channels::Mono, Application::Voip)?;
        inner.set_bitrate(Bitrate::Bits(settings.bitrate))?;
        inner.set_vbr(true)?;
        inner.set_signal(Signal::Voice)?;
        inner.set_inband_fec(settings.fec)?;
        inner.set_packet_loss_perc(settings.expected_loss_percent)?;
        inner.set_dtx(settings.dtx)?;
        inner.set_complexity(settings.complexity)?;
        let lookahead = usize::try_from(inner.get_lookahead()?).unwrap_or(0);
        Ok(Self { inner, lookahead })
    }

    /// The encoder's lookahead in samples at its rate (part of the codec delay).
    pub fn lookahead(&self) -> usize {
        self.lookahead
    }

    /// Encodes one 20 ms frame (320 samples at 16 kHz) into `out`, returning the packet length.
    pub fn encode(&mut self, frame: &[f32], out: &mut [u8]) -> Result<usize, AudioError> {
        Ok(self.inner.encode_float(frame, out)?)
    }

    /// Encodes one 20 ms frame into a new packet.
    pub fn encode_vec(&mut self, frame: &[f32]) -> Result<Vec<u8>, AudioError> {
        let mut buf = [0u8; MAX_PACKET];
        let n = self.encode(frame, &mut buf)?;
        Ok(buf[..n].to_vec())
    }
}

/// A mono Opus (or PCM16) decoder producing f32 at a chosen rate.
pub struct AudioDecoder {
    codec: Codec,
    rate: u32,
    opus: Option<Decoder>,
}

impl std::fmt::Debug for AudioDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDecoder")
            .field("codec", &self.codec)
            .field("rate", &self.rate)
            .finish()
    }
}

impl AudioDecoder {
    /// A decoder for `codec`. For Opus `rate` must be one of [`OPUS_RATES`]
    /// (Opus decodes to any of these); for PCM16 it is the stream's rate.
    pub fn new(codec: Codec, rate: u32) -> Result<Self, AudioError> {
        let opus = match codec {
            Codec::Opus => {
                check_opus_rate(rate)?;
                Some(Decoder::new(rate, Channels::Mono)?)
            }
            Codec::Pcm16 => None,
        };
        Ok(Self { codec, rate, opus })
    }

    /// Output rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Decodes one packet, appending samples to `out`; returns how many.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<f32>) -> Result<usize, AudioError> {
        match self.opus.as_mut() {
            None => {
                let n = packet.len() / 2;
                out.extend(
                    packet
                        .chunks_exact(2)
                        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0),
                );
                Ok(n)
            }
            Some(dec) => {
                let start = out.len();
                out.resize(start + self.rate as usize * 120 / 1000, 0.0);
                let n = dec.decode_float(packet, &mut out[start..], false)?;
                out.truncate(start + n);
                Ok(n)
            }
        }
    }

    /// Conceals one lost frame of `frame_samples` samples: from the FEC data in
    /// `next` when given (the packet after the lost one), else by packet loss
    /// concealment. PCM16 conceals with silence.
    pub fn conceal(
        &mut self,
        next: Option<&[u8]>,
        frame_samples: usize,
        out: &mut Vec<f32>,
    ) -> Result<usize, AudioError> {
        let start = out.len();
        out.resize(start + frame_samples, 0.0);
        match self.opus.as_mut() {
            None => Ok(frame_samples),
            Some(dec) => {
                let n = match next {
                    Some(p) => dec.decode_float(p, &mut out[start..], true)?,
                    None => dec.decode_float(&[], &mut out[start..], false)?,
                };
                out.truncate(start + n);
                Ok(n)
            }
        }
    }

    /// Forgets decoder state (after a flush).
    pub fn reset(&mut self) -> Result<(), AudioError> {
        if let Some(dec) = self.opus.as_mut() {
            dec.reset_state()?;
        }
        Ok(())
    }
}

/// An error unless Opus runs at `rate`.
fn check_opus_rate(rate: u32) -> Result<(), AudioError> {
    if OPUS_RATES.contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::UnsupportedFormat(format!(
            "Opus does not run at {rate} Hz (it runs at {OPUS_RATES:?})"
        )))
    }
}

/// Encodes mono f32 as PCM16 little-endian bytes.
pub fn encode_pcm16(samples: &[f32]) -> Vec<u8> {
    use crate::sample::AudioSample;
    samples
        .iter()
        .flat_map(|s| i16::from_f32(*s).to_le_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_round_trip_and_fec_concealment() {
        let mut enc = OpusEncoder::new(EncoderSettings::default()).unwrap();
        let mut dec = AudioDecoder::new(Codec::Opus, 16_000).unwrap();
        let mut packets = Vec::new();
        for f in 0..50 {
            let frame: Vec<f32> = (0..CAPTURE_FRAME_SAMPLES)
                .map(|i| {
                    let t = (f * CAPTURE_FRAME_SAMPLES + i) as f32 / 16_000.0;
                    0.3 * (2.0 * std::f32::consts::PI * 300.0 * t).sin()
                })
                .collect();
            packets.push(enc.encode_vec(&frame).unwrap());
        }
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            if i == 30 {
                dec.conceal(Some(&packets[31]), CAPTURE_FRAME_SAMPLES, &mut out)
                    .unwrap();
            } else {
                assert_eq!(dec.decode(p, &mut out).unwrap(), CAPTURE_FRAME_SAMPLES);
            }
        }
        assert_eq!(out.len(), 50 * CAPTURE_FRAME_SAMPLES);
        let lost = &out[30 * CAPTURE_FRAME_SAMPLES..31 * CAPTURE_FRAME_SAMPLES];
        assert!(
            crate::sample::rms(lost) > 0.1,
            "FEC should recover the tone"
        );
    }

    #[test]
    fn pcm16_round_trip() {
        let mut dec = AudioDecoder::new(Codec::Pcm16, 24_000).unwrap();
        let mut out = Vec::new();
        dec.decode(&encode_pcm16(&[0.5, -0.25]), &mut out).unwrap();
        assert!((out[0] - 0.5).abs() < 1e-4 && (out[1] + 0.25).abs() < 1e-4);
    }
}
