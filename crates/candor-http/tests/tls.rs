//! A client from `client_builder` builds and opens TLS connections (ring
//! as the provider), on loopback: the server side is a plain TCP listener
//! that reads the client's first bytes and hangs up.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[test]
fn the_installed_provider_is_ring() {
    candor_http::client_builder().build().expect("a client");
    let installed = rustls::crypto::CryptoProvider::get_default().expect("a provider");
    let ring = rustls::crypto::ring::default_provider();
    let names = |p: &rustls::crypto::CryptoProvider| {
        p.cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(installed), names(&ring));
    assert!(!names(installed).is_empty());
}

#[tokio::test]
async fn an_https_request_starts_a_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut first = [0u8; 5];
        socket.read_exact(&mut first).await.unwrap();
        // Hang up without answering: the client's request fails.
        first
    });
    let client = candor_http::client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let answer = client
        .get(format!("https://127.0.0.1:{port}/"))
        .send()
        .await;
    let first = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the client connected")
        .unwrap();
    // A TLS record: handshake (22), version 3.x.
    assert_eq!(first[0], 22, "{first:?}");
    assert_eq!(first[1], 3, "{first:?}");
    let err = answer.expect_err("the server hung up");
    assert!(err.is_connect() || err.is_request(), "{err}");
}
