//! What the UI shows: a serializable snapshot of the three state machines,
//! named exactly as in the seed's tables (`requestingPermissions`, `live`, …).
//! The UI renders it and holds no lifecycle logic of its own.

use serde::Serialize;

use crate::phase::InterviewPhase;
use crate::query::Query;
use crate::types::{FailureKind, MicProblem};

/// The whole application state, as pushed to the UI after every change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct View<Profile, History, Results> {
    pub auth: AuthView<Profile>,
    pub interview: InterviewView<Results>,
    /// The history query; `None` while signed out.
    pub history: Option<Query<History>>,
}

/// The seed's authentication table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AuthView<Profile> {
    /// Sign-in page. `notice` explains why, e.g. after a session expired.
    Unauthenticated { notice: Option<String> },
    /// Spinner / disabled sign-in button.
    Authenticating,
    /// Dashboard with the user's name in the header.
    Authenticated { profile: Profile },
}

/// The seed's interview lifecycle table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum InterviewView<Results> {
    Idle,
    Initializing,
    RequestingPermissions {
        interview_id: String,
    },
    PermissionsDenied {
        interview_id: String,
        problem: MicProblem,
        message: String,
    },
    Connecting {
        interview_id: String,
        /// 1-based attempt number.
        attempt: u32,
        max_attempts: u32,
    },
    Live {
        interview_id: String,
        session_id: String,
    },
    Reconnecting {
        interview_id: String,
        session_id: String,
        attempt: u32,
        max_attempts: u32,
    },
    Ending {
        interview_id: String,
    },
    ProcessingResults {
        interview_id: String,
    },
    ResultsReady {
        interview_id: String,
        results: Results,
    },
    Error {
        interview_id: Option<String>,
        kind: FailureKind,
        message: String,
    },
}

impl<R> InterviewView<R> {
    /// The phase this view shows.
    pub fn phase(&self) -> InterviewPhase {
        match self {
            InterviewView::Idle => InterviewPhase::Idle,
            InterviewView::Initializing => InterviewPhase::Initializing,
            InterviewView::RequestingPermissions { .. } => InterviewPhase::RequestingPermissions,
            InterviewView::PermissionsDenied { .. } => InterviewPhase::PermissionsDenied,
            InterviewView::Connecting { .. } => InterviewPhase::Connecting,
            InterviewView::Live { .. } => InterviewPhase::Live,
            InterviewView::Reconnecting { .. } => InterviewPhase::Reconnecting,
            InterviewView::Ending { .. } => InterviewPhase::Ending,
            InterviewView::ProcessingResults { .. } => InterviewPhase::ProcessingResults,
            InterviewView::ResultsReady { .. } => InterviewPhase::ResultsReady,
            InterviewView::Error { .. } => InterviewPhase::Error,
        }
    }

    /// The seed's name of this state.
    pub fn name(&self) -> &'static str {
        self.phase().name()
    }

    /// Nothing is running, so the user may leave (see [`InterviewPhase::is_at_rest`]).
    pub fn is_at_rest(&self) -> bool {
        self.phase().is_at_rest()
    }
}

impl<P> AuthView<P> {
    /// The seed's name of this state.
    pub fn name(&self) -> &'static str {
        match self {
            AuthView::Unauthenticated { .. } => "unauthenticated",
            AuthView::Authenticating => "authenticating",
            AuthView::Authenticated { .. } => "authenticated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serialized_state_tag_is_the_phase_name() {
        let views: [InterviewView<u8>; 11] = [
            InterviewView::Idle,
            InterviewView::Initializing,
            InterviewView::RequestingPermissions {
                interview_id: "i".into(),
            },
            InterviewView::PermissionsDenied {
                interview_id: "i".into(),
                problem: MicProblem::Denied,
                message: "no".into(),
            },
            InterviewView::Connecting {
                interview_id: "i".into(),
                attempt: 1,
                max_attempts: 5,
            },
            InterviewView::Live {
                interview_id: "i".into(),
                session_id: "s".into(),
            },
            InterviewView::Reconnecting {
                interview_id: "i".into(),
                session_id: "s".into(),
                attempt: 1,
                max_attempts: 5,
            },
            InterviewView::Ending {
                interview_id: "i".into(),
            },
            InterviewView::ProcessingResults {
                interview_id: "i".into(),
            },
            InterviewView::ResultsReady {
                interview_id: "i".into(),
                results: 7,
            },
            InterviewView::Error {
                interview_id: None,
                kind: FailureKind::Fatal,
                message: "x".into(),
            },
        ];
        let phases: Vec<InterviewPhase> = views.iter().map(InterviewView::phase).collect();
        assert_eq!(phases, InterviewPhase::ALL);
        for view in &views {
            let json = serde_json::to_value(view).unwrap();
            assert_eq!(json["state"], view.name());
        }
    }
}
