//! How the app's processes give freed memory back (Linux with glibc).
//!
//! glibc serves a request of 128 KiB or more with its own `mmap`, unmapped
//! when freed, but raises that threshold (and the one above which it trims
//! an arena's top) to the size of each such block freed, up to 32 MiB. A
//! live interview frees large blocks from many threads (a line's samples
//! and Opus frames, audio buffers, the page's decoded images and script
//! heaps in the web process), so after the first minutes they came from
//! the threads' arenas instead and stayed resident once freed:
//! `live_cpu` measured the app 3-6 MiB and the web process ~2 MiB above
//! what the same session holds with the thresholds fixed at glibc's
//! defaults, at the same page-fault rate.
//!
//! [`configure`] fixes both thresholds in this process (`mallopt`, which
//! also turns the raising off) and, through `GLIBC_TUNABLES`, in the
//! processes WebKitGTK starts from it (not in what the app opens for the
//! user: `launch.rs`). A `GLIBC_TUNABLES` the user set
//! stands instead, in the app as in its web processes (glibc applied it
//! before `main`): set to anything, e.g. `glibc.malloc.check=0`, it also
//! runs the app with glibc's own behaviour, to compare.

/// Requests from this size up are mapped on their own and unmapped when
/// freed; an arena's free top above it is given back (glibc's default
/// starting value for both, made fixed).
const THRESHOLD: usize = 128 * 1024;

/// The variable glibc reads its tunables from at a process's start.
const TUNABLES_VAR: &str = "GLIBC_TUNABLES";

/// What [`configure`] did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configured {
    /// Thresholds fixed for the web processes, and here unless glibc
    /// refused them (`here`).
    Fixed { here: bool },
    /// The user's `GLIBC_TUNABLES` stands, here and in the web processes.
    Users,
}

impl std::fmt::Display for Configured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fixed = format!(
            "allocator: blocks of {} KiB and more mapped apart and given back when freed",
            THRESHOLD / 1024
        );
        match self {
            Self::Fixed { here: true } => write!(f, "{fixed}, in the app and its web processes"),
            Self::Fixed { here: false } => write!(
                f,
                "{fixed}, in the app's web processes (the app's glibc refused the setting)"
            ),
            Self::Users => write!(
                f,
                "allocator: as the GLIBC_TUNABLES set before Candor started says, \
                 in the app and its web processes"
            ),
        }
    }
}

/// The `GLIBC_TUNABLES` the web processes are started with: ours, unless
/// the user set the variable (then theirs stands).
fn child_tunables(user: Option<&std::ffi::OsStr>) -> Option<String> {
    match user {
        Some(_) => None,
        None => Some(format!(
            "glibc.malloc.mmap_threshold={THRESHOLD}:glibc.malloc.trim_threshold={THRESHOLD}"
        )),
    }
}

/// Fixes the thresholds here and for the processes started from here,
/// unless the user chose their own.
#[allow(unsafe_code)]
pub fn configure() -> Configured {
    let Some(tunables) = child_tunables(std::env::var_os(TUNABLES_VAR).as_deref()) else {
        return Configured::Users;
    };
    let here = fix_thresholds();
    // SAFETY: called first thing in `run`, from `main`, before the app
    // starts any thread or any library that reads the environment.
    unsafe { crate::launch::set_for_web_processes(TUNABLES_VAR, &tunables) };
    Configured::Fixed { here }
}

/// Fixes this process's thresholds; false if glibc refused them.
#[allow(unsafe_code)]
fn fix_thresholds() -> bool {
    let threshold = libc::c_int::try_from(THRESHOLD).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt takes no pointers; glibc applies it under the main
    // arena's lock and any thread may call it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, threshold) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    /// Resident memory of this process, bytes (`/proc/self/statm`).
    fn resident() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    /// A block of `len` bytes, every page written.
    fn touched(len: usize) -> Vec<u8> {
        let mut block = vec![0u8; len];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(block)
    }

    #[test]
    fn a_large_block_freed_after_another_is_given_back() {
        assert!(fix_thresholds(), "mallopt accepted the thresholds");
        // Without them, glibc raises its thresholds to this block's size
        // when it is freed (blocks up to 32 MiB), and the next block of the
        // size comes from the thread's arena and stays resident after `drop`.
        drop(touched(24 * MIB));
        let block = touched(24 * MIB);
        let before = resident();
        drop(block);
        let after = resident();
        assert!(
            before.saturating_sub(after) >= 20 * MIB,
            "resident {} MiB with the block, {} MiB after it was freed",
            before / MIB,
            after / MIB
        );
    }

    #[test]
    fn the_web_processes_get_the_same_thresholds_unless_the_user_chose() {
        assert_eq!(
            child_tunables(None).as_deref(),
            Some("glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072")
        );
        assert_eq!(
            child_tunables(Some(std::ffi::OsStr::new("glibc.malloc.arena_max=2"))),
            None
        );
    }

    #[test]
    fn the_log_says_what_was_fixed_where() {
        assert_eq!(
            Configured::Fixed { here: true }.to_string(),
            "allocator: blocks of 128 KiB and more mapped apart and given back when freed, \
             in the app and its web processes"
        );
        assert!(
            Configured::Fixed { here: false }
                .to_string()
                .ends_with("(the app's glibc refused the setting)")
        );
        assert_eq!(
            Configured::Users.to_string(),
            "allocator: as the GLIBC_TUNABLES set before Candor started says, \
             in the app and its web processes"
        );
    }
}
