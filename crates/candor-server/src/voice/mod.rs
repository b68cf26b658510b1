//! The server's audio, on top of `candor-audio`: the practice interviewer's
//! voice (synthesized in-process by `candor-voice`, resampled and encoded
//! once per text), interviewer audio re-framed for the client, and the
//! candidate's audio as the session hears it (decoded, level, voice
//! activity).
//!
//! Nothing here handles samples by itself: WAV reading, resampling, Opus and
//! PCM16 coding and voice activity are `candor-audio`'s (without its device
//! layer); this module chooses the settings and wires them to the server's
//! needs. Codecs are named by `candor_audio::Codec`.
//!
//! - [`encode`]: interviewer audio → 20 ms frames of Opus or PCM16.
//! - [`utterance`]: one synthesized interviewer line, its frames and words.
//! - [`synth`]: the interviewer's [`Voice`], with a cache per text and
//!   codec; `heap` gives back what a synthesis freed.
//! - [`listen`]: candidate audio → 16 kHz samples and voice activity.

pub mod encode;
mod heap;
pub mod listen;
pub mod synth;
pub mod utterance;

use candor_audio::Codec;
use candor_protocol::AudioCodec;
use thiserror::Error;

pub use encode::{StreamEncoder, encode_clip};
pub use listen::{Heard, Listener};
pub use synth::Voice;
pub use utterance::Utterance;

#[derive(Debug, Error)]
pub enum VoiceError {
    #[error("the interviewer's voice: {0}")]
    Synthesis(#[from] candor_voice::VoiceError),
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    #[error("synthesis task failed: {0}")]
    Join(String),
    #[error(transparent)]
    Audio(#[from] candor_audio::AudioError),
}

/// The codec a protocol `AudioConfig.codec` names (None: unspecified or unknown).
pub fn codec_of(codec: i32) -> Option<Codec> {
    match AudioCodec::try_from(codec) {
        Ok(AudioCodec::Opus) => Some(Codec::Opus),
        Ok(AudioCodec::Pcm16) => Some(Codec::Pcm16),
        _ => None,
    }
}

/// `samples` of a sine at `hz`, amplitude 0.3 (-13.5 dBFS): test speech.
#[cfg(test)]
pub(crate) fn test_tone(rate_hz: u32, hz: f32, samples: usize) -> Vec<f32> {
    let step = std::f32::consts::TAU * hz / rate_hz as f32;
    (0..samples)
        .map(|i| 0.3 * (step * i as f32).sin())
        .collect()
}
