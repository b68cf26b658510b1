//! Operations endpoints, for supervisors and load balancers:
//!
//! - `GET /healthz` (`candor_api::paths::HEALTH`): the process is alive and
//!   serving HTTP — `200 ok`, also while draining (restarting a draining
//!   server would cut its sessions short).
//! - `GET /readyz` ([`READY`]): the server takes new sessions — `200 ready`;
//!   `503` while it drains or when the store does not answer, so a load
//!   balancer stops sending it new clients.
//! - `GET /metrics` ([`METRICS`]): every series of [`crate::Metrics`] in the
//!   Prometheus text format.
//!
//! None of them needs a sign-in; like every route they are behind the local
//! backend's lock when it has one (`crate::local_lock`). Expose them to the
//! monitoring network only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use candor_api::{ApiError, ErrorCode};

use crate::Shared;

/// The readiness endpoint.
pub const READY: &str = "/readyz";
/// The Prometheus scrape endpoint.
pub const METRICS: &str = "/metrics";

pub(crate) async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if shared.drain.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    // A cheap read: the store answers.
    match shared.db.run(|s| s.session("")).await {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let body = shared.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::TEXT_FORMAT),
        )],
        body,
    )
        .into_response()
}

/// The answer to a session socket opened while the server drains: `503`
/// with `Retry-After`, before the upgrade, so a load balancer or the
/// client's reconnect tries elsewhere.
pub(crate) fn refuse_draining(shared: &Shared) -> Response {
    shared.metrics.record_refusal("draining");
    let body = ApiError::new(
        ErrorCode::ResourceExhausted,
        "This server is shutting down and takes no sessions; connect again to reach another.",
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
