//! The capture worker thread and the handle the client engine holds.
//!
//! The worker owns everything that may allocate or take time: it drains the
//! callback's ring, feeds the echo canceller with the played reference, runs
//! the [`CaptureProcessor`], and hands frames and events to a
//! [`CaptureSink`]. It polls every 2 ms rather than being woken, because
//! waking a thread is a syscall and the callback makes none.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::AudioError;
use crate::capture::{CaptureOutput, CaptureProcessor, CaptureRing, CaptureSettings, EncodedFrame};
use crate::echo_link::{EchoLink, ReferenceSegment};
use crate::source::{SourceMessage, SourceSpec, StreamInfo, start_source};
use crate::watchdog::{DeviceControl, RECOVERY, Verdict, Watchdog};

const POLL: Duration = Duration::from_millis(2);

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

/// A running capture: source → callback → worker → sink.
#[derive(Debug)]
pub struct Capture {
    stop: Arc<AtomicBool>,
    driver: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
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
        let (driver, control) = start_source(source, settings.channel, tx, stop.clone())?;
        let (started_tx, started) = mpsc::channel();
        let worker_stop = stop.clone();
        let worker = std::thread::Builder::new()
            .name("candor-capture".into())
            .spawn(move || {
                let mut w = Worker {
                    settings,
                    sink,
                    echo,
                    reference: None,
                    ref_buf: Vec::with_capacity(4800),
                    started_tx,
                    control,
                };
                w.run(&rx, &worker_stop);
            })?;
        Ok(Self {
            stop,
            driver: Some(driver),
            worker: Some(worker),
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
        self.shutdown();
    }

    /// Waits until a finite source ended and all its frames were delivered.
    pub fn join(mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker<S> {
    settings: CaptureSettings,
    sink: S,
    echo: Option<Arc<EchoLink>>,
    reference: Option<ReferenceSegment>,
    ref_buf: Vec<f32>,
    started_tx: Sender<StreamInfo>,
    control: Option<Arc<DeviceControl>>,
}

struct Active {
    ring: CaptureRing,
    info: StreamInfo,
    processor: CaptureProcessor,
    consumed: u64,
    started: bool,
}

impl<S: CaptureSink> Worker<S> {
    fn run(&mut self, rx: &Receiver<SourceMessage>, stop: &AtomicBool) {
        let mut active: Option<Active> = None;
        let mut next_seq = 0u64;
        let mut input = Vec::with_capacity(48_000);
        let mut watchdog = Watchdog::new(48_000, Instant::now());
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    SourceMessage::Ring(ring, info) => {
                        if let Some(a) = active.take() {
                            next_seq = a.processor.next_seq();
                        }
                        watchdog.new_stream(ring.rate, now);
                        match CaptureProcessor::new(ring.rate, self.settings, next_seq) {
                            Ok(processor) => {
                                active = Some(Active {
                                    ring,
                                    info,
                                    processor,
                                    consumed: 0,
                                    started: false,
                                })
                            }
                            Err(e) => {
                                self.sink.event(CaptureEvent::Failed(e));
                                return;
                            }
                        }
                    }
                    SourceMessage::DeviceLost(e) => {
                        if watchdog.backend_lost(now) {
                            self.sink.event(CaptureEvent::DeviceLost(e));
                        }
                    }
                    SourceMessage::Failed(e) => {
                        self.sink.event(CaptureEvent::Failed(e));
                        return;
                    }
                }
            }
            let Some(a) = active.as_mut() else {
                std::thread::sleep(POLL);
                continue;
            };
            if let Err(e) = self.feed_reference(&mut a.processor) {
                self.sink.event(CaptureEvent::Failed(e));
                return;
            }
            let ended = a.ring.counters.ended.load(Ordering::Acquire);
            let mut got_any = false;
            while let Ok(stamp) = a.ring.stamps.pop() {
                let n = (stamp.end_index - a.consumed) as usize;
                input.clear();
                if let Ok(chunk) = a.ring.samples.read_chunk(n) {
                    let (x, y) = chunk.as_slices();
                    input.extend_from_slice(x);
                    input.extend_from_slice(y);
                    chunk.commit_all();
                }
                a.consumed = stamp.end_index;
                if n > 0 && !a.started {
                    a.started = true;
                    let _ = self.started_tx.send(a.info.clone());
                    self.sink.event(CaptureEvent::Started(a.info.clone()));
                }
                got_any = true;
                let sink = &mut self.sink;
                let result = a.processor.process(&input, stamp, &mut |o| match o {
                    CaptureOutput::Frame(f) => sink.frame(f),
                    CaptureOutput::Level(l) => sink.event(CaptureEvent::Level(l)),
                });
                if let Err(e) = result {
                    self.sink.event(CaptureEvent::Failed(e));
                    return;
                }
            }
            if ended && !got_any && a.ring.stamps.is_empty() {
                self.sink.event(CaptureEvent::Ended);
                return;
            }
            if let Some(control) = self.control.as_deref() {
                match watchdog.observe(a.consumed, Instant::now(), control) {
                    Verdict::Quiet => {}
                    Verdict::Lost => {
                        self.sink
                            .event(CaptureEvent::DeviceLost(AudioError::DeviceLost(format!(
                                "{} delivered no audio for {:?}",
                                a.info.name,
                                crate::watchdog::STALL
                            ))))
                    }
                    Verdict::Failed => {
                        self.sink
                            .event(CaptureEvent::Failed(AudioError::DeviceLost(format!(
                                "no input device delivered audio within {RECOVERY:?}"
                            ))));
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
            if !got_any {
                std::thread::sleep(POLL);
            }
        }
    }

    fn feed_reference(&mut self, processor: &mut CaptureProcessor) -> Result<(), AudioError> {
        if let Some(link) = &self.echo
            && let Some(seg) = link.take()
        {
            self.reference = Some(seg);
        }
        let Some(seg) = self.reference.as_mut() else {
            return Ok(());
        };
        let n = seg.samples.slots();
        if n == 0 {
            return Ok(());
        }
        self.ref_buf.clear();
        if let Ok(chunk) = seg.samples.read_chunk(n) {
            let (x, y) = chunk.as_slices();
            self.ref_buf.extend_from_slice(x);
            self.ref_buf.extend_from_slice(y);
            chunk.commit_all();
        }
        processor.feed_reference(seg.rate, &self.ref_buf)
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
