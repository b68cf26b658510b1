//! The seed's data-fetching state (its "tRPC" table), per query:
//! `loading`, `success`, `error`.
//!
//! A refetch keeps the last good data so the UI can keep showing it under a
//! spinner instead of flashing a skeleton.

use serde::Serialize;

/// One query's state. Created in `Loading`: a query exists once it was asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Query<T> {
    /// In flight. `previous` is the last good data, if any.
    Loading { previous: Option<T> },
    /// Fetched.
    Success { data: T },
    /// Failed; `message` is shown inline (e.g. "Could not load interview history.").
    Error {
        message: String,
        previous: Option<T>,
    },
}

impl<T> Default for Query<T> {
    fn default() -> Self {
        Query::Loading { previous: None }
    }
}

impl<T> Query<T> {
    pub fn is_loading(&self) -> bool {
        matches!(self, Query::Loading { .. })
    }

    /// A new fetch starts; the last good data is kept as `previous`.
    /// Returns `false` (and changes nothing) if a fetch is already in flight.
    pub fn refetch(&mut self) -> bool {
        let previous = match std::mem::take(self) {
            Query::Loading { previous } => {
                *self = Query::Loading { previous };
                return false;
            }
            Query::Success { data } => Some(data),
            Query::Error { previous, .. } => previous,
        };
        *self = Query::Loading { previous };
        true
    }

    /// The fetch succeeded. Returns `false` if no fetch was in flight.
    pub fn succeed(&mut self, data: T) -> bool {
        if !self.is_loading() {
            return false;
        }
        *self = Query::Success { data };
        true
    }

    /// The fetch failed. Returns `false` if no fetch was in flight.
    pub fn fail(&mut self, message: String) -> bool {
        let Query::Loading { previous } = self else {
            return false;
        };
        let previous = previous.take();
        *self = Query::Error { message, previous };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_success_error_cycle_keeps_previous_data() {
        let mut q: Query<u32> = Query::default();
        assert!(q.is_loading());
        assert!(!q.refetch(), "no second fetch while one is in flight");
        assert!(q.succeed(3));
        assert_eq!(q, Query::Success { data: 3 });
        assert!(!q.succeed(4), "a result without a fetch is refused");
        assert!(!q.fail("late".into()));
        assert!(q.refetch());
        assert_eq!(q, Query::Loading { previous: Some(3) });
        assert!(q.fail("offline".into()));
        assert_eq!(
            q,
            Query::Error {
                message: "offline".into(),
                previous: Some(3)
            }
        );
        assert!(q.refetch());
        assert_eq!(q, Query::Loading { previous: Some(3) });
    }

    #[test]
    fn serializes_with_the_seed_state_names() {
        let q: Query<u32> = Query::Error {
            message: "x".into(),
            previous: None,
        };
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["state"], "error");
        assert_eq!(
            serde_json::to_value(Query::Success { data: 1u8 }).unwrap()["state"],
            "success"
        );
        assert_eq!(
            serde_json::to_value(Query::<u8>::default()).unwrap()["state"],
            "loading"
        );
    }
}
