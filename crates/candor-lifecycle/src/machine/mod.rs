//! The state machine itself: one enum per table of the seed, one entry point
//! for all of them, because they interact (an `UNAUTHENTICATED` error in the
//! middle of an interview signs the user out; starting an interview needs a
//! signed-in user).
//!
//! `handle(event, now)` either returns the actions the driver must perform, in
//! order, or a [`Rejected`] saying why the event is not valid here — in which
//! case nothing changed. Time only enters as the `now` argument; timers are
//! actions ([`Action::ArmTimer`]) answered by [`Event::TimerFired`].
//!
//! Layout: `auth` and `history` handle their tables' events; `interview`
//! holds the interview lifecycle, one handler per phase, whose verdict
//! ([`interview::Next`]) this module applies, because some verdicts reach
//! beyond the interview (signing out, reloading the history).

mod auth;
mod config;
mod history;
mod interview;

use std::time::Instant;

pub use config::Config;

use self::auth::Auth;
use self::interview::{Cx, Interview, Next};
use crate::backoff::Jitter;
use crate::phase::InterviewPhase;
use crate::query::Query;
use crate::types::{Action, Event, Payloads, Rejected};
use crate::view::View;

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

    /// The interview's phase. It is [`InterviewPhase::Idle`] whenever nobody
    /// is signed in, so e.g. `== InterviewPhase::Live` needs no auth check.
    pub fn interview_phase(&self) -> InterviewPhase {
        self.interview.phase()
    }

    /// The seed's name of the state that decides what the user sees: the auth
    /// state until signed in, then the interview state.
    pub fn state_name(&self) -> &'static str {
        match &self.auth {
            Auth::Unauthenticated { .. } => "unauthenticated",
            Auth::Authenticating { .. } => "authenticating",
            Auth::Authenticated { .. } => self.interview.phase().name(),
        }
    }

    /// [`Machine::state_name`] plus the connection's progress where it has one
    /// (e.g. `reconnecting:waiting`), for logs and tests.
    pub fn state_detail(&self) -> String {
        match self.interview.link_name() {
            Some(link) if self.auth.is_signed_in() => format!("{}:{link}", self.state_name()),
            _ => self.state_name().to_owned(),
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
            auth: self.auth.view(),
            interview: self.interview.view(&self.config),
            history: self.history.clone(),
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
            Event::SignIn { credentials } => self.sign_in(credentials, out),
            Event::SignedIn { profile } => self.signed_in(profile, out),
            Event::SignInFailed { failure } => self.sign_in_failed(failure, out),
            Event::SignOut => self.sign_out(out),
            Event::RefreshHistory => self.refresh_history(out),
            Event::HistoryLoaded { history } => self.history_loaded(history),
            Event::HistoryFailed { failure } => self.history_failed(failure, out),
            interview_event => {
                self.require_signed_in()?;
                self.interview_event(interview_event, now, out)
            }
        }
    }

    /// Hands the event to the current phase's handler and applies its verdict.
    fn interview_event(
        &mut self,
        event: Event<P>,
        now: Instant,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
        let mut cx = Cx::new(&self.config, &mut self.jitter, now, out);
        let next = match self.interview.handle(event, &mut cx) {
            Ok(next) => next,
            Err(event) => return Err(interview::refusal(self.interview.phase(), &event)),
        };
        match next {
            Next::Stay => {}
            Next::Go(to) => self.enter(to, now, out),
            Next::Leave(to) => {
                self.interview.release(out);
                self.enter(to, now, out);
            }
            Next::Fail(failure) => {
                let id = self.interview.id().map(str::to_owned);
                self.interview.release(out);
                self.enter(Interview::Error { id, failure }, now, out);
            }
            Next::SessionExpired(failure) => self.session_expired(failure, out),
        }
        Ok(())
    }

    /// Makes `to` the interview's state and performs its entry actions.
    fn enter(&mut self, to: Interview<P>, now: Instant, out: &mut Vec<Action<P>>) {
        self.interview = to;
        self.interview
            .entered(&mut Cx::new(&self.config, &mut self.jitter, now, out));
        if let Interview::ResultsReady { .. } = self.interview {
            self.history_is_stale(out);
        }
    }
}
