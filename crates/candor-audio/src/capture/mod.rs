//! The capture pipeline: source → real-time callback → worker → sink.
//!
//! A source ([`sources`]: a device, a file, a generator, fed audio) drives
//! the [`CaptureCallback`], which only converts to mono f32 into a lock-free
//! ring ([`callback`]); the worker thread ([`worker`]) drains it through the
//! [`CaptureProcessor`] (echo cancellation, 16 kHz, 20 ms Opus frames,
//! level and voice activity: [`processor`]; a second of the echo path at a
//! time for the log: [`report`]) and hands frames and
//! [`CaptureEvent`]s to a [`CaptureSink`] ([`events`]). The [`Capture`]
//! handle here owns the two threads.
//!
//! The submodules never reach back up into this one: this module depends on
//! them, not the other way round.

mod callback;
mod events;
mod feed;
mod pacing;
mod processor;
mod report;
mod sources;
mod worker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

pub use callback::{CaptureCallback, CaptureCounters, CaptureRing, Stamp, capture_ring};
pub use events::{CaptureEvent, CaptureSink, ChannelSink};
pub use feed::Feed;
pub use pacing::Pacing;
pub use processor::{CaptureOutput, CaptureProcessor, CaptureSettings, EncodedFrame};
pub use report::EchoReport;
pub use sources::SourceSpec;

use crate::echo_link::EchoLink;
use crate::error::AudioError;
use crate::stream::{PipelineThreads, StreamInfo};

/// A running capture: source → callback → worker → sink.
#[derive(Debug)]
pub struct Capture {
    threads: PipelineThreads,
    started: Receiver<StreamInfo>,
}

impl Capture {
    /// Opens `source` and starts the worker. Errors that can be known at open
    /// time (permission denied, no such device or file) are returned here;
    /// later ones arrive as [`CaptureEvent`]s. `echo` links the playback
    /// whose output the echo canceller removes.
    pub fn start(
        source: &SourceSpec,
        settings: CaptureSettings,
        sink: impl CaptureSink,
        echo: Option<Arc<EchoLink>>,
    ) -> Result<Self, AudioError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (driver, control) = sources::start_source(source, settings.channel, tx, stop.clone())?;
        let (started_tx, started) = mpsc::channel();
        let worker_stop = stop.clone();
        let mut worker = worker::Worker::new(settings, sink, echo, started_tx, control);
        let worker = std::thread::Builder::new()
            .name("candor-capture".into())
            .spawn(move || {
                crate::priority::raise_worker_thread();
                worker.run(&rx, &worker_stop);
            })?;
        Ok(Self {
            threads: PipelineThreads::new(stop, driver, worker),
            started,
        })
    }

    /// Waits until the first real samples arrived, as Handy does: a device
    /// that opens but delivers nothing is not "started".
    pub fn wait_started(&self, timeout: Duration) -> Result<StreamInfo, AudioError> {
        self.started
            .recv_timeout(timeout)
            .map_err(|_| AudioError::StartTimeout(timeout))
    }

    /// Stops the source and the worker and waits for both.
    pub fn stop(mut self) {
        self.threads.shutdown();
    }

    /// Waits until a finite source ended and all its frames were delivered.
    pub fn join(mut self) {
        self.threads.join_worker();
        self.threads.shutdown();
    }
}

/// Runs `source` to its end as fast as possible and returns every frame
/// (for tests, the CLI and batch processing).
pub fn capture_all(
    source: &SourceSpec,
    settings: CaptureSettings,
    timeout: Duration,
) -> Result<Vec<EncodedFrame>, AudioError> {
    let (sink, frames, events) = ChannelSink::new();
    let capture = Capture::start(source, settings, sink, None)?;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(CaptureEvent::Ended) => break,
            Ok(CaptureEvent::Failed(e)) => return Err(e),
            Ok(_) => {}
            Err(_) => return Err(AudioError::StartTimeout(timeout)),
        }
    }
    capture.join();
    Ok(frames.try_iter().collect())
}
