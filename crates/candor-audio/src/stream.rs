//! The vocabulary every stream shares, whatever its direction or driver.
//!
//! A stream is driven by a device (cpal), a file, a generator or a clocked
//! stand-in for a device; its pipeline worker sees it only through the types
//! here: what it is ([`StreamInfo`], [`PcmFormat`]), the messages its driver
//! sends ([`StreamMessage`]), and the real-time bodies a driver runs with
//! each buffer ([`InputCallback`], [`OutputCallback`]). Keeping them in this
//! leaf module is what lets the device layer serve capture and playback
//! without depending on either.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::error::AudioError;
use crate::sample::AudioSample;

/// An interleaved PCM sample format, as a device, a file or a generator
/// delivers it (the pipelines themselves work on mono f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PcmFormat {
    /// 32-bit float.
    #[default]
    F32,
    /// 64-bit float.
    F64,
    /// Signed 8-bit.
    I8,
    /// Signed 16-bit.
    I16,
    /// Signed 32-bit.
    I32,
    /// Unsigned 8-bit.
    U8,
    /// Unsigned 16-bit.
    U16,
    /// Unsigned 32-bit.
    U32,
}

impl PcmFormat {
    /// The short name: "f32", "i16", …
    pub fn name(self) -> &'static str {
        match self {
            PcmFormat::F32 => "f32",
            PcmFormat::F64 => "f64",
            PcmFormat::I8 => "i8",
            PcmFormat::I16 => "i16",
            PcmFormat::I32 => "i32",
            PcmFormat::U8 => "u8",
            PcmFormat::U16 => "u16",
            PcmFormat::U32 => "u32",
        }
    }
}

impl std::fmt::Display for PcmFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs `$body` with `$t` bound to the Rust sample type of the
/// [`PcmFormat`] `$format`: the one place a runtime format becomes a type.
macro_rules! with_sample_type {
    ($format:expr, $t:ident => $body:expr) => {
        match $format {
            $crate::stream::PcmFormat::F32 => {
                type $t = f32;
                $body
            }
            $crate::stream::PcmFormat::F64 => {
                type $t = f64;
                $body
            }
            $crate::stream::PcmFormat::I8 => {
                type $t = i8;
                $body
            }
            $crate::stream::PcmFormat::I16 => {
                type $t = i16;
                $body
            }
            $crate::stream::PcmFormat::I32 => {
                type $t = i32;
                $body
            }
            $crate::stream::PcmFormat::U8 => {
                type $t = u8;
                $body
            }
            $crate::stream::PcmFormat::U16 => {
                type $t = u16;
                $body
            }
            $crate::stream::PcmFormat::U32 => {
                type $t = u32;
                $body
            }
        }
    };
}
pub(crate) use with_sample_type;

/// What a stream is, as reported when it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Device name, file path or generator description.
    pub name: String,
    /// Sample rate.
    pub rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Sample format.
    pub format: PcmFormat,
}

/// From a stream's driver to its pipeline worker. `W` is the worker's end
/// of the stream (a capture ring to read, a playback ring to write).
#[derive(Debug)]
pub enum StreamMessage<W> {
    /// A stream opened (first open, or a reopen after a loss).
    Opened(W, StreamInfo),
    /// The device was lost; the driver is opening the chosen device, else the
    /// default one, instead.
    DeviceLost(AudioError),
    /// The driver failed for good.
    Failed(AudioError),
}

/// The real-time body of a capture stream: what an input device's callback
/// (or a file or generator standing in for one) runs with each buffer.
/// Implementations never allocate, lock or block.
pub trait InputCallback: Send + 'static {
    /// Takes interleaved `data` whose last frame was captured at `now`
    /// (the callback's time less the input latency a device reports).
    fn input<T: AudioSample>(&mut self, data: &[T], now: Instant);
}

/// The real-time body of a playback stream: what an output device's callback
/// (or a clocked sink standing in for one) runs with each buffer.
/// Implementations never allocate, lock or block.
pub trait OutputCallback: Send + 'static {
    /// Fills interleaved `out` with what is played next; its first frame
    /// leaves the loudspeaker at `heard_at` (the callback's time plus the
    /// output latency a device reports).
    fn output<T: AudioSample>(&mut self, out: &mut [T], heard_at: Instant);
}

/// A shared function over 10 ms blocks of mono audio, called on a driver
/// thread with the index of the block's first sample. Two shapes exist:
/// [`Generator`] fills a block (a simulated microphone), [`Tap`] receives
/// one (a simulated loudspeaker).
pub struct BlockFn<F: ?Sized>(pub Arc<F>);

/// The function behind a [`Generator`].
pub type GeneratorFn = dyn Fn(u64, &mut [f32]) + Send + Sync;
/// The function behind a [`Tap`].
pub type TapFn = dyn Fn(u64, &[f32]) + Send + Sync;

/// The signal of a live capture source: fills each 10 ms block.
pub type Generator = BlockFn<GeneratorFn>;
/// The receiver of a tap playback sink: gets each 10 ms block played.
pub type Tap = BlockFn<TapFn>;

impl Generator {
    /// Wraps `f`, called with the index of the block's first sample and the
    /// block to fill.
    pub fn new(f: impl Fn(u64, &mut [f32]) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl Tap {
    /// Wraps `f`, called with the index of the block's first sample and the
    /// block played.
    pub fn new(f: impl Fn(u64, &[f32]) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl<F: ?Sized> Clone for BlockFn<F> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<F: ?Sized> std::fmt::Debug for BlockFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockFn")
    }
}

/// Two handles are equal when they wrap the same function.
impl<F: ?Sized> PartialEq for BlockFn<F> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The threads of a running pipeline: the driver that owns its stream and
/// the worker that processes it, stopped together through one flag.
#[derive(Debug)]
pub(crate) struct PipelineThreads {
    stop: Arc<AtomicBool>,
    driver: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
}

impl PipelineThreads {
    pub(crate) fn new(
        stop: Arc<AtomicBool>,
        driver: JoinHandle<()>,
        worker: JoinHandle<()>,
    ) -> Self {
        Self {
            stop,
            driver: Some(driver),
            worker: Some(worker),
        }
    }

    /// Waits for the worker to end by itself (a finite source's end).
    pub(crate) fn join_worker(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }

    /// Stops both threads and waits for them.
    pub(crate) fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.join_worker();
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

impl Drop for PipelineThreads {
    fn drop(&mut self) {
        self.shutdown();
    }
}
