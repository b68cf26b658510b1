//! The vocabulary of the state machine: what comes in ([`Event`]), what the
//! driver must do ([`Action`]), why an event was refused ([`Rejected`]), and the
//! payload types the embedding application chooses ([`Payloads`]).

use std::fmt::Debug;
use std::time::Instant;

use serde::Serialize;

/// The application's own data types, carried through the machine untouched.
/// The core never looks inside them, so it needs no API or protocol crate.
pub trait Payloads: 'static {
    /// What the sign-in form submits (passed straight to [`Action::SignIn`]).
    type Credentials: Debug;
    /// The signed-in user, shown in the header.
    type Profile: Debug + Clone + Serialize;
    /// The interview set-up the user filled in (role, seniority, …).
    type Setup: Debug;
    /// The history list (the data-fetching query).
    type History: Debug + Clone + Serialize;
    /// The feedback of a finished interview.
    type Results: Debug + Clone + Serialize;
}

/// How a failure should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum FailureKind {
    /// The token is missing, wrong or expired: sign out; never retried.
    Unauthenticated,
    /// May succeed later (network, overload): retried with backoff.
    Retryable,
    /// Will not succeed by retrying (not found, forbidden, bad request).
    Fatal,
}

/// A failure reported by the driver, with a message fit for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Why the microphone could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MicProblem {
    /// The OS (or the user at its prompt) denied access: `permissionsDenied`.
    Denied,
    /// No input device is present: `permissionsDenied`, retry once plugged in.
    NoDevice,
    /// Any other device failure: `error`.
    Failed,
}

/// The timers the machine arms. The driver keeps at most one per kind; arming
/// one again replaces it. A timer that fires after its state was left is
/// rejected harmlessly, so the driver never needs to cancel one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Timer {
    /// The backoff before the next connection attempt.
    Reconnect,
    /// How long `ending` waits for the server's `SessionEnded`.
    EndDeadline,
    /// The next poll for results.
    ResultsPoll,
    /// How long `processingResults` waits in total.
    ResultsDeadline,
}

/// Everything that can happen: user intents and what the driver observed.
#[derive(Debug)]
pub enum Event<P: Payloads> {
    // --- authentication
    /// The app launched; `stored_token` says whether the keyring holds a token.
    AppStarted {
        stored_token: bool,
    },
    /// The user submitted the sign-in form (or chose the offline profile).
    SignIn {
        credentials: P::Credentials,
    },
    /// Sign-in or token verification succeeded.
    SignedIn {
        profile: P::Profile,
    },
    /// Sign-in or token verification failed.
    SignInFailed {
        failure: Failure,
    },
    /// The user signed out.
    SignOut,

    // --- history (data fetching)
    /// The user asked to reload the history (e.g. "Retry").
    RefreshHistory,
    HistoryLoaded {
        history: P::History,
    },
    HistoryFailed {
        failure: Failure,
    },

    // --- interview: intents
    /// The user clicked "Start Interview".
    StartInterview {
        setup: P::Setup,
    },
    /// The user retries after a microphone denial.
    RetryPermissions,
    /// The user abandons an interview before it is live.
    Cancel,
    /// The user clicked "End Interview".
    EndInterview,
    /// The user leaves the results, error or denial screen for the dashboard.
    Dismiss,
    /// The user opens the results of a past interview from the history.
    ReviewResults {
        interview_id: String,
    },

    // --- interview: what the driver observed
    InterviewCreated {
        interview_id: String,
    },
    InterviewCreateFailed {
        failure: Failure,
    },
    MicrophoneGranted,
    MicrophoneUnavailable {
        problem: MicProblem,
        message: String,
    },
    /// The WebSocket is open (the `StartRequest` is not sent yet).
    SocketOpened,
    /// The server sent `StartResponse`.
    SessionStarted {
        session_id: String,
        resumed: bool,
    },
    /// The socket could not be opened, or closed/fell silent unexpectedly.
    ConnectionLost {
        reason: String,
    },
    /// The server sent `GoAway`: reconnect now, before it cuts the socket.
    GoAway,
    /// The server sent `Error`.
    ServerError {
        failure: Failure,
    },
    /// The audio device failed for good (it could not be reopened).
    AudioFailed {
        message: String,
    },
    /// The server sent `SessionEnded`.
    SessionEnded {
        results_pending: bool,
        message: String,
    },
    /// The results endpoint says "processing".
    ResultsPending,
    ResultsReady {
        results: P::Results,
    },
    ResultsFailed {
        failure: Failure,
    },
    /// A timer armed by [`Action::ArmTimer`] is due.
    TimerFired {
        timer: Timer,
    },
}

/// What the driver must do, in order.
#[derive(Debug, PartialEq)]
pub enum Action<P: Payloads> {
    /// Check the token from the keyring with the backend (who-am-I).
    VerifyStoredToken,
    /// Sign in with these credentials; store the token on success.
    SignIn { credentials: P::Credentials },
    /// Revoke the token on the backend (best effort).
    SignOutRemote,
    /// Delete the token from the keyring.
    ForgetToken,
    /// Load the interview history.
    FetchHistory,
    /// Create the interview record with the data API.
    CreateInterview { setup: P::Setup },
    /// Open the microphone, which shows the OS permission prompt.
    AcquireMicrophone,
    /// Open the WebSocket to the backend.
    OpenSocket,
    /// Send `StartRequest`; with `resume_session` set, resume that session.
    SendStart {
        interview_id: String,
        resume_session: Option<String>,
    },
    /// Start streaming: capture → socket, socket → speaker.
    StartAudio,
    /// Stop capture and playback and release the devices.
    ReleaseAudio,
    /// Send `EndRequest` (after any audio still owed to the server).
    SendEnd,
    /// Close the WebSocket.
    CloseSocket,
    /// Ask the data API for this interview's results.
    FetchResults { interview_id: String },
    /// Feed [`Event::TimerFired`] at `at` (replacing any timer of that kind).
    ArmTimer { timer: Timer, at: Instant },
}

/// An event refused because it is not valid in the current state. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub state: &'static str,
    pub event: &'static str,
    pub reason: &'static str,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not valid in state {}: {}",
            self.event, self.state, self.reason
        )
    }
}

impl std::error::Error for Rejected {}

impl<P: Payloads> Event<P> {
    /// The event's name, for logs and rejections.
    pub fn name(&self) -> &'static str {
        match self {
            Event::AppStarted { .. } => "AppStarted",
            Event::SignIn { .. } => "SignIn",
            Event::SignedIn { .. } => "SignedIn",
            Event::SignInFailed { .. } => "SignInFailed",
            Event::SignOut => "SignOut",
            Event::RefreshHistory => "RefreshHistory",
            Event::HistoryLoaded { .. } => "HistoryLoaded",
            Event::HistoryFailed { .. } => "HistoryFailed",
            Event::StartInterview { .. } => "StartInterview",
            Event::RetryPermissions => "RetryPermissions",
            Event::Cancel => "Cancel",
            Event::EndInterview => "EndInterview",
            Event::Dismiss => "Dismiss",
            Event::ReviewResults { .. } => "ReviewResults",
            Event::InterviewCreated { .. } => "InterviewCreated",
            Event::InterviewCreateFailed { .. } => "InterviewCreateFailed",
            Event::MicrophoneGranted => "MicrophoneGranted",
            Event::MicrophoneUnavailable { .. } => "MicrophoneUnavailable",
            Event::SocketOpened => "SocketOpened",
            Event::SessionStarted { .. } => "SessionStarted",
            Event::ConnectionLost { .. } => "ConnectionLost",
            Event::GoAway => "GoAway",
            Event::ServerError { .. } => "ServerError",
            Event::AudioFailed { .. } => "AudioFailed",
            Event::SessionEnded { .. } => "SessionEnded",
            Event::ResultsPending => "ResultsPending",
            Event::ResultsReady { .. } => "ResultsReady",
            Event::ResultsFailed { .. } => "ResultsFailed",
            Event::TimerFired { .. } => "TimerFired",
        }
    }
}
