//! The interview lifecycle's phases as a plain, copyable enum: the typed
//! counterpart of the seed's state names (`requestingPermissions`, `live`, …).
//!
//! Drivers and front ends ask "which phase?" and "is the interview at rest?"
//! through this type instead of comparing state-name strings, so a renamed or
//! added phase is a compile error rather than a silently false comparison.

use std::fmt;

/// Where the interview is, without the data each state carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterviewPhase {
    /// Nothing under way: the dashboard.
    Idle,
    /// The interview record is being created.
    Initializing,
    /// The microphone was asked for (the OS may be prompting).
    RequestingPermissions,
    /// The microphone was refused or is missing; the user may retry.
    PermissionsDenied,
    /// Opening the first session.
    Connecting,
    /// The session is up and audio flows.
    Live,
    /// The connection dropped; resuming the session.
    Reconnecting,
    /// Waiting for the server to confirm the end.
    Ending,
    /// The server is computing the results.
    ProcessingResults,
    /// The results are shown.
    ResultsReady,
    /// Something failed; the message is shown.
    Error,
}

impl InterviewPhase {
    /// Every phase, in the order of the seed's table.
    pub const ALL: [InterviewPhase; 11] = [
        InterviewPhase::Idle,
        InterviewPhase::Initializing,
        InterviewPhase::RequestingPermissions,
        InterviewPhase::PermissionsDenied,
        InterviewPhase::Connecting,
        InterviewPhase::Live,
        InterviewPhase::Reconnecting,
        InterviewPhase::Ending,
        InterviewPhase::ProcessingResults,
        InterviewPhase::ResultsReady,
        InterviewPhase::Error,
    ];

    /// The seed's name of this phase (also the view's `state` tag).
    pub fn name(self) -> &'static str {
        match self {
            InterviewPhase::Idle => "idle",
            InterviewPhase::Initializing => "initializing",
            InterviewPhase::RequestingPermissions => "requestingPermissions",
            InterviewPhase::PermissionsDenied => "permissionsDenied",
            InterviewPhase::Connecting => "connecting",
            InterviewPhase::Live => "live",
            InterviewPhase::Reconnecting => "reconnecting",
            InterviewPhase::Ending => "ending",
            InterviewPhase::ProcessingResults => "processingResults",
            InterviewPhase::ResultsReady => "resultsReady",
            InterviewPhase::Error => "error",
        }
    }

    /// Nothing is running — no record being created, no microphone, no
    /// socket, no results awaited — so the user may leave: sign out, start
    /// anew, or restart the engine under new settings.
    pub fn is_at_rest(self) -> bool {
        matches!(
            self,
            InterviewPhase::Idle
                | InterviewPhase::PermissionsDenied
                | InterviewPhase::ResultsReady
                | InterviewPhase::Error
        )
    }
}

impl fmt::Display for InterviewPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
