//! The lock on a backend that serves one machine: the embedded backend of an
//! app launch, or a server with local profiles.
//!
//! A loopback port is reachable by every local user and program, and by web
//! pages through DNS rebinding (a page on `evil.example` whose name now
//! resolves to 127.0.0.1). Such a backend therefore refuses
//! - a request whose `Host` is not a loopback name (`127.0.0.1`, `[::1]`,
//!   `localhost`) — and, with a launch secret, not the bound port: a rebound
//!   page sends its own name as `Host`;
//! - a request with an `Origin` header: browsers send one on cross-origin
//!   fetches and on every WebSocket handshake, the app's engine never does;
//! - with a launch secret ([`crate::config::LaunchSecret`]): a request
//!   without it in [`LAUNCH_SECRET_HEADER`], local sign-in included, so only
//!   the process that started the backend can use it.
//!
//! A hosted backend (no local profiles, no secret) is not locked.
//!
//! A standalone server with local profiles (`candor serve
//! --allow-local-profiles`) has no app to hand its secret to, so it
//! [`publish`]es it in the user's runtime directory (owner-only), one file
//! per port; clients of the same user find it there
//! ([`read_published`]). Other users and web pages cannot read it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use candor_api::ErrorCode;

use crate::Shared;
use crate::api::HttpError;
use crate::config::{Config, LAUNCH_SECRET_HEADER, LaunchSecret};
use crate::private_fs;

/// Why a request was refused (logged; the client gets one plain answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ForeignHost,
    BrowserOrigin,
    NoSecret,
}

/// Whether a request with `headers` may reach a server configured by
/// `config` and bound at `bound`.
pub fn check(config: &Config, bound: SocketAddr, headers: &HeaderMap) -> Result<(), Refusal> {
    if !config.allow_local_profiles && config.launch_secret.is_none() {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let exact_port = config.launch_secret.as_ref().map(|_| bound.port());
    if !loopback_host(host, exact_port) {
        return Err(Refusal::ForeignHost);
    }
    if headers.contains_key(header::ORIGIN) {
        return Err(Refusal::BrowserOrigin);
    }
    if let Some(secret) = &config.launch_secret {
        let presented = headers
            .get(LAUNCH_SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !secret.matches(presented) {
            return Err(Refusal::NoSecret);
        }
    }
    Ok(())
}

/// `host[:port]` names this machine's loopback (and the port, if given).
fn loopback_host(host: &str, port: Option<u16>) -> bool {
    let (name, given_port) = match host.rsplit_once(':') {
        // `[::1]:8080`, `127.0.0.1:8080`, `localhost:8080`
        Some((n, p)) if !n.ends_with(':') && (n.starts_with('[') || !n.contains(':')) => {
            (n, p.parse::<u16>().ok())
        }
        _ => (host, None),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback && port.is_none_or(|p| given_port == Some(p))
}

/// This user's directory for the secrets of running servers:
/// `$XDG_RUNTIME_DIR/candor` (a per-user, owner-only directory that lives as
/// long as the login), else `~/.local/state/candor` (`%LOCALAPPDATA%` on
/// Windows).
fn runtime_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_RUNTIME_DIR")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local").join("state"))
        })
        .or_else(|| std::env::var_os("LOCALAPPDATA").and_then(absolute))
        .map(|d| d.join("candor"))
}

/// Where the secret of a local-profiles server on loopback `port` is
/// published.
pub fn published_path(port: u16) -> Option<PathBuf> {
    runtime_dir().map(|d| d.join(format!("backend-{port}.secret")))
}

/// The secret a local-profiles server on loopback `port` published for this
/// user, if one did.
pub fn read_published(port: u16) -> Option<String> {
    let text = std::fs::read_to_string(published_path(port)?).ok()?;
    let secret = text.trim();
    (!secret.is_empty()).then(|| secret.to_owned())
}

/// A published secret; the file is removed when this is dropped (a server
/// killed without unwinding leaves it behind, and the next server on that
/// port overwrites it) unless it is [kept](Published::keep).
#[derive(Debug)]
pub struct Published {
    path: PathBuf,
}

impl Published {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the file for the next server on this port, which then reuses
    /// the secret (a drained server whose clients will resume there).
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Publishes `secret` for the server on loopback `port` (owner-only file in
/// an owner-only directory).
pub fn publish(port: u16, secret: &LaunchSecret) -> std::io::Result<Published> {
    let path = published_path(port).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no runtime directory: neither XDG_RUNTIME_DIR nor HOME is set",
        )
    })?;
    if let Some(dir) = path.parent() {
        private_fs::create_dir(dir)?;
    }
    private_fs::write(&path, secret.expose().as_bytes())?;
    Ok(Published { path })
}

/// The middleware.
pub(crate) async fn enforce(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    match check(&shared.config, shared.addr, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(why) => {
            tracing::warn!(?why, path = %request.uri().path(), "request to the local backend refused");
            HttpError::new(
                ErrorCode::PermissionDenied,
                "This local backend serves only the Candor app or CLI of the user who started it.",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LaunchSecret;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_names_and_ports() {
        assert!(loopback_host("127.0.0.1:8080", Some(8080)));
        assert!(loopback_host("localhost:8080", Some(8080)));
        assert!(loopback_host("[::1]:8080", Some(8080)));
        assert!(loopback_host("127.0.0.1", None));
        assert!(!loopback_host("127.0.0.1:8081", Some(8080)));
        assert!(!loopback_host("127.0.0.1", Some(8080)));
        assert!(!loopback_host("evil.example:8080", Some(8080)));
        assert!(!loopback_host("localhost.evil.example", None));
        assert!(!loopback_host("10.0.0.1:8080", None));
        assert!(!loopback_host("", None));
    }

    #[test]
    fn the_embedded_lock() {
        let bound: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        let mut config = Config::embedded("/tmp/x");
        let secret = LaunchSecret::generate();
        config.launch_secret = Some(secret.clone());
        let good = [
            ("host", "127.0.0.1:4242"),
            (LAUNCH_SECRET_HEADER, secret.expose()),
        ];
        assert_eq!(check(&config, bound, &headers(&good)), Ok(()));
        let rebound = [
            ("host", "evil.example:4242"),
            (LAUNCH_SECRET_HEADER, secret.expose()),
        ];
        assert_eq!(
            check(&config, bound, &headers(&rebound)),
            Err(Refusal::ForeignHost)
        );
        let browser = [
            ("host", "127.0.0.1:4242"),
            ("origin", "https://evil.example"),
            (LAUNCH_SECRET_HEADER, secret.expose()),
        ];
        assert_eq!(
            check(&config, bound, &headers(&browser)),
            Err(Refusal::BrowserOrigin)
        );
        let no_secret = [("host", "127.0.0.1:4242")];
        assert_eq!(
            check(&config, bound, &headers(&no_secret)),
            Err(Refusal::NoSecret)
        );
        let wrong = [
            ("host", "127.0.0.1:4242"),
            (LAUNCH_SECRET_HEADER, "cnd_guess"),
        ];
        assert_eq!(
            check(&config, bound, &headers(&wrong)),
            Err(Refusal::NoSecret)
        );
        // A hosted backend is not locked.
        let hosted = Config::new(bound, "/tmp/x");
        assert_eq!(
            check(&hosted, bound, &headers(&[("host", "candor.example")])),
            Ok(())
        );
    }
}
