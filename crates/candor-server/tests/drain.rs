//! Draining a server (what SIGTERM does): readiness fails and new sessions
//! are refused, a live session is told `GoAway` once the interviewer's turn
//! is over, and when its client leaves the session is handed over — every
//! frame it received stored once, no results computed by the draining
//! server. Its successor on the same data directory continues it (every
//! frame still stored once, no line said twice) and computes the results
//! once, when it ends. A client that ignores `GoAway` is ended at the deadline.
//! And the operations endpoints: `/healthz`, `/readyz`, `/metrics` in the
//! Prometheus text format.

mod common;

use std::time::Duration;

use candor_api::InterviewStatus;
use candor_protocol::{
    EndReason, InterviewerActivity, ResumeRequest, ServerPayload, ServerToClientMessage,
};
use candor_server::Store;
use common::*;
use tokio_tungstenite::tungstenite;

/// What a test client saw of its session.
#[derive(Debug, Default)]
struct Seen {
    /// Candidate frames sent (the last seq).
    sent: u64,
    /// The interviewer's last announced activity.
    activity: Option<InterviewerActivity>,
}

/// Streams silence (20 ms frames, in real time) and hands each server
/// message to `on`, until `on` returns `Some`.
async fn stream_until<T>(
    ws: &mut Ws,
    seen: &mut Seen,
    within: Duration,
    mut on: impl FnMut(&ServerToClientMessage, &Seen) -> Option<T>,
) -> T {
    let silence = silence_frames(1).remove(0);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + within;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "took too long");
        tokio::select! {
            _ = tick.tick() => {
                seen.sent += 1;
                send(ws, audio(seen.sent, silence.clone())).await;
            }
            msg = recv(ws) => {
                let msg = msg.expect("the socket stays open");
                if let Some(ServerPayload::InterviewerState(s)) = &msg.payload {
                    seen.activity = InterviewerActivity::try_from(s.activity).ok();
                }
                if let Some(out) = on(&msg, seen) {
                    return out;
                }
            }
        }
    }
}

async fn status(api: &Api, path: &str) -> u16 {
    api.http
        .get(api.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The HTTP status a session socket's upgrade is answered with.
async fn upgrade_status(addr: std::net::SocketAddr) -> u16 {
    match tokio_tungstenite::connect_async(format!("ws://{addr}/v1/session")).await {
        Ok(_) => 101,
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("the upgrade failed otherwise: {e}"),
    }
}

fn resume_request(
    token: &str,
    interview_id: &str,
    session_id: &str,
    seq: u64,
) -> candor_protocol::StartRequest {
    candor_protocol::StartRequest {
        resume: Some(ResumeRequest {
            session_id: session_id.into(),
            last_server_seq: 0,
            captured_seq: seq,
        }),
        ..start_request(token, interview_id)
    }
}

#[tokio::test]
async fn a_drained_session_is_handed_over_whole_and_its_successor_computes_the_results_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("dana@example.org").await;
    let interview = api.create_interview(&auth.token, 2).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(started)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse")
    };
    assert_eq!(status(&api, "/readyz").await, 200);

    // Drain while the interviewer speaks: the GoAway waits for the turn.
    let mut seen = Seen::default();
    let mut drained = false;
    let go_away = stream_until(
        &mut ws,
        &mut seen,
        Duration::from_secs(40),
        |msg, seen| match &msg.payload {
            Some(ServerPayload::InterviewerState(_))
                if !drained && seen.activity == Some(InterviewerActivity::Speaking) =>
            {
                drained = server.drain(Duration::from_secs(30));
                assert!(drained);
                None
            }
            Some(ServerPayload::GoAway(g)) => Some((g.clone(), seen.activity)),
            _ => None,
        },
    )
    .await;
    let (go_away, activity) = go_away;
    assert!(drained, "GoAway came only after the drain began");
    assert_ne!(
        activity,
        Some(InterviewerActivity::Speaking),
        "GoAway waits for the end of the interviewer's turn"
    );
    assert!(
        go_away.deadline_ms > 0 && go_away.deadline_ms <= 30_000,
        "{go_away:?}"
    );
    assert!(!go_away.reason.is_empty());

    // The server is not ready, refuses new sockets before the upgrade, and
    // still answers that it is alive.
    assert_eq!(status(&api, "/readyz").await, 503);
    assert_eq!(status(&api, "/healthz").await, 200);
    assert_eq!(upgrade_status(server.addr()).await, 503);

    // The candidate's audio was flowing: a few more frames go out before the
    // client closes, and all of them are stored.
    let silence = silence_frames(1).remove(0);
    for _ in 0..10 {
        seen.sent += 1;
        send(&mut ws, audio(seen.sent, silence.clone())).await;
    }
    ws.close(None).await.unwrap();
    tokio::time::timeout(WAIT, server.sessions_gone())
        .await
        .expect("the session is handed over once its client left");
    assert_eq!(server.live_sessions(), 0);
    let metrics = server.metrics().render();
    for line in [
        "candor_sessions_handed_over_total 1",
        "candor_go_away_sent_total 1",
        "candor_sessions_live 0",
        "candor_draining 1",
        "candor_sessions_refused_total{reason=\"draining\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    server.shutdown().await;

    // Handed over: open, every frame stored once, no results here.
    let store = candor_server::SqliteStore::open(dir.path()).unwrap();
    let open = store.unfinished_sessions().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, started.session_id);
    assert_eq!(open[0].last_client_seq, seen.sent);
    let stored: Vec<u64> = store
        .candidate_audio(&started.session_id)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(stored, (1..=seen.sent).collect::<Vec<_>>());
    let status_now = store.interview(&interview.id).unwrap().unwrap().status;
    assert_eq!(status_now, InterviewStatus::InProgress);
    assert!(store.results(&interview.id).unwrap().is_none());
    drop(store);

    // The successor on the same data continues the session where it was
    // handed over: the client replays nothing the store has and sends its
    // backlog, the session goes on, and the results are computed once, when
    // it ends.
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let mut ws = connect(server.addr()).await;
    send(
        &mut ws,
        resume_request(
            &auth.token,
            &interview.id,
            &started.session_id,
            seen.sent + 5,
        ),
    )
    .await;
    let answer = recv(&mut ws).await.unwrap();
    let Some(ServerPayload::StartResponse(resumed)) = answer.payload else {
        panic!("the successor continues the session: {answer:?}")
    };
    assert!(resumed.resumed);
    assert_eq!(resumed.session_id, started.session_id);
    assert_eq!(resumed.last_client_seq, seen.sent);
    let handed_over_at = seen.sent;
    stream_until(&mut ws, &mut seen, Duration::from_secs(20), |msg, seen| {
        matches!(&msg.payload, Some(ServerPayload::AudioAck(a)) if a.seq >= handed_over_at + 20 && seen.sent > a.seq)
            .then_some(())
    })
    .await;
    send(&mut ws, candor_protocol::EndRequest {}).await;
    let ended = loop {
        match recv(&mut ws).await.expect("SessionEnded").payload {
            Some(ServerPayload::SessionEnded(e)) => break e,
            _ => continue,
        }
    };
    assert_eq!(ended.reason, EndReason::UserInitiated as i32);
    assert_eq!(ended.last_client_seq, seen.sent);
    let feedback = wait_feedback(&api, &auth.token, &interview.id).await;
    assert!(feedback.overall.interviewer_speaking_ms > 0);
    server.shutdown().await;

    // Every frame stored once, across both servers; no interviewer line
    // said twice; one result.
    let store = candor_server::SqliteStore::open(dir.path()).unwrap();
    let stored: Vec<u64> = store
        .candidate_audio(&started.session_id)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(stored, (1..=seen.sent).collect::<Vec<_>>());
    let timeline = store.timeline(&started.session_id).unwrap().unwrap();
    let said: Vec<(u64, String)> = timeline
        .transcript
        .iter()
        .filter(|t| t.speaker == candor_api::Speaker::Interviewer)
        .map(|t| (t.start_ms, t.text.clone()))
        .collect();
    let mut texts: Vec<&String> = said.iter().map(|(_, t)| t).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), said.len(), "a line said twice: {said:?}");
    assert!(!said.is_empty());
    assert_eq!(
        timeline.session.end_reason.as_deref(),
        Some("user_initiated")
    );
    assert!(store.results(&interview.id).unwrap().is_some());
}

#[tokio::test]
async fn a_client_that_stays_past_the_deadline_is_ended_with_results() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (_auth, interview, mut ws) = start_session(&server, "eli@example.org", 1).await;
    let mut seen = Seen::default();
    // Enough audio that the session is under way.
    stream_until(&mut ws, &mut seen, WAIT, |_, seen| {
        (seen.sent >= 25).then_some(())
    })
    .await;
    let stop =
        tokio::spawn(server.drain_and_stop(Duration::from_millis(1500), std::future::pending()));
    // This client ignores GoAway and keeps streaming.
    let mut told = false;
    let ended = stream_until(&mut ws, &mut seen, WAIT, |msg, _| match &msg.payload {
        Some(ServerPayload::GoAway(_)) => {
            told = true;
            None
        }
        Some(ServerPayload::SessionEnded(e)) => Some(e.clone()),
        _ => None,
    })
    .await;
    assert!(told, "GoAway came first");
    assert_eq!(ended.reason, EndReason::ServerShutdown as i32);
    assert!(ended.results_pending);
    tokio::time::timeout(WAIT, stop).await.unwrap().unwrap();

    // Ended here, so the results were computed here, once.
    let store = candor_server::SqliteStore::open(dir.path()).unwrap();
    assert!(store.unfinished_sessions().unwrap().is_empty());
    let record = store.interview(&interview.id).unwrap().unwrap();
    assert_eq!(record.status, InterviewStatus::Ready);
}

/// A started session's socket and id.
async fn start_with_id(
    server: &candor_server::RunningServer,
    email: &str,
) -> (candor_api::AuthResponse, candor_api::Interview, Ws, String) {
    let api = Api::new(server.addr());
    let auth = api.register(email).await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(r)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse")
    };
    (auth, interview, ws, r.session_id)
}

/// Closes a socket and waits until the server has let go of it.
async fn close_and_wait(mut ws: Ws) {
    ws.close(None).await.unwrap();
    while recv(&mut ws).await.is_some() {}
}

#[tokio::test]
async fn operations_endpoints_report_liveness_readiness_and_prometheus_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    assert_eq!(status(&api, "/healthz").await, 200);
    assert_eq!(status(&api, "/readyz").await, 200);

    // Some traffic: a session with audio, a cut and a resume.
    let (auth, interview, mut ws, session_id) = start_with_id(&server, "fay@example.org").await;
    let mut seen = Seen::default();
    stream_until(&mut ws, &mut seen, WAIT, |msg, seen| {
        (seen.sent >= 25 && matches!(msg.payload, Some(ServerPayload::AudioAck(_)))).then_some(())
    })
    .await;
    close_and_wait(ws).await;
    let mut ws = connect(server.addr()).await;
    send(
        &mut ws,
        resume_request(&auth.token, &interview.id, &session_id, seen.sent),
    )
    .await;
    let Some(ServerPayload::StartResponse(r)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse")
    };
    assert!(r.resumed);

    let response = api.http.get(api.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
    );
    let text = response.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the Prometheus text format");
    let samples = |name: &str| -> Vec<&prometheus_parse::Sample> {
        let found: Vec<_> = scrape.samples.iter().filter(|s| s.metric == name).collect();
        assert!(!found.is_empty(), "{name} in\n{text}");
        assert!(scrape.docs.contains_key(name), "{name} has a HELP line");
        found
    };
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        let sample = samples(name)
            .into_iter()
            .find(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("{name} {label:?}"));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(value("candor_sessions_live", None), 1.0);
    assert_eq!(value("candor_sessions_started_total", None), 1.0);
    assert!(value("candor_frames_in_total", None) >= 25.0);
    assert!(value("candor_frames_out_total", None) > 0.0);
    assert_eq!(value("candor_draining", None), 0.0);
    assert_eq!(
        value("candor_resumes_total", Some(("cause", "client_closed"))),
        1.0
    );
    assert_eq!(
        value("candor_resumes_total", Some(("cause", "replaced"))),
        0.0
    );
    assert_eq!(value("candor_frames_duplicate_total", None), 0.0);
    assert_eq!(value("candor_sessions_handed_over_total", None), 0.0);
    assert_eq!(value("candor_go_away_sent_total", None), 0.0);
    assert_eq!(
        value(
            "candor_sessions_refused_total",
            Some(("reason", "draining"))
        ),
        0.0
    );
    for stage in ["start", "session"] {
        let errors = samples("candor_engine_errors_total")
            .into_iter()
            .find(|s| {
                s.labels.get("engine") == Some("practice") && s.labels.get("stage") == Some(stage)
            })
            .unwrap_or_else(|| panic!("engine errors at {stage}, at zero"));
        assert!(matches!(errors.value, prometheus_parse::Value::Counter(v) if v == 0.0));
    }
    let histogram = |name: &str| -> f64 {
        let all: f64 = samples(name)
            .into_iter()
            .filter_map(|s| match &s.value {
                prometheus_parse::Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map(|b| b.count),
                _ => None,
            })
            .sum();
        all
    };
    assert!(histogram("candor_frame_handling_seconds") >= 25.0);
    assert!(histogram("candor_send_lateness_seconds") > 0.0);
    let ops: Vec<&str> = samples("candor_store_seconds")
        .into_iter()
        .filter_map(|s| s.labels.get("op"))
        .collect();
    for op in ["user_by_token", "create_session", "record"] {
        assert!(ops.contains(&op), "store op {op} timed: {ops:?}");
    }

    // Readiness flips with the drain; liveness does not.
    assert!(server.drain(Duration::from_secs(5)));
    assert!(server.is_draining());
    assert_eq!(status(&api, "/readyz").await, 503);
    assert_eq!(status(&api, "/healthz").await, 200);
    let text = api
        .http
        .get(api.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.lines().any(|l| l == "candor_draining 1"), "{text}");
    drop(ws);
    server.shutdown().await;
}

#[tokio::test]
async fn a_start_request_on_a_socket_opened_before_the_drain_is_refused_retryably() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("hal@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    server.drain(Duration::from_secs(5));
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let msg = recv(&mut ws).await.expect("an Error");
    let Some(ServerPayload::Error(e)) = msg.payload else {
        panic!("{msg:?}")
    };
    assert_eq!(e.code, candor_protocol::ErrorCode::ResourceExhausted as i32);
    assert!(e.retryable, "the client tries again, elsewhere");
    assert!(e.message.contains("shutting down"), "{}", e.message);
    server.shutdown().await;
}
