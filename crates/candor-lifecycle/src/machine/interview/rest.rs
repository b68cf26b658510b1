//! The phases at rest after or before an interview — `idle`, `resultsReady`
//! and `error` — from which the user starts an interview or opens past results.

use super::results::Processing;
use super::{Cx, Handled, Interview, Next};
use crate::types::{Action, Event, Payloads};

/// `idle`: the dashboard.
pub(super) fn idle<P: Payloads>(event: Event<P>, cx: &mut Cx<'_, P>) -> Handled<P> {
    match event {
        Event::StartInterview { setup } => {
            cx.act(Action::CreateInterview { setup });
            Ok(Next::Go(Interview::Initializing))
        }
        Event::ReviewResults { interview_id } => Ok(Next::Go(Interview::ProcessingResults(
            Processing::new(&interview_id),
        ))),
        event => Err(event),
    }
}

/// `resultsReady` and `error`, which behave alike: an outcome is on screen;
/// dismiss it, or go on as from `idle`.
pub(super) fn outcome<P: Payloads>(event: Event<P>, cx: &mut Cx<'_, P>) -> Handled<P> {
    match event {
        Event::Dismiss => Ok(Next::Go(Interview::Idle)),
        event => idle(event, cx),
    }
}
