//! Neural voice activity: how likely a frame of 16 kHz audio is speech.
//!
//! An energy threshold cannot tell a voice from a fan, a keyboard or music at
//! the same level; this uses earshot's small recurrent network (pure Rust,
//! its 40 KB of weights compiled in) over 16 ms windows of log-mel features.
//! Frames of any length are re-cut into the network's 256-sample windows; a
//! frame's probability is the highest of the windows completed inside it, so
//! a short word onset is not averaged away.
//!
//! The network alone takes some steady sounds for a voice (a low hum near a
//! voice's pitch, a rumble). Speech is never steady: syllables make its level
//! rumble stays within a few dB. [`VoiceDetector::is_voice`] asks for both.
//! [`VoiceDetector::hear`] adds the caller's loudness verdict and rests the
//! network after [`REST_AFTER`] quiet frames: the one rule the client's
//! `voice_activity` flag and the server's listener both apply.
//! Feeding never allocates.

use crate::meter::frame_level_db;

/// The network's window: 16 ms at 16 kHz.
const WINDOW: usize = 256;

/// Speech probability at or above which a window counts as speech.
pub const SPEECH_PROBABILITY: f32 = 0.5;

/// Frames whose levels are compared for modulation (a second of 20 ms frames).
const MODULATION_FRAMES: usize = 50;

/// How far the level must have risen and fallen over [`MODULATION_FRAMES`]
/// for a voice: speech swings 15–100 dB, steady noise 0–10.
pub const MIN_MODULATION_DB: f32 = 6.0;

/// Quiet frames in a row after which the network rests until the next sound
/// (and then hears it the same way whatever the silence before it was).
pub const REST_AFTER: u32 = 5;

/// Speech probability per frame of one 16 kHz mono stream.
pub struct VoiceDetector {
    net: Box<earshot::Detector>,
    window: [f32; WINDOW],
    filled: usize,
    last: f32,
    /// Levels of the last [`MODULATION_FRAMES`] frames (a ring).
    levels: [f32; MODULATION_FRAMES],
    level_at: usize,
    /// Frames in a row the caller found quiet ([`Self::hear`]).
    quiet_run: u32,
}

impl std::fmt::Debug for VoiceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceDetector")
            .field("filled", &self.filled)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl Default for VoiceDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl VoiceDetector {
    pub fn new() -> Self {
        Self {
            net: earshot::Detector::default_boxed(),
            window: [0.0; WINDOW],
            filled: 0,
            last: 0.0,
            levels: [f32::NEG_INFINITY; MODULATION_FRAMES],
            level_at: 0,
            quiet_run: 0,
        }
    }

    /// One frame the caller judged `loud` (above its level gate) or not:
    /// whether it is a voice, loud and heard as one. After more than
    /// [`REST_AFTER`] quiet frames in a row the network rests
    /// ([`Self::quiet`]) until the next loud one.
    pub fn hear(&mut self, pcm: &[f32], loud: bool) -> bool {
        self.quiet_run = if loud { 0 } else { self.quiet_run + 1 };
        if self.quiet_run > REST_AFTER {
            self.quiet(pcm);
            false
        } else {
            self.is_voice(pcm) && loud
        }
    }

    /// Feeds one frame (as [`probability`](Self::probability)); whether it
    /// holds a voice: the network hears one and the level has been swinging
    /// like speech over the last second.
    pub fn is_voice(&mut self, pcm: &[f32]) -> bool {
        let p = self.probability(pcm);
        self.remember_level(pcm);
        p >= SPEECH_PROBABILITY && self.modulation_db() >= MIN_MODULATION_DB
    }

    /// A frame the caller knows holds nothing to hear (well below any voice):
    /// its level counts for the modulation, and the network starts afresh at
    /// the next sound, its windows aligned to it — so the same sound after
    /// silences of different lengths is judged the same.
    pub fn quiet(&mut self, pcm: &[f32]) {
        self.remember_level(pcm);
        self.net.reset();
        self.filled = 0;
        self.last = 0.0;
    }

    fn remember_level(&mut self, pcm: &[f32]) {
        self.levels[self.level_at] = frame_level_db(pcm).max(-120.0);
        self.level_at = (self.level_at + 1) % MODULATION_FRAMES;
    }

    /// Highest minus lowest level over the recent frames.
    fn modulation_db(&self) -> f32 {
        let (lo, hi) = self
            .levels
            .iter()
            .filter(|l| l.is_finite())
            .fold((f32::MAX, f32::MIN), |(lo, hi), &l| (lo.min(l), hi.max(l)));
        if hi < lo { 0.0 } else { hi - lo }
    }

    /// Feeds one frame of 16 kHz mono samples in [-1, 1]; returns the speech
    /// probability of the frame, in [0, 1] (the last window's when the frame
    /// completed none).
    pub fn probability(&mut self, pcm: &[f32]) -> f32 {
        let mut best: Option<f32> = None;
        for &s in pcm {
            self.window[self.filled] = s.clamp(-1.0, 1.0);
            self.filled += 1;
            if self.filled == WINDOW {
                self.filled = 0;
                let p = self.net.predict_f32(&self.window).clamp(0.0, 1.0);
                self.last = p;
                best = Some(best.map_or(p, |b| b.max(p)));
            }
        }
        best.unwrap_or(self.last)
    }

    /// Forgets the stream (a new recording, another device).
    pub fn reset(&mut self) {
        self.net.reset();
        self.filled = 0;
        self.last = 0.0;
        self.levels = [f32::NEG_INFINITY; MODULATION_FRAMES];
        self.level_at = 0;
        self.quiet_run = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_not_speech_and_frames_of_any_length_are_taken() {
        let mut vad = VoiceDetector::new();
        for len in [320, 160, 480, 7] {
            let p = vad.probability(&vec![0.0; len]);
            assert!((0.0..SPEECH_PROBABILITY).contains(&p), "{len}: {p}");
        }
        // Out-of-range samples are clamped, not a panic.
        let p = vad.probability(&[1.7; 320]);
        assert!((0.0..=1.0).contains(&p));
    }

    fn tone(hz: f32, amplitude: f32, seconds: usize) -> Vec<f32> {
        (0..16_000 * seconds)
            .map(|i| amplitude * (std::f32::consts::TAU * hz * i as f32 / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn a_steady_hum_near_a_voices_pitch_is_not_a_voice() {
        // The network alone scores a 200 Hz tone as voice about half the
        // time; its steady level gives it away.
        let mut vad = VoiceDetector::new();
        let hum = tone(200.0, 0.3, 5);
        let voiced = hum.chunks(320).filter(|f| vad.is_voice(f)).count();
        assert_eq!(voiced, 0);
    }
}
