//! The client engine: the tokio driver around the sans-IO lifecycle core.
//!
//! One task owns everything mutable — the [`Machine`], the socket's sending
//! side, the replay buffer, the audio handles — and reacts to one thing at a
//! time: a user intent, a result of work it spawned (HTTP calls, opening the
//! microphone or a socket), a message from the server, an audio frame, or a
//! timer. It feeds the core the event, then performs the actions the core
//! returns. Slow work never runs on this task: it is spawned and its result
//! comes back as an [`Internal`] message, so the engine always answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_audio::{
    AudioError, Capture, CaptureEvent, CaptureSettings, CaptureSink, EchoLink, EncodedFrame,
    Playback, PlaybackEvent, PlaybackSettings, SinkSpec, SourceSpec, VoiceProcessing,
};
use candor_lifecycle::{Action, Event, Failure, FailureKind, Machine, MicProblem, Timer};
use candor_protocol::{
    AudioAck, AudioCodec, AudioConfig, ClientToServerMessage, EndRequest, ErrorCode,
    InterviewerActivity, ResumeRequest, ServerOrder, ServerPayload, ServerToClientMessage,
    StartRequest, Verdict,
};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::EngineError;
use crate::api::{ApiClient, ApiFailure};
use crate::backend::{Backend, BackendConfig};
use crate::ipc::{
    Activity, Candor, Credentials, EngineEvent, InterviewSetup, InterviewSummary, NoticeLevel,
    Results, Speaker, View,
};
use crate::latency::LatencyLog;
use crate::token::TokenStore;
use crate::transport::{self, TransportConfig};
use crate::uplink::Uplink;

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
        let backend = Backend::start(&config.backend).await?;
        let api = ApiClient::new(backend.url().clone())
            .map_err(|e| EngineError::Backend(e.to_string()))?;
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
        let frame = Duration::from_millis(20);
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
            uplink: Uplink::new(config.replay_buffer, frame),
            server_order: ServerOrder::new(0),
            server_seq: 0,
            acks_owed: 0,
            session: None,
            audio: Audio::new(),
            stats: Stats::default(),
            silence: silence_packet(),
            latency,
            config,
        };
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
        writer: mpsc::UnboundedSender<Outgoing>,
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
}

/// What the writer task sends.
enum Outgoing {
    Message(ClientToServerMessage),
    Frame {
        message: ClientToServerMessage,
        captured_at: Instant,
        encoded_at: Instant,
    },
}

/// The session being run, as the server described it.
#[derive(Debug, Clone)]
struct SessionInfo {
    session_id: Option<String>,
    /// Which interviewer runs the session ("practice", "gemini").
    engine: String,
    playback: PlaybackSettings,
}

struct Link {
    generation: u64,
    writer: Option<mpsc::UnboundedSender<Outgoing>>,
    /// `StartResponse` received on this socket: audio may flow.
    established: bool,
}

struct Audio {
    capture: Option<Capture>,
    playback: Option<Playback>,
    echo: Arc<EchoLink>,
    streaming: bool,
    muted: bool,
    last_voice: bool,
}

impl Audio {
    fn new() -> Self {
        Self {
            capture: None,
            playback: None,
            echo: EchoLink::new(),
            streaming: false,
            muted: false,
            last_voice: false,
        }
    }
}

#[derive(Default)]
struct Stats {
    live_since: Option<Instant>,
    last_emit: Option<Instant>,
    bytes_since_emit: usize,
}

struct Driver {
    config: EngineConfig,
    machine: Machine<Candor>,
    api: ApiClient,
    session_url: Url,
    token: Option<String>,
    events: mpsc::UnboundedSender<EngineEvent>,
    internal: mpsc::UnboundedSender<Internal>,
    timers: HashMap<Timer, tokio::time::Instant>,
    last_view: Option<View>,
    generation: u64,
    link: Option<Link>,
    uplink: Uplink,
    server_order: ServerOrder,
    /// Highest interviewer seq received in order (sent when resuming).
    server_seq: u64,
    acks_owed: u32,
    session: Option<SessionInfo>,
    audio: Audio,
    stats: Stats,
    silence: Bytes,
    latency: LatencyLog,
}

/// Interviewer chunks between two acknowledgements.
const ACK_EVERY: u32 = 10;

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
        backend: Backend,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let shutdown_reply = loop {
            let next_timer = self
                .timers
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(t, at)| (*t, *at));
            tokio::select! {
                command = commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown(reply)) => break Some(reply),
                    Some(command) => self.on_command(command),
                },
                Some(message) = internal.recv() => self.on_internal(message),
                _ = sleep_until(next_timer.map(|(_, at)| at)) => {
                    if let Some((timer, _)) = next_timer {
                        self.timers.remove(&timer);
                        self.feed(Event::TimerFired { timer });
                    }
                }
                _ = tick.tick() => self.on_tick(),
            }
            self.publish_view();
        };
        self.release_audio();
        self.close_socket();
        backend.shutdown().await;
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
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
            Command::Shutdown(_) => {}
        }
    }

    fn on_intent(&mut self, intent: Intent) -> Result<(), String> {
        let event = match intent {
            Intent::SignIn(credentials) => Event::SignIn { credentials },
            Intent::SignOut => Event::SignOut,
            Intent::RefreshHistory => Event::RefreshHistory,
            Intent::StartInterview(setup) => {
                setup.to_request()?;
                Event::StartInterview { setup }
            }
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

    fn spawn_event<F>(&self, work: F)
    where
        F: std::future::Future<Output = Event<Candor>> + Send + 'static,
    {
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let event = work.await;
            let _ = internal.send(Internal::Event(event));
        });
    }

    fn token(&self) -> String {
        self.token.clone().unwrap_or_default()
    }

    fn perform(&mut self, action: Action<Candor>) {
        match action {
            Action::VerifyStoredToken => {
                let (api, token, internal) =
                    (self.api.clone(), self.token(), self.internal.clone());
                tokio::spawn(async move {
                    let message = match api.me(&token).await {
                        Ok(user) => Internal::SignedIn { token, user },
                        Err(e) => Internal::Event(Event::SignInFailed {
                            failure: e.to_failure(),
                        }),
                    };
                    let _ = internal.send(message);
                });
            }
            Action::SignIn { credentials } => {
                let (api, internal) = (self.api.clone(), self.internal.clone());
                tokio::spawn(async move {
                    let result = match &credentials {
                        Credentials::Password { email, password } => {
                            api.sign_in(email, password).await
                        }
                        Credentials::Offline { name } => api.sign_in_local(name).await,
                    };
                    let message = match result {
                        Ok(auth) => Internal::SignedIn {
                            token: auth.token,
                            user: auth.user,
                        },
                        Err(e) => Internal::Event(Event::SignInFailed {
                            failure: e.to_failure(),
                        }),
                    };
                    let _ = internal.send(message);
                });
            }
            Action::SignOutRemote => {
                let (api, token) = (self.api.clone(), self.token());
                tokio::spawn(async move {
                    if let Err(e) = api.sign_out(&token).await {
                        tracing::info!(error = %e, "sign-out on the server failed");
                    }
                });
            }
            Action::ForgetToken => {
                self.token = None;
                if let Err(e) = self.config.tokens.clear() {
                    self.notice(
                        NoticeLevel::Warning,
                        format!("Could not remove the saved sign-in: {e}"),
                    );
                }
            }
            Action::FetchHistory => {
                let (api, token) = (self.api.clone(), self.token());
                self.spawn_event(async move {
                    match api.history(&token, 50).await {
                        Ok(page) => Event::HistoryLoaded {
                            history: page.items.iter().map(InterviewSummary::from).collect(),
                        },
                        Err(e) => Event::HistoryFailed {
                            failure: Failure::new(
                                e.to_failure().kind,
                                format!("Could not load interview history. {e}"),
                            ),
                        },
                    }
                });
            }
            Action::CreateInterview { setup } => {
                let (api, token) = (self.api.clone(), self.token());
                self.spawn_event(async move {
                    let request = match setup.to_request() {
                        Ok(r) => r,
                        Err(message) => {
                            return Event::InterviewCreateFailed {
                                failure: Failure::new(FailureKind::Fatal, message),
                            };
                        }
                    };
                    match api.create_interview(&token, &request).await {
                        Ok(interview) => Event::InterviewCreated {
                            interview_id: interview.id,
                        },
                        Err(e) => Event::InterviewCreateFailed {
                            failure: e.to_failure(),
                        },
                    }
                });
            }
            Action::AcquireMicrophone => self.open_microphone(),
            Action::OpenSocket => self.open_socket(),
            Action::SendStart {
                interview_id,
                resume_session,
            } => self.send_start(interview_id, resume_session),
            Action::StartAudio => self.start_audio(),
            Action::ReleaseAudio => self.release_audio(),
            Action::SendEnd => {
                self.pump_uplink();
                self.send(ClientToServerMessage::from(EndRequest {}));
            }
            Action::CloseSocket => self.close_socket(),
            Action::FetchResults { interview_id } => {
                let (api, token) = (self.api.clone(), self.token());
                let engine = self
                    .session
                    .as_ref()
                    .map(|s| s.engine.clone())
                    .unwrap_or_default();
                self.spawn_event(
                    async move { fetch_results(api, token, interview_id, engine).await },
                );
            }
            Action::ArmTimer { timer, at } => {
                let delay = at.saturating_duration_since(Instant::now());
                self.timers
                    .insert(timer, tokio::time::Instant::now() + delay);
            }
        }
    }

    fn notice(&self, level: NoticeLevel, message: String) {
        self.emit(EngineEvent::Notice { level, message });
    }

    // --------------------------------------------------------------- audio

    fn capture_settings(&self) -> CaptureSettings {
        CaptureSettings {
            processing: if self.config.echo_cancellation {
                VoiceProcessing::default()
            } else {
                VoiceProcessing::OFF
            },
            ..CaptureSettings::default()
        }
    }

    fn open_microphone(&mut self) {
        if let Some(old) = self.audio.capture.take() {
            std::thread::spawn(move || old.stop());
        }
        let source = self.config.input.clone();
        let settings = self.capture_settings();
        let sink = EngineSink {
            internal: self.internal.clone(),
        };
        let echo = self
            .config
            .echo_cancellation
            .then(|| self.audio.echo.clone());
        let timeout = self.config.mic_timeout;
        let internal = self.internal.clone();
        tokio::task::spawn_blocking(move || {
            let result = Capture::start(&source, settings, sink, echo).and_then(|capture| {
                match capture.wait_started(timeout) {
                    Ok(_) => Ok(capture),
                    Err(e) => {
                        capture.stop();
                        Err(e)
                    }
                }
            });
            let _ = internal.send(Internal::MicReady(result));
        });
    }

    fn start_audio(&mut self) {
        self.audio.streaming = true;
        self.stats = Stats {
            live_since: Some(Instant::now()),
            ..Stats::default()
        };
        let settings = self
            .session
            .as_ref()
            .map(|s| s.playback)
            .unwrap_or_default();
        let sink = self.config.output.clone();
        let echo = self
            .config
            .echo_cancellation
            .then(|| self.audio.echo.clone());
        let internal = self.internal.clone();
        let events = {
            let internal = internal.clone();
            move |event: PlaybackEvent| {
                let _ = internal.send(Internal::Playback(event));
            }
        };
        tokio::task::spawn_blocking(move || {
            let _ = internal.send(Internal::PlaybackReady(Playback::start(
                &sink, settings, events, echo,
            )));
        });
    }

    fn release_audio(&mut self) {
        self.audio.streaming = false;
        let capture = self.audio.capture.take();
        let playback = self.audio.playback.take();
        if capture.is_some() || playback.is_some() {
            // Joining audio threads can take a few ms: not on this task.
            std::thread::spawn(move || {
                if let Some(c) = capture {
                    c.stop();
                }
                if let Some(p) = playback {
                    p.stop();
                }
            });
        }
    }

    fn on_frame(&mut self, frame: EncodedFrame, left_worker: Instant) {
        if !self.audio.streaming {
            return; // captured before live (permission check) or after the end
        }
        self.audio.last_voice = frame.voice && !self.audio.muted;
        let (data, voice) = if self.audio.muted {
            (self.silence.clone(), false)
        } else {
            (Bytes::from(frame.payload), frame.voice)
        };
        let live_since = self.stats.live_since.unwrap_or(frame.captured_at);
        let timestamp_us = frame
            .captured_at
            .saturating_duration_since(live_since)
            .as_micros() as u64;
        self.uplink
            .push(data, timestamp_us, voice, frame.captured_at, left_worker);
        self.pump_uplink();
    }

    // --------------------------------------------------------------- socket

    fn open_socket(&mut self) {
        self.close_socket();
        self.generation += 1;
        let generation = self.generation;
        self.link = Some(Link {
            generation,
            writer: None,
            established: false,
        });
        let url = self.session_url.clone();
        let config = self.config.transport;
        let internal = self.internal.clone();
        let latency = self.latency.clone();
        tokio::spawn(async move {
            match transport::connect(&url, config).await {
                Ok((sender, receiver)) => {
                    let (writer, outgoing) = mpsc::unbounded_channel();
                    tokio::spawn(write_loop(
                        generation,
                        sender,
                        outgoing,
                        config.ping_interval,
                        internal.clone(),
                        latency,
                    ));
                    tokio::spawn(read_loop(generation, receiver, internal.clone()));
                    let _ = internal.send(Internal::SocketOpened { generation, writer });
                }
                Err(e) => {
                    let _ = internal.send(Internal::SocketLost {
                        generation,
                        reason: e.to_string(),
                    });
                }
            }
        });
    }

    fn close_socket(&mut self) {
        if self.link.take().is_some() {
            self.uplink.disconnected();
        }
    }

    fn send(&self, message: ClientToServerMessage) {
        if let Some(writer) = self.link.as_ref().and_then(|l| l.writer.as_ref()) {
            let _ = writer.send(Outgoing::Message(message));
        }
    }

    fn send_start(&mut self, interview_id: String, resume_session: Option<String>) {
        if resume_session.is_none() {
            // A new session: fresh sequence numbers both ways.
            self.uplink = Uplink::new(self.config.replay_buffer, Duration::from_millis(20));
            self.server_seq = 0;
            self.session = Some(SessionInfo {
                session_id: None,
                engine: String::new(),
                playback: PlaybackSettings::default(),
            });
        }
        self.server_order = ServerOrder::new(self.server_seq);
        let resume = resume_session.map(|session_id| ResumeRequest {
            session_id,
            last_server_seq: self.server_seq,
        });
        let start = StartRequest {
            auth_token: self.token(),
            interview_id,
            audio_config: Some(AudioConfig::opus_16k_mono()),
            resume,
            client_info: format!(
                "candor/{} {}",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS
            ),
            accepted_codecs: vec![AudioCodec::Opus as i32, AudioCodec::Pcm16 as i32],
        };
        self.send(start.into());
    }

    /// Writes every frame the server has not got yet, if the session is up.
    fn pump_uplink(&mut self) {
        let Some(writer) = self
            .link
            .as_ref()
            .filter(|l| l.established)
            .and_then(|l| l.writer.clone())
        else {
            return;
        };
        while let Some(frame) = self.uplink.next_to_send() {
            self.stats.bytes_since_emit += frame.data.len();
            let outgoing = Outgoing::Frame {
                message: frame.to_chunk().into(),
                captured_at: frame.captured_at,
                encoded_at: frame.encoded_at,
            };
            if writer.send(outgoing).is_err() {
                break;
            }
        }
    }

    fn on_server_message(&mut self, message: ServerToClientMessage) {
        match self.server_order.check(&message) {
            Ok(Verdict::Accept) => {}
            Ok(Verdict::Duplicate) => return,
            Err(e) => {
                self.feed(Event::ServerError {
                    failure: Failure::new(
                        FailureKind::Retryable,
                        format!("The server broke the protocol: {e}"),
                    ),
                });
                return;
            }
        }
        let Some(payload) = message.payload else {
            return;
        };
        match payload {
            ServerPayload::StartResponse(response) => {
                if let Some(session) = &mut self.session {
                    session.session_id = Some(response.session_id.clone());
                    session.engine = response.engine.clone();
                    if let Some(config) = &response.audio_config {
                        session.playback.codec = match AudioCodec::try_from(config.codec) {
                            Ok(AudioCodec::Pcm16) => candor_audio::Codec::Pcm16,
                            _ => candor_audio::Codec::Opus,
                        };
                        session.playback.stream_rate = config.sample_rate_hz;
                    }
                }
                if response.planned_questions > 0 {
                    self.emit(EngineEvent::Interviewer {
                        activity: Activity::Thinking,
                        question_index: 0,
                        question_count: response.planned_questions,
                    });
                }
                self.uplink.resumed(response.last_client_seq);
                self.feed(Event::SessionStarted {
                    session_id: response.session_id,
                    resumed: response.resumed,
                });
                if let Some(link) = &mut self.link {
                    link.established = true;
                }
                if self.machine.state_name() == "live" {
                    self.pump_uplink();
                }
            }
            ServerPayload::AudioChunk(chunk) => {
                self.server_seq = chunk.seq;
                if let Some(playback) = &self.audio.playback {
                    playback.push(chunk.seq, chunk.data.to_vec());
                }
                self.acks_owed += 1;
                if self.acks_owed >= ACK_EVERY {
                    self.acks_owed = 0;
                    self.send(
                        AudioAck {
                            seq: self.server_seq,
                        }
                        .into(),
                    );
                }
            }
            ServerPayload::PartialTranscript(t) => {
                let speaker = match candor_protocol::Speaker::try_from(t.speaker) {
                    Ok(candor_protocol::Speaker::Candidate) => Speaker::Candidate,
                    _ => Speaker::Interviewer,
                };
                self.emit(EngineEvent::Transcript {
                    speaker,
                    segment_id: t.segment_id,
                    text: t.text,
                    is_final: t.is_final,
                    start_ms: t.start_ms,
                });
            }
            ServerPayload::InterviewerState(state) => {
                let activity = match InterviewerActivity::try_from(state.activity) {
                    Ok(InterviewerActivity::Speaking) => Activity::Speaking,
                    Ok(InterviewerActivity::Thinking) => Activity::Thinking,
                    _ => Activity::Listening,
                };
                self.emit(EngineEvent::Interviewer {
                    activity,
                    question_index: state.question_index,
                    question_count: state.question_count,
                });
            }
            ServerPayload::AudioAck(ack) => self.uplink.ack(ack.seq),
            ServerPayload::Interrupted(_) => {
                if let Some(playback) = &self.audio.playback {
                    playback.flush();
                }
            }
            ServerPayload::GoAway(_) => self.feed(Event::GoAway),
            ServerPayload::SessionEnded(ended) => {
                if self.uplink.last_seq() > ended.last_client_seq {
                    tracing::warn!(
                        sent = self.uplink.last_seq(),
                        stored = ended.last_client_seq,
                        "the server ended the session before storing all audio"
                    );
                }
                self.emit(EngineEvent::SessionSummary {
                    frames_sent: self.uplink.last_seq(),
                    frames_stored: ended.last_client_seq,
                    frames_lost: self.uplink.overflowed(),
                });
                self.feed(Event::SessionEnded {
                    results_pending: ended.results_pending,
                    message: ended.message,
                });
            }
            ServerPayload::Error(error) => {
                let code = ErrorCode::try_from(error.code).unwrap_or(ErrorCode::Unspecified);
                let kind = if code == ErrorCode::Unauthenticated {
                    FailureKind::Unauthenticated
                } else if error.retryable {
                    FailureKind::Retryable
                } else {
                    FailureKind::Fatal
                };
                self.feed(Event::ServerError {
                    failure: Failure::new(kind, error.message),
                });
            }
        }
    }

    // --------------------------------------------------------------- events

    fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Event(event) => self.feed(event),
            Internal::SignedIn { token, user } => {
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
            Internal::MicReady(Ok(capture)) => {
                if self.machine.state_name() == "requestingPermissions" {
                    self.audio.capture = Some(capture);
                    self.feed(Event::MicrophoneGranted);
                } else {
                    std::thread::spawn(move || capture.stop());
                }
            }
            Internal::MicReady(Err(e)) => {
                let problem = if e.is_permission_denied() {
                    MicProblem::Denied
                } else if matches!(e, AudioError::NoDevice(..)) {
                    MicProblem::NoDevice
                } else {
                    MicProblem::Failed
                };
                self.feed(Event::MicrophoneUnavailable {
                    problem,
                    message: e.to_string(),
                });
            }
            Internal::PlaybackReady(Ok(playback)) => {
                if self.audio.streaming {
                    self.audio.playback = Some(playback);
                } else {
                    std::thread::spawn(move || playback.stop());
                }
            }
            Internal::PlaybackReady(Err(e)) => {
                if self.audio.streaming {
                    self.feed(Event::AudioFailed {
                        message: format!("could not open the speaker: {e}"),
                    });
                }
            }
            Internal::SocketOpened { generation, writer } => {
                if let Some(link) = self.link.as_mut().filter(|l| l.generation == generation) {
                    link.writer = Some(writer);
                    self.feed(Event::SocketOpened);
                }
            }
            Internal::Server {
                generation,
                message,
            } => {
                if self
                    .link
                    .as_ref()
                    .is_some_and(|l| l.generation == generation)
                {
                    self.on_server_message(message);
                }
            }
            Internal::SocketLost { generation, reason } => {
                if self
                    .link
                    .as_ref()
                    .is_some_and(|l| l.generation == generation)
                {
                    self.link = None;
                    self.uplink.disconnected();
                    self.feed(Event::ConnectionLost { reason });
                }
            }
            Internal::Frame(frame, left_worker) => self.on_frame(frame, left_worker),
            Internal::Capture(event) => match event {
                CaptureEvent::Level(level) => {
                    if self.audio.streaming {
                        let level = if self.audio.muted { 0.0 } else { level };
                        self.emit(EngineEvent::Level {
                            level,
                            voice: self.audio.last_voice,
                        });
                    }
                }
                CaptureEvent::DeviceLost(e) => self.notice(
                    NoticeLevel::Warning,
                    format!("The microphone was disconnected ({e}); switching to the default one."),
                ),
                CaptureEvent::Failed(e) => self.feed(Event::AudioFailed {
                    message: e.to_string(),
                }),
                CaptureEvent::Started(_) | CaptureEvent::Ended => {}
            },
            Internal::Playback(event) => match event {
                PlaybackEvent::DeviceLost(e) => self.notice(
                    NoticeLevel::Warning,
                    format!("The speaker was disconnected ({e}); switching to the default one."),
                ),
                PlaybackEvent::Failed(e) => {
                    if self.audio.streaming {
                        self.feed(Event::AudioFailed {
                            message: format!("the speaker stopped working: {e}"),
                        });
                    }
                }
                PlaybackEvent::Started(_) => {}
            },
        }
    }

    fn on_tick(&mut self) {
        let Some(since) = self.stats.live_since.filter(|_| self.audio.streaming) else {
            return;
        };
        let now = Instant::now();
        let last = *self.stats.last_emit.get_or_insert(since);
        let window = now.saturating_duration_since(last);
        if window < Duration::from_secs(1) {
            return;
        }
        let kbps = self.stats.bytes_since_emit as f64 * 8.0 / 1000.0 / window.as_secs_f64();
        self.stats.bytes_since_emit = 0;
        self.stats.last_emit = Some(now);
        self.emit(EngineEvent::Stats {
            elapsed_ms: now.saturating_duration_since(since).as_millis() as u64,
            uplink_kbps: (kbps * 10.0).round() / 10.0,
            buffered_ms: self.uplink.unsent() * 20,
            muted: self.audio.muted,
        });
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn fetch_results(
    api: ApiClient,
    token: String,
    interview_id: String,
    engine: String,
) -> Event<Candor> {
    let failed = |e: ApiFailure| Event::ResultsFailed {
        failure: e.to_failure(),
    };
    let results = match api.results(&token, &interview_id).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    match results {
        candor_api::ResultsResponse::Processing => Event::ResultsPending,
        candor_api::ResultsResponse::NotStarted => Event::ResultsFailed {
            failure: Failure::new(
                FailureKind::Fatal,
                "This interview has no recorded session, so there are no results.",
            ),
        },
        candor_api::ResultsResponse::Failed { message } => Event::ResultsFailed {
            failure: Failure::new(FailureKind::Fatal, message),
        },
        candor_api::ResultsResponse::Ready { feedback } => {
            match api.interview(&token, &interview_id).await {
                Ok(interview) => Event::ResultsReady {
                    results: Results::from_api(&interview, &feedback, engine),
                },
                Err(e) => failed(e),
            }
        }
    }
}

async fn write_loop(
    generation: u64,
    mut sender: transport::Sender,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    ping_interval: Duration,
    internal: mpsc::UnboundedSender<Internal>,
    latency: LatencyLog,
) {
    let mut ping = tokio::time::interval(ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let result = loop {
        tokio::select! {
            item = outgoing.recv() => match item {
                None => break Ok(()),
                Some(Outgoing::Message(message)) => {
                    if let Err(e) = sender.send(&message).await { break Err(e); }
                }
                Some(Outgoing::Frame { message, captured_at, encoded_at }) => {
                    if let Err(e) = sender.send(&message).await { break Err(e); }
                    latency.record(captured_at, encoded_at, Instant::now());
                }
            },
            _ = ping.tick() => {
                if let Err(e) = sender.ping().await { break Err(e); }
            }
        }
    };
    match result {
        Ok(()) => sender.close().await,
        Err(e) => {
            let _ = internal.send(Internal::SocketLost {
                generation,
                reason: e.to_string(),
            });
        }
    }
}

async fn read_loop(
    generation: u64,
    mut receiver: transport::Receiver,
    internal: mpsc::UnboundedSender<Internal>,
) {
    loop {
        match receiver.recv().await {
            Ok(message) => {
                if internal
                    .send(Internal::Server {
                        generation,
                        message,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let _ = internal.send(Internal::SocketLost {
                    generation,
                    reason: e.to_string(),
                });
                return;
            }
        }
    }
}

/// Forwards the capture worker's output to the driver.
struct EngineSink {
    internal: mpsc::UnboundedSender<Internal>,
}

impl CaptureSink for EngineSink {
    fn frame(&mut self, frame: EncodedFrame) {
        let _ = self.internal.send(Internal::Frame(frame, Instant::now()));
    }

    fn event(&mut self, event: CaptureEvent) {
        let _ = self.internal.send(Internal::Capture(event));
    }
}

/// One 20 ms Opus frame of silence, sent while muted.
fn silence_packet() -> Bytes {
    let samples = [0f32; candor_audio::codec::CAPTURE_FRAME_SAMPLES];
    let mut encoder = candor_audio::codec::OpusEncoder::new(Default::default())
        .expect("an Opus encoder with default settings");
    Bytes::from(encoder.encode_vec(&samples).expect("encoding silence"))
}
