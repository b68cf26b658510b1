//! Real-time scheduling through RealtimeKit, for users the kernel refuses it
//! to.
//!
//! A desktop Linux user has no real-time priority limit (`RLIMIT_RTPRIO` 0)
//! and may not lower a nice level, so the system calls in
//! [`crate::priority`] fail for nearly everyone who installs the app.
//! RealtimeKit (`rtkit-daemon`, on the system bus; PipeWire and PulseAudio
//! get their own real-time threads from it) grants real-time scheduling per
//! thread to processes that cap their real-time CPU time (`RLIMIT_RTTIME`),
//! up to a priority and down to a nice level it publishes.
//!
//! [`RealtimeKit::raise`] asks it for one thread of this process: real-time
//! at the priority asked for or the highest it allows, else the nice level
//! asked for or the lowest it allows. Each request is a blocking D-Bus round
//! trip, so a device callback never calls it: [`crate::priority`] hands the
//! callback thread's id to the audio workers, which ask here.

use std::time::Duration;

use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::{Connection, Proxy};

/// RealtimeKit's bus name, object path and interface (all the same name).
pub const SERVICE: &str = "org.freedesktop.RealtimeKit1";
const PATH: &str = "/org/freedesktop/RealtimeKit1";
/// A request that takes longer than this is given up (the daemon answers in
/// milliseconds, or is not there).
const TIMEOUT: Duration = Duration::from_secs(1);

/// Why RealtimeKit did not raise a thread.
#[derive(Debug, thiserror::Error)]
pub enum RtkitError {
    /// No system bus, or no RealtimeKit on it.
    #[error("RealtimeKit is not reachable: {0}")]
    Unreachable(#[source] dbus::Error),
    /// The process's real-time CPU time could not be capped as RealtimeKit
    /// requires.
    #[error("cannot cap real-time CPU time at {limit_us} µs: {source}")]
    RtTimeLimit {
        limit_us: u64,
        #[source]
        source: std::io::Error,
    },
    /// RealtimeKit refused both real-time scheduling and a raised nice level.
    #[error("RealtimeKit refused thread {tid}: {source}")]
    Refused {
        tid: u64,
        #[source]
        source: dbus::Error,
    },
}

/// What RealtimeKit granted a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// Round-robin real-time scheduling.
    RealTime,
    /// A raised nice level.
    HighPriority,
}

/// What RealtimeKit allows, as it publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The highest real-time priority it grants.
    pub max_realtime_priority: i32,
    /// The lowest nice level it grants.
    pub min_nice_level: i32,
    /// The real-time CPU time limit (µs) a process must have set.
    pub rttime_usec_max: u64,
}

/// A connection to RealtimeKit.
pub struct RealtimeKit {
    conn: Connection,
}

impl std::fmt::Debug for RealtimeKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeKit").finish_non_exhaustive()
    }
}

impl RealtimeKit {
    /// RealtimeKit on the system bus, where it runs.
    pub fn system() -> Result<Self, RtkitError> {
        Connection::new_system()
            .map(Self::on)
            .map_err(RtkitError::Unreachable)
    }

    /// RealtimeKit (or a stand-in) on a bus already connected to.
    pub fn on(conn: Connection) -> Self {
        Self { conn }
    }

    fn proxy(&self) -> Proxy<'_, &Connection> {
        self.conn.with_proxy(SERVICE, PATH, TIMEOUT)
    }

    /// What it allows.
    pub fn limits(&self) -> Result<Limits, RtkitError> {
        let p = self.proxy();
        let get_i32 = |name: &str| -> Result<i32, RtkitError> {
            p.get::<i32>(SERVICE, name).map_err(RtkitError::Unreachable)
        };
        let rttime: i64 = p
            .get(SERVICE, "RTTimeUSecMax")
            .map_err(RtkitError::Unreachable)?;
        Ok(Limits {
            max_realtime_priority: get_i32("MaxRealtimePriority")?,
            min_nice_level: get_i32("MinNiceLevel")?,
            rttime_usec_max: u64::try_from(rttime).unwrap_or(0),
        })
    }

    /// Raises thread `tid` of this process: real-time at `priority` (or the
    /// highest RealtimeKit allows), else nice level `nice` (or the lowest it
    /// allows). Caps this process's real-time CPU time first, as it requires.
    pub fn raise(&self, tid: u64, priority: u32, nice: i32) -> Result<Granted, RtkitError> {
        let limits = self.limits()?;
        cap_rttime(limits.rttime_usec_max)?;
        let pid = u64::from(std::process::id());
        let p = self.proxy();
        let priority = priority.min(u32::try_from(limits.max_realtime_priority).unwrap_or(0));
        if priority > 0
            && p.method_call::<(), _, _, _>(
                SERVICE,
                "MakeThreadRealtimeWithPID",
                (pid, tid, priority),
            )
            .is_ok()
        {
            return Ok(Granted::RealTime);
        }
        p.method_call::<(), _, _, _>(
            SERVICE,
            "MakeThreadHighPriorityWithPID",
            (pid, tid, nice.max(limits.min_nice_level)),
        )
        .map(|()| Granted::HighPriority)
        .map_err(|source| RtkitError::Refused { tid, source })
    }
}

/// Sets this process's `RLIMIT_RTTIME` to at most `limit_us` (RealtimeKit
/// refuses a process whose real-time threads could run unbounded). Audio
/// threads block every few milliseconds, far inside it.
#[allow(unsafe_code)]
fn cap_rttime(limit_us: u64) -> Result<(), RtkitError> {
    let fail = |source| RtkitError::RtTimeLimit { limit_us, source };
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `current` is a valid rlimit the call writes into.
    if unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut current) } != 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    let limit = current.rlim_max.min(limit_us as libc::rlim_t);
    if current.rlim_cur <= limit && current.rlim_max <= limit {
        return Ok(());
    }
    let capped = libc::rlimit {
        rlim_cur: current.rlim_cur.min(limit),
        rlim_max: limit,
    };
    // SAFETY: `capped` is a valid rlimit that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &capped) } != 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// This thread's kernel id, as RealtimeKit names threads.
#[allow(unsafe_code)]
pub fn current_tid() -> u64 {
    // SAFETY: gettid has no arguments and cannot fail.
    u64::try_from(unsafe { libc::gettid() }).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbus::arg::Variant;
    use dbus::channel::{MatchingReceiver, Sender};
    use dbus::message::MatchRule;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    /// A private message bus for the test, stopped when dropped.
    struct Bus {
        daemon: Child,
        address: String,
    }

    impl Bus {
        fn start() -> Self {
            let mut daemon = Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address=1"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("dbus-daemon runs (package dbus, installed by scripts/setup)");
            let mut address = String::new();
            BufReader::new(daemon.stdout.take().unwrap())
                .read_line(&mut address)
                .unwrap();
            Self {
                daemon,
                address: address.trim().to_owned(),
            }
        }
    }

    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
        }
    }

    /// What the stand-in RealtimeKit was asked: (method, pid, tid, value).
    type Calls = Arc<Mutex<Vec<(String, u64, u64, i64)>>>;

    /// A stand-in RealtimeKit on `bus` with RealtimeKit's default limits;
    /// with `refuse_realtime`, it refuses real-time scheduling as it does for
    /// a process over its limits.
    fn stand_in(bus: &Bus, refuse_realtime: bool) -> (Calls, Arc<AtomicBool>) {
        let calls: Calls = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let conn = Connection::new_address(&bus.address).unwrap();
        conn.request_name(SERVICE, false, true, true).unwrap();
        let seen = calls.clone();
        conn.start_receive(
            MatchRule::new_method_call(),
            Box::new(move |msg, conn| {
                let member = msg.member().map(|m| m.to_string()).unwrap_or_default();
                let reply = match member.as_str() {
                    "Get" => {
                        let (_, property): (String, String) = msg.read2().unwrap();
                        match property.as_str() {
                            "MaxRealtimePriority" => msg.method_return().append1(Variant(20i32)),
                            "MinNiceLevel" => msg.method_return().append1(Variant(-15i32)),
                            "RTTimeUSecMax" => msg.method_return().append1(Variant(200_000i64)),
                            _ => panic!("unexpected property {property}"),
                        }
                    }
                    "MakeThreadRealtimeWithPID" => {
                        let (pid, tid, priority): (u64, u64, u32) = msg.read3().unwrap();
                        seen.lock()
                            .unwrap()
                            .push((member, pid, tid, i64::from(priority)));
                        if refuse_realtime {
                            msg.error(
                                &"org.freedesktop.DBus.Error.AccessDenied".into(),
                                c"Operation not permitted",
                            )
                        } else {
                            msg.method_return()
                        }
                    }
                    "MakeThreadHighPriorityWithPID" => {
                        let (pid, tid, nice): (u64, u64, i32) = msg.read3().unwrap();
                        seen.lock()
                            .unwrap()
                            .push((member, pid, tid, i64::from(nice)));
                        msg.method_return()
                    }
                    _ => return true,
                };
                conn.send(reply).unwrap();
                true
            }),
        );
        let running = stop.clone();
        std::thread::spawn(move || {
            // Until the test is over or its bus is gone.
            while !running.load(Ordering::Relaxed)
                && conn.process(Duration::from_millis(20)).is_ok()
            {}
        });
        (calls, stop)
    }

    #[test]
    fn a_thread_is_made_real_time_at_the_priority_asked_for() {
        let bus = Bus::start();
        let (calls, stop) = stand_in(&bus, false);
        let kit = RealtimeKit::on(Connection::new_address(&bus.address).unwrap());
        assert_eq!(
            kit.limits().unwrap(),
            Limits {
                max_realtime_priority: 20,
                min_nice_level: -15,
                rttime_usec_max: 200_000,
            }
        );
        let tid = current_tid();
        assert_eq!(kit.raise(tid, 4, -10).unwrap(), Granted::RealTime);
        let pid = u64::from(std::process::id());
        assert_eq!(
            *calls.lock().unwrap(),
            [("MakeThreadRealtimeWithPID".to_owned(), pid, tid, 4)]
        );
        // RealtimeKit's condition: real-time CPU time capped at its maximum.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        #[allow(unsafe_code)]
        // SAFETY: `limit` is a valid rlimit the call writes into.
        let read = unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut limit) };
        assert_eq!(read, 0);
        assert!(limit.rlim_cur <= 200_000 && limit.rlim_max <= 200_000);
        stop.store(true, Ordering::Relaxed);
    }

    #[test]
    fn a_refused_real_time_request_falls_back_to_a_raised_nice_level() {
        let bus = Bus::start();
        let (calls, stop) = stand_in(&bus, true);
        let kit = RealtimeKit::on(Connection::new_address(&bus.address).unwrap());
        // A priority above RealtimeKit's maximum is lowered to it; a nice
        // level below its minimum is raised to it.
        assert_eq!(kit.raise(42, 99, -20).unwrap(), Granted::HighPriority);
        let methods: Vec<(String, i64)> = calls
            .lock()
            .unwrap()
            .iter()
            .map(|(m, _, tid, v)| {
                assert_eq!(*tid, 42);
                (m.clone(), *v)
            })
            .collect();
        assert_eq!(
            methods,
            [
                ("MakeThreadRealtimeWithPID".to_owned(), 20),
                ("MakeThreadHighPriorityWithPID".to_owned(), -15)
            ]
        );
        stop.store(true, Ordering::Relaxed);
    }

    #[test]
    fn without_realtime_kit_the_error_says_so() {
        let bus = Bus::start();
        let kit = RealtimeKit::on(Connection::new_address(&bus.address).unwrap());
        let error = kit.raise(current_tid(), 4, -10).unwrap_err();
        assert!(matches!(error, RtkitError::Unreachable(_)), "{error}");
        assert!(error.to_string().contains("RealtimeKit is not reachable"));
    }
}
