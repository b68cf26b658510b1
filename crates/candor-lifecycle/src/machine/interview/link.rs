//! Getting a session onto a socket, shared by `connecting`, `reconnecting`
//! and an `ending` that lost its socket: open it, send the `StartRequest`,
//! and after a failure wait out a jittered backoff before the next attempt.

use super::Cx;
use crate::types::{Action, Payloads, Timer};

/// How far the current attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// `OpenSocket` issued, waiting for `SocketOpened`.
    Opening,
    /// `SendStart` issued, waiting for the server's `StartResponse`.
    Handshaking,
    /// No socket: backing off, a `Reconnect` timer armed.
    Waiting,
}

impl Link {
    pub(super) fn name(self) -> &'static str {
        match self {
            Link::Opening => "opening",
            Link::Handshaking => "handshaking",
            Link::Waiting => "waiting",
        }
    }

    /// A socket is open or being opened.
    pub(super) fn has_socket(self) -> bool {
        matches!(self, Link::Opening | Link::Handshaking)
    }

    /// The `StartRequest` is out, so the server may answer or complain.
    pub(super) fn hears_server(self) -> bool {
        self == Link::Handshaking
    }
}

/// A run of connection attempts: which one (1-based), and how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dial {
    pub(super) attempt: u32,
    pub(super) link: Link,
}

impl Dial {
    /// The first attempt, its socket being opened.
    pub(super) fn first() -> Self {
        Dial {
            attempt: 1,
            link: Link::Opening,
        }
    }

    /// The socket is open: send the `StartRequest` (resuming `resume_session` if given).
    pub(super) fn handshake<P: Payloads>(
        &mut self,
        interview_id: &str,
        resume_session: Option<&str>,
        cx: &mut Cx<'_, P>,
    ) {
        self.link = Link::Handshaking;
        cx.act(Action::SendStart {
            interview_id: interview_id.to_owned(),
            resume_session: resume_session.map(str::to_owned),
        });
    }

    /// The socket is gone (it failed, or was dropped): nothing is open.
    pub(super) fn drop_socket(&mut self) {
        self.link = Link::Waiting;
    }

    /// Arms the timer for the next attempt, after a jittered backoff.
    pub(super) fn back_off<P: Payloads>(&self, cx: &mut Cx<'_, P>) {
        let delay = cx.backoff(self.attempt);
        cx.arm(Timer::Reconnect, delay);
    }

    /// The next attempt: open a socket.
    pub(super) fn redial<P: Payloads>(&mut self, cx: &mut Cx<'_, P>) {
        self.link = Link::Opening;
        self.attempt += 1;
        cx.act(Action::OpenSocket);
    }
}
