//! Which of JavaScriptCore's compilers run the page's scripts (Linux,
//! WebKitGTK).
//!
//! JavaScriptCore runs a function in tiers: an interpreter, a baseline JIT,
//! then, once the function has run hot for a while, two optimizing
//! compilers (DFG, then FTL) that compile it again from what it was seen
//! to do, and keep their working memory and the code they made. Candor's
//! page is a thin view: it builds a screen, then, live, handles 10-14 event
//! batches a second and changes a few nodes for each. Its functions turn
//! hot all the same, and optimized code shows nothing sooner. With the
//! optimizing tiers off (`JSC_useDFGJIT=false`, which turns the FTL off with
//! the DFG), `live_cpu` measured the web process 3 MiB smaller on the
//! sign-in screen and 4-10 MiB smaller live, at the same CPU. With no JIT at
//! all it was 4 MiB smaller again, but spent half a percent of a core more
//! interpreting, so the baseline JIT stays.
//!
//! [`configure`] sets the variable for the processes WebKitGTK starts (through
//! `launch.rs`, so what the app opens for the user does not get it; the
//! app's own JavaScriptCore, which reads script results, reads it too). A
//! value the user set stands.

use std::ffi::OsStr;

/// JavaScriptCore's option, as an environment variable.
pub const VAR: &str = "JSC_useDFGJIT";

/// What [`configure`] did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configured {
    /// The optimizing tiers are off in the web processes.
    Baseline,
    /// The user's `JSC_useDFGJIT` stands.
    Users,
}

impl std::fmt::Display for Configured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Baseline => write!(
                f,
                "scripts: JavaScriptCore's interpreter and baseline JIT, \
                 without its optimizing compilers, in the web processes"
            ),
            Self::Users => write!(
                f,
                "scripts: as the {VAR} set before Candor started says, in the web processes"
            ),
        }
    }
}

/// The value the web processes are started with: ours, unless the user set
/// the variable (then theirs stands).
fn child_value(user: Option<&OsStr>) -> Option<&'static str> {
    match user {
        Some(_) => None,
        None => Some("false"),
    }
}

/// Turns the optimizing tiers off for the web processes, unless the user
/// chose.
#[allow(unsafe_code)]
pub fn configure() -> Configured {
    let Some(value) = child_value(std::env::var_os(VAR).as_deref()) else {
        return Configured::Users;
    };
    // SAFETY: called at the start of `run`, from `main`, before the app
    // starts any thread or any library that reads the environment.
    unsafe { crate::launch::set_for_web_processes(VAR, value) };
    Configured::Baseline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_processes_run_without_the_optimizing_tiers_unless_the_user_chose() {
        assert_eq!(child_value(None), Some("false"));
        assert_eq!(child_value(Some(OsStr::new("true"))), None);
        assert_eq!(child_value(Some(OsStr::new(""))), None);
    }

    #[test]
    fn the_log_says_which_tiers_run() {
        assert_eq!(
            Configured::Baseline.to_string(),
            "scripts: JavaScriptCore's interpreter and baseline JIT, without its \
             optimizing compilers, in the web processes"
        );
        assert_eq!(
            Configured::Users.to_string(),
            "scripts: as the JSC_useDFGJIT set before Candor started says, in the web processes"
        );
    }
}
