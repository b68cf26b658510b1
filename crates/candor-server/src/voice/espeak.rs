//! espeak-ng, the practice interviewer's speech synthesizer, run as a process.
//!
//! It writes a WAV image to its stdout, which `candor-audio` reads; a missing
//! executable is a clear startup error instead of a silent interviewer.

use std::path::Path;
use std::process::{Command, Output};

use super::VoiceError;

/// Checks that espeak-ng runs; returns its version line.
pub fn check_espeak(path: &Path) -> Result<String, VoiceError> {
    let out = run(path, &["--version"])?;
    if !out.status.success() {
        return Err(VoiceError::Espeak(format!(
            "`{} --version` exited with {}",
            path.display(),
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Speaks `text` with espeak-ng (blocking: runs a process). Returns the
/// sample rate and the mono samples.
pub fn speak(
    path: &Path,
    voice: &str,
    words_per_minute: u32,
    text: &str,
) -> Result<(u32, Vec<f32>), VoiceError> {
    let wpm = words_per_minute.to_string();
    let out = run(path, &["--stdout", "-v", voice, "-s", &wpm, "--", text])?;
    if !out.status.success() {
        return Err(VoiceError::Espeak(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(candor_audio::clip::read_wav(&out.stdout)?)
}

/// Runs espeak-ng at `path` with `args` to completion; an executable that
/// cannot be started is [`VoiceError::EspeakMissing`].
fn run(path: &Path, args: &[&str]) -> Result<Output, VoiceError> {
    Command::new(path)
        .args(args)
        .output()
        .map_err(|source| VoiceError::EspeakMissing {
            path: path.to_owned(),
            source,
        })
}
