//! Candor's backend.
//!
//! One server, two deployments: embedded on loopback for offline practice
//! (local profiles on, the practice interviewer) and standalone as the hosted
//! backend. It serves
//! - the data API over HTTP JSON ([`api`], types in `candor-api`),
//! - live interview sessions over WebSocket at `/v1/session` (`session`,
//!   protocol in `candor-protocol`), each driven by an [`engine::Engine`],
//! - results processing when a session ends ([`results`]), with an AI
//!   assessment of the transcript when Gemini is configured ([`feedback`]).
//!
//! The interviewer is the Gemini Live bridge ([`engine::gemini`]) when
//! `config.gemini` has an API key, else the offline practice interviewer.
//!
//! Codemap: `store` (the only module that knows SQL) ← `recorder` (group
//! commits of session data) ← `session` (protocol semantics) ← `api` (routes).
//! Operations: [`drain`] (stopping without ending interviews), `ownership`
//! (which instance runs a session: leases in the store), `ops`
//! (`/healthz`, `/readyz`, `/metrics`), [`metrics`], [`logs`];
//! [`run_until_signal`] is the one way a standalone server stops.
//! Audio is `candor-audio`'s (WAV, resampling, Opus/PCM16, voice activity);
//! `voice` wires it to the server: the practice voice, interviewer frames,
//! and the candidate's audio as a session hears it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), candor_server::ServerError> {
//! use candor_server::{Config, Server};
//! let running = Server::start(Config::new("127.0.0.1:0".parse().unwrap(), "/tmp/candor")).await?;
//! println!("listening on {}", running.addr());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod byte_range;
pub mod config;
pub mod content;
pub mod drain;
pub mod engine;
pub mod export;
pub mod feedback;
pub mod local_lock;
pub mod logs;
pub mod metrics;
mod ops;
mod ownership;
pub mod private_fs;
pub mod recorder;
pub mod results;
mod retry;
mod serve;
mod session;
pub mod store;
mod throttle;
mod timed_store;
pub mod voice;

use std::net::SocketAddr;
use std::sync::Arc;

use candor_protocol::Codec;
use thiserror::Error;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{
    ApiKey, AuthLimits, Config, DatabaseUrl, GeminiConfig, LAUNCH_SECRET_HEADER, LaunchSecret,
    Limits, PracticeConfig,
};
pub use engine::{Engine, EngineSession};
pub use metrics::Metrics;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
pub use store::{SqliteStore, Store};

use engine::gemini::GeminiEngine;
use engine::practice::{PracticeEngine, SpeechModel};
use feedback::FeedbackClient;
use recorder::Recorder;
use store::{Db, StoreError};

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error("cannot start the recorder thread: {0}")]
    Recorder(std::io::Error),
    /// A configuration the server refuses to run with.
    #[error("{0}")]
    Config(String),
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// State shared by every request and session.
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    /// The bound address (the real port when started on port 0).
    pub(crate) addr: SocketAddr,
    pub(crate) db: Db,
    pub(crate) recorder: Recorder,
    pub(crate) engine: Option<Arc<dyn Engine>>,
    /// The AI feedback client (when Gemini is configured).
    pub(crate) feedback: Option<Arc<FeedbackClient>>,
    pub(crate) hub: session::Hub,
    /// Sign-in and registration throttles, and the password-hash slots.
    pub(crate) throttle: throttle::AuthThrottle,
    pub(crate) metrics: Arc<Metrics>,
    /// Whether the server drains (takes no sessions, lets its own go).
    pub(crate) drain: drain::Drain,
    /// This instance's id and the leases of the sessions it runs.
    pub(crate) ownership: ownership::Ownership,
    pub(crate) codec: Codec,
    /// Cancelled when the server shuts down; every session watches it.
    pub(crate) shutdown: CancellationToken,
    /// Tracks sessions and results jobs, so shutdown can wait for them.
    pub(crate) tracker: TaskTracker,
}

/// Computes an interview's results in the background: the measured
/// feedback, then (when configured) the AI assessment, then one save.
pub(crate) fn spawn_results(shared: &Shared, interview_id: String) {
    let db = shared.db.clone();
    let ai = shared.feedback.clone();
    let shutdown = shared.shutdown.clone();
    shared.tracker.spawn(async move {
        let id = interview_id.clone();
        let prepared = match db.run(move |s| results::prepare(s, &id)).await {
            Ok(Some(p)) => p,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(interview = %interview_id, error = %e, "results processing failed");
                return;
            }
        };
        let mut prepared = prepared;
        tokio::select! {
            _ = feedback::enrich(ai.as_deref(), &prepared.interview, &mut prepared.feedback) => {}
            _ = shutdown.cancelled() => {
                prepared.feedback.feedback_source = candor_api::FeedbackSource::MetricsOnly;
                prepared.feedback.ai = None;
                prepared.feedback.ai_unavailable_reason = ai.as_ref().map(|_| {
                    "The server shut down before the AI assessment was ready; the measured feedback is complete.".to_owned()
                });
            }
        }
        if let Err(e) = db.run(move |s| results::save(s, &prepared)).await {
            tracing::error!(interview = %interview_id, error = %e, "results could not be stored");
        }
    });
}

/// Entry point: [`Server::start`].
#[derive(Debug)]
pub struct Server;

/// The shared PostgreSQL store at `url` (blocking).
#[cfg(feature = "postgres")]
fn open_postgres(url: &DatabaseUrl) -> Result<Arc<dyn Store>, StoreError> {
    tracing::info!("store: PostgreSQL");
    Ok(Arc::new(PostgresStore::open(url.expose())?))
}

/// Without the `postgres` feature a database URL is an error, not SQLite:
/// the operator asked for a shared store.
#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &DatabaseUrl) -> Result<Arc<dyn Store>, StoreError> {
    Err(StoreError::NoPostgres)
}

impl Server {
    /// Opens the store — PostgreSQL at `config.database`, else SQLite in
    /// `config.data_dir` — and starts serving.
    pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
        let dir = config.data_dir.clone();
        let (database, cache_kib) = (config.database.clone(), config.sqlite_cache_kib);
        let store = tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, StoreError> {
            let store: Arc<dyn Store> = match database {
                Some(url) => open_postgres(&url)?,
                None => {
                    tracing::info!(dir = %dir.display(), cache_kib, "store: SQLite");
                    Arc::new(SqliteStore::open_with_cache(&dir, cache_kib)?)
                }
            };
            Ok(store)
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))??;
        Self::start_with_store(config, store).await
    }

    /// Starts with any [`Store`] and the engine the configuration selects.
    pub async fn start_with_store(
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<RunningServer, ServerError> {
        let mut speech = None;
        let engine: Option<Arc<dyn Engine>> =
            if let Some(gemini) = GeminiEngine::new(config.gemini.clone()) {
                tracing::info!(model = %config.gemini.model, "interviews use the Gemini Live API");
                Some(Arc::new(gemini))
            } else if config.practice.enabled {
                let practice = config.practice.clone();
                let engine = tokio::task::spawn_blocking(move || PracticeEngine::new(practice))
                    .await
                    .map_err(|e| StoreError::Join(e.to_string()))??;
                speech = Some(engine.speech_model());
                Some(Arc::new(engine))
            } else {
                None
            };
        let mut server = Self::start_with(config, store, engine).await?;
        server.speech = speech;
        Ok(server)
    }

    /// Starts with an explicit store and engine.
    pub async fn start_with(
        config: Config,
        store: Arc<dyn Store>,
        engine: Option<Arc<dyn Engine>>,
    ) -> Result<RunningServer, ServerError> {
        if config.allow_local_profiles && !config.addr.ip().is_loopback() {
            return Err(ServerError::Config(format!(
                "local profiles let anyone in without a password: they are only served on a loopback address, not {}",
                config.addr
            )));
        }
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr()?;
        let metrics = Arc::new(Metrics::default());
        if let Some(engine) = &engine {
            metrics.engine_in_use(engine.name());
        }
        let store = timed_store::TimedStore::wrap(store, metrics.clone());
        let db = Db::new(store.clone());
        let recorder =
            Recorder::start(store, config.commit_interval).map_err(ServerError::Recorder)?;
        let config_lease = config.limits.session_lease;
        let shared = Arc::new(Shared {
            feedback: FeedbackClient::new(&config.gemini).map(Arc::new),
            codec: Codec::new(config.limits.max_frame_bytes),
            throttle: throttle::AuthThrottle::new(config.auth_limits.clone()),
            config: Arc::new(config),
            addr,
            db,
            recorder,
            engine,
            hub: session::Hub::default(),
            metrics,
            drain: drain::Drain::default(),
            ownership: ownership::Ownership::new(config_lease),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        recover(&shared).await?;
        let app = api::router(shared.clone());
        spawn_pruning(&shared);
        ownership::spawn(&shared);
        let limits = &shared.config.limits;
        let conn_limits = serve::ConnLimits {
            max_connections: limits.max_connections,
            max_per_ip: (!shared.config.trust_forwarded_for)
                .then_some(limits.max_connections_per_ip),
            header_read_timeout: limits.header_read_timeout,
        };
        let task = tokio::spawn(serve::run(
            listener,
            app,
            conn_limits,
            shared.shutdown.clone(),
        ));
        tracing::info!(%addr, "candor server listening");
        Ok(RunningServer {
            addr,
            shared,
            task,
            speech: None,
            published: None,
        })
    }

    /// Starts a server on its own (`candor serve`, `candor-server`). With
    /// local profiles it is locked like an embedded backend: a fresh launch
    /// secret is required on every request and published for this user's
    /// clients ([`local_lock::publish`]) while the server runs (after a
    /// crash the next server on the same port reuses it).
    pub async fn start_standalone(mut config: Config) -> Result<RunningServer, ServerError> {
        if config.allow_local_profiles && config.launch_secret.is_none() {
            // A server restarted on its port after a crash keeps the secret
            // it published, so its clients carry on.
            let left = (config.addr.port() != 0)
                .then(|| local_lock::read_published(config.addr.port()))
                .flatten();
            config.launch_secret = Some(
                left.map(LaunchSecret::from_published)
                    .unwrap_or_else(LaunchSecret::generate),
            );
        }
        let mut server = Self::start(config).await?;
        if server.shared.config.allow_local_profiles
            && let Some(secret) = server.launch_secret()
        {
            match local_lock::publish(server.addr.port(), secret) {
                Ok(published) => {
                    tracing::info!(path = %published.path().display(), "local sign-in secret published for this user");
                    server.published = Some(published);
                }
                Err(e) => {
                    server.shutdown().await;
                    return Err(ServerError::Config(format!(
                        "cannot publish the local sign-in secret: {e}"
                    )));
                }
            }
        }
        Ok(server)
    }
}

/// Once a minute, forgets throttle state that no longer limits anyone.
fn spawn_pruning(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let stop = shared.shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            match weak.upgrade() {
                Some(shared) => shared.throttle.prune(),
                None => return,
            }
        }
    });
}

/// At start-up: every interview still waiting for results gets them
/// computed, and the sessions no instance holds any more — handed over, or
/// left by an instance that stopped without closing them once its lease
/// ran out — are ended ([`ownership::sweep`]). Sessions another instance
/// runs (its lease is live) are left alone. Their audio and transcript up
/// to the last commit are in the store.
async fn recover(shared: &Arc<Shared>) -> Result<(), ServerError> {
    // Before the sweep: the sessions it ends get their results from it.
    let pending = shared.db.run(|s| s.interviews_processing()).await?;
    ownership::sweep(shared).await;
    for i in pending {
        spawn_results(shared, i.id);
    }
    Ok(())
}

/// A started server.
pub struct RunningServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<std::io::Result<()>>,
    /// The offline interviewer's speech model, when it is the engine.
    speech: Option<SpeechModel>,
    /// A standalone local-profiles server's published secret (removed when
    /// the server is dropped).
    published: Option<local_lock::Published>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The secret every request to this (embedded) backend must carry in
    /// [`LAUNCH_SECRET_HEADER`], if it has one.
    pub fn launch_secret(&self) -> Option<&LaunchSecret> {
        self.shared.config.launch_secret.as_ref()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Replaces the offline interviewer's speech model (`None`: none) for the
    /// interviews that start from now on, and from their next answer for
    /// running ones that had none — the app installed, chose or deleted one. Fails when the model cannot be loaded (the one in use
    /// stays) or when the interviewer is not the offline one.
    pub async fn set_speech_model(
        &self,
        dir: Option<std::path::PathBuf>,
    ) -> Result<(), candor_speech::SpeechError> {
        let Some(speech) = self.speech.clone() else {
            return Ok(());
        };
        match dir {
            None => {
                speech.clear();
                Ok(())
            }
            Some(dir) => {
                let load = dir.clone();
                tokio::task::spawn_blocking(move || speech.load(&load))
                    .await
                    .unwrap_or_else(|e| {
                        Err(candor_speech::SpeechError::ModelLoad {
                            dir,
                            reason: format!("loading stopped: {e}"),
                        })
                    })
            }
        }
    }

    /// Live (or resumable) sessions.
    pub fn live_sessions(&self) -> usize {
        self.shared.hub.len()
    }

    /// Whether `interview_id` has a live session.
    pub fn interview_is_live(&self, interview_id: &str) -> bool {
        self.shared.hub.interview_is_live(interview_id)
    }

    /// Starts draining with `within` to go (see [`drain`]): `/readyz` fails,
    /// new sessions are refused, and every live session is told `GoAway` at
    /// its next safe point and handed over once its client has left. The
    /// server keeps serving HTTP; call [`Self::shutdown`] when
    /// [`Self::sessions_gone`] resolves or the deadline passes. False if it
    /// was already draining.
    pub fn drain(&self, within: std::time::Duration) -> bool {
        let began = self.shared.drain.begin(within);
        if began {
            self.shared.metrics.set_draining(true);
        }
        began
    }

    /// Whether the server drains.
    pub fn is_draining(&self) -> bool {
        self.shared.drain.is_draining()
    }

    /// Resolves once the server holds no session (each has ended or been
    /// handed over).
    pub async fn sessions_gone(&self) {
        self.shared.hub.until_empty().await;
    }

    /// Drains for at most `within` ([`Self::drain`]), then shuts down once
    /// every session has left, the deadline has passed or `cut_short`
    /// resolves — whichever comes first. Sessions still here then end with
    /// `SessionEnded{SERVER_SHUTDOWN}` and get their results. A
    /// local-profiles server that handed sessions over leaves its published
    /// secret for the next server on its port, so those clients resume
    /// there.
    pub async fn drain_and_stop(
        mut self,
        within: std::time::Duration,
        cut_short: impl std::future::Future<Output = ()>,
    ) {
        self.drain(within);
        tracing::info!(
            sessions = self.live_sessions(),
            drain_s = within.as_secs_f64(),
            "draining"
        );
        let deadline = self
            .shared
            .drain
            .deadline()
            .unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            _ = self.sessions_gone() => tracing::info!("every session has left"),
            _ = tokio::time::sleep_until(deadline) => tracing::warn!(
                sessions = self.live_sessions(),
                "drain deadline reached: ending the sessions still here"
            ),
            _ = cut_short => {}
        }
        if self.shared.metrics.handed_over() > 0
            && let Some(published) = self.published.take()
        {
            // Handed-over clients resume on this port's next server: it
            // takes over the secret they carry.
            published.keep();
        }
        self.shutdown().await;
    }

    /// Graceful shutdown: stop accepting, end live sessions with
    /// `SessionEnded{SERVER_SHUTDOWN}`, finish their results, commit
    /// everything and stop the recorder.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
        }
        let recorder = self.shared.recorder.clone();
        let _ = tokio::task::spawn_blocking(move || recorder.shutdown()).await;
        tracing::info!("candor server stopped");
    }

    /// Waits until the server stops (it only stops through [`Self::shutdown`]
    /// or a fatal I/O error).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Runs a server until SIGTERM or SIGINT, drains it, then shuts it down:
/// the one way a standalone server stops (`candor serve`, `candor-server`).
pub async fn serve(config: Config) -> Result<(), ServerError> {
    let signals = drain::StopSignals::listen()?;
    let running = Server::start_standalone(config).await?;
    run_until_signal(running, signals).await;
    Ok(())
}

/// Waits for SIGTERM or SIGINT, then stops `running` the graceful way
/// ([`RunningServer::drain_and_stop`] within `Limits::drain_deadline`); a
/// second signal cuts the drain short.
pub async fn run_until_signal(running: RunningServer, mut signals: drain::StopSignals) {
    let signal = signals.next().await;
    tracing::info!(
        signal,
        sessions = running.live_sessions(),
        "stop requested: draining"
    );
    let within = running.shared.config.limits.drain_deadline;
    running
        .drain_and_stop(within, async move {
            let signal = signals.next().await;
            tracing::warn!(signal, "second stop signal: not waiting for sessions");
        })
        .await;
}
