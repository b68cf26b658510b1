//! The device layer (cpal): listing, choosing, opening, and surviving loss.
//!
//! On Linux the PulseAudio host is used whenever a PulseAudio (or
//! pipewire-pulse) server is reachable: cpal's ALSA host stalls in capture
//! through the pulse ALSA plugin, and only the PulseAudio host reports a
//! refused connection as "permission denied". Streams ask for 20 ms buffers
//! where the device allows it, since the default gives audio in ~2 s lumps.
//!
//! Each opened stream lives on a supervisor thread that drops and reopens it
//! when the device is lost. A loss is noticed three ways: the backend's error
//! callback; the device no longer being listed (PulseAudio moves a stream
//! whose device vanished to another device and only tells the client in a
//! notice that cpal ignores, so the supervisor checks the list every 250 ms
//! on that host); and the pipeline worker seeing no audio flow (a killed or
//! suspended stream), which asks for a reopen through a [`DeviceControl`].
//! A reopen tries the chosen device and then the system default, alternating
//! which goes first on each further attempt, until one opens or the worker
//! gives up (see [`crate::watchdog`]).
//!
//! The layer knows neither pipeline: a stream runs whatever
//! [`InputCallback`] or [`OutputCallback`] the caller's `open` function makes
//! for it, and the worker's end of the stream travels to the worker in a
//! [`StreamMessage`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, ErrorKind, SampleFormat, SupportedBufferSize};

use crate::error::{AudioError, message_means_permission_denied};
use crate::sample::AudioSample;
use crate::stream::{
    InputCallback, OutputCallback, PcmFormat, StreamInfo, StreamMessage, with_sample_type,
};
use crate::watchdog::DeviceControl;

const REOPEN_EVERY: Duration = Duration::from_millis(250);
const PRESENCE_EVERY: Duration = Duration::from_millis(250);

/// A device and its default configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable id (persist this to remember the user's choice).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether it is the system default for its direction.
    pub is_default: bool,
    /// Default sample rate, channels and format, if the device reports them.
    pub default_config: Option<DeviceConfig>,
}

/// A stream configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Sample rate.
    pub rate: u32,
    /// Channels.
    pub channels: u16,
    /// Sample format, e.g. "f32".
    pub format: String,
}

/// Input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Microphones.
    Input,
    /// Speakers.
    Output,
}

/// Maps a cpal error to Candor's, telling denial apart from absence.
pub fn map_error(e: &cpal::Error) -> AudioError {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::PermissionDenied => AudioError::PermissionDenied(msg),
        _ if message_means_permission_denied(&msg) => AudioError::PermissionDenied(msg),
        ErrorKind::DeviceNotAvailable => AudioError::NoDevice(msg),
        ErrorKind::HostUnavailable => AudioError::HostUnavailable(msg),
        ErrorKind::UnsupportedConfig => AudioError::UnsupportedFormat(msg),
        _ => AudioError::Backend(msg),
    }
}

/// The audio host Candor uses (see the module docs).
pub fn host() -> Result<cpal::Host, AudioError> {
    #[cfg(target_os = "linux")]
    {
        let pulse_configured = std::env::var_os("PULSE_SERVER").is_some();
        let pulse_socket = std::env::var_os("XDG_RUNTIME_DIR")
            .map(|d| std::path::Path::new(&d).join("pulse/native").exists())
            .unwrap_or(false);
        if pulse_configured || pulse_socket {
            return cpal::host_from_id(cpal::HostId::PulseAudio).map_err(|e| map_error(&e));
        }
    }
    Ok(cpal::default_host())
}

fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|x| x.name().to_string())
        .or_else(|_| d.id().map(|i| i.to_string()))
        .unwrap_or_else(|_| "unknown device".into())
}

fn device_id(d: &cpal::Device) -> String {
    d.id().map(|i| i.to_string()).unwrap_or_default()
}

fn default_config(d: &cpal::Device, dir: Direction) -> Option<DeviceConfig> {
    let c = match dir {
        Direction::Input => d.default_input_config(),
        Direction::Output => d.default_output_config(),
    }
    .ok()?;
    Some(DeviceConfig {
        rate: c.sample_rate(),
        channels: c.channels(),
        format: c.sample_format().to_string(),
    })
}

/// Lists the devices of one direction with their default configurations.
pub fn list_devices(dir: Direction) -> Result<Vec<DeviceInfo>, AudioError> {
    let host = host()?;
    let default_id = match dir {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
    .map(|d| device_id(&d));
    let devices = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    }
    .map_err(|e| map_error(&e))?;
    Ok(devices
        .iter()
        .map(|d| {
            let id = device_id(d);
            DeviceInfo {
                is_default: default_id.as_deref() == Some(id.as_str()),
                name: device_name(d),
                default_config: default_config(d, dir),
                id,
            }
        })
        .collect())
}

/// Finds a device by id or name (exact, then case-insensitive), or the default.
pub fn find_device(dir: Direction, wanted: Option<&str>) -> Result<cpal::Device, AudioError> {
    let host = host()?;
    let Some(wanted) = wanted else {
        return match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
        .ok_or_else(|| AudioError::NoDevice(format!("no default {dir:?} device").to_lowercase()));
    };
    let devices = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    }
    .map_err(|e| map_error(&e))?;
    devices
        .iter()
        .find(|d| device_id(d) == wanted || device_name(d) == wanted)
        .or_else(|| {
            devices
                .iter()
                .find(|d| device_name(d).eq_ignore_ascii_case(wanted))
        })
        .cloned()
        .ok_or_else(|| {
            AudioError::NoDevice(format!("no {dir:?} device named {wanted:?}").to_lowercase())
        })
}

/// The stream configuration Candor asks for: the device's default rate,
/// channels and format, with a 20 ms buffer when the device allows it.
fn stream_config(supported: &cpal::SupportedStreamConfig) -> (cpal::StreamConfig, SampleFormat) {
    let mut config = supported.config();
    let want = supported.sample_rate() / 50;
    config.buffer_size = match supported.buffer_size() {
        SupportedBufferSize::Range { min, max } if (*min..=*max).contains(&want) => {
            BufferSize::Fixed(want)
        }
        _ => BufferSize::Default,
    };
    (config, supported.sample_format())
}

fn is_fatal(kind: ErrorKind) -> bool {
    !matches!(
        kind,
        ErrorKind::Xrun | ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied
    )
}

/// The sample format Candor names `format`, if it handles it.
fn pcm_format(format: SampleFormat) -> Option<PcmFormat> {
    Some(match format {
        SampleFormat::F32 => PcmFormat::F32,
        SampleFormat::F64 => PcmFormat::F64,
        SampleFormat::I8 => PcmFormat::I8,
        SampleFormat::I16 => PcmFormat::I16,
        SampleFormat::I32 => PcmFormat::I32,
        SampleFormat::U8 => PcmFormat::U8,
        SampleFormat::U16 => PcmFormat::U16,
        SampleFormat::U32 => PcmFormat::U32,
        _ => return None,
    })
}

/// An open stream, what it delivers, its device's id, and the worker's end
/// of it (handed over once the stream is accepted).
type Opened<W> = (cpal::Stream, StreamInfo, String, W);

/// How long opening and starting a stream may take. cpal's PulseAudio host
/// waits, without a bound, for a record stream's first data before `play`
/// returns, so a suspended source would otherwise hang the caller.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long cpal may wait for the device while building a stream.
const BUILD_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a stream's backend errors go: the supervisor's channel.
type ErrorTx = Sender<cpal::Error>;

/// A real-time body and the direction it runs in: builds its cpal stream
/// for the device's sample type `T`.
pub(crate) trait DeviceCallback: Send + 'static {
    /// Which devices it runs on.
    const DIRECTION: Direction;
    /// Builds the stream, moving the body into cpal's callback.
    fn build<T: cpal::SizedSample + AudioSample>(
        self,
        device: &cpal::Device,
        config: cpal::StreamConfig,
        errors: ErrorTx,
    ) -> Result<cpal::Stream, cpal::Error>;
}

/// cpal's error callback: hands each error to the supervisor.
fn forward(errors: ErrorTx) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e| {
        let _ = errors.send(e);
    }
}

/// A capture body on an input device.
pub(crate) struct Input<C>(pub(crate) C);

/// A playback body on an output device.
pub(crate) struct Output<C>(pub(crate) C);

impl<C: InputCallback> DeviceCallback for Input<C> {
    const DIRECTION: Direction = Direction::Input;
    fn build<T: cpal::SizedSample + AudioSample>(
        self,
        device: &cpal::Device,
        config: cpal::StreamConfig,
        errors: ErrorTx,
    ) -> Result<cpal::Stream, cpal::Error> {
        let mut body = self.0;
        let mut raised = false;
        let data = move |data: &[T], info: &cpal::InputCallbackInfo| {
            if !std::mem::replace(&mut raised, true) {
                crate::priority::raise_current_thread();
            }
            let now = Instant::now();
            let ts = info.timestamp();
            // The device's own account of how long ago the data was
            // captured (cpal's PulseAudio host reports the source latency).
            let latency = ts.callback.duration_since(ts.capture);
            body.input(data, now.checked_sub(latency).unwrap_or(now));
        };
        device.build_input_stream(config, data, forward(errors), Some(BUILD_TIMEOUT))
    }
}

impl<C: OutputCallback> DeviceCallback for Output<C> {
    const DIRECTION: Direction = Direction::Output;
    fn build<T: cpal::SizedSample + AudioSample>(
        self,
        device: &cpal::Device,
        config: cpal::StreamConfig,
        errors: ErrorTx,
    ) -> Result<cpal::Stream, cpal::Error> {
        let mut body = self.0;
        let mut raised = false;
        let data = move |out: &mut [T], info: &cpal::OutputCallbackInfo| {
            if !std::mem::replace(&mut raised, true) {
                crate::priority::raise_current_thread();
            }
            let ts = info.timestamp();
            // How long until what is written now is heard (cpal's
            // PulseAudio host reports the sink latency).
            let latency = ts.playback.duration_since(ts.callback);
            body.output(out, Instant::now() + latency);
        };
        device.build_output_stream(config, data, forward(errors), Some(BUILD_TIMEOUT))
    }
}

/// Opens the device `wanted` (or the default) of `B`'s direction, runs the
/// body that `make` creates for it, and starts the stream.
fn open_stream<B: DeviceCallback, W>(
    wanted: Option<&str>,
    make: &dyn Fn(&StreamInfo) -> (B, W),
    errors: ErrorTx,
) -> Result<Opened<W>, AudioError> {
    let device = find_device(B::DIRECTION, wanted)?;
    let supported = match B::DIRECTION {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(|e| map_error(&e))?;
    let (config, format) = stream_config(&supported);
    let format =
        pcm_format(format).ok_or_else(|| AudioError::UnsupportedFormat(format.to_string()))?;
    let info = StreamInfo {
        name: device_name(&device),
        rate: config.sample_rate,
        channels: config.channels,
        format,
    };
    let (body, end) = make(&info);
    let stream = with_sample_type!(format, T => body.build::<T>(&device, config, errors))
        .map_err(|e| map_error(&e))?;
    stream.play().map_err(|e| map_error(&e))?;
    Ok((stream, info, device_id(&device), end))
}

/// A host to check device presence with, on hosts where a vanished device
/// can go unreported (PulseAudio); listing is a cheap server query there.
fn presence_host() -> Option<cpal::Host> {
    let host = host().ok()?;
    #[cfg(target_os = "linux")]
    if host.id() == cpal::HostId::PulseAudio {
        return Some(host);
    }
    let _ = host;
    None
}

/// Whether the device `id` is still listed (true when the list fails: the
/// flow watch covers that case).
fn still_present(host: &cpal::Host, dir: Direction, id: &str) -> bool {
    let devices = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    match devices {
        Ok(list) => list.iter().any(|d| device_id(d) == id),
        Err(_) => true,
    }
}

/// The devices a reopen tries, in order.
fn candidates(wanted: Option<&str>, attempt: u64) -> Vec<Option<&str>> {
    match wanted {
        None => vec![None],
        Some(w) if attempt.is_multiple_of(2) => vec![Some(w), None],
        Some(w) => vec![None, Some(w)],
    }
}

/// Opens a stream on the device named (or the default), sending its errors
/// to the channel given.
type OpenFn<W> = dyn Fn(Option<&str>, ErrorTx) -> Result<Opened<W>, AudioError> + Send + Sync;

/// Runs `open` on a helper thread and waits at most [`OPEN_TIMEOUT`]. A
/// helper still blocked then is left behind; if it ever finishes, its stream
/// is dropped unused.
fn open_bounded<W: Send + 'static>(
    open: &Arc<OpenFn<W>>,
    wanted: Option<&str>,
    err_tx: ErrorTx,
) -> Result<Opened<W>, AudioError> {
    let (tx, rx) = mpsc::channel();
    let (open, wanted) = (open.clone(), wanted.map(str::to_owned));
    std::thread::Builder::new()
        .name("candor-device-open".into())
        .spawn(move || {
            let _ = tx.send(open(wanted.as_deref(), err_tx));
        })?;
    rx.recv_timeout(OPEN_TIMEOUT)
        .unwrap_or(Err(AudioError::StartTimeout(OPEN_TIMEOUT)))
}

/// How long closing a stream may take before the supervisor goes on
/// without it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Closes the stream in `current`, if any, on a helper thread, waiting at
/// most [`CLOSE_TIMEOUT`]. cpal's PulseAudio host joins the stream's thread
/// when a stream is dropped, and that thread never ends once the server
/// killed the stream (its device vanished and no other could take it): the
/// supervisor must still reopen, and the pipeline still stop. A helper still
/// blocked then is left behind.
fn close(current: &mut Option<(cpal::Stream, StreamInfo, String)>) {
    let Some((stream, ..)) = current.take() else {
        return;
    };
    let (done_tx, done) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("candor-device-close".into())
        .spawn(move || {
            drop(stream);
            let _ = done_tx.send(());
        });
    if spawned.is_ok() {
        let _ = done.recv_timeout(CLOSE_TIMEOUT);
    }
}

/// Opens a device of `dir` and keeps it running on its own thread (see the
/// module docs), telling the worker through `tx`; the first open's result
/// is returned.
fn supervise<W: Send + 'static>(
    dir: Direction,
    wanted: Option<String>,
    stop: Arc<AtomicBool>,
    control: Arc<DeviceControl>,
    tx: Sender<StreamMessage<W>>,
    open: Arc<OpenFn<W>>,
) -> Result<JoinHandle<()>, AudioError> {
    let name = match dir {
        Direction::Input => "candor-input-device",
        Direction::Output => "candor-output-device",
    };
    let (first_tx, first_rx) = mpsc::sync_channel::<Result<(), AudioError>>(1);
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let (err_tx, err_rx): (Sender<cpal::Error>, Receiver<cpal::Error>) = mpsc::channel();
            let accept = |(stream, info, id, end): Opened<W>| {
                let _ = tx.send(StreamMessage::Opened(end, info.clone()));
                (stream, info, id)
            };
            let mut current = match open_bounded(&open, wanted.as_deref(), err_tx.clone()) {
                Ok(o) => {
                    let o = accept(o);
                    let _ = first_tx.send(Ok(()));
                    Some(o)
                }
                Err(e) => {
                    let _ = first_tx.send(Err(e));
                    return;
                }
            };
            let watcher = presence_host();
            let mut seen_requests = control.requests();
            let mut attempt = 0u64;
            let mut next_try = Instant::now();
            let mut next_check = Instant::now() + PRESENCE_EVERY;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(e) = err_rx.recv_timeout(Duration::from_millis(20))
                    && current.is_some()
                    && is_fatal(e.kind())
                {
                    let _ = tx.send(StreamMessage::DeviceLost(AudioError::DeviceLost(
                        e.to_string(),
                    )));
                    close(&mut current);
                    attempt = 0;
                    next_try = Instant::now();
                }
                if let Some(a) = control.take_request(&mut seen_requests) {
                    // The worker saw the audio stop; it reported the loss.
                    close(&mut current);
                    attempt = a;
                    next_try = Instant::now();
                }
                let now = Instant::now();
                if now >= next_check {
                    next_check = now + PRESENCE_EVERY;
                    if let (Some(host), Some((_, info, id))) = (watcher.as_ref(), current.as_ref())
                        && !still_present(host, dir, id)
                    {
                        let msg = format!("{} is no longer available", info.name);
                        let _ = tx.send(StreamMessage::DeviceLost(AudioError::DeviceLost(msg)));
                        close(&mut current);
                        attempt = 0;
                        next_try = now;
                    }
                }
                if current.is_none() && Instant::now() >= next_try {
                    // Drop errors of the dead stream before opening anew.
                    while err_rx.try_recv().is_ok() {}
                    for candidate in candidates(wanted.as_deref(), attempt) {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Ok(o) = open_bounded(&open, candidate, err_tx.clone()) {
                            current = Some(accept(o));
                            break;
                        }
                    }
                    if current.is_none() {
                        attempt += 1;
                        next_try = Instant::now() + REOPEN_EVERY;
                    }
                }
            }
            close(&mut current);
        })?;
    match first_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(AudioError::Stopped),
    }
}

/// Opens a device of `B`'s direction (`device`, else the default) and
/// keeps it running: each stream opened runs the body `make` returns for it
/// (an [`Input`] or [`Output`] callback), and the worker's end goes to `tx`.
/// Used by `SourceSpec::Device` and `SinkSpec::Device`.
pub(crate) fn start<B: DeviceCallback, W: Send + 'static>(
    device: Option<String>,
    make: impl Fn(&StreamInfo) -> (B, W) + Send + Sync + 'static,
    tx: Sender<StreamMessage<W>>,
    stop: Arc<AtomicBool>,
    control: Arc<DeviceControl>,
) -> Result<JoinHandle<()>, AudioError> {
    let open: Arc<OpenFn<W>> = Arc::new(move |wanted, errors| open_stream(wanted, &make, errors));
    supervise(B::DIRECTION, device, stop, control, tx, open)
}
