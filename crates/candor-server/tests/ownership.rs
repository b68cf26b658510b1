//! Session ownership between server instances on one store: a starting
//! instance ends only the sessions no one has held for the resume grace (a
//! crashed instance's, its lease run out and no client back for them),
//! never another live instance's; a live session's lease
//! is renewed while it runs — from its very start, never let go by a
//! renewal that comes while it is being set up; and an instance that finds
//! its lease taken lets the session go at once — no end, no results — so
//! one session never runs on two instances.

mod common;

use std::time::Duration;

use candor_protocol::ServerPayload;
use candor_server::store::{Claim, SessionRecord};
use candor_server::{Config, RunningServer, Server, SqliteStore, Store};
use common::*;

/// The lease the servers here take: renewed every 200 ms.
const LEASE: Duration = Duration::from_millis(600);

fn config(dir: &std::path::Path) -> Config {
    let mut c = fast_config(dir);
    c.limits.session_lease = LEASE;
    c
}

async fn start_instance(dir: &std::path::Path) -> RunningServer {
    Server::start(config(dir)).await.expect("server starts")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Reads the store beside the running servers (off the runtime).
async fn read<T: Send + 'static>(
    dir: &std::path::Path,
    f: impl FnOnce(&dyn Store) -> T + Send + 'static,
) -> T {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || f(&SqliteStore::open(&dir).unwrap()))
        .await
        .unwrap()
}

async fn session_of(dir: &std::path::Path, interview_id: &str) -> SessionRecord {
    let id = interview_id.to_owned();
    read(dir, move |s| s.latest_session(&id).unwrap().unwrap()).await
}

#[tokio::test]
async fn a_starting_instance_ends_a_crashed_instances_sessions_but_not_a_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let a = start_instance(dir.path()).await;
    let (auth, live, mut ws) = start_session(&a, "olga@example.org", 2).await;
    let mine = session_of(dir.path(), &live.id).await;
    assert!(mine.owner.is_some(), "{mine:?}");

    // A session left by an instance that crashed, its lease run out longer
    // ago than the resume grace (no client came back for it), and one whose
    // lease ran out just now (its client may still resume it anywhere).
    let api = Api::new(a.addr());
    let left = api.create_interview(&auth.token, 2).await;
    let recent = api.create_interview(&auth.token, 2).await;
    let grace = config(dir.path()).limits.resume_grace.as_millis() as i64;
    for (id, interview, until) in [
        ("crashed-session", &left, now_ms() - grace - 1),
        ("recent-session", &recent, now_ms() - 1),
    ] {
        let crashed = SessionRecord {
            id: id.into(),
            interview_id: interview.id.clone(),
            engine: "practice".into(),
            owner: Some("crashed-instance".into()),
            lease_until_ms: Some(until),
            started_at_ms: now_ms() - grace - 5_000,
            ..mine.clone()
        };
        read(dir.path(), move |s| s.create_session(&crashed).unwrap()).await;
    }

    // A second instance starts on the same store.
    let b = start_instance(dir.path()).await;
    let swept = read(dir.path(), |s| {
        s.session("crashed-session").unwrap().unwrap()
    })
    .await;
    assert_eq!(swept.end_reason.as_deref(), Some("idle_timeout"));
    let kept = read(dir.path(), |s| {
        s.session("recent-session").unwrap().unwrap()
    })
    .await;
    assert_eq!(kept.end_reason, None, "still resumable: {kept:?}");
    wait_feedback(&Api::new(b.addr()), &auth.token, &left.id).await;

    // The live session on A is A's still, its lease renewed, for several
    // leases' time, and its client still hears from it.
    let first = session_of(dir.path(), &live.id).await;
    tokio::time::sleep(LEASE * 3).await;
    let later = session_of(dir.path(), &live.id).await;
    assert_eq!(later.end_reason, None, "{later:?}");
    assert_eq!(later.owner, mine.owner);
    assert!(
        later.lease_until_ms > first.lease_until_ms && later.lease_until_ms.unwrap() > now_ms(),
        "renewed: {first:?} then {later:?}"
    );
    assert_eq!(a.live_sessions(), 1);
    assert_eq!(b.live_sessions(), 0);
    send(&mut ws, audio(1, silence_frames(1).remove(0))).await;
    assert!(recv(&mut ws).await.is_some(), "the session runs on A");
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn an_instance_whose_lease_was_taken_lets_the_session_go() {
    let dir = tempfile::tempdir().unwrap();
    let a = start_instance(dir.path()).await;
    let (_auth, interview, mut ws) = start_session(&a, "pavel@example.org", 2).await;
    let session = session_of(dir.path(), &interview.id).await;

    // Another instance takes the session (as if A's lease had run out).
    let id = session.id.clone();
    let claim = read(dir.path(), move |s| {
        s.claim_session(&id, "thief", now_ms() + 60_000, now_ms() + 120_000)
            .unwrap()
    })
    .await;
    assert_eq!(claim, Claim::Claimed);

    // A's next renewal finds it lost: the socket is closed, the session
    // leaves A's hub, and nothing is ended or computed here.
    let closed =
        tokio::time::timeout(LEASE * 4, async { while recv(&mut ws).await.is_some() {} }).await;
    assert!(closed.is_ok(), "A let the session go");
    tokio::time::timeout(WAIT, a.sessions_gone())
        .await
        .expect("the session left A's hub");
    let after = session_of(dir.path(), &interview.id).await;
    assert_eq!(after.end_reason, None, "{after:?}");
    assert_eq!(after.owner.as_deref(), Some("thief"));
    let iid = interview.id.clone();
    assert!(
        read(dir.path(), move |s| s.results(&iid).unwrap())
            .await
            .is_none()
    );
    assert!(
        a.metrics()
            .render()
            .lines()
            .any(|l| l == "candor_sessions_live 0"),
        "{}",
        a.metrics().render()
    );
    a.shutdown().await;
}

/// Many sessions start while leases are renewed every 100 ms: a renewal
/// that comes while a session is being set up (its record not yet stored)
/// must not take it for lost. Each session then keeps its socket and has
/// its audio acknowledged.
#[tokio::test]
async fn a_renewal_during_a_sessions_start_does_not_let_it_go() {
    const SESSIONS: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.limits.session_lease = Duration::from_millis(300);
    c.limits.max_sessions_per_ip = 64;
    c.limits.max_sessions_per_user = 64;
    let a = Server::start(c).await.expect("server starts");
    let api = Api::new(a.addr());
    let auth = api.register("ren@example.org").await;
    let mut interviews = Vec::new();
    for _ in 0..SESSIONS {
        interviews.push(api.create_interview(&auth.token, 2).await.id);
    }
    let addr = a.addr();
    let sessions: Vec<_> = interviews
        .into_iter()
        .map(|interview| {
            let token = auth.token.clone();
            tokio::spawn(async move {
                let mut ws = connect(addr).await;
                send(&mut ws, start_request(&token, &interview)).await;
                let msg = recv(&mut ws).await.expect("a reply to StartRequest");
                assert!(
                    matches!(msg.payload, Some(ServerPayload::StartResponse(_))),
                    "{msg:?}"
                );
                // Half a second of audio, past several renewals: all of it
                // acknowledged on the open socket.
                let silence = silence_frames(1).remove(0);
                for seq in 1..=25 {
                    send(&mut ws, audio(seq, silence.clone())).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                loop {
                    let msg = recv(&mut ws).await.expect("the session was let go");
                    if let Some(ServerPayload::AudioAck(ack)) = msg.payload
                        && ack.seq >= 25
                    {
                        return;
                    }
                }
            })
        })
        .collect();
    for s in sessions {
        s.await.unwrap();
    }
    assert_eq!(a.live_sessions(), SESSIONS);
    a.shutdown().await;
}
