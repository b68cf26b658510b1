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
//! processes WebKitGTK starts from it; a `GLIBC_TUNABLES` the user set is
//! left as it is.

/// Requests from this size up are mapped on their own and unmapped when
/// freed; an arena's free top above it is given back (glibc's default
/// starting value for both, made fixed).
const THRESHOLD: usize = 128 * 1024;

/// The variable glibc reads its tunables from at a process's start.
const TUNABLES_VAR: &str = "GLIBC_TUNABLES";

/// What [`configure`] did, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    /// Whether this process's thresholds are fixed (`mallopt` accepted them).
    pub here: bool,
    /// Whether the web processes get the same (false: the user's own
    /// `GLIBC_TUNABLES` is kept).
    pub children: bool,
}

impl std::fmt::Display for Configured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "allocator: blocks of {} KiB and more mapped apart and given back when freed: \
             in the app {}, in its web processes {}",
            THRESHOLD / 1024,
            if self.here { "fixed" } else { "glibc's own" },
            if self.children {
                "fixed"
            } else {
                "as the user's GLIBC_TUNABLES says"
            },
        )
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

/// Fixes the thresholds here and for the processes started from here.
#[allow(unsafe_code)]
pub fn configure() -> Configured {
    let here = fix_thresholds();
    let tunables = child_tunables(std::env::var_os(TUNABLES_VAR).as_deref());
    let children = tunables.is_some();
    if let Some(tunables) = tunables {
        // SAFETY: called first thing in `run`, from `main`, before the app
        // starts any thread or any library that reads the environment.
        unsafe { std::env::set_var(TUNABLES_VAR, tunables) };
    }
    Configured { here, children }
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
        let all = Configured {
            here: true,
            children: true,
        };
        assert_eq!(
            all.to_string(),
            "allocator: blocks of 128 KiB and more mapped apart and given back when freed: \
             in the app fixed, in its web processes fixed"
        );
        let user = Configured {
            here: true,
            children: false,
        };
        assert!(
            user.to_string()
                .ends_with("as the user's GLIBC_TUNABLES says")
        );
    }
}
