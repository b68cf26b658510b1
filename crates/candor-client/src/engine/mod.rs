//! The client engine: the tokio driver around two sans-IO cores.
//!
//! The lifecycle [`Machine`] decides what happens (sign-in, states, retries);
//! the [`ClientSession`] keeps the wire protocol of the current session
//! (sequence numbers, acknowledgements, replay, resume). The driver only does
//! I/O for them. One task owns everything mutable and reacts to one thing at a
//! time: a user intent, a result of work it spawned (HTTP calls in
//! [`requests`], opening devices in [`audio`], the socket in [`socket`]), a
//! message from the server, an audio frame, or a deadline. It feeds the cores,
//! then performs what they ask. Slow work never runs on this task: it is
//! spawned and its result comes back as an [`Internal`] message, so the engine
//! always answers. The speech models of the offline interviewer ([`models`])
//! are managed the same way, beside the lifecycle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_audio::{
    AudioError, Capture, CaptureEvent, EncodedFrame, Playback, PlaybackEvent, SinkSpec, SourceSpec,
};
use candor_lifecycle::{Action, Event, Machine, Timer};
use candor_protocol::{InterviewerActivity, ServerToClientMessage};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::EngineError;
use crate::api::ApiClient;
use crate::backend::{Backend, BackendConfig};
use crate::ipc::{
    Activity, Candor, Credentials, EngineEvent, InterviewSetup, NoticeLevel, Speaker, SpeechModels,
    View,
};
use crate::latency::LatencyLog;
use crate::session::{ClientSession, SessionConfig, SessionEvent, Transmit};
use crate::token::TokenStore;
use crate::transport::{self, TransportConfig};

mod audio;
mod models;
mod requests;
mod review;
mod socket;

use audio::Audio;
use models::{ModelCommand, ModelUpdate, Models};
pub use models::{PROGRESS_INTERVAL, SpeechModelsConfig};
use review::{Review, ReviewCommand, ReviewDone};

/// Everything the engine needs to run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub backend: BackendConfig,
    /// Where the candidate's voice comes from.
    pub input: SourceSpec,
    /// Where the interviewer's voice goes.
    pub output: SinkSpec,
    /// Echo cancellation, noise suppression, high-pass (off for headphones).
    pub echo_cancellation: bool,
    pub lifecycle: candor_lifecycle::Config,
    pub transport: TransportConfig,
    /// How much unacknowledged candidate audio is kept for replay.
    pub replay_buffer: Duration,
    /// Where the bearer token is kept between runs.
    pub tokens: Arc<dyn TokenStore>,
    /// How long opening the microphone may take before it counts as failed.
    pub mic_timeout: Duration,
    /// Seeds the reconnect jitter.
    pub seed: u64,
    /// Record per-frame latency at the socket (for the latency benchmark).
    pub record_latency: bool,
    /// The speech models the user manages (the desktop app). With them, the
    /// embedded backend hears with the model they say (see [`models`]), not
    /// the one `BackendConfig::Embedded` would pick; without them, the model
    /// commands are refused.
    pub speech_models: Option<SpeechModelsConfig>,
    /// How many times a second, at most, the microphone's level is reported
    /// ([`EngineEvent::Level`]): each report is a message to the page, and a
    /// page painted on the CPU draws no more than ten a second.
    pub level_updates_per_second: u32,
}

impl EngineConfig {
    pub fn new(backend: BackendConfig, tokens: Arc<dyn TokenStore>) -> Self {
        Self {
            backend,
            input: SourceSpec::Device { device: None },
            output: SinkSpec::Device { device: None },
            echo_cancellation: true,
            lifecycle: candor_lifecycle::Config::default(),
            transport: TransportConfig::default(),
            replay_buffer: Duration::from_secs(60),
            tokens,
            mic_timeout: Duration::from_secs(10),
            seed: std::process::id() as u64 ^ crate::ipc::now_ms() as u64,
            record_latency: false,
            speech_models: None,
            level_updates_per_second: candor_audio::CaptureSettings::default()
                .level_updates_per_second,
        }
    }
}

/// What the user can ask for. Each is checked by the lifecycle core; an intent
/// that is not valid in the current state is refused with the reason.
#[derive(Debug)]
pub enum Intent {
    SignIn(Credentials),
    SignOut,
    RefreshHistory,
    /// Lists another page of older interviews (reloading the history).
    ShowMoreHistory,
    StartInterview(InterviewSetup),
    RetryPermissions,
    Cancel,
    EndInterview,
    Dismiss,
    ReviewResults(String),
}

enum Command {
    Intent(Intent, oneshot::Sender<Result<(), String>>),
    SetMuted(bool),
    SetDevices {
        input: Option<SourceSpec>,
        output: Option<SinkSpec>,
    },
    View(oneshot::Sender<View>),
    Models(ModelCommand),
    Review(ReviewCommand),
    Shutdown(oneshot::Sender<()>),
}

/// The handle the shell and the CLI hold. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    backend_url: Url,
    latency: LatencyLog,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Intent(i, _) => write!(f, "Intent({i:?})"),
            Command::SetMuted(m) => write!(f, "SetMuted({m})"),
            Command::SetDevices { .. } => write!(f, "SetDevices"),
            Command::View(_) => write!(f, "View"),
            Command::Models(command) => write!(f, "Models({command:?})"),
            Command::Review(command) => write!(f, "Review({command:?})"),
            Command::Shutdown(_) => write!(f, "Shutdown"),
        }
    }
}

impl Engine {
    /// Starts the backend (embedded or remote) and the driver task. Events
    /// arrive on the returned receiver, the current view first.
    pub async fn start(
        config: EngineConfig,
    ) -> Result<(Engine, mpsc::UnboundedReceiver<EngineEvent>), EngineError> {
        let backend = if config.speech_models.is_some() {
            Backend::start_without_installed_model(&config.backend).await?
        } else {
            Backend::start(&config.backend).await?
        };
        let mut api = ApiClient::new(backend.url().clone())
            .map_err(|e| EngineError::Config(e.to_string()))?;
        if let Some(secret) = backend.launch_secret() {
            api = api
                .with_launch_secret(secret)
                .map_err(|e| EngineError::Backend(e.to_string()))?;
        }
        let session_url = api.session_url();
        transport::check_url(&session_url).map_err(|e| EngineError::Config(e.to_string()))?;
        // An unusable keyring must not keep the app from starting: the user
        // signs in as if nothing were stored, and is told at sign-in that it
        // cannot be remembered.
        let stored = config.tokens.load().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no stored sign-in: the token store is unusable");
            None
        });
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let (internal, internal_rx) = mpsc::unbounded_channel();
        let latency = LatencyLog::new(config.record_latency);
        let engine = Engine {
            commands,
            backend_url: backend.url().clone(),
            latency: latency.clone(),
        };
        let session = ClientSession::new(SessionConfig {
            replay_buffer: config.replay_buffer,
            ..SessionConfig::default()
        });
        let models = config.speech_models.clone().map(|speech| {
            Models::new(
                speech,
                backend.embedded_server(),
                internal.clone(),
                events.clone(),
            )
        });
        let mut driver = Driver {
            machine: Machine::new(config.lifecycle.clone(), config.seed),
            api,
            session_url,
            token: stored.clone(),
            events,
            internal,
            timers: HashMap::new(),
            last_view: None,
            generation: 0,
            link: None,
            session,
            audio: Audio::new(),
            latency,
            models,
            review: Review::default(),
            history_limit: HISTORY_PAGE,
            config,
        };
        if let Some(models) = &mut driver.models {
            models.reconcile();
        }
        driver.feed(Event::AppStarted {
            stored_token: stored.is_some(),
        });
        driver.publish_view();
        tokio::spawn(driver.run(commands_rx, internal_rx, backend));
        Ok((engine, events_rx))
    }

    /// The backend's base URL (the embedded server's loopback address).
    pub fn backend_url(&self) -> &Url {
        &self.backend_url
    }

    /// Asks for something; `Err` says why it cannot be done now.
    pub async fn intent(&self, intent: Intent) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Intent(intent, tx))
            .map_err(|_| "The Candor engine has stopped.".to_owned())?;
        rx.await
            .map_err(|_| "The Candor engine has stopped.".to_owned())?
    }

    /// Mutes or unmutes the microphone (silence is still streamed, so the
    /// session stays alive and timings stay true).
    pub fn set_muted(&self, muted: bool) {
        let _ = self.commands.send(Command::SetMuted(muted));
    }

    /// Chooses the devices for the next capture/playback (applied at once
    /// when an interview is live).
    pub fn set_devices(&self, input: Option<SourceSpec>, output: Option<SinkSpec>) {
        let _ = self.commands.send(Command::SetDevices { input, output });
    }

    /// The current view.
    pub async fn view(&self) -> Option<View> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::View(tx)).ok()?;
        rx.await.ok()
    }

    /// The speech models: the catalog, what is on disk, the one in use.
    pub async fn speech_models(&self) -> Result<SpeechModels, String> {
        let (tx, rx) = oneshot::channel();
        self.models_command(ModelCommand::List(tx), rx).await
    }

    /// Starts downloading a speech model (or finishing a partial download).
    /// `modelDownload` events follow its progress and a `speechModels` event
    /// its end; a failure is shown on the model (`SpeechModelInfo::error`).
    pub async fn download_speech_model(&self, id: &str) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.models_command(ModelCommand::Download(id.to_owned(), tx), rx)
            .await
    }

    /// Cancels a download; nothing of it is kept.
    pub async fn cancel_speech_model_download(&self, id: &str) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.models_command(ModelCommand::Cancel(id.to_owned(), tx), rx)
            .await
    }

    /// Deletes a model from disk (refused for the model in use while an
    /// interview runs, and while it downloads). The offline interviewer then
    /// hears with the next installed model, if any.
    pub async fn delete_speech_model(&self, id: &str) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.models_command(ModelCommand::Delete(id.to_owned(), tx), rx)
            .await
    }

    /// Makes an installed model the one the offline interviewer hears with,
    /// from the next interview on (no restart). Answers once it is loaded;
    /// the caller saves the choice.
    pub async fn choose_speech_model(&self, id: &str) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.models_command(ModelCommand::Choose(id.to_owned(), tx), rx)
            .await
    }

    /// Sets the model source (`None` or blank: `CANDOR_MODEL_SOURCE`, if
    /// set). Returns the value to save.
    pub async fn set_speech_model_source(
        &self,
        source: Option<String>,
    ) -> Result<Option<String>, String> {
        let (tx, rx) = oneshot::channel();
        self.models_command(ModelCommand::SetSource(source, tx), rx)
            .await
    }

    async fn models_command<T>(
        &self,
        command: ModelCommand,
        reply: oneshot::Receiver<Result<T, String>>,
    ) -> Result<T, String> {
        const STOPPED: &str = "The Candor engine has stopped.";
        self.commands
            .send(Command::Models(command))
            .map_err(|_| STOPPED.to_owned())?;
        reply.await.map_err(|_| STOPPED.to_owned())?
    }

    /// Deletes a past interview and everything the backend stores for it.
    /// Answers once the backend has; the history then reloads without it,
    /// and its results page, if open, closes. Refused while an interview
    /// is under way.
    pub async fn delete_interview(&self, interview_id: &str) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.review_command(ReviewCommand::Delete(interview_id.to_owned(), tx), rx)
            .await
    }

    /// Writes a past interview's export into `dir` (created if missing;
    /// refused unless new or empty): README.txt, interview.ogg and
    /// answer-NN.ogg (the candidate's voice, Ogg Opus), transcript.txt,
    /// transcript.vtt and report.html.
    pub async fn export_interview(
        &self,
        interview_id: &str,
        dir: std::path::PathBuf,
    ) -> Result<crate::ipc::ExportedInterview, String> {
        let (tx, rx) = oneshot::channel();
        self.review_command(ReviewCommand::Export(interview_id.to_owned(), dir, tx), rx)
            .await
    }

    /// One of a past interview's audio files for replay (`interview.ogg`
    /// or `answer-NN.ogg`), whole or the byte range of a `Range` header
    /// value; the desktop window plays it through the app's own protocol.
    pub async fn replay_audio(
        &self,
        interview_id: &str,
        file: &str,
        range: Option<&str>,
    ) -> Result<crate::api::AudioPart, String> {
        let (tx, rx) = oneshot::channel();
        self.review_command(
            ReviewCommand::Audio {
                interview_id: interview_id.to_owned(),
                file: file.to_owned(),
                range: range.map(str::to_owned),
                reply: tx,
            },
            rx,
        )
        .await
    }

    async fn review_command<T>(
        &self,
        command: ReviewCommand,
        reply: oneshot::Receiver<Result<T, String>>,
    ) -> Result<T, String> {
        const STOPPED: &str = "The Candor engine has stopped.";
        self.commands
            .send(Command::Review(command))
            .map_err(|_| STOPPED.to_owned())?;
        reply.await.map_err(|_| STOPPED.to_owned())?
    }

    /// Per-frame latency at the socket, when `record_latency` was set.
    pub fn latency(&self) -> &LatencyLog {
        &self.latency
    }

    /// Stops audio, closes the socket and the embedded backend.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Results of spawned work and messages from the socket and audio threads.
enum Internal {
    /// An event for the core, computed elsewhere (HTTP results).
    Event(Event<Candor>),
    SignedIn {
        token: String,
        user: candor_api::User,
    },
    MicReady(Result<Capture, AudioError>),
    PlaybackReady(Result<Playback, AudioError>),
    SocketOpened {
        generation: u64,
        writer: mpsc::UnboundedSender<Transmit>,
    },
    Server {
        generation: u64,
        message: ServerToClientMessage,
    },
    SocketLost {
        generation: u64,
        reason: String,
    },
    /// A frame, and when it left the capture worker.
    Frame(EncodedFrame, Instant),
    Capture(CaptureEvent),
    Playback(PlaybackEvent),
    Model(ModelUpdate),
    Review(ReviewDone),
}

/// The socket of the current attempt. Replies from an older attempt's tasks
/// carry an older generation and are ignored.
struct Link {
    generation: u64,
    writer: Option<mpsc::UnboundedSender<Transmit>>,
}

struct Driver {
    config: EngineConfig,
    machine: Machine<Candor>,
    api: ApiClient,
    session_url: Url,
    token: Option<String>,
    events: mpsc::UnboundedSender<EngineEvent>,
    internal: mpsc::UnboundedSender<Internal>,
    timers: HashMap<Timer, Instant>,
    last_view: Option<View>,
    generation: u64,
    link: Option<Link>,
    session: ClientSession,
    audio: Audio,
    latency: LatencyLog,
    models: Option<Models>,
    review: Review,
    /// How many interviews the history lists (grows by [`HISTORY_PAGE`]).
    history_limit: u32,
}

/// Interviews the history lists at first, and adds with each "Show more".
pub const HISTORY_PAGE: u32 = 20;

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
        backend: Backend,
    ) {
        let shutdown_reply = loop {
            let wake = self.next_wake();
            tokio::select! {
                command = commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown(reply)) => break Some(reply),
                    Some(command) => self.on_command(command),
                },
                Some(message) = internal.recv() => self.on_internal(message),
                _ = sleep_until(wake) => self.on_wake(),
            }
            self.drain_session();
            self.publish_view();
        };
        self.release_audio();
        // The streams stop on their own threads; what they write (a WAV
        // sink's header) is complete only when they have.
        let stopping = self.audio.take_stopping();
        let _ = tokio::task::spawn_blocking(move || {
            for thread in stopping {
                let _ = thread.join();
            }
        })
        .await;
        self.close_socket();
        if let Some(models) = self.models.take() {
            models.shutdown().await;
        }
        backend.shutdown().await;
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    /// The earliest lifecycle timer or session deadline.
    fn next_wake(&self) -> Option<Instant> {
        let timer = self.timers.values().min().copied();
        match (timer, self.session.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_wake(&mut self) {
        let now = Instant::now();
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, _)| *t)
            .collect();
        for timer in due {
            self.timers.remove(&timer);
            self.feed(Event::TimerFired { timer });
        }
        self.session.on_timeout(now);
    }

    fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }

    fn notice(&self, level: NoticeLevel, message: String) {
        self.emit(EngineEvent::Notice { level, message });
    }

    fn publish_view(&mut self) {
        let view = self.machine.view();
        if self.last_view.as_ref() != Some(&view) {
            self.emit(EngineEvent::View {
                view: Box::new(view.clone()),
            });
            self.last_view = Some(view);
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Intent(intent, reply) => {
                let result = self.on_intent(intent);
                let _ = reply.send(result);
            }
            Command::SetMuted(muted) => self.audio.muted = muted,
            Command::SetDevices { input, output } => {
                if let Some(input) = input {
                    self.config.input = input;
                }
                if let Some(output) = output {
                    self.config.output = output;
                }
            }
            Command::View(reply) => {
                let _ = reply.send(self.machine.view());
            }
            Command::Models(command) => self.on_model_command(command),
            Command::Review(command) => self.on_review_command(command),
            Command::Shutdown(_) => {}
        }
    }

    fn on_intent(&mut self, intent: Intent) -> Result<(), String> {
        let event = match intent {
            Intent::SignIn(credentials) => Event::SignIn { credentials },
            Intent::SignOut => {
                self.history_limit = HISTORY_PAGE;
                Event::SignOut
            }
            Intent::RefreshHistory => Event::RefreshHistory,
            Intent::ShowMoreHistory => {
                self.history_limit += HISTORY_PAGE;
                let shown = self.try_feed(Event::RefreshHistory);
                if shown.is_err() {
                    self.history_limit -= HISTORY_PAGE;
                }
                return shown.map_err(|r| r.to_string());
            }
            Intent::StartInterview(setup) => Event::StartInterview { setup },
            Intent::RetryPermissions => Event::RetryPermissions,
            Intent::Cancel => Event::Cancel,
            Intent::EndInterview => Event::EndInterview,
            Intent::Dismiss => Event::Dismiss,
            Intent::ReviewResults(interview_id) => Event::ReviewResults { interview_id },
        };
        self.try_feed(event).map_err(|r| r.to_string())
    }

    /// Feeds an event that the driver itself observed; a refusal is only logged.
    fn feed(&mut self, event: Event<Candor>) {
        if let Err(rejected) = self.try_feed(event) {
            tracing::debug!(%rejected, "event ignored");
        }
    }

    fn try_feed(&mut self, event: Event<Candor>) -> Result<(), candor_lifecycle::Rejected> {
        let name = event.name();
        let actions = self.machine.handle(event, Instant::now())?;
        tracing::debug!(event = name, state = %self.machine.state_detail(), "lifecycle");
        for action in actions {
            self.perform(action);
        }
        Ok(())
    }

    fn token(&self) -> String {
        self.token.clone().unwrap_or_default()
    }

    /// Carries out one action of the core: HTTP work is spawned (its result
    /// comes back as an [`Internal`]), the rest is done here.
    fn perform(&mut self, action: Action<Candor>) {
        let (api, token) = (self.api.clone(), self.token());
        match action {
            Action::VerifyStoredToken => self.spawn(requests::verify_token(api, token)),
            Action::SignIn { credentials } => self.spawn(requests::sign_in(api, credentials)),
            Action::SignOutRemote => {
                tokio::spawn(requests::sign_out(api, token));
            }
            Action::ForgetToken => self.forget_token(),
            Action::FetchHistory => self.spawn(requests::history(api, token, self.history_limit)),
            Action::CreateInterview { setup } => {
                self.spawn(requests::create_interview(api, token, setup))
            }
            Action::AcquireMicrophone => self.open_microphone(),
            Action::OpenSocket => self.open_socket(),
            Action::SendStart {
                interview_id,
                resume_session,
            } => self.session.start(interview_id, token, resume_session),
            Action::StartAudio => self.start_audio(),
            Action::ReleaseAudio => self.release_audio(),
            Action::SendEnd => self.session.end(),
            Action::CloseSocket => self.close_socket(),
            Action::FetchResults { interview_id } => {
                let engine = self.session.engine().to_owned();
                self.spawn(requests::results(api, token, interview_id, engine))
            }
            Action::ArmTimer { timer, at } => {
                self.timers.insert(timer, at);
            }
        }
    }

    /// Runs `work` off the driver; its result comes back as a message.
    fn spawn<F>(&self, work: F)
    where
        F: std::future::Future<Output = Internal> + Send + 'static,
    {
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let _ = internal.send(work.await);
        });
    }

    fn forget_token(&mut self) {
        self.token = None;
        if let Err(e) = self.config.tokens.clear() {
            self.notice(
                NoticeLevel::Warning,
                format!("Could not remove the saved sign-in: {e}"),
            );
        }
    }

    fn on_signed_in(&mut self, token: String, user: candor_api::User) {
        if let Err(e) = self.config.tokens.save(&token) {
            self.notice(
                NoticeLevel::Warning,
                format!("Signed in, but the sign-in could not be saved for next time: {e}"),
            );
        }
        self.token = Some(token);
        self.feed(Event::SignedIn {
            profile: (&user).into(),
        });
    }

    fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Event(event) => {
                let event = self.review.filter(event);
                self.feed(event)
            }
            Internal::SignedIn { token, user } => self.on_signed_in(token, user),
            Internal::MicReady(result) => self.on_mic_ready(result),
            Internal::PlaybackReady(result) => self.on_playback_ready(result),
            Internal::SocketOpened { generation, writer } => {
                if let Some(link) = self.current_link(generation) {
                    link.writer = Some(writer);
                    self.feed(Event::SocketOpened);
                }
            }
            Internal::Server {
                generation,
                message,
            } => {
                if self.current_link(generation).is_some() {
                    self.session.on_message(message, Instant::now());
                }
            }
            Internal::SocketLost { generation, reason } => {
                if self.current_link(generation).is_some() {
                    self.link = None;
                    self.session.disconnected();
                    self.feed(Event::ConnectionLost { reason });
                }
            }
            Internal::Frame(frame, left_worker) => self.on_frame(frame, left_worker),
            Internal::Capture(event) => self.on_capture_event(event),
            Internal::Playback(event) => self.on_playback_event(event),
            Internal::Model(update) => {
                if let Some(models) = &mut self.models {
                    models.on_update(update);
                }
            }
            Internal::Review(done) => self.on_review_done(done),
        }
    }

    fn on_model_command(&mut self, command: ModelCommand) {
        let at_rest = self.machine.interview_phase().is_at_rest();
        match &mut self.models {
            Some(models) => models.on_command(command, at_rest),
            None => {
                const OFF: &str = "Speech models are not managed in this app.";
                match command {
                    ModelCommand::List(reply) => {
                        let _ = reply.send(Err(OFF.to_owned()));
                    }
                    ModelCommand::SetSource(_, reply) => {
                        let _ = reply.send(Err(OFF.to_owned()));
                    }
                    ModelCommand::Download(_, reply)
                    | ModelCommand::Cancel(_, reply)
                    | ModelCommand::Delete(_, reply)
                    | ModelCommand::Choose(_, reply) => {
                        let _ = reply.send(Err(OFF.to_owned()));
                    }
                }
            }
        }
    }

    /// The link of `generation`, if it is still the current one.
    fn current_link(&mut self, generation: u64) -> Option<&mut Link> {
        self.link.as_mut().filter(|l| l.generation == generation)
    }

    // ------------------------------------------------------------ session

    /// Writes what the session wants sent and acts on what it learned.
    fn drain_session(&mut self) {
        while let Some(transmit) = self.session.poll_transmit() {
            if let Some(writer) = self.link.as_ref().and_then(|l| l.writer.as_ref()) {
                let _ = writer.send(transmit);
            }
        }
        while let Some(event) = self.session.poll_event() {
            self.on_session_event(event);
        }
        // Acting on an event may have queued more (e.g. the first frames
        // after `Started`).
        while let Some(transmit) = self.session.poll_transmit() {
            if let Some(writer) = self.link.as_ref().and_then(|l| l.writer.as_ref()) {
                let _ = writer.send(transmit);
            }
        }
    }

    fn on_session_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Started {
                session_id,
                resumed,
                planned_questions,
            } => {
                if planned_questions > 0 {
                    self.emit(EngineEvent::Interviewer {
                        activity: Activity::Thinking,
                        question_index: 0,
                        question_count: planned_questions,
                    });
                }
                self.feed(Event::SessionStarted {
                    session_id,
                    resumed,
                });
            }
            SessionEvent::InterviewerAudio { seq, data } => {
                if let Some(playback) = &self.audio.playback {
                    playback.push(seq, data.to_vec());
                }
            }
            SessionEvent::Transcript(t) => self.emit(EngineEvent::Transcript {
                speaker: t.speaker().into(),
                segment_id: t.segment_id,
                text: t.text,
                is_final: t.is_final,
                start_ms: t.start_ms,
            }),
            SessionEvent::Interviewer(state) => self.emit(EngineEvent::Interviewer {
                activity: state.activity().into(),
                question_index: state.question_index,
                question_count: state.question_count,
            }),
            SessionEvent::Interrupted => {
                if let Some(playback) = &self.audio.playback {
                    playback.flush();
                }
            }
            SessionEvent::GoAway => self.feed(Event::GoAway),
            SessionEvent::Ended {
                results_pending,
                message,
                summary,
            } => {
                if summary.frames_sent > summary.frames_stored {
                    tracing::warn!(
                        sent = summary.frames_sent,
                        stored = summary.frames_stored,
                        "the server ended the session before storing all audio"
                    );
                }
                self.emit(EngineEvent::SessionSummary {
                    frames_sent: summary.frames_sent,
                    frames_stored: summary.frames_stored,
                    frames_lost: summary.frames_lost,
                });
                self.feed(Event::SessionEnded {
                    results_pending,
                    message,
                });
            }
            SessionEvent::Failed(failure) => self.feed(Event::ServerError { failure }),
            SessionEvent::Stats(stats) => self.emit(EngineEvent::Stats {
                elapsed_ms: stats.elapsed.as_millis() as u64,
                uplink_kbps: stats.kbps,
                buffered_ms: stats.buffered.as_millis() as u64,
                muted: self.audio.muted,
            }),
        }
    }

    // ------------------------------------------------------------- socket

    fn open_socket(&mut self) {
        self.close_socket();
        self.generation += 1;
        self.link = Some(Link {
            generation: self.generation,
            writer: None,
        });
        tokio::spawn(socket::connect(
            self.generation,
            self.session_url.clone(),
            self.config.transport,
            self.api.launch_secret().map(str::to_owned),
            self.internal.clone(),
            self.latency.clone(),
        ));
    }

    fn close_socket(&mut self) {
        if self.link.take().is_some() {
            self.session.disconnected();
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl From<candor_protocol::Speaker> for Speaker {
    fn from(speaker: candor_protocol::Speaker) -> Self {
        match speaker {
            candor_protocol::Speaker::Candidate => Speaker::Candidate,
            _ => Speaker::Interviewer,
        }
    }
}

impl From<InterviewerActivity> for Activity {
    fn from(activity: InterviewerActivity) -> Self {
        match activity {
            InterviewerActivity::Speaking => Activity::Speaking,
            InterviewerActivity::Thinking => Activity::Thinking,
            _ => Activity::Listening,
        }
    }
}
