//! Per-frame latency at the socket, for the latency benchmark: how old a
//! frame's oldest sample is when its bytes are written, and how much of that
//! the transport itself added (frame out of the audio worker → written).
//! Off by default; recording costs a lock per frame on the writer task.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One frame's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencySample {
    /// Oldest sample captured → bytes written to the socket.
    pub age: Duration,
    /// Frame left the capture worker → bytes written (our transport's share).
    pub transport: Duration,
}

/// A shared log of samples; a disabled log records nothing.
#[derive(Debug, Clone, Default)]
pub struct LatencyLog {
    samples: Option<Arc<Mutex<Vec<LatencySample>>>>,
}

impl LatencyLog {
    pub fn new(enabled: bool) -> Self {
        Self {
            samples: enabled.then(|| Arc::new(Mutex::new(Vec::with_capacity(1 << 16)))),
        }
    }

    pub fn record(&self, captured_at: Instant, left_worker: Instant, written_at: Instant) {
        if let Some(samples) = &self.samples {
            let sample = LatencySample {
                age: written_at.saturating_duration_since(captured_at),
                transport: written_at.saturating_duration_since(left_worker),
            };
            samples.lock().expect("latency log").push(sample);
        }
    }

    /// Takes the samples recorded so far.
    pub fn take(&self) -> Vec<LatencySample> {
        self.samples
            .as_ref()
            .map(|s| std::mem::take(&mut *s.lock().expect("latency log")))
            .unwrap_or_default()
    }
}
