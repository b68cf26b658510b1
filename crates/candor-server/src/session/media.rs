//! The candidate's audio on the session timeline.
//!
//! Every candidate-side measure and turn-taking decision uses the audio's
//! own clock — `AudioChunk.timestamp_us`, the capture time the client stamps
//! — never the moment a chunk happened to arrive. A backlog replayed after a
//! network cut arrives in a burst, yet it is the seconds of speech it was;
//! placed by arrival it would count as a few milliseconds.
//!
//! The first chunk anchors the audio's clock to the session clock (it ends
//! when it arrives); every later chunk keeps the spacing the client captured
//! it with. Chunks never overlap: a client that does not stamp its audio
//! (`timestamp_us` 0) is placed frame after frame by sequence, and a capture
//! clock that jumps back (the client restarted its capture) is re-anchored
//! where the last chunk ended.

/// Places candidate chunks on the session timeline (sans-IO).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MediaTimeline {
    frame_ms: u64,
    anchor: Option<Anchor>,
    /// Session ms at which the last placed chunk ends.
    end_ms: u64,
}

/// Session ms = capture ms + `offset`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Anchor {
    offset: i64,
    /// Capture ms of the last chunk, to notice a clock that runs back.
    last_stamp_ms: u64,
}

impl MediaTimeline {
    /// For chunks of `frame_ms` each.
    pub fn new(frame_ms: u32) -> Self {
        Self {
            frame_ms: u64::from(frame_ms.max(1)),
            anchor: None,
            end_ms: 0,
        }
    }

    /// Session ms at which the last placed chunk ends (0 before the first).
    pub fn end_ms(&self) -> u64 {
        self.end_ms
    }

    /// Session ms at which the chunk captured at `timestamp_us` starts, given
    /// that it arrived at session ms `arrival_ms`.
    pub fn place(&mut self, timestamp_us: u64, arrival_ms: u64) -> u64 {
        let stamp_ms = timestamp_us / 1000;
        let start = match self.anchor {
            Some(a) if stamp_ms >= a.last_stamp_ms => {
                let stamped = (stamp_ms as i64 + a.offset).max(0) as u64;
                stamped.max(self.end_ms)
            }
            // The first chunk, or a capture clock that restarted: it ends
            // now, and nothing before it moves.
            _ => arrival_ms.saturating_sub(self.frame_ms).max(self.end_ms),
        };
        let offset = match self.anchor {
            Some(a) if stamp_ms >= a.last_stamp_ms => a.offset,
            _ => start as i64 - stamp_ms as i64,
        };
        self.anchor = Some(Anchor {
            offset,
            last_stamp_ms: stamp_ms,
        });
        self.end_ms = start + self.frame_ms;
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunk `k` (0-based) captured at k × 20 ms.
    fn stamp(k: u64) -> u64 {
        k * 20_000
    }

    #[test]
    fn live_audio_lands_where_it_was_captured() {
        let mut t = MediaTimeline::new(20);
        // The first chunk ends when it arrives (session 1_020 ms).
        assert_eq!(t.place(stamp(0), 1_020), 1_000);
        // Jitter in arrival does not move later chunks.
        assert_eq!(t.place(stamp(1), 1_047), 1_020);
        assert_eq!(t.place(stamp(2), 1_061), 1_040);
    }

    #[test]
    fn a_backlog_arriving_in_a_burst_keeps_its_own_time() {
        let mut t = MediaTimeline::new(20);
        t.place(stamp(0), 20);
        // 20 s of audio captured during a cut, all arriving at session 40 ms
        // (the session clock stood still while the socket was gone).
        let placed: Vec<u64> = (1..=1000).map(|k| t.place(stamp(k), 40)).collect();
        assert_eq!(placed[0], 20);
        assert_eq!(placed[999], 20_000);
        assert!(placed.windows(2).all(|w| w[1] - w[0] == 20));
    }

    #[test]
    fn a_capture_gap_stays_a_gap() {
        let mut t = MediaTimeline::new(20);
        t.place(stamp(0), 20);
        // The microphone was reopened: 2 s with no audio captured.
        assert_eq!(t.place(stamp(1) + 2_000_000, 2_060), 2_020);
    }

    #[test]
    fn unstamped_audio_is_placed_frame_after_frame() {
        let mut t = MediaTimeline::new(20);
        assert_eq!(t.place(0, 500), 480);
        assert_eq!(t.place(0, 500), 500);
        assert_eq!(t.place(0, 501), 520);
    }

    #[test]
    fn a_capture_clock_running_back_is_re_anchored_without_overlap() {
        let mut t = MediaTimeline::new(20);
        t.place(stamp(50), 1_020);
        t.place(stamp(51), 1_040);
        // The client restarted its capture: stamps start again from 0.
        assert_eq!(t.place(stamp(0), 3_000), 2_980);
        assert_eq!(t.place(stamp(1), 3_001), 3_000);
        // Arriving early cannot overlap what is already placed.
        let mut t = MediaTimeline::new(20);
        t.place(stamp(10), 1_000);
        assert_eq!(t.place(stamp(0), 990), 1_000);
    }
}
