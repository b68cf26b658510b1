//! The backend is killed (SIGKILL, no goodbye) in the middle of a live
//! interview and restarted on the same data directory: the client reconnects
//! and, once the killed server's lease on the session has run out, the
//! restarted server takes the session over from its last saved state and the
//! frames stored after it — the interview goes on, nothing the server had
//! stored is lost or stored twice, and the results are computed from all of
//! it.

mod support;

use std::time::Duration;

use candor_lifecycle::InterviewView;
use support::{free_port, live_interview, results, serve, settled_interviewer_line, until};
use url::Url;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_server_loses_nothing_it_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let port = free_port();
    let mut server = serve(port, &data);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();

    let (engine, mut events, tokens, interview_id) = live_interview(&url).await;
    // Wait until the interviewer's greeting is settled (so it is recorded),
    // then kill the server without warning.
    let greeting = settled_interviewer_line(&mut events).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    until(&mut events, &["reconnecting"], Duration::from_secs(15)).await;
    let successor = serve(port, &data);

    // The restarted server takes the session over: the client is live again,
    // and the candidate ends the interview there.
    let resumed = until(
        &mut events,
        &["error", "live", "processingResults"],
        Duration::from_secs(60),
    )
    .await;
    assert!(
        matches!(resumed.interview, InterviewView::Live { .. }),
        "{:?}",
        resumed.interview
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    engine
        .intent(candor_client::Intent::EndInterview)
        .await
        .unwrap();
    until(
        &mut events,
        &["processingResults", "resultsReady"],
        Duration::from_secs(30),
    )
    .await;

    // Nothing stored was lost: the interview has results from what was recorded.
    let feedback = results(&url, &tokens, &interview_id).await;
    assert!(
        feedback.transcript.iter().any(|t| t.text == greeting),
        "the settled greeting survived the kill: {:?}",
        feedback.transcript
    );
    assert!(
        feedback.overall.interviewer_speaking_ms > 1000,
        "the interviewer's recorded speech survived: {:?}",
        feedback.overall
    );
    engine.shutdown().await;
    drop(successor);

    // One session across both processes: every frame stored once, no
    // interviewer line twice, ended by the candidate.
    let store = candor_server::SqliteStore::open(&data).unwrap();
    let session = candor_server::Store::latest_session(&store, &interview_id)
        .unwrap()
        .unwrap();
    assert_eq!(session.end_reason.as_deref(), Some("user_initiated"));
    let stored: Vec<u64> = candor_server::Store::candidate_audio(&store, &session.id)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(stored, (1..=session.last_client_seq).collect::<Vec<_>>());
    let said: Vec<String> = feedback
        .transcript
        .iter()
        .filter(|t| t.speaker == candor_api::Speaker::Interviewer)
        .map(|t| t.text.clone())
        .collect();
    let mut once = said.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), said.len(), "a line said twice: {said:?}");
}
