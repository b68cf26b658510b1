//! Candor's client engine: everything the desktop app and the `candor` CLI
//! share below their user interfaces.
//!
//! [`Engine`] drives the sans-IO lifecycle core (`candor-lifecycle`) and the
//! sans-IO wire session ([`session`]) with real I/O: the data API over HTTP
//! ([`api`]), the session WebSocket ([`transport`]) with zero-loss resume
//! ([`uplink`]), the audio pipeline (`candor-audio`), the
//! OS keyring ([`token`]), and the backend — embedded on loopback for offline
//! practice, or hosted ([`backend`]) — and the speech models the offline
//! interviewer hears with ([`SpeechModelsConfig`]). Front ends send
//! [`Intent`]s and render the [`EngineEvent`]s it pushes ([`ipc`]).

pub mod api;
pub mod backend;
pub mod endpoint;
mod engine;
pub mod export;
pub mod ipc;
pub mod latency;
pub mod session;
pub mod token;
pub mod transport;
#[cfg(feature = "ts")]
pub mod ts;
pub mod uplink;

pub use backend::BackendConfig;
/// Owner-only files (data directory 0700, database and logs 0600).
pub use candor_server::private_fs;
pub use engine::{Engine, EngineConfig, Intent, PROGRESS_INTERVAL, SpeechModelsConfig};
pub use ipc::{Credentials, EngineEvent, InterviewSetup, View};
pub use token::{KeyringStore, MemoryStore, TokenStore};

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("the backend could not start: {0}")]
    Backend(String),
}
