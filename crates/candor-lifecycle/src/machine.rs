//! The state machine itself: one enum per table of the seed, one transition
//! function for all of them, because they interact (an `UNAUTHENTICATED` error
//! in the middle of an interview signs the user out; starting an interview
//! needs a signed-in user).
//!
//! `handle(event, now)` either returns the actions the driver must perform, in
//! order, or a [`Rejected`] saying why the event is not valid here — in which
//! case nothing changed. Time only enters as the `now` argument; timers are
//! actions ([`Action::ArmTimer`]) answered by [`Event::TimerFired`].

use std::time::{Duration, Instant};

use crate::backoff::{Backoff, Jitter};
use crate::query::Query;
use crate::types::{Action, Event, Failure, FailureKind, MicProblem, Payloads, Rejected, Timer};
use crate::view::{AuthView, InterviewView, View};

/// Retry and timeout policy.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connection attempts before a new interview gives up (`connecting` → `error`).
    pub connect_attempts: u32,
    /// Resume attempts after a drop before giving up (`reconnecting` → `error`).
    pub reconnect_attempts: u32,
    /// How long after a drop the client keeps trying to resume. Keep it within
    /// the server's resume grace period.
    pub reconnect_window: Duration,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// How long `ending` waits for the server's `SessionEnded`.
    pub end_deadline: Duration,
    /// Interval between polls while the server processes results.
    pub results_poll_interval: Duration,
    /// How long `processingResults` waits in total.
    pub results_deadline: Duration,
    /// Failed results fetches (network) tolerated before `error`.
    pub results_retries: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_attempts: 5,
            reconnect_attempts: 30,
            reconnect_window: Duration::from_secs(55),
            backoff: Backoff::default(),
            end_deadline: Duration::from_secs(15),
            results_poll_interval: Duration::from_millis(750),
            results_deadline: Duration::from_secs(180),
            results_retries: 5,
        }
    }
}

#[derive(Debug)]
enum Auth<P: Payloads> {
    Unauthenticated {
        notice: Option<String>,
    },
    /// `stored`: verifying a token from the keyring (rather than a form submit).
    Authenticating {
        stored: bool,
    },
    Authenticated {
        profile: P::Profile,
    },
}

/// The socket's progress while (re)connecting, or during `ending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// `OpenSocket` issued, waiting for `SocketOpened`.
    Opening,
    /// `SendStart` issued, waiting for the server's `StartResponse`.
    Handshaking,
    /// Backing off; a `Reconnect` timer is armed.
    Waiting,
    /// Session established on an open socket (only used by `ending`: the
    /// `EndRequest` is sent, waiting for `SessionEnded`).
    Up,
}

impl Link {
    fn name(self) -> &'static str {
        match self {
            Link::Opening => "opening",
            Link::Handshaking => "handshaking",
            Link::Waiting => "waiting",
            Link::Up => "up",
        }
    }

    fn has_socket(self) -> bool {
        matches!(self, Link::Opening | Link::Handshaking | Link::Up)
    }
}

#[derive(Debug)]
enum Interview<P: Payloads> {
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
    Connecting {
        id: String,
        attempt: u32,
        link: Link,
    },
    Live {
        id: String,
        session: String,
    },
    Reconnecting {
        id: String,
        session: String,
        attempt: u32,
        since: Instant,
        link: Link,
        reason: String,
    },
    Ending {
        id: String,
        session: String,
        attempt: u32,
        link: Link,
    },
    ProcessingResults {
        id: String,
        failures: u32,
    },
    ResultsReady {
        id: String,
        results: P::Results,
    },
    Error {
        id: Option<String>,
        failure: Failure,
    },
}

impl<P: Payloads> Interview<P> {
    fn name(&self) -> &'static str {
        match self {
            Interview::Idle => "idle",
            Interview::Initializing => "initializing",
            Interview::RequestingPermissions { .. } => "requestingPermissions",
            Interview::PermissionsDenied { .. } => "permissionsDenied",
            Interview::Connecting { .. } => "connecting",
            Interview::Live { .. } => "live",
            Interview::Reconnecting { .. } => "reconnecting",
            Interview::Ending { .. } => "ending",
            Interview::ProcessingResults { .. } => "processingResults",
            Interview::ResultsReady { .. } => "resultsReady",
            Interview::Error { .. } => "error",
        }
    }

    /// States in which nothing is running and the user may leave (sign out, start anew).
    fn is_at_rest(&self) -> bool {
        matches!(
            self,
            Interview::Idle
                | Interview::ResultsReady { .. }
                | Interview::Error { .. }
                | Interview::PermissionsDenied { .. }
        )
    }

    fn holds_audio(&self) -> bool {
        matches!(
            self,
            Interview::RequestingPermissions { .. }
                | Interview::Connecting { .. }
                | Interview::Live { .. }
                | Interview::Reconnecting { .. }
        )
    }

    fn holds_socket(&self) -> bool {
        match self {
            Interview::Live { .. } => true,
            Interview::Connecting { link, .. }
            | Interview::Reconnecting { link, .. }
            | Interview::Ending { link, .. } => link.has_socket(),
            _ => false,
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            Interview::Idle | Interview::Initializing => None,
            Interview::RequestingPermissions { id }
            | Interview::PermissionsDenied { id, .. }
            | Interview::Connecting { id, .. }
            | Interview::Live { id, .. }
            | Interview::Reconnecting { id, .. }
            | Interview::Ending { id, .. }
            | Interview::ProcessingResults { id, .. }
            | Interview::ResultsReady { id, .. } => Some(id),
            Interview::Error { id, .. } => id.as_deref(),
        }
    }
}

/// Why an event was refused, before any state was touched.
type Refusal = &'static str;

/// The lifecycle core. See the crate docs.
#[derive(Debug)]
pub struct Machine<P: Payloads> {
    config: Config,
    jitter: Jitter,
    started: bool,
    auth: Auth<P>,
    interview: Interview<P>,
    history: Option<Query<P::History>>,
}

impl<P: Payloads> Machine<P> {
    /// A machine in `unauthenticated` / `idle`. `seed` drives the backoff jitter.
    pub fn new(config: Config, seed: u64) -> Self {
        Self {
            config,
            jitter: Jitter::new(seed),
            started: false,
            auth: Auth::Unauthenticated { notice: None },
            interview: Interview::Idle,
            history: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The seed's name of the state that decides what the user sees: the auth
    /// state until signed in, then the interview state.
    pub fn state_name(&self) -> &'static str {
        match &self.auth {
            Auth::Unauthenticated { .. } => "unauthenticated",
            Auth::Authenticating { .. } => "authenticating",
            Auth::Authenticated { .. } => self.interview.name(),
        }
    }

    /// [`Machine::state_name`] plus the connection's progress where it has one
    /// (e.g. `reconnecting:waiting`), for logs and tests.
    pub fn state_detail(&self) -> String {
        let link = match &self.interview {
            Interview::Connecting { link, .. }
            | Interview::Reconnecting { link, .. }
            | Interview::Ending { link, .. }
                if matches!(self.auth, Auth::Authenticated { .. }) =>
            {
                Some(*link)
            }
            _ => None,
        };
        match link {
            None => self.state_name().to_owned(),
            Some(link) => format!("{}:{}", self.state_name(), link.name()),
        }
    }

    /// Feeds one event. On `Ok`, the driver performs the actions in order; on
    /// `Err`, the event was not valid here and nothing changed.
    pub fn handle(&mut self, event: Event<P>, now: Instant) -> Result<Vec<Action<P>>, Rejected> {
        let state = self.state_name();
        let name = event.name();
        let mut out = Vec::new();
        match self.apply(event, now, &mut out) {
            Ok(()) => Ok(out),
            Err(reason) => {
                debug_assert!(out.is_empty(), "a refused event must not act");
                Err(Rejected {
                    state,
                    event: name,
                    reason,
                })
            }
        }
    }

    /// The snapshot the UI renders.
    pub fn view(&self) -> View<P::Profile, P::History, P::Results> {
        View {
            auth: match &self.auth {
                Auth::Unauthenticated { notice } => AuthView::Unauthenticated {
                    notice: notice.clone(),
                },
                Auth::Authenticating { .. } => AuthView::Authenticating,
                Auth::Authenticated { profile } => AuthView::Authenticated {
                    profile: profile.clone(),
                },
            },
            interview: self.interview_view(),
            history: self.history.clone(),
        }
    }

    fn interview_view(&self) -> InterviewView<P::Results> {
        let c = &self.config;
        match &self.interview {
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
            Interview::Connecting { id, attempt, .. } => InterviewView::Connecting {
                interview_id: id.clone(),
                attempt: *attempt,
                max_attempts: c.connect_attempts,
            },
            Interview::Live { id, session } => InterviewView::Live {
                interview_id: id.clone(),
                session_id: session.clone(),
            },
            Interview::Reconnecting {
                id,
                session,
                attempt,
                ..
            } => InterviewView::Reconnecting {
                interview_id: id.clone(),
                session_id: session.clone(),
                attempt: *attempt,
                max_attempts: c.reconnect_attempts,
            },
            Interview::Ending { id, .. } => InterviewView::Ending {
                interview_id: id.clone(),
            },
            Interview::ProcessingResults { id, .. } => InterviewView::ProcessingResults {
                interview_id: id.clone(),
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

    fn apply(
        &mut self,
        event: Event<P>,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
        match event {
            Event::AppStarted { stored_token } => self.app_started(stored_token, out),
            Event::SignIn { credentials } => {
                let Auth::Unauthenticated { .. } = self.auth else {
                    return Err("already signed in or signing in");
                };
                self.started = true;
                self.auth = Auth::Authenticating { stored: false };
                out.push(Action::SignIn { credentials });
                Ok(())
            }
            Event::SignedIn { profile } => {
                let Auth::Authenticating { .. } = self.auth else {
                    return Err("no sign-in is in progress");
                };
                self.auth = Auth::Authenticated { profile };
                self.interview = Interview::Idle;
                self.history = Some(Query::default());
                out.push(Action::FetchHistory);
                Ok(())
            }
            Event::SignInFailed { failure } => {
                let Auth::Authenticating { stored } = self.auth else {
                    return Err("no sign-in is in progress");
                };
                if stored && failure.kind == FailureKind::Unauthenticated {
                    out.push(Action::ForgetToken);
                }
                self.auth = Auth::Unauthenticated {
                    notice: Some(failure.message),
                };
                Ok(())
            }
            Event::SignOut => {
                self.require_signed_in()?;
                if !self.interview.is_at_rest() {
                    return Err("end the interview before signing out");
                }
                self.auth = Auth::Unauthenticated { notice: None };
                self.interview = Interview::Idle;
                self.history = None;
                out.push(Action::SignOutRemote);
                out.push(Action::ForgetToken);
                Ok(())
            }
            Event::RefreshHistory => {
                self.require_signed_in()?;
                let history = self.history.get_or_insert_with(Query::default);
                if !history.refetch() {
                    return Err("the history is already loading");
                }
                out.push(Action::FetchHistory);
                Ok(())
            }
            Event::HistoryLoaded { history } => {
                self.require_signed_in()?;
                match &mut self.history {
                    Some(query) if query.is_loading() => {
                        query.succeed(history);
                        Ok(())
                    }
                    _ => Err("no history request is in flight"),
                }
            }
            Event::HistoryFailed { failure } => {
                self.require_signed_in()?;
                if !self.history.as_ref().is_some_and(Query::is_loading) {
                    return Err("no history request is in flight");
                }
                if failure.kind == FailureKind::Unauthenticated {
                    self.session_expired(failure, out);
                } else if let Some(query) = &mut self.history {
                    query.fail(failure.message);
                }
                Ok(())
            }
            other => {
                self.require_signed_in()?;
                self.interview_event(other, now, out)
            }
        }
    }

    fn app_started(&mut self, stored_token: bool, out: &mut Vec<Action<P>>) -> Result<(), Refusal> {
        if self.started {
            return Err("the app has already started");
        }
        self.started = true;
        if stored_token {
            self.auth = Auth::Authenticating { stored: true };
            out.push(Action::VerifyStoredToken);
        }
        Ok(())
    }

    fn require_signed_in(&self) -> Result<(), Refusal> {
        match self.auth {
            Auth::Authenticated { .. } => Ok(()),
            _ => Err("sign in first"),
        }
    }

    fn interview_event(
        &mut self,
        event: Event<P>,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
        use Interview as I;

        // Failures that end the signed-in session apply in every state that can receive them.
        if let Event::ServerError { failure }
        | Event::InterviewCreateFailed { failure }
        | Event::ResultsFailed { failure } = &event
            && failure.kind == FailureKind::Unauthenticated
        {
            self.check_receives(&event)?;
            let (Event::ServerError { failure }
            | Event::InterviewCreateFailed { failure }
            | Event::ResultsFailed { failure }) = event
            else {
                unreachable!("matched above")
            };
            self.session_expired(failure, out);
            return Ok(());
        }

        match (&mut self.interview, event) {
            // --- start
            (
                I::Idle | I::ResultsReady { .. } | I::Error { .. },
                Event::StartInterview { setup },
            ) => {
                self.interview = I::Initializing;
                out.push(Action::CreateInterview { setup });
            }
            (
                I::Idle | I::ResultsReady { .. } | I::Error { .. },
                Event::ReviewResults { interview_id },
            ) => {
                self.interview = I::ProcessingResults {
                    id: interview_id,
                    failures: 0,
                };
                self.enter_processing(now, out);
            }
            (I::Initializing, Event::InterviewCreated { interview_id }) => {
                self.interview = I::RequestingPermissions { id: interview_id };
                out.push(Action::AcquireMicrophone);
            }
            (I::Initializing, Event::InterviewCreateFailed { failure }) => {
                self.fail(None, failure, out);
            }

            // --- microphone
            (I::RequestingPermissions { id }, Event::MicrophoneGranted) => {
                let id = std::mem::take(id);
                self.interview = I::Connecting {
                    id,
                    attempt: 1,
                    link: Link::Opening,
                };
                out.push(Action::OpenSocket);
            }
            (
                I::RequestingPermissions { id },
                Event::MicrophoneUnavailable { problem, message },
            ) => {
                let id = std::mem::take(id);
                match problem {
                    MicProblem::Denied | MicProblem::NoDevice => {
                        out.push(Action::ReleaseAudio);
                        self.interview = I::PermissionsDenied {
                            id,
                            problem,
                            message,
                        };
                    }
                    MicProblem::Failed => self.fail(
                        Some(id),
                        Failure::new(
                            FailureKind::Fatal,
                            format!("Could not open the microphone: {message}"),
                        ),
                        out,
                    ),
                }
            }
            (I::PermissionsDenied { id, .. }, Event::RetryPermissions) => {
                let id = std::mem::take(id);
                self.interview = I::RequestingPermissions { id };
                out.push(Action::AcquireMicrophone);
            }

            // --- leaving before live
            (
                I::Initializing
                | I::RequestingPermissions { .. }
                | I::PermissionsDenied { .. }
                | I::Connecting { .. },
                Event::Cancel,
            ) => {
                self.teardown(out);
                self.interview = I::Idle;
            }
            (
                I::ResultsReady { .. } | I::Error { .. } | I::PermissionsDenied { .. },
                Event::Dismiss,
            ) => {
                self.interview = I::Idle;
            }

            // --- connecting / reconnecting / ending: the socket's progress
            (
                I::Connecting { link, .. } | I::Reconnecting { link, .. } | I::Ending { link, .. },
                Event::SocketOpened,
            ) if *link == Link::Opening => {
                *link = Link::Handshaking;
                let (id, resume_session) = match &self.interview {
                    I::Connecting { id, .. } => (id.clone(), None),
                    I::Reconnecting { id, session, .. } | I::Ending { id, session, .. } => {
                        (id.clone(), Some(session.clone()))
                    }
                    _ => unreachable!("matched above"),
                };
                out.push(Action::SendStart {
                    interview_id: id,
                    resume_session,
                });
            }
            (I::Connecting { id, link, .. }, Event::SessionStarted { session_id, .. })
                if *link == Link::Handshaking =>
            {
                let id = std::mem::take(id);
                self.interview = I::Live {
                    id,
                    session: session_id,
                };
                out.push(Action::StartAudio);
            }
            (
                I::Reconnecting {
                    id, session, link, ..
                },
                Event::SessionStarted {
                    session_id,
                    resumed,
                },
            ) if *link == Link::Handshaking => {
                if !resumed || session_id != *session {
                    let id = std::mem::take(id);
                    self.fail(
                        Some(id),
                        Failure::new(
                            FailureKind::Fatal,
                            "The server could not resume the interview session.",
                        ),
                        out,
                    );
                } else {
                    let (id, session) = (std::mem::take(id), std::mem::take(session));
                    self.interview = I::Live { id, session };
                }
            }
            (I::Ending { link, .. }, Event::SessionStarted { .. })
                if *link == Link::Handshaking =>
            {
                *link = Link::Up;
                out.push(Action::SendEnd);
            }
            (
                I::Connecting { link, .. } | I::Reconnecting { link, .. } | I::Ending { link, .. },
                Event::TimerFired {
                    timer: Timer::Reconnect,
                },
            ) if *link == Link::Waiting => {
                *link = Link::Opening;
                if let I::Connecting { attempt, .. }
                | I::Reconnecting { attempt, .. }
                | I::Ending { attempt, .. } = &mut self.interview
                {
                    *attempt += 1;
                }
                out.push(Action::OpenSocket);
            }
            (
                I::Connecting { link, .. } | I::Reconnecting { link, .. } | I::Ending { link, .. },
                Event::ConnectionLost { reason },
            ) if link.has_socket() => {
                self.connection_lost(reason, now, out);
            }
            (I::Live { .. }, Event::ConnectionLost { reason }) => {
                self.connection_lost(reason, now, out);
            }

            // --- server notices on an established or handshaking socket
            (I::Live { .. }, Event::GoAway) => {
                self.begin_reconnect("The server asked to reconnect.".into(), now, out);
                out.insert(0, Action::CloseSocket);
            }
            (I::Ending { link, .. }, Event::GoAway) if *link == Link::Up => {
                *link = Link::Opening;
                out.push(Action::CloseSocket);
                out.push(Action::OpenSocket);
            }
            (state, Event::ServerError { failure }) if receives_server_messages(state) => {
                if failure.kind == FailureKind::Retryable {
                    out.push(Action::CloseSocket);
                    self.connection_lost(failure.message, now, out);
                } else {
                    let id = state.id().map(str::to_owned);
                    self.fail(id, failure, out);
                }
            }
            (
                state,
                Event::SessionEnded {
                    results_pending,
                    message,
                },
            ) if receives_server_messages(state) => {
                let id = state.id().map(str::to_owned).unwrap_or_default();
                if results_pending {
                    self.teardown(out);
                    self.interview = I::ProcessingResults { id, failures: 0 };
                    self.enter_processing(now, out);
                } else {
                    let message = if message.is_empty() {
                        "The interview ended before any results could be produced.".to_owned()
                    } else {
                        format!("The interview ended: {message}")
                    };
                    self.fail(Some(id), Failure::new(FailureKind::Fatal, message), out);
                }
            }
            (
                I::Connecting { id, .. } | I::Live { id, .. } | I::Reconnecting { id, .. },
                Event::AudioFailed { message },
            ) => {
                let id = std::mem::take(id);
                self.fail(
                    Some(id),
                    Failure::new(
                        FailureKind::Fatal,
                        format!("The microphone stopped working: {message}"),
                    ),
                    out,
                );
            }

            // --- ending
            (I::Live { id, session }, Event::EndInterview) => {
                let (id, session) = (std::mem::take(id), std::mem::take(session));
                self.interview = I::Ending {
                    id,
                    session,
                    attempt: 0,
                    link: Link::Up,
                };
                out.push(Action::ReleaseAudio);
                out.push(Action::SendEnd);
                out.push(self.arm(Timer::EndDeadline, now + self.config.end_deadline));
            }
            (
                I::Reconnecting {
                    id,
                    session,
                    attempt,
                    link,
                    ..
                },
                Event::EndInterview,
            ) => {
                let (id, session, attempt, link) =
                    (std::mem::take(id), std::mem::take(session), *attempt, *link);
                self.interview = I::Ending {
                    id,
                    session,
                    attempt,
                    link,
                };
                out.push(Action::ReleaseAudio);
                out.push(self.arm(Timer::EndDeadline, now + self.config.end_deadline));
            }
            (
                I::Ending { id, .. },
                Event::TimerFired {
                    timer: Timer::EndDeadline,
                },
            ) => {
                let id = std::mem::take(id);
                self.fail(
                    Some(id),
                    Failure::new(
                        FailureKind::Retryable,
                        "The server did not confirm the end of the interview. If it was saved, \
                         its results will appear in your history.",
                    ),
                    out,
                );
            }

            // --- results
            (I::ProcessingResults { .. }, Event::ResultsPending) => {
                let at = now + self.config.results_poll_interval;
                out.push(self.arm(Timer::ResultsPoll, at));
            }
            (
                I::ProcessingResults { id, .. },
                Event::TimerFired {
                    timer: Timer::ResultsPoll,
                },
            ) => {
                out.push(Action::FetchResults {
                    interview_id: id.clone(),
                });
            }
            (I::ProcessingResults { id, .. }, Event::ResultsReady { results }) => {
                let id = std::mem::take(id);
                self.interview = I::ResultsReady { id, results };
                if let Some(history) = &mut self.history
                    && history.refetch()
                {
                    out.push(Action::FetchHistory);
                }
            }
            (I::ProcessingResults { id, failures }, Event::ResultsFailed { failure }) => {
                *failures += 1;
                if failure.kind == FailureKind::Retryable
                    && *failures <= self.config.results_retries
                {
                    let delay = self
                        .config
                        .backoff
                        .delay(*failures - 1, self.jitter.next_unit());
                    let at = now + delay.max(self.config.results_poll_interval);
                    out.push(self.arm(Timer::ResultsPoll, at));
                } else {
                    let id = std::mem::take(id);
                    let failure = Failure::new(
                        failure.kind,
                        format!("Could not load your results: {}", failure.message),
                    );
                    self.fail(Some(id), failure, out);
                }
            }
            (
                I::ProcessingResults { id, .. },
                Event::TimerFired {
                    timer: Timer::ResultsDeadline,
                },
            ) => {
                let id = std::mem::take(id);
                self.fail(
                    Some(id),
                    Failure::new(
                        FailureKind::Retryable,
                        "Your results are taking longer than expected. They will appear in your \
                         history when ready.",
                    ),
                    out,
                );
            }

            (state, event) => return Err(refusal(state, &event)),
        }
        Ok(())
    }

    /// Checks, without changing anything, that the state can receive this
    /// failure report (used for the sign-out path, which applies everywhere it can arrive).
    fn check_receives(&self, event: &Event<P>) -> Result<(), Refusal> {
        let ok = match event {
            Event::ServerError { .. } => receives_server_messages(&self.interview),
            Event::InterviewCreateFailed { .. } => {
                matches!(self.interview, Interview::Initializing)
            }
            Event::ResultsFailed { .. } => {
                matches!(self.interview, Interview::ProcessingResults { .. })
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(refusal(&self.interview, event))
        }
    }

    fn arm(&self, timer: Timer, at: Instant) -> Action<P> {
        Action::ArmTimer { timer, at }
    }

    fn enter_processing(&mut self, now: Instant, out: &mut Vec<Action<P>>) {
        if let Interview::ProcessingResults { id, .. } = &self.interview {
            out.push(Action::FetchResults {
                interview_id: id.clone(),
            });
        }
        out.push(self.arm(Timer::ResultsDeadline, now + self.config.results_deadline));
    }

    /// Live → reconnecting, first attempt at once.
    fn begin_reconnect(&mut self, reason: String, now: Instant, out: &mut Vec<Action<P>>) {
        let Interview::Live { id, session } = &mut self.interview else {
            return;
        };
        let (id, session) = (std::mem::take(id), std::mem::take(session));
        self.interview = Interview::Reconnecting {
            id,
            session,
            attempt: 1,
            since: now,
            link: Link::Opening,
            reason,
        };
        out.push(Action::OpenSocket);
    }

    /// The socket is gone (or is being abandoned). Decides: retry now, back
    /// off, or give up — per state.
    fn connection_lost(&mut self, reason: String, now: Instant, out: &mut Vec<Action<P>>) {
        let config = self.config.clone();
        match &mut self.interview {
            Interview::Live { .. } => self.begin_reconnect(reason, now, out),
            Interview::Connecting { id, attempt, link } => {
                *link = Link::Waiting; // the socket is gone
                if *attempt >= config.connect_attempts {
                    let id = std::mem::take(id);
                    let message = format!(
                        "Could not connect to the interview server after {} attempts ({reason}).",
                        config.connect_attempts
                    );
                    self.fail(Some(id), Failure::new(FailureKind::Retryable, message), out);
                } else {
                    let delay = config.backoff.delay(*attempt - 1, self.jitter.next_unit());
                    out.push(Action::ArmTimer {
                        timer: Timer::Reconnect,
                        at: now + delay,
                    });
                }
            }
            Interview::Reconnecting {
                id,
                attempt,
                since,
                link,
                reason: last_reason,
                ..
            } => {
                *link = Link::Waiting; // the socket is gone
                let window_over = now.saturating_duration_since(*since) >= config.reconnect_window;
                if *attempt >= config.reconnect_attempts || window_over {
                    let id = std::mem::take(id);
                    let message = format!(
                        "Lost the connection to the interview server and could not reconnect \
                         ({reason})."
                    );
                    self.fail(Some(id), Failure::new(FailureKind::Retryable, message), out);
                } else {
                    *last_reason = reason;
                    let delay = config.backoff.delay(*attempt - 1, self.jitter.next_unit());
                    out.push(Action::ArmTimer {
                        timer: Timer::Reconnect,
                        at: now + delay,
                    });
                }
            }
            Interview::Ending { attempt, link, .. } => {
                // The end deadline bounds these attempts.
                if *link == Link::Up {
                    *link = Link::Opening;
                    *attempt += 1;
                    out.push(Action::OpenSocket);
                } else {
                    *link = Link::Waiting;
                    let delay = config
                        .backoff
                        .delay(attempt.saturating_sub(1), self.jitter.next_unit());
                    out.push(Action::ArmTimer {
                        timer: Timer::Reconnect,
                        at: now + delay,
                    });
                }
            }
            _ => {}
        }
    }

    /// Releases what the current interview state holds.
    fn teardown(&mut self, out: &mut Vec<Action<P>>) {
        if self.interview.holds_audio() {
            out.push(Action::ReleaseAudio);
        }
        if self.interview.holds_socket() {
            out.push(Action::CloseSocket);
        }
    }

    fn fail(&mut self, id: Option<String>, failure: Failure, out: &mut Vec<Action<P>>) {
        self.teardown(out);
        self.interview = Interview::Error { id, failure };
    }

    /// The backend says the token is no good: sign out from wherever we are.
    fn session_expired(&mut self, failure: Failure, out: &mut Vec<Action<P>>) {
        self.teardown(out);
        out.push(Action::ForgetToken);
        let notice = if failure.message.is_empty() {
            "Your session has expired. Please sign in again.".to_owned()
        } else {
            failure.message
        };
        self.auth = Auth::Unauthenticated {
            notice: Some(notice),
        };
        self.interview = Interview::Idle;
        self.history = None;
    }
}

/// Whether the state has a socket on which the server can talk (so a server
/// message is plausible): live, or handshaking / established in the others.
fn receives_server_messages<P: Payloads>(state: &Interview<P>) -> bool {
    match state {
        Interview::Live { .. } => true,
        Interview::Connecting { link, .. }
        | Interview::Reconnecting { link, .. }
        | Interview::Ending { link, .. } => matches!(link, Link::Handshaking | Link::Up),
        _ => false,
    }
}

/// The reason an interview event is invalid in a state.
fn refusal<P: Payloads>(state: &Interview<P>, event: &Event<P>) -> Refusal {
    use Interview as I;
    match (state, event) {
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
        (I::Connecting { .. } | I::Reconnecting { .. } | I::Ending { .. }, Event::SocketOpened) => {
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
