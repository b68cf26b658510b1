//! Programs Candor starts for the user (the file manager for a folder, the
//! browser for a link), with the environment the user started Candor with.
//!
//! On Linux Candor sets variables for the processes WebKitGTK starts from
//! it: glibc's allocator thresholds (`allocator.rs`), JavaScriptCore's
//! tiers (`script_tiers.rs`) and, where DMA-BUF would leave the window
//! blank, the shared-memory renderer (`renderer.rs`). Its own environment is
//! the only way to reach those helpers, so whatever else it started would
//! inherit them too: a file manager with Candor's allocator settings, a
//! browser without its optimizing JIT, or told that its GPU path does not
//! work.
//! [`set_for_web_processes`] is the one way the app sets such a variable,
//! and it keeps the name; [`open_detached`] takes those names out of what it
//! starts. A variable the user set is never one of them, and stands.

use std::ffi::OsStr;
use std::io;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

/// The variables Candor set, by name.
static SET_BY_CANDOR: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// How long a launcher (`xdg-open`, `gio open`, …) is watched for an
/// immediate failure before it counts as handed off: a misconfigured one
/// fails within milliseconds, and one that found its program may wait for
/// it as long as it runs.
const HAND_OFF: Duration = Duration::from_millis(250);

/// Sets `name` to `value` for the processes WebKitGTK starts from here, and
/// keeps the name so that [`open_detached`] leaves it out.
///
/// # Safety
///
/// As [`std::env::set_var`]: no other thread may read or write the
/// environment meanwhile (call it first thing in `run`, from `main`).
#[allow(unsafe_code)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub unsafe fn set_for_web_processes(name: &'static str, value: &str) {
    // SAFETY: the caller's, above.
    unsafe { std::env::set_var(name, value) };
    SET_BY_CANDOR
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(name);
}

/// Opens a folder in the file manager, or a web page in the browser, with
/// the system's handler, detached (the app does not wait for it), without
/// the variables Candor set for its web processes.
pub fn open_detached(target: &OsStr) -> io::Result<()> {
    let set = SET_BY_CANDOR
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if set.is_empty() {
        return open::that_detached(target);
    }
    first_handing_off(open::commands(target), &set, HAND_OFF)
}

/// Starts each launcher in turn without the variables `unset`, until one
/// exits successfully or is still running after `hand_off`. When none
/// does, the error is the first launcher's that ran and failed, or else the
/// first one's that could not start (most are fallbacks that may not be
/// installed).
fn first_handing_off(
    launchers: Vec<Command>,
    unset: &[&str],
    hand_off: Duration,
) -> io::Result<()> {
    let mut failed: Option<io::Error> = None;
    let mut missing: Option<io::Error> = None;
    for mut launcher in launchers {
        for name in unset {
            launcher.env_remove(name);
        }
        launcher
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match handed_off(launcher, hand_off) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.get_or_insert(e);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    Err(failed
        .or(missing)
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no program to open it with")))
}

/// Starts `launcher`: fine once it exits successfully or is still running
/// after `hand_off`. A thread waits for it either way, so it never lingers
/// as a zombie; one that fails after the hand-off is logged.
fn handed_off(mut launcher: Command, hand_off: Duration) -> io::Result<()> {
    let program = launcher.get_program().to_string_lossy().into_owned();
    let mut child = launcher.spawn()?;
    let (exited, exit) = mpsc::channel::<io::Result<ExitStatus>>();
    let name = program.clone();
    std::thread::Builder::new()
        .name("candor-launcher".into())
        .spawn(move || {
            if let Err(mpsc::SendError(Ok(status))) = exited.send(child.wait())
                && !status.success()
            {
                tracing::warn!("{name}, started to open a folder or a page, {status}");
            }
        })?;
    match exit.recv_timeout(hand_off) {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(io::Error::other(format!("{program}: {status}"))),
        Ok(Err(e)) => Err(e),
        // Still running: it has the target.
        Err(_) => Ok(()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    /// A launcher that writes its environment to `<dir>/<name>.env` and
    /// exits with `code`.
    fn launcher(dir: &Path, name: &str, code: i32) -> (Command, PathBuf) {
        let script = dir.join(name);
        let out = dir.join(format!("{name}.env"));
        std::fs::write(&script, format!("#!/bin/sh\nenv > \"$1\"\nexit {code}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut command = Command::new(&script);
        command.arg(&out);
        (command, out)
    }

    /// Long enough for a launcher that exits at once to be seen exiting.
    const PATIENT: Duration = Duration::from_secs(10);

    #[test]
    fn what_it_starts_has_the_users_environment_without_candors_variables() {
        let dir = tempfile::tempdir().unwrap();
        let (mut command, out) = launcher(dir.path(), "xdg-open", 0);
        // As inherited: one variable Candor set, one the user did.
        command
            .env("CANDOR_TEST_SET_BY_CANDOR", "1")
            .env("CANDOR_TEST_SET_BY_THE_USER", "2");
        first_handing_off(vec![command], &["CANDOR_TEST_SET_BY_CANDOR"], PATIENT).unwrap();
        let env = std::fs::read_to_string(out).unwrap();
        assert!(
            env.lines().any(|l| l == "CANDOR_TEST_SET_BY_THE_USER=2"),
            "{env}"
        );
        assert!(!env.contains("CANDOR_TEST_SET_BY_CANDOR"), "{env}");
    }

    #[test]
    fn a_launcher_that_fails_or_is_missing_gives_way_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (failing, _) = launcher(dir.path(), "xdg-open", 4);
        let missing = Command::new(dir.path().join("kde-open"));
        let (working, out) = launcher(dir.path(), "gio", 0);
        first_handing_off(vec![failing, missing, working], &[], PATIENT).unwrap();
        assert!(out.exists(), "the third launcher ran");
    }

    #[test]
    fn when_none_opens_it_the_error_is_the_first_failure_not_a_missing_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Command::new(dir.path().join("xdg-open"));
        let (failing, _) = launcher(dir.path(), "gio", 3);
        let missing_too = Command::new(dir.path().join("gnome-open"));
        let e = first_handing_off(vec![missing, failing, missing_too], &[], PATIENT).unwrap_err();
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        let e = first_handing_off(vec![Command::new(dir.path().join("wslview"))], &[], PATIENT)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        let e = first_handing_off(Vec::new(), &[], PATIENT).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    }

    #[test]
    fn a_launcher_still_running_after_the_hand_off_has_the_target() {
        let mut sleeping = Command::new("sleep");
        sleeping.arg("2");
        let started = std::time::Instant::now();
        first_handing_off(vec![sleeping], &[], Duration::from_millis(100)).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
}
