//! The playback worker: jitter buffer → decoder → resampler → output ring.
//!
//! [`PlaybackWorker`] is the synchronous part (tests drive it directly); its
//! thread loop takes packets and flushes from the handle, new output rings
//! from the sink's driver, keeps about 30 ms queued for the callback,
//! watches that the device keeps taking audio (see [`crate::watchdog`]),
//! and reports to the caller's [`PlaybackSink`].
//!
//! Between passes the worker sleeps on the handle's channel, so a packet or
//! a flush wakes it at once, for as long as nothing else needs it (see
//! [`PlaybackWorker::idle_wait`]): until the queued audio falls to the low
//! water mark while a turn plays, until a short answer's prebuffer time is
//! up, until the ring has drained, or at most [`LONGEST_WAIT`] (the flow
//! watch, a reopened device, a stop). A fixed 2 ms poll cost ~1 % of a core
//! on a virtual machine, in every state, interviewer silent or not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::callback::{PlaybackShared, RingWriter};
use super::events::{PlaybackEvent, PlaybackSink};
use crate::codec::{AudioDecoder, Codec, FRAME_MS, OPUS_RATES};
use crate::echo_link::EchoLink;
use crate::error::AudioError;
use crate::jitter::{JitterBuffer, JitterConfig, JitterPop, JitterStats};
use crate::resample::MonoResampler;
use crate::stream::{StreamInfo, StreamMessage};
use crate::watchdog::{DeviceControl, RECOVERY, Verdict, Watchdog};

/// The shortest sleep between passes.
const POLL: Duration = Duration::from_millis(2);
/// The longest sleep between passes, so a stop, a reopened device and the
/// flow watch are seen within it.
const LONGEST_WAIT: Duration = Duration::from_millis(50);
/// How long after the ring should have drained the worker looks (the
/// callback has taken the last samples by then).
const DRAIN_SLACK: Duration = Duration::from_millis(1);
/// The worker keeps this much decoded audio queued for the callback.
const LOW_WATER: Duration = Duration::from_millis(30);

/// What the worker reads from its sink's driver.
pub(crate) type SinkMessage = StreamMessage<RingWriter>;

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

/// From the handle to the worker, in order.
pub(super) enum Command {
    /// A packet and its sequence number.
    Packet(u64, Vec<u8>),
    /// Flush number `n` (see [`PlaybackShared::request_flush`]).
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
        Codec::Opus if OPUS_RATES.contains(&device_rate) => device_rate,
        Codec::Opus => 48_000,
    }
}

/// The worker thread's channels and flags.
pub(super) struct WorkerLinks {
    /// Packets and flushes from the handle.
    pub(super) commands: Receiver<Command>,
    /// New output rings and losses from the sink's driver.
    pub(super) rings: Receiver<SinkMessage>,
    /// Stops the worker and the driver.
    pub(super) stop: Arc<AtomicBool>,
    /// Where the handle reads the jitter counters.
    pub(super) stats: Arc<Mutex<JitterStats>>,
    /// Reopens a device that stopped taking audio (devices only).
    pub(super) control: Option<Arc<DeviceControl>>,
}

/// Where the worker loop stands between passes.
struct Progress {
    watchdog: Watchdog,
    /// Packets received from the handle.
    received: u64,
    /// The stream opened last, until it is seen running.
    not_started: Option<StreamInfo>,
    /// The name of the stream seen running last.
    name: String,
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
        self.out.shared().mark_flush_boundary(n, self.written);
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
            if now.duration_since(since) >= self.prebuffer() {
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

    /// How long a turn waits for the jitter buffer's target depth before
    /// it starts anyway.
    fn prebuffer(&self) -> Duration {
        Duration::from_millis(u64::from(FRAME_MS) * self.jitter.stats().target_frames as u64)
    }

    /// How long the worker may sleep after a pass at `now` if no packet or
    /// flush comes (either wakes it at once).
    pub fn idle_wait(&self, now: Instant) -> Duration {
        let queued =
            Duration::from_secs_f64(self.out.queued() as f64 / f64::from(self.device_rate.max(1)));
        let wait = if self.flush_pending() {
            // Its command is on the way.
            POLL
        } else if self.jitter.is_empty() {
            // Nothing to decode: look again when the ring has drained.
            if queued.is_zero() {
                LONGEST_WAIT
            } else {
                queued + DRAIN_SLACK
            }
        } else if !self.jitter.is_playing() {
            // A turn's first packets: start when the prebuffer time is up.
            let since = self.prebuffering_since.unwrap_or(now);
            (since + self.prebuffer()).saturating_duration_since(now)
        } else {
            // Playing: top up when the queued audio reaches the low water.
            queued.saturating_sub(LOW_WATER)
        };
        wait.clamp(POLL, LONGEST_WAIT)
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

    /// Links the capture whose echo canceller hears what this worker's
    /// streams play, and hands it the current stream's reference.
    pub fn link_echo(&mut self, echo: Arc<EchoLink>) {
        self.echo = Some(echo);
        self.publish_reference();
    }

    /// Hands the current stream's echo reference to the capture.
    fn publish_reference(&mut self) {
        if let Some(link) = self.echo.as_ref()
            && let Some(seg) = self.out.take_reference()
        {
            link.publish(seg);
        }
    }

    /// The worker thread: runs until stopped or until playback fails for
    /// good, which it reports to `sink` and which stops the driver too.
    pub(super) fn run(
        &mut self,
        first: StreamInfo,
        links: &WorkerLinks,
        sink: &mut impl PlaybackSink,
    ) {
        let mut progress = Progress {
            watchdog: Watchdog::new(self.device_rate, Instant::now()),
            received: 0,
            not_started: Some(first),
            name: String::new(),
        };
        let mut last_stats = Instant::now();
        let mut woken_by = None;
        while !links.stop.load(Ordering::Relaxed) {
            crate::priority::serve_pending();
            if let Err(e) = self.pass(woken_by.take(), links, &mut progress, sink) {
                sink.event(PlaybackEvent::Failed(e));
                links.stop.store(true, Ordering::Relaxed);
                break;
            }
            if last_stats.elapsed() > Duration::from_millis(20) {
                self.publish_stats(&links.stats);
                last_stats = Instant::now();
            }
            let wait = self.idle_wait(Instant::now());
            match links.commands.recv_timeout(wait) {
                Ok(cmd) => woken_by = Some(cmd),
                Err(RecvTimeoutError::Timeout) => {}
                // The handle is gone: only a stop is left to see.
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
            }
        }
        self.publish_stats(&links.stats);
    }

    /// Takes a packet or a flush from the handle.
    fn command(&mut self, cmd: Command, p: &mut Progress) -> Result<(), AudioError> {
        match cmd {
            Command::Packet(seq, packet) => {
                p.received += 1;
                self.push(seq, packet);
            }
            Command::Flush(n) => self.flush(n)?,
        }
        Ok(())
    }

    /// One pass of the loop: commands (`first`, the one that woke the
    /// worker, then the rest), new rings, decoding, the flow watch.
    fn pass(
        &mut self,
        first: Option<Command>,
        links: &WorkerLinks,
        p: &mut Progress,
        sink: &mut impl PlaybackSink,
    ) -> Result<(), AudioError> {
        let now = Instant::now();
        for cmd in first.into_iter().chain(links.commands.try_iter()) {
            self.command(cmd, p)?;
        }
        while let Ok(msg) = links.rings.try_recv() {
            match msg {
                StreamMessage::Opened(writer, info) => {
                    self.replace_output(writer, info.rate)?;
                    p.watchdog.new_stream(info.rate, now);
                    p.not_started = Some(info);
                }
                StreamMessage::DeviceLost(e) => {
                    if p.watchdog.backend_lost(now) {
                        sink.event(PlaybackEvent::DeviceLost(e));
                    }
                }
                StreamMessage::Failed(e) => return Err(e),
            }
        }
        self.pump(now)?;
        if self.is_drained() {
            self.shared
                .drained_upto
                .store(p.received, Ordering::Release);
        }
        let played = self.out.shared().progress();
        let verdict = match links.control.as_deref() {
            Some(control) => p.watchdog.observe(played, now, control),
            None => {
                p.watchdog.record(played, now);
                Verdict::Quiet
            }
        };
        // Running means taking audio steadily, not one buffer fill.
        if p.watchdog.delivering()
            && let Some(info) = p.not_started.take()
        {
            p.name.clone_from(&info.name);
            sink.event(PlaybackEvent::Started(info));
        }
        match verdict {
            Verdict::Quiet => Ok(()),
            Verdict::Lost => {
                sink.event(PlaybackEvent::DeviceLost(AudioError::DeviceLost(format!(
                    "{} stopped taking audio",
                    p.name
                ))));
                Ok(())
            }
            Verdict::Failed => Err(AudioError::DeviceLost(format!(
                "no output device took audio within {RECOVERY:?}"
            ))),
        }
    }

    fn publish_stats(&self, stats: &Mutex<JitterStats>) {
        if let Ok(mut s) = stats.lock() {
            *s = self.jitter.stats();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::callback::{PlaybackCallback, playback_ring};

    const MS: Duration = Duration::from_millis(1);

    /// A worker for a 48 kHz mono device playing 48 kHz PCM16, and the
    /// device's callback.
    fn worker() -> (PlaybackWorker, PlaybackCallback, Arc<PlaybackShared>) {
        let shared = Arc::new(PlaybackShared::default());
        let (writer, callback) = playback_ring(48_000, 1, shared.clone(), None);
        let settings = PlaybackSettings {
            codec: Codec::Pcm16,
            stream_rate: 48_000,
            ..PlaybackSettings::default()
        };
        let worker = PlaybackWorker::new(settings, writer, 48_000, shared.clone()).unwrap();
        (worker, callback, shared)
    }

    /// 20 ms of PCM16 at 48 kHz.
    fn packet() -> Vec<u8> {
        vec![0x10; 960 * 2]
    }

    #[test]
    fn an_idle_worker_sleeps_until_it_has_something_to_do() {
        let now = Instant::now();
        let (mut w, mut callback, shared) = worker();
        // Nothing buffered, nothing queued: only the flow watch and a stop.
        assert_eq!(w.idle_wait(now), LONGEST_WAIT);

        // A turn's first packet waits for the prebuffer (3 frames, 60 ms).
        w.push(0, packet());
        w.pump(now).unwrap();
        assert_eq!(w.idle_wait(now + 30 * MS), 30 * MS);
        assert_eq!(w.idle_wait(now + 59 * MS), POLL);

        // Playing: 40 ms queued (two frames for the 30 ms low water), so
        // the next top-up is due in 10 ms, not at every poll.
        for seq in 1..6 {
            w.push(seq, packet());
        }
        w.pump(now).unwrap();
        assert_eq!(w.out.queued(), 2 * 960);
        assert_eq!(w.idle_wait(now), 10 * MS);
        // The device took 20 ms: below the low water, top up at the next
        // look.
        callback.process(&mut [0.0f32; 960], now);
        assert_eq!(w.out.queued(), 960);
        assert_eq!(w.idle_wait(now), POLL);

        // A barge-in's flush is handled at once.
        let n = shared.request_flush();
        assert_eq!(w.idle_wait(now), POLL);
        w.flush(n).unwrap();

        // The last packet of a turn: look again when the ring has played
        // out (to report it drained), not before.
        let (mut w, _callback, _) = worker();
        w.push(0, packet());
        w.pump(now).unwrap();
        w.pump(now + 60 * MS).unwrap();
        assert_eq!(w.out.queued(), 960);
        assert_eq!(w.idle_wait(now + 60 * MS), 20 * MS + DRAIN_SLACK);
    }
}
