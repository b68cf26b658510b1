//! A private PulseAudio server with a virtual microphone and speaker, for
//! tests of the real device path on machines without a sound card (CI).
//!
//! [`PrivatePulse::start`] runs `pulseaudio` in a fresh temporary directory
//! with two null sinks: `virtmic`, whose monitor is the default source (what
//! is played into it is what the app "hears"), and `speaker`, the default
//! sink (its monitor records what the app played).
//!
//! Both sinks are loaded with `norewinds=1`, which makes a null sink render
//! in 50 ms blocks like a sound card's period. By default a null sink renders
//! up to 2 s ahead while idle and relies on a rewind when a stream starts;
//! but it caps that rewind at the sink latency last requested, and cpal
//! creates its streams corked (with adjust-latency: the server logs "Received
//! latency=0.50 ms") and uncorks them afterwards, so the uncork rewound 96
//! bytes. A playback stream then sat behind up to 2 s of already-rendered
//! silence: its audio reached the monitor that late, and a test that stopped
//! after the tone's length heard only the tone's start (about 0.9 s of 2 s).
//!
//! `start` points this process at that server (PULSE_SERVER,
//! XDG_RUNTIME_DIR, HOME) before any cpal use, and kills the server by PID
//! when dropped. Only one exists at a time per
//! process: `start` waits for the previous one to be dropped, because the
//! environment is process-wide.
//!
//! [`PrivatePulse::deny_access`] points the process at a socket that answers
//! the client's first (AUTH) request with the PulseAudio protocol error
//! "access denied" (PA_ERR_ACCESS), exactly what a real server sends to a
//! client it refuses (e.g. a sandboxed app without microphone access). A real
//! pulseaudio cannot be made to refuse here: it trusts any client of its own
//! UID, and tests run as that UID (often root).
//!
//! Needs the `pulseaudio` and `pulseaudio-utils` packages; `start` returns a
//! clear error (tests `expect` it, so they fail, never skip) without them.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::AudioError;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const VARS: [&str; 4] = ["PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME", "PULSE_COOKIE"];

/// The rate of the virtual devices.
pub const RATE: u32 = 48_000;

/// A running private PulseAudio server.
#[derive(Debug)]
pub struct PrivatePulse {
    daemon: Child,
    dir: tempfile::TempDir,
    refuser_stop: Arc<AtomicBool>,
    refuser: Option<JoinHandle<()>>,
    saved_env: Vec<(&'static str, Option<OsString>)>,
    _turn: MutexGuard<'static, ()>,
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: Option<&std::ffi::OsStr>) {
    // SAFETY: std's own env functions are synchronised with each other;
    // these variables are set only here, while ONE_AT_A_TIME is held and
    // before the audio code that reads them runs, and no C code in this
    // crate reads them concurrently.
    unsafe {
        match value {
            Some(v) => std::env::set_var(key, v),
            None => std::env::remove_var(key),
        }
    }
}

fn tool_missing(tool: &str) -> AudioError {
    AudioError::Backend(format!(
        "`{tool}` is not installed: the virtual device tests need the \
         `pulseaudio` and `pulseaudio-utils` packages (apt-get install pulseaudio pulseaudio-utils)"
    ))
}

fn check_tool(tool: &str) -> Result<(), AudioError> {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|_| tool_missing(tool))
        .map(|_| ())
}

impl PrivatePulse {
    /// Starts the server and points this process at it.
    pub fn start() -> Result<Self, AudioError> {
        for tool in ["pulseaudio", "pactl", "paplay", "parecord"] {
            check_tool(tool)?;
        }
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new().prefix("candor-pulse-").tempdir()?;
        let root = dir.path();
        let (home, xdg, pulse) = (root.join("home"), root.join("xdg"), root.join("pulse"));
        for d in [&home, &xdg, &pulse] {
            std::fs::create_dir_all(d)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700))?;
        }
        let script = format!(
            "load-module module-native-protocol-unix auth-anonymous=1 socket={native}\n\
             load-module module-null-sink sink_name=virtmic rate={RATE} channels=1 norewinds=1 sink_properties=device.description=VirtMic\n\
             load-module module-null-sink sink_name=speaker rate={RATE} channels=2 norewinds=1 sink_properties=device.description=Speaker\n\
             set-default-source virtmic.monitor\n\
             set-default-sink speaker\n",
            native = pulse.join("native").display(),
        );
        let pa = pulse.join("candor.pa");
        std::fs::write(&pa, script)?;
        let log = std::fs::File::create(root.join("pulse.log"))?;
        let saved_env = VARS.iter().map(|k| (*k, std::env::var_os(k))).collect();
        set_env("HOME", Some(home.as_os_str()));
        set_env("XDG_RUNTIME_DIR", Some(xdg.as_os_str()));
        set_env(
            "PULSE_SERVER",
            Some(format!("unix:{}", pulse.join("native").display()).as_ref()),
        );
        set_env("PULSE_COOKIE", None);
        let daemon = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(&pa)
            .args([
                "--exit-idle-time=-1",
                "--daemonize=no",
                "--use-pid-file=no",
                "--log-target=stderr",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|_| tool_missing("pulseaudio"))?;
        let refuser_stop = Arc::new(AtomicBool::new(false));
        let refuser = Some(spawn_refuser(
            &pulse.join("refusing"),
            refuser_stop.clone(),
        )?);
        let me = Self {
            daemon,
            dir,
            refuser_stop,
            refuser,
            saved_env,
            _turn: turn,
        };
        me.wait_ready(Duration::from_secs(15))?;
        Ok(me)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), AudioError> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let ok = Command::new("pactl")
                .arg("info")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join("pulse.log")).unwrap_or_default();
        Err(AudioError::HostUnavailable(format!(
            "private pulseaudio did not come up within {timeout:?}:\n{log}"
        )))
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.daemon.id()
    }

    /// The temporary directory holding the server's socket, home and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Plays a WAV file into the virtual microphone and waits until done.
    pub fn play_into_mic(&self, wav: &Path) -> Result<(), AudioError> {
        let status = Command::new("paplay")
            .arg("--device=virtmic")
            .arg(wav)
            .status()
            .map_err(|_| tool_missing("paplay"))?;
        if status.success() {
            Ok(())
        } else {
            Err(AudioError::Backend(format!("paplay failed: {status}")))
        }
    }

    /// Starts recording the virtual speaker (what the app plays), as mono
    /// f32 at [`RATE`].
    pub fn record_speaker(&self) -> Result<Recording, AudioError> {
        self.record("speaker.monitor")
    }

    /// Starts recording the PulseAudio source `source`, as mono f32 at
    /// [`RATE`].
    pub fn record(&self, source: &str) -> Result<Recording, AudioError> {
        let mut child = Command::new("parecord")
            .arg(format!("--device={source}"))
            .args(["--raw", "--format=float32le", "--channels=1"])
            .arg(format!("--rate={RATE}"))
            .arg("--latency-msec=20")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| tool_missing("parecord"))?;
        let mut out = child.stdout.take().ok_or(AudioError::Stopped)?;
        let received = Arc::new(AtomicUsize::new(0));
        let count = received.clone();
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                bytes.extend_from_slice(&buf[..n]);
                count.store(bytes.len() / 4, Ordering::Release);
            }
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        });
        Ok(Recording {
            child,
            reader: Some(reader),
            received,
        })
    }

    /// Loops the speaker's monitor into the virtual microphone at 0 dB
    /// (`module-loopback`, with its own rate adaptation), as laptop
    /// speakers next to the microphone would; `latency` is the loopback's
    /// target latency. Returns the module's index.
    pub fn loop_speaker_into_mic(&self, latency: Duration) -> Result<u32, AudioError> {
        let index = self.pactl(&[
            "load-module",
            "module-loopback",
            "source=speaker.monitor",
            "sink=virtmic",
            &format!("latency_msec={}", latency.as_millis()),
            "source_dont_move=true",
            "sink_dont_move=true",
        ])?;
        index
            .trim()
            .parse()
            .map_err(|_| AudioError::Backend(format!("module-loopback: {index}")))
    }

    /// Runs `pactl` with `args` against this server.
    pub fn pactl(&self, args: &[&str]) -> Result<String, AudioError> {
        let out = Command::new("pactl")
            .args(args)
            .output()
            .map_err(|_| tool_missing("pactl"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(AudioError::Backend(format!(
                "pactl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Unloads the module of the null sink `sink_name` (`virtmic` or
    /// `speaker`): the sink and its monitor vanish, as when a USB headset is
    /// unplugged.
    pub fn unload_sink(&self, sink_name: &str) -> Result<(), AudioError> {
        let wanted = format!("sink_name={sink_name} ");
        let modules = self.pactl(&["list", "short", "modules"])?;
        let index = modules
            .lines()
            .find(|l| l.contains("module-null-sink") && l.contains(&wanted))
            .and_then(|l| l.split_whitespace().next())
            .ok_or_else(|| AudioError::NoDevice(format!("no null sink {sink_name}")))?
            .to_string();
        self.pactl(&["unload-module", &index]).map(|_| ())
    }

    /// Points this process at a server socket that refuses every client
    /// with "access denied", until the guard is dropped. Opening a device
    /// meanwhile must fail with [`AudioError::PermissionDenied`].
    pub fn deny_access(&self) -> DenyGuard<'_> {
        let refusing = self.dir.path().join("pulse/refusing");
        set_env(
            "PULSE_SERVER",
            Some(format!("unix:{}", refusing.display()).as_ref()),
        );
        DenyGuard { pulse: self }
    }

    /// A socket for *another process* (e.g. the desktop app under test) that
    /// refuses every client with "access denied" until [`Gate::open`], and
    /// from then on connects clients through to this server: the microphone
    /// permission is denied, then granted, without restarting the app.
    pub fn gate(&self) -> Result<Gate, AudioError> {
        let path = self.dir.path().join(format!(
            "pulse/gate-{}",
            GATES.fetch_add(1, Ordering::Relaxed)
        ));
        let open = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = spawn_gatekeeper(
            &path,
            stop.clone(),
            Some((open.clone(), self.dir.path().join("pulse/native"))),
        )?;
        Ok(Gate {
            server: format!("unix:{}", path.display()),
            open,
            stop,
            thread: Some(thread),
        })
    }

    fn native_server(&self) -> String {
        format!("unix:{}", self.dir.path().join("pulse/native").display())
    }

    /// Path of the server's log (useful in failure messages).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("pulse.log")
    }
}

impl Drop for PrivatePulse {
    fn drop(&mut self) {
        // Child::kill signals exactly this PID.
        let _ = self.daemon.kill();
        self.refuser_stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.refuser.take() {
            let _ = r.join();
        }
        let _ = self.daemon.wait();
        for (k, v) in &self.saved_env {
            set_env(k, v.as_deref());
        }
    }
}

static GATES: AtomicUsize = AtomicUsize::new(0);

/// See [`PrivatePulse::gate`]. Stops serving when dropped.
#[derive(Debug)]
pub struct Gate {
    server: String,
    open: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Gate {
    /// The `PULSE_SERVER` value that leads through this gate.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Grants access: new clients reach the real server.
    pub fn open(&self) {
        self.open.store(true, Ordering::Relaxed);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Restores normal access when dropped.
#[derive(Debug)]
pub struct DenyGuard<'a> {
    pulse: &'a PrivatePulse,
}

impl Drop for DenyGuard<'_> {
    fn drop(&mut self) {
        set_env("PULSE_SERVER", Some(self.pulse.native_server().as_ref()));
        set_env("PULSE_COOKIE", None);
    }
}

/// A running recording of the virtual speaker.
#[derive(Debug)]
pub struct Recording {
    child: Child,
    reader: Option<JoinHandle<Vec<f32>>>,
    received: Arc<AtomicUsize>,
}

impl Recording {
    /// Samples received so far (the recording's clock).
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Acquire)
    }

    /// Waits until samples flow (parecord has connected), up to `timeout`.
    pub fn wait_flowing(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.received() > 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Stops recording and returns the samples (mono f32 at [`RATE`]).
    pub fn finish(mut self) -> Vec<f32> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reader
            .take()
            .and_then(|r| r.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves a unix socket that answers each client's first request with the
/// native protocol's ERROR reply carrying PA_ERR_ACCESS (1).
fn spawn_refuser(path: &Path, stop: Arc<AtomicBool>) -> Result<JoinHandle<()>, AudioError> {
    spawn_gatekeeper(path, stop, None)
}

/// Like [`spawn_refuser`], but while `pass.0` is set each client is instead
/// connected through to the real server's socket `pass.1`.
fn spawn_gatekeeper(
    path: &Path,
    stop: Arc<AtomicBool>,
    pass: Option<(Arc<AtomicBool>, PathBuf)>,
) -> Result<JoinHandle<()>, AudioError> {
    use std::os::unix::net::UnixListener;
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Ok((conn, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let _ = conn.set_nonblocking(false);
            match &pass {
                Some((open, server)) if open.load(Ordering::Relaxed) => splice(conn, server),
                _ => refuse(conn),
            }
        }
    }))
}

/// Connects `client` to the server socket at `server`, both ways, on two
/// threads that end when either side closes.
fn splice(client: std::os::unix::net::UnixStream, server: &Path) {
    let Ok(upstream) = std::os::unix::net::UnixStream::connect(server) else {
        return;
    };
    let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let (mut upstream_r, mut client_w) = (upstream, client);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_r, &mut upstream_w);
        let _ = upstream_w.shutdown(std::net::Shutdown::Both);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut upstream_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Both);
    });
}

/// Answers the client's first request with ERROR / PA_ERR_ACCESS.
fn refuse(mut conn: std::os::unix::net::UnixStream) {
    use std::io::Write;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    // Descriptor: length, channel, offset (u64), flags; all big-endian.
    let mut desc = [0u8; 20];
    if conn.read_exact(&mut desc).is_err() {
        return;
    }
    let len = u32::from_be_bytes([desc[0], desc[1], desc[2], desc[3]]) as usize;
    let mut body = vec![0u8; len.min(1 << 16)];
    if conn.read_exact(&mut body).is_err() || body.len() < 10 {
        return;
    }
    // Tagstruct: 'L' command, 'L' sequence number.
    let seq = [body[6], body[7], body[8], body[9]];
    let mut reply = Vec::with_capacity(35);
    reply.extend_from_slice(&15u32.to_be_bytes());
    reply.extend_from_slice(&u32::MAX.to_be_bytes());
    reply.extend_from_slice(&[0u8; 12]);
    reply.push(b'L');
    reply.extend_from_slice(&0u32.to_be_bytes()); // PA_COMMAND_ERROR
    reply.push(b'L');
    reply.extend_from_slice(&seq);
    reply.push(b'L');
    reply.extend_from_slice(&1u32.to_be_bytes()); // PA_ERR_ACCESS
    let _ = conn.write_all(&reply);
    let _ = conn.flush();
    std::thread::sleep(Duration::from_millis(50));
}
