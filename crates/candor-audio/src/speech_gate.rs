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
//!
//! [`BargeIn`] is the rule for cutting the interviewer off: enough *voiced*
//! audio within one speech span. The hang-over keeps a span open between
//! words, but it is not voice: counted as such, a blip of residual echo
//! (120 ms) plus the hang-over (200 ms) would take the interviewer's turn.

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

/// Whether the candidate has cut the interviewer off: `threshold_ms` of
/// voiced audio within one speech span. The one rule the practice
/// interviewer applies and the echo benches judge by.
#[derive(Debug, Clone)]
pub struct BargeIn {
    threshold_ms: u64,
    voiced_ms: u64,
    span_start_ms: Option<u64>,
}

impl BargeIn {
    /// Interrupts after `threshold_ms` of voiced audio in one span.
    pub fn new(threshold_ms: u64) -> Self {
        Self {
            threshold_ms,
            voiced_ms: 0,
            span_start_ms: None,
        }
    }

    /// Feeds one chunk starting at `at_ms`: `voiced` if it holds the
    /// candidate's voice, `speaking` if the speech span is open after it
    /// ([`SpeechGate`]'s verdict). Returns the span's start once its voiced
    /// audio reaches the threshold (and on every later chunk of that span).
    pub fn update(
        &mut self,
        at_ms: u64,
        voiced: bool,
        speaking: bool,
        duration_ms: u64,
    ) -> Option<u64> {
        if !speaking {
            self.voiced_ms = 0;
            self.span_start_ms = None;
            return None;
        }
        let start = *self.span_start_ms.get_or_insert(at_ms);
        if voiced {
            self.voiced_ms += duration_ms;
        }
        (self.voiced_ms >= self.threshold_ms).then_some(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds 20 ms frames (`true`: voiced) through a gate (onset 2,
    /// hang-over 10) and the rule; the frame index of the first barge-in.
    fn barge_in_at(frames: &[bool]) -> Option<(usize, u64)> {
        let mut gate = SpeechGate::new(-40.0, 2, 10);
        let mut rule = BargeIn::new(300);
        frames.iter().enumerate().find_map(|(k, &voiced)| {
            let speaking = gate.update_voiced(voiced);
            rule.update(k as u64 * 20, voiced, speaking, 20)
                .map(|start| (k, start))
        })
    }

    #[test]
    fn a_blip_and_its_hangover_do_not_cut_the_interviewer_off() {
        // 120 ms of voice, then silence: 200 ms of hang-over keep the span
        // open, but only 100 ms of it (after the onset) was a voice.
        let mut frames = vec![true; 6];
        frames.extend([false; 40]);
        assert_eq!(barge_in_at(&frames), None);
        // Two blips within one span (the gap shorter than the hang-over)
        // add up, and still stay under the threshold.
        let mut frames = vec![true; 6];
        frames.extend([false; 5]);
        frames.extend([true; 6]);
        frames.extend([false; 40]);
        assert_eq!(barge_in_at(&frames), None);
    }

    #[test]
    fn words_with_gaps_between_them_cut_the_interviewer_off() {
        // Words of 160 ms with 80 ms gaps: the span stays open and its voice
        // adds up to 300 ms at the end of the second word (7 frames of the
        // first, after the onset's first, and 8 of the second).
        let word = [
            true, true, true, true, true, true, true, true, false, false, false, false,
        ];
        let frames: Vec<bool> = word.iter().copied().cycle().take(60).collect();
        let (k, start) = barge_in_at(&frames).expect("a barge-in");
        assert_eq!(start, 20, "the span opens at the onset's second frame");
        assert_eq!(k, 12 + 7);
    }

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
