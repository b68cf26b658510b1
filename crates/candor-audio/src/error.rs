//! The crate's one error type.
//!
//! The client engine needs to tell three device situations apart, because each
//! leads to a different screen: the OS refused access (the `permissionsDenied`
//! state, with instructions to grant it), there is no such device (a picker or a
//! "plug in a microphone" notice), and anything else (a retry). So backend
//! errors are classified once, here, from the backend's error kind and, where
//! a backend only gives text, from the message (EACCES/EPERM, "access denied",
//! HRESULT 0x80070005), the way Handy does it.

use thiserror::Error;

/// Everything that can go wrong in Candor's audio.
#[derive(Debug, Error)]
pub enum AudioError {
    /// The operating system or the sound server refused access to the device.
    #[error("permission to use the audio device was denied: {0}")]
    PermissionDenied(String),
    /// No device of that name, or no default device at all.
    #[error("no audio device: {0}")]
    NoDevice(String),
    /// The sound system (e.g. the PulseAudio server) cannot be reached.
    #[error("the sound system is unavailable: {0}")]
    HostUnavailable(String),
    /// The device went away while streaming.
    #[error("the audio device was lost: {0}")]
    DeviceLost(String),
    /// The device or file uses a format this crate cannot handle.
    #[error("unsupported audio format: {0}")]
    UnsupportedFormat(String),
    /// Any other backend failure.
    #[error("audio backend error: {0}")]
    Backend(String),
    /// Opus refused a setting or a packet.
    #[error("opus: {0}")]
    Codec(#[from] opus::Error),
    /// The resampler could not be built or run.
    #[error("resampler: {0}")]
    Resample(String),
    /// The echo canceller rejected its configuration.
    #[error("echo canceller: {0}")]
    EchoCanceller(String),
    /// Reading or writing a WAV file failed.
    #[error("wav: {0}")]
    Wav(#[from] hound::Error),
    /// An I/O error (files, helper processes).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A pipeline thread stopped before answering.
    #[error("the audio pipeline stopped")]
    Stopped,
    /// Nothing arrived from the device within the start deadline.
    #[error("the device delivered no audio within {0:?}")]
    StartTimeout(std::time::Duration),
}

impl AudioError {
    /// True when the OS refused access: the client shows `permissionsDenied`.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, AudioError::PermissionDenied(_))
    }
}

/// Whether a backend's error text means "access denied" on any OS.
///
/// Linux reports EACCES ("Permission denied", os error 13) or EPERM
/// ("Operation not permitted", os error 1); PulseAudio says "Access denied";
/// Windows gives E_ACCESSDENIED = 0x80070005; macOS says "not authorized".
pub fn message_means_permission_denied(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "access denied",
        "access is denied",
        "permission denied",
        "operation not permitted",
        "not authorized",
        "not permitted",
        "eacces",
        "eperm",
        "os error 13)",
        "os error 1)",
        "0x80070005",
        "e_accessdenied",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_messages_are_recognised() {
        for m in [
            "Access denied",
            "ALSA: cannot open /dev/snd/pcmC0D0c: Permission denied (os error 13)",
            "Operation not permitted (os error 1)",
            "WASAPI: 0x80070005",
            "E_ACCESSDENIED",
        ] {
            assert!(message_means_permission_denied(m), "{m}");
        }
        for m in [
            "No such file or directory (os error 2)",
            "device busy",
            "Connection refused",
            "os error 11)",
        ] {
            assert!(!message_means_permission_denied(m), "{m}");
        }
    }
}
