//! What the UI shows: a serializable snapshot of the three state machines,
//! named exactly as in the seed's tables (`requestingPermissions`, `live`, …).
//! The UI renders it and holds no lifecycle logic of its own.

use serde::Serialize;

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
    /// The seed's name of this state.
    pub fn name(&self) -> &'static str {
        match self {
            InterviewView::Idle => "idle",
            InterviewView::Initializing => "initializing",
            InterviewView::RequestingPermissions { .. } => "requestingPermissions",
            InterviewView::PermissionsDenied { .. } => "permissionsDenied",
            InterviewView::Connecting { .. } => "connecting",
            InterviewView::Live { .. } => "live",
            InterviewView::Reconnecting { .. } => "reconnecting",
            InterviewView::Ending { .. } => "ending",
            InterviewView::ProcessingResults { .. } => "processingResults",
            InterviewView::ResultsReady { .. } => "resultsReady",
            InterviewView::Error { .. } => "error",
        }
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
