//! Speech as a span: onset and hang-over over per-frame voice decisions.
//!
//! Speech starts after `onset` voiced frames in a row (one click is not
//! speech) and ends after `hangover` unvoiced ones (the gaps between words do
//! not split it). A frame is voiced by its level against an operator-set
//! threshold ([`update`](SpeechGate::update)), or by any other per-frame
//! decision ([`update_voiced`](SpeechGate::update_voiced)) — the backend
//! combines that threshold with the neural
//! [`VoiceDetector`](crate::voice_detector::VoiceDetector), so turn-taking
//! behaves the same for every candidate and a fan or a keyboard is not a
//! voice.

/// Voice activity over frames of one fixed duration, from their level in dBFS.
#[derive(Debug, Clone)]
pub struct SpeechGate {
    threshold_db: f32,
    onset: u32,
    hangover: u32,
    loud_run: u32,
    quiet_run: u32,
    speaking: bool,
}

impl SpeechGate {
    /// Frames at or above `threshold_db` are loud; `onset` (at least 1) loud
    /// frames in a row start speech, more than `hangover` quiet ones end it.
    pub fn new(threshold_db: f32, onset: u32, hangover: u32) -> Self {
        Self {
            threshold_db,
            onset: onset.max(1),
            hangover,
            loud_run: 0,
            quiet_run: 0,
            speaking: false,
        }
    }

    /// Whether a frame of `level_db` counts as loud.
    pub fn is_loud(&self, level_db: f32) -> bool {
        level_db >= self.threshold_db
    }

    /// Feeds one frame's level; returns whether speech is ongoing after it.
    pub fn update(&mut self, level_db: f32) -> bool {
        self.update_voiced(self.is_loud(level_db))
    }

    /// Feeds one frame's voice decision; returns whether speech is ongoing
    /// after it.
    pub fn update_voiced(&mut self, voiced: bool) -> bool {
        if voiced {
            self.loud_run += 1;
            self.quiet_run = 0;
            if self.loud_run >= self.onset {
                self.speaking = true;
            }
        } else {
            self.loud_run = 0;
            self.quiet_run += 1;
            if self.quiet_run > self.hangover {
                self.speaking = false;
            }
        }
        self.speaking
    }

    /// Whether speech is ongoing.
    pub fn speaking(&self) -> bool {
        self.speaking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onset_and_hangover() {
        let (loud, quiet) = (-20.0, -120.0);
        let mut gate = SpeechGate::new(-40.0, 2, 3);
        assert!(!gate.update(loud));
        assert!(gate.update(loud));
        for _ in 0..3 {
            assert!(gate.update(quiet), "hangover keeps speech on");
        }
        assert!(!gate.update(quiet));
        assert!(!gate.update(loud), "a single loud frame is not speech");
        assert!(gate.is_loud(-40.0) && !gate.is_loud(-40.1));
    }
}
