//! The registry of live (and resumable) sessions: at most one per
//! interview, capacity limits per user and in total, the way a resuming
//! socket reaches its session's task, and the way a session whose lease
//! was lost is told to let go (`crate::ownership`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::WebSocket;
use candor_protocol::{ClientOrder, Error, ErrorCode};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// A resuming socket, handed to its session's task.
pub(super) struct Attach {
    pub(super) socket: WebSocket,
    pub(super) order: ClientOrder,
    pub(super) last_server_seq: u64,
    /// Newest candidate seq the client held when it resumed: its backlog.
    pub(super) captured_seq: u64,
}

/// One live session in the hub.
pub(super) struct HubEntry {
    pub(super) user_id: String,
    /// The address the session was started from.
    pub(super) client_ip: std::net::IpAddr,
    pub(super) interview_id: String,
    pub(super) attach: mpsc::Sender<Attach>,
    /// Cancelled when the instance no longer holds the session's lease: the
    /// session lets go at once (see `crate::ownership`).
    pub(super) lost: CancellationToken,
    /// The store says this instance holds the session (false while a
    /// take-over still claims it: its lease is not ours to renew yet).
    pub(super) held: bool,
    /// The session has ended and is only telling its client so: it no
    /// longer counts against the capacity limits (the client, told it
    /// ended, may start another at once), but is still here for the
    /// drain, which waits until it leaves.
    pub(super) ended: bool,
}

/// How many live sessions the hub holds: per user, per client address and
/// in total.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caps {
    pub(super) per_user: usize,
    pub(super) per_ip: usize,
    pub(super) total: usize,
}

/// Registry of live (and resumable) sessions.
#[derive(Default)]
pub(crate) struct Hub {
    inner: Mutex<HashMap<Arc<str>, HubEntry>>,
    /// Woken whenever a session leaves.
    left: Notify,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, HubEntry>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn interview_is_live(&self, interview_id: &str) -> bool {
        self.lock().values().any(|e| e.interview_id == interview_id)
    }

    pub(super) fn reserve(&self, id: Arc<str>, entry: HubEntry, caps: Caps) -> Result<(), Error> {
        let Caps {
            per_user,
            per_ip,
            total,
        } = caps;
        let mut map = self.lock();
        if map.values().any(|e| e.interview_id == entry.interview_id) {
            return Err(Error::new(
                ErrorCode::FailedPrecondition,
                "This interview already has a live session; resume it with its session id.",
            ));
        }
        let live = || map.values().filter(|e| !e.ended);
        if live().count() >= total {
            return Err(Error::new(
                ErrorCode::ResourceExhausted,
                "The server is at capacity. Try again shortly.",
            ));
        }
        if live().filter(|e| e.user_id == entry.user_id).count() >= per_user {
            return Err(Error::new(
                ErrorCode::ResourceExhausted,
                format!(
                    "You already have {per_user} live session(s). End one before starting another."
                ),
            ));
        }
        if live().filter(|e| e.client_ip == entry.client_ip).count() >= per_ip {
            return Err(Error::new(
                ErrorCode::ResourceExhausted,
                "Too many live sessions from this network address. Try again later.",
            ));
        }
        map.insert(id, entry);
        Ok(())
    }

    pub(super) fn lookup(&self, id: &str) -> Option<(String, String, mpsc::Sender<Attach>)> {
        self.lock()
            .get(id)
            .map(|e| (e.user_id.clone(), e.interview_id.clone(), e.attach.clone()))
    }

    /// The ids of every session here.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.lock().keys().map(|k| k.to_string()).collect()
    }

    /// The ids of the sessions here whose lease this instance holds.
    pub(crate) fn held_ids(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.held)
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// Session `id` has ended and its end is stored: its capacity is free
    /// for the next session while it tells its client (see
    /// [`HubEntry::ended`]).
    pub(super) fn ended(&self, id: &str) {
        if let Some(e) = self.lock().get_mut(id) {
            e.ended = true;
        }
    }

    /// A take-over's claim succeeded: its lease is renewed from now on.
    pub(super) fn mark_held(&self, id: &str) {
        if let Some(e) = self.lock().get_mut(id) {
            e.held = true;
        }
    }

    /// Tells session `id` it lost its lease; false if it is not here.
    pub(crate) fn lose(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(e) => {
                e.lost.cancel();
                true
            }
            None => false,
        }
    }

    /// Tells every session it lost its lease; returns how many there are.
    pub(crate) fn lose_all(&self) -> usize {
        let map = self.lock();
        for e in map.values() {
            e.lost.cancel();
        }
        map.len()
    }

    pub(super) fn remove(&self, id: &str) {
        self.lock().remove(id);
        self.left.notify_waiters();
    }

    /// Resolves once no session is left.
    pub(crate) async fn until_empty(&self) {
        loop {
            let left = self.left.notified();
            tokio::pin!(left);
            left.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            left.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user: &str, interview: &str) -> HubEntry {
        HubEntry {
            user_id: user.into(),
            client_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            interview_id: interview.into(),
            attach: mpsc::channel(1).0,
            lost: CancellationToken::new(),
            held: true,
            ended: false,
        }
    }

    #[test]
    fn an_ended_session_frees_its_capacity_but_stays_until_it_leaves() {
        let hub = Hub::default();
        let caps = Caps {
            per_user: 1,
            per_ip: 1,
            total: 1,
        };
        hub.reserve("s1".into(), entry("u1", "i1"), caps).unwrap();
        let refused = hub
            .reserve("s2".into(), entry("u1", "i2"), caps)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::ResourceExhausted as i32);
        // Ended and telling its client: the next session may start.
        hub.ended("s1");
        hub.reserve("s2".into(), entry("u1", "i2"), caps).unwrap();
        assert_eq!(hub.len(), 2, "the drain still waits for the first");
        hub.remove("s1");
        assert_eq!(hub.len(), 1);
    }
}
