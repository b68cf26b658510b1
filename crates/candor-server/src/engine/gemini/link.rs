//! The upstream connection of one Gemini Live interview.
//!
//! [`connect`] opens a WebSocket, sends `setup` (with a resumption handle
//! when resuming) and waits for `setupComplete`. The link task then owns the
//! connection: it sends candidate audio as `realtimeInput`, forwards every
//! server message to the session, keeps the connection alive, and replaces
//! it when the API announces `goAway` (after the model's current turn, within
//! the time left) or when it drops — resuming with the latest resumable
//! handle. Candidate audio sent since that handle's state (trimmed by
//! `lastConsumedClientMessageIndex` when the API sends it) and audio that
//! arrives meanwhile is replayed on the new connection, so none is lost and
//! the candidate notices nothing. Before a planned switch the link stops
//! sending and waits briefly for a handle that covers everything already
//! sent, so nothing is replayed twice either.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::UpstreamError;
use super::wire::{self, Blob, ClientMessage, RealtimeInput, ServerMessage, Setup};
use crate::config::GeminiConfig;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Margin kept before a `goAway` deadline when waiting for the model's turn.
const GO_AWAY_MARGIN: Duration = Duration::from_secs(3);
/// Longest wait, before a planned switch, for a handle covering all audio sent.
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

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
    /// 16 kHz PCM16 little-endian candidate audio.
    Audio(Vec<u8>),
    Send(ClientMessage),
    Close,
}

/// From the link to the session.
#[derive(Debug)]
pub(super) enum LinkEvent {
    Message(ServerMessage),
    /// A new connection replaced a lost one (what the model was saying when
    /// the old one dropped is gone).
    Resumed {
        planned: bool,
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
}

/// Starts the link task on an open connection.
pub(super) fn spawn(
    params: LinkParams,
    conn: Conn,
    cmds: mpsc::UnboundedReceiver<LinkCmd>,
    events: mpsc::UnboundedSender<LinkEvent>,
) -> JoinHandle<()> {
    let link = Link {
        params,
        conn,
        handle: None,
        unconsumed: VecDeque::new(),
        go_away_at: None,
        drain_until: None,
        model_busy: false,
        last_rx: Instant::now(),
        events,
    };
    tokio::spawn(link.run(cmds))
}

/// An entry of the replay log: not yet sent.
const UNSENT: u64 = u64::MAX;

struct Link {
    params: LinkParams,
    conn: Conn,
    /// Latest resumable handle.
    handle: Option<String>,
    /// Candidate audio the latest handle's state may not include, with its
    /// client message index on the current connection (or [`UNSENT`]).
    unconsumed: VecDeque<(u64, Arc<str>)>,
    /// When the current connection must have been replaced.
    go_away_at: Option<Instant>,
    /// Draining before a planned switch: audio is held back until a handle
    /// covers everything sent, or until this instant.
    drain_until: Option<Instant>,
    /// The model is in the middle of a turn.
    model_busy: bool,
    last_rx: Instant,
    events: mpsc::UnboundedSender<LinkEvent>,
}

enum Step {
    Continue,
    Reconnect { planned: bool, cause: UpstreamError },
    Fail(UpstreamError),
    Stop,
}

impl Link {
    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<LinkCmd>) {
        self.forward_early();
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
                    let _ = self.events.send(LinkEvent::Failed(e));
                    return;
                }
                Step::Reconnect { planned, cause } => {
                    tracing::info!(planned, cause = %cause, "resuming the Gemini Live session on a new connection");
                    if let Err(e) = self.reconnect(planned, cause).await {
                        tracing::warn!(error = %e, "Gemini Live session could not be resumed");
                        let _ = self.events.send(LinkEvent::Failed(e));
                        return;
                    }
                    let _ = self.events.send(LinkEvent::Resumed { planned });
                }
            }
        }
    }

    /// Whether to replace the connection now (after `goAway`): once the
    /// model's turn is over (or time runs out), drain, then switch.
    fn switch_due(&mut self) -> bool {
        let Some(at) = self.go_away_at else {
            return false;
        };
        let now = Instant::now();
        if self.model_busy && now < at {
            return false;
        }
        let until = *self
            .drain_until
            .get_or_insert_with(|| (now + DRAIN_WAIT).min(at.max(now)));
        let all_consumed = self.unconsumed.iter().all(|(i, _)| *i == UNSENT);
        all_consumed || now >= until
    }

    fn forward_early(&mut self) {
        for m in std::mem::take(&mut self.conn.early) {
            self.observe(&m);
            let _ = self.events.send(LinkEvent::Message(m));
        }
    }

    async fn on_cmd(&mut self, cmd: Option<LinkCmd>) -> Step {
        match cmd {
            None | Some(LinkCmd::Close) => Step::Stop,
            Some(LinkCmd::Audio(pcm)) => {
                let msg = ClientMessage::RealtimeInput(RealtimeInput {
                    audio: Some(Blob {
                        mime_type: wire::INPUT_MIME.into(),
                        data: base64::engine::general_purpose::STANDARD.encode(&pcm),
                    }),
                });
                let text: Arc<str> = match serde_json::to_string(&msg) {
                    Ok(t) => Arc::from(t),
                    Err(e) => return Step::Fail(UpstreamError::Io(e.to_string())),
                };
                if self.drain_until.is_some() {
                    self.unconsumed.push_back((UNSENT, text));
                    return Step::Continue;
                }
                match self.conn.send_text(text.clone()).await {
                    Ok(i) => {
                        self.unconsumed.push_back((i, text));
                        Step::Continue
                    }
                    Err(cause) => {
                        self.unconsumed.push_back((UNSENT, text));
                        self.lost(cause)
                    }
                }
            }
            Some(LinkCmd::Send(msg)) => match self.conn.send(&msg).await {
                Ok(_) => Step::Continue,
                // A tool response lost with the connection: the resumed
                // model no longer waits for it.
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
            Ok(m) => {
                self.observe(&m);
                let _ = self.events.send(LinkEvent::Message(m));
                Step::Continue
            }
            Err(e) => Step::Fail(e),
        }
    }

    /// What the link itself needs from a server message.
    fn observe(&mut self, m: &ServerMessage) {
        if let Some(u) = &m.session_resumption_update
            && u.resumable
            && let Some(h) = &u.new_handle
        {
            self.handle = Some(h.clone());
            match u.last_consumed_client_message_index {
                Some(i) => self.unconsumed.retain(|(idx, _)| *idx > i),
                None => self.unconsumed.retain(|(idx, _)| *idx == UNSENT),
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
        if let Some(c) = &m.server_content {
            if c.model_turn.is_some() || c.output_transcription.is_some() {
                self.model_busy = true;
            }
            if c.turn_complete || c.interrupted {
                self.model_busy = false;
            }
        }
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
            let mut replay: VecDeque<(u64, Arc<str>)> = std::mem::take(&mut self.unconsumed);
            let mut failed = None;
            while let Some((_, text)) = replay.pop_front() {
                match conn.send_text(text.clone()).await {
                    Ok(i) => self.unconsumed.push_back((i, text)),
                    Err(e) => {
                        self.unconsumed.push_back((UNSENT, text));
                        failed = Some(e);
                        break;
                    }
                }
            }
            self.unconsumed
                .extend(replay.into_iter().map(|(_, t)| (UNSENT, t)));
            if let Some(e) = failed {
                last = e;
                continue;
            }
            self.conn = conn;
            self.go_away_at = None;
            self.drain_until = None;
            self.model_busy = false;
            self.last_rx = Instant::now();
            self.forward_early();
            return Ok(());
        }
        Err(last)
    }
}
