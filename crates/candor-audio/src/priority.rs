//! Real-time priority for the threads that move audio.
//!
//! On a busy machine (a build, a browser, a video call's encoder) the
//! threads that carry audio between the device and Candor compete with
//! everything else at normal priority. A late device callback makes the
//! sound server's stream underrun or overrun, and then what the speaker
//! plays moves against the timestamps the echo canceller lines its
//! reference up by: measured on this project's loopback echo with three
//! busy loops beside the app, the echo sat at 170, then 440, then 167 ms
//! within three seconds, the canceller lost it for a second at a time and
//! the interviewer heard itself. With the same load at the lowest nice
//! level the echo stayed at 169 ms and nothing was heard.
//!
//! So, like other audio software, each device callback thread (on its
//! first callback), each stand-in clocked like a device (a paced file,
//! generator or fed source; a WAV, tap or null sink) and each audio worker
//! asks the kernel for round-robin real-time scheduling at a priority below
//! the sound server's own, and failing that for a higher nice level. Where neither is allowed (an
//! unprivileged user without a real-time limit: most desktop users), it
//! asks RealtimeKit ([`crate::rtkit`]) — a D-Bus round trip, so a callback
//! thread only leaves its id in a lock-free slot, and the audio workers
//! make the request ([`serve_pending`], polled every pass). Where that fails
//! too, the thread runs on at normal priority. [`achieved`] says what the
//! audio path got, for the log. Linux only; elsewhere the platform's audio
//! stack already runs callbacks at high priority, and this does nothing.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What a thread got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Unchanged: the system allowed neither.
    Normal,
    /// A higher nice level.
    Raised,
    /// Round-robin real-time scheduling.
    RealTime,
}

/// The lowest priority any audio thread got so far (`u8::MAX`: none asked).
static LOWEST: AtomicU8 = AtomicU8::new(u8::MAX);

impl Priority {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Normal),
            1 => Some(Self::Raised),
            2 => Some(Self::RealTime),
            _ => None,
        }
    }
}

/// Device callback threads waiting for RealtimeKit, by kernel thread id
/// (0: a free slot). A stream has one callback thread per direction.
struct Pending([AtomicU64; 8]);

impl Pending {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; 8])
    }

    /// Leaves `tid` to be served; false when every slot is taken.
    fn request(&self, tid: u64) -> bool {
        self.0.iter().any(|slot| {
            slot.compare_exchange(0, tid, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// Takes each waiting thread once and records what `raise` got it.
    fn serve_with(&self, mut raise: impl FnMut(u64) -> Priority) {
        for slot in &self.0 {
            if slot.load(Ordering::Acquire) != 0 {
                let tid = slot.swap(0, Ordering::AcqRel);
                if tid != 0 {
                    record(raise(tid));
                }
            }
        }
    }
}

static PENDING: Pending = Pending::new();

/// Raises the calling thread's priority as far as the kernel allows, and
/// records it; when it allows nothing, leaves the thread to the audio
/// workers to ask RealtimeKit for ([`serve_pending`]), and returns
/// [`Priority::Normal`] for now. Real-time safe: a few non-blocking system
/// calls and atomics, no allocation or lock, so a device callback may call
/// it (once).
pub fn raise_current_thread() -> Priority {
    let got = raise();
    if got == Priority::Normal && cfg!(target_os = "linux") && PENDING.request(current_tid()) {
        return got;
    }
    record(got);
    got
}

/// Raises an audio worker's own thread: as [`raise_current_thread`], then
/// through RealtimeKit at once (it may block for a D-Bus round trip).
pub fn raise_worker_thread() -> Priority {
    let got = match raise() {
        Priority::Normal => through_rtkit(current_tid()),
        got => got,
    };
    record(got);
    got
}

/// Asks RealtimeKit for the callback threads that wait for it, if any: the
/// audio workers call it on every pass (eight atomic loads when none waits).
pub fn serve_pending() {
    PENDING.serve_with(through_rtkit);
}

fn record(got: Priority) {
    LOWEST.fetch_min(got as u8, Ordering::Relaxed);
}

#[cfg(target_os = "linux")]
fn current_tid() -> u64 {
    crate::rtkit::current_tid()
}

#[cfg(not(target_os = "linux"))]
fn current_tid() -> u64 {
    0
}

/// RealtimeKit's answer for `tid`, [`Priority::Normal`] when there is none.
#[cfg(target_os = "linux")]
fn through_rtkit(tid: u64) -> Priority {
    match crate::rtkit::RealtimeKit::system()
        .and_then(|kit| kit.raise(tid, REAL_TIME_PRIORITY as u32, NICE))
    {
        Ok(crate::rtkit::Granted::RealTime) => Priority::RealTime,
        Ok(crate::rtkit::Granted::HighPriority) => Priority::Raised,
        Err(e) => {
            let _ = RTKIT_REFUSAL.set(e.to_string());
            Priority::Normal
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn through_rtkit(_tid: u64) -> Priority {
    Priority::Normal
}

/// Why RealtimeKit raised no thread, the first time it did not (for the log
/// beside [`achieved`]; most systems without it are servers and containers).
pub fn rtkit_refusal() -> Option<&'static str> {
    RTKIT_REFUSAL.get().map(String::as_str)
}

static RTKIT_REFUSAL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The lowest priority an audio thread of this process got, if any asked.
pub fn achieved() -> Option<Priority> {
    Priority::from_u8(LOWEST.load(Ordering::Relaxed))
}

/// Below PulseAudio's and PipeWire's own real-time priority (5 by default
/// with rtkit; their threads must run first to mix what we hand them).
#[cfg(target_os = "linux")]
const REAL_TIME_PRIORITY: i32 = 4;
/// The nice level asked for when real-time scheduling is refused.
#[cfg(target_os = "linux")]
const NICE: i32 = -10;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn raise() -> Priority {
    let param = libc::sched_param {
        sched_priority: REAL_TIME_PRIORITY,
    };
    // SAFETY: plain system calls on the calling thread (0 = this thread on
    // Linux), with a valid parameter that outlives the call. Threads it
    // spawns start at normal priority again (SCHED_RESET_ON_FORK).
    let rt =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if rt == 0 {
        return Priority::RealTime;
    }
    // SAFETY: as above; on Linux the nice level is per thread.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) } == 0 {
        return Priority::Raised;
    }
    Priority::Normal
}

#[cfg(not(target_os = "linux"))]
fn raise() -> Priority {
    Priority::Normal
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_raised_thread_is_recorded_and_its_children_start_normal() {
        let got = std::thread::spawn(|| {
            let got = raise_current_thread();
            // Refused by the kernel (not root, no limit): as a worker would.
            serve_pending();
            // A thread spawned by an audio thread is not an audio thread.
            let child = std::thread::spawn(current_policy).join().unwrap();
            (got, current_policy(), child)
        })
        .join()
        .unwrap();
        let (got, own, child) = got;
        assert!(achieved().is_some_and(|a| a <= got));
        if got == Priority::RealTime {
            assert_eq!(own, Some(libc::SCHED_RR));
            assert_eq!(child, Some(libc::SCHED_OTHER));
        }
    }

    #[test]
    fn callback_threads_left_for_realtime_kit_are_served_once_each() {
        // What a device callback the kernel refused does (it may not block),
        // and what the next worker pass does with it. A table of its own:
        // the process's is served by the workers and stand-ins of other
        // tests running beside this one.
        let pending = Pending::new();
        assert!(pending.request(1_000_001));
        assert!(pending.request(1_000_002));
        let mut served = Vec::new();
        pending.serve_with(|tid| {
            served.push(tid);
            Priority::RealTime
        });
        served.sort_unstable();
        assert_eq!(served, [1_000_001, 1_000_002]);
        pending.serve_with(|tid| panic!("{tid} was served twice"));
        assert!((0..8).all(|i| pending.request(i + 1)));
        assert!(!pending.request(9), "a ninth thread waits with no slot");
    }

    fn current_policy() -> Option<i32> {
        test_support::scheduling().0
    }
}

/// For tests of the threads that raise themselves.
#[cfg(all(test, target_os = "linux"))]
pub(crate) mod test_support {
    /// The calling thread's scheduling policy and nice level.
    #[allow(unsafe_code)]
    pub(crate) fn scheduling() -> (Option<i32>, i32) {
        // SAFETY: queries of the calling thread's scheduling policy and nice
        // level (0: this thread on Linux).
        let (p, nice) = unsafe {
            (
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
            )
        };
        ((p >= 0).then_some(p & !libc::SCHED_RESET_ON_FORK), nice)
    }

    /// What a new thread that raises itself runs at here (what this user
    /// is allowed), and what one that does not runs at.
    pub(crate) fn raised_and_not() -> ((Option<i32>, i32), (Option<i32>, i32)) {
        let raised = std::thread::spawn(|| {
            super::raise();
            scheduling()
        });
        let plain = std::thread::spawn(scheduling);
        (raised.join().unwrap(), plain.join().unwrap())
    }
}
