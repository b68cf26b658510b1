//! The body of a capture callback: the only capture code that runs on the
//! device's real-time thread.
//!
//! [`CaptureCallback`] converts the device's samples to mono f32, pushes them
//! into a pre-sized lock-free ring, and pushes one timestamp per callback
//! into a second ring; the worker reads both from the [`CaptureRing`]. It
//! never allocates, locks or blocks (a test runs it under an allocation
//! guard).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use rtrb::{Consumer, Producer, RingBuffer};

use crate::sample::{AudioSample, ChannelMode};
use crate::stream::InputCallback;

/// When a callback delivered its samples: sample `end_index - 1` (counted
/// from the start of the stream) was captured at about `at`.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// Samples pushed so far, including this callback's.
    pub end_index: u64,
    /// When the callback ran.
    pub at: Instant,
}

/// Counters shared between a callback and its worker.
#[derive(Debug, Default)]
pub struct CaptureCounters {
    /// Samples dropped because the ring was full (the worker fell behind).
    pub overrun_samples: AtomicU64,
    /// Callbacks seen.
    pub callbacks: AtomicU64,
    /// Set by a file or generator source after its last sample.
    pub ended: AtomicBool,
}

/// The device-side half: the body of a capture callback.
#[derive(Debug)]
pub struct CaptureCallback {
    samples: Producer<f32>,
    stamps: Producer<Stamp>,
    channels: usize,
    mode: ChannelMode,
    index: u64,
    counters: Arc<CaptureCounters>,
}

/// The worker-side half of a capture stream.
#[derive(Debug)]
pub struct CaptureRing {
    /// Mono samples.
    pub samples: Consumer<f32>,
    /// One stamp per callback.
    pub stamps: Consumer<Stamp>,
    /// The stream's sample rate.
    pub rate: u32,
    /// What delivers the samples (device name, file, generator).
    pub source_name: String,
    /// Shared counters.
    pub counters: Arc<CaptureCounters>,
}

/// Creates a callback/ring pair for a stream of `rate` Hz with `channels`
/// interleaved channels, holding up to two seconds of audio.
pub fn capture_ring(
    rate: u32,
    channels: u16,
    mode: ChannelMode,
    source_name: impl Into<String>,
) -> (CaptureCallback, CaptureRing) {
    let (samples_tx, samples_rx) = RingBuffer::new(rate as usize * 2);
    let (stamps_tx, stamps_rx) = RingBuffer::new(4096);
    let counters = Arc::new(CaptureCounters::default());
    (
        CaptureCallback {
            samples: samples_tx,
            stamps: stamps_tx,
            channels: usize::from(channels.max(1)),
            mode,
            index: 0,
            counters: counters.clone(),
        },
        CaptureRing {
            samples: samples_rx,
            stamps: stamps_rx,
            rate,
            source_name: source_name.into(),
            counters,
        },
    )
}

impl CaptureCallback {
    /// The callback body: converts `data` (interleaved) to mono and queues it
    /// with a timestamp. Real-time safe: no allocation, no lock, no blocking.
    #[inline]
    pub fn process<T: AudioSample>(&mut self, data: &[T], now: Instant) {
        let channels = self.channels;
        let frames = data.len() / channels;
        let fit = frames.min(self.samples.slots());
        if fit < frames {
            self.counters
                .overrun_samples
                .fetch_add((frames - fit) as u64, Ordering::Relaxed);
        }
        if fit > 0
            && let Ok(chunk) = self.samples.write_chunk_uninit(fit)
        {
            let frames_in = data[..fit * channels].chunks_exact(channels);
            let written = match self.mode {
                _ if channels == 1 => chunk.fill_from_iter(data[..fit].iter().map(|s| s.to_f32())),
                ChannelMode::Mix => {
                    let scale = 1.0 / channels as f32;
                    chunk.fill_from_iter(
                        frames_in.map(|f| f.iter().map(|s| s.to_f32()).sum::<f32>() * scale),
                    )
                }
                ChannelMode::Pick(c) => {
                    let c = usize::from(c).min(channels - 1);
                    chunk.fill_from_iter(frames_in.map(|f| f[c].to_f32()))
                }
            };
            self.index += written as u64;
        }
        // A full stamp ring only loses timing precision, never audio.
        let _ = self.stamps.push(Stamp {
            end_index: self.index,
            at: now,
        });
        self.counters.callbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// Free space in the ring, in mono samples (file sources wait on it).
    pub fn free_slots(&self) -> usize {
        self.samples.slots()
    }

    /// The shared counters.
    pub fn counters(&self) -> &Arc<CaptureCounters> {
        &self.counters
    }
}

impl InputCallback for CaptureCallback {
    #[inline]
    fn input<T: AudioSample>(&mut self, data: &[T], now: Instant) {
        self.process(data, now);
    }
}
