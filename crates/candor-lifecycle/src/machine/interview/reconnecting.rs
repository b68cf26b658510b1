//! `reconnecting`: the connection dropped mid-interview; resuming the same
//! session, within an attempt budget and a time window the server's resume
//! grace period allows. The audio keeps running (capture is buffered).

use std::time::Instant;

use super::ending::Ending;
use super::link::{Dial, Link};
use super::live::Live;
use super::{Cx, Handled, Interview, Next, audio_failed, server_error, session_ended};
use crate::types::{Event, Failure, FailureKind, Payloads, Timer};

#[derive(Debug)]
pub(in crate::machine) struct Reconnecting {
    pub(super) id: String,
    pub(super) session: String,
    /// When the connection dropped; the resume window counts from here.
    since: Instant,
    pub(super) dial: Dial,
}

impl Reconnecting {
    /// The first attempt; entering the phase opens its socket.
    pub(super) fn new(id: &str, session: &str, since: Instant) -> Self {
        Reconnecting {
            id: id.to_owned(),
            session: session.to_owned(),
            since,
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
                self.dial.handshake(&self.id, Some(&self.session), cx);
                Ok(Next::Stay)
            }
            Event::SessionStarted {
                session_id,
                resumed,
            } if link.hears_server() => Ok(self.resumed(session_id, resumed)),
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
            Event::EndInterview => Ok(Next::Go(Interview::Ending(Ending::from_reconnecting(
                &self.id,
                &self.session,
                self.dial,
            )))),
            event => Err(event),
        }
    }

    /// The server answered the resume: back to `live` only if it resumed
    /// this very session.
    fn resumed<P: Payloads>(&self, session_id: String, resumed: bool) -> Next<P> {
        if resumed && session_id == self.session {
            Next::Go(Interview::Live(Live::new(&self.id, session_id)))
        } else {
            Next::Fail(Failure::new(
                FailureKind::Fatal,
                "The server could not resume the interview session.",
            ))
        }
    }

    /// The socket is gone: try again after a backoff, or give up once the
    /// attempts or the window are spent.
    fn lost<P: Payloads>(&mut self, reason: String, cx: &mut Cx<'_, P>) -> Next<P> {
        self.dial.drop_socket();
        let config = cx.config();
        let window_over = cx.now().saturating_duration_since(self.since) >= config.reconnect_window;
        if self.dial.attempt >= config.reconnect_attempts || window_over {
            return Next::Fail(Failure::new(
                FailureKind::Retryable,
                format!(
                    "Lost the connection to the interview server and could not reconnect \
                     ({reason})."
                ),
            ));
        }
        self.dial.back_off(cx);
        Next::Stay
    }
}
