//! The data API client (the seed's "tRPC" role): sign-in, interviews,
//! history, results, over HTTP JSON with the bearer token.
//!
//! Every failure becomes an [`ApiFailure`] that says whether retrying can help
//! and whether the token is no good, which is all the lifecycle core needs.

use std::time::Duration;

use candor_api::{
    ApiError, AuthResponse, CreateInterviewRequest, ErrorCode, Interview, InterviewPage,
    LocalSignInRequest, ResultsResponse, SignInRequest, User, paths,
};
use candor_lifecycle::{Failure, FailureKind};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;
use url::Url;

/// A failed API call.
#[derive(Debug, Error)]
pub enum ApiFailure {
    /// 401: the token (or the password) is not accepted.
    #[error("{0}")]
    Unauthenticated(String),
    /// The server refused the request for good (400, 403, 404, 409).
    #[error("{0}")]
    Rejected(String),
    /// The server could not be reached or failed (network, 5xx): retry later.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiFailure {
    /// The lifecycle core's view of the failure.
    pub fn to_failure(&self) -> Failure {
        let kind = match self {
            ApiFailure::Unauthenticated(_) => FailureKind::Unauthenticated,
            ApiFailure::Rejected(_) => FailureKind::Fatal,
            ApiFailure::Unavailable(_) => FailureKind::Retryable,
        };
        Failure::new(kind, self.to_string())
    }
}

/// What the backend answered for replay audio: the whole file (200), a
/// byte range of it (206, `Content-Range: bytes a-b/len`), or a range past
/// its end (416, `Content-Range: bytes */len`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPart {
    pub status: u16,
    pub content_range: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A client for one backend.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    /// The embedded backend's launch secret, sent with every request.
    launch_secret: Option<std::sync::Arc<str>>,
}

impl ApiClient {
    /// `base`: the backend's root, e.g. `http://127.0.0.1:43123/`.
    /// Plain `http://` only to this machine ([`crate::endpoint`]).
    ///
    /// A backend on this machine that published a launch secret for this
    /// user (a standalone server with local profiles,
    /// [`candor_server::local_lock`]) gets it with every request.
    pub fn new(base: Url) -> Result<Self, ApiFailure> {
        crate::endpoint::check(&base).map_err(|e| ApiFailure::Rejected(e.to_string()))?;
        let published = crate::endpoint::is_loopback(&base)
            .then(|| base.port_or_known_default())
            .flatten()
            .and_then(candor_server::local_lock::read_published);
        let client = Self {
            http: http_client(reqwest::header::HeaderMap::new())?,
            base,
            launch_secret: None,
        };
        match published {
            Some(secret) => client.with_launch_secret(&secret),
            None => Ok(client),
        }
    }

    /// Sends the embedded backend's launch secret with every request (and
    /// the session socket's handshake, through [`Self::launch_secret`]).
    pub fn with_launch_secret(mut self, secret: &str) -> Result<Self, ApiFailure> {
        let mut headers = reqwest::header::HeaderMap::new();
        let mut value = reqwest::header::HeaderValue::from_str(secret)
            .map_err(|_| ApiFailure::Rejected("Unusable launch secret.".into()))?;
        value.set_sensitive(true);
        headers.insert(candor_server::LAUNCH_SECRET_HEADER, value);
        self.http = http_client(headers)?;
        self.launch_secret = Some(secret.into());
        Ok(self)
    }

    pub fn launch_secret(&self) -> Option<&str> {
        self.launch_secret.as_deref()
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The session WebSocket's URL (`ws`/`wss` matching `http`/`https`).
    pub fn session_url(&self) -> Url {
        let mut url = self.base.join(paths::SESSION).expect("valid path");
        let scheme = if self.base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        url.set_scheme(scheme).expect("ws schemes are valid");
        url
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Result<AuthResponse, ApiFailure> {
        let body = SignInRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        self.call(Method::POST, paths::SIGN_IN, None, Some(&body))
            .await
    }

    /// Creates an account. The server answers the same whether or not the
    /// email was taken (see [`candor_api::RegisterResponse`]): sign in next.
    pub async fn register(&self, email: &str, password: &str) -> Result<(), ApiFailure> {
        let body = candor_api::RegisterRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            display_name: None,
        };
        self.call::<_, candor_api::RegisterResponse>(
            Method::POST,
            paths::REGISTER,
            None,
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// The offline profile (embedded backend only).
    pub async fn sign_in_local(&self, profile: &str) -> Result<AuthResponse, ApiFailure> {
        let body = LocalSignInRequest {
            profile: Some(profile.to_owned()).filter(|p| !p.trim().is_empty()),
        };
        self.call(Method::POST, paths::LOCAL, None, Some(&body))
            .await
    }

    pub async fn me(&self, token: &str) -> Result<User, ApiFailure> {
        self.call::<(), _>(Method::GET, paths::ME, Some(token), None)
            .await
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), ApiFailure> {
        let _: serde::de::IgnoredAny = self
            .call::<(), _>(Method::POST, paths::SIGN_OUT, Some(token), None)
            .await?;
        Ok(())
    }

    pub async fn create_interview(
        &self,
        token: &str,
        request: &CreateInterviewRequest,
    ) -> Result<Interview, ApiFailure> {
        self.call(Method::POST, paths::INTERVIEWS, Some(token), Some(request))
            .await
    }

    pub async fn interview(&self, token: &str, id: &str) -> Result<Interview, ApiFailure> {
        self.call::<(), _>(Method::GET, &paths::interview(id), Some(token), None)
            .await
    }

    /// The newest `limit` interviews.
    pub async fn history(&self, token: &str, limit: u32) -> Result<InterviewPage, ApiFailure> {
        self.history_page(token, limit, None).await
    }

    /// `limit` (1..=100) interviews older than `cursor` (a page's
    /// `next_cursor`), or the newest without one.
    pub async fn history_page(
        &self,
        token: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<InterviewPage, ApiFailure> {
        let query = {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &limit.to_string());
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            query.finish()
        };
        let path = format!("{}?{query}", paths::INTERVIEWS);
        self.call::<(), _>(Method::GET, &path, Some(token), None)
            .await
    }

    pub async fn results(&self, token: &str, id: &str) -> Result<ResultsResponse, ApiFailure> {
        self.call::<(), _>(Method::GET, &paths::results(id), Some(token), None)
            .await
    }

    /// Deletes an interview and everything the backend stores for it
    /// (owner only; refused while it is live).
    pub async fn delete_interview(&self, token: &str, id: &str) -> Result<(), ApiFailure> {
        let _: serde::de::IgnoredAny = self
            .call::<(), _>(Method::DELETE, &paths::interview(id), Some(token), None)
            .await?;
        Ok(())
    }

    /// The interview's export (a zip of its files, see
    /// `candor_server::export`), owner only; unpack it with
    /// [`crate::export::unpack`].
    pub async fn export(&self, token: &str, id: &str) -> Result<Vec<u8>, ApiFailure> {
        let response = self.get_file(&paths::export(id), token, None).await?;
        response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| ApiFailure::Unavailable(format!("The export was cut off: {e}")))
    }

    /// One of an interview's audio files for replay (`interview.ogg`,
    /// `answer-NN.ogg`; see `candor_server::export::audio_file`), owner
    /// only: whole, or the byte range `range` asks for (a `Range` header
    /// value, passed on as the player sent it).
    pub async fn audio(
        &self,
        token: &str,
        id: &str,
        file: &str,
        range: Option<&str>,
    ) -> Result<AudioPart, ApiFailure> {
        let response = self.get_file(&paths::audio(id, file), token, range).await?;
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_range = header(reqwest::header::CONTENT_RANGE);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| ApiFailure::Unavailable(format!("The audio was cut off: {e}")))?;
        Ok(AudioPart {
            status,
            content_range,
            content_type,
            body: body.to_vec(),
        })
    }

    /// A GET of a file the backend builds (an export, a recording): a longer
    /// timeout than the JSON calls' (a long interview's audio is megabytes),
    /// an optional `Range` passed on; a success or a 416 comes back as it
    /// is, any other status as the failure it means.
    async fn get_file(
        &self,
        path: &str,
        token: &str,
        range: Option<&str>,
    ) -> Result<reqwest::Response, ApiFailure> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ApiFailure::Rejected(format!("Bad request path {path}: {e}")))?;
        let mut request = self
            .http
            .get(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(300));
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if status.is_success() || status == StatusCode::RANGE_NOT_SATISFIABLE {
            return Ok(response);
        }
        Err(classify(status, error_message(response).await))
    }

    fn unreachable(&self, e: &reqwest::Error) -> ApiFailure {
        ApiFailure::Unavailable(format!(
            "Could not reach the Candor server at {}: {}",
            self.base,
            root_cause(e)
        ))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
    ) -> Result<T, ApiFailure> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ApiFailure::Rejected(format!("Bad request path {path}: {e}")))?;
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if status.is_success() {
            let body = response.bytes().await.map_err(|e| {
                ApiFailure::Unavailable(format!("The server's answer was cut off: {e}"))
            })?;
            // 204 No Content parses as `null`.
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            return serde_json::from_slice::<T>(body).map_err(|e| {
                ApiFailure::Unavailable(format!("The server sent an unreadable answer: {e}"))
            });
        }
        Err(classify(status, error_message(response).await))
    }
}

/// The message of a failed call's `ApiError` body.
async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    match response.json::<ApiError>().await {
        Ok(err) => err.error.message,
        Err(_) => format!("The server answered {status}."),
    }
}

fn http_client(headers: reqwest::header::HeaderMap) -> Result<reqwest::Client, ApiFailure> {
    candor_http::client_builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .user_agent(concat!("candor/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .build()
        .map_err(|e| ApiFailure::Unavailable(format!("Could not set up HTTP: {e}")))
}

fn classify(status: StatusCode, message: String) -> ApiFailure {
    match status.as_u16() {
        401 => ApiFailure::Unauthenticated(message),
        s if s == ErrorCode::Internal.http_status() || s >= 500 || s == 429 || s == 408 => {
            ApiFailure::Unavailable(message)
        }
        _ => ApiFailure::Rejected(message),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_retry_decisions() {
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, "x".into()),
            ApiFailure::Unauthenticated(_)
        ));
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, "x".into()),
            ApiFailure::Rejected(_)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, "x".into()),
            ApiFailure::Unavailable(_)
        ));
        assert_eq!(
            ApiFailure::Unavailable("down".into()).to_failure().kind,
            FailureKind::Retryable
        );
    }

    #[test]
    fn the_session_url_follows_the_scheme() {
        let api = ApiClient::new(Url::parse("http://127.0.0.1:9/").unwrap()).unwrap();
        assert_eq!(api.session_url().as_str(), "ws://127.0.0.1:9/v1/session");
        let api = ApiClient::new(Url::parse("https://candor.example/").unwrap()).unwrap();
        assert_eq!(
            api.session_url().as_str(),
            "wss://candor.example/v1/session"
        );
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(matches!(
            ApiClient::new(Url::parse("http://candor.example/").unwrap()),
            Err(ApiFailure::Rejected(m)) if m.contains("unencrypted")
        ));
        assert!(ApiClient::new(Url::parse("http://localhost:8080/").unwrap()).is_ok());
    }
}
