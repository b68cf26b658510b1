//! The HTTP JSON data API: auth, interviews, authorization between users,
//! errors, pagination, and persistence across a restart.

mod common;

use candor_api::{AuthResponse, Interview, InterviewPage, InterviewStatus, User};
use candor_server::Server;
use common::*;
use serde_json::{Value, json};

async fn error_of(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    body["error"]["message"]
        .as_str()
        .filter(|m| !m.is_empty())
        .expect("error.message");
    body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned()
}

#[tokio::test]
async fn register_sign_in_me_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let reg = api.register("Grace@Example.org").await;
    assert_eq!(reg.user.email, "grace@example.org");
    assert_eq!(reg.user.display_name, "grace");
    assert!(!reg.user.local);

    // A taken email gets the same answer as a free one, and changes nothing.
    let mut answers = Vec::new();
    for email in ["grace@example.org", "someone-new@example.org"] {
        let res = api
            .http
            .post(api.url("/v1/auth/register"))
            .json(&json!({"email": email, "password": "another password"}))
            .send()
            .await
            .unwrap();
        answers.push((res.status(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1], "registration reveals no email");
    assert_eq!(answers[0].0, 202);
    // Bad email, short password.

    for body in [
        json!({"email": "not-an-email", "password": "long enough"}),
        json!({"email": "x@example.org", "password": "short"}),
        json!({"email": "x@example.org"}),
    ] {
        let res = api
            .http
            .post(api.url("/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(res, 400).await, "invalid_argument");
    }

    // Sign in: wrong password, unknown email, right password.
    for (email, pw) in [
        ("grace@example.org", "wrong password"),
        ("nobody@example.org", "whatever1"),
    ] {
        let res = api
            .http
            .post(api.url("/v1/auth/sign-in"))
            .json(&json!({"email": email, "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(res, 401).await, "unauthenticated");
    }
    let res = api
        .http
        .post(api.url("/v1/auth/sign-in"))
        .json(&json!({"email": "grace@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let signed: AuthResponse = res.json().await.unwrap();
    assert_ne!(signed.token, reg.token);
    assert!(signed.expires_at_ms > candor_server::auth::now_ms());

    let me: User = api
        .http
        .get(api.url("/v1/auth/me"))
        .bearer_auth(&signed.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.id, reg.user.id);

    // No token, bad token.
    let res = api.http.get(api.url("/v1/auth/me")).send().await.unwrap();
    assert_eq!(error_of(res, 401).await, "unauthenticated");
    let res = api
        .http
        .get(api.url("/v1/auth/me"))
        .bearer_auth("cnd_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res, 401).await, "unauthenticated");

    // Sign out revokes only that token.
    let res = api
        .http
        .post(api.url("/v1/auth/sign-out"))
        .bearer_auth(&signed.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = api
        .http
        .get(api.url("/v1/auth/me"))
        .bearer_auth(&signed.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = api
        .http
        .get(api.url("/v1/auth/me"))
        .bearer_auth(&reg.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Unknown route: JSON too.
    let res = api.http.get(api.url("/v1/nothing")).send().await.unwrap();
    assert_eq!(error_of(res, 404).await, "not_found");
    // The OpenAPI description.
    let doc: Value = api
        .http
        .get(api.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/v1/interviews"]["post"].is_object());
    assert!(doc["components"]["schemas"]["Feedback"].is_object());
    // Answering a question again: the request, the link and the attempts.
    for schema in ["RetryTarget", "RetryOf", "Attempt"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is described"
        );
    }
    assert!(doc["paths"]["/v1/interviews"]["post"]["responses"]["404"].is_object());
    server.shutdown().await;
}

#[tokio::test]
async fn users_only_see_and_touch_their_own_interviews() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let alice = api.register("alice@example.org").await;
    let bob = api.register("bob@example.org").await;
    let a1 = api.create_interview(&alice.token, 3).await;
    assert_eq!(a1.status, InterviewStatus::Created);
    assert_eq!(a1.question_count, 3);
    let b1 = api.create_interview(&bob.token, 1).await;

    // Bob cannot read Alice's interview or its results.
    for path in [
        format!("/v1/interviews/{}", a1.id),
        format!("/v1/interviews/{}/results", a1.id),
    ] {
        let res = api
            .http
            .get(api.url(&path))
            .bearer_auth(&bob.token)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(res, 403).await, "permission_denied");
        let res = api.http.get(api.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
    // Each list holds only the owner's interviews.
    let page: InterviewPage = api
        .http
        .get(api.url("/v1/interviews"))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [b1.id.as_str()]
    );

    // Alice can.
    let got: Interview = api
        .http
        .get(api.url(&format!("/v1/interviews/{}", a1.id)))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, a1);
    let res: Value = api
        .http
        .get(api.url(&format!("/v1/interviews/{}/results", a1.id)))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res, json!({"status": "not_started"}));
    let res = api
        .http
        .get(api.url("/v1/interviews/ffff"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res, 404).await, "not_found");

    // Validation.
    for body in [
        json!({"role": "astronaut", "seniority": "mid"}),
        json!({"role": "data_scientist", "seniority": "mid", "question_count": 0}),
        json!({"role": "data_scientist", "seniority": "mid", "question_count": 50}),
    ] {
        let res = api
            .http
            .post(api.url("/v1/interviews"))
            .bearer_auth(&alice.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(res, 400).await, "invalid_argument");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn list_is_paginated_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("paula@example.org").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(api.create_interview(&auth.token, 1).await.id);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/interviews?limit=2&cursor={c}"),
            None => "/v1/interviews?limit=2".to_owned(),
        };
        let req = api.http.get(api.url(&path)).bearer_auth(&auth.token);
        let page: InterviewPage = req.send().await.unwrap().json().await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let res = api
        .http
        .get(api.url("/v1/interviews?limit=1000"))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res, 400).await, "invalid_argument");
    server.shutdown().await;
}

#[tokio::test]
async fn local_profiles_only_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let a: AuthResponse = api
        .http
        .post(api.url("/v1/auth/local"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(a.user.local);
    assert_eq!(a.user.display_name, "default");
    let b: AuthResponse = api
        .http
        .post(api.url("/v1/auth/local"))
        .json(&json!({"profile": "default"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a.user.id, b.user.id, "same profile, same user");
    api.create_interview(&a.token, 1).await;
    server.shutdown().await;

    // A hosted server (flag off) refuses.
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.allow_local_profiles = false;
    let server = Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let res = api
        .http
        .post(api.url("/v1/auth/local"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res, 404).await, "not_found");
    server.shutdown().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("ruth@example.org").await;
    let created = api.create_interview(&auth.token, 2).await;
    server.shutdown().await;

    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    // The token is still valid and the interview is there.
    let page: InterviewPage = api
        .http
        .get(api.url("/v1/interviews"))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.items, vec![created]);
    let res = api
        .http
        .post(api.url("/v1/auth/sign-in"))
        .json(&json!({"email": "ruth@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.shutdown().await;
}
