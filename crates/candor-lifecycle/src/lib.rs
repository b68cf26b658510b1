//! Candor's lifecycle core: the user's three state tables — authentication,
//! the interview lifecycle and data fetching — as one sans-IO state machine.
//!
//! The core performs no I/O and has no clock, threads or async runtime: the
//! driver (the client engine) feeds it [`Event`]s with the current time and
//! performs the [`Action`]s it returns; the UI renders its [`View`]. That makes
//! every transition a plain function call, tested as a full state × event
//! table and with random event sequences, and keeps it free of tokio, cpal,
//! sockets and Tauri (an architecture invariant: see ARCHITECTURE.md).
//!
//! ```
//! use std::time::Instant;
//! use candor_lifecycle::{Action, Config, Event, Machine, Payloads};
//!
//! #[derive(Debug, PartialEq)]
//! struct App;
//! impl Payloads for App {
//!     type Credentials = String;
//!     type Profile = String;
//!     type Setup = String;
//!     type History = Vec<String>;
//!     type Results = String;
//! }
//!
//! let mut m = Machine::<App>::new(Config::default(), 42);
//! let now = Instant::now();
//! let actions = m.handle(Event::SignIn { credentials: "offline".into() }, now).unwrap();
//! assert_eq!(actions, vec![Action::SignIn { credentials: "offline".into() }]);
//! assert_eq!(m.state_name(), "authenticating");
//! ```

mod backoff;
mod machine;
mod phase;
mod query;
mod types;
mod view;

pub use backoff::{Backoff, Jitter};
pub use machine::{Config, Machine};
pub use phase::InterviewPhase;
pub use query::Query;
pub use types::{Action, Event, Failure, FailureKind, MicProblem, Payloads, Rejected, Timer};
pub use view::{AuthView, InterviewView, View};
