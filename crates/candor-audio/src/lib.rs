//! Candor's audio: everything between the microphone/speaker and the transport.
//!
//! Capture: a device (or a WAV file, silence, a tone) delivers samples to a
//! real-time callback that only converts them to mono f32 and pushes them into
//! a lock-free ring; a worker thread echo-cancels against what is played,
//! resamples to 16 kHz, cuts 20 ms frames, encodes Opus and hands each frame,
//! with its capture time and sequence number, to the transport. Playback runs
//! the other way: jitter buffer, decode, resample, and a callback that writes
//! to the device and reports what it wrote as the echo reference.
//!
//! A device that dies is noticed from the backend's errors, from the device
//! vanishing from the list, and from the audio itself no longer flowing (see
//! [`watchdog`]); the stream is reopened on the chosen device or the default,
//! and the pipelines report `DeviceLost`, `Started` again, or `Failed`.
//!
//! The device layer (cpal) is behind the default feature `devices`; without it
//! the crate still offers the DSP and codec parts (Opus wrappers, resampler,
//! framing, level/VAD, jitter buffer, WAV I/O, echo canceller) for the backend.
//!
//! Invariant: the audio callbacks never allocate, lock or block.

pub mod aec;
pub mod clip;
pub mod codec;
#[cfg(feature = "devices")]
pub mod devices;
pub mod error;
pub mod feed;
pub mod jitter;
pub mod meter;
pub mod playback;
pub mod resample;
pub mod sample;

pub use error::AudioError;
pub use feed::Feed;
pub mod capture;
pub mod echo_link;
pub mod source;
pub mod speech_gate;
pub mod watchdog;
pub mod wav;
pub mod worker;

pub use aec::VoiceProcessing;
pub use capture::{CaptureSettings, EncodedFrame};
pub use codec::{Codec, EncoderSettings};
pub use echo_link::EchoLink;
pub use playback::{Playback, PlaybackEvent, PlaybackSettings, PlaybackStats, SinkSpec, Tap};
pub use sample::ChannelMode;
pub use source::{Generator, Pacing, PcmFormat, SourceSpec, StreamInfo};
pub use worker::{Capture, CaptureEvent, CaptureSink, ChannelSink, capture_all};
#[cfg(feature = "test-support")]
pub mod test_support;
