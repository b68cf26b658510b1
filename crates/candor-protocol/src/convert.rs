//! Small conveniences over the generated types: wrapping payloads in their
//! envelopes, the standard audio configs, and error constructors whose
//! `retryable` flag follows the code's documented meaning.

use crate::v1::{
    AudioAck, AudioChunk, AudioCodec, AudioConfig, ClientToServerMessage, EndRequest, Error,
    GoAway, Interrupted, InterviewerState, PartialTranscript, ServerToClientMessage, SessionEnded,
    StartRequest, StartResponse, client_to_server_message::Payload as C, error::Code,
    server_to_client_message::Payload as S,
};

macro_rules! into_envelope {
    ($envelope:ident, $variant:path, $ty:ty) => {
        impl From<$ty> for $envelope {
            fn from(value: $ty) -> Self {
                $envelope {
                    payload: Some($variant(value)),
                }
            }
        }
    };
}

into_envelope!(ClientToServerMessage, C::StartRequest, StartRequest);
into_envelope!(ClientToServerMessage, C::AudioChunk, AudioChunk);
into_envelope!(ClientToServerMessage, C::EndRequest, EndRequest);
into_envelope!(ClientToServerMessage, C::AudioAck, AudioAck);
into_envelope!(ServerToClientMessage, S::StartResponse, StartResponse);
into_envelope!(ServerToClientMessage, S::AudioChunk, AudioChunk);
into_envelope!(
    ServerToClientMessage,
    S::PartialTranscript,
    PartialTranscript
);
into_envelope!(ServerToClientMessage, S::SessionEnded, SessionEnded);
into_envelope!(ServerToClientMessage, S::Error, Error);
into_envelope!(ServerToClientMessage, S::Interrupted, Interrupted);
into_envelope!(ServerToClientMessage, S::InterviewerState, InterviewerState);
into_envelope!(ServerToClientMessage, S::AudioAck, AudioAck);
into_envelope!(ServerToClientMessage, S::GoAway, GoAway);

impl AudioConfig {
    /// Candidate audio as Candor's client sends it: Opus, 16 kHz mono, 20 ms.
    pub fn opus_16k_mono() -> Self {
        Self::new(AudioCodec::Opus, 16_000)
    }

    /// PCM16 fallback at `sample_rate_hz`, mono, 20 ms.
    pub fn pcm16_mono(sample_rate_hz: u32) -> Self {
        Self::new(AudioCodec::Pcm16, sample_rate_hz)
    }

    fn new(codec: AudioCodec, sample_rate_hz: u32) -> Self {
        Self {
            codec: codec as i32,
            sample_rate_hz,
            channels: 1,
            frame_duration_ms: 20,
        }
    }

    /// Samples per channel in one frame.
    pub fn samples_per_frame(&self) -> usize {
        (self.sample_rate_hz as usize * self.frame_duration_ms as usize) / 1000
    }
}

impl Code {
    /// Whether a request failing with this code may succeed if retried later.
    pub fn retryable_by_default(self) -> bool {
        matches!(
            self,
            Code::ResourceExhausted | Code::EngineUnavailable | Code::Internal
        )
    }
}

impl Error {
    /// An error whose `retryable` flag is the code's default.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code as i32,
            message: message.into(),
            retryable: code.retryable_by_default(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = Code::try_from(self.code).unwrap_or(Code::Unspecified);
        write!(f, "{}: {}", code.as_str_name(), self.message)
    }
}

impl std::error::Error for Error {}

impl ClientToServerMessage {
    /// The name of the payload, for logs and errors (never its content: a
    /// `StartRequest` holds the auth token).
    pub fn kind(&self) -> &'static str {
        match &self.payload {
            None => "empty",
            Some(C::StartRequest(_)) => "StartRequest",
            Some(C::AudioChunk(_)) => "AudioChunk",
            Some(C::EndRequest(_)) => "EndRequest",
            Some(C::AudioAck(_)) => "AudioAck",
        }
    }
}

impl ServerToClientMessage {
    /// The name of the payload, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match &self.payload {
            None => "empty",
            Some(S::StartResponse(_)) => "StartResponse",
            Some(S::AudioChunk(_)) => "AudioChunk",
            Some(S::PartialTranscript(_)) => "PartialTranscript",
            Some(S::SessionEnded(_)) => "SessionEnded",
            Some(S::Error(_)) => "Error",
            Some(S::Interrupted(_)) => "Interrupted",
            Some(S::InterviewerState(_)) => "InterviewerState",
            Some(S::AudioAck(_)) => "AudioAck",
            Some(S::GoAway(_)) => "GoAway",
        }
    }
}

impl std::fmt::Debug for StartRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartRequest")
            .field("auth_token", &"<redacted>")
            .field("interview_id", &self.interview_id)
            .field("audio_config", &self.audio_config)
            .field("resume", &self.resume)
            .field("client_info", &self.client_info)
            .field("accepted_codecs", &self.accepted_codecs)
            .finish()
    }
}
