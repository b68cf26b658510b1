//! Who runs a live session when several server instances share one store.
//!
//! Every instance has an id of its own (made when it starts). A session it
//! runs carries that id in the store as its `owner`, with a lease: a time
//! until which no other instance may take the session. This module keeps
//! the leases of the sessions in the instance's hub alive, and sweeps up
//! the sessions no instance holds.
//!
//! - **Lease**: [`crate::config::Limits::session_lease`] (2 s by default,
//!   `CANDOR_SESSION_LEASE_MS`),
//!   renewed every third of it for all of the instance's sessions at once
//!   (one statement per renewal on PostgreSQL, whatever the number of
//!   sessions). Two seconds bound how long a crashed instance's sessions
//!   stay out of reach (the client's resume waits for the lease to run out:
//!   measured through HAProxy, back 1.9 s p50 / 2.0 s p95 after a SIGKILL,
//!   against 3.0 / 3.1 s with 3 s) while two renewals in a row may still be
//!   late or fail.
//! - **Fencing**: an instance that could not renew for two thirds of the
//!   lease lets every session go (drops its socket, neither ends nor hands
//!   it over): past that point another instance may claim them, and a
//!   session must never run on two instances at once. The third left over
//!   covers clock differences between instances (keep them synchronised).
//!   A session whose renewal finds it claimed by another instance is let go
//!   the same way.
//! - **Sweep**: at start-up and with every renewal, sessions held by no one
//!   for longer than the resume grace (handed over, or their owner's lease
//!   ran out, and no client resumed them anywhere: see `session::resume`)
//!   are ended here (`idle_timeout`) — with a compare-and-set in the store
//!   that loses to any instance claiming them meanwhile — and their results
//!   computed, once, by the instance whose end succeeded.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::Shared;
use crate::auth::now_ms;

/// This instance's id and its lease length.
#[derive(Debug)]
pub(crate) struct Ownership {
    instance: Arc<str>,
    lease: Duration,
}

impl Ownership {
    pub(crate) fn new(lease: Duration) -> Self {
        Self {
            instance: Arc::from(crate::auth::new_id()),
            lease,
        }
    }

    /// This instance's id, as sessions' `owner` in the store.
    pub(crate) fn instance(&self) -> &Arc<str> {
        &self.instance
    }

    /// When a lease taken or renewed at `now_ms` runs out.
    pub(crate) fn until(&self, now_ms: i64) -> i64 {
        now_ms + self.lease.as_millis() as i64
    }

    /// How often leases are renewed.
    pub(crate) fn renew_every(&self) -> Duration {
        self.lease / 3
    }

    /// How long after its last successful renewal began the instance still
    /// counts on its leases.
    fn trusted_for(&self) -> Duration {
        self.lease - self.renew_every()
    }
}

/// Renews the leases of the hub's sessions and sweeps unheld sessions,
/// every [`Ownership::renew_every`], until the server shuts down.
pub(crate) fn spawn(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let stop = shared.shutdown.clone();
    let every = shared.ownership.renew_every();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewed_at = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let began = Instant::now();
            if renew(&shared).await {
                renewed_at = began;
            } else if began.saturating_duration_since(renewed_at) >= shared.ownership.trusted_for()
            {
                let n = shared.hub.lose_all();
                if n > 0 {
                    tracing::error!(
                        sessions = n,
                        "leases could not be renewed in time: letting every session go"
                    );
                }
            }
            sweep(&shared).await;
        }
    });
}

/// Renews the leases of every session in the hub; those another instance
/// took are let go. False if the store could not be asked.
async fn renew(shared: &Arc<Shared>) -> bool {
    let ids = shared.hub.held_ids();
    if ids.is_empty() {
        return true;
    }
    let instance = shared.ownership.instance().clone();
    let until = shared.ownership.until(now_ms());
    let asked = ids.clone();
    match shared
        .db
        .run(move |s| s.renew_leases(&instance, &asked, until))
        .await
    {
        Ok(lost) => {
            for id in lost {
                // A session that ended meanwhile is no longer in the hub.
                if shared.hub.lose(&id) {
                    tracing::warn!(session = %id, "the session's lease was lost: letting it go");
                }
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, sessions = ids.len(), "leases could not be renewed");
            false
        }
    }
}

/// Ends the sessions no instance has held for the resume grace (handed
/// over, or left by an instance that stopped renewing, and not resumed
/// since) and computes their results. Sessions in this instance's hub are
/// never swept here: a lease of ours that ran out is fenced by [`spawn`],
/// not ended.
pub(crate) async fn sweep(shared: &Arc<Shared>) {
    let ours: HashSet<String> = shared.hub.ids().into_iter().collect();
    let grace = shared.config.limits.resume_grace.as_millis() as i64;
    let ended = shared
        .db
        .run(move |s| {
            // Held by no one since before this: the client had its grace.
            let now = now_ms();
            let since = now - grace;
            let mut ended = Vec::new();
            for sess in s.unheld_sessions(since)? {
                if ours.contains(&sess.id) {
                    continue;
                }
                let duration = recorded_duration(s, &sess.id)?;
                if s.end_unheld_session(&sess.id, "idle_timeout", since, now, duration)? {
                    ended.push(sess.interview_id);
                }
            }
            Ok(ended)
        })
        .await;
    match ended {
        Ok(ended) => {
            if !ended.is_empty() {
                tracing::warn!(
                    sessions = ended.len(),
                    "ended sessions no server holds any more"
                );
            }
            for interview in ended {
                crate::spawn_results(shared, interview);
            }
        }
        Err(e) => tracing::warn!(error = %e, "unheld sessions could not be swept"),
    }
}

/// How long a session that stopped without an end ran, by what it
/// recorded: the end of its last transcript segment or speech span.
pub(crate) fn recorded_duration(
    s: &dyn crate::store::Store,
    id: &str,
) -> Result<u64, crate::store::StoreError> {
    Ok(s.timeline(id)?
        .map(|t| {
            t.transcript
                .iter()
                .map(|x| x.end_ms)
                .chain(t.speech.iter().map(|x| x.1))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_renewed_three_times_a_lease_and_trusted_for_two_thirds() {
        let o = Ownership::new(Duration::from_secs(3));
        assert_eq!(o.renew_every(), Duration::from_secs(1));
        assert_eq!(o.trusted_for(), Duration::from_secs(2));
        assert_eq!(o.until(10_000), 13_000);
        assert_ne!(o.instance(), Ownership::new(o.lease).instance());
    }
}
