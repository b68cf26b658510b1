//! Live sessions: the `/v1/session` WebSocket, from the first `StartRequest`
//! to `SessionEnded`.
//!
//! Layering: `candor-protocol`'s `Codec` turns frames into messages and its
//! `ClientOrder` checks their order; this module gives them meaning (auth,
//! resume, acknowledgements, replay) and drives an [`EngineSession`]. Each
//! session is one task that outlives its socket: when the socket drops, the
//! task keeps the session (engine paused, clock stopped) for the resume grace
//! period and a resuming socket is handed to it through the [`Hub`].
//!
//! - `hub`: the registry of live sessions and the way a resume reaches one.
//! - `start`: a `StartRequest` → a new session (or the one to resume).
//! - `resume`: what a session saves to be continued on another instance,
//!   and taking over a session this instance does not hold.
//! - `media`: the candidate's audio placed on the session timeline by its
//!   own clock, so a replayed backlog is the time it was.
//! - here: the socket's first message, and a session's task from start to
//!   end — or, while the server drains (`crate::drain`), to its `GoAway` and
//!   hand-over: a session never resumes on a draining server — or until it
//!   lost its lease (`crate::ownership`). At each of the engine's turn
//!   boundaries and on hand-over the session saves what another instance
//!   needs to continue it (`resume::Saved`).
//!
//! Time: the session clock paces the interviewer and stands still while the
//! socket is gone; candidate chunks are placed by their capture time, and a
//! backlog replayed after a cut moves the clock forward as it is heard. Until
//! the backlog the client announced (`ResumeRequest.captured_seq`) has
//! arrived, the engine is not polled: the interviewer takes no new turn in a
//! past the candidate could not have heard.

mod deadline;
mod hub;
mod media;
mod pace;
mod resume;
mod start;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use bytes::Bytes;
use candor_api::Speaker;
use candor_protocol::{
    AudioAck, AudioChunk, AudioConfig, ClientOrder, ClientPayload, EndReason, Error, ErrorCode,
    GoAway, Interrupted, InterviewerActivity, InterviewerState, PartialTranscript, ReplayBuffer,
    ServerLimits, ServerToClientMessage, SessionEnded, StartResponse, Verdict,
};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep, sleep_until, timeout};

use deadline::Deadlines;
use hub::Attach;
pub(crate) use hub::Hub;
use media::MediaTimeline;
use pace::MediaPolicy;
use start::{AudioPlan, Reservation, Started, StartedEngine, start};

use crate::Shared;
use crate::auth::now_ms;
use crate::drain;
use crate::engine::{CandidateAudio, EngineEvent, EngineSession, SessionClock};
use crate::metrics::{EngineStage, ResumeCause};
use crate::recorder::SessionRecorder;
use crate::store::{FrameFlags, TranscriptRecord};
use crate::voice::Listener;
use crate::voice::listen::VAD_ONSET;

/// A send that takes longer than this means the client stopped reading: the
/// socket is dropped (the session stays resumable) rather than stalling.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the client's reply to our close frame.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

fn limits_message(shared: &Shared) -> ServerLimits {
    let l = &shared.config.limits;
    let ms = |d: Duration| d.as_millis().min(u32::MAX as u128) as u32;
    ServerLimits {
        max_frame_bytes: l.max_frame_bytes as u32,
        idle_timeout_ms: ms(l.idle_timeout),
        resume_grace_ms: ms(l.resume_grace),
        max_session_ms: ms(l.max_session),
        start_deadline_ms: ms(l.start_deadline),
    }
}

/// Sends an `Error` and closes the socket.
/// Answers a resume of a session that has ended: `SessionEnded`, then a
/// normal close.
async fn tell_ended(mut socket: WebSocket, shared: &Shared, ended: SessionEnded) {
    tracing::debug!(reason = ended.reason, "resume of an ended session");
    let msg = ServerToClientMessage::from(ended);
    if let Ok(bytes) = shared.codec.encode(&msg) {
        let _ = timeout(SEND_TIMEOUT, socket.send(Message::Binary(bytes.into()))).await;
    }
    close(socket, close_code::NORMAL, "session ended").await;
}

async fn reject(mut socket: WebSocket, shared: &Shared, err: Error) {
    tracing::debug!(%err, "session rejected");
    let code = ErrorCode::try_from(err.code).unwrap_or(ErrorCode::Unspecified);
    let close_with = match code {
        ErrorCode::FrameTooLarge => close_code::SIZE,
        ErrorCode::Internal | ErrorCode::EngineUnavailable => close_code::ERROR,
        ErrorCode::ResourceExhausted if err.retryable => close_code::AGAIN,
        _ => close_code::POLICY,
    };
    let msg = ServerToClientMessage::from(err);
    if let Ok(bytes) = shared.codec.encode(&msg) {
        let _ = timeout(SEND_TIMEOUT, socket.send(Message::Binary(bytes.into()))).await;
    }
    if code == ErrorCode::FrameTooLarge {
        // The rest of the oversize frame is never read: close without
        // waiting for an answer that would sit behind it.
        send_close(&mut socket, close_with, code.as_str_name()).await;
    } else {
        close(socket, close_with, code.as_str_name()).await;
    }
}

/// The error a client is sent when the WebSocket layer refused its frame
/// for its size (the frame is cut off at its header, never buffered).
fn oversize(e: &axum::Error, max_frame_bytes: usize) -> Option<Error> {
    use std::error::Error as _;
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.source()?.downcast_ref::<WsError>()? {
        WsError::Capacity(c) => Some(Error::new(
            ErrorCode::FrameTooLarge,
            format!("{c}: frames are limited to {max_frame_bytes} bytes."),
        )),
        _ => None,
    }
}

/// Sends a close frame; true if it went out.
async fn send_close(socket: &mut WebSocket, code: u16, reason: &str) -> bool {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    matches!(
        timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await,
        Ok(Ok(()))
    )
}

/// Sends a close frame and waits briefly for the client's answer.
async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    if !send_close(&mut socket, code, reason).await {
        return;
    }
    let _ = timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// Serves one WebSocket from its first message to its end.
pub(crate) async fn serve_socket(
    shared: Arc<Shared>,
    mut socket: WebSocket,
    client_ip: std::net::IpAddr,
) {
    let _alive = shared.tracker.token();
    let deadline = Instant::now() + shared.config.limits.start_deadline;
    // The first data message, within the start deadline.
    let first = loop {
        let next = tokio::select! {
            _ = shared.shutdown.cancelled() => return close(socket, close_code::AWAY, "server shutting down").await,
            r = timeout(deadline.saturating_duration_since(Instant::now()), socket.recv()) => r,
        };
        match next {
            Err(_) => {
                return reject(
                    socket,
                    &shared,
                    Error::new(ErrorCode::StartTimeout, "No StartRequest arrived in time."),
                )
                .await;
            }
            Ok(Some(Err(e))) => {
                if let Some(err) = oversize(&e, shared.config.limits.max_frame_bytes) {
                    reject(socket, &shared, err).await;
                }
                return;
            }
            Ok(None) | Ok(Some(Ok(Message::Close(_)))) => return,
            Ok(Some(Ok(Message::Binary(b)))) => break b,
            Ok(Some(Ok(Message::Text(_)))) => {
                return reject(
                    socket,
                    &shared,
                    Error::new(
                        ErrorCode::Malformed,
                        "Text frames are not used; send binary protobuf frames.",
                    ),
                )
                .await;
            }
            Ok(Some(Ok(_))) => continue,
        }
    };
    let msg = match shared.codec.decode_client(&first) {
        Ok(m) => m,
        Err(e) => return reject(socket, &shared, Error::new(e.code(), e.to_string())).await,
    };
    let mut order = ClientOrder::new();
    if let Err(e) = order.check(&msg) {
        return reject(
            socket,
            &shared,
            Error::new(ErrorCode::OutOfOrder, e.to_string()),
        )
        .await;
    }
    let Some(ClientPayload::StartRequest(req)) = msg.payload else {
        return reject(
            socket,
            &shared,
            Error::new(ErrorCode::OutOfOrder, "StartRequest expected"),
        )
        .await;
    };
    match start(&shared, req, order, client_ip).await {
        Ok(Started::New(session)) => {
            let mut session = session.with_socket(socket);
            session.send_start(false).await;
            session.run().await;
        }
        Ok(Started::Resume {
            attach: tx,
            order,
            resume,
            user_id,
            interview_id,
        }) => {
            let attach = Attach {
                socket,
                order,
                last_server_seq: resume.last_server_seq,
                captured_seq: resume.captured_seq,
            };
            if let Err(mpsc::error::SendError(a)) = tx.send(attach).await {
                // The session finished between the lookup and the handover.
                let Attach { socket, .. } = a;
                match start::ended_session(&shared, &resume.session_id, &user_id, &interview_id)
                    .await
                {
                    Ok(ended) => tell_ended(socket, &shared, ended).await,
                    Err(err) => reject(socket, &shared, err).await,
                }
            }
        }
        Ok(Started::TakenOver {
            mut session,
            order,
            resume,
        }) => {
            session
                .attach(Attach {
                    socket,
                    order,
                    last_server_seq: resume.last_server_seq,
                    captured_seq: resume.captured_seq,
                })
                .await;
            session.run().await;
        }
        Ok(Started::Ended(ended)) => tell_ended(socket, &shared, ended).await,
        Err(err) => reject(socket, &shared, err).await,
    }
}

/// How a session ends.
struct Ending {
    reason: EndReason,
    /// Stored as the session's end reason.
    label: &'static str,
    message: String,
    /// Send `SessionEnded` (false when the socket is gone or got an `Error`).
    notify: bool,
}

enum Flow {
    Continue,
    End(Ending),
    /// The server drains and the socket is gone: let the session go for
    /// another server to resume (see `crate::drain`).
    HandOver,
    /// The instance lost the session's lease (`crate::ownership`): another
    /// may run it now, so this one stops at once — no end, no hand-over.
    LetGo,
}

/// Where a session is in the server's drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaving {
    /// The server is not draining.
    Staying,
    /// The server drains: `GoAway` goes out at the next safe point.
    GoAwayDue,
    /// `GoAway` was sent; the client is leaving.
    Told,
}

/// The end reasons and the labels stored for them.
const END_LABELS: [(EndReason, &str); 7] = [
    (EndReason::UserInitiated, "user_initiated"),
    (EndReason::InterviewComplete, "interview_complete"),
    (EndReason::TimeLimit, "time_limit"),
    (EndReason::ServerShutdown, "server_shutdown"),
    (EndReason::IdleTimeout, "idle_timeout"),
    (EndReason::EngineFailure, "engine_failure"),
    (EndReason::Unspecified, "unspecified"),
];

fn end_label(reason: EndReason) -> &'static str {
    END_LABELS
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or("unspecified", |(_, l)| l)
}

/// The reason a stored label stands for (labels written outside a live
/// session: `server_restart` is a shutdown, `protocol_error` unspecified).
fn end_reason(label: &str) -> EndReason {
    match label {
        "server_restart" => EndReason::ServerShutdown,
        _ => END_LABELS
            .iter()
            .find(|(_, l)| *l == label)
            .map_or(EndReason::Unspecified, |(r, _)| *r),
    }
}

/// A few words on why a session ended, for the candidate.
fn describe_end(reason: EndReason) -> &'static str {
    match reason {
        EndReason::UserInitiated => "you ended it",
        EndReason::InterviewComplete => "the interviewer finished",
        EndReason::TimeLimit => "the time limit was reached",
        EndReason::ServerShutdown => "the server stopped",
        EndReason::IdleTimeout => "the connection stayed down too long",
        EndReason::EngineFailure => "the interviewer failed",
        EndReason::Unspecified => "it could not continue",
    }
}

fn ending(reason: EndReason, message: impl Into<String>) -> Flow {
    let label = end_label(reason);
    Flow::End(Ending {
        reason,
        label,
        message: message.into(),
        notify: true,
    })
}

/// Where a session starts from: new, or taken over from another instance.
struct Origin {
    /// Candidate audio bytes the user may still store.
    audio_left: u64,
    /// The candidate frames stored so far (the next acknowledgement's floor).
    durable_seq: u64,
    /// When the session first started (its time limit and pace run from
    /// there).
    started: Instant,
}

/// One live session (its task).
struct Session {
    shared: Arc<Shared>,
    id: Arc<str>,
    interview_id: String,
    planned: u32,
    engine_name: &'static str,
    engine: Box<dyn EngineSession>,
    clock: SessionClock,
    out_config: AudioConfig,
    in_frame_ms: u32,
    /// Decodes candidate audio and tells speech from silence.
    listener: Listener,
    /// Places candidate chunks on the session timeline.
    media: MediaTimeline,
    /// Chunk sizes, pace and quota of the candidate's audio.
    pace: MediaPolicy,
    /// Open candidate speech span (start, end so far), session clock ms.
    span: Option<(u64, u64)>,
    recorder: SessionRecorder,
    durable: watch::Receiver<u64>,
    socket: Option<WebSocket>,
    /// Order checker of the current socket.
    order: ClientOrder,
    /// Highest candidate seq received (in order) over all sockets.
    received: u64,
    /// The backlog of the last resume ends at this candidate seq; the engine
    /// waits until it has arrived.
    catch_up_to: u64,
    last_in: Instant,
    /// One timer for the idle timeout and the session time limit, re-armed
    /// lazily (not on every frame).
    housekeeping: Pin<Box<Sleep>>,
    /// The time limit (wall clock from the start) and the resume grace.
    deadlines: Deadlines,
    /// The socket is gone and the engine was told so.
    detached: bool,
    out_seq: u64,
    /// Taken over after a crash in the middle of the interviewer's turn:
    /// the previous holder stored its audio due up to this session ms. The
    /// restored engine says that stretch again; it is not sent or stored
    /// twice (the stored chunks are replayed instead).
    said_until_ms: Option<u64>,
    /// Taken over so: the client had the interviewer's chunks up to this
    /// seq, some of which the previous holder sent but had not stored. Said
    /// again, they are stored, not sent again.
    client_has_seq: u64,
    /// Interviewer chunks not yet acknowledged by the client, for replay.
    replay: ReplayBuffer<AudioChunk>,
    attach_rx: mpsc::Receiver<Attach>,
    /// Cancelled if this instance lost the session's lease.
    lost: tokio_util::sync::CancellationToken,
    /// What the interviewer was last said to be doing (drain's safe point).
    interviewer: InterviewerActivity,
    leaving: Leaving,
    /// Why the last socket went away (counted when a resume arrives).
    lost_because: Option<ResumeCause>,
}

async fn recv(socket: &mut Option<WebSocket>) -> Option<Result<Message, axum::Error>> {
    match socket {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

impl Session {
    /// A new session, not yet attached to its socket.
    fn new(
        shared: &Arc<Shared>,
        reservation: Reservation,
        interview_id: String,
        audio: AudioPlan,
        engine: StartedEngine,
        order: ClientOrder,
        origin: Origin,
    ) -> Self {
        let Origin {
            audio_left,
            durable_seq,
            started,
        } = origin;
        let Reservation {
            id,
            attach_rx,
            lost,
        } = reservation;
        let recorder = shared.recorder.session(id.clone(), durable_seq);
        shared.metrics.sessions_live.inc();
        Session {
            shared: shared.clone(),
            durable: recorder.durable(),
            recorder,
            id,
            interview_id,
            planned: engine.planned,
            engine_name: audio.engine.name(),
            engine: engine.session,
            clock: engine.clock,
            out_config: audio.out_config,
            in_frame_ms: audio.in_frame_ms,
            listener: audio.listener,
            media: MediaTimeline::new(audio.in_frame_ms),
            pace: MediaPolicy::new(
                audio.in_codec,
                audio.in_frame_ms,
                shared.config.limits.media_lead.as_millis() as u64,
                shared.config.limits.max_session_audio_bytes.min(audio_left),
            ),
            span: None,
            socket: None,
            order,
            received: 0,
            catch_up_to: 0,
            last_in: Instant::now(),
            housekeeping: Box::pin(sleep_until(Instant::now())),
            deadlines: Deadlines::new(
                started,
                shared.config.limits.max_session,
                shared.config.limits.resume_grace,
            ),
            detached: false,
            out_seq: 0,
            said_until_ms: None,
            client_has_seq: 0,
            replay: ReplayBuffer::with_capacity(shared.config.limits.replay_chunks),
            attach_rx,
            lost,
            interviewer: InterviewerActivity::Unspecified,
            leaving: Leaving::Staying,
            lost_because: None,
        }
    }

    fn with_socket(mut self: Box<Self>, socket: WebSocket) -> Box<Self> {
        self.socket = Some(socket);
        self.last_in = Instant::now();
        self
    }

    fn start_response(&self, resumed: bool) -> StartResponse {
        StartResponse {
            session_id: self.id.to_string(),
            audio_config: Some(self.out_config),
            resumed,
            last_client_seq: self.received,
            limits: Some(limits_message(&self.shared)),
            planned_questions: self.planned,
            engine: self.engine_name.to_owned(),
        }
    }

    async fn send_start(&mut self, resumed: bool) {
        let msg = self.start_response(resumed);
        self.send(msg.into()).await;
        self.arm_housekeeping();
    }

    fn idle_at(&self) -> Instant {
        self.last_in + self.shared.config.limits.idle_timeout
    }

    fn limit_at(&self) -> Instant {
        self.deadlines.limit_at()
    }

    fn arm_housekeeping(&mut self) {
        let at = self.idle_at().min(self.limit_at());
        self.housekeeping.as_mut().reset(at);
    }

    async fn run(mut self: Box<Self>) {
        let ending = loop {
            let flow = if self.socket.is_some() {
                self.step_attached().await
            } else {
                self.step_detached().await
            };
            match flow {
                Flow::Continue => {}
                Flow::End(e) => break e,
                Flow::HandOver => return self.hand_over().await,
                Flow::LetGo => return self.let_go().await,
            }
        };
        self.finish(ending).await;
    }

    async fn step_attached(&mut self) -> Flow {
        let go_away_by = self.shared.drain.go_away_by();
        if self.leaving == Leaving::GoAwayDue
            && let Some(by) = go_away_by
            && drain::go_away_now(self.interviewer, Instant::now(), by)
        {
            self.go_away().await;
            return Flow::Continue;
        }
        let go_away_timer = async {
            match go_away_by {
                Some(by) => sleep_until(by).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.shared.shutdown.cancelled() => {
                ending(EndReason::ServerShutdown, "The server is shutting down; what was recorded is kept.")
            }
            _ = self.lost.cancelled() => Flow::LetGo,
            _ = self.shared.drain.started(), if self.leaving == Leaving::Staying => {
                self.leaving = Leaving::GoAwayDue;
                Flow::Continue
            }
            _ = go_away_timer, if self.leaving == Leaving::GoAwayDue => Flow::Continue,
            a = self.attach_rx.recv() => {
                if let Some(a) = a {
                    self.attach(a).await;
                }
                Flow::Continue
            }
            msg = recv(&mut self.socket) => self.on_message(msg).await,
            r = self.durable.changed() => {
                if r.is_ok() {
                    let seq = *self.durable.borrow_and_update();
                    self.send(AudioAck { seq }.into()).await;
                }
                Flow::Continue
            }
            ev = self.engine.next_event(), if !self.catching_up() => {
                let audio = matches!(ev, EngineEvent::Audio { .. });
                let flow = self.on_engine(ev).await;
                if !audio && matches!(flow, Flow::Continue) {
                    self.save(false).await;
                }
                flow
            }
            _ = self.housekeeping.as_mut() => {
                let now = Instant::now();
                if now >= self.limit_at() {
                    return ending(EndReason::TimeLimit, "The interview reached the time limit.");
                }
                if now >= self.idle_at() {
                    tracing::debug!(session = %self.id, "idle socket dropped");
                    self.detach(ResumeCause::IdleTimeout);
                } else {
                    self.arm_housekeeping();
                }
                Flow::Continue
            }
        }
    }

    async fn step_detached(&mut self) -> Flow {
        let resumable_until = self.deadlines.resumable_until();
        tokio::select! {
            biased;
            _ = self.shared.shutdown.cancelled() => {
                ending(EndReason::ServerShutdown, "The server is shutting down.")
            }
            _ = self.lost.cancelled() => Flow::LetGo,
            _ = self.shared.drain.started() => Flow::HandOver,
            a = self.attach_rx.recv() => {
                if let Some(a) = a {
                    self.attach(a).await;
                }
                Flow::Continue
            }
            _ = sleep_until(resumable_until) => {
                if Instant::now() >= self.limit_at() {
                    ending(EndReason::TimeLimit, "The interview reached the time limit.")
                } else {
                    ending(EndReason::IdleTimeout, "The connection was lost and not resumed in time.")
                }
            }
        }
    }

    /// The candidate's backlog from the last resume is still arriving.
    fn catching_up(&self) -> bool {
        self.received < self.catch_up_to
    }

    /// Drops the socket (it went away for `cause`); the session waits for a
    /// resume.
    fn detach(&mut self, cause: ResumeCause) {
        if self.socket.take().is_some() {
            self.lost_because = Some(cause);
            self.clock.pause();
            self.engine.paused();
            self.detached = true;
            self.deadlines.detached(Instant::now());
            tracing::info!(session = %self.id, "socket lost; session resumable");
        }
    }

    async fn attach(&mut self, a: Attach) {
        let cause = match &self.socket {
            Some(_) => ResumeCause::Replaced,
            None => self
                .lost_because
                .take()
                .unwrap_or(ResumeCause::ConnectionError),
        };
        self.shared.metrics.record_resume(cause);
        if let Some(old) = self.socket.take() {
            // A newer socket wins (the client reconnected before we noticed).
            tokio::spawn(close(
                old,
                close_code::NORMAL,
                "replaced by a resumed connection",
            ));
        }
        self.socket = Some(a.socket);
        self.order = a.order;
        self.order.resume_after(self.received);
        // A backlog is at most what was captured since the socket went
        // quiet: a larger claim must not hold the interviewer back for ever.
        let limits = &self.shared.config.limits;
        let most = (limits.resume_grace + limits.idle_timeout).as_millis() as u64
            / u64::from(self.in_frame_ms.max(1));
        self.catch_up_to = a.captured_seq.min(self.received + most);
        if std::mem::take(&mut self.detached) {
            self.engine.resumed();
        }
        self.deadlines.attached(Instant::now());
        self.clock.resume();
        self.last_in = Instant::now();
        let msg = self.start_response(true);
        self.send(msg.into()).await;
        // Everything the client has not got, in order.
        let missing: Vec<AudioChunk> = self.replay.after(a.last_server_seq).cloned().collect();
        if let Some(first) = missing.first()
            && first.seq > a.last_server_seq + 1
        {
            tracing::warn!(session = %self.id, from = a.last_server_seq, first = first.seq, "replay buffer no longer holds all missed audio");
        }
        for c in missing {
            self.send(c.into()).await;
        }
        let seq = *self.durable.borrow_and_update();
        self.send(AudioAck { seq }.into()).await;
        self.arm_housekeeping();
        tracing::info!(session = %self.id, "session resumed");
    }

    async fn send(&mut self, msg: ServerToClientMessage) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let bytes = match self.shared.codec.encode(&msg) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, kind = msg.kind(), "cannot encode");
                return;
            }
        };
        match timeout(SEND_TIMEOUT, socket.send(Message::Binary(bytes.into()))).await {
            Ok(Ok(())) => {}
            _ => self.detach(ResumeCause::SendFailed),
        }
    }

    async fn protocol_error(&mut self, err: Error) -> Flow {
        if let Some(socket) = self.socket.take() {
            self.clock.pause();
            reject(socket, &self.shared, err.clone()).await;
        }
        Flow::End(Ending {
            reason: EndReason::Unspecified,
            label: "protocol_error",
            message: err.message,
            notify: false,
        })
    }

    async fn on_message(&mut self, msg: Option<Result<Message, axum::Error>>) -> Flow {
        match msg {
            Some(Err(e)) => match oversize(&e, self.shared.config.limits.max_frame_bytes) {
                Some(err) => self.protocol_error(err).await,
                None => {
                    self.detach(ResumeCause::ConnectionError);
                    Flow::Continue
                }
            },
            None | Some(Ok(Message::Close(_))) => {
                self.detach(ResumeCause::ClientClosed);
                Flow::Continue
            }
            Some(Ok(Message::Binary(b))) => self.on_frame(b).await,
            Some(Ok(Message::Text(_))) => {
                self.protocol_error(Error::new(
                    ErrorCode::Malformed,
                    "Text frames are not used.",
                ))
                .await
            }
            Some(Ok(_)) => {
                self.last_in = Instant::now();
                Flow::Continue
            }
        }
    }

    async fn on_frame(&mut self, frame: Bytes) -> Flow {
        let t0 = std::time::Instant::now();
        self.last_in = Instant::now();
        let msg = match self.shared.codec.decode_client(&frame) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .protocol_error(Error::new(e.code(), e.to_string()))
                    .await;
            }
        };
        match self.order.check(&msg) {
            Err(e) => {
                return self
                    .protocol_error(Error::new(ErrorCode::OutOfOrder, e.to_string()))
                    .await;
            }
            Ok(Verdict::Duplicate) => {
                self.shared.metrics.duplicates_dropped.inc();
                return Flow::Continue;
            }
            Ok(Verdict::Accept) => {}
        }
        match msg.payload {
            Some(ClientPayload::AudioChunk(chunk)) => {
                if let Err(refusal) = self.on_audio(chunk).await {
                    tracing::warn!(session = %self.id, ?refusal, "candidate audio refused; session ended");
                    return self.protocol_error(refusal.to_error()).await;
                }
                self.shared
                    .metrics
                    .record_frame(self.pace.codec(), t0.elapsed());
                Flow::Continue
            }
            Some(ClientPayload::EndRequest(_)) => ending(
                EndReason::UserInitiated,
                "The interview was ended by the candidate.",
            ),
            Some(ClientPayload::AudioAck(ack)) => {
                self.replay.ack(ack.seq);
                Flow::Continue
            }
            Some(ClientPayload::StartRequest(_)) | None => Flow::Continue,
        }
    }

    /// One candidate chunk, unless its size, pace or the quota refuse it.
    async fn on_audio(&mut self, chunk: AudioChunk) -> Result<(), pace::Refusal> {
        self.pace.admit(chunk.data.len())?;
        let at_ms = self.media.place(chunk.timestamp_us, self.clock.now_ms());
        let wall_ms = self.deadlines.elapsed(Instant::now()).as_millis() as u64;
        self.pace.in_time(self.media.end_ms(), wall_ms)?;
        self.shared.metrics.frames_in.inc();
        self.take_in(chunk, at_ms, true).await;
        Ok(())
    }

    /// A candidate frame the last instance to hold the session stored after
    /// its last save (see `resume`): heard again, not stored again.
    async fn hear_stored(&mut self, frame: crate::store::StoredFrame) {
        let _ = self.pace.admit(frame.data.len());
        let at_ms = self.media.place(frame.timestamp_us, self.clock.now_ms());
        let chunk = AudioChunk {
            seq: frame.seq,
            data: frame.data.into(),
            timestamp_us: frame.timestamp_us,
            voice_activity: frame.flags.voice_activity,
            muted: frame.flags.muted,
        };
        self.take_in(chunk, at_ms, false).await;
    }

    /// Hears a candidate chunk placed at `at_ms` (and stores it if `store`).
    async fn take_in(&mut self, chunk: AudioChunk, at_ms: u64, store: bool) {
        let dur = self.in_frame_ms as u64;
        self.received = chunk.seq;
        // Audio captured while the socket was down is time that passed.
        self.clock.advance_to(at_ms + dur);
        let heard = self.listener.hear(&chunk.data, chunk.voice_activity);
        let speaking = heard.speaking;
        // Speech spans for results: from the first loud frame of the onset to
        // the end of the last frame before the hangover ran out.
        match (&mut self.span, speaking) {
            (None, true) => {
                let start = at_ms.saturating_sub(dur * (VAD_ONSET as u64 - 1));
                self.span = Some((start, at_ms + dur));
            }
            (Some(span), true) => {
                if heard.voiced {
                    span.1 = at_ms + dur;
                }
            }
            (Some(_), false) => {
                if let Some((a, b)) = self.span.take() {
                    self.recorder.speech(a, b).await;
                }
            }
            (None, false) => {}
        }
        self.engine.push_audio(CandidateAudio {
            seq: chunk.seq,
            at_ms,
            encoded: &chunk.data,
            pcm_16k: heard.pcm,
            voiced: heard.voiced,
            speaking,
            muted: chunk.muted,
            duration_ms: self.in_frame_ms,
        });
        if store {
            let flags = FrameFlags {
                voice_activity: chunk.voice_activity,
                muted: chunk.muted,
            };
            self.recorder
                .audio(chunk.seq, chunk.timestamp_us, flags, chunk.data)
                .await;
        }
    }

    /// Saves what the session needs to continue on another instance (see
    /// `resume`), when the engine reached a turn boundary it has not saved
    /// (or, with `force`, whenever it can).
    async fn save(&mut self, force: bool) {
        let Some(engine) = self.engine.snapshot(force) else {
            return;
        };
        let saved = resume::Saved {
            engine: engine.state,
            engine_holds: engine.holds_audio_through,
            engine_says_again: engine.says_again,
            received: self.received,
            out_seq: self.out_seq,
            clock_ms: self.clock.now_ms(),
            media: self.media.clone(),
            span: self.span,
        };
        match serde_json::to_string(&saved) {
            Ok(state) => {
                self.recorder
                    .resume(self.shared.ownership.instance().clone(), state)
                    .await
            }
            Err(e) => {
                tracing::error!(session = %self.id, error = %e, "the session's state could not be saved")
            }
        }
    }

    async fn on_engine(&mut self, ev: EngineEvent) -> Flow {
        match ev {
            EngineEvent::Audio { data, due_ms } => {
                if let Some(said) = self.said_until_ms {
                    if due_ms <= said {
                        return Flow::Continue;
                    }
                    self.said_until_ms = None;
                }
                self.out_seq += 1;
                let chunk = AudioChunk {
                    seq: self.out_seq,
                    data,
                    timestamp_us: due_ms * 1000,
                    voice_activity: true,
                    muted: false,
                };
                let due = self.clock.instant_at(due_ms);
                self.recorder
                    .interviewer_audio(chunk.seq, chunk.timestamp_us, chunk.data.clone())
                    .await;
                if chunk.seq <= self.client_has_seq {
                    return Flow::Continue;
                }
                self.replay.push(chunk.clone());
                self.send(chunk.into()).await;
                self.shared
                    .metrics
                    .record_send(Instant::now().saturating_duration_since(due));
            }
            EngineEvent::Transcript(t) => {
                let speaker = match t.speaker {
                    Speaker::Interviewer => candor_protocol::Speaker::Interviewer,
                    Speaker::Candidate => candor_protocol::Speaker::Candidate,
                };
                self.send(
                    PartialTranscript {
                        speaker: speaker as i32,
                        segment_id: t.segment_id,
                        text: t.text.clone(),
                        is_final: t.is_final,
                        start_ms: t.start_ms,
                    }
                    .into(),
                )
                .await;
                if t.is_final {
                    self.recorder
                        .transcript(TranscriptRecord {
                            segment_id: t.segment_id,
                            speaker: t.speaker,
                            kind: t.kind,
                            text: t.text,
                            start_ms: t.start_ms,
                            end_ms: t.end_ms,
                            question_index: t.question_index,
                            interrupted: t.interrupted,
                        })
                        .await;
                }
            }
            EngineEvent::State {
                activity,
                question_index,
                question_count,
            } => {
                self.interviewer = activity;
                self.send(
                    InterviewerState {
                        activity: activity as i32,
                        question_index,
                        question_count,
                    }
                    .into(),
                )
                .await;
            }
            EngineEvent::Interrupted => {
                self.send(
                    Interrupted {
                        last_seq: self.out_seq,
                    }
                    .into(),
                )
                .await;
            }
            EngineEvent::Ended { reason, message } => {
                if reason == EndReason::EngineFailure {
                    self.shared
                        .metrics
                        .record_engine_error(self.engine_name, EngineStage::Session);
                }
                return ending(reason, message);
            }
        }
        Flow::Continue
    }

    /// Tells the client to move (the server drains): it closes this socket
    /// and resumes the session elsewhere before the deadline.
    async fn go_away(&mut self) {
        let left = self.shared.drain.time_left(Instant::now());
        self.send(
            GoAway {
                deadline_ms: left.as_millis().min(u32::MAX as u128) as u32,
                reason: "server draining".into(),
            }
            .into(),
        )
        .await;
        self.leaving = Leaving::Told;
        self.shared.metrics.record_go_away();
        tracing::info!(session = %self.id, deadline_ms = left.as_millis() as u64, "GoAway sent");
    }

    /// Lets the session go while the server drains: what it received is
    /// committed and it stays open in the store — not ended, no results
    /// here — for another server (or this one's successor) to resume.
    async fn hand_over(mut self: Box<Self>) {
        // A resume that reached the task before the drain began: the client
        // tries again elsewhere.
        while let Ok(a) = self.attach_rx.try_recv() {
            tokio::spawn(close(a.socket, close_code::AWAY, "server draining"));
        }
        // Saved with the span still open: the answer goes on elsewhere.
        self.save(true).await;
        if let Some((a, b)) = self.span.take() {
            self.recorder.speech(a, b).await;
        }
        let durable = self.recorder.flush().await;
        // Everything is stored: any instance may take the session now.
        let (id, instance) = (self.id.clone(), self.shared.ownership.instance().clone());
        match self
            .shared
            .db
            .run(move |s| s.release_session(&id, &instance, now_ms()))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(session = %self.id, "handed over a session this instance no longer held")
            }
            // Its lease runs out instead.
            Err(e) => {
                tracing::warn!(session = %self.id, error = %e, "the session could not be released")
            }
        }
        // Counted before it leaves the hub: the drain's end reads the count.
        self.shared.metrics.record_handover();
        self.shared.metrics.sessions_live.dec();
        self.shared.hub.remove(&self.id);
        tracing::info!(session = %self.id, durable, "session handed over for another server to resume");
    }

    /// Stops running the session here without a word to the store: this
    /// instance no longer holds its lease, so another may run it already.
    /// The client reconnects (to whichever instance runs it now) and
    /// replays what was not acknowledged.
    async fn let_go(mut self: Box<Self>) {
        while let Ok(a) = self.attach_rx.try_recv() {
            tokio::spawn(close(a.socket, close_code::AGAIN, "session moved"));
        }
        if let Some(socket) = self.socket.take() {
            close(socket, close_code::AGAIN, "session moved").await;
        }
        self.shared.metrics.sessions_live.dec();
        self.shared.hub.remove(&self.id);
        tracing::warn!(session = %self.id, "session let go: its lease was lost");
    }

    async fn finish(mut self: Box<Self>, ending: Ending) {
        self.engine.end();
        for event in self.engine.take_remaining() {
            if let EngineEvent::Transcript(_) = event {
                self.on_engine(event).await;
            }
        }
        if let Some((a, b)) = self.span.take() {
            self.recorder.speech(a, b).await;
        }
        // Everything recorded is on disk before the client hears "ended".
        let durable = self.recorder.flush().await;
        let duration_ms = self.clock.now_ms();
        let id = self.id.clone();
        let label = ending.label;
        if let Err(e) = self
            .shared
            .db
            .run(move |s| s.end_session(&id, label, now_ms(), duration_ms))
            .await
        {
            tracing::error!(session = %self.id, error = %e, "could not record the session end");
        }
        // Its client, told below that it ended, may start another at once.
        self.shared.hub.ended(&self.id);
        // A resume that reached the session after it stopped reading (a
        // client reconnecting just as the interview ended) is told how it
        // ended; from now on a resume finds the end in the store.
        self.attach_rx.close();
        while let Ok(a) = self.attach_rx.try_recv() {
            let ended = SessionEnded {
                reason: ending.reason as i32,
                message: format!(
                    "The interview ended while you were reconnecting ({}).",
                    describe_end(ending.reason)
                ),
                results_pending: true,
                last_client_seq: self.received,
            };
            tell_ended(a.socket, &self.shared, ended).await;
        }
        if ending.notify
            && let Some(mut socket) = self.socket.take()
        {
            let msg = ServerToClientMessage::from(SessionEnded {
                reason: ending.reason as i32,
                message: ending.message.clone(),
                results_pending: true,
                last_client_seq: self.received,
            });
            if let Ok(bytes) = self.shared.codec.encode(&msg) {
                let _ = timeout(SEND_TIMEOUT, socket.send(Message::Binary(bytes.into()))).await;
            }
            close(socket, close_code::NORMAL, "session ended").await;
        }
        self.shared.hub.remove(&self.id);
        self.shared.metrics.sessions_live.dec();
        tracing::info!(session = %self.id, reason = label, durable, "session ended");
        // What the engine only has now (the last answer's recognised words)
        // is stored before the results are computed; the client already
        // waits for them (`results_pending`).
        let late = self.engine.take_late().await;
        if !late.is_empty() {
            for event in late {
                if let EngineEvent::Transcript(_) = event {
                    self.on_engine(event).await;
                }
            }
            self.recorder.flush().await;
        }
        crate::spawn_results(&self.shared, self.interview_id.clone());
    }
}
