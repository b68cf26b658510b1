//! Where capture audio comes from: a device, a WAV file, a tone, a live
//! signal, fed audio, or silence.
//!
//! Every source drives the same [`CaptureCallback`] a device uses, so the
//! CLI, the tests and the app run one pipeline. A device is opened and kept
//! alive by [`crate::devices`]; the others run on a thread of their own,
//! clocked by [`super::pacing`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use super::callback::{CaptureCallback, CaptureRing, capture_ring};
use super::feed::Feed;
use super::pacing::{self, Pacing};
use super::worker::SourceMessage;
use crate::error::AudioError;
use crate::sample::{AudioSample, ChannelMode};
use crate::stream::{Generator, PcmFormat, StreamInfo, StreamMessage, with_sample_type};
use crate::watchdog::DeviceControl;
use crate::wav::{WavReader, WavSamples};

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
    /// Audio the program pushes (see [`Feed`]), silence in
    /// between; endless, real-time paced, mono.
    Feed {
        /// The handle whose pushed samples are played.
        feed: Feed,
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
    let generated = match spec {
        #[cfg(feature = "devices")]
        SourceSpec::Device { device } => {
            let control = Arc::new(DeviceControl::default());
            let open = move |info: &StreamInfo| {
                let (callback, ring) = capture_ring(info.rate, info.channels, channel, &info.name);
                (crate::devices::Input(callback), ring)
            };
            let handle = crate::devices::start(device.clone(), open, tx, stop, control.clone())?;
            return Ok((handle, Some(control)));
        }
        SourceSpec::Wav { path, pacing } => wav_source(path, *pacing)?,
        SourceSpec::Tone {
            frequency,
            amplitude,
            rate,
            channels,
            format,
            duration,
            pacing,
        } => tone_source(
            *frequency, *amplitude, *rate, *channels, *format, *duration, *pacing,
        ),
        SourceSpec::Live {
            rate,
            generator,
            duration,
        } => live_source(*rate, generator.clone(), *duration),
        SourceSpec::Feed { feed } => feed_source(feed.clone()),
        SourceSpec::Silence {
            rate,
            duration,
            pacing,
        } => {
            let info = mono_f32("silence", *rate);
            let total = duration.map(|d| frames_in(d, *rate));
            let pacing = *pacing;
            Generated::new(info, move |info, callback, stop| {
                pacing::drive::<f32>(info, pacing, total, callback, stop, |_, frames, chunk| {
                    chunk.resize(frames, 0.0);
                });
            })
        }
    };
    Ok((generated.start(channel, tx, stop)?, None))
}

/// The body of a source's thread: drives the callback until the source
/// ends or the flag is set.
type SourceBody = dyn FnOnce(&StreamInfo, CaptureCallback, &AtomicBool) + Send;

/// A source computed or read on its own thread: what it delivers, and the
/// thread's body.
struct Generated {
    info: StreamInfo,
    run: Box<SourceBody>,
}

impl Generated {
    fn new(
        info: StreamInfo,
        run: impl FnOnce(&StreamInfo, CaptureCallback, &AtomicBool) + Send + 'static,
    ) -> Self {
        Self {
            info,
            run: Box::new(run),
        }
    }

    /// Hands the ring to the worker and starts the thread.
    fn start(
        self,
        channel: ChannelMode,
        tx: Sender<SourceMessage>,
        stop: Arc<AtomicBool>,
    ) -> Result<JoinHandle<()>, AudioError> {
        let Self { info, run } = self;
        let (callback, ring): (CaptureCallback, CaptureRing) =
            capture_ring(info.rate, info.channels, channel, &info.name);
        let _ = tx.send(StreamMessage::Opened(ring, info.clone()));
        Ok(std::thread::Builder::new()
            .name("candor-source".into())
            .spawn(move || run(&info, callback, &stop))?)
    }
}

fn mono_f32(name: &str, rate: u32) -> StreamInfo {
    StreamInfo {
        name: name.into(),
        rate,
        channels: 1,
        format: PcmFormat::F32,
    }
}

fn frames_in(duration: Duration, rate: u32) -> u64 {
    (duration.as_secs_f64() * f64::from(rate)).round() as u64
}

fn wav_source(path: &std::path::Path, pacing: Pacing) -> Result<Generated, AudioError> {
    let reader = WavReader::open(path)?;
    let info = StreamInfo {
        name: path.display().to_string(),
        rate: reader.rate(),
        channels: reader.channels(),
        format: reader.format(),
    };
    Ok(Generated::new(
        info,
        move |info, callback, stop| match reader.into_samples() {
            WavSamples::I16(s) => play_slice(&s, info, pacing, callback, stop),
            WavSamples::I32(s) => play_slice(&s, info, pacing, callback, stop),
            WavSamples::F32(s) => play_slice(&s, info, pacing, callback, stop),
        },
    ))
}

/// Delivers the interleaved `samples` of a file.
fn play_slice<T: AudioSample>(
    samples: &[T],
    info: &StreamInfo,
    pacing: Pacing,
    callback: CaptureCallback,
    stop: &AtomicBool,
) {
    let channels = usize::from(info.channels.max(1));
    let total = (samples.len() / channels) as u64;
    pacing::drive(
        info,
        pacing,
        Some(total),
        callback,
        stop,
        |first, frames, chunk| {
            let at = first as usize * channels;
            chunk.extend_from_slice(&samples[at..at + frames * channels]);
        },
    );
}

fn tone_source(
    frequency: f32,
    amplitude: f32,
    rate: u32,
    channels: u16,
    format: PcmFormat,
    duration: Duration,
    pacing: Pacing,
) -> Generated {
    let info = StreamInfo {
        name: format!("tone {frequency} Hz"),
        rate,
        channels,
        format,
    };
    let total = frames_in(duration, rate);
    Generated::new(info, move |info, callback, stop| {
        let sample = move |i: u64| {
            // Phase from the integer index keeps the tone exact over hours.
            let cycles = (i as f64 * f64::from(frequency) / f64::from(rate)).fract();
            (f64::from(amplitude) * (2.0 * std::f64::consts::PI * cycles).sin()) as f32
        };
        let channels = usize::from(channels.max(1));
        with_sample_type!(format, T => pacing::drive::<T>(
            info,
            pacing,
            Some(total),
            callback,
            stop,
            |first, frames, chunk| {
                for i in first..first + frames as u64 {
                    chunk.extend(std::iter::repeat_n(T::from_f32(sample(i)), channels));
                }
            },
        ))
    })
}

fn live_source(rate: u32, generator: Generator, duration: Option<Duration>) -> Generated {
    let total = duration.map(|d| frames_in(d, rate));
    Generated::new(
        mono_f32("live signal", rate),
        move |info, callback, stop| {
            pacing::drive(
                info,
                Pacing::RealTime,
                total,
                callback,
                stop,
                |first, frames, chunk| {
                    chunk.resize(frames, 0.0);
                    (generator.0)(first, chunk);
                },
            );
        },
    )
}

fn feed_source(feed: Feed) -> Generated {
    Generated::new(
        mono_f32("fed audio", feed.rate()),
        move |info, callback, stop| {
            feed.drive(info, callback, stop);
        },
    )
}
