//! Where playback goes: an output device, or a stand-in clocked like one (a
//! WAV file, a tap, nothing).
//!
//! A device is opened and kept alive by [`crate::devices`]; a clocked sink
//! runs the same [`PlaybackCallback`](super::callback::PlaybackCallback) on
//! its own thread, 10 ms every 10 ms, at a device callback's priority
//! ([`crate::priority`]). Either sends each new output ring to the worker
//! as a [`SinkMessage`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::callback::{PlaybackShared, output_stream};
use super::worker::SinkMessage;
use crate::error::AudioError;
use crate::stream::{PcmFormat, StreamInfo, StreamMessage, Tap};
use crate::watchdog::DeviceControl;
use crate::wav::WavWriter;

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

/// A sink's driver thread, and for a device the reopen control its worker
/// uses when the device stops taking audio.
pub(super) type SinkDriver = (JoinHandle<()>, Option<Arc<DeviceControl>>);

/// Starts `sink`, sending its ring(s) to `tx`.
pub(super) fn start_sink(
    sink: &SinkSpec,
    shared: Arc<PlaybackShared>,
    tx: Sender<SinkMessage>,
    stop: Arc<AtomicBool>,
) -> Result<SinkDriver, AudioError> {
    match sink {
        #[cfg(feature = "devices")]
        SinkSpec::Device { device } => {
            let control = Arc::new(DeviceControl::default());
            let open = move |info: &StreamInfo| {
                let (writer, callback) = output_stream(info.rate, info.channels, shared.clone());
                (crate::devices::Output(callback), writer)
            };
            let handle = crate::devices::start(device.clone(), open, tx, stop, control.clone())?;
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
    let (writer, mut callback) = output_stream(rate, channels, shared);
    let info = StreamInfo {
        name,
        rate,
        channels,
        format: PcmFormat::F32,
    };
    let _ = tx.send(StreamMessage::Opened(writer, info));
    let handle = std::thread::Builder::new()
        .name("candor-clocked-sink".into())
        .spawn(move || {
            // It stands in for a device's callback thread, which runs at a
            // raised priority (see `crate::devices`): late on a busy machine,
            // it would take several blocks at once and drain the ring the
            // worker keeps ~30 ms ahead, and what it "plays" would move
            // against the stamps the echo canceller lines its reference up by.
            crate::priority::raise_current_thread();
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
                // A clocked sink "plays" what it is given at once.
                callback.process(&mut buf, Instant::now());
                match &mut out {
                    ClockedOut::Wav(w) => {
                        if let Err(e) = w.write(&buf) {
                            let _ = tx.send(StreamMessage::Failed(e));
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

#[cfg(target_os = "linux")]
#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::priority::test_support::{raised_and_not, scheduling};

    #[test]
    fn a_clocked_sink_plays_like_a_device_callback() {
        let (raised, _) = raised_and_not();
        let (seen_tx, seen) = mpsc::channel();
        let tap = Tap::new(move |_, _| {
            let _ = seen_tx.send(scheduling());
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, _rx) = mpsc::channel();
        let shared = Arc::new(PlaybackShared::default());
        let (thread, _) = start_sink(
            &SinkSpec::Tap { rate: 48_000, tap },
            shared,
            tx,
            stop.clone(),
        )
        .unwrap();
        let got = seen
            .recv_timeout(Duration::from_secs(5))
            .expect("a block played");
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
        crate::priority::serve_pending();
        assert_eq!(got, raised);
    }
}
