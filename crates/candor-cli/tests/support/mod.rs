//! Helpers shared by the tests that run `candor serve` as a real process
//! and drive it with the `candor-client` engine: a free loopback port, the
//! server process (stopped with SIGKILL or SIGTERM), and waiting for the
//! engine's states. Every wait is bounded.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_audio::{SinkSpec, SourceSpec};
use candor_client::{
    BackendConfig, Credentials, Engine, EngineConfig, EngineEvent, Intent, InterviewSetup,
    MemoryStore, TokenStore,
};
use candor_lifecycle::{AuthView, InterviewView};
use url::Url;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `candor serve` process, killed (SIGKILL) when dropped; then the local
/// sign-in secret it published (which a killed server leaves for its
/// successor) is removed too. Holds the process's stdout open, so its last
/// words never meet a closed pipe.
pub struct ServerProcess(
    Child,
    u16,
    Option<std::io::BufReader<std::process::ChildStdout>>,
);

impl ServerProcess {
    /// SIGKILL: no goodbye.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, as systemd, Docker and Kubernetes stop a service.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, for at most `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

/// `candor serve` on `port` with local profiles, its data in `data`, its
/// stderr (the logs) to `stderr` (inherited when None), with `env` set;
/// returns once it says it listens (its secret is published by then).
pub fn serve_with(
    port: u16,
    data: &Path,
    env: &[(&str, &str)],
    stderr: Option<std::fs::File>,
) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_candor"));
    command
        .args(["serve", "--allow-local-profiles", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr.map_or_else(Stdio::inherit, Stdio::from));
    let mut child = command.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Its first line, within 20 s (a process that dies closes the pipe).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut stdout, &mut line);
        let _ = tx.send((line, stdout));
    });
    let (line, stdout) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server starts within 20 s");
    assert!(
        line.contains("listening on"),
        "the server did not start: {line:?}"
    );
    ServerProcess(child, port, Some(stdout))
}

/// `candor serve` on `port` keeping everything in the PostgreSQL database
/// at `database` (no local profiles), with `env` set and its logs to
/// `stderr`; returns once it says it listens.
pub fn serve_database(
    port: u16,
    database: &str,
    env: &[(&str, &str)],
    stderr: Option<std::fs::File>,
) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_candor"));
    command
        .args(["serve", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env("CANDOR_DATABASE_URL", database)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr.map_or_else(Stdio::null, Stdio::from));
    let mut child = command.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut stdout, &mut line);
        let _ = tx.send((line, stdout));
    });
    let (line, stdout) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server starts within 20 s");
    assert!(
        line.contains("listening on"),
        "the server did not start: {line:?}"
    );
    ServerProcess(child, port, Some(stdout))
}

pub fn serve(port: u16, data: &Path) -> ServerProcess {
    serve_with(port, data, &[], None)
}

pub fn state_of(view: &candor_client::View) -> &'static str {
    match &view.auth {
        AuthView::Authenticated { .. } => view.interview.name(),
        other => other.name(),
    }
}

/// Waits for a view in one of the states `names`.
pub async fn until(
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

/// A client engine on the server at `url` (silence as the microphone, in
/// real time; no speaker), signed in offline as Ada, with an interview of
/// three questions live. Returns the engine, its events, its token store
/// and the interview id.
pub async fn live_interview(
    url: &Url,
) -> (
    Engine,
    tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    Arc<dyn TokenStore>,
    String,
) {
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
            retry: None,
        }))
        .await
        .unwrap();
    let live = until(&mut events, &["live"], Duration::from_secs(20)).await;
    let InterviewView::Live { interview_id, .. } = live.interview else {
        unreachable!()
    };
    (engine, events, tokens, interview_id)
}

/// The interviewer's first settled (final) line, within 30 s.
pub async fn settled_interviewer_line(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
) -> String {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(EngineEvent::Transcript {
                speaker: candor_client::ipc::Speaker::Interviewer,
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
    .expect("the interviewer speaks within 30 s")
}

/// Polls an interview's results until they are ready (at most 30 s).
pub async fn results(
    url: &Url,
    tokens: &Arc<dyn TokenStore>,
    interview_id: &str,
) -> candor_api::Feedback {
    let api = candor_client::api::ApiClient::new(url.clone()).unwrap();
    let token = tokens.load().unwrap().expect("still signed in");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match api.results(&token, interview_id).await.unwrap() {
            candor_api::ResultsResponse::Ready { feedback, .. } => return feedback,
            candor_api::ResultsResponse::Processing => {
                assert!(Instant::now() < deadline, "results never computed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("unexpected results: {other:?}"),
        }
    }
}
