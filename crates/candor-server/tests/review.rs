//! Taking an interview away and deleting it: the owner-only routes behind
//! the candidate's data (delete; export), from outside over HTTP against a
//! real server that ran a real practice session.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use candor_api::{AuthResponse, Interview, InterviewPage};
use candor_protocol::{AudioAck, EndRequest, ServerPayload};
use candor_server::RunningServer;
use common::*;
use serde_json::Value;

/// A finished one-question interview whose candidate said a sentence: the
/// user, the interview, and the candidate frames sent (seq 1…).
async fn recorded_interview(
    server: &RunningServer,
    email: &str,
) -> (AuthResponse, Interview, Vec<Bytes>) {
    let (auth, interview, mut ws) = start_session(server, email, 1).await;
    let mut frames = silence_frames(50);
    frames.extend(speech_frames(
        "I led the migration of our billing system and cut the failed payments by half.",
    ));
    frames.extend(silence_frames(50));
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for (i, f) in frames.iter().enumerate() {
        tick.tick().await;
        send(&mut ws, audio(i as u64 + 1, f.clone())).await;
    }
    let api = Api::new(server.addr());
    // Still live: it cannot be deleted under the recorder's feet.
    let res = api
        .http
        .delete(api.url(&format!("/v1/interviews/{}", interview.id)))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "a live interview is not deleted");
    send(&mut ws, EndRequest {}).await;
    loop {
        let msg = recv(&mut ws).await.expect("SessionEnded before close");
        match msg.payload {
            Some(ServerPayload::SessionEnded(_)) => break,
            Some(ServerPayload::AudioChunk(c)) => send(&mut ws, AudioAck { seq: c.seq }).await,
            _ => {}
        }
    }
    wait_feedback(&api, &auth.token, &interview.id).await;
    (auth, interview, frames)
}

/// Whether `needle` occurs in the database file or its WAL.
fn on_disk(dir: &Path, needle: &[u8]) -> bool {
    ["candor.db", "candor.db-wal"].iter().any(|name| {
        std::fs::read(dir.join(name))
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

#[tokio::test]
async fn only_the_owner_deletes_an_interview_and_nothing_of_it_stays_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let (alice, interview, frames) = recorded_interview(&server, "alice@example.org").await;
    let bob = api.register("bob@example.org").await;
    let path = format!("/v1/interviews/{}", interview.id);
    // The longest speech frame: long enough to be found nowhere by chance.
    let frame = frames.iter().max_by_key(|f| f.len()).unwrap().clone();
    assert!(frame.len() >= 24, "{} bytes", frame.len());
    assert!(on_disk(dir.path(), &frame), "the audio is stored");

    let res = api.http.delete(api.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401, "signed out");
    let res = api
        .http
        .delete(api.url(&path))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "someone else's");
    let res: Value = res.json().await.unwrap();
    assert_eq!(res["error"]["code"], "permission_denied");
    let res = api
        .http
        .delete(api.url("/v1/interviews/ffff"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        on_disk(dir.path(), &frame),
        "refused deletes change nothing"
    );

    let res = api
        .http
        .delete(api.url(&path))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for p in [path.clone(), format!("{path}/results")] {
        let res = api
            .http
            .get(api.url(&p))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{p}");
    }
    let page: InterviewPage = api
        .http
        .get(api.url("/v1/interviews"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert!(
        !on_disk(dir.path(), &frame),
        "the deleted audio is overwritten in the database file and gone from the WAL"
    );
    let res = api
        .http
        .delete(api.url(&path))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "deleted once");
    server.shutdown().await;
}
