//! Candor's wire protocol between the app and the backend.
//!
//! The messages are defined in `proto/candor/v1/candor.proto` (documented field
//! by field there) and compiled with prost into [`v1`]. One protobuf message
//! travels in each binary WebSocket frame.
//!
//! [`codec`] is the only place frames become messages and back: it enforces the
//! frame size limit, rejects frames that carry no message, and its
//! [`codec::ClientOrder`] / [`codec::ServerOrder`] checkers enforce message order
//! (`StartRequest` first, audio sequence numbers without gaps, duplicates
//! dropped) so the server and client never have to re-derive those rules.
//!
//! This crate does no I/O and depends on neither tokio nor any socket library.

pub mod codec;
mod convert;
pub mod replay;

/// Generated protobuf types, package `candor.v1`.
#[allow(
    missing_docs,
    clippy::all,
    missing_debug_implementations,
    rust_2018_idioms
)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/candor.v1.rs"));
}

pub use codec::{
    ClientOrder, Codec, CodecError, DEFAULT_MAX_FRAME_BYTES, OrderError, SeqTracker, ServerOrder,
    Verdict,
};
pub use replay::{ReplayBuffer, Sequenced};
/// The `oneof` of [`ClientToServerMessage`].
pub use v1::client_to_server_message::Payload as ClientPayload;
/// [`Error`] codes.
pub use v1::error::Code as ErrorCode;
/// [`InterviewerState`] activities.
pub use v1::interviewer_state::Activity as InterviewerActivity;
/// The `oneof` of [`ServerToClientMessage`].
pub use v1::server_to_client_message::Payload as ServerPayload;
/// [`SessionEnded`] reasons.
pub use v1::session_ended::Reason as EndReason;
pub use v1::{
    AudioAck, AudioChunk, AudioCodec, AudioConfig, ClientToServerMessage, EndRequest, Error,
    GoAway, Interrupted, InterviewerState, PartialTranscript, ResumeRequest, ServerLimits,
    ServerToClientMessage, SessionEnded, Speaker, StartRequest, StartResponse,
};
