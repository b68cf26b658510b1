//! Candidate audio as the session hears it: each chunk decoded to 16 kHz
//! mono, measured, and classified as speech or not.
//!
//! A chunk is voiced when three things hold: the client marked it as voice
//! (only the client holds the far-end reference, and its flag says the sound
//! is not the interviewer's own echo — `candor_audio::double_talk`), the
//! neural detector (`candor_audio::voice_detector`) hears a voice in it, and
//! it is at least as loud as the operator's threshold. So loud-speaker echo,
//! a fan, a keyboard or music is not the candidate, and a whisper far below
//! the threshold does not take a turn. Then `candor_audio::speech_gate` makes
//! spans of it: [`VAD_ONSET`] voiced chunks start speech and more than
//! [`VAD_HANGOVER`] unvoiced ones end it. A corrupt
//! Opus packet is concealed rather than fatal: one bad packet must not end an
//! interview.

use candor_audio::Codec;
use candor_audio::codec::AudioDecoder;
use candor_audio::meter::frame_level_db;
use candor_audio::speech_gate::SpeechGate;
use candor_audio::voice_detector::VoiceDetector;

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
    /// The chunk itself holds the candidate's voice (client verdict,
    /// detector and threshold).
    pub voiced: bool,
    /// Speech is ongoing after this chunk (onset and hangover applied).
    pub speaking: bool,
}

/// Decoder and voice-activity gate for one session's candidate audio.
pub struct Listener {
    decoder: AudioDecoder,
    voice: VoiceDetector,
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
            voice: VoiceDetector::new(),
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
        let loud = self.gate.is_loud(frame_level_db(&self.pcm));
        let voiced = self.voice.hear(&self.pcm, loud) && client_voice;
        let speaking = self.gate.update_voiced(voiced);
        Heard {
            pcm: &self.pcm,
            voiced,
            speaking,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::{encode_clip, test_tone};

    /// 20 ms PCM16 chunks of `text` spoken at 16 kHz, scaled by `gain`.
    fn spoken(text: &str, gain: f32) -> Vec<bytes::Bytes> {
        let speech = candor_voice::speak(text, 170).unwrap();
        let pcm = candor_audio::clip::resample(&speech.samples, speech.rate_hz, 16_000).unwrap();
        let pcm: Vec<f32> = pcm.iter().map(|s| s * gain).collect();
        encode_clip(Codec::Pcm16, 16_000, &pcm).unwrap()
    }

    #[test]
    fn a_voice_is_speech_and_outlasts_short_gaps() {
        let mut ear = Listener::new(Codec::Pcm16, 20, -42.0).unwrap();
        let speech = spoken("I moved forty services to the new database.", 1.0);
        let heard: Vec<(bool, bool)> = speech
            .iter()
            .map(|c| {
                let h = ear.hear(c, true);
                (h.voiced, h.speaking)
            })
            .collect();
        let first = heard.iter().position(|h| h.0).expect("a voiced chunk");
        assert!(!heard[first].1, "one voiced chunk is not yet speech");
        let voiced = heard.iter().filter(|h| h.0).count();
        assert!(
            voiced * 2 > heard.len(),
            "{voiced} of {} voiced",
            heard.len()
        );
        // Speech outlasts the last voiced chunk by the hangover.
        let quiet = encode_clip(Codec::Pcm16, 16_000, &[0.0; 320]).unwrap();
        let mut speaking: Vec<bool> = heard.iter().map(|h| h.1).collect();
        speaking.extend((0..VAD_HANGOVER + 2).map(|_| ear.hear(&quiet[0], true).speaking));
        let last = heard.iter().rposition(|h| h.0).unwrap();
        let hang = VAD_HANGOVER as usize;
        assert!(speaking[last..=last + hang].iter().all(|s| *s));
        assert!(!speaking[last + hang + 1], "then speech ends");
    }

    #[test]
    fn a_loud_tone_or_a_whisper_below_the_threshold_is_not_speech() {
        let mut ear = Listener::new(Codec::Pcm16, 20, -42.0).unwrap();
        let tone = test_tone(16_000, 200.0, 320 * 100);
        for c in encode_clip(Codec::Pcm16, 16_000, &tone).unwrap() {
            assert!(!ear.hear(&c, true).speaking, "a hum is not a voice");
        }
        let mut ear = Listener::new(Codec::Pcm16, 20, -42.0).unwrap();
        for c in spoken("Can you hear me at all?", 0.001) {
            assert!(!ear.hear(&c, true).voiced, "below the threshold");
        }
    }

    #[test]
    fn a_voice_the_client_calls_echo_is_not_speech() {
        let mut ear = Listener::new(Codec::Pcm16, 20, -42.0).unwrap();
        for chunk in spoken("I moved forty services to the new database.", 1.0) {
            let h = ear.hear(&chunk, false);
            assert!(!h.voiced && !h.speaking);
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
