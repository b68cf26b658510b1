//! The seed's authentication table (`unauthenticated` → `authenticating` →
//! `authenticated`) and the two ways out of a signed-in session: the user
//! signing out, and the backend refusing the token mid-way.

use super::interview::Interview;
use super::{Machine, Refusal};
use crate::query::Query;
use crate::types::{Action, Failure, FailureKind, Payloads};
use crate::view::AuthView;

#[derive(Debug)]
pub(super) enum Auth<P: Payloads> {
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

impl<P: Payloads> Auth<P> {
    pub(super) fn is_signed_in(&self) -> bool {
        matches!(self, Auth::Authenticated { .. })
    }

    pub(super) fn view(&self) -> AuthView<P::Profile> {
        match self {
            Auth::Unauthenticated { notice } => AuthView::Unauthenticated {
                notice: notice.clone(),
            },
            Auth::Authenticating { .. } => AuthView::Authenticating,
            Auth::Authenticated { profile } => AuthView::Authenticated {
                profile: profile.clone(),
            },
        }
    }
}

impl<P: Payloads> Machine<P> {
    pub(super) fn app_started(
        &mut self,
        stored_token: bool,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
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

    pub(super) fn sign_in(
        &mut self,
        credentials: P::Credentials,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
        let Auth::Unauthenticated { .. } = self.auth else {
            return Err("already signed in or signing in");
        };
        self.started = true;
        self.auth = Auth::Authenticating { stored: false };
        out.push(Action::SignIn { credentials });
        Ok(())
    }

    pub(super) fn signed_in(
        &mut self,
        profile: P::Profile,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
        let Auth::Authenticating { .. } = self.auth else {
            return Err("no sign-in is in progress");
        };
        self.auth = Auth::Authenticated { profile };
        self.interview = Interview::Idle;
        self.history = Some(Query::default());
        out.push(Action::FetchHistory);
        Ok(())
    }

    pub(super) fn sign_in_failed(
        &mut self,
        failure: Failure,
        out: &mut Vec<Action<P>>,
    ) -> Result<(), Refusal> {
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

    pub(super) fn sign_out(&mut self, out: &mut Vec<Action<P>>) -> Result<(), Refusal> {
        self.require_signed_in()?;
        if !self.interview.phase().is_at_rest() {
            return Err("end the interview before signing out");
        }
        self.auth = Auth::Unauthenticated { notice: None };
        self.interview = Interview::Idle;
        self.history = None;
        out.push(Action::SignOutRemote);
        out.push(Action::ForgetToken);
        Ok(())
    }

    pub(super) fn require_signed_in(&self) -> Result<(), Refusal> {
        if self.auth.is_signed_in() {
            Ok(())
        } else {
            Err("sign in first")
        }
    }

    /// The backend says the token is no good: sign out from wherever we are.
    pub(super) fn session_expired(&mut self, failure: Failure, out: &mut Vec<Action<P>>) {
        self.interview.release(out);
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
