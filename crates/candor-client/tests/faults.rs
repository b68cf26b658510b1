//! The engine against the real server on loopback, through a proxy that cuts
//! the network: audio survives outages exactly once and in order, a dead
//! server ends in a clear error after the retries, and a refused token signs
//! the user out without a retry loop.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use candor_client::{Intent, MemoryStore, TokenStore};
use candor_lifecycle::{AuthView, InterviewView};
use support::{Proxy, engine, memory, server, setup, sign_in_offline, start_live_interview};

const STEP: Duration = Duration::from_secs(20);

/// Live, then the network is cut for `outage`, then restored; the interview
/// goes on and ends with every frame stored exactly once.
async fn survive_outage(outage: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let proxy = Proxy::start(server.addr()).await;
    let (engine, mut events) = engine(proxy.url(), memory()).await;
    start_live_interview(&engine, &mut events, 2).await;
    events.drain_for(Duration::from_secs(2)).await;

    proxy.cut();
    events.until_state("reconnecting", STEP).await;
    events.drain_for(outage).await;
    proxy.restore();
    events.until_state("live", Duration::from_secs(30)).await;
    events.drain_for(Duration::from_secs(2)).await;

    engine.intent(Intent::EndInterview).await.unwrap();
    events
        .until_state("resultsReady", Duration::from_secs(30))
        .await;
    let (sent, stored, lost) = events.summary().expect("a session summary");
    let expected_min = ((4.0 + outage.as_secs_f64()) * 50.0 * 0.9) as u64;
    assert!(sent >= expected_min, "only {sent} frames captured");
    assert_eq!(lost, 0, "no frame fell out of the replay buffer");
    assert_eq!(
        stored, sent,
        "the server stored every frame the client captured"
    );
    engine.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_second_cut_loses_no_audio() {
    survive_outage(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_second_cut_loses_no_audio() {
    survive_outage(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_session_server_ends_in_error_after_the_retries() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let proxy = Proxy::start(server.addr()).await;
    proxy.block_websockets(true);
    let (engine, mut events) = engine(proxy.url(), memory()).await;
    sign_in_offline(&engine, &mut events).await;
    engine
        .intent(Intent::StartInterview(setup(2)))
        .await
        .unwrap();
    let view = events.until_state("error", Duration::from_secs(60)).await;
    let InterviewView::Error { message, .. } = view.interview else {
        unreachable!()
    };
    assert!(message.contains("after 5 attempts"), "{message}");
    let attempts = events
        .seen
        .iter()
        .filter_map(|e| match e {
            candor_client::EngineEvent::View { view } => match view.interview {
                InterviewView::Connecting { attempt, .. } => Some(attempt),
                _ => None,
            },
            _ => None,
        })
        .max();
    assert_eq!(attempts, Some(5));
    engine.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_stored_token_signs_out_without_retrying() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let proxy = Proxy::start(server.addr()).await;
    let tokens = std::sync::Arc::new(MemoryStore::with_token("not-a-real-token"));
    let (engine, mut events) = engine(proxy.url(), tokens.clone()).await;
    let view = events.until_state("unauthenticated", STEP).await;
    // The first view is already unauthenticated (before verification); wait
    // for the verdict on the stored token.
    let view = if matches!(view.auth, AuthView::Unauthenticated { notice: None }) {
        events.until_state("authenticating", STEP).await;
        events.until_state("unauthenticated", STEP).await
    } else {
        view
    };
    assert!(
        matches!(&view.auth, AuthView::Unauthenticated { notice: Some(n) } if !n.is_empty()),
        "{:?}",
        view.auth
    );
    assert_eq!(
        tokens.load().unwrap(),
        None,
        "the refused token was forgotten"
    );
    let requests = proxy.connections.load(Ordering::SeqCst);
    events.drain_for(Duration::from_secs(3)).await;
    assert_eq!(
        proxy.connections.load(Ordering::SeqCst),
        requests,
        "no request after the refusal"
    );
    assert_eq!(events.states().last(), Some(&"unauthenticated"));
    engine.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_session_signs_out_and_releases_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let proxy = Proxy::start(server.addr()).await;
    let tokens = memory();
    let (engine, mut events) = engine(proxy.url(), tokens.clone()).await;
    sign_in_offline(&engine, &mut events).await;
    // Revoke the token behind the engine's back.
    let token = tokens.load().unwrap().expect("token saved");
    let api = candor_client::api::ApiClient::new(proxy.url()).unwrap();
    api.sign_out(&token).await.unwrap();
    engine
        .intent(Intent::StartInterview(setup(2)))
        .await
        .unwrap();
    let view = events.until_state("unauthenticated", STEP).await;
    assert!(matches!(
        view.auth,
        AuthView::Unauthenticated { notice: Some(_) }
    ));
    assert_eq!(view.history, None);
    assert_eq!(tokens.load().unwrap(), None);
    engine.shutdown().await;
    server.shutdown().await;
}

/// A keyring that cannot be used at all (no Secret Service, locked, …).
#[derive(Debug)]
struct BrokenKeyring;

impl TokenStore for BrokenKeyring {
    fn load(&self) -> Result<Option<String>, candor_client::token::TokenStoreError> {
        Err(candor_client::token::TokenStoreError::Unavailable(
            "Secret Service: no result found".into(),
        ))
    }
    fn save(&self, _: &str) -> Result<(), candor_client::token::TokenStoreError> {
        self.load().map(|_| ())
    }
    fn clear(&self) -> Result<(), candor_client::token::TokenStoreError> {
        self.load().map(|_| ())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_keyring_still_lets_the_user_sign_in_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let (engine, mut events) = engine(
        proxy_free_url(server.addr()),
        std::sync::Arc::new(BrokenKeyring),
    )
    .await;
    sign_in_offline(&engine, &mut events).await;
    let warned = events.seen.iter().any(|e| {
        matches!(e, candor_client::EngineEvent::Notice { message, .. }
            if message.contains("could not be saved"))
    });
    assert!(warned, "the user is told the sign-in is not remembered");
    engine.shutdown().await;
    server.shutdown().await;
}

fn proxy_free_url(addr: std::net::SocketAddr) -> url::Url {
    url::Url::parse(&format!("http://{addr}/")).unwrap()
}
