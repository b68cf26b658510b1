//! What a playback reports, and who receives it.
//!
//! The worker hands each [`PlaybackEvent`] to the [`PlaybackSink`] the caller
//! passed to [`Playback::start`](super::Playback::start), on the worker's
//! thread, as the capture does with its `CaptureSink`. The client engine
//! forwards them to its task and turns `Failed` into the lifecycle's
//! audio-failure event.

use std::sync::mpsc::Sender;

use crate::error::AudioError;
use crate::stream::StreamInfo;

/// What a playback tells the client engine.
#[derive(Debug)]
pub enum PlaybackEvent {
    /// The output stream is running (at start and after a reopen).
    Started(StreamInfo),
    /// The output device was lost; the chosen device, else the default, is
    /// being opened instead. `Started` follows once a device plays again.
    DeviceLost(AudioError),
    /// Playback stopped for good (e.g. no output device took audio within
    /// 5 s of a loss); nothing pushed from now on is heard.
    Failed(AudioError),
}

/// Receives a playback's events on its worker thread. Implementations must
/// not block for long (e.g. send into a channel).
///
/// Any `FnMut(PlaybackEvent)` closure is a sink, and so is a std channel's
/// sender.
pub trait PlaybackSink: Send + 'static {
    /// An event.
    fn event(&mut self, event: PlaybackEvent);
}

impl<F: FnMut(PlaybackEvent) + Send + 'static> PlaybackSink for F {
    fn event(&mut self, event: PlaybackEvent) {
        self(event);
    }
}

impl PlaybackSink for Sender<PlaybackEvent> {
    fn event(&mut self, event: PlaybackEvent) {
        let _ = self.send(event);
    }
}
