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
//!
//! ```no_run
//! use candor_speech::models::{DEFAULT_MODEL, ModelManager};
//! use candor_speech::{RecognitionEvent, RecognitionWorker, Recognizer, RecognizerOptions};
//! use candor_speech::{TurnId, WorkerConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let models = ModelManager::new("/data/candor/models").with_source_from_env();
//! // Without the model: run without transcripts and show why (`ModelError::NotInstalled`).
//! let dir = models.require(DEFAULT_MODEL)?;
//! // Loading blocks for a fraction of a second: do it off the async runtime.
//! let recognizer = Recognizer::load(dir, RecognizerOptions::default())?;
//! let (events_tx, events) = std::sync::mpsc::channel();
//! let worker = RecognitionWorker::spawn(recognizer, WorkerConfig::default(), move |event| {
//!     let _ = events_tx.send(event); // e.g. a tokio UnboundedSender in the engine
//! })?;
//! let turn_audio: Vec<f32> = vec![0.0; 16_000]; // 16 kHz mono, one VAD-cut turn
//! worker.submit_final(TurnId(1), turn_audio)?; // never waits; QueueFull if behind
//! if let RecognitionEvent::Final(transcript) = events.recv()? {
//!     println!("{}", transcript.text);
//! }
//! # Ok(())
//! # }
//! ```

mod error;
pub mod features;
pub mod models;
mod recognizer;
pub mod wer;
mod worker;

pub use error::SpeechError;
pub use features::SAMPLE_RATE;
pub use recognizer::{
    DISFLUENT_PROMPT, EncoderWindow, MODEL_FILES, Precision, Recognizer, RecognizerOptions, TAIL,
    TAIL_WINDOW, repeats_itself,
};
pub use worker::{
    FinalTranscript, RecognitionEvent, RecognitionWorker, SubmitError, Transcriber, TurnId,
    WorkerConfig,
};
