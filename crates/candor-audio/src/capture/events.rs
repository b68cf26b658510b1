//! What a capture reports besides frames, and who receives it.
//!
//! The worker hands every frame and event to a [`CaptureSink`] on its own
//! thread; the client engine's sink forwards them to its task, tests and the
//! CLI use the channel-backed [`ChannelSink`].

use std::sync::mpsc::{self, Receiver, Sender};

use super::processor::EncodedFrame;
use super::report::EchoReport;
use crate::error::AudioError;
use crate::stream::StreamInfo;

/// What the capture tells the client engine besides frames.
#[derive(Debug)]
pub enum CaptureEvent {
    /// The first real samples of a stream arrived (also after a reopen).
    Started(StreamInfo),
    /// Throttled input level in 0..=1 (≤ 30 updates per second).
    Level(f32),
    /// The device was lost (an error, vanished, or no audio for 500 ms);
    /// the chosen device, else the default one, is being opened instead.
    /// `Started` follows once a device delivers again.
    DeviceLost(AudioError),
    /// The capture stopped for good because of this error (e.g. no input
    /// device delivered audio within 5 s of a loss).
    Failed(AudioError),
    /// Echo stays strong after cancellation (`true`: the speakers feed
    /// back into the microphone; headphones would help) or no longer does.
    StrongEcho(bool),
    /// A second of the echo path, for the log (with echo cancellation on).
    Echo(EchoReport),
    /// A file or generator source reached its end; all its frames were sent.
    Ended,
}

/// Receives the capture's output on the worker thread. Implementations must
/// not block for long (e.g. send into a channel).
pub trait CaptureSink: Send + 'static {
    /// An encoded frame for the transport.
    fn frame(&mut self, frame: EncodedFrame);
    /// Any other event.
    fn event(&mut self, event: CaptureEvent);
}

/// A [`CaptureSink`] made of two std channels.
#[derive(Debug)]
pub struct ChannelSink {
    frames: Sender<EncodedFrame>,
    events: Sender<CaptureEvent>,
}

impl ChannelSink {
    /// A sink and the receivers of its frames and events.
    pub fn new() -> (Self, Receiver<EncodedFrame>, Receiver<CaptureEvent>) {
        let (frames, frames_rx) = mpsc::channel();
        let (events, events_rx) = mpsc::channel();
        (Self { frames, events }, frames_rx, events_rx)
    }
}

impl CaptureSink for ChannelSink {
    fn frame(&mut self, frame: EncodedFrame) {
        let _ = self.frames.send(frame);
    }
    fn event(&mut self, event: CaptureEvent) {
        let _ = self.events.send(event);
    }
}
