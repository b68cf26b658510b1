//! Frames ↔ messages, with the limits and ordering rules of the protocol.
//!
//! Decoding is two steps, as in mini-redis: first the cheap checks on the raw
//! frame (size), then the protobuf parse, then the envelope check (a frame with
//! no payload is an error, not a no-op). Order is checked separately by
//! [`ClientOrder`] (server side) and [`ServerOrder`] (client side), because it
//! depends on the connection's history, not on one frame.

use prost::Message;
use thiserror::Error;

use crate::v1::{
    ClientToServerMessage, ServerToClientMessage, client_to_server_message::Payload as C,
    error::Code, server_to_client_message::Payload as S,
};

/// The frame size limit used when none is configured: 64 KiB is ~100× a
/// 20 ms Opus frame and ~100× a 20 ms PCM16 frame at 16 kHz.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;

/// Why a frame could not become a message (or a message a frame).
#[derive(Debug, Error)]
pub enum CodecError {
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("frame is not a valid Candor message: {0}")]
    Malformed(#[from] prost::DecodeError),
    #[error("frame carries no message")]
    Empty,
    #[error(transparent)]
    Order(#[from] OrderError),
}

impl CodecError {
    /// The protocol error code a peer reports for this failure.
    pub fn code(&self) -> Code {
        match self {
            CodecError::TooLarge { .. } => Code::FrameTooLarge,
            CodecError::Malformed(_) | CodecError::Empty => Code::Malformed,
            CodecError::Order(_) => Code::OutOfOrder,
        }
    }
}

/// A message arriving when the protocol does not allow it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OrderError {
    #[error("the first message must be a StartRequest, got {got}")]
    StartRequired { got: &'static str },
    #[error("the first message must be a StartResponse or an Error, got {got}")]
    StartResponseRequired { got: &'static str },
    #[error("a second {got} on the same connection")]
    DuplicateStart { got: &'static str },
    #[error("audio chunk seq {got} skips ahead of the expected {expected}")]
    SeqGap { expected: u64, got: u64 },
    #[error("audio chunk seq 0 is invalid: sequence numbers start at 1")]
    ZeroSeq,
    #[error("{got} after the session ended")]
    AfterEnd { got: &'static str },
}

/// Encodes and decodes frames under a size limit.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    max_frame_bytes: usize,
}

impl Default for Codec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl Codec {
    pub fn new(max_frame_bytes: usize) -> Self {
        Self { max_frame_bytes }
    }

    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// Server side: a frame from a client.
    pub fn decode_client(&self, frame: &[u8]) -> Result<ClientToServerMessage, CodecError> {
        let msg: ClientToServerMessage = self.decode(frame)?;
        if msg.payload.is_none() {
            return Err(CodecError::Empty);
        }
        Ok(msg)
    }

    /// Client side: a frame from the server.
    pub fn decode_server(&self, frame: &[u8]) -> Result<ServerToClientMessage, CodecError> {
        let msg: ServerToClientMessage = self.decode(frame)?;
        if msg.payload.is_none() {
            return Err(CodecError::Empty);
        }
        Ok(msg)
    }

    /// Encodes a message, refusing one the peer would reject as too large.
    pub fn encode<M: Message>(&self, msg: &M) -> Result<Vec<u8>, CodecError> {
        let size = msg.encoded_len();
        self.check_size(size)?;
        Ok(msg.encode_to_vec())
    }

    fn decode<M: Message + Default>(&self, frame: &[u8]) -> Result<M, CodecError> {
        self.check_size(frame.len())?;
        Ok(M::decode(frame)?)
    }

    fn check_size(&self, size: usize) -> Result<(), CodecError> {
        if size > self.max_frame_bytes {
            return Err(CodecError::TooLarge {
                size,
                limit: self.max_frame_bytes,
            });
        }
        Ok(())
    }
}

/// What to do with an audio chunk that passed the order check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// New: process it.
    Accept,
    /// A chunk already received (a replay after resume): drop it silently.
    Duplicate,
}

/// Exactly-once, in-order delivery of one direction's audio chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqTracker {
    last: u64,
}

impl SeqTracker {
    /// A tracker that already holds every seq up to `last` (0: none).
    pub fn starting_after(last: u64) -> Self {
        Self { last }
    }

    /// Highest seq held; everything up to it has been received exactly once.
    pub fn last(&self) -> u64 {
        self.last
    }

    pub fn accept(&mut self, seq: u64) -> Result<Verdict, OrderError> {
        if seq == 0 {
            return Err(OrderError::ZeroSeq);
        }
        if seq <= self.last {
            return Ok(Verdict::Duplicate);
        }
        let expected = self.last + 1;
        if seq != expected {
            return Err(OrderError::SeqGap { expected, got: seq });
        }
        self.last = seq;
        Ok(Verdict::Accept)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitStart,
    Streaming,
    Ended,
}

/// Server side: checks the order of what one client connection sends.
///
/// `StartRequest` first and only once; audio seqs without gaps (duplicates are
/// reported so they can be dropped); nothing but acknowledgements after `EndRequest`.
#[derive(Debug, Clone)]
pub struct ClientOrder {
    phase: Phase,
    audio: SeqTracker,
}

impl Default for ClientOrder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientOrder {
    pub fn new() -> Self {
        Self {
            phase: Phase::AwaitStart,
            audio: SeqTracker::default(),
        }
    }

    /// After resolving a resume, the server says which client seq it already holds.
    pub fn resume_after(&mut self, last_client_seq: u64) {
        self.audio = SeqTracker::starting_after(last_client_seq);
    }

    /// Highest client seq received, in order, on this session.
    pub fn last_audio_seq(&self) -> u64 {
        self.audio.last()
    }

    pub fn check(&mut self, msg: &ClientToServerMessage) -> Result<Verdict, OrderError> {
        let got = msg.kind();
        match (self.phase, &msg.payload) {
            (Phase::AwaitStart, Some(C::StartRequest(_))) => {
                self.phase = Phase::Streaming;
                Ok(Verdict::Accept)
            }
            (Phase::AwaitStart, _) => Err(OrderError::StartRequired { got }),
            (_, Some(C::StartRequest(_))) => Err(OrderError::DuplicateStart { got }),
            (_, Some(C::AudioAck(_))) => Ok(Verdict::Accept),
            (Phase::Ended, _) => Err(OrderError::AfterEnd { got }),
            (Phase::Streaming, Some(C::AudioChunk(chunk))) => self.audio.accept(chunk.seq),
            (Phase::Streaming, Some(C::EndRequest(_))) => {
                self.phase = Phase::Ended;
                Ok(Verdict::Accept)
            }
            (Phase::Streaming, None) => Err(OrderError::StartRequired { got }),
        }
    }
}

/// Client side: checks the order of what the server sends on one connection.
#[derive(Debug, Clone)]
pub struct ServerOrder {
    phase: Phase,
    audio: SeqTracker,
}

impl ServerOrder {
    /// `last_server_seq`: the interviewer audio the client already holds (0 on a new session).
    pub fn new(last_server_seq: u64) -> Self {
        Self {
            phase: Phase::AwaitStart,
            audio: SeqTracker::starting_after(last_server_seq),
        }
    }

    /// Highest server seq received in order.
    pub fn last_audio_seq(&self) -> u64 {
        self.audio.last()
    }

    pub fn check(&mut self, msg: &ServerToClientMessage) -> Result<Verdict, OrderError> {
        let got = msg.kind();
        match (self.phase, &msg.payload) {
            (Phase::AwaitStart, Some(S::StartResponse(_))) => {
                self.phase = Phase::Streaming;
                Ok(Verdict::Accept)
            }
            // A refusal, or a resume of a session that has already ended.
            (Phase::AwaitStart, Some(S::Error(_) | S::SessionEnded(_))) => {
                self.phase = Phase::Ended;
                Ok(Verdict::Accept)
            }
            (Phase::AwaitStart, _) => Err(OrderError::StartResponseRequired { got }),
            (Phase::Ended, _) => Err(OrderError::AfterEnd { got }),
            (Phase::Streaming, Some(S::StartResponse(_))) => {
                Err(OrderError::DuplicateStart { got })
            }
            (Phase::Streaming, Some(S::AudioChunk(chunk))) => self.audio.accept(chunk.seq),
            (Phase::Streaming, Some(S::SessionEnded(_))) => {
                self.phase = Phase::Ended;
                Ok(Verdict::Accept)
            }
            (Phase::Streaming, Some(S::Error(err))) => {
                if !err.retryable {
                    self.phase = Phase::Ended;
                }
                Ok(Verdict::Accept)
            }
            (Phase::Streaming, Some(_)) => Ok(Verdict::Accept),
            (Phase::Streaming, None) => Err(OrderError::StartResponseRequired { got }),
        }
    }
}
