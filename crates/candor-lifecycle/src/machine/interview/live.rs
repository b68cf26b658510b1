//! `live`: the session is up and audio flows both ways. A drop or the
//! server's `GoAway` moves to `reconnecting`; the user ends it.

use super::ending::Ending;
use super::reconnecting::Reconnecting;
use super::{Cx, Handled, Interview, Next, audio_failed, server_error, session_ended};
use crate::types::{Action, Event, Payloads};

#[derive(Debug)]
pub(in crate::machine) struct Live {
    pub(super) id: String,
    pub(super) session: String,
}

impl Live {
    pub(super) fn new(id: &str, session: String) -> Self {
        Live {
            id: id.to_owned(),
            session,
        }
    }

    pub(super) fn handle<P: Payloads>(
        &mut self,
        event: Event<P>,
        cx: &mut Cx<'_, P>,
    ) -> Handled<P> {
        match event {
            Event::ConnectionLost { .. } => Ok(self.reconnect(cx)),
            Event::GoAway => {
                cx.act(Action::CloseSocket);
                Ok(self.reconnect(cx))
            }
            Event::ServerError { failure } => {
                Ok(server_error(failure, cx, |_, cx| self.reconnect(cx)))
            }
            Event::SessionEnded {
                results_pending,
                message,
            } => Ok(session_ended(&self.id, results_pending, message)),
            Event::AudioFailed { message } => Ok(audio_failed(message)),
            Event::EndInterview => Ok(Next::Go(Interview::Ending(Ending::from_live(
                &self.id,
                &self.session,
            )))),
            event => Err(event),
        }
    }

    /// The socket is gone: resume the session, first attempt at once.
    fn reconnect<P: Payloads>(&self, cx: &mut Cx<'_, P>) -> Next<P> {
        Next::Go(Interview::Reconnecting(Reconnecting::new(
            &self.id,
            &self.session,
            cx.now(),
        )))
    }
}
