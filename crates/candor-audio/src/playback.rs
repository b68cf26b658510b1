//! The playback path: jitter buffer → decode → resample on a worker thread,
//! and the real-time callback body that writes to the device.
//!
//! [`PlaybackCallback`] pops mono f32 from a lock-free ring, writes it to
//! every device channel, plays silence when the ring is dry (counted as an
//! underrun while a stream is playing), applies the 10 ms fade of a
//! [`Playback::flush`] (barge-in), and pushes exactly what it wrote into the
//! echo reference ring. It never allocates, locks or blocks.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtrb::{Consumer, Producer, RingBuffer};

use crate::AudioError;
use crate::codec::{AudioDecoder, Codec, FRAME_MS};
use crate::echo_link::{EchoLink, ReferenceSegment};
use crate::jitter::{JitterBuffer, JitterConfig, JitterPop, JitterStats};
use crate::resample::MonoResampler;
use crate::sample::AudioSample;
use crate::source::StreamInfo;
use crate::watchdog::{DeviceControl, Verdict, Watchdog};
use crate::wav::WavWriter;

const POLL: Duration = Duration::from_millis(2);
/// The worker keeps this much decoded audio queued for the callback.
const LOW_WATER: Duration = Duration::from_millis(30);

/// State shared by the playback callback, its worker and the handle.
#[derive(Debug, Default)]
pub struct PlaybackShared {
    flush_requested: AtomicU64,
    playing: AtomicBool,
    underruns: AtomicU64,
    played: AtomicU64,
    pushed: AtomicU64,
    drained_upto: AtomicU64,
}

impl PlaybackShared {
    /// Asks the callback to fade out over 10 ms and drop what is queued;
    /// returns the flush's number (the worker must then be told, in order
    /// with the packets, with that number).
    pub fn request_flush(&self) -> u64 {
        self.flush_requested.fetch_add(1, Ordering::AcqRel) + 1
    }
}

/// State of one output ring, shared by its writer and its callback.
///
/// A flush must drop exactly the audio queued before it, not the audio of
/// the next answer that the worker may already be writing behind it. So the
/// worker, once it has stopped writing old audio, publishes how many samples
/// it had written into this ring (`boundary_pos`) for flush number
/// `boundary_gen`; the callback drops up to that position and plays on.
#[derive(Debug, Default)]
pub struct RingShared {
    boundary_gen: AtomicU64,
    boundary_pos: AtomicU64,
    progress: AtomicU64,
}

impl RingShared {
    /// Samples the callback has written to the device from this ring.
    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }
}

/// The worker's end of an output ring.
#[derive(Debug)]
pub struct RingWriter {
    producer: Producer<f32>,
    ring: Arc<RingShared>,
    reference: Option<ReferenceSegment>,
}

impl RingWriter {
    /// Attaches the reader of the echo reference this stream's callback
    /// writes; the worker publishes it to the capture when it takes the ring
    /// (so a stream that was opened but never used cannot replace it).
    pub fn with_reference(mut self, reference: Option<ReferenceSegment>) -> Self {
        self.reference = reference;
        self
    }

    /// Queues as much of `samples` as fits; returns how many were queued.
    pub fn write(&mut self, samples: &[f32]) -> usize {
        let fit = samples.len().min(self.producer.slots());
        if let Ok(chunk) = self.producer.write_chunk_uninit(fit) {
            chunk.fill_from_iter(samples[..fit].iter().copied());
        }
        fit
    }

    /// Samples queued and not yet taken by the callback.
    pub fn queued(&self) -> usize {
        self.producer.buffer().capacity() - self.producer.slots()
    }

    /// The ring's shared state.
    pub fn shared(&self) -> &Arc<RingShared> {
        &self.ring
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlushMode {
    /// Playing what the worker queues.
    Normal,
    /// Fading out the old audio over 10 ms.
    Fading,
    /// Faded out: silence, dropping old audio up to the worker's boundary.
    Discarding,
}

/// The body of a playback callback.
#[derive(Debug)]
pub struct PlaybackCallback {
    samples: Consumer<f32>,
    reference: Option<Producer<f32>>,
    channels: usize,
    shared: Arc<PlaybackShared>,
    ring: Arc<RingShared>,
    read: u64,
    seen_flush: u64,
    mode: FlushMode,
    fade_len: usize,
    fade_left: usize,
    scratch: Box<[f32]>,
}

/// Creates the worker's ring writer and the callback for a stream of `rate`
/// Hz and `channels` channels; `reference` receives what is played.
pub fn playback_ring(
    rate: u32,
    channels: u16,
    shared: Arc<PlaybackShared>,
    reference: Option<Producer<f32>>,
) -> (RingWriter, PlaybackCallback) {
    let (tx, rx) = RingBuffer::new(rate as usize);
    let seen_flush = shared.flush_requested.load(Ordering::Acquire);
    let ring = Arc::new(RingShared::default());
    (
        RingWriter {
            producer: tx,
            ring: ring.clone(),
            reference: None,
        },
        PlaybackCallback {
            samples: rx,
            reference,
            channels: usize::from(channels.max(1)),
            shared,
            ring,
            read: 0,
            seen_flush,
            mode: FlushMode::Normal,
            fade_len: (rate as usize / 100).max(1),
            fade_left: 0,
            scratch: vec![0.0; 4096].into_boxed_slice(),
        },
    )
}

impl PlaybackCallback {
    /// The callback body: fills `out` (interleaved). Real-time safe.
    pub fn process<T: AudioSample>(&mut self, out: &mut [T]) {
        let channels = self.channels;
        let chunk_frames = self.scratch.len();
        for piece in out.chunks_mut(chunk_frames * channels) {
            let frames = piece.len() / channels;
            self.fill(frames);
            crate::sample::from_mono(&self.scratch[..frames], channels, piece);
            if let Some(r) = self.reference.as_mut() {
                let fit = frames.min(r.slots());
                if let Ok(chunk) = r.write_chunk_uninit(fit) {
                    chunk.fill_from_iter(self.scratch[..fit].iter().copied());
                }
            }
        }
    }

    /// Moves up to `n` samples from the ring into `scratch[at..]`.
    fn take(&mut self, at: usize, n: usize) -> usize {
        let n = n.min(self.samples.slots());
        if let Ok(c) = self.samples.read_chunk(n) {
            let (a, b) = c.as_slices();
            self.scratch[at..at + a.len()].copy_from_slice(a);
            self.scratch[at + a.len()..at + a.len() + b.len()].copy_from_slice(b);
            c.commit_all();
        }
        self.read += n as u64;
        n
    }

    fn fill(&mut self, frames: usize) {
        let requested = self.shared.flush_requested.load(Ordering::Acquire);
        if requested != self.seen_flush {
            self.seen_flush = requested;
            if self.mode == FlushMode::Normal {
                self.mode = FlushMode::Fading;
                self.fade_left = self.fade_len;
            }
        }
        // Where the old audio ends, once the worker has said so.
        let boundary = (self.mode != FlushMode::Normal
            && self.ring.boundary_gen.load(Ordering::Acquire) >= self.seen_flush)
            .then(|| self.ring.boundary_pos.load(Ordering::Acquire));
        let mut filled = 0;
        if self.mode == FlushMode::Fading {
            let span = self.fade_left.min(frames);
            let old_left = boundary.map_or(usize::MAX, |b| b.saturating_sub(self.read) as usize);
            let got = self.take(0, span.min(old_left));
            self.scratch[got..span].fill(0.0);
            for s in &mut self.scratch[..span] {
                *s *= self.fade_left as f32 / self.fade_len as f32;
                self.fade_left -= 1;
            }
            filled = span;
            if self.fade_left == 0 {
                self.mode = FlushMode::Discarding;
            }
        }
        if self.mode == FlushMode::Discarding
            && let Some(b) = boundary
        {
            let old = (b.saturating_sub(self.read) as usize).min(self.samples.slots());
            if let Ok(c) = self.samples.read_chunk(old) {
                c.commit_all();
            }
            self.read += old as u64;
            if self.read >= b {
                self.mode = FlushMode::Normal;
            }
        }
        if self.mode == FlushMode::Normal {
            let got = self.take(filled, frames - filled);
            if filled + got < frames && self.shared.playing.load(Ordering::Relaxed) {
                self.shared.underruns.fetch_add(1, Ordering::Relaxed);
            }
            filled += got;
        }
        self.scratch[filled..frames].fill(0.0);
        self.shared
            .played
            .fetch_add(frames as u64, Ordering::Relaxed);
        self.ring
            .progress
            .fetch_add(frames as u64, Ordering::Relaxed);
    }
}

/// Where playback goes.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkSpec {
    /// A cpal output device: by name or id, or the default one.
    #[cfg(feature = "devices")]
    Device {
        /// Name or id; `None` for the system default.
        device: Option<String>,
    },
    /// A WAV file written in real time (what a device would have played).
    Wav {
        /// The file.
        path: PathBuf,
        /// Its sample rate.
        rate: u32,
        /// Its channels.
        channels: u16,
    },
    /// Discards audio, clocked like a device.
    Null {
        /// The pretend device rate.
        rate: u32,
    },
    /// Hands each 10 ms block it plays (mono) to a function, clocked like a
    /// device (e.g. the loudspeaker of a simulated room).
    Tap {
        /// The pretend device rate.
        rate: u32,
        /// Receives what is played.
        tap: Tap,
    },
}

/// The receiver of a [`SinkSpec::Tap`]: called with the index of the first
/// sample of each block and the block, on the sink's thread.
#[derive(Clone)]
pub struct Tap(pub Arc<TapFn>);

/// The function behind a [`Tap`].
pub type TapFn = dyn Fn(u64, &[f32]) + Send + Sync;

impl Tap {
    /// Wraps `f`.
    pub fn new(f: impl Fn(u64, &[f32]) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tap")
    }
}

impl PartialEq for Tap {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Playback settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaybackSettings {
    /// The server's codec.
    pub codec: Codec,
    /// The server's sample rate (Opus: its decode rate; PCM16: its rate).
    pub stream_rate: u32,
    /// Jitter buffer bounds.
    pub jitter: JitterConfig,
}

impl Default for PlaybackSettings {
    fn default() -> Self {
        Self {
            codec: Codec::Opus,
            stream_rate: 24_000,
            jitter: JitterConfig::default(),
        }
    }
}

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

/// Messages from a sink driver to the playback worker.
#[derive(Debug)]
pub enum SinkMessage {
    /// A new output stream (first open or reopen).
    Ring(RingWriter, StreamInfo),
    /// The backend reported the device lost; it is being reopened.
    DeviceLost(AudioError),
    /// The sink failed for good.
    Failed(AudioError),
}

/// What a playback tells the client engine.
#[derive(Debug)]
pub enum PlaybackEvent {
    /// The output stream is running (at start and after a reopen).
    Started(StreamInfo),
    /// The output device was lost; the chosen device, else the default, is
    /// being opened instead.
    DeviceLost(AudioError),
    /// Playback stopped for good (no output device came back in time).
    Failed(AudioError),
}

enum Command {
    Packet(u64, Vec<u8>),
    Flush(u64),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Packet(seq, p) => write!(f, "Packet({seq}, {} bytes)", p.len()),
            Command::Flush(n) => write!(f, "Flush({n})"),
        }
    }
}

/// A running playback: packets in, sound out.
#[derive(Debug)]
pub struct Playback {
    tx: Sender<Command>,
    shared: Arc<PlaybackShared>,
    stop: Arc<AtomicBool>,
    driver: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
    info: StreamInfo,
    jitter: Arc<std::sync::Mutex<JitterStats>>,
    events: Receiver<PlaybackEvent>,
}

impl Playback {
    /// Opens `sink` and starts the worker. With `echo`, what is played is
    /// handed to the capture's echo canceller.
    pub fn start(
        sink: &SinkSpec,
        settings: PlaybackSettings,
        echo: Option<Arc<EchoLink>>,
    ) -> Result<Self, AudioError> {
        let shared = Arc::new(PlaybackShared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (ring_tx, ring_rx) = mpsc::channel();
        let (driver, control) = start_sink(sink, shared.clone(), ring_tx, stop.clone())?;
        let (writer, info) = match ring_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(SinkMessage::Ring(w, info)) => (w, info),
            Ok(SinkMessage::Failed(e)) | Ok(SinkMessage::DeviceLost(e)) => return Err(e),
            Err(_) => return Err(AudioError::StartTimeout(Duration::from_secs(5))),
        };
        let (tx, rx) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let jitter = Arc::new(std::sync::Mutex::new(JitterStats::default()));
        let mut worker = PlaybackWorker::new(settings, writer, info.rate, shared.clone())?;
        worker.echo = echo;
        worker.publish_reference();
        let (wstop, wjitter) = (stop.clone(), jitter.clone());
        let first = info.clone();
        let worker = std::thread::Builder::new()
            .name("candor-playback".into())
            .spawn(move || {
                let links = WorkerLinks {
                    commands: &rx,
                    rings: &ring_rx,
                    events: &events_tx,
                    stop: &wstop,
                    stats: &wjitter,
                    control: control.as_deref(),
                };
                worker.run(first, &links);
            })?;
        Ok(Self {
            tx,
            shared,
            stop,
            driver: Some(driver),
            worker: Some(worker),
            info,
            jitter,
            events,
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

    /// An event not yet read, if any.
    pub fn poll_event(&self) -> Option<PlaybackEvent> {
        self.events.try_recv().ok()
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_event(&self, timeout: Duration) -> Option<PlaybackEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Stops playback at once and waits for its threads (a WAV sink is
    /// finalized). Audio still queued is not played: call
    /// [`Self::wait_drained`] first to let it finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The synchronous decode side: jitter buffer → decoder → resampler.
pub struct PlaybackWorker {
    settings: PlaybackSettings,
    jitter: JitterBuffer,
    decoder: AudioDecoder,
    resampler: MonoResampler,
    out: RingWriter,
    written: u64,
    device_rate: u32,
    shared: Arc<PlaybackShared>,
    handled_flush: u64,
    prebuffering_since: Option<Instant>,
    echo: Option<Arc<EchoLink>>,
    decoded: Vec<f32>,
    resampled: Vec<f32>,
}

impl std::fmt::Debug for PlaybackWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackWorker")
            .field("device_rate", &self.device_rate)
            .finish()
    }
}

/// The rate Opus should decode at for a device: the device's own when Opus
/// supports it (no resampling), else 48 kHz.
fn decode_rate(codec: Codec, stream_rate: u32, device_rate: u32) -> u32 {
    match codec {
        Codec::Pcm16 => stream_rate,
        Codec::Opus if [8_000, 12_000, 16_000, 24_000, 48_000].contains(&device_rate) => {
            device_rate
        }
        Codec::Opus => 48_000,
    }
}

/// The worker's channels and flags.
struct WorkerLinks<'a> {
    commands: &'a Receiver<Command>,
    rings: &'a Receiver<SinkMessage>,
    events: &'a Sender<PlaybackEvent>,
    stop: &'a AtomicBool,
    stats: &'a std::sync::Mutex<JitterStats>,
    control: Option<&'a DeviceControl>,
}

impl PlaybackWorker {
    /// A worker writing into `out` for a device at `device_rate`.
    pub fn new(
        settings: PlaybackSettings,
        out: RingWriter,
        device_rate: u32,
        shared: Arc<PlaybackShared>,
    ) -> Result<Self, AudioError> {
        let rate = decode_rate(settings.codec, settings.stream_rate, device_rate);
        let handled_flush = shared.flush_requested.load(Ordering::Acquire);
        Ok(Self {
            settings,
            jitter: JitterBuffer::new(settings.jitter),
            decoder: AudioDecoder::new(settings.codec, rate)?,
            resampler: MonoResampler::new(rate, device_rate)?,
            out,
            written: 0,
            device_rate,
            shared,
            handled_flush,
            prebuffering_since: None,
            echo: None,
            decoded: Vec::with_capacity(4800),
            resampled: Vec::with_capacity(9600),
        })
    }

    /// Adds a packet to the jitter buffer.
    pub fn push(&mut self, seq: u64, payload: Vec<u8>) {
        self.jitter.push(seq, payload);
    }

    /// Carries out flush number `n`, in order with the packets: everything
    /// pushed before it is dropped, and the callback learns where the old
    /// audio in its ring ends.
    pub fn flush(&mut self, n: u64) -> Result<(), AudioError> {
        self.jitter.clear();
        self.decoder.reset()?;
        self.resampler.reset();
        self.prebuffering_since = None;
        self.handled_flush = self.handled_flush.max(n);
        let ring = self.out.shared();
        ring.boundary_pos.store(self.written, Ordering::Release);
        ring.boundary_gen.store(n, Ordering::Release);
        Ok(())
    }

    fn flush_pending(&self) -> bool {
        self.shared.flush_requested.load(Ordering::Acquire) != self.handled_flush
    }

    /// Keeps the device ring filled (at `now`).
    pub fn pump(&mut self, now: Instant) -> Result<(), AudioError> {
        if self.flush_pending() {
            // The flush's marker is on its way: write nothing more of the
            // old audio.
            self.shared.playing.store(false, Ordering::Relaxed);
            return Ok(());
        }
        // A short answer (less than the prebuffer) must not wait forever for
        // packets that will never come: start it after the prebuffer's time.
        if !self.jitter.is_playing() && !self.jitter.is_empty() {
            let since = *self.prebuffering_since.get_or_insert(now);
            let prebuffer = Duration::from_millis(
                u64::from(FRAME_MS) * self.jitter.stats().target_frames as u64,
            );
            if now.duration_since(since) >= prebuffer {
                self.jitter.force_start();
            }
        } else {
            self.prebuffering_since = None;
        }
        let low_water = (LOW_WATER.as_secs_f64() * f64::from(self.device_rate)) as usize;
        let frame = (self.decoder.rate() * FRAME_MS / 1000) as usize;
        while self.out.queued() < low_water {
            self.decoded.clear();
            match self.jitter.pop() {
                JitterPop::Frame(p) => {
                    self.decoder.decode(&p, &mut self.decoded)?;
                }
                JitterPop::Missing { next } => {
                    self.decoder
                        .conceal(next.as_deref(), frame, &mut self.decoded)?;
                }
                JitterPop::Idle => break,
            }
            self.resampled.clear();
            self.resampler.process(&self.decoded, &mut self.resampled)?;
            self.written += self.out.write(&self.resampled) as u64;
        }
        self.shared
            .playing
            .store(self.jitter.is_playing(), Ordering::Relaxed);
        Ok(())
    }

    /// True when nothing is left to play: no packet, no queued sample.
    pub fn is_drained(&self) -> bool {
        !self.flush_pending() && self.jitter.is_empty() && self.out.queued() == 0
    }

    /// Switches to a new output stream (device reopened).
    pub fn replace_output(&mut self, out: RingWriter, device_rate: u32) -> Result<(), AudioError> {
        if device_rate != self.device_rate {
            let rate = decode_rate(self.settings.codec, self.settings.stream_rate, device_rate);
            self.decoder = AudioDecoder::new(self.settings.codec, rate)?;
            self.resampler = MonoResampler::new(rate, device_rate)?;
            self.device_rate = device_rate;
        }
        self.out = out;
        self.written = 0;
        self.publish_reference();
        Ok(())
    }

    /// Hands the current stream's echo reference to the capture.
    fn publish_reference(&mut self) {
        if let (Some(link), Some(seg)) = (self.echo.as_ref(), self.out.reference.take()) {
            link.publish(seg);
        }
    }

    fn run(&mut self, first: StreamInfo, links: &WorkerLinks<'_>) {
        let mut last_stats = Instant::now();
        let mut received = 0u64;
        let mut watchdog = Watchdog::new(self.device_rate, Instant::now());
        let mut not_started = Some(first);
        let mut name = String::new();
        let events = links.events;
        while !links.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            while let Ok(cmd) = links.commands.try_recv() {
                match cmd {
                    Command::Packet(seq, p) => {
                        received += 1;
                        self.push(seq, p);
                    }
                    Command::Flush(n) => {
                        if let Err(e) = self.flush(n) {
                            let _ = events.send(PlaybackEvent::Failed(e));
                            return;
                        }
                    }
                }
            }
            while let Ok(msg) = links.rings.try_recv() {
                match msg {
                    SinkMessage::Ring(w, info) => {
                        if let Err(e) = self.replace_output(w, info.rate) {
                            let _ = events.send(PlaybackEvent::Failed(e));
                            return;
                        }
                        watchdog.new_stream(info.rate, now);
                        not_started = Some(info);
                    }
                    SinkMessage::DeviceLost(e) => {
                        if watchdog.backend_lost(now) {
                            let _ = events.send(PlaybackEvent::DeviceLost(e));
                        }
                    }
                    SinkMessage::Failed(e) => {
                        let _ = events.send(PlaybackEvent::Failed(e));
                        return;
                    }
                }
            }
            if let Err(e) = self.pump(now) {
                let _ = events.send(PlaybackEvent::Failed(e));
                return;
            }
            if self.is_drained() {
                self.shared.drained_upto.store(received, Ordering::Release);
            }
            let progress = self.out.shared().progress();
            let verdict = links
                .control
                .map(|control| watchdog.observe(progress, now, control));
            // Running means taking audio steadily, not one buffer fill.
            if watchdog.delivering()
                && let Some(info) = not_started.take()
            {
                name.clone_from(&info.name);
                let _ = events.send(PlaybackEvent::Started(info));
            }
            if let Some(verdict) = verdict {
                match verdict {
                    Verdict::Quiet => {}
                    Verdict::Lost => {
                        let _ = events.send(PlaybackEvent::DeviceLost(AudioError::DeviceLost(
                            format!("{name} stopped taking audio"),
                        )));
                    }
                    Verdict::Failed => {
                        let _ =
                            events.send(PlaybackEvent::Failed(AudioError::DeviceLost(format!(
                                "no output device took audio within {:?}",
                                crate::watchdog::RECOVERY
                            ))));
                        links.stop.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
            if last_stats.elapsed() > Duration::from_millis(20) {
                if let Ok(mut s) = links.stats.lock() {
                    *s = self.jitter.stats();
                }
                last_stats = Instant::now();
            }
            std::thread::sleep(POLL);
        }
        if let Ok(mut s) = links.stats.lock() {
            *s = self.jitter.stats();
        }
    }
}

type Driver = (JoinHandle<()>, Option<Arc<DeviceControl>>);

fn start_sink(
    sink: &SinkSpec,
    shared: Arc<PlaybackShared>,
    tx: Sender<SinkMessage>,
    stop: Arc<AtomicBool>,
) -> Result<Driver, AudioError> {
    match sink {
        #[cfg(feature = "devices")]
        SinkSpec::Device { device } => {
            let control = Arc::new(DeviceControl::default());
            let handle =
                crate::devices::start_output(device.clone(), shared, tx, stop, control.clone())?;
            Ok((handle, Some(control)))
        }
        SinkSpec::Wav {
            path,
            rate,
            channels,
        } => {
            let writer = WavWriter::create(path, *rate, *channels, true)?;
            let out = ClockedOut::Wav(writer);
            let name = path.display().to_string();
            let handle = clocked_sink(name, *rate, *channels, out, shared, tx, stop)?;
            Ok((handle, None))
        }
        SinkSpec::Null { rate } => {
            let out = ClockedOut::Discard;
            let handle = clocked_sink("null".into(), *rate, 1, out, shared, tx, stop)?;
            Ok((handle, None))
        }
        SinkSpec::Tap { rate, tap } => {
            let out = ClockedOut::Tap(tap.clone());
            let handle = clocked_sink("tap".into(), *rate, 1, out, shared, tx, stop)?;
            Ok((handle, None))
        }
    }
}

/// Where a clocked sink puts what it plays.
enum ClockedOut {
    Wav(WavWriter),
    Tap(Tap),
    Discard,
}

/// A sink thread that pulls 10 ms every 10 ms, like a device.
#[allow(clippy::too_many_arguments)]
fn clocked_sink(
    name: String,
    rate: u32,
    channels: u16,
    mut out: ClockedOut,
    shared: Arc<PlaybackShared>,
    tx: Sender<SinkMessage>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AudioError> {
    let (reference, segment) = EchoLink::create(rate);
    let (producer, mut callback) = playback_ring(rate, channels, shared, Some(reference));
    let producer = producer.with_reference(Some(segment));
    let info = StreamInfo {
        name,
        rate,
        channels,
        format: "f32".into(),
    };
    let _ = tx.send(SinkMessage::Ring(producer, info));
    let handle = std::thread::Builder::new()
        .name("candor-clocked-sink".into())
        .spawn(move || {
            let block = rate as usize / 100;
            let mut buf = vec![0.0f32; block * usize::from(channels)];
            let started = Instant::now();
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let due = started + Duration::from_secs_f64(done as f64 / f64::from(rate));
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                callback.process(&mut buf);
                match &mut out {
                    ClockedOut::Wav(w) => {
                        if let Err(e) = w.write(&buf) {
                            let _ = tx.send(SinkMessage::Failed(e));
                            return;
                        }
                    }
                    ClockedOut::Tap(tap) => (tap.0)(done, &buf),
                    ClockedOut::Discard => {}
                }
                done += block as u64;
            }
            if let ClockedOut::Wav(w) = out {
                let _ = w.finish();
            }
        })?;
    Ok(handle)
}
