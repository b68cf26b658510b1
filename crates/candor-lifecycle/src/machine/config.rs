//! The machine's retry and timeout policy: how often and how long it tries
//! before it gives up. Plain data, so tests can shrink every wait.

use std::time::Duration;

use crate::backoff::Backoff;

/// Retry and timeout policy.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connection attempts before a new interview gives up (`connecting` → `error`).
    pub connect_attempts: u32,
    /// Resume attempts after a drop before giving up (`reconnecting` → `error`).
    pub reconnect_attempts: u32,
    /// How long after a drop the client keeps trying to resume. Keep it within
    /// the server's resume grace period.
    pub reconnect_window: Duration,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// How long `ending` waits for the server's `SessionEnded`.
    pub end_deadline: Duration,
    /// Interval between polls while the server processes results.
    pub results_poll_interval: Duration,
    /// How long `processingResults` waits in total.
    pub results_deadline: Duration,
    /// Failed results fetches (network) tolerated before `error`.
    pub results_retries: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_attempts: 5,
            reconnect_attempts: 30,
            reconnect_window: Duration::from_secs(55),
            backoff: Backoff::default(),
            end_deadline: Duration::from_secs(15),
            results_poll_interval: Duration::from_millis(750),
            results_deadline: Duration::from_secs(180),
            results_retries: 5,
        }
    }
}
