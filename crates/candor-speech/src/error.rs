//! The errors of recognition: loading a model and transcribing a turn.
//!
//! Model downloads have their own error type ([`crate::models::ModelError`]) because the
//! user sees them in a different place (the model manager, not the practice session).

use std::path::PathBuf;

/// Why a model could not be loaded or a turn could not be transcribed.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// The model directory lacks a file the recognizer needs (the model is not installed,
    /// or only partly).
    #[error("the speech model in {dir} is missing {file}")]
    ModelFileMissing {
        /// The model directory that was given.
        dir: PathBuf,
        /// The file that is not there.
        file: &'static str,
    },
    /// CTranslate2 or the tokenizer refused the model.
    #[error("could not load the speech model in {dir}: {reason}")]
    ModelLoad {
        /// The model directory that was given.
        dir: PathBuf,
        /// What CTranslate2 or the tokenizer said.
        reason: String,
    },
    /// The tokenizer does not know a token Whisper's prompt needs: not a Whisper model.
    #[error("the speech model's tokenizer has no {token} token (is it a Whisper model?)")]
    MissingSpecialToken {
        /// The special token that is missing, such as `<|startoftranscript|>`.
        token: &'static str,
    },
    /// A multilingual model was asked for a language it does not know.
    #[error("the speech model does not know the language {0:?}")]
    UnknownLanguage(String),
    /// Decoding failed inside CTranslate2 or the tokenizer.
    #[error("speech recognition failed: {0}")]
    Recognition(String),
    /// The recognition worker's thread could not be started.
    #[error("could not start the recognition thread: {0}")]
    WorkerSpawn(#[source] std::io::Error),
}
