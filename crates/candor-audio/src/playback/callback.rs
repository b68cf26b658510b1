//! The body of a playback callback: the only playback code that runs on
//! the device's real-time thread, and the ring it reads.
//!
//! [`PlaybackCallback`] pops mono f32 from a lock-free ring, writes it to
//! every device channel, plays silence when the ring is dry (counted as an
//! underrun while a stream is playing), applies the 10 ms fade of a flush
//! (barge-in), and pushes exactly what it wrote into the echo reference
//! ring, stamped with when it will be heard. It never allocates, locks or blocks (a test runs it under an
//! allocation guard). The worker writes through the [`RingWriter`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtrb::{Consumer, Producer, RingBuffer};

use crate::echo_link::{EchoLink, ReferenceSegment, ReferenceWriter};
use crate::sample::AudioSample;
use crate::stream::OutputCallback;

/// State shared by the playback callback, its worker and the handle.
#[derive(Debug, Default)]
pub struct PlaybackShared {
    /// Flushes asked for so far (the callback fades out on a change).
    pub(super) flush_requested: AtomicU64,
    /// The jitter buffer is playing: a dry ring is an underrun.
    pub(super) playing: AtomicBool,
    /// Callbacks that played silence while playing.
    pub(super) underruns: AtomicU64,
    /// Samples written to the device.
    pub(super) played: AtomicU64,
    /// Packets pushed by the handle.
    pub(super) pushed: AtomicU64,
    /// Packets the worker had received when it last ran dry.
    pub(super) drained_upto: AtomicU64,
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

    /// Publishes that the audio queued before flush number `flush` ends at
    /// sample `pos` of this ring.
    pub(super) fn mark_flush_boundary(&self, flush: u64, pos: u64) {
        self.boundary_pos.store(pos, Ordering::Release);
        self.boundary_gen.store(flush, Ordering::Release);
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
    /// The reader of the echo reference, until the worker publishes it.
    pub(super) fn take_reference(&mut self) -> Option<ReferenceSegment> {
        self.reference.take()
    }

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
    reference: Option<ReferenceWriter>,
    channels: usize,
    rate: u32,
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
    reference: Option<ReferenceWriter>,
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
            rate: rate.max(1),
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
    /// The callback body: fills `out` (interleaved), whose first frame
    /// leaves the loudspeaker at `heard_at`. Real-time safe.
    pub fn process<T: AudioSample>(&mut self, out: &mut [T], heard_at: Instant) {
        let channels = self.channels;
        let chunk_frames = self.scratch.len();
        let mut done = 0u64;
        for piece in out.chunks_mut(chunk_frames * channels) {
            let frames = piece.len() / channels;
            self.fill(frames);
            crate::sample::from_mono(&self.scratch[..frames], channels, piece);
            if let Some(r) = self.reference.as_mut() {
                let offset = Duration::from_nanos(done * 1_000_000_000 / u64::from(self.rate));
                r.push(&self.scratch[..frames], heard_at + offset);
            }
            done += frames as u64;
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

impl OutputCallback for PlaybackCallback {
    #[inline]
    fn output<T: AudioSample>(&mut self, out: &mut [T], heard_at: Instant) {
        self.process(out, heard_at);
    }
}

/// The ring of a new output stream of `rate` Hz and `channels` channels,
/// with its echo reference: the callback writes what it plays into the
/// reference, whose reader travels with the writer until the worker
/// publishes it (see [`RingWriter::with_reference`]).
pub fn output_stream(
    rate: u32,
    channels: u16,
    shared: Arc<PlaybackShared>,
) -> (RingWriter, PlaybackCallback) {
    let (reference, segment) = EchoLink::create(rate);
    let (writer, callback) = playback_ring(rate, channels, shared, Some(reference));
    (writer.with_reference(Some(segment)), callback)
}
