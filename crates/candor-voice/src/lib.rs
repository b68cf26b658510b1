//! The offline practice interviewer's voice, synthesized inside the process.
//!
//! Candor ships as one program: the interviewer must speak on a machine that
//! has nothing else installed, on Linux, macOS and Windows alike. The voice is
//! Flite's `cmu_us_slt` (a statistical parametric US English voice), linked
//! statically with its lexicon and voice data (see `build.rs`), so they are
//! part of the binary; Flite's licence is BSD-style, so shipping it keeps
//! Candor's own licence. No external program is run and no data file is
//! looked up at run time.
//!
//! [`speak`] is blocking and CPU-bound (roughly 10–20× faster than real time
//! on one core): callers run it off the async and audio threads and cache the
//! result per text. Flite keeps process-wide state (its registered voice and
//! lexicon, the rate setting applied to the voice, and the C library's random
//! generator that its noise excitation draws on), so syntheses are serialized
//! by a lock inside this crate; each is seeded the same way, so a text always
//! gives the same audio. A text is spoken sentence by sentence, each
//! sentence its own utterance (see `sentences`): what the synthesizer holds
//! while it works is bounded by the longest sentence, not the whole line.

mod flite;
mod sentences;

use thiserror::Error;

/// The speaking rate Flite's voice has when left alone, in words per minute
/// over a line as [`speak`] says it (the pauses within and between its
/// sentences included). Measured on the practice interviewer's questions;
/// [`speak`] stretches durations from it.
pub const NATURAL_WORDS_PER_MINUTE: f32 = 191.0;

/// Slowest and fastest rates [`speak`] accepts, in words per minute.
pub const WORDS_PER_MINUTE_RANGE: std::ops::RangeInclusive<u32> = 60..=600;

#[derive(Debug, Error)]
pub enum VoiceError {
    #[error("the text to speak contains a NUL character")]
    NulInText,
    #[error("speaking rate {0} words per minute is outside {min}–{max}", min = WORDS_PER_MINUTE_RANGE.start(), max = WORDS_PER_MINUTE_RANGE.end())]
    Rate(u32),
    #[error("the voice produced no audio for {0:?}")]
    NoAudio(String),
}

/// Mono audio at its own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    pub rate_hz: u32,
    /// Samples in −1.0..1.0.
    pub samples: Vec<f32>,
}

impl Speech {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate_hz)
    }
}

/// `text` spoken at about `words_per_minute`. Blocking; see the crate docs.
pub fn speak(text: &str, words_per_minute: u32) -> Result<Speech, VoiceError> {
    if !WORDS_PER_MINUTE_RANGE.contains(&words_per_minute) {
        return Err(VoiceError::Rate(words_per_minute));
    }
    if text.contains('\0') {
        return Err(VoiceError::NulInText);
    }
    let stretch = NATURAL_WORDS_PER_MINUTE / words_per_minute as f32;
    let no_audio = || VoiceError::NoAudio(text.to_owned());
    let mut speech = Speech {
        rate_hz: 0,
        samples: Vec::new(),
    };
    for sentence in sentences::sentences(text) {
        let sentence = std::ffi::CString::new(sentence).map_err(|_| VoiceError::NulInText)?;
        let part = flite::synthesize(&sentence, stretch).ok_or_else(no_audio)?;
        if part.rate_hz == 0 || (speech.rate_hz != 0 && part.rate_hz != speech.rate_hz) {
            return Err(no_audio());
        }
        speech.rate_hz = part.rate_hz;
        speech.samples.extend_from_slice(&part.samples);
    }
    if speech.samples.is_empty() {
        return Err(no_audio());
    }
    Ok(speech)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUESTION: &str = "Tell me about a time you disagreed with a teammate. \
        What did you do, and what happened in the end?";

    fn rms_dbfs(samples: &[f32]) -> f64 {
        let mean = samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>()
            / samples.len().max(1) as f64;
        10.0 * mean.max(1e-12).log10()
    }

    fn words_per_minute(text: &str, speech: &Speech) -> f64 {
        text.split_whitespace().count() as f64 / speech.duration_secs() * 60.0
    }

    #[test]
    fn a_question_is_spoken_audibly() {
        let speech = speak(QUESTION, 165).unwrap();
        assert_eq!(speech.rate_hz, 16_000);
        assert!(
            (3.0..12.0).contains(&speech.duration_secs()),
            "{} s",
            speech.duration_secs()
        );
        let level = rms_dbfs(&speech.samples);
        assert!(level > -30.0, "the voice is audible: {level:.1} dBFS");
        assert!(speech.samples.iter().all(|s| (-1.0..1.0).contains(s)));
    }

    #[test]
    fn the_speaking_rate_follows_the_setting() {
        for wpm in [120, 165, 300] {
            let measured = words_per_minute(QUESTION, &speak(QUESTION, wpm).unwrap());
            let ratio = measured / f64::from(wpm);
            assert!(
                (0.8..1.25).contains(&ratio),
                "asked for {wpm} words per minute, got {measured:.0}"
            );
        }
    }

    #[test]
    fn a_text_is_spoken_sentence_by_sentence() {
        let (first, second) = QUESTION.split_at(QUESTION.find("What").unwrap());
        let whole = speak(QUESTION, 165).unwrap();
        let mut parts = speak(first, 165).unwrap();
        parts.samples.extend(speak(second, 165).unwrap().samples);
        assert!(
            whole == parts,
            "the line is its sentences, one after the other"
        );
    }

    #[test]
    fn the_same_text_gives_the_same_audio_from_any_thread() {
        let serial = speak(QUESTION, 200).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| speak(QUESTION, 200).unwrap()))
            .collect();
        for t in threads {
            assert!(t.join().unwrap() == serial, "a thread's audio differs");
        }
        // A different rate in between does not leak into the next synthesis.
        speak(QUESTION, 400).unwrap();
        assert!(speak(QUESTION, 200).unwrap() == serial, "the rate leaked");
    }

    #[test]
    fn any_text_is_spoken_or_refused_clearly() {
        for text in [
            "Héllo — naïve café… 😀 日本語",
            "In 2024 we cut costs by 30% ($1.2M) at 3:45pm; C++ & Rust's #1 fan @team.",
            "....!!!???",
            "",
        ] {
            let speech = speak(text, 165).unwrap();
            assert!(!speech.samples.is_empty(), "{text:?}");
        }
        assert!(matches!(speak("a\0b", 165), Err(VoiceError::NulInText)));
        assert!(matches!(speak(QUESTION, 10), Err(VoiceError::Rate(10))));
        assert!(matches!(speak(QUESTION, 1000), Err(VoiceError::Rate(1000))));
    }
}
