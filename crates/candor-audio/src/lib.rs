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

//! Modules, leaves first (none depends on a module listed after it, and
//! there is no import cycle): [`error`], [`sample`], [`stream`] (what every
//! stream shares), [`denormals`] (subnormal floats flushed while audio is
//! processed), the DSP and codec parts ([`codec`], [`resample`], [`aec`],
//! [`meter`], [`jitter`], [`wav`], and for whole utterances on the backend
//! [`clip`] and [`speech_gate`]), [`echo_link`], [`watchdog`], the device
//! layer ([`devices`], which knows neither pipeline), then the two pipelines
//! [`capture`] and [`playback`].

pub mod aec;
pub mod capture;
pub mod clip;
pub mod codec;
pub mod delay_line;
pub mod denormals;
#[cfg(feature = "devices")]
pub mod devices;
pub mod double_talk;
pub mod echo_align;
pub mod echo_delay;
pub mod echo_link;
pub mod echo_path;
pub mod echo_trial;
pub mod error;
pub mod jitter;
pub mod meter;
pub mod playback;
pub mod priority;
pub mod resample;
#[cfg(target_os = "linux")]
pub mod rtkit;
pub mod sample;
pub mod speech_gate;
pub mod stream;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod voice_detector;
pub mod watchdog;
pub mod wav;

pub use aec::VoiceProcessing;
pub use capture::{
    Capture, CaptureEvent, CaptureSettings, CaptureSink, ChannelSink, EncodedFrame, Feed, Pacing,
    SourceSpec, capture_all,
};
pub use codec::{Codec, EncoderSettings, OPUS_RATES};
pub use echo_link::{EchoLink, Heard};
pub use error::AudioError;
pub use playback::{
    Playback, PlaybackEvent, PlaybackSettings, PlaybackSink, PlaybackStats, SinkSpec,
};
pub use sample::ChannelMode;
pub use stream::{Generator, PcmFormat, StreamInfo, Tap};
