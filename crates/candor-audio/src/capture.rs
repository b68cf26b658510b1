//! The capture path: real-time callback body, and the processing it hands off.
//!
//! [`CaptureCallback`] is everything a device callback does: convert the
//! device's samples to mono f32, push them into a pre-sized lock-free ring,
//! and push one timestamp per callback into a second ring. It never
//! allocates, locks or blocks (a test runs it under an allocation guard).
//!
//! [`CaptureProcessor`] is the worker's synchronous pipeline: echo
//! cancellation in 10 ms blocks at the device rate → resample to 16 kHz →
//! 20 ms frames → Opus, with level and voice activity per frame. It is pure
//! (no threads, no clock), so tests and the benchmark drive it directly,
//! faster than real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtrb::{Consumer, Producer, RingBuffer};

use crate::AudioError;
use crate::aec::{EchoCanceller, VoiceProcessing};
use crate::codec::{CAPTURE_FRAME_SAMPLES, CAPTURE_RATE, EncoderSettings, MAX_PACKET, OpusEncoder};
use crate::meter::{LevelMeter, VoiceActivity, frame_level_db};
use crate::resample::MonoResampler;
use crate::sample::{AudioSample, ChannelMode};

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

/// Settings of the capture pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureSettings {
    /// Echo cancellation, noise suppression, high-pass.
    pub processing: VoiceProcessing,
    /// Opus settings.
    pub encoder: EncoderSettings,
    /// How channels are reduced to mono.
    pub channel: ChannelMode,
    /// Upper bound of level updates per second.
    pub level_updates_per_second: u32,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            processing: VoiceProcessing::default(),
            encoder: EncoderSettings::default(),
            channel: ChannelMode::Mix,
            level_updates_per_second: 25,
        }
    }
}

/// One encoded 20 ms frame for the transport.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFrame {
    /// Monotonic per capture session, starting at 0.
    pub seq: u64,
    /// When the frame's oldest sample was captured.
    pub captured_at: Instant,
    /// When the callback that completed the frame's audio ran.
    pub completed_at: Instant,
    /// The Opus packet.
    pub payload: Vec<u8>,
    /// Voice activity in this frame.
    pub voice: bool,
    /// The frame's level in dBFS (after echo cancellation).
    pub level_db: f32,
}

/// What the processor produces.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureOutput {
    /// An encoded frame.
    Frame(EncodedFrame),
    /// A throttled input level in 0..=1 for the "glowing mic".
    Level(f32),
}

/// The synchronous capture pipeline for one stream rate.
pub struct CaptureProcessor {
    rate: u32,
    settings: CaptureSettings,
    aec: Option<EchoCanceller>,
    render_rate: u32,
    render_block: Vec<f32>,
    render_fill: usize,
    block: Vec<f32>,
    block_fill: usize,
    resampler: MonoResampler,
    out16: Vec<f32>,
    out16_base: u64,
    encoder: OpusEncoder,
    vad: VoiceActivity,
    meter: LevelMeter,
    seq: u64,
    packet: Box<[u8; MAX_PACKET]>,
}

impl std::fmt::Debug for CaptureProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureProcessor")
            .field("rate", &self.rate)
            .field("seq", &self.seq)
            .finish()
    }
}

impl CaptureProcessor {
    /// A pipeline for mono input at `rate` Hz whose first frame gets `first_seq`.
    pub fn new(rate: u32, settings: CaptureSettings, first_seq: u64) -> Result<Self, AudioError> {
        let aec = if settings.processing.any() {
            Some(EchoCanceller::new(settings.processing, rate, rate)?)
        } else {
            None
        };
        let block_len = rate as usize / 100;
        Ok(Self {
            rate,
            settings,
            aec,
            render_rate: rate,
            render_block: vec![0.0; block_len],
            render_fill: 0,
            block: vec![0.0; block_len],
            block_fill: 0,
            resampler: MonoResampler::new(rate, CAPTURE_RATE)?,
            out16: Vec::with_capacity(CAPTURE_FRAME_SAMPLES * 4),
            out16_base: 0,
            encoder: OpusEncoder::new(settings.encoder)?,
            vad: VoiceActivity::default(),
            meter: LevelMeter::new(settings.level_updates_per_second),
            seq: first_seq,
            packet: Box::new([0u8; MAX_PACKET]),
        })
    }

    /// Input rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The next frame's sequence number.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    /// The resampler's delay (part of the pipeline's algorithmic latency).
    pub fn resampler_delay(&self) -> Duration {
        self.resampler.delay()
    }

    /// Feeds played audio (the far-end reference) at `rate` Hz. Must be
    /// called before the microphone audio that may contain its echo.
    pub fn feed_reference(&mut self, rate: u32, mut samples: &[f32]) -> Result<(), AudioError> {
        let Some(aec) = self.aec.as_mut() else {
            return Ok(());
        };
        if !self.settings.processing.echo_cancellation {
            return Ok(());
        }
        if rate != self.render_rate {
            *aec = EchoCanceller::new(self.settings.processing, self.rate, rate)?;
            self.render_rate = rate;
            self.render_block = vec![0.0; rate as usize / 100];
            self.render_fill = 0;
        }
        let n = self.render_block.len();
        while !samples.is_empty() {
            let take = (n - self.render_fill).min(samples.len());
            self.render_block[self.render_fill..self.render_fill + take]
                .copy_from_slice(&samples[..take]);
            self.render_fill += take;
            samples = &samples[take..];
            if self.render_fill == n {
                aec.process_render(&self.render_block)?;
                self.render_fill = 0;
            }
        }
        Ok(())
    }

    /// Processes mono microphone samples that end at `stamp` (the last one
    /// is input sample `stamp.end_index - 1`), emitting frames and levels.
    pub fn process(
        &mut self,
        mut input: &[f32],
        stamp: Stamp,
        out: &mut impl FnMut(CaptureOutput),
    ) -> Result<(), AudioError> {
        let n = self.block.len();
        while !input.is_empty() {
            let take = (n - self.block_fill).min(input.len());
            self.block[self.block_fill..self.block_fill + take].copy_from_slice(&input[..take]);
            self.block_fill += take;
            input = &input[take..];
            if self.block_fill == n {
                if let Some(aec) = self.aec.as_mut() {
                    aec.process_capture(&mut self.block)?;
                }
                self.resampler.process(&self.block, &mut self.out16)?;
                self.block_fill = 0;
            }
        }
        let mut start = 0;
        while self.out16.len() - start >= CAPTURE_FRAME_SAMPLES {
            let frame = &self.out16[start..start + CAPTURE_FRAME_SAMPLES];
            let len = self.encoder.encode(frame, &mut self.packet[..])?;
            let level_db = frame_level_db(frame);
            let voice = self.vad.update(level_db);
            let captured_at = self.time_of_output(self.out16_base, stamp);
            out(CaptureOutput::Frame(EncodedFrame {
                seq: self.seq,
                captured_at,
                completed_at: stamp.at,
                payload: self.packet[..len].to_vec(),
                voice,
                level_db,
            }));
            if let Some(level) = self.meter.update(crate::sample::rms(frame)) {
                out(CaptureOutput::Level(level));
            }
            self.seq += 1;
            self.out16_base += CAPTURE_FRAME_SAMPLES as u64;
            start += CAPTURE_FRAME_SAMPLES;
        }
        self.out16.drain(..start);
        Ok(())
    }

    /// When the input sample behind 16 kHz output sample `k` was captured.
    fn time_of_output(&self, k: u64, stamp: Stamp) -> Instant {
        let delay = self.resampler.delay_frames() as f64;
        let input_index =
            ((k as f64 - delay) * f64::from(self.rate) / f64::from(CAPTURE_RATE)).max(0.0);
        let behind = (stamp.end_index as f64 - 1.0 - input_index).max(0.0) / f64::from(self.rate);
        stamp
            .at
            .checked_sub(Duration::from_secs_f64(behind))
            .unwrap_or(stamp.at)
    }
}
