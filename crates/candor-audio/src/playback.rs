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
use crate::echo_link::EchoLink;
use crate::jitter::{JitterBuffer, JitterConfig, JitterPop, JitterStats};
use crate::resample::MonoResampler;
use crate::sample::AudioSample;
use crate::source::StreamInfo;
use crate::wav::WavWriter;

const POLL: Duration = Duration::from_millis(2);
/// The worker keeps this much decoded audio queued for the callback.
const LOW_WATER: Duration = Duration::from_millis(30);

/// State shared by the playback callback, its worker and the handle.
#[derive(Debug, Default)]
pub struct PlaybackShared {
    flush_requested: AtomicU64,
    flush_done: AtomicU64,
    playing: AtomicBool,
    underruns: AtomicU64,
    played: AtomicU64,
}

impl PlaybackShared {
    /// Asks the callback to fade out over 10 ms and drop what is queued.
    pub fn request_flush(&self) {
        self.flush_requested.fetch_add(1, Ordering::AcqRel);
    }
}

/// The body of a playback callback.
#[derive(Debug)]
pub struct PlaybackCallback {
    samples: Consumer<f32>,
    reference: Option<Producer<f32>>,
    channels: usize,
    shared: Arc<PlaybackShared>,
    seen_flush: u64,
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
) -> (Producer<f32>, PlaybackCallback) {
    let (tx, rx) = RingBuffer::new(rate as usize);
    let seen_flush = shared.flush_requested.load(Ordering::Acquire);
    (
        tx,
        PlaybackCallback {
            samples: rx,
            reference,
            channels: usize::from(channels.max(1)),
            shared,
            seen_flush,
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

    fn fill(&mut self, frames: usize) {
        let requested = self.shared.flush_requested.load(Ordering::Acquire);
        if requested != self.seen_flush {
            self.seen_flush = requested;
            self.fade_left = self.fade_len;
        }
        let discarding = self.fade_left == 0
            && self.shared.flush_done.load(Ordering::Acquire) != self.seen_flush;
        let buf = &mut self.scratch[..frames];
        if discarding {
            // Old audio still arriving from before the flush: drop it.
            let n = self.samples.slots();
            if let Ok(c) = self.samples.read_chunk(n) {
                c.commit_all();
            }
            buf.fill(0.0);
            return;
        }
        let available = self.samples.slots().min(frames);
        if let Ok(c) = self.samples.read_chunk(available) {
            let (a, b) = c.as_slices();
            buf[..a.len()].copy_from_slice(a);
            buf[a.len()..a.len() + b.len()].copy_from_slice(b);
            c.commit_all();
        }
        buf[available..].fill(0.0);
        if available < frames && self.shared.playing.load(Ordering::Relaxed) {
            self.shared.underruns.fetch_add(1, Ordering::Relaxed);
        }
        if self.fade_left > 0 {
            for s in buf.iter_mut() {
                if self.fade_left == 0 {
                    *s = 0.0;
                } else {
                    *s *= self.fade_left as f32 / self.fade_len as f32;
                    self.fade_left -= 1;
                }
            }
            if self.fade_left == 0 {
                let n = self.samples.slots();
                if let Ok(c) = self.samples.read_chunk(n) {
                    c.commit_all();
                }
            }
        }
        self.shared
            .played
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
    Ring(Producer<f32>, StreamInfo),
    /// The device was lost; reopening the default one.
    DeviceLost(AudioError),
    /// The sink failed for good.
    Failed(AudioError),
}

enum Command {
    Packet(u64, Vec<u8>),
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
    events: Receiver<SinkMessage>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Packet(seq, p) => write!(f, "Packet({seq}, {} bytes)", p.len()),
        }
    }
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
        let driver = start_sink(sink, shared.clone(), echo, ring_tx, stop.clone())?;
        let (producer, info) = match ring_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(SinkMessage::Ring(p, info)) => (p, info),
            Ok(SinkMessage::Failed(e)) | Ok(SinkMessage::DeviceLost(e)) => return Err(e),
            Err(_) => return Err(AudioError::StartTimeout(Duration::from_secs(5))),
        };
        let (tx, rx) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let jitter = Arc::new(std::sync::Mutex::new(JitterStats::default()));
        let mut worker = PlaybackWorker::new(settings, producer, info.rate, shared.clone())?;
        let (wstop, wjitter) = (stop.clone(), jitter.clone());
        let worker = std::thread::Builder::new()
            .name("candor-playback".into())
            .spawn(move || worker.run(&rx, &ring_rx, &events_tx, &wstop, &wjitter))?;
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

    /// Queues a packet from the server.
    pub fn push(&self, seq: u64, payload: Vec<u8>) {
        let _ = self.tx.send(Command::Packet(seq, payload));
    }

    /// Stops what is playing with a 10 ms fade and drops everything queued
    /// (the server said the candidate barged in).
    pub fn flush(&self) {
        self.shared.request_flush();
    }

    /// Counters.
    pub fn stats(&self) -> PlaybackStats {
        PlaybackStats {
            callback_underruns: self.shared.underruns.load(Ordering::Relaxed),
            played_samples: self.shared.played.load(Ordering::Relaxed),
            jitter: self.jitter.lock().map(|j| *j).unwrap_or_default(),
        }
    }

    /// Device notices (lost, reopened) not yet read.
    pub fn poll_event(&self) -> Option<SinkMessage> {
        self.events.try_recv().ok()
    }

    /// Stops playback and waits for its threads (a WAV sink is finalized).
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
    producer: Producer<f32>,
    device_rate: u32,
    shared: Arc<PlaybackShared>,
    seen_flush: u64,
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

impl PlaybackWorker {
    /// A worker writing into `producer` for a device at `device_rate`.
    pub fn new(
        settings: PlaybackSettings,
        producer: Producer<f32>,
        device_rate: u32,
        shared: Arc<PlaybackShared>,
    ) -> Result<Self, AudioError> {
        let rate = decode_rate(settings.codec, settings.stream_rate, device_rate);
        let seen_flush = shared.flush_requested.load(Ordering::Acquire);
        Ok(Self {
            settings,
            jitter: JitterBuffer::new(settings.jitter),
            decoder: AudioDecoder::new(settings.codec, rate)?,
            resampler: MonoResampler::new(rate, device_rate)?,
            producer,
            device_rate,
            shared,
            seen_flush,
            decoded: Vec::with_capacity(4800),
            resampled: Vec::with_capacity(9600),
        })
    }

    /// Adds a packet to the jitter buffer.
    pub fn push(&mut self, seq: u64, payload: Vec<u8>) {
        self.jitter.push(seq, payload);
    }

    /// Handles a pending flush and keeps the device ring filled.
    pub fn pump(&mut self) -> Result<(), AudioError> {
        let requested = self.shared.flush_requested.load(Ordering::Acquire);
        if requested != self.seen_flush {
            self.seen_flush = requested;
            self.jitter.clear();
            self.decoder.reset()?;
            self.resampler.reset();
            self.shared.playing.store(false, Ordering::Relaxed);
            self.shared.flush_done.store(requested, Ordering::Release);
        }
        let low_water = (LOW_WATER.as_secs_f64() * f64::from(self.device_rate)) as usize;
        let frame = (self.decoder.rate() * FRAME_MS / 1000) as usize;
        while self.producer.buffer().capacity() - self.producer.slots() < low_water {
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
            let fit = self.resampled.len().min(self.producer.slots());
            if let Ok(chunk) = self.producer.write_chunk_uninit(fit) {
                chunk.fill_from_iter(self.resampled[..fit].iter().copied());
            }
        }
        self.shared
            .playing
            .store(self.jitter.is_playing(), Ordering::Relaxed);
        Ok(())
    }

    /// Switches to a new output stream (device reopened).
    pub fn replace_output(
        &mut self,
        producer: Producer<f32>,
        device_rate: u32,
    ) -> Result<(), AudioError> {
        if device_rate != self.device_rate {
            let rate = decode_rate(self.settings.codec, self.settings.stream_rate, device_rate);
            self.decoder = AudioDecoder::new(self.settings.codec, rate)?;
            self.resampler = MonoResampler::new(rate, device_rate)?;
            self.device_rate = device_rate;
        }
        self.producer = producer;
        Ok(())
    }

    fn run(
        &mut self,
        rx: &Receiver<Command>,
        rings: &Receiver<SinkMessage>,
        events: &Sender<SinkMessage>,
        stop: &AtomicBool,
        stats: &std::sync::Mutex<JitterStats>,
    ) {
        let mut last_stats = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            while let Ok(Command::Packet(seq, p)) = rx.try_recv() {
                self.push(seq, p);
            }
            while let Ok(msg) = rings.try_recv() {
                match msg {
                    SinkMessage::Ring(p, info) => {
                        if let Err(e) = self.replace_output(p, info.rate) {
                            let _ = events.send(SinkMessage::Failed(e));
                            return;
                        }
                    }
                    other => {
                        let _ = events.send(other);
                    }
                }
            }
            if let Err(e) = self.pump() {
                let _ = events.send(SinkMessage::Failed(e));
                return;
            }
            if last_stats.elapsed() > Duration::from_millis(20) {
                if let Ok(mut s) = stats.lock() {
                    *s = self.jitter.stats();
                }
                last_stats = Instant::now();
            }
            std::thread::sleep(POLL);
        }
        if let Ok(mut s) = stats.lock() {
            *s = self.jitter.stats();
        }
    }
}

fn start_sink(
    sink: &SinkSpec,
    shared: Arc<PlaybackShared>,
    echo: Option<Arc<EchoLink>>,
    tx: Sender<SinkMessage>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AudioError> {
    match sink {
        #[cfg(feature = "devices")]
        SinkSpec::Device { device } => {
            crate::devices::start_output(device.clone(), shared, echo, tx, stop)
        }
        SinkSpec::Wav {
            path,
            rate,
            channels,
        } => {
            let writer = WavWriter::create(path, *rate, *channels, true)?;
            clocked_sink(
                path.display().to_string(),
                *rate,
                *channels,
                Some(writer),
                shared,
                echo,
                tx,
                stop,
            )
        }
        SinkSpec::Null { rate } => {
            clocked_sink("null".into(), *rate, 1, None, shared, echo, tx, stop)
        }
    }
}

/// A sink thread that pulls 10 ms every 10 ms, like a device.
#[allow(clippy::too_many_arguments)]
fn clocked_sink(
    name: String,
    rate: u32,
    channels: u16,
    mut writer: Option<WavWriter>,
    shared: Arc<PlaybackShared>,
    echo: Option<Arc<EchoLink>>,
    tx: Sender<SinkMessage>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AudioError> {
    let reference = echo.map(|l| l.open(rate));
    let (producer, mut callback) = playback_ring(rate, channels, shared, reference);
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
                done += block as u64;
                if let Some(w) = writer.as_mut()
                    && let Err(e) = w.write(&buf)
                {
                    let _ = tx.send(SinkMessage::Failed(e));
                    return;
                }
            }
            if let Some(w) = writer.take() {
                let _ = w.finish();
            }
        })?;
    Ok(handle)
}
