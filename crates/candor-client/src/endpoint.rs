//! Which backend addresses the client uses — one rule for the data API and
//! the session socket: `https://` / `wss://` anywhere, plain `http://` /
//! `ws://` only to this machine (loopback), since the bearer token and the
//! candidate's CV, answers and voice must not cross a network in clear.

use std::net::IpAddr;

use thiserror::Error;
use url::Url;

/// A backend address the client refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlRefused {
    #[error(
        "refusing an unencrypted connection to {0}: use https:// (wss://) for any server that is not on this machine"
    )]
    Insecure(String),
    #[error("unsupported server address {0}: use https://")]
    Scheme(String),
}

/// Whether `url` may be used for the data API or the session socket.
pub fn check(url: &Url) -> Result<(), UrlRefused> {
    match url.scheme() {
        "https" | "wss" => Ok(()),
        "http" | "ws" if is_loopback(url) => Ok(()),
        "http" | "ws" => Err(UrlRefused::Insecure(
            url.host_str().unwrap_or_default().to_owned(),
        )),
        _ => Err(UrlRefused::Scheme(url.to_string())),
    }
}

/// `url`'s host is this machine: `localhost` or a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_str(s: &str) -> Result<(), UrlRefused> {
        check(&Url::parse(s).unwrap())
    }

    #[test]
    fn plain_schemes_only_on_loopback_for_http_and_websocket_alike() {
        for ok in [
            "http://127.0.0.1:9000/",
            "ws://127.0.0.1:9000/v1/session",
            "http://localhost/",
            "ws://[::1]:80/v1/session",
            "https://candor.example.com/",
            "wss://candor.example.com/v1/session",
        ] {
            assert_eq!(check_str(ok), Ok(()), "{ok}");
        }
        for insecure in [
            "http://candor.example.com/",
            "ws://candor.example.com/v1/session",
            "http://10.0.0.2:8080/",
            "ws://192.168.1.5/v1/session",
            "http://localhost.evil.example/",
        ] {
            assert!(
                matches!(check_str(insecure), Err(UrlRefused::Insecure(_))),
                "{insecure}"
            );
        }
        assert!(matches!(
            check_str("ftp://127.0.0.1/"),
            Err(UrlRefused::Scheme(_))
        ));
    }
}
