//! The practice interviewer's voice: espeak-ng, resampled to the output rate
//! and encoded in both codecs, with a cache per text (concurrent requests for
//! the same text wait for one synthesis) and at most one synthesis per core.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candor_audio::Codec;
use candor_audio::codec::FRAME_MS;
use tokio::sync::OnceCell;

use super::encode::{check_output_rate, encode_clip};
use super::{Utterance, VoiceError, espeak};

/// The interviewer's voice.
#[derive(Debug)]
pub struct Voice {
    espeak: PathBuf,
    voice: String,
    words_per_minute: u32,
    rate_hz: u32,
    cache: Mutex<HashMap<String, Arc<OnceCell<Arc<Utterance>>>>>,
    /// At most one synthesis per core at a time: a burst of new sessions
    /// must not start dozens of espeak-ng processes at once.
    synth_slots: tokio::sync::Semaphore,
}

impl Voice {
    /// espeak-ng at `espeak` with `voice` and speed, sent at `rate_hz`.
    pub fn new(
        espeak: PathBuf,
        voice: String,
        words_per_minute: u32,
        rate_hz: u32,
    ) -> Result<Self, VoiceError> {
        check_output_rate(rate_hz)?;
        Ok(Self {
            espeak,
            voice,
            words_per_minute,
            rate_hz,
            cache: Mutex::new(HashMap::new()),
            synth_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        })
    }

    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    pub fn frame_ms(&self) -> u32 {
        FRAME_MS
    }

    /// The utterance for `text`, synthesized on the blocking pool the first time.
    pub async fn say(&self, text: &str) -> Result<Arc<Utterance>, VoiceError> {
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.entry(text.to_owned()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            let (espeak, voice, wpm, rate) = (
                self.espeak.clone(),
                self.voice.clone(),
                self.words_per_minute,
                self.rate_hz,
            );
            let text = text.to_owned();
            let _slot = self
                .synth_slots
                .acquire()
                .await
                .map_err(|e| VoiceError::Join(e.to_string()))?;
            tokio::task::spawn_blocking(move || synthesize(&espeak, &voice, wpm, rate, text))
                .await
                .map_err(|e| VoiceError::Join(e.to_string()))?
                .map(Arc::new)
        })
        .await
        .cloned()
    }
}

fn synthesize(
    espeak_path: &Path,
    voice: &str,
    wpm: u32,
    rate_hz: u32,
    text: String,
) -> Result<Utterance, VoiceError> {
    let (spoken_rate, spoken) = espeak::speak(espeak_path, voice, wpm, &text)?;
    let samples = candor_audio::clip::resample(&spoken, spoken_rate, rate_hz)?;
    Ok(Utterance::new(
        text,
        FRAME_MS,
        encode_clip(Codec::Opus, rate_hz, &samples)?,
        encode_clip(Codec::Pcm16, rate_hz, &samples)?,
    ))
}
