//! The backend is killed (SIGKILL, no goodbye) in the middle of a live
//! interview and restarted on the same data directory: the client reconnects,
//! and the session either resumes or ends with a clear reason — and nothing
//! the server had stored is lost: the interview is in the history with
//! results computed from what was recorded.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_audio::{SinkSpec, SourceSpec};
use candor_client::ipc::Speaker;
use candor_client::{
    BackendConfig, Credentials, Engine, EngineConfig, EngineEvent, Intent, InterviewSetup,
    MemoryStore, TokenStore,
};
use candor_lifecycle::{AuthView, InterviewView};
use url::Url;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `candor serve` process, killed (SIGKILL) when dropped; then the local
/// sign-in secret it published (which a killed server leaves for its
/// successor) is removed too.
struct ServerProcess(Child, u16);

impl ServerProcess {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if let Some(secret) = candor_server::local_lock::published_path(self.1) {
            let _ = std::fs::remove_file(secret);
        }
    }
}

fn serve(port: u16, data: &Path) -> ServerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["serve", "--allow-local-profiles", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    ServerProcess(child, port)
}

fn state_of(view: &candor_client::View) -> &'static str {
    match &view.auth {
        AuthView::Authenticated { .. } => view.interview.name(),
        other => other.name(),
    }
}

async fn until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    names: &[&str],
    within: Duration,
) -> candor_client::View {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("none of {names:?} within {within:?}"))
            .unwrap();
        if let EngineEvent::View { view } = event
            && names.contains(&state_of(&view))
        {
            return *view;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_server_loses_nothing_it_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let port = free_port();
    let mut server = serve(port, &data);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();

    let tokens: Arc<dyn TokenStore> = Arc::new(MemoryStore::default());
    let mut config = EngineConfig::new(BackendConfig::Remote { url: url.clone() }, tokens.clone());
    config.input = SourceSpec::Silence {
        rate: 48_000,
        duration: None,
        pacing: candor_audio::Pacing::RealTime,
    };
    config.output = SinkSpec::Null { rate: 48_000 };
    let (engine, mut events) = Engine::start(config).await.unwrap();
    until(&mut events, &["unauthenticated"], Duration::from_secs(10)).await;
    engine
        .intent(Intent::SignIn(Credentials::Offline { name: "Ada".into() }))
        .await
        .unwrap();
    until(&mut events, &["idle"], Duration::from_secs(10)).await;
    engine
        .intent(Intent::StartInterview(InterviewSetup {
            role: candor_client::ipc::Role::SoftwareEngineer,
            seniority: candor_client::ipc::Seniority::Senior,
            job_description: None,
            cv_text: None,
            question_count: 3,
        }))
        .await
        .unwrap();
    let live = until(&mut events, &["live"], Duration::from_secs(20)).await;
    let InterviewView::Live { interview_id, .. } = live.interview else {
        unreachable!()
    };
    // Wait until the interviewer's greeting is settled (so it is recorded),
    // then kill the server without warning.
    let greeting = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(EngineEvent::Transcript {
                speaker: Speaker::Interviewer,
                is_final: true,
                text,
                ..
            }) = events.recv().await
            {
                return text;
            }
        }
    })
    .await
    .expect("the interviewer greets within 30 s");
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
    let api = candor_client::api::ApiClient::new(url).unwrap();
    let token = tokens.load().unwrap().expect("still signed in");
    let deadline = Instant::now() + Duration::from_secs(30);
    let feedback = loop {
        match api.results(&token, &interview_id).await.unwrap() {
            candor_api::ResultsResponse::Ready { feedback } => break feedback,
            candor_api::ResultsResponse::Processing => {
                assert!(Instant::now() < deadline, "results never computed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("unexpected results: {other:?}"),
        }
    };
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
