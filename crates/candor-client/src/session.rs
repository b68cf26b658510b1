//! The client's side of one interview session on the wire, sans-IO.
//!
//! [`ClientSession`] owns what the protocol asks of the client between
//! `StartRequest` and `SessionEnded`: the candidate's frames until the server
//! acknowledges them ([`Uplink`]), the order check on what the server sends
//! ([`ServerOrder`]), the highest interviewer seq received in order (the
//! resume point), the acknowledgements it owes, and what the server said of
//! the session (engine, audio format, planned questions).
//!
//! It does no I/O and reads no clock. The engine passes `now` in, writes what
//! [`ClientSession::poll_transmit`] returns to the current socket, acts on what
//! [`ClientSession::poll_event`] returns, and calls
//! [`ClientSession::on_timeout`] at [`ClientSession::next_deadline`]. So whole
//! network outages run in tests in virtual time (see `tests/session.rs`), and
//! the engine keeps only sockets, devices and HTTP.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_lifecycle::{Failure, FailureKind};
use candor_protocol::{
    AudioAck, AudioCodec, AudioConfig, ClientToServerMessage, EndRequest, ErrorCode,
    InterviewerState, PartialTranscript, ResumeRequest, ServerOrder, ServerPayload,
    ServerToClientMessage, StartRequest, Verdict,
};

use crate::uplink::Uplink;

/// How the session paces acknowledgements and figures.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How much unacknowledged candidate audio is kept for replay.
    pub replay_buffer: Duration,
    /// Duration of one candidate frame.
    pub frame: Duration,
    /// Interviewer chunks between two acknowledgements…
    pub ack_every: u32,
    /// …or at most this long after the first unacknowledged one, so the end
    /// of a turn is acknowledged too.
    pub ack_delay: Duration,
    /// How often uplink figures are reported while streaming.
    pub stats_every: Duration,
    /// `client_info` of the `StartRequest`.
    pub client_info: String,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            replay_buffer: Duration::from_secs(60),
            frame: Duration::from_millis(20),
            ack_every: 10,
            ack_delay: Duration::from_millis(200),
            stats_every: Duration::from_secs(1),
            client_info: format!(
                "candor/{} {}",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS
            ),
        }
    }
}

/// One encoded candidate frame from the audio worker.
#[derive(Debug, Clone)]
pub struct CapturedFrame {
    pub data: Bytes,
    pub voice: bool,
    /// The candidate muted the microphone: `data` is silence.
    pub muted: bool,
    /// When its oldest sample was captured.
    pub captured_at: Instant,
    /// When it left the audio worker.
    pub encoded_at: Instant,
}

/// A message to write to the current socket.
#[derive(Debug, Clone)]
pub struct Transmit {
    pub message: ClientToServerMessage,
    /// Set for candidate audio (for latency figures).
    pub frame: Option<FrameTiming>,
}

/// When a frame's audio was captured and encoded.
#[derive(Debug, Clone, Copy)]
pub struct FrameTiming {
    pub captured_at: Instant,
    pub encoded_at: Instant,
}

/// What the session learned, for the engine to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The server accepted (or resumed) the session; audio flows.
    Started {
        session_id: String,
        resumed: bool,
        planned_questions: u32,
    },
    /// The interviewer's next audio chunk, in order, once.
    InterviewerAudio {
        seq: u64,
        data: Bytes,
    },
    Transcript(PartialTranscript),
    Interviewer(InterviewerState),
    /// The candidate barged in: drop what is queued for playback.
    Interrupted,
    /// The server is draining: reconnect.
    GoAway,
    /// The session is over.
    Ended {
        results_pending: bool,
        message: String,
        summary: UplinkSummary,
    },
    /// The server refused something, or broke the protocol.
    Failed(Failure),
    /// Uplink figures, every `stats_every` while streaming.
    Stats(UplinkStats),
}

/// How the candidate's audio fared over the whole session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UplinkSummary {
    /// Frames captured and numbered.
    pub frames_sent: u64,
    /// Frames the server says it stored.
    pub frames_stored: u64,
    /// Frames that fell out of the replay buffer during an outage.
    pub frames_lost: u64,
}

/// Uplink figures over the last window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UplinkStats {
    /// Since audio started streaming.
    pub elapsed: Duration,
    pub kbps: f64,
    /// Audio captured but not yet written to a socket.
    pub buffered: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No socket, or one that has not been asked to start.
    Down,
    /// `StartRequest` sent, no `StartResponse` yet: audio waits.
    Starting,
    /// The server answered: audio flows.
    Established,
}

/// Uplink byte counting for [`SessionEvent::Stats`].
#[derive(Debug, Clone, Copy)]
struct Streaming {
    since: Instant,
    window_start: Instant,
    window_bytes: usize,
}

/// The client's side of one session. See the module docs.
#[derive(Debug)]
pub struct ClientSession {
    config: SessionConfig,
    link: Link,
    uplink: Uplink,
    /// Also the resume point: the highest interviewer seq received in order.
    order: ServerOrder,
    acks_owed: u32,
    ack_due: Option<Instant>,
    streaming: Option<Streaming>,
    /// Which interviewer runs the session ("practice", "gemini").
    engine: String,
    /// The format of the interviewer's audio, as the server stated it.
    downlink: Option<AudioConfig>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
}

impl ClientSession {
    pub fn new(config: SessionConfig) -> Self {
        let uplink = Uplink::new(config.replay_buffer, config.frame);
        Self {
            config,
            link: Link::Down,
            uplink,
            order: ServerOrder::new(0),
            acks_owed: 0,
            ack_due: None,
            streaming: None,
            engine: String::new(),
            downlink: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ------------------------------------------------------------- inputs

    /// A socket is open: asks the server to start `interview_id`, or to
    /// resume `resume_session` from where both sides got to. A new session
    /// starts with fresh sequence numbers both ways.
    pub fn start(&mut self, interview_id: String, auth_token: String, resume: Option<String>) {
        let heard = if resume.is_some() {
            self.order.last_audio_seq()
        } else {
            self.uplink = Uplink::new(self.config.replay_buffer, self.config.frame);
            self.engine.clear();
            self.downlink = None;
            0
        };
        self.order = ServerOrder::new(heard);
        self.link = Link::Starting;
        let resume = resume.map(|session_id| ResumeRequest {
            session_id,
            last_server_seq: heard,
            captured_seq: self.uplink.last_seq(),
        });
        self.queue(StartRequest {
            auth_token,
            interview_id,
            audio_config: Some(AudioConfig::opus_16k_mono()),
            resume,
            client_info: self.config.client_info.clone(),
            accepted_codecs: vec![AudioCodec::Opus as i32, AudioCodec::Pcm16 as i32],
        });
    }

    /// The socket is gone (or was closed). Nothing written to it counts until
    /// the server confirms it on resume; what was queued for it is dropped.
    pub fn disconnected(&mut self) {
        self.link = Link::Down;
        self.uplink.disconnected();
        self.transmits.clear();
        self.acks_owed = 0;
        self.ack_due = None;
    }

    /// Candidate audio starts (the interview went live): frame timestamps
    /// count from `now`.
    pub fn start_streaming(&mut self, now: Instant) {
        self.streaming = Some(Streaming {
            since: now,
            window_start: now,
            window_bytes: 0,
        });
    }

    /// Candidate audio stopped.
    pub fn stop_streaming(&mut self) {
        self.streaming = None;
    }

    /// A frame from the audio worker: kept until acknowledged, written as
    /// soon as the session is up. Ignored unless streaming.
    pub fn on_frame(&mut self, frame: CapturedFrame) {
        let Some(streaming) = self.streaming else {
            return;
        };
        let timestamp_us = frame
            .captured_at
            .saturating_duration_since(streaming.since)
            .as_micros() as u64;
        self.uplink.push(
            frame.data,
            timestamp_us,
            frame.voice,
            frame.muted,
            frame.captured_at,
            frame.encoded_at,
        );
        self.pump();
    }

    /// The candidate ends the interview: everything captured goes out first,
    /// then `EndRequest`.
    pub fn end(&mut self) {
        self.pump();
        self.queue(EndRequest {});
    }

    /// A message from the server.
    pub fn on_message(&mut self, message: ServerToClientMessage, now: Instant) {
        match self.order.check(&message) {
            Ok(Verdict::Accept) => {}
            Ok(Verdict::Duplicate) => return,
            Err(e) => {
                self.events.push_back(SessionEvent::Failed(Failure::new(
                    FailureKind::Retryable,
                    format!("The server broke the protocol: {e}"),
                )));
                return;
            }
        }
        let Some(payload) = message.payload else {
            return;
        };
        match payload {
            ServerPayload::StartResponse(response) => {
                self.engine = response.engine;
                self.downlink = response.audio_config;
                self.uplink.resumed(response.last_client_seq);
                self.link = Link::Established;
                self.events.push_back(SessionEvent::Started {
                    session_id: response.session_id,
                    resumed: response.resumed,
                    planned_questions: response.planned_questions,
                });
                self.pump();
            }
            ServerPayload::AudioChunk(chunk) => {
                self.events.push_back(SessionEvent::InterviewerAudio {
                    seq: chunk.seq,
                    data: chunk.data,
                });
                self.acks_owed += 1;
                if self.acks_owed >= self.config.ack_every {
                    self.acknowledge();
                } else {
                    self.ack_due.get_or_insert(now + self.config.ack_delay);
                }
            }
            ServerPayload::PartialTranscript(t) => {
                self.events.push_back(SessionEvent::Transcript(t));
            }
            ServerPayload::InterviewerState(s) => {
                self.events.push_back(SessionEvent::Interviewer(s));
            }
            ServerPayload::AudioAck(ack) => self.uplink.ack(ack.seq),
            ServerPayload::Interrupted(_) => self.events.push_back(SessionEvent::Interrupted),
            ServerPayload::GoAway(_) => self.events.push_back(SessionEvent::GoAway),
            ServerPayload::SessionEnded(ended) => {
                let summary = UplinkSummary {
                    frames_sent: self.uplink.last_seq(),
                    frames_stored: ended.last_client_seq,
                    frames_lost: self.uplink.overflowed(),
                };
                self.events.push_back(SessionEvent::Ended {
                    results_pending: ended.results_pending,
                    message: ended.message,
                    summary,
                });
            }
            ServerPayload::Error(error) => {
                let kind = match error.code() {
                    ErrorCode::Unauthenticated => FailureKind::Unauthenticated,
                    _ if error.retryable => FailureKind::Retryable,
                    _ => FailureKind::Fatal,
                };
                self.events
                    .push_back(SessionEvent::Failed(Failure::new(kind, error.message)));
            }
        }
    }

    /// Time passed: owed acknowledgements and figures fall due.
    pub fn on_timeout(&mut self, now: Instant) {
        if self.ack_due.is_some_and(|due| due <= now) {
            self.acknowledge();
        }
        if let Some(s) = &mut self.streaming {
            let window = now.saturating_duration_since(s.window_start);
            if window >= self.config.stats_every {
                let kbps = s.window_bytes as f64 * 8.0 / 1000.0 / window.as_secs_f64();
                let stats = UplinkStats {
                    elapsed: now.saturating_duration_since(s.since),
                    kbps: (kbps * 10.0).round() / 10.0,
                    buffered: self.config.frame * self.uplink.unsent() as u32,
                };
                s.window_start = now;
                s.window_bytes = 0;
                self.events.push_back(SessionEvent::Stats(stats));
            }
        }
    }

    // ------------------------------------------------------------ outputs

    /// The next message to write to the socket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`on_timeout`](Self::on_timeout) is next due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let stats = self
            .streaming
            .map(|s| s.window_start + self.config.stats_every);
        match (self.ack_due, stats) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---------------------------------------------------------- accessors

    /// Which interviewer runs the session, once the server said.
    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// The interviewer's audio format, once the server said.
    pub fn downlink(&self) -> Option<&AudioConfig> {
        self.downlink.as_ref()
    }

    /// Whether the server answered the current socket's `StartRequest`.
    pub fn is_established(&self) -> bool {
        self.link == Link::Established
    }

    /// Highest interviewer seq received in order.
    pub fn server_seq(&self) -> u64 {
        self.order.last_audio_seq()
    }

    /// The candidate's frames, as numbered and acknowledged so far.
    pub fn uplink(&self) -> &Uplink {
        &self.uplink
    }

    // ------------------------------------------------------------ helpers

    fn queue(&mut self, message: impl Into<ClientToServerMessage>) {
        if self.link != Link::Down {
            self.transmits.push_back(Transmit {
                message: message.into(),
                frame: None,
            });
        }
    }

    fn acknowledge(&mut self) {
        self.acks_owed = 0;
        self.ack_due = None;
        let seq = self.order.last_audio_seq();
        self.queue(AudioAck { seq });
    }

    /// Moves every frame the server has not got to the transmit queue, if
    /// the session is up.
    fn pump(&mut self) {
        if self.link != Link::Established {
            return;
        }
        while let Some(frame) = self.uplink.next_to_send() {
            if let Some(s) = &mut self.streaming {
                s.window_bytes += frame.data.len();
            }
            self.transmits.push_back(Transmit {
                message: frame.to_chunk().into(),
                frame: Some(FrameTiming {
                    captured_at: frame.captured_at,
                    encoded_at: frame.encoded_at,
                }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_protocol::{
        AudioChunk, ClientPayload, Error, GoAway, Interrupted, SessionEnded, StartResponse,
    };

    fn t(ms: u64) -> Instant {
        static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *T0.get_or_init(Instant::now) + Duration::from_millis(ms)
    }

    fn frame(at: Instant) -> CapturedFrame {
        CapturedFrame {
            data: Bytes::from_static(b"opus"),
            voice: true,
            muted: false,
            captured_at: at,
            encoded_at: at,
        }
    }

    fn sent(s: &mut ClientSession) -> Vec<ClientPayload> {
        std::iter::from_fn(|| s.poll_transmit())
            .map(|t| t.message.payload.expect("payload"))
            .collect()
    }

    fn events(s: &mut ClientSession) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    /// A session the server has accepted, streaming since t(0).
    fn established() -> ClientSession {
        let mut s = ClientSession::new(SessionConfig::default());
        s.start("i1".into(), "tok".into(), None);
        s.start_streaming(t(0));
        s.on_message(
            StartResponse {
                session_id: "s1".into(),
                engine: "practice".into(),
                planned_questions: 3,
                ..Default::default()
            }
            .into(),
            t(0),
        );
        sent(&mut s);
        events(&mut s);
        s
    }

    fn chunk(seq: u64) -> ServerToClientMessage {
        AudioChunk {
            seq,
            ..Default::default()
        }
        .into()
    }

    #[test]
    fn audio_waits_for_the_start_response_then_flows_with_media_timestamps() {
        let mut s = ClientSession::new(SessionConfig::default());
        s.start("i1".into(), "tok".into(), None);
        s.start_streaming(t(0));
        s.on_frame(frame(t(0)));
        s.on_frame(CapturedFrame {
            voice: false,
            muted: true,
            ..frame(t(20))
        });
        let first = sent(&mut s);
        assert!(
            matches!(&first[..], [ClientPayload::StartRequest(r)] if r.interview_id == "i1" && r.resume.is_none())
        );
        s.on_message(
            StartResponse {
                session_id: "s1".into(),
                engine: "gemini".into(),
                planned_questions: 5,
                ..Default::default()
            }
            .into(),
            t(40),
        );
        let chunks: Vec<(u64, u64, bool)> = sent(&mut s)
            .into_iter()
            .map(|p| match p {
                ClientPayload::AudioChunk(c) => (c.seq, c.timestamp_us, c.muted),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(chunks, [(1, 0, false), (2, 20_000, true)], "mute is told");
        assert_eq!(
            events(&mut s),
            [SessionEvent::Started {
                session_id: "s1".into(),
                resumed: false,
                planned_questions: 5
            }]
        );
        assert_eq!(s.engine(), "gemini");
    }

    #[test]
    fn interviewer_audio_is_acknowledged_every_tenth_chunk_or_after_the_delay() {
        let mut s = established();
        for seq in 1..=10 {
            s.on_message(chunk(seq), t(seq * 20));
        }
        assert!(
            matches!(&sent(&mut s)[..], [ClientPayload::AudioAck(a)] if a.seq == 10),
            "ten chunks, one ack"
        );
        s.on_message(chunk(11), t(300));
        s.on_message(chunk(12), t(320));
        assert!(sent(&mut s).is_empty());
        assert_eq!(s.next_deadline().map(|d| d <= t(500)), Some(true));
        s.on_timeout(t(500));
        assert!(
            matches!(&sent(&mut s)[..], [ClientPayload::AudioAck(a)] if a.seq == 12),
            "the end of a turn is acknowledged too"
        );
        let audio = events(&mut s)
            .into_iter()
            .filter(|e| matches!(e, SessionEvent::InterviewerAudio { .. }))
            .count();
        assert_eq!(audio, 12);
    }

    #[test]
    fn duplicates_are_dropped_and_gaps_are_a_protocol_failure() {
        let mut s = established();
        s.on_message(chunk(1), t(0));
        s.on_message(chunk(1), t(0));
        s.on_message(chunk(3), t(0));
        let ev = events(&mut s);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(
            matches!(&ev[1], SessionEvent::Failed(f) if f.kind == FailureKind::Retryable && f.message.contains("broke the protocol"))
        );
    }

    #[test]
    fn a_resume_asks_for_the_interviewer_audio_after_what_was_heard() {
        let mut s = established();
        for seq in 1..=4 {
            s.on_message(chunk(seq), t(0));
        }
        s.on_frame(frame(t(0)));
        s.disconnected();
        assert!(sent(&mut s).is_empty(), "nothing queued for a dead socket");
        s.on_frame(frame(t(20))); // captured during the outage
        s.start("i1".into(), "tok".into(), Some("s1".into()));
        let start = sent(&mut s);
        assert!(
            matches!(&start[..], [ClientPayload::StartRequest(r)] if r.resume.as_ref().is_some_and(|r| r.session_id == "s1" && r.last_server_seq == 4))
        );
        s.on_message(
            StartResponse {
                session_id: "s1".into(),
                resumed: true,
                last_client_seq: 1,
                ..Default::default()
            }
            .into(),
            t(40),
        );
        let replayed: Vec<u64> = sent(&mut s)
            .into_iter()
            .filter_map(|p| match p {
                ClientPayload::AudioChunk(c) => Some(c.seq),
                _ => None,
            })
            .collect();
        assert_eq!(replayed, [2], "only what the server lacks");
        s.on_message(chunk(4), t(40));
        s.on_message(chunk(5), t(40));
        let heard: Vec<u64> = events(&mut s)
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::InterviewerAudio { seq, .. } => Some(seq),
                _ => None,
            })
            .collect();
        assert_eq!(heard, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_resume_answered_by_session_ended_goes_on_to_the_results() {
        let mut s = established();
        s.on_frame(frame(t(0)));
        s.on_frame(frame(t(20)));
        s.disconnected();
        s.start("i1".into(), "tok".into(), Some("s1".into()));
        sent(&mut s);
        // The session finished while the connection was down.
        s.on_message(
            SessionEnded {
                last_client_seq: 2,
                results_pending: true,
                message: "The interview ended while you were reconnecting.".into(),
                ..Default::default()
            }
            .into(),
            t(40),
        );
        assert_eq!(
            events(&mut s),
            [SessionEvent::Ended {
                results_pending: true,
                message: "The interview ended while you were reconnecting.".into(),
                summary: UplinkSummary {
                    frames_sent: 2,
                    frames_stored: 2,
                    frames_lost: 0
                }
            }]
        );
    }

    #[test]
    fn ending_sends_every_frame_before_the_end_request() {
        let mut s = ClientSession::new(SessionConfig::default());
        s.start("i1".into(), "tok".into(), None);
        s.start_streaming(t(0));
        s.on_frame(frame(t(0)));
        sent(&mut s);
        s.on_message(StartResponse::default().into(), t(10));
        s.end();
        let kinds: Vec<&'static str> = sent(&mut s)
            .iter()
            .map(|p| match p {
                ClientPayload::AudioChunk(_) => "audio",
                ClientPayload::EndRequest(_) => "end",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["audio", "end"]);
    }

    #[test]
    fn server_messages_become_events() {
        let mut s = established();
        s.on_frame(frame(t(0)));
        s.on_message(Interrupted::default().into(), t(0));
        s.on_message(GoAway::default().into(), t(0));
        s.on_message(
            SessionEnded {
                last_client_seq: 1,
                results_pending: true,
                message: "done".into(),
                ..Default::default()
            }
            .into(),
            t(0),
        );
        assert_eq!(
            events(&mut s),
            [
                SessionEvent::Interrupted,
                SessionEvent::GoAway,
                SessionEvent::Ended {
                    results_pending: true,
                    message: "done".into(),
                    summary: UplinkSummary {
                        frames_sent: 1,
                        frames_stored: 1,
                        frames_lost: 0
                    }
                }
            ]
        );
    }

    #[test]
    fn error_codes_become_typed_failures() {
        let cases = [
            (ErrorCode::Unauthenticated, FailureKind::Unauthenticated),
            (ErrorCode::Internal, FailureKind::Retryable),
            (ErrorCode::EngineUnavailable, FailureKind::Retryable),
            (ErrorCode::NotFound, FailureKind::Fatal),
            (ErrorCode::PermissionDenied, FailureKind::Fatal),
        ];
        for (code, kind) in cases {
            let mut s = established();
            s.on_message(Error::new(code, "why").into(), t(0));
            assert_eq!(
                events(&mut s),
                [SessionEvent::Failed(Failure::new(kind, "why"))],
                "{code:?}"
            );
        }
    }

    #[test]
    fn uplink_figures_fall_due_every_second_while_streaming() {
        let mut s = established();
        for i in 0..50 {
            s.on_frame(frame(t(i * 20)));
        }
        assert_eq!(s.next_deadline(), Some(t(1000)));
        s.on_timeout(t(1000));
        let stats: Vec<UplinkStats> = events(&mut s)
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Stats(st) => Some(st),
                _ => None,
            })
            .collect();
        // 50 frames of 4 bytes in one second.
        assert_eq!(
            stats,
            [UplinkStats {
                elapsed: Duration::from_secs(1),
                kbps: 1.6,
                buffered: Duration::ZERO
            }]
        );
        s.stop_streaming();
        assert_eq!(s.next_deadline(), None);
    }
}
