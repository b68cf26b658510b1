//! Where capture audio comes from: a device, a WAV file, a tone, or silence.
//!
//! Every source drives the same [`CaptureCallback`] the device uses, so the
//! CLI, the tests and the app run one pipeline. Files and generators run on
//! their own thread, either paced like a device (real time, 10 ms chunks) or
//! as fast as the worker can take them (they wait for ring space instead of
//! dropping, so nothing is lost).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::AudioError;
use crate::capture::{CaptureCallback, CaptureRing, capture_ring};
use crate::sample::{AudioSample, ChannelMode};
use crate::watchdog::DeviceControl;
use crate::wav::{WavReader, WavSamples};

/// How a file or generator source is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// Like a device: one 10 ms chunk every 10 ms.
    #[default]
    RealTime,
    /// As fast as the worker consumes (no drops).
    AsFastAsPossible,
}

/// A PCM sample format for generated audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PcmFormat {
    /// 32-bit float.
    #[default]
    F32,
    /// Signed 16-bit.
    I16,
    /// Signed 32-bit.
    I32,
    /// Unsigned 16-bit.
    U16,
}

/// A capture source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// A cpal input device: by name or id, or the default one.
    #[cfg(feature = "devices")]
    Device {
        /// Name or id; `None` for the system default.
        device: Option<String>,
    },
    /// A WAV file of any rate, channel count and PCM format.
    Wav {
        /// The file.
        path: PathBuf,
        /// Pacing.
        pacing: Pacing,
    },
    /// A sine tone, the same on every channel.
    Tone {
        /// Frequency in Hz.
        frequency: f32,
        /// Peak amplitude in 0..=1.
        amplitude: f32,
        /// Sample rate.
        rate: u32,
        /// Interleaved channels.
        channels: u16,
        /// Sample format delivered to the callback.
        format: PcmFormat,
        /// Length.
        duration: Duration,
        /// Pacing.
        pacing: Pacing,
    },
    /// A live signal computed while it plays, paced like a device (e.g. a
    /// simulated room whose microphone hears what the playback played).
    Live {
        /// Sample rate.
        rate: u32,
        /// Fills each 10 ms chunk (mono).
        generator: Generator,
        /// Length, or endless.
        duration: Option<Duration>,
    },
    /// Audio the program pushes (see [`Feed`](crate::Feed)), silence in
    /// between; endless, real-time paced, mono.
    Feed {
        /// The handle whose pushed samples are played.
        feed: crate::Feed,
    },
    /// Digital silence; endless when `duration` is `None`.
    Silence {
        /// Sample rate.
        rate: u32,
        /// Length, or endless.
        duration: Option<Duration>,
        /// Pacing.
        pacing: Pacing,
    },
}

/// The signal of a [`SourceSpec::Live`]: called with the index of the first
/// sample of each 10 ms chunk and the chunk to fill, on the source's thread.
#[derive(Clone)]
pub struct Generator(pub Arc<GeneratorFn>);

/// The function behind a [`Generator`].
pub type GeneratorFn = dyn Fn(u64, &mut [f32]) + Send + Sync;

impl Generator {
    /// Wraps `f`.
    pub fn new(f: impl Fn(u64, &mut [f32]) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Generator")
    }
}

impl PartialEq for Generator {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What a source reports when it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Device name or file path or generator description.
    pub name: String,
    /// Sample rate.
    pub rate: u32,
    /// Channels delivered.
    pub channels: u16,
    /// Sample format, e.g. "f32".
    pub format: String,
}

/// Messages from a running source to the capture worker.
#[derive(Debug)]
pub enum SourceMessage {
    /// A new stream (first open or reopen after loss).
    Ring(CaptureRing, StreamInfo),
    /// The device was lost; the source is reopening the default one.
    DeviceLost(AudioError),
    /// The source failed for good.
    Failed(AudioError),
}

/// A source's driver thread, and for a device the reopen control its
/// worker uses when the audio stops.
pub(crate) type SourceDriver = (JoinHandle<()>, Option<Arc<DeviceControl>>);

/// Starts `spec`, sending its ring(s) to `tx`.
pub(crate) fn start_source(
    spec: &SourceSpec,
    channel: ChannelMode,
    tx: Sender<SourceMessage>,
    stop: Arc<AtomicBool>,
) -> Result<SourceDriver, AudioError> {
    #[cfg(feature = "devices")]
    if let SourceSpec::Device { device } = spec {
        let control = Arc::new(DeviceControl::default());
        let handle =
            crate::devices::start_input(device.clone(), channel, tx, stop, control.clone())?;
        return Ok((handle, Some(control)));
    }
    Ok((start_generated(spec, channel, tx, stop)?, None))
}

fn start_generated(
    spec: &SourceSpec,
    channel: ChannelMode,
    tx: Sender<SourceMessage>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AudioError> {
    match spec {
        #[cfg(feature = "devices")]
        SourceSpec::Device { .. } => Err(AudioError::Backend(
            "a device source is opened by the device layer".into(),
        )),
        SourceSpec::Wav { path, pacing } => {
            let reader = WavReader::open(path)?;
            let info = StreamInfo {
                name: path.display().to_string(),
                rate: reader.rate(),
                channels: reader.channels(),
                format: reader.format_name().to_string(),
            };
            let (callback, ring) = capture_ring(info.rate, info.channels, channel, &info.name);
            let _ = tx.send(SourceMessage::Ring(ring, info.clone()));
            let pacing = *pacing;
            spawn("candor-wav-source", move || {
                let chunk = info.rate as usize / 100 * usize::from(info.channels);
                match reader.into_samples() {
                    WavSamples::I16(s) => drive_slices(&s, chunk, &info, pacing, callback, &stop),
                    WavSamples::I32(s) => drive_slices(&s, chunk, &info, pacing, callback, &stop),
                    WavSamples::F32(s) => drive_slices(&s, chunk, &info, pacing, callback, &stop),
                }
            })
        }
        SourceSpec::Tone {
            frequency,
            amplitude,
            rate,
            channels,
            format,
            duration,
            pacing,
        } => {
            let info = StreamInfo {
                name: format!("tone {frequency} Hz"),
                rate: *rate,
                channels: *channels,
                format: format!("{format:?}").to_lowercase(),
            };
            let (callback, ring) = capture_ring(*rate, *channels, channel, &info.name);
            let _ = tx.send(SourceMessage::Ring(ring, info.clone()));
            let total = (duration.as_secs_f64() * f64::from(*rate)).round() as u64;
            let (f, a, p, fmt) = (*frequency, *amplitude, *pacing, *format);
            spawn("candor-tone-source", move || {
                let gen_ = move |i: u64| {
                    // Phase from the integer index keeps the tone exact over hours.
                    let cycles = (i as f64 * f64::from(f) / f64::from(info.rate)).fract();
                    (f64::from(a) * (2.0 * std::f64::consts::PI * cycles).sin()) as f32
                };
                match fmt {
                    PcmFormat::F32 => {
                        drive_gen::<f32>(gen_, Some(total), &info, p, callback, &stop)
                    }
                    PcmFormat::I16 => {
                        drive_gen::<i16>(gen_, Some(total), &info, p, callback, &stop)
                    }
                    PcmFormat::I32 => {
                        drive_gen::<i32>(gen_, Some(total), &info, p, callback, &stop)
                    }
                    PcmFormat::U16 => {
                        drive_gen::<u16>(gen_, Some(total), &info, p, callback, &stop)
                    }
                }
            })
        }
        SourceSpec::Live {
            rate,
            generator,
            duration,
        } => {
            let info = StreamInfo {
                name: "live signal".into(),
                rate: *rate,
                channels: 1,
                format: "f32".into(),
            };
            let (callback, ring) = capture_ring(*rate, 1, channel, &info.name);
            let _ = tx.send(SourceMessage::Ring(ring, info.clone()));
            let total = duration.map(|d| (d.as_secs_f64() * f64::from(*rate)).round() as u64);
            let generator = generator.clone();
            spawn("candor-live-source", move || {
                drive_live(&generator, total, &info, callback, &stop)
            })
        }
        SourceSpec::Feed { feed } => {
            let info = StreamInfo {
                name: "fed audio".into(),
                rate: feed.rate(),
                channels: 1,
                format: "f32".into(),
            };
            let (callback, ring) = capture_ring(info.rate, 1, channel, "fed audio");
            let _ = tx.send(SourceMessage::Ring(ring, info.clone()));
            let feed = feed.clone();
            spawn("candor-feed-source", move || {
                feed.drive(&info, callback, &stop, wait_turn)
            })
        }
        SourceSpec::Silence {
            rate,
            duration,
            pacing,
        } => {
            let info = StreamInfo {
                name: "silence".into(),
                rate: *rate,
                channels: 1,
                format: "f32".into(),
            };
            let (callback, ring) = capture_ring(*rate, 1, channel, "silence");
            let _ = tx.send(SourceMessage::Ring(ring, info.clone()));
            let total = duration.map(|d| (d.as_secs_f64() * f64::from(*rate)).round() as u64);
            let p = *pacing;
            spawn("candor-silence-source", move || {
                drive_gen::<f32>(|_| 0.0, total, &info, p, callback, &stop)
            })
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, AudioError> {
    Ok(std::thread::Builder::new().name(name.into()).spawn(f)?)
}

/// The time stamped on a chunk: the real time for paced sources, a virtual
/// clock (start + samples / rate) for fast ones, so that capture timestamps
/// stay consistent with the audio even when it runs 100× faster.
fn stamp_time(pacing: Pacing, started: Instant, frames_after: u64, rate: u32) -> Instant {
    match pacing {
        Pacing::RealTime => Instant::now(),
        Pacing::AsFastAsPossible => {
            started + Duration::from_secs_f64(frames_after as f64 / f64::from(rate))
        }
    }
}

/// Waits until the next chunk is due (real time) or there is room (fast).
/// Returns false when asked to stop.
fn wait_turn(
    pacing: Pacing,
    started: Instant,
    frames_done: u64,
    rate: u32,
    need: usize,
    callback: &CaptureCallback,
    stop: &AtomicBool,
) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        match pacing {
            Pacing::RealTime => {
                let due = started + Duration::from_secs_f64(frames_done as f64 / f64::from(rate));
                let now = Instant::now();
                if now >= due {
                    return true;
                }
                std::thread::sleep((due - now).min(Duration::from_millis(20)));
            }
            Pacing::AsFastAsPossible => {
                if callback.free_slots() >= need {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

fn drive_slices<T: AudioSample>(
    samples: &[T],
    chunk: usize,
    info: &StreamInfo,
    pacing: Pacing,
    mut callback: CaptureCallback,
    stop: &AtomicBool,
) {
    let channels = usize::from(info.channels.max(1));
    let started = Instant::now();
    let mut frames_done = 0u64;
    for piece in samples.chunks(chunk.max(channels)) {
        // The first chunk is due at once; each later one after the previous
        // chunk's duration, like a device delivering a full buffer.
        let frames = piece.len() / channels;
        if !wait_turn(
            pacing,
            started,
            frames_done,
            info.rate,
            frames,
            &callback,
            stop,
        ) {
            break;
        }
        frames_done += frames as u64;
        callback.process(piece, stamp_time(pacing, started, frames_done, info.rate));
    }
    callback.counters().ended.store(true, Ordering::Release);
}

fn drive_live(
    generator: &Generator,
    total: Option<u64>,
    info: &StreamInfo,
    mut callback: CaptureCallback,
    stop: &AtomicBool,
) {
    let chunk = info.rate as u64 / 100;
    let mut buf = vec![0.0f32; chunk as usize];
    let started = Instant::now();
    let mut i = 0u64;
    loop {
        let frames = match total {
            Some(t) if i >= t => break,
            Some(t) => chunk.min(t - i),
            None => chunk,
        };
        let pacing = Pacing::RealTime;
        if !wait_turn(pacing, started, i, info.rate, 0, &callback, stop) {
            break;
        }
        let block = &mut buf[..frames as usize];
        block.fill(0.0);
        (generator.0)(i, block);
        i += frames;
        callback.process(block, Instant::now());
    }
    callback.counters().ended.store(true, Ordering::Release);
}

fn drive_gen<T: AudioSample>(
    gen_: impl Fn(u64) -> f32,
    total: Option<u64>,
    info: &StreamInfo,
    pacing: Pacing,
    mut callback: CaptureCallback,
    stop: &AtomicBool,
) {
    let channels = usize::from(info.channels.max(1));
    let chunk_frames = info.rate as u64 / 100;
    let mut buf: Vec<T> = Vec::with_capacity(chunk_frames as usize * channels);
    let started = Instant::now();
    let mut i = 0u64;
    loop {
        let frames = match total {
            Some(t) if i >= t => break,
            Some(t) => chunk_frames.min(t - i),
            None => chunk_frames,
        };
        if !wait_turn(
            pacing,
            started,
            i,
            info.rate,
            frames as usize,
            &callback,
            stop,
        ) {
            break;
        }
        buf.clear();
        for k in 0..frames {
            let v = T::from_f32(gen_(i + k));
            buf.extend(std::iter::repeat_n(v, channels));
        }
        i += frames;
        callback.process(&buf, stamp_time(pacing, started, i, info.rate));
    }
    callback.counters().ended.store(true, Ordering::Release);
}
