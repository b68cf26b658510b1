//! The HTTP JSON data API (the seed's tRPC role): sign-in, interviews,
//! results. Bodies are the `candor-api` types; every failure is an
//! `ApiError` body with its status. Users only ever see their own interviews.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use candor_api::{
    ApiError, AuthResponse, CreateInterviewRequest, DEFAULT_QUESTIONS, ErrorCode, Feedback,
    Interview, InterviewPage, InterviewStatus, ListInterviewsQuery, LocalSignInRequest,
    MAX_QUESTIONS, MAX_TEXT_BYTES, Outcome, RegisterRequest, RegisterResponse, ResultsResponse,
    RetryOf, RetryTarget, ScoreValue, SignInRequest, User, paths,
};
use utoipa::OpenApi;

use crate::Shared;
use crate::auth::{self, now_ms, token_hash};
use crate::retry::{self, NotRetryable};
use crate::store::{InterviewRecord, ListCursor, RetryOfRecord, StoreError, UserRecord};
use crate::throttle::{Throttled, client_ip};

/// An API failure: status from the code, JSON body, and for a throttled
/// request a `Retry-After` header.
#[derive(Debug)]
pub struct HttpError(pub ApiError, pub Option<Duration>);

impl HttpError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(ApiError::new(code, message), None)
    }
}

impl From<Throttled> for HttpError {
    fn from(t: Throttled) -> Self {
        let secs = t.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        HttpError(
            ApiError::new(
                ErrorCode::ResourceExhausted,
                format!("Too many attempts. Try again in {secs} s."),
            ),
            Some(Duration::from_secs(secs)),
        )
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.error.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self.0)).into_response();
        if let Some(after) = self.1 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        response
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                HttpError::new(ErrorCode::Conflict, format!("That {what} already exists."))
            }
            StoreError::NotFound(what) => {
                HttpError::new(ErrorCode::NotFound, format!("No such {what}."))
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                HttpError::new(ErrorCode::Internal, "Something went wrong on the server.")
            }
        }
    }
}

impl From<JsonRejection> for HttpError {
    fn from(e: JsonRejection) -> Self {
        HttpError::new(ErrorCode::InvalidArgument, e.body_text())
    }
}

impl From<QueryRejection> for HttpError {
    fn from(e: QueryRejection) -> Self {
        HttpError::new(ErrorCode::InvalidArgument, e.body_text())
    }
}

type ApiResult<T> = Result<T, HttpError>;

/// The signed-in user of a request (`Authorization: Bearer <token>`).
#[derive(Debug)]
pub struct AuthUser {
    pub user: UserRecord,
    token_hash: String,
}

impl FromRequestParts<Arc<Shared>> for AuthUser {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Shared>) -> Result<Self, HttpError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                HttpError::new(
                    ErrorCode::Unauthenticated,
                    "Sign in first: no bearer token.",
                )
            })?;
        let hash = token_hash(token);
        let h = hash.clone();
        let user = state
            .db
            .run(move |s| s.user_by_token(&h, now_ms()))
            .await?
            .ok_or_else(|| {
                HttpError::new(
                    ErrorCode::Unauthenticated,
                    "Sign in again: the token is unknown or expired.",
                )
            })?;
        Ok(AuthUser {
            user,
            token_hash: hash,
        })
    }
}

fn user_json(u: &UserRecord) -> User {
    User {
        id: u.id.clone(),
        email: u.email.clone().unwrap_or_default(),
        display_name: u.display_name.clone(),
        local: u.local_profile.is_some(),
        created_at_ms: u.created_at_ms,
    }
}

fn interview_json(i: InterviewRecord) -> Interview {
    Interview {
        id: i.id,
        role: i.role,
        seniority: i.seniority,
        job_description: i.job_description,
        cv_text: i.cv_text,
        question_count: i.question_count,
        status: i.status,
        created_at_ms: i.created_at_ms,
        updated_at_ms: i.updated_at_ms,
        outcome: None,
        retry_of: i.retry_of.map(|r| RetryOf {
            interview_id: r.interview_id,
            question_index: r.question_index,
            question: r.question,
        }),
    }
}

async fn issue_token(shared: &Shared, user: &UserRecord) -> ApiResult<AuthResponse> {
    let token = auth::new_token();
    let hash = token_hash(&token);
    let now = now_ms();
    let expires = now + shared.config.token_ttl.as_millis() as i64;
    let uid = user.id.clone();
    shared
        .db
        .run(move |s| s.insert_token(&hash, &uid, now, expires))
        .await?;
    Ok(AuthResponse {
        token,
        expires_at_ms: expires,
        user: user_json(user),
    })
}

fn normalise_email(email: &str) -> ApiResult<String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(a, b)| {
            !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.')
        });
    if !valid {
        return Err(HttpError::new(
            ErrorCode::InvalidArgument,
            "Enter a valid email address.",
        ));
    }
    Ok(e)
}

#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 202, body = RegisterResponse, description = "the same answer whether or not the email was registered before: sign in next"),
        (status = 400, body = ApiError), (status = 429, body = ApiError)))]
async fn register(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<RegisterRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let ip = client_ip(shared.config.trust_forwarded_for, peer, &headers);
    shared.throttle.check_ip(ip)?;
    let Json(req) = body?;
    let email = normalise_email(&req.email)?;
    if req.password.chars().count() < 8 || req.password.len() > 1024 {
        return Err(HttpError::new(
            ErrorCode::InvalidArgument,
            "The password must be 8 to 1024 characters.",
        ));
    }
    let password = req.password;
    let hash = shared
        .throttle
        .hash(move || auth::hash_password(&password))
        .await?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            HttpError::new(ErrorCode::Internal, "Something went wrong on the server.")
        })?;
    let display_name = req
        .display_name
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let user = UserRecord {
        id: auth::new_id(),
        email: Some(email),
        display_name,
        password_hash: Some(hash),
        local_profile: None,
        created_at_ms: now_ms(),
    };
    // A taken email gets the same answer as a new account (the hash above
    // was computed either way, so the timing matches too).
    match shared.db.run(move |s| s.create_user(&user)).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(other) => return Err(other.into()),
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(RegisterResponse {
            message:
                "If this email was not registered yet, the account now exists: sign in with it."
                    .into(),
        }),
    ))
}

#[utoipa::path(post, path = "/v1/auth/sign-in", tag = "auth", request_body = SignInRequest,
    responses((status = 200, body = AuthResponse), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
async fn sign_in(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignInRequest>, JsonRejection>,
) -> ApiResult<Json<AuthResponse>> {
    let ip = client_ip(shared.config.trust_forwarded_for, peer, &headers);
    shared.throttle.check_ip(ip).inspect_err(|t| {
        tracing::warn!(%ip, retry_after_s = t.retry_after.as_secs(), "sign-in throttled (address)");
    })?;
    let Json(req) = body?;
    let wrong = || HttpError::new(ErrorCode::Unauthenticated, "Wrong email or password.");
    let email = normalise_email(&req.email).map_err(|_| wrong())?;
    shared.throttle.check_account(&email, ip).inspect_err(|t| {
        tracing::warn!(%ip, retry_after_s = t.retry_after.as_secs(), "sign-in throttled (account)");
    })?;
    let e = email.clone();
    let user = shared.db.run(move |s| s.user_by_email(&e)).await?;
    let password = req.password;
    // Verify even for an unknown email so timing does not reveal which emails exist.
    let (user, ok) = shared
        .throttle
        .hash(move || {
            const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
            let hash = user.as_ref().and_then(|u| u.password_hash.clone());
            let ok = auth::verify_password(&password, hash.as_deref().unwrap_or(DUMMY));
            (user, ok && hash.is_some())
        })
        .await?;
    match user {
        Some(u) if ok => {
            shared.throttle.succeeded(&email, ip);
            Ok(Json(issue_token(&shared, &u).await?))
        }
        _ => {
            shared.throttle.failed(&email, ip);
            Err(wrong())
        }
    }
}

#[utoipa::path(post, path = "/v1/auth/local", tag = "auth", request_body = LocalSignInRequest,
    responses((status = 200, body = AuthResponse), (status = 404, body = ApiError, description = "local profiles are disabled on this server")))]
async fn local_sign_in(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<LocalSignInRequest>, JsonRejection>,
) -> ApiResult<Json<AuthResponse>> {
    if !shared.config.allow_local_profiles {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            "Local profiles are not enabled on this server.",
        ));
    }
    let Json(req) = body?;
    let profile = req
        .profile
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    if profile.len() > 64 {
        return Err(HttpError::new(
            ErrorCode::InvalidArgument,
            "The profile name is too long.",
        ));
    }
    let new = UserRecord {
        id: auth::new_id(),
        email: None,
        display_name: profile.clone(),
        password_hash: None,
        local_profile: Some(profile),
        created_at_ms: now_ms(),
    };
    let user = shared.db.run(move |s| s.local_user(&new)).await?;
    Ok(Json(issue_token(&shared, &user).await?))
}

#[utoipa::path(post, path = "/v1/auth/sign-out", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ApiError)))]
async fn sign_out(State(shared): State<Arc<Shared>>, auth: AuthUser) -> ApiResult<StatusCode> {
    let hash = auth.token_hash;
    shared.db.run(move |s| s.delete_token(&hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ApiError)))]
async fn me(auth: AuthUser) -> Json<User> {
    Json(user_json(&auth.user))
}

#[utoipa::path(post, path = "/v1/interviews", tag = "interviews", security(("bearer" = [])),
    request_body = CreateInterviewRequest,
    responses((status = 201, body = Interview), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError, description = "the user's interview limit is reached"),
        (status = 404, body = ApiError, description = "a retry's interview does not exist or is someone else's")))]
async fn create_interview(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    body: Result<Json<CreateInterviewRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Interview>)> {
    let Json(req) = body?;
    let now = now_ms();
    let record = match req.retry {
        Some(target) => {
            let (target, retry_of) = retry_target(&shared, &auth, target).await?;
            InterviewRecord {
                id: auth::new_id(),
                user_id: auth.user.id.clone(),
                role: target.role,
                seniority: target.seniority,
                job_description: target.job_description,
                cv_text: target.cv_text,
                question_count: 1,
                status: InterviewStatus::Created,
                created_at_ms: now,
                updated_at_ms: now,
                retry_of: Some(retry_of),
            }
        }
        None => {
            let count = req.question_count.unwrap_or(DEFAULT_QUESTIONS);
            if count == 0 || count > MAX_QUESTIONS {
                return Err(HttpError::new(
                    ErrorCode::InvalidArgument,
                    format!("question_count must be 1 to {MAX_QUESTIONS}."),
                ));
            }
            let clean = |t: Option<String>, what: &str| -> ApiResult<Option<String>> {
                match t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
                    Some(t) if t.len() > MAX_TEXT_BYTES => Err(HttpError::new(
                        ErrorCode::InvalidArgument,
                        format!("The {what} is longer than {} KiB.", MAX_TEXT_BYTES / 1024),
                    )),
                    other => Ok(other),
                }
            };
            InterviewRecord {
                id: auth::new_id(),
                user_id: auth.user.id.clone(),
                role: req.role,
                seniority: req.seniority,
                job_description: clean(req.job_description, "job description")?,
                cv_text: clean(req.cv_text, "CV text")?,
                question_count: count,
                status: InterviewStatus::Created,
                created_at_ms: now,
                updated_at_ms: now,
                retry_of: None,
            }
        }
    };
    let uid = auth.user.id.clone();
    let created = shared.db.run(move |s| s.count_interviews(&uid)).await?;
    let max = shared.config.limits.max_interviews_per_user;
    if created >= max {
        return Err(HttpError::new(
            ErrorCode::PermissionDenied,
            format!("You have reached the limit of {max} interviews."),
        ));
    }
    let r = record.clone();
    shared.db.run(move |s| s.create_interview(&r)).await?;
    Ok((StatusCode::CREATED, Json(interview_json(record))))
}

/// The interview a retry answers a question of, and what the retry links
/// to. The interview must be the caller's (another user's is answered as
/// missing: the request names it in its body, not its path), have results,
/// and have asked the question.
async fn retry_target(
    shared: &Shared,
    auth: &AuthUser,
    target: RetryTarget,
) -> ApiResult<(InterviewRecord, RetryOfRecord)> {
    let interview = own_interview(shared, auth, target.interview_id)
        .await
        .map_err(|e| match e.0.error.code {
            ErrorCode::NotFound | ErrorCode::PermissionDenied => HttpError::new(
                ErrorCode::NotFound,
                "There is no such interview of yours to answer again.",
            ),
            _ => e,
        })?;
    let feedback = match interview.status {
        InterviewStatus::Ready => {
            let iid = interview.id.clone();
            shared
                .db
                .run(move |s| s.results(&iid))
                .await?
                .map(|json| serde_json::from_str::<Feedback>(&json))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
        }
        _ => None,
    };
    let index = target.question_index;
    match retry::link(&interview, feedback.as_ref(), index) {
        Ok(link) => Ok((interview, link)),
        Err(NotRetryable::NotReady) => Err(HttpError::new(
            ErrorCode::InvalidArgument,
            "Only an interview with results can be answered again, and this one has none yet.",
        )),
        Err(NotRetryable::NoSuchQuestion { asked }) if asked.is_empty() => Err(HttpError::new(
            ErrorCode::InvalidArgument,
            "That interview asked no question, so there is none to answer again.",
        )),
        Err(NotRetryable::NoSuchQuestion { asked }) => {
            let asked: Vec<String> = asked.iter().map(u32::to_string).collect();
            Err(HttpError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "That interview has no question {index}: question_index must be one of {}.",
                    asked.join(", ")
                ),
            ))
        }
    }
}

fn encode_cursor(i: &InterviewRecord) -> String {
    format!("{}_{}", i.created_at_ms, i.id)
}

fn decode_cursor(c: &str) -> ApiResult<ListCursor> {
    let bad = || HttpError::new(ErrorCode::InvalidArgument, "Invalid cursor.");
    let (ms, id) = c.split_once('_').ok_or_else(bad)?;
    Ok(ListCursor {
        created_at_ms: ms.parse().map_err(|_| bad())?,
        id: id.to_owned(),
    })
}

#[utoipa::path(get, path = "/v1/interviews", tag = "interviews", security(("bearer" = [])),
    params(("limit" = Option<u32>, Query, description = "1..=100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = InterviewPage), (status = 401, body = ApiError)))]
async fn list_interviews(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    query: Result<Query<ListInterviewsQuery>, QueryRejection>,
) -> ApiResult<Json<InterviewPage>> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > 100 {
        return Err(HttpError::new(
            ErrorCode::InvalidArgument,
            "limit must be 1 to 100.",
        ));
    }
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let uid = auth.user.id.clone();
    // One extra row tells whether another page exists.
    let mut rows = shared
        .db
        .run(move |s| s.list_interviews(&uid, cursor.as_ref(), limit + 1))
        .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(encode_cursor)
    } else {
        None
    };
    let ready: Vec<String> = rows
        .iter()
        .filter(|i| i.status == InterviewStatus::Ready)
        .map(|i| i.id.clone())
        .collect();
    let mut outcomes = shared.db.run(move |s| s.outcomes(&ready)).await?;
    let items = rows
        .into_iter()
        .map(|i| {
            let outcome = outcomes
                .iter()
                .position(|o| o.interview_id == i.id)
                .map(|at| outcomes.swap_remove(at))
                .map(|o| Outcome {
                    duration_ms: o.duration_ms,
                    scores: o
                        .scores
                        .into_iter()
                        .map(|(name, value)| ScoreValue { name, value })
                        .collect(),
                });
            Interview {
                outcome,
                ..interview_json(i)
            }
        })
        .collect();
    Ok(Json(InterviewPage { items, next_cursor }))
}

/// The interview, if it exists and is the user's.
async fn own_interview(shared: &Shared, auth: &AuthUser, id: String) -> ApiResult<InterviewRecord> {
    let interview = shared
        .db
        .run(move |s| s.interview(&id))
        .await?
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, "No such interview."))?;
    if interview.user_id != auth.user.id {
        return Err(HttpError::new(
            ErrorCode::PermissionDenied,
            "This interview belongs to someone else.",
        ));
    }
    Ok(interview)
}

#[utoipa::path(get, path = "/v1/interviews/{id}", tag = "interviews", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Interview), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_interview(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Interview>> {
    Ok(Json(interview_json(
        own_interview(&shared, &auth, id).await?,
    )))
}

#[utoipa::path(get, path = "/v1/interviews/{id}/results", tag = "interviews", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ResultsResponse), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_results(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ResultsResponse>> {
    let interview = own_interview(&shared, &auth, id).await?;
    Ok(Json(match interview.status {
        InterviewStatus::Created => ResultsResponse::NotStarted,
        InterviewStatus::InProgress | InterviewStatus::Processing => ResultsResponse::Processing,
        InterviewStatus::Failed => ResultsResponse::Failed {
            message: "The feedback for this interview could not be computed.".into(),
        },
        InterviewStatus::Ready => {
            let me = interview.clone();
            let (json, related) = shared
                .db
                .run(move |s| {
                    let json = s.results(&me.id)?.ok_or(StoreError::NotFound("results"))?;
                    Ok((json, retry::related(s, &me)?))
                })
                .await?;
            let feedback: Feedback =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let attempts = retry::attempts(&interview, &feedback, related);
            ResultsResponse::Ready { feedback, attempts }
        }
    }))
}

#[utoipa::path(delete, path = "/v1/interviews/{id}", tag = "interviews", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "the interview and everything stored for it are deleted"),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError, description = "the interview is live: end it first")))]
async fn delete_interview(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let interview = own_interview(&shared, &auth, id).await?;
    // A live session still writes audio and transcript for the interview;
    // its recorder would bring rows back after the delete.
    if shared.hub.interview_is_live(&interview.id) {
        return Err(HttpError::new(
            ErrorCode::Conflict,
            "This interview is still running: end it before deleting it.",
        ));
    }
    let iid = interview.id.clone();
    let erasure = shared
        .db
        .run(move |s| s.delete_interview(&iid))
        .await?
        .ok_or(StoreError::NotFound("interview"))?;
    tracing::info!(
        interview = %interview.id,
        sessions = erasure.sessions,
        audio_bytes = erasure.audio_bytes,
        wiped = erasure.wiped,
        "interview deleted"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/interviews/{id}/export", tag = "interviews", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/zip",
            description = "README.txt, interview.ogg and answer-NN.ogg (the candidate's voice, Ogg Opus), transcript.txt, transcript.vtt, report.html"),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError, description = "the interview has no results yet")))]
async fn export_interview(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let interview = own_interview(&shared, &auth, id).await?;
    let iid = interview.id.clone();
    let store = shared.db.store().clone();
    let packed = tokio::task::spawn_blocking(move || {
        let bundle = crate::export::build(store.as_ref(), &iid)?;
        Ok::<_, crate::export::ExportError>((bundle.folder.clone(), bundle.to_zip()?))
    })
    .await
    .map_err(|e| HttpError::from(StoreError::Join(e.to_string())))?;
    let (folder, zip) = packed.map_err(|e| {
        export_failure(
            e,
            "export",
            "This interview has no results yet, so there is nothing to export.",
            "The interview could not be exported.",
        )
    })?;
    let disposition = format!("attachment; filename=\"{folder}.zip\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        zip,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/interviews/{id}/audio/{file}", tag = "interviews", security(("bearer" = [])),
    params(("id" = String, Path), ("file" = String, Path, description = "interview.ogg or answer-NN.ogg"),
        ("Range" = Option<String>, Header, description = "one byte range (bytes=a-b, bytes=a-, bytes=-n)")),
    responses((status = 200, content_type = "audio/ogg", description = "the candidate's voice, Ogg Opus"),
        (status = 206, content_type = "audio/ogg", description = "the range asked for"),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError, description = "no results yet"),
        (status = 416, description = "the range starts past the end")))]
async fn interview_audio(
    State(shared): State<Arc<Shared>>,
    auth: AuthUser,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let interview = own_interview(&shared, &auth, id).await?;
    let iid = interview.id.clone();
    let store = shared.db.store().clone();
    let built =
        tokio::task::spawn_blocking(move || crate::export::audio_file(store.as_ref(), &iid, &file))
            .await
            .map_err(|e| HttpError::from(StoreError::Join(e.to_string())))?;
    let file = built
        .map_err(|e| {
            export_failure(
                e,
                "replay audio",
                "This interview has no results yet, so there is nothing to replay.",
                "The interview's audio could not be read.",
            )
        })?
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, "This interview has no such audio."))?;
    Ok(ranged_body(
        file.bytes,
        "audio/ogg",
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
    ))
}

/// An export (or one of its files) that could not be built: the store's
/// own error, 409 before results (`not_ready`), else logged as `what` and
/// answered with `failed`.
fn export_failure(
    e: crate::export::ExportError,
    what: &str,
    not_ready: &str,
    failed: &str,
) -> HttpError {
    match e {
        crate::export::ExportError::Store(e) => e.into(),
        crate::export::ExportError::NotReady => HttpError::new(ErrorCode::Conflict, not_ready),
        other => {
            tracing::error!(error = %other, "{what} failed");
            HttpError::new(ErrorCode::Internal, failed)
        }
    }
}

/// A body served whole or in the one byte range the request asks for.
fn ranged_body(bytes: Vec<u8>, content_type: &'static str, range: Option<&str>) -> Response {
    use crate::byte_range::RangeRequest;
    let len = bytes.len() as u64;
    let request = RangeRequest::parse(range, len);
    let content_range = request
        .content_range(len)
        .and_then(|v| HeaderValue::from_str(&v).ok());
    let mut response = match &request {
        RangeRequest::Whole => (StatusCode::OK, bytes).into_response(),
        RangeRequest::Part(r) => {
            let part = bytes[r.start as usize..r.end as usize].to_vec();
            (StatusCode::PARTIAL_CONTENT, part).into_response()
        }
        RangeRequest::Unsatisfiable => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
    };
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The candidate's own voice: kept by no cache on the way.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if !matches!(request, RangeRequest::Unsatisfiable) {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if let Some(v) = content_range {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

async fn session_socket(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if shared.drain.is_draining() {
        return crate::ops::refuse_draining(&shared);
    }
    let ip = client_ip(shared.config.trust_forwarded_for, peer, &headers);
    // The WebSocket layer enforces the frame limit from each frame's header,
    // before buffering it; the session answers an oversize frame with
    // FRAME_TOO_LARGE. Frames are small (a 20 ms Opus packet is ~60 bytes),
    // and the WebSocket layer zero-fills its whole read buffer on every
    // read: a small buffer saves a large memset per frame.
    let max = shared.config.limits.max_frame_bytes;
    ws.read_buffer_size(2 * 1024)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| crate::session::serve_socket(shared, socket, ip))
}

async fn health() -> &'static str {
    "ok"
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Candor data API", description = "Sign-in, interviews and results. The live session is a WebSocket at /v1/session carrying candor.v1 protobuf frames."),
    paths(register, sign_in, local_sign_in, sign_out, me, create_interview, list_interviews, get_interview, delete_interview, get_results, export_interview, interview_audio),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> HttpError {
    HttpError::new(ErrorCode::NotFound, "No such route.")
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(paths::SIGN_IN, post(sign_in))
        .route(paths::SIGN_OUT, post(sign_out))
        .route(paths::ME, get(me))
        .route(paths::LOCAL, post(local_sign_in))
        .route(
            paths::INTERVIEWS,
            post(create_interview).get(list_interviews),
        )
        .route(
            paths::INTERVIEW,
            get(get_interview).delete(delete_interview),
        )
        .route(paths::RESULTS, get(get_results))
        .route(paths::EXPORT, get(export_interview))
        .route(paths::AUDIO, get(interview_audio))
        .route(paths::SESSION, get(session_socket))
        .route(paths::OPENAPI, get(openapi))
        .route(paths::HEALTH, get(health))
        .route(crate::ops::READY, get(crate::ops::ready))
        .route(crate::ops::METRICS, get(crate::ops::metrics))
        .fallback(not_found)
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            shared.config.limits.body_read_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::local_lock::enforce,
        ))
        .with_state(shared)
}
