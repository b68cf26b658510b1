//! What a session accepts of the candidate's audio (sans-IO), the way a
//! media server polices a publisher:
//!
//! - each chunk's size fits its codec: PCM16 exactly one frame, Opus at most
//!   1.5 KB per 20 ms (`OPUS_BYTES_PER_20MS`, above Opus's own packet limit);
//! - the audio's timeline (`session::media`, every chunk placed after the one
//!   before) may not run ahead of the wall clock since the session started
//!   by more than `Limits::media_lead`: a client cannot have captured more
//!   audio than time has passed — a backlog replayed after a cut was captured
//!   during the cut, which the wall clock counts — so audio sent faster than
//!   real time is cut off as soon as its lead is used up;
//! - the session's audio bytes stay within `Limits::max_session_audio_bytes`.
//!
//! A chunk of the wrong size is `MALFORMED`; a sender ahead of the clock or
//! over the quota gets `RESOURCE_EXHAUSTED` (not retryable) and the session
//! ends, with everything accepted before kept.

use candor_audio::Codec;
use candor_protocol::{Error, ErrorCode};

/// Largest Opus chunk per 20 ms of audio.
pub(super) const OPUS_BYTES_PER_20MS: usize = 1500;

/// The policy of one session's uplink.
#[derive(Debug, Clone)]
pub(super) struct MediaPolicy {
    /// What the chunks hold.
    codec: Codec,
    /// PCM16: the exact chunk size.
    exact: Option<usize>,
    max_chunk: usize,
    lead_ms: u64,
    quota_bytes: u64,
    used_bytes: u64,
}

/// Why a chunk was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    ChunkSize { bytes: usize, allowed: String },
    AheadOfClock { ahead_ms: u64, lead_ms: u64 },
    Quota { quota_bytes: u64 },
}

impl MediaPolicy {
    pub(super) fn codec(&self) -> Codec {
        self.codec
    }

    /// For `codec` chunks of `frame_ms` each (16 kHz when PCM16).
    pub(super) fn new(codec: Codec, frame_ms: u32, lead_ms: u64, quota_bytes: u64) -> Self {
        let frame_ms = frame_ms as usize;
        let (exact, max_chunk) = match codec {
            Codec::Pcm16 => {
                let bytes = 16 * frame_ms * 2;
                (Some(bytes), bytes)
            }
            Codec::Opus => (None, OPUS_BYTES_PER_20MS * frame_ms.max(20) / 20),
        };
        Self {
            codec,
            exact,
            max_chunk,
            lead_ms,
            quota_bytes,
            used_bytes: 0,
        }
    }

    /// A chunk of `bytes` arrives: its size and the quota.
    pub(super) fn admit(&mut self, bytes: usize) -> Result<(), Refusal> {
        let fits = match self.exact {
            Some(n) => bytes == n,
            None => bytes <= self.max_chunk,
        };
        if !fits {
            return Err(Refusal::ChunkSize {
                bytes,
                allowed: match self.exact {
                    Some(n) => format!("exactly {n}"),
                    None => format!("at most {}", self.max_chunk),
                },
            });
        }
        let used = self.used_bytes + bytes as u64;
        if used > self.quota_bytes {
            return Err(Refusal::Quota {
                quota_bytes: self.quota_bytes,
            });
        }
        self.used_bytes = used;
        Ok(())
    }

    /// The audio so far ends at session ms `media_end_ms`, `wall_ms` after
    /// the session started.
    pub(super) fn in_time(&self, media_end_ms: u64, wall_ms: u64) -> Result<(), Refusal> {
        let ahead_ms = media_end_ms.saturating_sub(wall_ms);
        if ahead_ms > self.lead_ms {
            return Err(Refusal::AheadOfClock {
                ahead_ms,
                lead_ms: self.lead_ms,
            });
        }
        Ok(())
    }

    /// Audio bytes accepted so far.
    #[cfg(test)]
    pub(super) fn used_bytes(&self) -> u64 {
        self.used_bytes
    }
}

impl Refusal {
    /// What the client is told before the socket closes.
    pub(super) fn to_error(&self) -> Error {
        match self {
            Refusal::ChunkSize { bytes, allowed } => Error::new(
                ErrorCode::Malformed,
                format!(
                    "An audio chunk of {bytes} bytes: this audio format takes {allowed} bytes per chunk."
                ),
            ),
            Refusal::AheadOfClock { ahead_ms, lead_ms } => Error {
                retryable: false,
                ..Error::new(
                    ErrorCode::ResourceExhausted,
                    format!(
                        "Audio is arriving faster than real time ({ahead_ms} ms ahead of the session, at most {lead_ms} ms allowed)."
                    ),
                )
            },
            Refusal::Quota { quota_bytes } => Error {
                retryable: false,
                ..Error::new(
                    ErrorCode::ResourceExhausted,
                    format!(
                        "This session reached its audio limit of {} MiB.",
                        quota_bytes / (1024 * 1024)
                    ),
                )
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_per_codec() {
        let mut pcm = MediaPolicy::new(Codec::Pcm16, 20, 5_000, u64::MAX);
        assert_eq!(pcm.admit(640), Ok(()));
        assert!(matches!(pcm.admit(639), Err(Refusal::ChunkSize { .. })));
        assert!(matches!(
            pcm.admit(60 * 1024),
            Err(Refusal::ChunkSize { .. })
        ));
        let mut opus = MediaPolicy::new(Codec::Opus, 60, 5_000, u64::MAX);
        assert_eq!(opus.admit(4_500), Ok(()));
        assert!(matches!(opus.admit(4_501), Err(Refusal::ChunkSize { .. })));
        assert_eq!(
            pcm.admit(1).unwrap_err().to_error().code,
            ErrorCode::Malformed as i32
        );
    }

    #[test]
    fn the_quota_counts_every_accepted_byte() {
        let mut p = MediaPolicy::new(Codec::Pcm16, 20, 5_000, 640 * 3);
        for _ in 0..3 {
            p.admit(640).unwrap();
        }
        let refused = p.admit(640).unwrap_err();
        assert!(matches!(refused, Refusal::Quota { .. }));
        assert_eq!(p.used_bytes(), 640 * 3);
        let e = refused.to_error();
        assert_eq!(e.code, ErrorCode::ResourceExhausted as i32);
        assert!(!e.retryable);
    }

    #[test]
    fn audio_may_lead_the_wall_clock_by_the_allowance_only() {
        let p = MediaPolicy::new(Codec::Opus, 20, 2_000, u64::MAX);
        assert_eq!(p.in_time(1_000, 1_000), Ok(()));
        assert_eq!(p.in_time(3_000, 1_000), Ok(()));
        let e = p.in_time(3_020, 1_000).unwrap_err().to_error();
        assert_eq!(e.code, ErrorCode::ResourceExhausted as i32);
        assert!(!e.retryable);
        // A backlog replayed after a cut is behind the wall clock.
        assert_eq!(p.in_time(20_000, 30_000), Ok(()));
    }
}
