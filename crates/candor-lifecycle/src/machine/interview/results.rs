//! `processingResults`: the server computes the feedback; poll for it, retry
//! failed fetches a few times, and give up at a deadline (the results then
//! appear in the history when ready).

use super::{Cx, Handled, Interview, Next};
use crate::types::{Action, Event, Failure, FailureKind, Payloads, Timer};

#[derive(Debug)]
pub(in crate::machine) struct Processing {
    pub(super) id: String,
    /// Failed fetches so far.
    failures: u32,
}

impl Processing {
    pub(super) fn new(id: &str) -> Self {
        Processing {
            id: id.to_owned(),
            failures: 0,
        }
    }

    /// Entry: ask for the results at once, and arm the overall deadline.
    pub(super) fn entered<P: Payloads>(&self, cx: &mut Cx<'_, P>) {
        cx.act(Action::FetchResults {
            interview_id: self.id.clone(),
        });
        let deadline = cx.config().results_deadline;
        cx.arm(Timer::ResultsDeadline, deadline);
    }

    pub(super) fn handle<P: Payloads>(
        &mut self,
        event: Event<P>,
        cx: &mut Cx<'_, P>,
    ) -> Handled<P> {
        match event {
            Event::ResultsPending => {
                let interval = cx.config().results_poll_interval;
                cx.arm(Timer::ResultsPoll, interval);
                Ok(Next::Stay)
            }
            Event::TimerFired {
                timer: Timer::ResultsPoll,
            } => {
                cx.act(Action::FetchResults {
                    interview_id: self.id.clone(),
                });
                Ok(Next::Stay)
            }
            Event::ResultsReady { results } => Ok(Next::Go(Interview::ResultsReady {
                id: self.id.clone(),
                results,
            })),
            Event::ResultsFailed { failure } => Ok(self.fetch_failed(failure, cx)),
            Event::TimerFired {
                timer: Timer::ResultsDeadline,
            } => Ok(Next::Fail(Failure::new(
                FailureKind::Retryable,
                "Your results are taking longer than expected. They will appear in your history \
                 when ready.",
            ))),
            event => Err(event),
        }
    }

    /// A fetch failed: sign out, poll again after a backoff, or give up.
    fn fetch_failed<P: Payloads>(&mut self, failure: Failure, cx: &mut Cx<'_, P>) -> Next<P> {
        if failure.kind == FailureKind::Unauthenticated {
            return Next::SessionExpired(failure);
        }
        self.failures += 1;
        let config = cx.config();
        let (retries, interval) = (config.results_retries, config.results_poll_interval);
        if failure.kind == FailureKind::Retryable && self.failures <= retries {
            let delay = cx.backoff(self.failures).max(interval);
            cx.arm(Timer::ResultsPoll, delay);
            return Next::Stay;
        }
        Next::Fail(Failure::new(
            failure.kind,
            format!("Could not load your results: {}", failure.message),
        ))
    }
}
