//! Creating an account from the app: the engine registers on the backend and
//! signs in to the new account, and says in place why when it cannot.

mod support;

use std::time::Duration;

use candor_client::{Credentials, Intent};
use candor_lifecycle::AuthView;
use support::*;

const STEP: Duration = Duration::from_secs(20);

async fn create(engine: &candor_client::Engine, email: &str, password: &str) {
    engine
        .intent(Intent::SignIn(Credentials::NewAccount {
            email: email.into(),
            password: password.into(),
        }))
        .await
        .unwrap();
}

fn notice(view: &candor_client::View) -> String {
    match &view.auth {
        AuthView::Unauthenticated { notice } => notice.clone().unwrap_or_default(),
        other => panic!("expected the sign-in screen, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_is_created_and_signed_in_and_refusals_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let url = url::Url::parse(&format!("http://{}/", server.addr())).unwrap();
    let tokens = memory();
    let (engine, mut events) = engine(url.clone(), tokens.clone()).await;
    events.until_state("unauthenticated", STEP).await;

    // The server's password rule, shown as it words it.
    create(&engine, "grace@example.org", "short").await;
    let view = events.until_state("unauthenticated", STEP).await;
    assert!(notice(&view).contains("8 to 1024 characters"), "{view:?}");

    // A good one: registered, signed in, the token kept.
    create(&engine, "grace@example.org", "correct horse battery").await;
    let view = events.until_state("idle", STEP).await;
    let AuthView::Authenticated { profile } = &view.auth else {
        panic!("{view:?}")
    };
    assert_eq!(profile.email.as_deref(), Some("grace@example.org"));
    assert!(
        tokens.load().unwrap().is_some(),
        "the sign-in is remembered"
    );
    engine.intent(Intent::SignOut).await.unwrap();
    events.until_state("unauthenticated", STEP).await;

    // The same email again with another password: no second account, and
    // the candidate is told to sign in instead.
    create(&engine, "grace@example.org", "another password").await;
    let view = events.until_state("unauthenticated", STEP).await;
    assert!(
        notice(&view).contains("Sign in with its password"),
        "{view:?}"
    );
    // The first password still signs in.
    engine
        .intent(Intent::SignIn(Credentials::Password {
            email: "grace@example.org".into(),
            password: "correct horse battery".into(),
        }))
        .await
        .unwrap();
    events.until_state("idle", STEP).await;
    engine.shutdown().await;
    server.shutdown().await;
}
