//! Gives the memory a synthesis freed back to the system.
//!
//! A line's synthesis allocates megabytes on the blocking-pool thread that
//! runs it (Flite's utterance structures, the samples, the resampled clip)
//! and frees them once the line is encoded. glibc keeps what a thread freed
//! in that thread's arena for reuse, so after the script's lines the
//! process went on holding memory it no longer used. `malloc_trim` hands the
//! free pages of every arena back; it costs well under a millisecond beside
//! a synthesis of tens.

/// Returns the allocator's free pages to the system (glibc only; other
/// allocators give memory back on their own terms).
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's
    // own free lists, under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Resident memory of this process, bytes (`/proc/self/statm`).
    fn resident() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[test]
    fn what_a_thread_freed_is_given_back() {
        const MIB: usize = 1 << 20;
        // As a synthesis leaves its thread's arena: 64 MiB in small blocks,
        // all freed but the last, which keeps glibc from trimming the
        // arena's top by itself.
        let kept = std::thread::spawn(|| {
            let mut blocks: Vec<Vec<u8>> = (0..64 * MIB / 4096).map(|_| vec![1u8; 4000]).collect();
            let last = blocks.pop();
            drop(blocks);
            last
        })
        .join()
        .unwrap();
        let before = resident();
        release_freed_memory();
        let after = resident();
        assert!(
            before.saturating_sub(after) >= 32 * MIB,
            "resident {} MiB before, {} MiB after",
            before / MIB,
            after / MIB
        );
        drop(kept);
    }
}
