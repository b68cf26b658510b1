//! Noticing a dead device from the audio itself.
//!
//! A device can stop without any error reaching us: cpal's PulseAudio host
//! ignores the server's "stream killed" notice, a suspended source simply
//! stops delivering, and a stream the server moved elsewhere keeps running on
//! another device. So besides the backend's error callback, each pipeline
//! worker (never the callback) watches its stream's progress: once audio has
//! flowed, [`STALL`] without a new sample means the device is gone. The
//! worker then reports the loss and asks the thread that owns the stream,
//! through a [`DeviceControl`], to reopen it; if no device delivers audio
//! within [`RECOVERY`], the pipeline fails for good.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Silence from a stream that was delivering: it is lost.
pub const STALL: Duration = Duration::from_millis(500);
/// How long a freshly reopened stream may take to deliver its first audio.
pub const FIRST_AUDIO: Duration = Duration::from_millis(1500);
/// How long after a loss some device must be delivering again.
pub const RECOVERY: Duration = Duration::from_secs(5);
/// Audio that must have flowed on a stream (in seconds of it) before a stall
/// counts: a stream that was only primed (a playback buffer filled once, then
/// held back by the server) is not yet running.
const ARM_AFTER_SECONDS: f64 = 0.2;

/// Reopen requests from a pipeline worker to the thread owning its stream.
#[derive(Debug, Default)]
pub struct DeviceControl {
    requests: AtomicU64,
    attempt: AtomicU64,
}

impl DeviceControl {
    /// Asks for the stream to be dropped and opened again. `attempt` counts
    /// the requests since the loss began: even attempts try the chosen device
    /// first, odd ones the system default first.
    pub fn request_reopen(&self, attempt: u64) {
        self.attempt.store(attempt, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Release);
    }

    /// Returns the attempt number if a request arrived since `seen`.
    pub fn take_request(&self, seen: &mut u64) -> Option<u64> {
        let now = self.requests.load(Ordering::Acquire);
        if now == *seen {
            return None;
        }
        *seen = now;
        Some(self.attempt.load(Ordering::Relaxed))
    }

    /// Requests so far (the starting point for [`Self::take_request`]).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Acquire)
    }
}

/// What the worker should do after an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to report.
    Quiet,
    /// The device just went quiet: report it lost (a reopen was requested).
    Lost,
    /// No device delivered within [`RECOVERY`]: fail.
    Failed,
}

/// Progress watch over one pipeline's streams.
#[derive(Debug)]
pub struct Watchdog {
    rate: u32,
    progress: u64,
    last_change: Instant,
    armed: bool,
    lost_since: Option<Instant>,
    attempts: u64,
    /// A reopen is under way: the owner thread is trying devices, and asking
    /// again before it hands over a new stream would only restart it.
    awaiting_stream: bool,
}

impl Watchdog {
    /// A watchdog for a stream at `rate` that has not delivered yet.
    pub fn new(rate: u32, now: Instant) -> Self {
        Self {
            rate: rate.max(1),
            progress: 0,
            last_change: now,
            armed: false,
            lost_since: None,
            attempts: 0,
            awaiting_stream: false,
        }
    }

    /// A new stream (after a reopen) at `rate`, not yet delivering.
    pub fn new_stream(&mut self, rate: u32, now: Instant) {
        self.rate = rate.max(1);
        self.progress = 0;
        self.last_change = now;
        self.awaiting_stream = false;
    }

    /// True once the current stream has moved enough audio to count as
    /// running (a playback stream's first buffer fill does not).
    pub fn delivering(&self) -> bool {
        self.progress as f64 >= ARM_AFTER_SECONDS * f64::from(self.rate)
    }

    /// True while a loss is being recovered from.
    pub fn is_lost(&self) -> bool {
        self.lost_since.is_some()
    }

    /// The backend itself reported the loss. Returns true when this starts
    /// a loss (so it should be reported), false if one was already known.
    pub fn backend_lost(&mut self, now: Instant) -> bool {
        if self.lost_since.is_some() {
            return false;
        }
        self.lost_since = Some(now);
        self.last_change = now;
        self.attempts = 1;
        self.awaiting_stream = true;
        true
    }

    /// Records the stream's progress (samples delivered so far on the
    /// current stream) without judging it (a stream no one can reopen).
    /// Returns whether it moved.
    pub fn record(&mut self, progress: u64, now: Instant) -> bool {
        if progress == self.progress {
            return false;
        }
        self.progress = progress;
        self.last_change = now;
        if progress as f64 >= ARM_AFTER_SECONDS * f64::from(self.rate) {
            self.armed = true;
            self.lost_since = None;
            self.attempts = 0;
        }
        true
    }

    /// Records the stream's progress (samples delivered so far on the
    /// current stream) and judges it, asking `control` to reopen on a stall.
    pub fn observe(&mut self, progress: u64, now: Instant, control: &DeviceControl) -> Verdict {
        if self.record(progress, now) {
            return Verdict::Quiet;
        }
        if let Some(since) = self.lost_since
            && now.duration_since(since) > RECOVERY
        {
            return Verdict::Failed;
        }
        if !self.armed || self.awaiting_stream {
            return Verdict::Quiet;
        }
        let limit = if self.lost_since.is_some() || self.progress == 0 {
            FIRST_AUDIO
        } else {
            STALL
        };
        if now.duration_since(self.last_change) <= limit {
            return Verdict::Quiet;
        }
        self.last_change = now;
        control.request_reopen(self.attempts);
        self.attempts += 1;
        self.awaiting_stream = true;
        if self.lost_since.is_none() {
            self.lost_since = Some(now);
            Verdict::Lost
        } else {
            Verdict::Quiet
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_after_flow_is_a_loss_then_a_failure() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let control = DeviceControl::default();
        let mut seen = control.requests();
        let mut w = Watchdog::new(48_000, t0);
        // Not armed before audio flowed: silence at start is not a loss.
        assert_eq!(w.observe(0, ms(2000), &control), Verdict::Quiet);
        assert_eq!(w.observe(48_000, ms(2010), &control), Verdict::Quiet);
        assert_eq!(w.observe(48_000, ms(2400), &control), Verdict::Quiet);
        assert_eq!(w.observe(48_000, ms(2520), &control), Verdict::Lost);
        assert_eq!(control.take_request(&mut seen), Some(0));
        // While the owner thread works on it, no further request.
        assert_eq!(w.observe(48_000, ms(2590), &control), Verdict::Quiet);
        assert_eq!(control.take_request(&mut seen), None);
        // A reopened stream that never delivers: more requests, then failure.
        w.new_stream(48_000, ms(2600));
        assert_eq!(w.observe(0, ms(4200), &control), Verdict::Quiet);
        assert_eq!(control.take_request(&mut seen), Some(1));
        assert_eq!(w.observe(0, ms(7600), &control), Verdict::Failed);
    }

    #[test]
    fn recovered_flow_clears_the_loss() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let control = DeviceControl::default();
        let mut w = Watchdog::new(16_000, t0);
        w.observe(16_000, ms(10), &control);
        assert!(w.backend_lost(ms(20)));
        assert!(!w.backend_lost(ms(30)), "one loss is reported once");
        w.new_stream(16_000, ms(100));
        w.observe(2_000, ms(200), &control);
        assert!(w.is_lost(), "a trickle is not yet recovery");
        w.observe(8_000, ms(300), &control);
        assert!(!w.is_lost());
        assert_eq!(w.observe(8_000, ms(9000), &control), Verdict::Lost);
    }
}
