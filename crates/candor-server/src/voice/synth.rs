//! The practice interviewer's voice: `candor-voice`'s in-process synthesis,
//! resampled to the output rate and encoded in the session's codec, with a
//! cache per text and codec (concurrent requests for the same line wait for
//! one synthesis). Only the codec asked for is encoded and kept: a line's
//! PCM16 frames are sixteen times the size of its Opus frames, and clients
//! (the app, the CLI) ask for Opus.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candor_audio::Codec;
use candor_audio::codec::FRAME_MS;
use tokio::sync::OnceCell;

use super::encode::{check_output_rate, encode_clip};
use super::{Utterance, VoiceError};

/// A line as it is (being) synthesized: requests for it wait on one cell.
type Line = Arc<OnceCell<Arc<Utterance>>>;

/// The interviewer's voice.
#[derive(Debug)]
pub struct Voice {
    words_per_minute: u32,
    rate_hz: u32,
    cache: Mutex<HashMap<(String, Codec), Line>>,
    /// One synthesis at a time: `candor-voice` serializes them anyway (the
    /// synthesizer keeps process-wide state), so further requests wait here,
    /// as tasks, rather than as threads of the blocking pool.
    synth_slot: tokio::sync::Semaphore,
}

impl Voice {
    /// Speaking at `words_per_minute`, sent at `rate_hz`. Both are checked
    /// here, so a bad setting is a startup error rather than a silent
    /// interviewer.
    pub fn new(words_per_minute: u32, rate_hz: u32) -> Result<Self, VoiceError> {
        check_output_rate(rate_hz)?;
        if !candor_voice::WORDS_PER_MINUTE_RANGE.contains(&words_per_minute) {
            return Err(candor_voice::VoiceError::Rate(words_per_minute).into());
        }
        Ok(Self {
            words_per_minute,
            rate_hz,
            cache: Mutex::new(HashMap::new()),
            synth_slot: tokio::sync::Semaphore::new(1),
        })
    }

    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    pub fn frame_ms(&self) -> u32 {
        FRAME_MS
    }

    /// The utterance for `text` in `codec`, synthesized on the blocking
    /// pool the first time.
    pub async fn say(&self, text: &str, codec: Codec) -> Result<Arc<Utterance>, VoiceError> {
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.entry((text.to_owned(), codec)).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            let (wpm, rate) = (self.words_per_minute, self.rate_hz);
            let text = text.to_owned();
            let _slot = self
                .synth_slot
                .acquire()
                .await
                .map_err(|e| VoiceError::Join(e.to_string()))?;
            tokio::task::spawn_blocking(move || {
                let said = synthesize(wpm, rate, codec, text);
                super::heap::release_freed_memory();
                said
            })
            .await
            .map_err(|e| VoiceError::Join(e.to_string()))?
            .map(Arc::new)
        })
        .await
        .cloned()
    }
}

impl Voice {
    /// Whether `text` in `codec` has been synthesized (and is kept).
    #[cfg(test)]
    pub(crate) fn is_cached(&self, text: &str, codec: Codec) -> bool {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(&(text.to_owned(), codec))
            .is_some_and(|line| line.initialized())
    }
}

fn synthesize(wpm: u32, rate_hz: u32, codec: Codec, text: String) -> Result<Utterance, VoiceError> {
    let spoken = candor_voice::speak(&text, wpm)?;
    let samples = candor_audio::clip::resample(&spoken.samples, spoken.rate_hz, rate_hz)?;
    let frames = encode_clip(codec, rate_hz, &samples)?;
    Ok(Utterance::new(text, FRAME_MS, codec, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_is_synthesized_once_and_shared() {
        let voice = Voice::new(165, 24_000).unwrap();
        let text = "Tell me about a project you are proud of.";
        let (a, b) = tokio::join!(voice.say(text, Codec::Opus), voice.say(text, Codec::Opus));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(Arc::ptr_eq(&a, &b), "one synthesis for concurrent requests");
        let again = voice.say(text, Codec::Opus).await.unwrap();
        assert!(Arc::ptr_eq(&a, &again), "cached");
        assert_eq!((a.text.as_str(), a.codec()), (text, Codec::Opus));
    }

    #[tokio::test]
    async fn a_line_is_encoded_in_the_codec_asked_for_only() {
        let voice = Voice::new(165, 24_000).unwrap();
        let text = "And why that one?";
        let opus = voice.say(text, Codec::Opus).await.unwrap();
        let pcm = voice.say(text, Codec::Pcm16).await.unwrap();
        assert_eq!((opus.codec(), pcm.codec()), (Codec::Opus, Codec::Pcm16));
        // The same speech, 20 ms per frame either way: PCM16 at 24 kHz is
        // 480 samples of two bytes, Opus a small packet.
        assert_eq!(opus.frame_count(), pcm.frame_count());
        assert!(pcm.frames().iter().all(|f| f.len() == 960));
        let bytes = |u: &Utterance| u.frames().iter().map(|f| f.len()).sum::<usize>();
        assert!(bytes(&opus) * 4 < bytes(&pcm), "Opus frames are Opus");
        assert_eq!(voice.cache.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_rate_out_of_range_is_refused_at_construction() {
        let err = Voice::new(5, 24_000).unwrap_err();
        assert!(err.to_string().contains("words per minute"), "{err}");
    }
}
