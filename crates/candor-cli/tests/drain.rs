//! SIGTERM on a real `candor serve` process in the middle of a live
//! interview driven by the `candor-client` engine: the server drains — the
//! client is told `GoAway` and leaves at once, the session is handed over
//! with every candidate frame it received stored once and no results
//! computed — and the process exits within the drain deadline, logging JSON
//! lines. Restarted on the same data, the server continues the session
//! from the state the first one saved: the client resumes it, the
//! interviewer goes on without repeating a line, and when the candidate ends
//! the interview every frame is stored once and the results are computed
//! once.

mod support;

use std::time::{Duration, Instant};

use candor_api::InterviewStatus;
use candor_client::EngineEvent;
use candor_server::Store;
use serde_json::Value;
use support::{free_port, live_interview, results, serve_with, settled_interviewer_line, until};
use url::Url;

/// The drain deadline the server is given.
const DRAIN: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_live_interview_and_the_restarted_server_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let log_path = dir.path().join("server.log");
    let port = free_port();
    let env = [
        ("CANDOR_DRAIN_SECONDS", "6"),
        ("CANDOR_LOG_FORMAT", "json"),
        ("CANDOR_LOG", "info"),
    ];
    let mut server = serve_with(
        port,
        &data,
        &env,
        Some(std::fs::File::create(&log_path).unwrap()),
    );
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let (engine, mut events, tokens, interview_id) = live_interview(&url).await;
    settled_interviewer_line(&mut events).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // SIGTERM: the client is told to go and reconnects; the process exits
    // well within the drain deadline once the client has left.
    let sigterm = Instant::now();
    server.terminate();
    until(&mut events, &["reconnecting"], DRAIN).await;
    let status = tokio::task::block_in_place(|| server.wait_exit(DRAIN + Duration::from_secs(3)))
        .expect("the server exits within its drain deadline");
    let stopped_after = sigterm.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        stopped_after < DRAIN,
        "stopped {stopped_after:?} after SIGTERM"
    );
    println!("SIGTERM to exit: {} ms", stopped_after.as_millis());

    // The logs are JSON lines and tell the story.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let logged = |message: &str| lines.iter().any(|l| l["message"] == message);
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "stop requested: draining" && l["signal"] == "SIGTERM"),
        "{log}"
    );
    assert!(logged("GoAway sent"), "{log}");
    assert!(
        logged("session handed over for another server to resume"),
        "{log}"
    );
    assert!(logged("every session has left"), "{log}");
    // When each step happened, for the record (seconds of the day, UTC).
    let at = |message: &str| {
        let line = lines.iter().find(|l| l["message"] == message).unwrap();
        let time = line["timestamp"].as_str().unwrap();
        let clock = &time[time.find('T').unwrap() + 1..time.len() - 1];
        let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
        parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    };
    let stop = at("stop requested: draining");
    println!(
        "SIGTERM to GoAway: {:.0} ms; GoAway to hand-over: {:.0} ms; to every session gone: {:.0} ms",
        (at("GoAway sent") - stop) * 1000.0,
        (at("session handed over for another server to resume") - at("GoAway sent")) * 1000.0,
        (at("every session has left") - at("GoAway sent")) * 1000.0,
    );

    // Handed over: the session is open in the store, every frame it
    // received stored once, and no results were computed.
    let store = candor_server::SqliteStore::open(&data).unwrap();
    let open = store.unfinished_sessions().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let session = &open[0];
    let stored: Vec<u64> = store
        .candidate_audio(&session.id)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert!(stored.len() > 50, "{} frames", stored.len());
    assert_eq!(stored, (1..=session.last_client_seq).collect::<Vec<_>>());
    let interview = store.interview(&interview_id).unwrap().unwrap();
    assert_eq!(interview.status, InterviewStatus::InProgress);
    assert!(store.results(&interview_id).unwrap().is_none());
    drop(store);

    // Restarted on the same data: the client resumes the session there and
    // it goes on; the candidate ends it, and the results come.
    let successor = serve_with(port, &data, &env[..1], None);
    until(&mut events, &["live"], Duration::from_secs(20)).await;
    // The interviewer carries on where it was: a new line, said once.
    settled_interviewer_line(&mut events).await;
    engine
        .intent(candor_client::Intent::EndInterview)
        .await
        .unwrap();
    let mut summary = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the interview ends after the restart")
            .unwrap();
        match event {
            EngineEvent::SessionSummary { frames_stored, .. } => summary = Some(frames_stored),
            EngineEvent::View { view } if support::state_of(&view) == "processingResults" => break,
            EngineEvent::View { view } if support::state_of(&view) == "error" => {
                panic!("{view:?}")
            }
            _ => {}
        }
    }
    let feedback = results(&url, &tokens, &interview_id).await;
    assert!(feedback.overall.interviewer_speaking_ms > 1000);
    engine.shutdown().await;
    drop(successor);

    // One session across both processes: every frame stored once, more
    // than the first process had, the one the client was told last; no
    // interviewer line twice; ended by the candidate.
    let store = candor_server::SqliteStore::open(&data).unwrap();
    let ended = store.session(&session.id).unwrap().unwrap();
    assert_eq!(ended.end_reason.as_deref(), Some("user_initiated"));
    let stored: Vec<u64> = store
        .candidate_audio(&session.id)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert!(ended.last_client_seq > session.last_client_seq);
    assert_eq!(stored, (1..=ended.last_client_seq).collect::<Vec<_>>());
    assert_eq!(summary, Some(ended.last_client_seq));
    let said: Vec<String> = store
        .timeline(&session.id)
        .unwrap()
        .unwrap()
        .transcript
        .into_iter()
        .filter(|t| t.speaker == candor_api::Speaker::Interviewer)
        .map(|t| t.text)
        .collect();
    let mut once = said.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), said.len(), "a line said twice: {said:?}");
    assert!(said.len() >= 2, "the greeting and a question: {said:?}");
}
