//! Counters and latency histograms of the live-session path, read by the
//! load benchmark and logs. Lock-free: recorded on every audio frame.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A latency histogram: 10 µs buckets below 1 ms, 100 µs buckets up to 100 ms.
#[derive(Debug)]
pub struct Histogram {
    buckets: Vec<AtomicU64>,
}

const FINE: u64 = 100; // 0..1 ms in 10 µs steps
const COARSE: u64 = 990; // 1..100 ms in 100 µs steps

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..=(FINE + COARSE)).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros() as u64;
        let i = if us < 1000 {
            us / 10
        } else {
            (FINE + (us - 1000) / 100).min(FINE + COARSE)
        };
        self.buckets[i as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Upper edge of the bucket holding quantile `q` (0..=1); 100 ms means "≥ 100 ms".
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target {
                let i = i as u64;
                let us = if i < FINE {
                    (i + 1) * 10
                } else {
                    1000 + (i - FINE + 1) * 100
                };
                return Duration::from_micros(us);
            }
        }
        Duration::from_millis(100)
    }

    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
    }
}

/// Server-wide live-session metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Time from a candidate frame arriving to it being decoded, analysed,
    /// handed to the engine and queued for storage.
    pub frame_handling: Histogram,
    /// The same for Opus frames only (what the app sends; PCM16 uploads,
    /// e.g. tools and tests, cost no decoding and would hide its cost).
    pub frame_handling_opus: Histogram,
    /// How late interviewer frames reach the socket relative to their
    /// real-time schedule.
    pub send_lateness: Histogram,
    pub frames_in: AtomicU64,
    pub duplicates_dropped: AtomicU64,
    pub frames_out: AtomicU64,
    pub sessions_live: AtomicUsize,
    pub sessions_started: AtomicU64,
}

impl Metrics {
    /// One candidate frame of `codec` handled in `elapsed`.
    pub fn record_frame(&self, codec: candor_audio::Codec, elapsed: Duration) {
        self.frame_handling.record(elapsed);
        if codec == candor_audio::Codec::Opus {
            self.frame_handling_opus.record(elapsed);
        }
    }
}
