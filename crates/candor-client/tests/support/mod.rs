//! Test fixtures: a loopback TCP proxy that can cut connections, a backend
//! with timings suited to fault tests, and helpers to drive an engine and
//! wait for its states. Every wait is bounded.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use candor_audio::{SinkSpec, SourceSpec};
use candor_client::{
    BackendConfig, Engine, EngineConfig, EngineEvent, MemoryStore, TokenStore, View,
};
use candor_server::{Config, RunningServer, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use url::Url;

/// A TCP proxy on 127.0.0.1 in front of `target`.
///
/// `cut()` drops every open connection and refuses new ones (accepts and
/// closes them at once) until `restore()`; `block_websockets` refuses only
/// WebSocket upgrades, so HTTP keeps working.
#[derive(Clone, Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    block_ws: Arc<AtomicBool>,
    kill: broadcast::Sender<()>,
    pub connections: Arc<AtomicUsize>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (kill, _) = broadcast::channel(4);
        let proxy = Proxy {
            addr,
            down: Arc::default(),
            block_ws: Arc::default(),
            kill,
            connections: Arc::default(),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                p.connections.fetch_add(1, Ordering::SeqCst);
                if p.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let p = p.clone();
                tokio::spawn(async move { p.serve(client, target).await });
            }
        });
        proxy
    }

    async fn serve(&self, mut client: TcpStream, target: SocketAddr) {
        // Read the request head to see whether it is a WebSocket upgrade.
        let mut head = vec![0u8; 0];
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
                _ => return,
            }
        }
        let upgrade = String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("upgrade: websocket");
        if upgrade && self.block_ws.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut server) = TcpStream::connect(target).await else {
            return;
        };
        if server.write_all(&head).await.is_err() {
            return;
        }
        let mut kill = self.kill.subscribe();
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
            _ = kill.recv() => {}
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.kill.send(());
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    pub fn block_websockets(&self, block: bool) {
        self.block_ws.store(block, Ordering::SeqCst);
    }

    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).unwrap()
    }
}

/// A backend whose sessions survive a 20 s outage, with a quick interviewer.
pub fn server_config(dir: &Path) -> Config {
    let mut c = Config::new("127.0.0.1:0".parse().unwrap(), dir);
    c.allow_local_profiles = true;
    c.commit_interval = Duration::from_millis(40);
    c.limits.idle_timeout = Duration::from_secs(4);
    c.limits.resume_grace = Duration::from_secs(60);
    c.practice.answer_silence = Duration::from_millis(600);
    c.practice.think_time = Duration::from_millis(150);
    c.practice.no_answer_timeout = Duration::from_secs(60);
    c.practice.words_per_minute = 320;
    c
}

pub async fn server(dir: &Path) -> RunningServer {
    Server::start(server_config(dir))
        .await
        .expect("server starts")
}

/// An engine against `url`, answering with endless silence and playing nowhere.
pub async fn engine(url: Url, tokens: Arc<dyn TokenStore>) -> (Engine, Events) {
    engine_playing_to(url, tokens, SinkSpec::Null { rate: 48_000 }).await
}

/// An engine against `url`, answering with endless silence and playing to
/// `output`.
pub async fn engine_playing_to(
    url: Url,
    tokens: Arc<dyn TokenStore>,
    output: SinkSpec,
) -> (Engine, Events) {
    let mut config = EngineConfig::new(BackendConfig::Remote { url }, tokens);
    config.input = SourceSpec::Silence {
        rate: 48_000,
        duration: None,
        pacing: candor_audio::Pacing::RealTime,
    };
    config.output = output;
    config.seed = 7;
    let (engine, rx) = Engine::start(config).await.expect("engine starts");
    (
        engine,
        Events {
            rx,
            seen: Vec::new(),
        },
    )
}

pub fn memory() -> Arc<dyn TokenStore> {
    Arc::new(MemoryStore::default())
}

/// The engine's event stream, with everything seen kept for assertions.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<EngineEvent>,
    pub seen: Vec<EngineEvent>,
}

/// The state name a view shows (auth state until signed in).
pub fn state_of(view: &View) -> &'static str {
    match &view.auth {
        candor_lifecycle::AuthView::Authenticated { .. } => view.interview.name(),
        other => other.name(),
    }
}

impl Events {
    /// The events of an engine started by the test itself.
    pub fn new(rx: mpsc::UnboundedReceiver<EngineEvent>) -> Self {
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a view in state `name`, failing after `within`.
    pub async fn until_state(&mut self, name: &str, within: Duration) -> View {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let event = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("no `{name}` within {within:?}; states: {:?}", self.states())
                })
                .expect("engine running");
            self.seen.push(event.clone());
            if let EngineEvent::View { view } = event
                && state_of(&view) == name
            {
                return *view;
            }
        }
    }

    /// Collects events for `period`.
    pub async fn drain_for(&mut self, period: Duration) {
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.seen.push(event);
        }
    }

    /// The states seen so far, without repeats.
    pub fn states(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for e in &self.seen {
            if let EngineEvent::View { view } = e {
                let s = state_of(view);
                if out.last() != Some(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    pub fn summary(&self) -> Option<(u64, u64, u64)> {
        self.seen.iter().rev().find_map(|e| match e {
            EngineEvent::SessionSummary {
                frames_sent,
                frames_stored,
                frames_lost,
            } => Some((*frames_sent, *frames_stored, *frames_lost)),
            _ => None,
        })
    }
}

pub fn setup(questions: u32) -> candor_client::InterviewSetup {
    candor_client::InterviewSetup {
        role: candor_client::ipc::Role::Behavioural,
        seniority: candor_client::ipc::Seniority::Mid,
        job_description: None,
        cv_text: None,
        question_count: questions,
        retry: None,
    }
}

/// Waits for the sign-in screen and continues offline as "Ada", up to the dashboard.
pub async fn sign_in_offline(engine: &Engine, events: &mut Events) {
    let step = Duration::from_secs(20);
    events.until_state("unauthenticated", step).await;
    engine
        .intent(candor_client::Intent::SignIn(
            candor_client::Credentials::Offline { name: "Ada".into() },
        ))
        .await
        .unwrap();
    events.until_state("idle", step).await;
}

/// Signs in offline, starts an interview of `questions` questions and waits
/// until it is live.
pub async fn start_live_interview(engine: &Engine, events: &mut Events, questions: u32) {
    sign_in_offline(engine, events).await;
    engine
        .intent(candor_client::Intent::StartInterview(setup(questions)))
        .await
        .unwrap();
    events.until_state("live", Duration::from_secs(20)).await;
}
