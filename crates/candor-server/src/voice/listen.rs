//! Candidate audio as the session hears it: each chunk decoded to 16 kHz
//! mono, measured, and classified as speech or not.
//!
//! Voice activity is a fixed-threshold gate (`candor_audio::speech_gate`):
//! [`VAD_ONSET`] loud frames start speech and more than [`VAD_HANGOVER`]
//! quiet ones end it, so turn-taking does not depend on the room. A frame
//! counts as loud only if the client also marked it as voice: the client
//! alone holds the far-end reference, and its flag says the sound is not the
//! interviewer's own echo (`candor_audio::double_talk`). Energy alone would
//! take loud-speaker echo for the candidate. A corrupt
//! Opus packet is concealed rather than fatal: one bad packet must not end an
//! interview.

use candor_audio::Codec;
use candor_audio::codec::AudioDecoder;
use candor_audio::meter::frame_level_db;
use candor_audio::speech_gate::SpeechGate;

use super::VoiceError;

/// Candidate audio is analysed at this rate.
pub const ANALYSIS_RATE_HZ: u32 = 16_000;
/// Loud frames in a row that start speech.
pub const VAD_ONSET: u32 = 2;
/// Quiet frames in a row after which speech has ended.
pub const VAD_HANGOVER: u32 = 10;

/// One chunk as heard.
#[derive(Debug, Clone, Copy)]
pub struct Heard<'a> {
    /// Decoded, 16 kHz mono.
    pub pcm: &'a [f32],
    /// The chunk itself is above the voice-activity threshold and the
    /// client marked it as voice.
    pub loud: bool,
    /// Speech is ongoing after this chunk (onset and hangover applied).
    pub speaking: bool,
}

/// Decoder and voice-activity gate for one session's candidate audio.
pub struct Listener {
    decoder: AudioDecoder,
    gate: SpeechGate,
    /// Samples one chunk stands for (what a lost one is concealed with).
    chunk_samples: usize,
    pcm: Vec<f32>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("decoder", &self.decoder)
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// For chunks of `chunk_ms` in `codec`: Opus at any rate (decoded
    /// straight to 16 kHz), PCM16 already at 16 kHz. Speech is at or above
    /// `threshold_dbfs`.
    pub fn new(codec: Codec, chunk_ms: u32, threshold_dbfs: f32) -> Result<Self, VoiceError> {
        Ok(Self {
            decoder: AudioDecoder::new(codec, ANALYSIS_RATE_HZ)?,
            gate: SpeechGate::new(threshold_dbfs, VAD_ONSET, VAD_HANGOVER),
            chunk_samples: (ANALYSIS_RATE_HZ * chunk_ms / 1000) as usize,
            pcm: Vec::new(),
        })
    }

    /// Decodes and classifies one chunk; `client_voice` is the chunk's
    /// `voice_activity` (the client's near-end speech verdict).
    pub fn hear(&mut self, chunk: &[u8], client_voice: bool) -> Heard<'_> {
        self.pcm.clear();
        if self.decoder.decode(chunk, &mut self.pcm).is_err() {
            self.pcm.clear();
            if self
                .decoder
                .conceal(None, self.chunk_samples, &mut self.pcm)
                .is_err()
            {
                self.pcm.clear();
            }
        }
        let level = if client_voice {
            frame_level_db(&self.pcm)
        } else {
            f32::NEG_INFINITY
        };
        let loud = self.gate.is_loud(level);
        let speaking = self.gate.update(level);
        Heard {
            pcm: &self.pcm,
            loud,
            speaking,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::{encode_clip, test_tone};

    #[test]
    fn speech_needs_an_onset_and_outlasts_short_gaps() {
        let tone = test_tone(16_000, 200.0, 320 * 4);
        let loud = encode_clip(Codec::Pcm16, 16_000, &tone).unwrap();
        let quiet = encode_clip(Codec::Pcm16, 16_000, &[0.0; 320]).unwrap();
        let mut ear = Listener::new(Codec::Pcm16, 20, -40.0).unwrap();
        let first = ear.hear(&loud[0], true);
        assert!(first.loud && !first.speaking);
        assert_eq!(first.pcm.len(), 320);
        assert!(ear.hear(&loud[1], true).speaking);
        for _ in 0..VAD_HANGOVER {
            let h = ear.hear(&quiet[0], true);
            assert!(h.speaking && !h.loud, "hangover keeps speech on");
        }
        assert!(!ear.hear(&quiet[0], true).speaking);
    }

    #[test]
    fn loud_audio_the_client_calls_echo_is_not_speech() {
        let tone = test_tone(16_000, 200.0, 320 * 20);
        let mut ear = Listener::new(Codec::Pcm16, 20, -40.0).unwrap();
        for chunk in encode_clip(Codec::Pcm16, 16_000, &tone).unwrap() {
            let h = ear.hear(&chunk, false);
            assert!(!h.loud && !h.speaking);
            assert_eq!(h.pcm.len(), 320, "the audio is still decoded");
        }
    }

    #[test]
    fn a_corrupt_opus_packet_is_concealed() {
        let tone = test_tone(16_000, 300.0, 320 * 10);
        let mut ear = Listener::new(Codec::Opus, 20, -40.0).unwrap();
        for p in encode_clip(Codec::Opus, 16_000, &tone).unwrap() {
            assert_eq!(ear.hear(&p, true).pcm.len(), 320);
        }
        assert_eq!(ear.hear(&[0xff, 0x00, 0x13], true).pcm.len(), 320);
    }
}
