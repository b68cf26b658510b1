//! One Candor per data directory (Linux): launching it again while it runs
//! brings the open window to the front instead of starting a second app on
//! the same database, recordings and microphone.
//!
//! The running app holds an exclusive lock (`flock`) on `instance.lock` in
//! its data directory for as long as it lives, and listens on the Unix
//! socket `instance.sock` beside it. A launch that cannot take the lock
//! connects and asks the running app to show its window, waits for its
//! answer, and exits — before it opens a display, a database or a device
//! ([`claim`] is the first thing the app does). A launch that takes the
//! lock is the only one: the kernel drops a lock with the process that held
//! it, so a socket file left by a crash is simply replaced. The data
//! directory is the user's own (0700), so only their launches reach the
//! socket; separate data directories (profiles, tests with their own
//! `XDG_DATA_HOME`) are separate instances.
//!
//! This takes a file lock and a socket rather than a name on the D-Bus
//! session bus: no bus connection, executor and its threads for the app's
//! whole life to answer a rare second launch, and it works without a
//! session bus.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file the running app holds.
const LOCK: &str = "instance.lock";
/// The socket it listens on.
const SOCKET: &str = "instance.sock";
/// What a later launch asks for, one line.
const SHOW: &[u8] = b"show\n";
/// The running app's answer once its window was asked to come forward.
const SHOWN: &[u8] = b"shown\n";
/// The longest line either side reads.
const MAX_LINE: u64 = 64;
/// The longest `sun_path` (with its terminating NUL) Linux accepts.
const SUN_PATH_MAX: usize = 108;

/// How long each side waits for the other.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// For the running app's answer, and for a request once connected.
    pub answer: Duration,
    /// For a running app that holds the lock but does not accept yet (it
    /// is starting, or exiting).
    pub listening: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            answer: Duration::from_secs(5),
            listening: Duration::from_secs(3),
        }
    }
}

/// What this launch is.
#[derive(Debug)]
pub enum Launch {
    /// The only Candor on this data: it goes on, and answers later
    /// launches ([`Primary::serve`]).
    First(Primary),
    /// Another Candor runs on this data and has shown its window: this
    /// launch exits.
    HandedOver,
    /// Another Candor holds this data but did not answer (hung, or stuck
    /// on its way out): this launch must not open the same data, and says
    /// why.
    Unanswered(io::Error),
}

/// Candor's data directory on Linux for the app `identifier`, as Tauri
/// resolves it: `$XDG_DATA_HOME/<identifier>`, else
/// `~/.local/share/<identifier>`.
pub fn data_dir(identifier: &str) -> Option<PathBuf> {
    data_dir_in(
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
        identifier,
    )
}

fn data_dir_in(
    xdg_data_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
    identifier: &str,
) -> Option<PathBuf> {
    let base = xdg_data_home
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| home.map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join(identifier))
}

/// The running app's claim: the lock and the listening socket.
#[derive(Debug)]
pub struct Primary {
    /// Held (locked) for the app's life.
    _lock: File,
    listener: UnixListener,
    patience: Patience,
}

impl Primary {
    /// Answers later launches on a thread of its own for the rest of the
    /// app's life: each one that asks calls `show`. Connections are taken
    /// one at a time, each bounded by [`Patience::answer`], so a client
    /// that connects and says nothing holds up the next launch no longer.
    pub fn serve(self, show: impl Fn() + Send + 'static) -> io::Result<()> {
        std::thread::Builder::new()
            .name("candor-instance".into())
            .spawn(move || {
                let _lock = self._lock;
                for stream in self.listener.incoming() {
                    let answered = stream.and_then(|s| answer(s, self.patience.answer, &show));
                    if let Err(e) = answered {
                        tracing::warn!(error = %e, "a later launch of Candor could not be answered");
                    }
                }
            })
            .map(|_| ())
    }
}

/// Answers one later launch.
fn answer(stream: UnixStream, patience: Duration, show: &impl Fn()) -> io::Result<()> {
    bound(&stream, patience)?;
    let line = read_line(&stream)?;
    if line != SHOW {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected request {:?}", String::from_utf8_lossy(&line)),
        ));
    }
    tracing::info!("Candor was launched again: showing the window already open");
    show();
    (&stream).write_all(SHOWN)
}

/// Claims the data directory `dir` (created, private, if missing) for this
/// launch, or hands over to the Candor already running on it. An error
/// means the check itself failed (the directory cannot be made, …).
pub fn claim(dir: &Path, patience: Patience) -> io::Result<Launch> {
    candor_client::private_fs::create_dir(dir)?;
    let deadline = Instant::now() + patience.listening;
    loop {
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK))?;
        match lock.try_lock() {
            Ok(()) => return listen(dir, lock, patience).map(Launch::First),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        match ask_to_show(dir, patience.answer) {
            Ok(()) => return Ok(Launch::HandedOver),
            // Locked but not listening: starting, or on its way out (then
            // the lock is free in a moment).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                return Ok(Launch::Unanswered(io::Error::new(
                    e.kind(),
                    format!(
                        "Candor is already running on this data ({}) but did not answer: {e}",
                        dir.display()
                    ),
                )));
            }
        }
    }
}

/// The first launch: replaces whatever socket a previous run left and
/// listens.
fn listen(dir: &Path, lock: File, patience: Patience) -> io::Result<Primary> {
    match std::fs::remove_file(dir.join(SOCKET)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = within_reach(dir, |path| UnixListener::bind(path))?;
    Ok(Primary {
        _lock: lock,
        listener,
        patience,
    })
}

/// A later launch: asks the running app to show its window and waits for
/// its answer.
fn ask_to_show(dir: &Path, patience: Duration) -> io::Result<()> {
    let stream = within_reach(dir, |path| UnixStream::connect(path))?;
    bound(&stream, patience)?;
    (&stream).write_all(SHOW)?;
    if read_line(&stream)? == SHOWN {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it closed the connection without showing its window",
        ))
    }
}

/// Makes every later read and write on `stream` wait at most `patience`.
fn bound(stream: &UnixStream, patience: Duration) -> io::Result<()> {
    stream.set_read_timeout(Some(patience))?;
    stream.set_write_timeout(Some(patience))
}

/// Reads one line (at most `MAX_LINE` bytes, its newline kept) from
/// `stream`.
fn read_line(stream: &UnixStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_LINE)).read_until(b'\n', &mut line)?;
    Ok(line)
}

/// Runs `f` with a path to the socket in `dir` that fits a socket address:
/// the path itself, or, when the directory's path is too long for one, the
/// same file reached through the directory's descriptor in `/proc/self/fd`.
fn within_reach<T>(dir: &Path, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    let socket = dir.join(SOCKET);
    if socket.as_os_str().len() < SUN_PATH_MAX {
        return f(&socket);
    }
    let handle = File::open(dir)?;
    f(&Path::new("/proc/self/fd")
        .join(handle.as_raw_fd().to_string())
        .join(SOCKET))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn quick() -> Patience {
        Patience {
            answer: Duration::from_millis(500),
            listening: Duration::from_millis(300),
        }
    }

    fn first(dir: &Path) -> Primary {
        match claim(dir, quick()).expect("the first claim") {
            Launch::First(primary) => primary,
            other => panic!("the first launch: {other:?}"),
        }
    }

    /// Serves `primary`, counting the launches it was asked to show for.
    fn served(primary: Primary) -> Arc<AtomicUsize> {
        let shown = Arc::new(AtomicUsize::new(0));
        let counter = shown.clone();
        primary
            .serve(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .expect("serving");
        shown
    }

    #[test]
    fn a_second_launch_hands_over_and_the_first_shows_its_window_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("app.candor.desktop");
        let shown = served(first(&data));
        for n in 1..=3 {
            assert!(matches!(claim(&data, quick()).unwrap(), Launch::HandedOver));
            assert_eq!(shown.load(Ordering::SeqCst), n);
        }
    }

    #[test]
    fn the_data_directory_is_tauris() {
        let id = "app.candor.desktop";
        let home = Some("/home/ada".into());
        assert_eq!(
            data_dir_in(Some("/data".into()), home.clone(), id),
            Some(PathBuf::from("/data/app.candor.desktop"))
        );
        // A relative XDG_DATA_HOME is ignored, as the XDG spec says.
        for xdg in [None, Some("data".into())] {
            assert_eq!(
                data_dir_in(xdg, home.clone(), id),
                Some(PathBuf::from("/home/ada/.local/share/app.candor.desktop"))
            );
        }
        assert_eq!(data_dir_in(None, None, id), None);
    }

    #[test]
    fn separate_data_directories_are_separate_instances() {
        let dir = tempfile::tempdir().unwrap();
        let _a = first(&dir.path().join("a"));
        let _b = first(&dir.path().join("b"));
    }

    #[test]
    fn a_socket_left_by_a_crash_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // A run that died: its socket file stays, its lock went with it.
        drop(first(&data));
        assert!(data.join(SOCKET).exists());
        let shown = served(first(&data));
        assert!(matches!(claim(&data, quick()).unwrap(), Launch::HandedOver));
        assert_eq!(shown.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_directory_too_long_for_a_socket_address_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a-rather-long-directory-name".repeat(4));
        assert!(data.join(SOCKET).as_os_str().len() >= SUN_PATH_MAX);
        let shown = served(first(&data));
        assert!(matches!(claim(&data, quick()).unwrap(), Launch::HandedOver));
        assert_eq!(shown.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_running_app_that_never_answers_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // Locked and listening, but never accepting.
        let _silent = first(&data);
        let started = Instant::now();
        let Launch::Unanswered(err) = claim(&data, quick()).unwrap() else {
            panic!("an answer from nobody");
        };
        assert!(err.to_string().contains("did not answer"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_running_app_not_listening_yet_is_waited_for_then_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        candor_client::private_fs::create_dir(&data).unwrap();
        // Holds the lock, has no socket.
        let lock = File::create(data.join(LOCK)).unwrap();
        lock.try_lock().unwrap();
        let started = Instant::now();
        let Launch::Unanswered(err) = claim(&data, quick()).unwrap() else {
            panic!("an answer from nobody");
        };
        assert!(started.elapsed() >= quick().listening, "{err}");
        assert!(err.to_string().contains("did not answer"), "{err}");
    }

    #[test]
    fn a_stranger_on_the_socket_is_refused_and_the_next_launch_still_answered() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let shown = served(first(&data));
        let mut stranger = UnixStream::connect(data.join(SOCKET)).unwrap();
        stranger.write_all(&[b'x'; 200]).unwrap();
        let mut reply = Vec::new();
        let _ = stranger.read_to_end(&mut reply);
        assert!(reply.is_empty(), "{reply:?}");
        assert!(matches!(claim(&data, quick()).unwrap(), Launch::HandedOver));
        assert_eq!(shown.load(Ordering::SeqCst), 1);
    }
}
