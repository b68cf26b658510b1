//! Candor's on-device speech recognition: what the candidate says, as text, without
//! sending audio anywhere.
//!
//! - [`Recognizer`] loads a Whisper model converted for CTranslate2 (through the `ct2rs`
//!   crate, which builds CTranslate2 from source and links it statically) and transcribes
//!   one turn of 16 kHz mono audio, keeping filler words ("um", "uh", "like", "you know")
//!   that Whisper otherwise drops.
//! - [`RecognitionWorker`] runs recognition on its own thread, one turn at a time, behind
//!   a bounded queue that never makes the caller wait, and reports partial and final
//!   transcripts to a sink — so recognition can never delay the interviewer's audio.
//! - [`models::ModelManager`] lists the available models with what they cost, downloads
//!   one into the app's data directory (progress, resume, SHA-256 checks) and deletes it.
//! - [`features`] is Whisper's audio front end; [`wer`] scores transcripts.
//!
//! The practice engine owns the worker: it submits each VAD-cut candidate turn and turns
//! the worker's events into `PartialTranscript { speaker: CANDIDATE }` messages.

mod error;
pub mod features;
pub mod models;
mod recognizer;
pub mod wer;
mod worker;

pub use error::SpeechError;
pub use features::SAMPLE_RATE;
pub use recognizer::{DISFLUENT_PROMPT, MODEL_FILES, Precision, Recognizer, RecognizerOptions};
pub use worker::{
    FinalTranscript, RecognitionEvent, RecognitionWorker, SubmitError, Transcriber, TurnId,
    WorkerConfig,
};
