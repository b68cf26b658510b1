//! One interviewer line, synthesized and encoded once in one codec, then
//! shared by every session that says the same text in that codec; with the
//! word boundaries that let its transcript grow as it plays.

use bytes::Bytes;
use candor_audio::Codec;

/// One interviewer utterance.
#[derive(Debug)]
pub struct Utterance {
    pub text: String,
    pub frame_ms: u32,
    codec: Codec,
    frames: Vec<Bytes>,
    /// Byte offset in `text` where each word ends, for partial transcripts.
    word_ends: Vec<usize>,
}

impl Utterance {
    /// `text` spoken as `frames` of `frame_ms` in `codec`.
    pub fn new(text: String, frame_ms: u32, codec: Codec, frames: Vec<Bytes>) -> Self {
        let mut word_ends = Vec::new();
        let mut in_word = false;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if in_word {
                    word_ends.push(i);
                }
                in_word = false;
            } else {
                in_word = true;
            }
        }
        if in_word {
            word_ends.push(text.len());
        }
        Self {
            text,
            frame_ms,
            codec,
            frames,
            word_ends,
        }
    }

    /// The codec of its frames.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The encoded frames, in speaking order.
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// The first `n` words (at least one, at most all).
    pub fn first_words(&self, n: usize) -> &str {
        match self
            .word_ends
            .get(n.max(1).min(self.word_ends.len()).wrapping_sub(1))
        {
            Some(&end) => &self.text[..end],
            None => &self.text,
        }
    }

    pub fn word_count(&self) -> usize {
        self.word_ends.len()
    }

    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    pub fn duration_ms(&self) -> u64 {
        self.frames.len() as u64 * self.frame_ms as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utterance_words() {
        let u = Utterance::new("Hello  there, how are you?".into(), 20, Codec::Opus, vec![]);
        assert_eq!(u.word_count(), 5);
        assert_eq!(u.first_words(0), "Hello");
        assert_eq!(u.first_words(2), "Hello  there,");
        assert_eq!(u.first_words(9), "Hello  there, how are you?");
        assert_eq!(
            Utterance::new(String::new(), 20, Codec::Opus, vec![]).first_words(3),
            ""
        );
    }

    #[test]
    fn frames_and_duration() {
        let u = Utterance::new(
            "Hi".into(),
            20,
            Codec::Pcm16,
            vec![Bytes::from_static(b"p"), Bytes::from_static(b"q")],
        );
        assert_eq!(u.codec(), Codec::Pcm16);
        assert_eq!(u.frames()[1], b"q"[..]);
        assert_eq!((u.frame_count(), u.duration_ms()), (2, 40));
    }
}
