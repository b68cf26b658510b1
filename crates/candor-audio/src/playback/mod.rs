//! The playback pipeline: packets → worker → ring → real-time callback →
//! device, with the callback's output handed to the echo canceller.
//!
//! The [`Playback`] handle here takes the server's packets and flushes; the
//! worker ([`worker`]: jitter buffer, decode, resample) keeps the output
//! ring filled; the [`PlaybackCallback`] ([`callback`]) plays it on the
//! device's thread; a sink ([`sinks`]: a device, or a stand-in clocked like
//! one) owns the stream and reopens it when the device is lost. What
//! happens to the stream (running, lost, failed for good) reaches the
//! caller's [`PlaybackSink`] ([`events`]).
//!
//! The submodules never reach back up into this one: this module depends on
//! them, not the other way round.

mod callback;
mod events;
mod sinks;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use callback::{
    PlaybackCallback, PlaybackShared, RingShared, RingWriter, output_stream, playback_ring,
};
pub use events::{PlaybackEvent, PlaybackSink};
pub use sinks::SinkSpec;
pub use worker::{PlaybackSettings, PlaybackWorker};

use crate::echo_link::EchoLink;
use crate::error::AudioError;
use crate::jitter::JitterStats;
use crate::stream::{PipelineThreads, StreamInfo, StreamMessage};
use worker::{Command, WorkerLinks};

/// How long the sink may take to open its first stream.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Playback counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaybackStats {
    /// Callbacks that had to play silence while a stream was playing.
    pub callback_underruns: u64,
    /// Samples written to the device (silence included).
    pub played_samples: u64,
    /// Jitter buffer counters.
    pub jitter: JitterStats,
}

/// A running playback: packets in, sound out.
#[derive(Debug)]
pub struct Playback {
    tx: Sender<Command>,
    shared: Arc<PlaybackShared>,
    threads: PipelineThreads,
    info: StreamInfo,
    jitter: Arc<Mutex<JitterStats>>,
}

impl Playback {
    /// Opens `sink` and starts the worker. Errors that can be known at open
    /// time (permission denied, no such device) are returned here; what
    /// happens later (the stream running, the device lost and reopened,
    /// playback failing for good) goes to `events`, on the worker's thread.
    /// With `echo`, what is played is handed to the capture's echo
    /// canceller.
    pub fn start(
        sink: &SinkSpec,
        settings: PlaybackSettings,
        events: impl PlaybackSink,
        echo: Option<Arc<EchoLink>>,
    ) -> Result<Self, AudioError> {
        let shared = Arc::new(PlaybackShared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (ring_tx, rings) = mpsc::channel();
        let (driver, control) = sinks::start_sink(sink, shared.clone(), ring_tx, stop.clone())?;
        let opened = match rings.recv_timeout(OPEN_TIMEOUT) {
            Ok(StreamMessage::Opened(writer, info)) => {
                PlaybackWorker::new(settings, writer, info.rate, shared.clone()).map(|w| (w, info))
            }
            Ok(StreamMessage::Failed(e) | StreamMessage::DeviceLost(e)) => Err(e),
            Err(_) => Err(AudioError::StartTimeout(OPEN_TIMEOUT)),
        };
        let (mut worker, info) = match opened {
            Ok(o) => o,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                let _ = driver.join();
                return Err(e);
            }
        };
        if let Some(echo) = echo {
            worker.link_echo(echo);
        }
        let (tx, commands) = mpsc::channel();
        let jitter = Arc::new(Mutex::new(JitterStats::default()));
        let links = WorkerLinks {
            commands,
            rings,
            stop: stop.clone(),
            stats: jitter.clone(),
            control,
        };
        let first = info.clone();
        let mut events = events;
        let worker = std::thread::Builder::new()
            .name("candor-playback".into())
            .spawn(move || {
                crate::priority::raise_worker_thread();
                worker.run(first, &links, &mut events);
            })?;
        Ok(Self {
            tx,
            shared,
            threads: PipelineThreads::new(stop, driver, worker),
            info,
            jitter,
        })
    }

    /// The output stream as opened.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Queues a packet from the server. Packets may come in bursts faster
    /// than real time: all are kept and played in order.
    pub fn push(&self, seq: u64, payload: Vec<u8>) {
        self.shared.pushed.fetch_add(1, Ordering::AcqRel);
        let _ = self.tx.send(Command::Packet(seq, payload));
    }

    /// Stops what is playing with a 10 ms fade and drops everything queued
    /// (the server said the candidate barged in). Packets pushed after this
    /// call are played normally.
    pub fn flush(&self) {
        let n = self.shared.request_flush();
        let _ = self.tx.send(Command::Flush(n));
    }

    /// Waits until every packet pushed so far has been played out to the
    /// device (or dropped by a flush). False on timeout.
    pub fn wait_drained(&self, timeout: Duration) -> bool {
        let target = self.shared.pushed.load(Ordering::Acquire);
        let deadline = Instant::now() + timeout;
        loop {
            if self.shared.drained_upto.load(Ordering::Acquire) >= target {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Counters.
    pub fn stats(&self) -> PlaybackStats {
        PlaybackStats {
            callback_underruns: self.shared.underruns.load(Ordering::Relaxed),
            played_samples: self.shared.played.load(Ordering::Relaxed),
            jitter: self.jitter.lock().map(|j| *j).unwrap_or_default(),
        }
    }

    /// Stops playback at once and waits for its threads (a WAV sink is
    /// finalized). Audio still queued is not played: call
    /// [`Self::wait_drained`] first to let it finish.
    pub fn stop(mut self) {
        self.threads.shutdown();
    }
}
