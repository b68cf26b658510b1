//! The backend is killed (SIGKILL, no goodbye) in the middle of a live
//! interview and restarted on the same data directory: the client reconnects,
//! and the session either resumes or ends with a clear reason — and nothing
//! the server had stored is lost: the interview is in the history with
//! results computed from what was recorded.

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
    let _server = serve(port, &data);

    // The restarted server ended the unfinished session when it recovered:
    // the resume is refused, and the client says so.
    let end = until(
        &mut events,
        &["error", "live", "processingResults"],
        Duration::from_secs(60),
    )
    .await;
    if let InterviewView::Error { message, .. } = &end.interview {
        assert!(
            message.contains("could not resume") || message.contains("resume"),
            "{message}"
        );
    }

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
}
