//! Draining: how a server lets go of its live sessions before it stops, so a
//! deploy or a scale-down moves interviews instead of cutting them off: the
//! client resumes the session on another instance, which continues it from
//! the state this one saved (`session::resume`; see ARCHITECTURE.md, "Drain
//! and restart").
//!
//! `Drain::begin` (on SIGTERM or SIGINT, see [`crate::run_until_signal`])
//! turns the server away from new work: `/readyz` fails, new session sockets
//! get `503` and a `StartRequest` on an open socket gets a retryable
//! `RESOURCE_EXHAUSTED`, so a load balancer and the client send them
//! elsewhere. Every live session then tells its client `GoAway` at its next
//! safe point (`go_away_now`): at once unless the interviewer is in the
//! middle of a turn, else when the turn ends — but no later than
//! `Drain::go_away_by`, which leaves the client time to leave before the
//! deadline. The client closes its socket and resumes the session elsewhere
//! (another instance behind the load balancer, or this one's successor on
//! the same machine).
//!
//! A session whose socket is gone while the server drains is *handed over*:
//! its state is saved and everything it received is committed (so the successor's
//! `StartResponse.last_client_seq` tells the client exactly which frames to
//! replay, and none is stored twice), and it leaves the store unfinished —
//! no end, no results here, so they are computed once, by whoever ends it —
//! and it is released in the store (no owner), so any instance may take it.
//! A client still attached at the deadline (one that ignored `GoAway`) is
//! ended as before: `SessionEnded{SERVER_SHUTDOWN}` with results.

use std::sync::OnceLock;
use std::time::Duration;

use candor_protocol::{Error, ErrorCode, InterviewerActivity};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// The most a session waits past its `GoAway` for the client to leave: the
/// `GoAway` goes out no later than this before the deadline (or half the
/// drain, if that is shorter).
pub const LEAVE_MARGIN: Duration = Duration::from_secs(2);

/// Whether the server drains, and until when. Shared by every session.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    started: CancellationToken,
    /// When the drain began, and its deadline.
    window: OnceLock<(Instant, Instant)>,
}

impl Drain {
    /// Starts draining with `within` to go; false if it had already begun
    /// (the first deadline stands).
    pub(crate) fn begin(&self, within: Duration) -> bool {
        let now = Instant::now();
        if self.window.set((now, now + within)).is_err() {
            return false;
        }
        self.started.cancel();
        true
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.started.is_cancelled()
    }

    /// Resolves once the drain has begun.
    pub(crate) fn started(&self) -> WaitForCancellationFuture<'_> {
        self.started.cancelled()
    }

    /// When the server stops holding sessions.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.window.get().map(|(_, end)| *end)
    }

    /// The latest a session may send its `GoAway`.
    pub(crate) fn go_away_by(&self) -> Option<Instant> {
        self.window.get().map(|(start, end)| {
            let margin = LEAVE_MARGIN.min((*end - *start) / 2);
            *end - margin
        })
    }

    /// Time left before the deadline (the `GoAway.deadline_ms`).
    pub(crate) fn time_left(&self, now: Instant) -> Duration {
        self.deadline()
            .map_or(Duration::ZERO, |d| d.saturating_duration_since(now))
    }
}

/// Whether a session told to leave sends its `GoAway` now: at once unless
/// the interviewer is speaking (a turn cut off would be lost with the
/// socket), and at `go_away_by` whatever it is doing. While the candidate
/// answers, the interviewer listens: `GoAway` goes at once and the
/// candidate's audio keeps flowing into the client's buffer, to be replayed
/// to the next server.
pub(crate) fn go_away_now(
    interviewer: InterviewerActivity,
    now: Instant,
    go_away_by: Instant,
) -> bool {
    interviewer != InterviewerActivity::Speaking || now >= go_away_by
}

/// The signals that stop a standalone server: SIGTERM (systemd, Docker,
/// Kubernetes) and SIGINT (Ctrl-C). Listening starts when this is made —
/// make it before the server starts, so no signal finds the default
/// action (an abrupt exit) still in place.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next stop signal's name.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// The refusal of a `StartRequest` while draining: retryable, so the client
/// tries again (through the load balancer, elsewhere).
pub(crate) fn refusal() -> Error {
    Error {
        retryable: true,
        ..Error::new(
            ErrorCode::ResourceExhausted,
            "This server is shutting down and takes no sessions; connect again to reach another.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn the_go_away_leaves_the_client_a_margin_before_the_deadline() {
        let d = Drain::default();
        assert!(!d.is_draining());
        assert_eq!(d.go_away_by(), None);
        let t0 = Instant::now();
        assert!(d.begin(30 * S));
        assert!(d.is_draining());
        assert_eq!(d.deadline(), Some(t0 + 30 * S));
        assert_eq!(d.go_away_by(), Some(t0 + 28 * S));
        assert_eq!(d.time_left(t0 + 10 * S), 20 * S);
        assert!(!d.begin(60 * S), "a second signal keeps the first deadline");
        assert_eq!(d.deadline(), Some(t0 + 30 * S));
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_drain_sends_go_away_by_its_middle() {
        let d = Drain::default();
        let t0 = Instant::now();
        d.begin(S);
        assert_eq!(d.go_away_by(), Some(t0 + S / 2));
    }

    #[test]
    fn go_away_waits_for_the_interviewer_to_finish_a_turn_only() {
        use InterviewerActivity as A;
        let t0 = Instant::now();
        let by = t0 + 10 * S;
        assert!(go_away_now(A::Listening, t0, by), "mid-answer: at once");
        assert!(go_away_now(A::Thinking, t0, by), "between turns: at once");
        assert!(go_away_now(A::Unspecified, t0, by));
        assert!(!go_away_now(A::Speaking, t0, by), "mid-turn: wait");
        assert!(go_away_now(A::Speaking, by, by), "but not past the margin");
    }
}
