//! When a session ends whatever its client does (sans-IO: instants are
//! passed in).
//!
//! - The time limit is on the wall clock from the session's first start,
//!   across every cut and resume: the conversation clock stands still while
//!   the socket is gone, so a limit on it could be stretched for ever by a
//!   client that drops and resumes.
//! - The resume grace is a budget, not a fresh timer per cut: it drains
//!   while the socket is gone and refills (up to the full grace) only while
//!   one is attached. A real network cut followed by a working connection
//!   gets the whole grace again; a client that reconnects for a moment every
//!   minute to hold its session runs the budget down.

use std::time::Duration;

use tokio::time::Instant;

/// A session's time limit and resume-grace budget.
#[derive(Debug, Clone)]
pub(super) struct Deadlines {
    started: Instant,
    limit_at: Instant,
    grace: Duration,
    /// Grace left as of `since`.
    left: Duration,
    since: Instant,
    detached: bool,
}

impl Deadlines {
    /// A session that started at `started` (attached).
    pub(super) fn new(started: Instant, max_session: Duration, grace: Duration) -> Self {
        Self {
            started,
            limit_at: started + max_session,
            grace,
            left: grace,
            since: started,
            detached: false,
        }
    }

    /// Wall-clock time since the session started.
    pub(super) fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// When the session reaches its time limit.
    pub(super) fn limit_at(&self) -> Instant {
        self.limit_at
    }

    /// The socket went away at `now`.
    pub(super) fn detached(&mut self, now: Instant) {
        self.settle(now);
        self.detached = true;
    }

    /// A socket is attached again at `now`.
    pub(super) fn attached(&mut self, now: Instant) {
        self.settle(now);
        self.detached = false;
    }

    /// While detached: when the session can no longer be resumed (the grace
    /// budget runs out, or the time limit comes first).
    pub(super) fn resumable_until(&self) -> Instant {
        (self.since + self.left).min(self.limit_at)
    }

    fn settle(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.since);
        self.left = if self.detached {
            self.left.saturating_sub(elapsed)
        } else {
            (self.left + elapsed).min(self.grace)
        };
        self.since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_time_limit_is_wall_clock_from_the_first_start() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, 60 * S, 30 * S);
        d.detached(t0 + 10 * S);
        d.attached(t0 + 30 * S);
        assert_eq!(
            d.limit_at(),
            t0 + 60 * S,
            "a cut does not stretch the limit"
        );
        d.detached(t0 + 50 * S);
        assert_eq!(d.resumable_until(), t0 + 60 * S, "the limit caps the grace");
    }

    #[test]
    fn a_cut_after_a_working_connection_gets_the_whole_grace() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, 3600 * S, 60 * S);
        d.detached(t0 + 100 * S);
        assert_eq!(d.resumable_until(), t0 + 160 * S);
        d.attached(t0 + 130 * S);
        // 60 s attached refills the 30 s used.
        d.detached(t0 + 190 * S);
        assert_eq!(d.resumable_until(), t0 + 250 * S);
    }

    #[test]
    fn brief_reconnects_do_not_restart_the_grace() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, 3600 * S, 60 * S);
        let mut now = t0;
        let mut resumes = 0;
        // Detached 50 s, attached 1 s, again and again.
        loop {
            d.detached(now);
            let until = d.resumable_until();
            now += 50 * S;
            if now >= until {
                break;
            }
            d.attached(now);
            now += S;
            resumes += 1;
        }
        assert!(resumes <= 2, "{resumes} resumes held the session");
        assert!(now < t0 + 200 * S);
    }
}
