//! The playback jitter buffer: orders packets by sequence number and smooths
//! network jitter at a small, adaptive delay.
//!
//! It holds encoded packets (not PCM), so a lost packet can be rebuilt from
//! the in-band FEC of the next one. Playback starts once the target depth is
//! buffered (60 ms by default); each time the stream runs dry while playing,
//! the target grows by one frame (up to the maximum), and after a long calm
//! stretch with surplus it shrinks back toward the minimum.
//!
//! Audio is never thrown away to cut delay: a server may send an answer
//! faster than real time, and every packet that arrives in time is played.
//! Only a packet older than the one being played (late) or a runaway
//! backlog of a minute is dropped.

use std::collections::BTreeMap;

/// The most packets held (60 s of 20 ms frames).
const MAX_BACKLOG: usize = 3000;

/// Jitter buffer bounds, in 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Lowest target depth.
    pub min_frames: usize,
    /// Starting target depth.
    pub target_frames: usize,
    /// Highest target depth.
    pub max_frames: usize,
    /// Pops with surplus before the buffer shrinks by one frame.
    pub shrink_after: u32,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            min_frames: 3,
            target_frames: 3,
            max_frames: 8,
            shrink_after: 250,
        }
    }
}

/// What the jitter buffer hands to the decoder next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitterPop {
    /// The next packet in order.
    Frame(Vec<u8>),
    /// The next packet is missing but later ones exist: conceal it, from the
    /// FEC in `next` (the packet after it) when present.
    Missing {
        /// The packet following the lost one, if buffered.
        next: Option<Vec<u8>>,
    },
    /// Nothing to play (prebuffering or drained).
    Idle,
}

/// Counters of a jitter buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Times the stream ran dry while playing.
    pub underruns: u64,
    /// Packets that arrived after their turn (dropped).
    pub late: u64,
    /// Packets concealed (lost).
    pub concealed: u64,
    /// Packets dropped because the backlog overflowed (a minute of audio).
    pub dropped: u64,
    /// Packets handed out to be played.
    pub played: u64,
    /// The current target depth in frames.
    pub target_frames: usize,
}

/// A packet jitter buffer.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    packets: BTreeMap<u64, Vec<u8>>,
    next: Option<u64>,
    playing: bool,
    target: usize,
    surplus_pops: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Self {
        let target = config
            .target_frames
            .clamp(config.min_frames.max(1), config.max_frames.max(1));
        Self {
            config,
            packets: BTreeMap::new(),
            next: None,
            playing: false,
            target,
            surplus_pops: 0,
            stats: JitterStats::default(),
        }
    }

    /// Adds a packet.
    pub fn push(&mut self, seq: u64, payload: Vec<u8>) {
        if self.next.is_some_and(|n| seq < n) {
            self.stats.late += 1;
            return;
        }
        self.packets.insert(seq, payload);
        // Servers may send faster than real time, so a burst is kept; only a
        // runaway backlog (a minute) loses its oldest packets.
        while self.packets.len() > MAX_BACKLOG {
            if let Some((seq, _)) = self.packets.pop_first() {
                self.stats.dropped += 1;
                self.next = Some(seq + 1);
            }
        }
    }

    /// Buffered packets.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// True while a stream is being played out.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// The next thing to decode (call once per 20 ms of output).
    pub fn pop(&mut self) -> JitterPop {
        if !self.playing {
            if self.packets.len() < self.target {
                return JitterPop::Idle;
            }
            self.begin();
        }
        let Some(next) = self.next else {
            return JitterPop::Idle;
        };
        if self.packets.is_empty() {
            self.playing = false;
            self.stats.underruns += 1;
            self.target = (self.target + 1).min(self.config.max_frames);
            return JitterPop::Idle;
        }
        self.adapt();
        let next = self.next.unwrap_or(next);
        self.next = Some(next + 1);
        match self.packets.remove(&next) {
            Some(p) => {
                self.stats.played += 1;
                JitterPop::Frame(p)
            }
            None => {
                self.stats.concealed += 1;
                JitterPop::Missing {
                    next: self.packets.get(&(next + 1)).cloned(),
                }
            }
        }
    }

    /// Starts playing what is buffered even below the target depth (the
    /// worker does this when a short answer has waited the prebuffer time).
    pub fn force_start(&mut self) {
        if !self.playing && !self.packets.is_empty() {
            self.begin();
        }
    }

    fn begin(&mut self) {
        self.playing = true;
        self.surplus_pops = 0;
        let first = self.packets.keys().next().copied();
        // Continue the sequence after a short gap; restart after a long one.
        self.next = match (self.next, first) {
            (Some(n), Some(f)) if f >= n && f - n <= 1 => Some(n),
            _ => first,
        };
    }

    fn adapt(&mut self) {
        // A standing surplus means the next prebuffer may be shorter: lower
        // the target. The surplus itself is audio already here and is
        // played, never dropped (a burst sent ahead of time is normal).
        if self.packets.len() > self.target + 1 {
            self.surplus_pops += 1;
            if self.surplus_pops >= self.config.shrink_after {
                self.surplus_pops = 0;
                self.target = (self.target.saturating_sub(1)).max(self.config.min_frames.max(1));
            }
        } else {
            self.surplus_pops = 0;
        }
    }

    /// Drops everything (barge-in).
    pub fn clear(&mut self) {
        self.packets.clear();
        self.playing = false;
        self.next = None;
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            target_frames: self.target,
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Vec<u8> {
        vec![n]
    }

    #[test]
    fn prebuffers_reorders_and_conceals() {
        let mut j = JitterBuffer::new(JitterConfig::default());
        j.push(1, p(1));
        j.push(0, p(0));
        assert_eq!(j.pop(), JitterPop::Idle, "prebuffering to 3 frames");
        j.push(3, p(3));
        j.push(4, p(4));
        assert_eq!(j.pop(), JitterPop::Frame(p(0)));
        assert_eq!(j.pop(), JitterPop::Frame(p(1)));
        assert_eq!(j.pop(), JitterPop::Missing { next: Some(p(3)) });
        assert_eq!(j.pop(), JitterPop::Frame(p(3)));
        j.push(2, p(2));
        assert_eq!(j.stats().late, 1);
        assert_eq!(j.pop(), JitterPop::Frame(p(4)));
        assert_eq!(j.stats().concealed, 1);
    }

    #[test]
    fn underrun_grows_target_within_bounds() {
        let cfg = JitterConfig::default();
        let mut j = JitterBuffer::new(cfg);
        let mut seq = 0;
        for _ in 0..20 {
            for _ in 0..j.stats().target_frames {
                j.push(seq, p(0));
                seq += 1;
            }
            while j.pop() != JitterPop::Idle {}
        }
        let s = j.stats();
        assert_eq!(s.underruns, 20);
        assert_eq!(s.target_frames, cfg.max_frames);
    }

    #[test]
    fn surplus_shrinks_the_target_without_dropping_audio() {
        let cfg = JitterConfig {
            target_frames: 6,
            shrink_after: 10,
            ..JitterConfig::default()
        };
        let mut j = JitterBuffer::new(cfg);
        let mut seq = 0u64;
        for _ in 0..7 {
            j.push(seq, vec![seq as u8]);
            seq += 1;
        }
        let mut out = Vec::new();
        for _ in 0..200 {
            j.push(seq, vec![seq as u8]);
            seq += 1;
            match j.pop() {
                JitterPop::Frame(f) => out.push(f[0]),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(j.stats().target_frames, cfg.min_frames);
        while let JitterPop::Frame(f) = j.pop() {
            out.push(f[0]);
        }
        let expected: Vec<u8> = (0..seq).map(|s| s as u8).collect();
        assert_eq!(out, expected, "every packet played, in order");
        assert_eq!(j.stats().dropped, 0);
        assert_eq!(j.stats().played, seq);
    }

    #[test]
    fn a_burst_far_ahead_of_real_time_is_kept_whole() {
        let mut j = JitterBuffer::new(JitterConfig::default());
        // Ten seconds of audio arriving at once, slightly out of order.
        for s in (0..500u64).rev() {
            j.push(s, s.to_le_bytes().to_vec());
        }
        let mut n = 0u64;
        while let JitterPop::Frame(f) = j.pop() {
            assert_eq!(f, n.to_le_bytes().to_vec());
            n += 1;
        }
        assert_eq!(n, 500);
        let s = j.stats();
        assert_eq!((s.dropped, s.late, s.concealed), (0, 0, 0));
    }

    #[test]
    fn a_short_answer_can_start_below_the_target() {
        let mut j = JitterBuffer::new(JitterConfig::default());
        j.push(0, p(0));
        assert_eq!(j.pop(), JitterPop::Idle);
        j.force_start();
        assert_eq!(j.pop(), JitterPop::Frame(p(0)));
    }

    #[test]
    fn clear_forgets_everything() {
        let mut j = JitterBuffer::new(JitterConfig::default());
        for s in 0..5 {
            j.push(s, p(0));
        }
        j.clear();
        assert!(j.is_empty() && !j.is_playing());
        assert_eq!(j.pop(), JitterPop::Idle);
    }
}
