//! The history list: the seed's data-fetching table applied to the one query
//! the signed-in dashboard needs. An `Unauthenticated` failure signs out.

use super::{Machine, Refusal};
use crate::query::Query;
use crate::types::{Action, Failure, FailureKind, Payloads};

impl<P: Payloads> Machine<P> {
    pub(super) fn refresh_history(&mut self, out: &mut Vec<Action<P>>) -> Result<(), Refusal> {
        self.require_signed_in()?;
        let history = self.history.get_or_insert_with(Query::default);
        if !history.refetch() {
            return Err("the history is already loading");
        }
        out.push(Action::FetchHistory);
        Ok(())
    }

    pub(super) fn history_loaded(&mut self, history: P::History) -> Result<(), Refusal> {
        self.require_signed_in()?;
        match &mut self.history {
            Some(query) if query.is_loading() => {
                query.succeed(history);
                Ok(())
            }
            _ => Err("no history request is in flight"),
        }
    }

    pub(super) fn history_failed(
        &mut self,
        failure: Failure,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
        self.require_signed_in()?;
        if !self.history.as_ref().is_some_and(Query::is_loading) {
            return Err("no history request is in flight");
        }
        if failure.kind == FailureKind::Unauthenticated {
            self.session_expired(failure, out);
        } else if let Some(query) = &mut self.history {
            query.fail(failure.message);
        }
        Ok(())
    }

    /// New results exist: reload the history behind them (unless a load is
    /// already in flight).
    pub(super) fn history_is_stale(&mut self, out: &mut Vec<Action<P>>) {
        if let Some(history) = &mut self.history
            && history.refetch()
        {
            out.push(Action::FetchHistory);
        }
    }
}
