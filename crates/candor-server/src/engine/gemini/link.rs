//! The upstream connection of one Gemini Live interview.
//!
//! [`connect`] opens a WebSocket, sends `setup` (with a resumption handle
//! when resuming) and waits for `setupComplete`; a refused model is reported
//! as such, naming it. The link task then owns the connection: it sends
//! candidate audio as `realtimeInput`, forwards every server message to the
//! session, keeps the connection alive, and replaces it when the API
//! announces `goAway` (after the model's current turn, within the time left)
//! or when it drops — resuming with the latest resumable handle and
//! replaying the candidate audio that handle may lack ([`ReplayLog`]: since
//! the last turn boundary, or exactly what `lastConsumedClientMessageIndex`
//! leaves out when the API sends it), so none is lost.
//!
//! Both channels to the session are bounded: a session whose upstream
//! cannot keep up, or that cannot keep up with its upstream, ends with an
//! error instead of growing memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::UpstreamError;
use super::replay::{NOT_SENT, ReplayLog};
use super::wire::{self, ClientMessage, ServerMessage, Setup};
use crate::config::GeminiConfig;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Margin kept before a `goAway` deadline when waiting for the model's turn.
const GO_AWAY_MARGIN: Duration = Duration::from_secs(3);
/// Longest wait, before a planned switch, for a handle covering all audio sent.
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Commands (mostly 20 ms audio chunks) waiting for the link: a minute of
/// audio, more than a whole reconnect cycle holds up.
pub(super) const CMD_CAPACITY: usize = 3_000;
/// Server messages waiting for the session (it stops reading while the
/// client is detached; the model says at most one turn meanwhile).
pub(super) const EVENT_CAPACITY: usize = 2_048;
/// Candidate audio kept for replay: three minutes of 16 kHz PCM16.
const MAX_REPLAY_BYTES: usize = 3 * 60 * 32_000;

/// What a connection is opened with.
pub(super) struct LinkParams {
    /// Holds the API key: never log it.
    pub url: String,
    pub setup: Setup,
    pub cfg: GeminiConfig,
}

impl std::fmt::Debug for LinkParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkParams")
            .field("model", &self.setup.model)
            .finish_non_exhaustive()
    }
}

/// From the session to the link.
#[derive(Debug)]
pub(super) enum LinkCmd {
    /// 16 kHz PCM16 little-endian candidate audio: chunk `seq` of the
    /// candidate's stream.
    Audio {
        pcm: Vec<u8>,
        seq: u64,
    },
    Send(ClientMessage),
    Close,
}

/// From the link to the session.
#[derive(Debug)]
pub(super) enum LinkEvent {
    Message(ServerMessage),
    /// A resumable handle came, between the model's turns (after the
    /// message that carried it): it holds the conversation with the
    /// candidate's audio up to chunk `holds_through`.
    Handle {
        handle: String,
        holds_through: u64,
    },
    /// A new connection replaced a lost one (what the model was saying when
    /// the old one dropped is gone).
    Resumed {
        planned: bool,
        /// The candidate's audio since the last turn boundary was replayed:
        /// the service hears (and transcribes) the open answer again.
        replayed_turn: bool,
    },
    Failed(UpstreamError),
}

/// One open, set-up connection.
pub(super) struct Conn {
    ws: Ws,
    /// Index of the next client message on this connection (`setup` is 0).
    next_index: u64,
    /// Server messages that arrived before `setupComplete`.
    early: Vec<ServerMessage>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl Conn {
    pub(super) async fn send(&mut self, msg: &ClientMessage) -> Result<u64, UpstreamError> {
        let text = serde_json::to_string(msg).map_err(|e| UpstreamError::Io(e.to_string()))?;
        self.send_text(Arc::from(text)).await
    }

    async fn send_text(&mut self, text: Arc<str>) -> Result<u64, UpstreamError> {
        timeout(
            Duration::from_secs(10),
            self.ws.send(Message::Text(text.as_ref().into())),
        )
        .await
        .map_err(|_| UpstreamError::Timeout("sending"))?
        .map_err(classify)?;
        let i = self.next_index;
        self.next_index += 1;
        Ok(i)
    }
}

fn classify(e: tokio_tungstenite::tungstenite::Error) -> UpstreamError {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(resp) => UpstreamError::Http {
            status: resp.status().as_u16(),
        },
        // The URL holds the key: never echo it.
        E::Url(_) => UpstreamError::Connect("the configured base URL is not usable".into()),
        E::Io(io) => UpstreamError::Connect(io.kind().to_string()),
        E::Tls(t) => UpstreamError::Connect(format!("TLS: {t}")),
        E::ConnectionClosed | E::AlreadyClosed => UpstreamError::Closed {
            code: 1006,
            reason: "connection closed".into(),
        },
        other => UpstreamError::Io(other.to_string()),
    }
}

fn closed(frame: Option<CloseFrame>) -> UpstreamError {
    match frame {
        Some(f) => UpstreamError::Closed {
            code: u16::from(f.code),
            reason: f.reason.to_string(),
        },
        None => UpstreamError::Closed {
            code: 1005,
            reason: "closed without a status".into(),
        },
    }
}

/// Parses one server message (the API sends JSON in text or binary frames).
pub(super) fn parse(bytes: &[u8]) -> Result<ServerMessage, UpstreamError> {
    serde_json::from_slice(bytes).map_err(|e| UpstreamError::Malformed(e.to_string()))
}

/// Opens a connection and completes the setup handshake.
pub(super) async fn connect(
    params: &LinkParams,
    handle: Option<String>,
) -> Result<Conn, UpstreamError> {
    let fut = async {
        let (ws, _) = connect_async(params.url.as_str()).await.map_err(classify)?;
        let mut conn = Conn {
            ws,
            next_index: 0,
            early: Vec::new(),
        };
        let mut setup = params.setup.clone();
        setup.session_resumption.handle = handle;
        conn.send(&ClientMessage::Setup(setup)).await?;
        loop {
            match conn.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let m = parse(t.as_bytes())?;
                    if m.setup_complete.is_some() {
                        return Ok(conn);
                    }
                    conn.early.push(m);
                }
                Some(Ok(Message::Binary(b))) => {
                    let m = parse(&b)?;
                    if m.setup_complete.is_some() {
                        return Ok(conn);
                    }
                    conn.early.push(m);
                }
                Some(Ok(Message::Close(f))) => return Err(closed(f)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(classify(e)),
                None => return Err(closed(None)),
            }
        }
    };
    timeout(params.cfg.connect_timeout, fut)
        .await
        .map_err(|_| UpstreamError::Timeout("connecting and setting up"))?
        .map_err(|e| e.naming_model(&params.cfg.model))
}

/// The session's side of a link: commands out, events in, overflow seen.
#[derive(Debug)]
pub(super) struct LinkHandle {
    pub cmds: mpsc::Sender<LinkCmd>,
    pub events: mpsc::Receiver<LinkEvent>,
    /// Set when the link stopped because the session fell behind.
    pub overflowed: Arc<AtomicBool>,
    pub task: JoinHandle<()>,
}

/// Starts the link task on an open connection (set up with `handle` when
/// it continues a session).
pub(super) fn spawn(params: LinkParams, conn: Conn, handle: Option<String>) -> LinkHandle {
    let (cmd_tx, cmd_rx) = mpsc::channel(CMD_CAPACITY);
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_CAPACITY);
    let overflowed = Arc::new(AtomicBool::new(false));
    let link = Link {
        params,
        conn,
        handle,
        log: ReplayLog::new(MAX_REPLAY_BYTES),
        go_away_at: None,
        drain_until: None,
        model_busy: false,
        last_rx: Instant::now(),
        events: Events::new(ev_tx, overflowed.clone()),
    };
    LinkHandle {
        cmds: cmd_tx,
        events: ev_rx,
        overflowed,
        task: tokio::spawn(link.run(cmd_rx)),
    }
}

/// The link's side of the event channel: never waits, and a full channel
/// stops the link (the session reports it).
#[derive(Debug)]
pub(super) struct Events {
    tx: mpsc::Sender<LinkEvent>,
    overflowed: Arc<AtomicBool>,
}

/// The session is not taking events as fast as the API sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Overflow;

impl Events {
    pub(super) fn new(tx: mpsc::Sender<LinkEvent>, overflowed: Arc<AtomicBool>) -> Self {
        Self { tx, overflowed }
    }

    /// Queues an event; a full queue marks the overflow.
    pub(super) fn emit(&self, ev: LinkEvent) -> Result<(), Overflow> {
        match self.tx.try_send(ev) {
            Ok(()) => Ok(()),
            // The session is gone: nothing left to tell.
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflowed.store(true, Ordering::SeqCst);
                Err(Overflow)
            }
        }
    }
}

struct Link {
    params: LinkParams,
    conn: Conn,
    /// Latest resumable handle.
    handle: Option<String>,
    /// Candidate audio the latest handle's state may not include.
    log: ReplayLog,
    /// When the current connection must have been replaced.
    go_away_at: Option<Instant>,
    /// Draining before a planned switch (transparent resumption only):
    /// audio is held back until a handle covers everything sent, or until
    /// this instant.
    drain_until: Option<Instant>,
    /// The model is in the middle of a turn.
    model_busy: bool,
    last_rx: Instant,
    events: Events,
}

enum Step {
    Continue,
    Reconnect { planned: bool, cause: UpstreamError },
    Fail(UpstreamError),
    Stop,
}

fn audio_message(pcm: &[u8]) -> Result<Arc<str>, UpstreamError> {
    serde_json::to_string(&wire::audio_input(pcm))
        .map(Arc::from)
        .map_err(|e| UpstreamError::Io(e.to_string()))
}

impl Link {
    async fn run(mut self, mut cmds: mpsc::Receiver<LinkCmd>) {
        if self.forward_early().is_err() {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let step = if self.switch_due() {
                Step::Reconnect {
                    planned: true,
                    cause: UpstreamError::Closed {
                        code: 1001,
                        reason: "goAway".into(),
                    },
                }
            } else {
                let wake = self.drain_until.or(self.go_away_at);
                tokio::select! {
                    cmd = cmds.recv() => self.on_cmd(cmd).await,
                    msg = self.conn.ws.next() => self.on_upstream(msg),
                    _ = tick.tick() => self.keepalive().await,
                    _ = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => Step::Continue,
                }
            };
            match step {
                Step::Continue => {}
                Step::Stop => {
                    let _ = timeout(Duration::from_secs(1), self.conn.ws.close(None)).await;
                    return;
                }
                Step::Fail(e) => {
                    tracing::warn!(error = %e, "Gemini Live connection failed");
                    let _ = timeout(Duration::from_secs(1), self.conn.ws.close(None)).await;
                    let _ = self.events.emit(LinkEvent::Failed(e));
                    return;
                }
                Step::Reconnect { planned, cause } => {
                    tracing::info!(planned, cause = %cause, "resuming the Gemini Live session on a new connection");
                    let replayed_turn = !self.log.is_transparent();
                    if let Err(e) = self.reconnect(planned, cause).await {
                        tracing::warn!(error = %e, "Gemini Live session could not be resumed");
                        let _ = self.events.emit(LinkEvent::Failed(e));
                        return;
                    }
                    if self
                        .events
                        .emit(LinkEvent::Resumed {
                            planned,
                            replayed_turn,
                        })
                        .is_err()
                        || self.forward_early().is_err()
                    {
                        return self.overflowed().await;
                    }
                }
            }
        }
    }

    /// The session fell behind: close; the session reports the overflow.
    async fn overflowed(mut self) {
        tracing::warn!("Gemini Live session fell behind its upstream; closing");
        let _ = timeout(Duration::from_secs(1), self.conn.ws.close(None)).await;
    }

    /// Whether to replace the connection now (after `goAway`): once the
    /// model's turn is over (or time runs out). With transparent resumption
    /// the link first drains (holds audio back until a handle covers all it
    /// sent); otherwise no handle can say that, and the log is replayed.
    fn switch_due(&mut self) -> bool {
        let Some(at) = self.go_away_at else {
            return false;
        };
        let now = Instant::now();
        if self.model_busy && now < at {
            return false;
        }
        if !self.log.is_transparent() {
            return true;
        }
        let until = *self
            .drain_until
            .get_or_insert_with(|| (now + DRAIN_WAIT).min(at.max(now)));
        self.log.all_sent_consumed() || now >= until
    }

    fn forward_early(&mut self) -> Result<(), Overflow> {
        for m in std::mem::take(&mut self.conn.early) {
            self.forward(m)?;
        }
        Ok(())
    }

    /// Observes a server message and hands it to the session (followed by
    /// the handle it brought, if any).
    fn forward(&mut self, m: ServerMessage) -> Result<(), Overflow> {
        let handle = self.observe(&m);
        self.events.emit(LinkEvent::Message(m))?;
        match handle {
            Some(ev) => self.events.emit(ev),
            None => Ok(()),
        }
    }

    async fn on_cmd(&mut self, cmd: Option<LinkCmd>) -> Step {
        match cmd {
            None | Some(LinkCmd::Close) => Step::Stop,
            Some(LinkCmd::Audio { pcm, seq }) => {
                let pcm: Arc<[u8]> = Arc::from(pcm);
                if self.drain_until.is_some() {
                    self.log.push(pcm, NOT_SENT, seq);
                    return Step::Continue;
                }
                let text = match audio_message(&pcm) {
                    Ok(t) => t,
                    Err(e) => return Step::Fail(e),
                };
                match self.conn.send_text(text).await {
                    Ok(i) => {
                        self.log.push(pcm, i, seq);
                        Step::Continue
                    }
                    Err(cause) => {
                        self.log.push(pcm, NOT_SENT, seq);
                        self.lost(cause)
                    }
                }
            }
            Some(LinkCmd::Send(msg)) => match self.conn.send(&msg).await {
                Ok(_) => Step::Continue,
                // A tool response or stream end lost with the connection:
                // the resumed model no longer waits for it.
                Err(cause) => self.lost(cause),
            },
        }
    }

    fn lost(&self, cause: UpstreamError) -> Step {
        if cause.retryable() {
            Step::Reconnect {
                planned: false,
                cause,
            }
        } else {
            Step::Fail(cause)
        }
    }

    fn on_upstream(
        &mut self,
        msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Step {
        let bytes = match msg {
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(Message::Close(f))) => return self.lost(closed(f)),
            Some(Ok(_)) => {
                self.last_rx = Instant::now();
                return Step::Continue;
            }
            Some(Err(e)) => return self.lost(classify(e)),
            None => return self.lost(closed(None)),
        };
        self.last_rx = Instant::now();
        match parse(&bytes) {
            Ok(m) => match self.forward(m) {
                Ok(()) => Step::Continue,
                Err(Overflow) => Step::Stop,
            },
            Err(e) => Step::Fail(e),
        }
    }

    /// What the link itself needs from a server message: the turn
    /// boundaries, the latest handle, `goAway`. A handle that came between
    /// the model's turns is also for the session.
    fn observe(&mut self, m: &ServerMessage) -> Option<LinkEvent> {
        let mut handle_event = None;
        if let Some(c) = &m.server_content {
            if c.model_turn.is_some() && !self.model_busy {
                self.model_busy = true;
                self.log.model_turn_started();
            }
            if c.turn_complete || c.interrupted {
                self.model_busy = false;
                self.log.model_turn_ended();
            }
        }
        if let Some(u) = &m.session_resumption_update
            && u.resumable
            && let Some(h) = u.new_handle.as_ref().filter(|h| !h.is_empty())
        {
            self.handle = Some(h.clone());
            self.log
                .handle_received(u.last_consumed_client_message_index);
            if !self.model_busy {
                handle_event = Some(LinkEvent::Handle {
                    handle: h.clone(),
                    holds_through: self.log.holds_through(),
                });
            }
        }
        if let Some(g) = &m.go_away {
            let left = g
                .time_left
                .as_deref()
                .and_then(wire::duration_ms)
                .map(Duration::from_millis)
                .unwrap_or(Duration::ZERO);
            self.go_away_at = Some(Instant::now() + left.saturating_sub(GO_AWAY_MARGIN));
        }
        handle_event
    }

    async fn keepalive(&mut self) -> Step {
        let quiet = self.last_rx.elapsed();
        if quiet >= self.params.cfg.keepalive_timeout {
            return self.lost(UpstreamError::Timeout("keep-alive"));
        }
        if quiet >= self.params.cfg.keepalive_interval {
            // Any frame (a pong, or data) counts as alive; slow pongs are fine.
            if let Err(cause) = timeout(
                Duration::from_secs(5),
                self.conn.ws.send(Message::Ping(Vec::new().into())),
            )
            .await
            .map_err(|_| UpstreamError::Timeout("ping"))
            .and_then(|r| r.map_err(classify))
            {
                return self.lost(cause);
            }
        }
        Step::Continue
    }

    async fn reconnect(
        &mut self,
        planned: bool,
        cause: UpstreamError,
    ) -> Result<(), UpstreamError> {
        if planned {
            let _ = timeout(Duration::from_secs(1), self.conn.ws.close(None)).await;
        }
        let Some(handle) = self.handle.clone() else {
            tracing::warn!(cause = %cause, "no resumption handle yet");
            return Err(UpstreamError::NotResumable);
        };
        if self.log.dropped() > 0 {
            tracing::warn!(
                dropped = self.log.dropped(),
                "the oldest candidate audio no longer fitted the replay log"
            );
        }
        let cfg = &self.params.cfg;
        let mut last = cause;
        for attempt in 0..cfg.reconnect_attempts.max(1) {
            if attempt > 0 || !planned {
                let backoff = cfg
                    .reconnect_backoff
                    .saturating_mul(1 << attempt.min(8))
                    .min(MAX_BACKOFF);
                sleep(backoff).await;
            }
            let mut conn = match connect(&self.params, Some(handle.clone())).await {
                Ok(c) => c,
                Err(e) if e.retryable() => {
                    tracing::debug!(attempt, error = %e, "reconnect attempt failed");
                    last = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Replay what the resumed state may lack, in order.
            tracing::debug!(
                chunks = self.log.len(),
                bytes = self.log.bytes(),
                "replaying candidate audio"
            );
            let mut failed = None;
            for entry in self.log.for_replay() {
                let text = audio_message(&entry.pcm)?;
                match conn.send_text(text).await {
                    Ok(i) => entry.index = i,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                last = e;
                continue;
            }
            self.conn = conn;
            self.go_away_at = None;
            self.drain_until = None;
            self.model_busy = false;
            self.last_rx = Instant::now();
            return Ok(());
        }
        Err(last)
    }
}
