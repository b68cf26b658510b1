//! The data API calls the driver spawns, each ending in the [`Internal`]
//! message that reports its outcome to the lifecycle core.

use candor_lifecycle::{Event, Failure, FailureKind};

use super::Internal;
use crate::api::{ApiClient, ApiFailure};
use crate::ipc::{Candor, Credentials, History, InterviewSetup, InterviewSummary, Results};

/// Checks a token kept from an earlier run.
pub(super) async fn verify_token(api: ApiClient, token: String) -> Internal {
    match api.me(&token).await {
        Ok(user) => Internal::SignedIn { token, user },
        Err(e) => sign_in_failed(e),
    }
}

pub(super) async fn sign_in(api: ApiClient, credentials: Credentials) -> Internal {
    let result = match &credentials {
        Credentials::Password { email, password } => api.sign_in(email, password).await,
        Credentials::NewAccount { email, password } => create_account(&api, email, password).await,
        Credentials::Offline { name } => api.sign_in_local(name).await,
    };
    match result {
        Ok(auth) => Internal::SignedIn {
            token: auth.token,
            user: auth.user,
        },
        Err(e) => sign_in_failed(e),
    }
}

/// Registers, then signs in to the new account. The server answers a
/// taken email like a new one, so a refused sign-in right after means the
/// email already had an account with another password.
async fn create_account(
    api: &ApiClient,
    email: &str,
    password: &str,
) -> Result<candor_api::AuthResponse, ApiFailure> {
    api.register(email, password).await?;
    api.sign_in(email, password).await.map_err(|e| match e {
        ApiFailure::Unauthenticated(_) => ApiFailure::Rejected(
            "Could not sign in to a new account with this email: it may already have one. Sign in with its password instead.".into(),
        ),
        other => other,
    })
}

fn sign_in_failed(e: ApiFailure) -> Internal {
    Internal::Event(Event::SignInFailed {
        failure: e.to_failure(),
    })
}

/// Revokes the token on the server; the user is signed out locally whatever
/// the answer.
pub(super) async fn sign_out(api: ApiClient, token: String) {
    if let Err(e) = api.sign_out(&token).await {
        tracing::info!(error = %e, "sign-out on the server failed");
    }
}

/// The newest `limit` interviews, page after page of the data API.
pub(super) async fn history(api: ApiClient, token: String, limit: u32) -> Internal {
    Internal::Event(match history_pages(&api, &token, limit).await {
        Ok(history) => Event::HistoryLoaded { history },
        Err(e) => Event::HistoryFailed {
            failure: Failure::new(
                e.to_failure().kind,
                format!("Could not load interview history. {e}"),
            ),
        },
    })
}

/// The server's largest page.
const MAX_PAGE: u32 = 100;

async fn history_pages(api: &ApiClient, token: &str, limit: u32) -> Result<History, ApiFailure> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let want = (limit as usize - items.len()).min(MAX_PAGE as usize) as u32;
        let page = api.history_page(token, want, cursor.as_deref()).await?;
        items.extend(page.items.iter().map(InterviewSummary::from));
        cursor = page.next_cursor;
        if cursor.is_none() || items.len() >= limit as usize {
            return Ok(History {
                items,
                has_more: cursor.is_some(),
            });
        }
    }
}

pub(super) async fn create_interview(
    api: ApiClient,
    token: String,
    setup: InterviewSetup,
) -> Internal {
    Internal::Event(
        match api.create_interview(&token, &setup.to_request()).await {
            Ok(interview) => Event::InterviewCreated {
                interview_id: interview.id,
            },
            Err(e) => Event::InterviewCreateFailed {
                failure: e.to_failure(),
            },
        },
    )
}

/// The results of `interview_id`, or why there are none (yet).
pub(super) async fn results(
    api: ApiClient,
    token: String,
    interview_id: String,
    engine: String,
) -> Internal {
    Internal::Event(fetch_results(api, token, interview_id, engine).await)
}

async fn fetch_results(
    api: ApiClient,
    token: String,
    interview_id: String,
    engine: String,
) -> Event<Candor> {
    let failed = |e: ApiFailure| Event::ResultsFailed {
        failure: e.to_failure(),
    };
    let results = match api.results(&token, &interview_id).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    match results {
        candor_api::ResultsResponse::Processing => Event::ResultsPending,
        candor_api::ResultsResponse::NotStarted => Event::ResultsFailed {
            failure: Failure::new(
                FailureKind::Fatal,
                "This interview has no recorded session, so there are no results.",
            ),
        },
        candor_api::ResultsResponse::Failed { message } => Event::ResultsFailed {
            failure: Failure::new(FailureKind::Fatal, message),
        },
        candor_api::ResultsResponse::Ready { feedback, attempts } => {
            match api.interview(&token, &interview_id).await {
                Ok(interview) => Event::ResultsReady {
                    results: Results::from_api(&interview, &feedback, &attempts, engine),
                },
                Err(e) => failed(e),
            }
        }
    }
}
