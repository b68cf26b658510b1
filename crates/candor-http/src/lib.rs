//! How Candor builds its HTTP clients.
//!
//! Every `reqwest::Client` in Candor (the data API, the hosted feedback
//! model, speech model downloads, and the tests' own clients) is built from
//! [`client_builder`]. reqwest is compiled with rustls but without a
//! cryptography provider of its own (`rustls-no-provider`): its `rustls`
//! feature would bring AWS-LC, about 2 MiB of machine code and tables in
//! the app (most of it paged in with the code around it) and the slowest C
//! build in the tree, for what ring does in a fraction of that. A client
//! built before a provider is installed panics, so [`client_builder`]
//! installs ring as the process's default first, once. The WebSocket
//! transport's TLS (tokio-tungstenite) finds the same provider: ring is the
//! only one compiled into rustls.

use std::sync::Once;

/// A `reqwest` client builder whose TLS is rustls with ring. The first call
/// makes ring the process's rustls provider, unless one is already installed
/// (the embedding program's is kept).
pub fn client_builder() -> reqwest::ClientBuilder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means a provider was installed first: keep that one.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}
