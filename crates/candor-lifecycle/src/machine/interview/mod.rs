//! The seed's interview lifecycle table. Each state carries only the data
//! valid in it, and each phase has its own short handler (one module per
//! phase or pair of alike phases) that answers one question: given this
//! event, what next ([`Next`])? The machine applies the verdict.
//!
//! Actions belong to one of two places. What every way into a phase needs —
//! `requestingPermissions` asks for the microphone, `connecting` and
//! `reconnecting` open a socket, `ending` stops the audio and arms its
//! deadline, `processingResults` fetches and arms its deadline — are the
//! phase's entry actions ([`Interview::entered`]). What a single transition
//! needs (e.g. `StartAudio` when the first session starts) its handler pushes.
//! Releasing the audio and the socket on the way out is [`Next::Leave`] /
//! [`Next::Fail`], decided from what the phase holds.
//!
//! A handler that does not accept an event gives it back untouched and
//! pushes nothing; [`refusal`] then names the reason.

mod connecting;
mod ending;
mod link;
mod live;
mod reconnecting;
mod rest;
mod results;
mod setup;

use std::time::{Duration, Instant};

use self::connecting::Connecting;
use self::ending::Ending;
use self::live::Live;
use self::reconnecting::Reconnecting;
use self::results::Processing;
use super::Config;
use super::Refusal;
use crate::backoff::Jitter;
use crate::phase::InterviewPhase;
use crate::types::{Action, Event, Failure, FailureKind, MicProblem, Payloads, Timer};
use crate::view::InterviewView;

#[derive(Debug)]
pub(super) enum Interview<P: Payloads> {
    Idle,
    Initializing,
    RequestingPermissions {
        id: String,
    },
    PermissionsDenied {
        id: String,
        problem: MicProblem,
        message: String,
    },
    Connecting(Connecting),
    Live(Live),
    Reconnecting(Reconnecting),
    Ending(Ending),
    ProcessingResults(Processing),
    ResultsReady {
        id: String,
        results: P::Results,
    },
    Error {
        id: Option<String>,
        failure: Failure,
    },
}

/// A phase handler's verdict on an event it accepted.
#[derive(Debug)]
pub(super) enum Next<P: Payloads> {
    /// Stay in this phase (which may have updated itself).
    Stay,
    /// Enter another phase, keeping the audio and socket this one holds.
    Go(Interview<P>),
    /// Release what this phase holds, then enter another.
    Leave(Interview<P>),
    /// Release what this phase holds and show the error.
    Fail(Failure),
    /// The backend refused the token: sign out from here.
    SessionExpired(Failure),
}

/// A handler's answer: a verdict, or the event given back as not valid here.
pub(super) type Handled<P> = Result<Next<P>, Event<P>>;

/// What a handler may use besides its own state: the policy, the jitter
/// draws, the current time and the list of actions to perform.
pub(super) struct Cx<'a, P: Payloads> {
    config: &'a Config,
    jitter: &'a mut Jitter,
    now: Instant,
    out: &'a mut Vec<Action<P>>,
}

impl<'a, P: Payloads> Cx<'a, P> {
    pub(super) fn new(
        config: &'a Config,
        jitter: &'a mut Jitter,
        now: Instant,
        out: &'a mut Vec<Action<P>>,
    ) -> Self {
        Self {
            config,
            jitter,
            now,
            out,
        }
    }

    fn config(&self) -> &Config {
        self.config
    }

    fn now(&self) -> Instant {
        self.now
    }

    fn act(&mut self, action: Action<P>) {
        self.out.push(action);
    }

    /// Arms `timer` to fire `after` from now.
    fn arm(&mut self, timer: Timer, after: Duration) {
        let at = self.now + after;
        self.act(Action::ArmTimer { timer, at });
    }

    /// The jittered delay after the `failures`-th failure in a row (1-based).
    fn backoff(&mut self, failures: u32) -> Duration {
        let draw = self.jitter.next_unit();
        self.config.backoff.delay(failures.saturating_sub(1), draw)
    }
}

impl<P: Payloads> Interview<P> {
    pub(super) fn phase(&self) -> InterviewPhase {
        match self {
            Interview::Idle => InterviewPhase::Idle,
            Interview::Initializing => InterviewPhase::Initializing,
            Interview::RequestingPermissions { .. } => InterviewPhase::RequestingPermissions,
            Interview::PermissionsDenied { .. } => InterviewPhase::PermissionsDenied,
            Interview::Connecting(_) => InterviewPhase::Connecting,
            Interview::Live(_) => InterviewPhase::Live,
            Interview::Reconnecting(_) => InterviewPhase::Reconnecting,
            Interview::Ending(_) => InterviewPhase::Ending,
            Interview::ProcessingResults(_) => InterviewPhase::ProcessingResults,
            Interview::ResultsReady { .. } => InterviewPhase::ResultsReady,
            Interview::Error { .. } => InterviewPhase::Error,
        }
    }

    /// The connection's progress, in the phases that have one.
    pub(super) fn link_name(&self) -> Option<&'static str> {
        match self {
            Interview::Connecting(phase) => Some(phase.dial.link.name()),
            Interview::Reconnecting(phase) => Some(phase.dial.link.name()),
            Interview::Ending(phase) => Some(phase.link.name()),
            _ => None,
        }
    }

    pub(super) fn id(&self) -> Option<&str> {
        match self {
            Interview::Idle | Interview::Initializing => None,
            Interview::RequestingPermissions { id }
            | Interview::PermissionsDenied { id, .. }
            | Interview::ResultsReady { id, .. } => Some(id),
            Interview::Connecting(phase) => Some(&phase.id),
            Interview::Live(phase) => Some(&phase.id),
            Interview::Reconnecting(phase) => Some(&phase.id),
            Interview::Ending(phase) => Some(&phase.id),
            Interview::ProcessingResults(phase) => Some(&phase.id),
            Interview::Error { id, .. } => id.as_deref(),
        }
    }

    /// Feeds the event to the current phase's handler.
    pub(super) fn handle(&mut self, event: Event<P>, cx: &mut Cx<'_, P>) -> Handled<P> {
        match self {
            Interview::Idle => rest::idle(event, cx),
            Interview::Initializing => setup::initializing(event),
            Interview::RequestingPermissions { id } => setup::requesting_permissions(id, event),
            Interview::PermissionsDenied { id, .. } => setup::permissions_denied(id, event),
            Interview::Connecting(phase) => phase.handle(event, cx),
            Interview::Live(phase) => phase.handle(event, cx),
            Interview::Reconnecting(phase) => phase.handle(event, cx),
            Interview::Ending(phase) => phase.handle(event, cx),
            Interview::ProcessingResults(phase) => phase.handle(event, cx),
            Interview::ResultsReady { .. } | Interview::Error { .. } => rest::outcome(event, cx),
        }
    }

    /// The entry actions of the phase just entered (see the module docs).
    pub(super) fn entered(&self, cx: &mut Cx<'_, P>) {
        match self {
            Interview::RequestingPermissions { .. } => cx.act(Action::AcquireMicrophone),
            Interview::Connecting(_) | Interview::Reconnecting(_) => cx.act(Action::OpenSocket),
            Interview::Ending(phase) => phase.entered(cx),
            Interview::ProcessingResults(phase) => phase.entered(cx),
            _ => {}
        }
    }

    /// Releases the audio and the socket this phase holds.
    pub(super) fn release(&self, out: &mut Vec<Action<P>>) {
        if self.holds_audio() {
            out.push(Action::ReleaseAudio);
        }
        if self.holds_socket() {
            out.push(Action::CloseSocket);
        }
    }

    fn holds_audio(&self) -> bool {
        matches!(
            self,
            Interview::RequestingPermissions { .. }
                | Interview::Connecting(_)
                | Interview::Live(_)
                | Interview::Reconnecting(_)
        )
    }

    fn holds_socket(&self) -> bool {
        match self {
            Interview::Live(_) => true,
            Interview::Connecting(phase) => phase.dial.link.has_socket(),
            Interview::Reconnecting(phase) => phase.dial.link.has_socket(),
            Interview::Ending(phase) => phase.link.has_socket(),
            _ => false,
        }
    }

    pub(super) fn view(&self, config: &Config) -> InterviewView<P::Results> {
        match self {
            Interview::Idle => InterviewView::Idle,
            Interview::Initializing => InterviewView::Initializing,
            Interview::RequestingPermissions { id } => InterviewView::RequestingPermissions {
                interview_id: id.clone(),
            },
            Interview::PermissionsDenied {
                id,
                problem,
                message,
            } => InterviewView::PermissionsDenied {
                interview_id: id.clone(),
                problem: *problem,
                message: message.clone(),
            },
            Interview::Connecting(phase) => InterviewView::Connecting {
                interview_id: phase.id.clone(),
                attempt: phase.dial.attempt,
                max_attempts: config.connect_attempts,
            },
            Interview::Live(phase) => InterviewView::Live {
                interview_id: phase.id.clone(),
                session_id: phase.session.clone(),
            },
            Interview::Reconnecting(phase) => InterviewView::Reconnecting {
                interview_id: phase.id.clone(),
                session_id: phase.session.clone(),
                attempt: phase.dial.attempt,
                max_attempts: config.reconnect_attempts,
            },
            Interview::Ending(phase) => InterviewView::Ending {
                interview_id: phase.id.clone(),
            },
            Interview::ProcessingResults(phase) => InterviewView::ProcessingResults {
                interview_id: phase.id.clone(),
            },
            Interview::ResultsReady { id, results } => InterviewView::ResultsReady {
                interview_id: id.clone(),
                results: results.clone(),
            },
            Interview::Error { id, failure } => InterviewView::Error {
                interview_id: id.clone(),
                kind: failure.kind,
                message: failure.message.clone(),
            },
        }
    }
}

/// The server's `Error` on a socket where it can talk: sign out, drop the
/// socket and treat it as lost (`lost` decides what then), or fail.
fn server_error<P: Payloads>(
    failure: Failure,
    cx: &mut Cx<'_, P>,
    lost: impl FnOnce(String, &mut Cx<'_, P>) -> Next<P>,
) -> Next<P> {
    match failure.kind {
        FailureKind::Unauthenticated => Next::SessionExpired(failure),
        FailureKind::Retryable => {
            cx.act(Action::CloseSocket);
            lost(failure.message, cx)
        }
        FailureKind::Fatal => Next::Fail(failure),
    }
}

/// The server's `SessionEnded`: on to the results, or an error if there
/// will be none.
fn session_ended<P: Payloads>(id: &str, results_pending: bool, message: String) -> Next<P> {
    if results_pending {
        return Next::Leave(Interview::ProcessingResults(Processing::new(id)));
    }
    let message = if message.is_empty() {
        "The interview ended before any results could be produced.".to_owned()
    } else {
        format!("The interview ended: {message}")
    };
    Next::Fail(Failure::new(FailureKind::Fatal, message))
}

/// The audio device failed for good.
fn audio_failed<P: Payloads>(message: String) -> Next<P> {
    Next::Fail(Failure::new(
        FailureKind::Fatal,
        format!("The interview had to stop: {message}"),
    ))
}

/// The reason an interview event is invalid in a phase.
pub(super) fn refusal<P: Payloads>(phase: InterviewPhase, event: &Event<P>) -> Refusal {
    use InterviewPhase as Ph;
    match (phase, event) {
        (_, Event::StartInterview { .. }) => "an interview is already under way",
        (_, Event::EndInterview) => "no live interview to end",
        (_, Event::Cancel) => "nothing to cancel here; use End Interview once live",
        (_, Event::Dismiss) => "this screen cannot be dismissed",
        (_, Event::ReviewResults { .. }) => "finish the current interview first",
        (_, Event::RetryPermissions) => "the microphone was not denied",
        (_, Event::InterviewCreated { .. } | Event::InterviewCreateFailed { .. }) => {
            "no interview is being created"
        }
        (_, Event::MicrophoneGranted | Event::MicrophoneUnavailable { .. }) => {
            "the microphone was not requested"
        }
        (Ph::Connecting | Ph::Reconnecting | Ph::Ending, Event::SocketOpened) => {
            "no socket is being opened"
        }
        (_, Event::SocketOpened) => "no connection is wanted in this state",
        (_, Event::SessionStarted { .. }) => "no StartRequest is awaiting an answer",
        (_, Event::ConnectionLost { .. }) => "no socket is open",
        (_, Event::GoAway) => "no established session to move",
        (_, Event::ServerError { .. } | Event::SessionEnded { .. }) => {
            "no socket is open to the server"
        }
        (_, Event::AudioFailed { .. }) => "audio is not running",
        (_, Event::ResultsPending | Event::ResultsReady { .. } | Event::ResultsFailed { .. }) => {
            "no results are awaited"
        }
        (_, Event::TimerFired { .. }) => "that timer belongs to a state that was left",
        _ => "not an interview event",
    }
}
