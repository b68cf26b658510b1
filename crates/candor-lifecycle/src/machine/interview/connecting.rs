//! `connecting`: opening the interview's first session, a few attempts with
//! backoff before giving up.

use super::link::{Dial, Link};
use super::live::Live;
use super::{Cx, Handled, Interview, Next, audio_failed, server_error, session_ended};
use crate::types::{Action, Event, Failure, FailureKind, Payloads, Timer};

#[derive(Debug)]
pub(in crate::machine) struct Connecting {
    pub(super) id: String,
    pub(super) dial: Dial,
}

impl Connecting {
    /// The first attempt; entering the phase opens its socket.
    pub(super) fn new(id: &str) -> Self {
        Connecting {
            id: id.to_owned(),
            dial: Dial::first(),
        }
    }

    pub(super) fn handle<P: Payloads>(
        &mut self,
        event: Event<P>,
        cx: &mut Cx<'_, P>,
    ) -> Handled<P> {
        let link = self.dial.link;
        match event {
            Event::SocketOpened if link == Link::Opening => {
                self.dial.handshake(&self.id, None, cx);
                Ok(Next::Stay)
            }
            Event::SessionStarted { session_id, .. } if link.hears_server() => {
                cx.act(Action::StartAudio);
                Ok(Next::Go(Interview::Live(Live::new(&self.id, session_id))))
            }
            Event::TimerFired {
                timer: Timer::Reconnect,
            } if link == Link::Waiting => {
                self.dial.redial(cx);
                Ok(Next::Stay)
            }
            Event::ConnectionLost { reason } if link.has_socket() => Ok(self.lost(reason, cx)),
            Event::ServerError { failure } if link.hears_server() => {
                Ok(server_error(failure, cx, |reason, cx| {
                    self.lost(reason, cx)
                }))
            }
            Event::SessionEnded {
                results_pending,
                message,
            } if link.hears_server() => Ok(session_ended(&self.id, results_pending, message)),
            Event::AudioFailed { message } => Ok(audio_failed(message)),
            Event::Cancel => Ok(Next::Leave(Interview::Idle)),
            event => Err(event),
        }
    }

    /// The socket is gone: try again after a backoff, or give up.
    fn lost<P: Payloads>(&mut self, reason: String, cx: &mut Cx<'_, P>) -> Next<P> {
        self.dial.drop_socket();
        let attempts = cx.config().connect_attempts;
        if self.dial.attempt >= attempts {
            return Next::Fail(Failure::new(
                FailureKind::Retryable,
                format!(
                    "Could not connect to the interview server after {attempts} attempts ({reason})."
                ),
            ));
        }
        self.dial.back_off(cx);
        Next::Stay
    }
}
