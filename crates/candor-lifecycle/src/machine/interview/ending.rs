//! `ending`: the user ended the interview; the audio is stopped and the
//! `EndRequest` must reach the server, which answers `SessionEnded`. If the
//! socket drops first, the session is resumed to send it again. One deadline
//! bounds the whole phase.

use super::link::{Dial, Link};
use super::{Cx, Handled, Next, server_error, session_ended};
use crate::types::{Action, Event, Failure, FailureKind, Payloads, Timer};

#[derive(Debug)]
pub(in crate::machine) struct Ending {
    pub(super) id: String,
    session: String,
    pub(super) link: EndingLink,
}

/// Where the `EndRequest` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndingLink {
    /// The session is up and the `EndRequest` sent; waiting for `SessionEnded`.
    /// `attempts` counts the resumes so far, for the next one's backoff.
    Up { attempts: u32 },
    /// No session to send it on: resuming one first.
    Resuming(Dial),
}

impl EndingLink {
    /// `up`, or the resume's progress (`opening`, …).
    pub(super) fn name(self) -> &'static str {
        match self {
            EndingLink::Up { .. } => "up",
            EndingLink::Resuming(dial) => dial.link.name(),
        }
    }

    pub(super) fn has_socket(self) -> bool {
        match self {
            EndingLink::Up { .. } => true,
            EndingLink::Resuming(dial) => dial.link.has_socket(),
        }
    }

    /// The server may answer or complain on this socket.
    fn hears_server(self) -> bool {
        match self {
            EndingLink::Up { .. } => true,
            EndingLink::Resuming(dial) => dial.link.hears_server(),
        }
    }
}

impl Ending {
    /// Ended while live: the `EndRequest` goes out on entry.
    pub(super) fn from_live(id: &str, session: &str) -> Self {
        Self::new(id, session, EndingLink::Up { attempts: 0 })
    }

    /// Ended while reconnecting: the resume goes on, the `EndRequest` follows.
    pub(super) fn from_reconnecting(id: &str, session: &str, dial: Dial) -> Self {
        Self::new(id, session, EndingLink::Resuming(dial))
    }

    fn new(id: &str, session: &str, link: EndingLink) -> Self {
        Ending {
            id: id.to_owned(),
            session: session.to_owned(),
            link,
        }
    }

    /// Entry: stop the audio, send the `EndRequest` if a session is up, and
    /// arm the deadline.
    pub(super) fn entered<P: Payloads>(&self, cx: &mut Cx<'_, P>) {
        cx.act(Action::ReleaseAudio);
        if let EndingLink::Up { .. } = self.link {
            cx.act(Action::SendEnd);
        }
        let deadline = cx.config().end_deadline;
        cx.arm(Timer::EndDeadline, deadline);
    }

    pub(super) fn handle<P: Payloads>(
        &mut self,
        event: Event<P>,
        cx: &mut Cx<'_, P>,
    ) -> Handled<P> {
        match self.link {
            EndingLink::Up { attempts } => self.while_up(attempts, event, cx),
            EndingLink::Resuming(dial) => self.while_resuming(dial, event, cx),
        }
    }

    /// `ending:up`: the server may move the session (`GoAway`).
    fn while_up<P: Payloads>(
        &mut self,
        attempts: u32,
        event: Event<P>,
        cx: &mut Cx<'_, P>,
    ) -> Handled<P> {
        match event {
            Event::GoAway => {
                // Move to a new socket at once; no failure to back off from.
                cx.act(Action::CloseSocket);
                cx.act(Action::OpenSocket);
                self.link = EndingLink::Resuming(Dial {
                    attempt: attempts,
                    link: Link::Opening,
                });
                Ok(Next::Stay)
            }
            event => self.either_way(event, cx),
        }
    }

    /// `ending:opening` / `handshaking` / `waiting`: resuming the session,
    /// as `reconnecting` does, to send the `EndRequest` on it.
    fn while_resuming<P: Payloads>(
        &mut self,
        mut dial: Dial,
        event: Event<P>,
        cx: &mut Cx<'_, P>,
    ) -> Handled<P> {
        match event {
            Event::SocketOpened if dial.link == Link::Opening => {
                dial.handshake(&self.id, Some(&self.session), cx);
                self.link = EndingLink::Resuming(dial);
            }
            Event::SessionStarted { .. } if dial.link.hears_server() => {
                cx.act(Action::SendEnd);
                self.link = EndingLink::Up {
                    attempts: dial.attempt,
                };
            }
            Event::TimerFired {
                timer: Timer::Reconnect,
            } if dial.link == Link::Waiting => {
                dial.redial(cx);
                self.link = EndingLink::Resuming(dial);
            }
            event => return self.either_way(event, cx),
        }
        Ok(Next::Stay)
    }

    /// What `ending` accepts whatever its link: the socket's loss, the
    /// server's answer, and the deadline.
    fn either_way<P: Payloads>(&mut self, event: Event<P>, cx: &mut Cx<'_, P>) -> Handled<P> {
        let link = self.link;
        match event {
            Event::ConnectionLost { .. } if link.has_socket() => Ok(self.lost(cx)),
            Event::ServerError { failure } if link.hears_server() => {
                Ok(server_error(failure, cx, |_, cx| self.lost(cx)))
            }
            Event::SessionEnded {
                results_pending,
                message,
            } if link.hears_server() => Ok(session_ended(&self.id, results_pending, message)),
            Event::TimerFired {
                timer: Timer::EndDeadline,
            } => Ok(Next::Fail(Failure::new(
                FailureKind::Retryable,
                "The server did not confirm the end of the interview. If it was saved, its \
                 results will appear in your history.",
            ))),
            event => Err(event),
        }
    }

    /// The socket is gone. With the `EndRequest` sent, resume at once; in
    /// the middle of a resume, back off first. The deadline bounds the attempts.
    fn lost<P: Payloads>(&mut self, cx: &mut Cx<'_, P>) -> Next<P> {
        match &mut self.link {
            EndingLink::Up { attempts } => {
                let mut dial = Dial {
                    attempt: *attempts,
                    link: Link::Waiting,
                };
                dial.redial(cx);
                self.link = EndingLink::Resuming(dial);
            }
            EndingLink::Resuming(dial) => {
                dial.drop_socket();
                dial.back_off(cx);
            }
        }
        Next::Stay
    }
}
