//! One Gemini Live interview as an [`EngineSession`].
//!
//! [`Bridge`] is the sans-IO part: fed server messages and candidate voice
//! activity with the session clock, it produces [`EngineEvent`]s — model audio
//! re-encoded into 20 ms chunks and paced in real time, transcription
//! fragments stitched into segments (candidate segments end when the model
//! answers, interviewer segments when its turn completes or is interrupted),
//! interviewer state, and the end of the interview once the model has called
//! `end_interview` and its goodbye has played. [`GeminiSession`] wires it to
//! the link task and the clock.

use std::collections::VecDeque;

use base64::Engine as _;
use bytes::Bytes;
use candor_api::Speaker;
use candor_audio::Codec;
use candor_audio::codec::encode_pcm16;
use candor_protocol::{EndReason, InterviewerActivity};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::link::{self, Conn, LinkCmd, LinkEvent, LinkParams};
use super::wire::{self, ClientMessage, FunctionResponse, ServerMessage, ToolResponse};
use super::{END_INTERVIEW, UpstreamError};
use crate::engine::{
    BoxFuture, CandidateAudio, EngineContext, EngineError, EngineEvent, EngineSession,
    SessionClock, TranscriptEvent,
};
use crate::store::SegmentKind;
use crate::voice::StreamEncoder;

/// A transcript segment being stitched from fragments.
#[derive(Debug, Clone)]
struct Segment {
    id: u64,
    text: String,
    start_ms: u64,
}

/// Where the conversation is, as far as the model's turns go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// The candidate has the floor; the model has not started a turn.
    Listening,
    /// The model is in a turn (audio or text arrived, no turn end yet).
    Speaking,
    /// The model called `end_interview` during its turn: the interview ends
    /// when this turn (its goodbye) has played.
    SayingGoodbye,
    /// The goodbye was interrupted: the interview ends at the next turn end,
    /// or when the model calls `end_interview` again.
    GoodbyeCut,
    /// Over: nothing more is produced.
    Done,
}

impl Turn {
    /// The model is in a turn.
    fn is_speaking(self) -> bool {
        matches!(self, Turn::Speaking | Turn::SayingGoodbye)
    }

    /// The model has called `end_interview` (what it says is the closing).
    fn is_closing(self) -> bool {
        matches!(self, Turn::SayingGoodbye | Turn::GoodbyeCut)
    }
}

/// The sans-IO bridge between Live API messages and engine events.
#[derive(Debug)]
pub struct Bridge {
    encoder: StreamEncoder,
    frame_ms: u64,
    /// Events due now.
    ready: VecDeque<EngineEvent>,
    /// Interviewer audio, each chunk due at its time on the session clock.
    audio: VecDeque<(u64, Bytes)>,
    /// Events due when the audio queued before them has played.
    after_audio: VecDeque<(u64, EngineEvent)>,
    /// Session time at which the queued interviewer audio ends.
    playhead_ms: u64,
    next_segment: u64,
    interviewer: Option<Segment>,
    candidate: Option<Segment>,
    turn: Turn,
    question_index: u32,
    question_count: u32,
    speech_onset_ms: Option<u64>,
    last_voice_ms: Option<u64>,
    /// Messages for the API (tool responses).
    outbox: Vec<ClientMessage>,
}

fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Bridge {
    pub fn new(codec: Codec, rate_hz: u32, question_count: u32) -> Result<Self, EngineError> {
        let encoder = StreamEncoder::new(codec, rate_hz)?;
        Ok(Self {
            frame_ms: u64::from(encoder.frame_ms()),
            encoder,
            ready: VecDeque::new(),
            audio: VecDeque::new(),
            after_audio: VecDeque::new(),
            playhead_ms: 0,
            next_segment: 1,
            interviewer: None,
            candidate: None,
            turn: Turn::Listening,
            question_index: 0,
            question_count,
            speech_onset_ms: None,
            last_voice_ms: None,
            outbox: Vec::new(),
        })
    }

    fn segment_id(&mut self) -> u64 {
        let id = self.next_segment;
        self.next_segment += 1;
        id
    }

    /// Candidate voice activity (for segment timings).
    pub fn on_candidate(&mut self, at_ms: u64, speaking: bool, duration_ms: u64) {
        if speaking {
            if self.last_voice_ms.is_none_or(|l| at_ms > l + 500) {
                self.speech_onset_ms = Some(at_ms);
            }
            self.last_voice_ms = Some(at_ms + duration_ms);
        }
    }

    fn state(&mut self, activity: InterviewerActivity) -> EngineEvent {
        EngineEvent::State {
            activity,
            question_index: self.question_index,
            question_count: self.question_count,
        }
    }

    /// Handles one server message at `now_ms`.
    pub fn on_message(&mut self, m: ServerMessage, now_ms: u64) {
        if self.turn == Turn::Done {
            return;
        }
        if let Some(call) = m.tool_call {
            let mut end_called = false;
            for f in call.function_calls {
                let response = if f.name == END_INTERVIEW {
                    end_called = true;
                    serde_json::json!({"result": "ok"})
                } else {
                    serde_json::json!({"error": format!("unknown function {}", f.name)})
                };
                self.outbox.push(ClientMessage::ToolResponse(ToolResponse {
                    function_responses: vec![FunctionResponse {
                        id: f.id,
                        name: f.name,
                        response,
                    }],
                }));
            }
            if end_called {
                self.end_called(now_ms);
            }
        }
        let Some(c) = m.server_content else {
            return;
        };
        if let Some(t) = c.input_transcription.filter(|t| !t.text.is_empty()) {
            self.candidate_text(&t.text, now_ms);
        }
        if c.interrupted {
            self.interrupted(now_ms);
        }
        if let Some(turn) = c.model_turn {
            for part in turn.parts {
                if let Some(blob) = part.inline_data {
                    self.model_audio(&blob, now_ms);
                }
            }
        }
        if let Some(t) = c.output_transcription.filter(|t| !t.text.is_empty()) {
            self.begin_turn(now_ms);
            let start = self.playhead_ms.max(now_ms);
            let seg = match self.interviewer.as_mut() {
                Some(s) => s,
                None => {
                    let id = self.segment_id();
                    self.interviewer.insert(Segment {
                        id,
                        text: String::new(),
                        start_ms: start,
                    })
                }
            };
            seg.text.push_str(&t.text);
            let seg = seg.clone();
            let kind = self.kind_so_far();
            self.ready
                .push_back(EngineEvent::Transcript(TranscriptEvent {
                    speaker: Speaker::Interviewer,
                    segment_id: seg.id,
                    text: tidy(&seg.text),
                    is_final: false,
                    start_ms: seg.start_ms,
                    end_ms: now_ms.max(seg.start_ms),
                    kind,
                    question_index: self.question_index,
                    interrupted: false,
                }));
        }
        if c.turn_complete {
            self.turn_complete(now_ms);
        }
    }

    fn kind_so_far(&self) -> SegmentKind {
        if self.question_index == 0 {
            SegmentKind::Greeting
        } else {
            SegmentKind::Remark
        }
    }

    fn candidate_text(&mut self, text: &str, now_ms: u64) {
        let start = self
            .speech_onset_ms
            .filter(|s| *s <= now_ms)
            .unwrap_or(now_ms);
        let seg = match self.candidate.as_mut() {
            Some(s) => s,
            None => {
                let id = self.next_segment;
                self.next_segment += 1;
                self.candidate.insert(Segment {
                    id,
                    text: String::new(),
                    start_ms: start,
                })
            }
        };
        seg.text.push_str(text);
        let seg = seg.clone();
        self.ready
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker: Speaker::Candidate,
                segment_id: seg.id,
                text: tidy(&seg.text),
                is_final: false,
                start_ms: seg.start_ms,
                end_ms: now_ms.max(seg.start_ms),
                kind: SegmentKind::Answer,
                question_index: self.question_index,
                interrupted: false,
            }));
    }

    fn settle_candidate(&mut self, now_ms: u64) {
        if let Some(seg) = self.candidate.take() {
            let end = self
                .last_voice_ms
                .filter(|l| *l >= seg.start_ms)
                .unwrap_or(now_ms)
                .max(seg.start_ms);
            self.ready
                .push_back(EngineEvent::Transcript(TranscriptEvent {
                    speaker: Speaker::Candidate,
                    segment_id: seg.id,
                    text: tidy(&seg.text),
                    is_final: true,
                    start_ms: seg.start_ms,
                    end_ms: end,
                    kind: SegmentKind::Answer,
                    question_index: self.question_index,
                    interrupted: false,
                }));
        }
    }

    /// The model called `end_interview`: the interview ends once it has
    /// finished speaking.
    fn end_called(&mut self, now_ms: u64) {
        match self.turn {
            Turn::Speaking => self.turn = Turn::SayingGoodbye,
            Turn::Listening | Turn::GoodbyeCut => self.finish_at_playhead(now_ms),
            Turn::SayingGoodbye | Turn::Done => {}
        }
    }

    /// The model starts speaking: the candidate's answer is complete.
    fn begin_turn(&mut self, now_ms: u64) {
        self.turn = match self.turn {
            Turn::Listening => Turn::Speaking,
            Turn::GoodbyeCut => Turn::SayingGoodbye,
            Turn::Speaking | Turn::SayingGoodbye | Turn::Done => return,
        };
        self.settle_candidate(now_ms);
        let ev = self.state(InterviewerActivity::Speaking);
        self.ready.push_back(ev);
    }

    fn model_audio(&mut self, blob: &wire::Blob, now_ms: u64) {
        let Some(rate) = wire::pcm_rate(&blob.mime_type) else {
            tracing::debug!(mime = %blob.mime_type, "ignoring non-PCM model data");
            return;
        };
        let pcm = match base64::engine::general_purpose::STANDARD.decode(&blob.data) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "model audio is not valid base64; skipped");
                return;
            }
        };
        self.begin_turn(now_ms);
        match self.encoder.push(&pcm, rate) {
            Ok(frames) => self.queue_audio(frames, now_ms),
            Err(e) => tracing::warn!(error = %e, "model audio could not be encoded; skipped"),
        }
    }

    fn queue_audio(&mut self, frames: Vec<Bytes>, now_ms: u64) {
        for data in frames {
            let due = self.playhead_ms.max(now_ms);
            if self.interviewer.is_none() {
                let id = self.segment_id();
                self.interviewer = Some(Segment {
                    id,
                    text: String::new(),
                    start_ms: due,
                });
            }
            self.audio.push_back((due, data));
            self.playhead_ms = due + self.frame_ms;
        }
    }

    fn settle_interviewer(&mut self, end_ms: u64, interrupted: bool) {
        let Some(seg) = self.interviewer.take() else {
            return;
        };
        let text = tidy(&seg.text);
        let kind = if self.turn.is_closing() {
            SegmentKind::Closing
        } else if text.contains('?') {
            if self.question_index < self.question_count.max(1) {
                self.question_index += 1;
                SegmentKind::Question
            } else {
                SegmentKind::FollowUp
            }
        } else {
            self.kind_so_far()
        };
        self.ready
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker: Speaker::Interviewer,
                segment_id: seg.id,
                text,
                is_final: true,
                start_ms: seg.start_ms,
                end_ms: end_ms.max(seg.start_ms),
                kind,
                question_index: self.question_index,
                interrupted,
            }));
    }

    fn turn_complete(&mut self, now_ms: u64) {
        match self.encoder.flush() {
            Ok(Some(last)) => self.queue_audio(vec![last], now_ms),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "model audio could not be encoded; skipped"),
        }
        let end = self.playhead_ms.max(now_ms);
        self.settle_interviewer(end, false);
        if self.turn.is_speaking() {
            let ev = self.state(InterviewerActivity::Listening);
            self.after_audio.push_back((end, ev));
        }
        match self.turn {
            Turn::SayingGoodbye | Turn::GoodbyeCut => self.finish_at_playhead(now_ms),
            Turn::Speaking => self.turn = Turn::Listening,
            Turn::Listening | Turn::Done => {}
        }
    }

    fn finish_at_playhead(&mut self, now_ms: u64) {
        if self.turn != Turn::Done {
            self.turn = Turn::Done;
            let end = self.playhead_ms.max(now_ms);
            self.after_audio.push_back((
                end,
                EngineEvent::Ended {
                    reason: EndReason::InterviewComplete,
                    message: "The interviewer completed the interview.".into(),
                },
            ));
        }
    }

    /// The candidate barged in: unplayed audio is dropped.
    fn interrupted(&mut self, now_ms: u64) {
        self.audio.clear();
        self.encoder.reset();
        self.playhead_ms = now_ms;
        let was_speaking = self.turn.is_speaking() || self.interviewer.is_some();
        self.settle_interviewer(now_ms, true);
        // A pending "listening" belongs to the cut turn.
        self.after_audio
            .retain(|(_, e)| !matches!(e, EngineEvent::State { .. }));
        if was_speaking {
            self.turn = match self.turn {
                Turn::Speaking => Turn::Listening,
                Turn::SayingGoodbye => Turn::GoodbyeCut,
                other => other,
            };
            self.ready.push_back(EngineEvent::Interrupted);
            let ev = self.state(InterviewerActivity::Listening);
            self.ready.push_back(ev);
        }
    }

    /// A new upstream connection replaced a lost one.
    pub fn on_resumed(&mut self, planned: bool, now_ms: u64) {
        if !planned && self.turn.is_speaking() {
            // What the model was saying when the connection dropped is gone.
            self.turn_complete(now_ms);
        }
    }

    /// The upstream failed for good.
    pub fn on_failed(&mut self, e: &UpstreamError, now_ms: u64) {
        if self.turn == Turn::Done {
            return;
        }
        self.end(now_ms);
        self.ready.push_back(EngineEvent::Ended {
            reason: EndReason::EngineFailure,
            message: format!("The AI interviewer stopped working: {e}."),
        });
    }

    /// Stops producing output; settles the segments in progress.
    pub fn end(&mut self, now_ms: u64) {
        self.audio.clear();
        self.after_audio.clear();
        // The interviewer's words end where its audio stopped playing.
        self.settle_interviewer(self.playhead_ms.min(now_ms), false);
        self.settle_candidate(now_ms);
        self.turn = Turn::Done;
    }

    pub fn take_outbox(&mut self) -> Vec<ClientMessage> {
        std::mem::take(&mut self.outbox)
    }

    /// The next event due at `now_ms`.
    pub fn pop(&mut self, now_ms: u64) -> Option<EngineEvent> {
        if let Some(e) = self.ready.pop_front() {
            return Some(e);
        }
        let audio_due = self.audio.front().map(|(d, _)| *d);
        let after_due = self.after_audio.front().map(|(d, _)| *d);
        match (audio_due, after_due) {
            (Some(a), Some(b)) if b < a || (b == a && b <= now_ms) => {
                (b <= now_ms).then(|| self.after_audio.pop_front().map(|(_, e)| e))?
            }
            (Some(a), _) if a <= now_ms => self
                .audio
                .pop_front()
                .map(|(due_ms, data)| EngineEvent::Audio { data, due_ms }),
            (None, Some(b)) if b <= now_ms => self.after_audio.pop_front().map(|(_, e)| e),
            _ => None,
        }
    }

    /// When the next queued event falls due (None: nothing queued).
    pub fn next_due(&self) -> Option<u64> {
        if !self.ready.is_empty() {
            return Some(0);
        }
        match (self.audio.front(), self.after_audio.front()) {
            (Some((a, _)), Some((b, _))) => Some((*a).min(*b)),
            (Some((a, _)), None) => Some(*a),
            (None, Some((b, _))) => Some(*b),
            (None, None) => None,
        }
    }

    /// Everything still owed after [`end`](Self::end), audio excluded.
    pub fn drain(&mut self) -> Vec<EngineEvent> {
        self.ready.drain(..).collect()
    }
}

/// A Gemini Live interview: the bridge, the link task and the clock.
pub struct GeminiSession {
    bridge: Bridge,
    clock: SessionClock,
    cmds: mpsc::UnboundedSender<LinkCmd>,
    events: mpsc::UnboundedReceiver<LinkEvent>,
    link: JoinHandle<()>,
    link_gone: bool,
}

impl std::fmt::Debug for GeminiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiSession").finish_non_exhaustive()
    }
}

impl GeminiSession {
    pub(super) fn start(
        ctx: EngineContext,
        params: LinkParams,
        conn: Conn,
    ) -> Result<Self, EngineError> {
        let bridge = Bridge::new(
            ctx.output_codec(),
            ctx.output.sample_rate_hz,
            ctx.interview.question_count,
        )?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let link = link::spawn(params, conn, cmd_rx, ev_tx);
        Ok(Self {
            bridge,
            clock: ctx.clock,
            cmds: cmd_tx,
            events: ev_rx,
            link,
            link_gone: false,
        })
    }

    fn on_link(&mut self, ev: Option<LinkEvent>) {
        let now = self.clock.now_ms();
        match ev {
            Some(LinkEvent::Message(m)) => {
                self.bridge.on_message(m, now);
                for msg in self.bridge.take_outbox() {
                    let _ = self.cmds.send(LinkCmd::Send(msg));
                }
            }
            Some(LinkEvent::Resumed { planned }) => self.bridge.on_resumed(planned, now),
            Some(LinkEvent::Failed(e)) => {
                self.link_gone = true;
                self.bridge.on_failed(&e, now);
            }
            None => {
                self.link_gone = true;
                self.bridge.on_failed(
                    &UpstreamError::Io("the connection task stopped".into()),
                    now,
                );
            }
        }
    }
}

impl Drop for GeminiSession {
    fn drop(&mut self) {
        let _ = self.cmds.send(LinkCmd::Close);
        // The link closes its socket on `Close`; abort only if it lingers.
        let handle = self.link.abort_handle();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    handle.abort();
                });
            }
            Err(_) => handle.abort(),
        }
    }
}

impl EngineSession for GeminiSession {
    fn push_audio(&mut self, audio: CandidateAudio<'_>) {
        self.bridge
            .on_candidate(audio.at_ms, audio.speaking, u64::from(audio.duration_ms));
        let _ = self.cmds.send(LinkCmd::Audio(encode_pcm16(audio.pcm_16k)));
    }

    fn end(&mut self) {
        self.bridge.end(self.clock.now_ms());
        let _ = self.cmds.send(LinkCmd::Close);
    }

    fn take_remaining(&mut self) -> Vec<EngineEvent> {
        self.bridge.drain()
    }

    fn next_event(&mut self) -> BoxFuture<'_, EngineEvent> {
        Box::pin(async move {
            loop {
                let now = self.clock.now_ms();
                if let Some(e) = self.bridge.pop(now) {
                    return e;
                }
                let wake = self.bridge.next_due().map(|ms| self.clock.instant_at(ms));
                tokio::select! {
                    ev = self.events.recv(), if !self.link_gone => self.on_link(ev),
                    _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {}
                    _ = std::future::pending::<()>(), if self.link_gone && wake.is_none() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gemini::wire::{Blob, Content, Part, ServerContent, Transcription};

    fn content(c: ServerContent) -> ServerMessage {
        ServerMessage {
            server_content: Some(c),
            ..ServerMessage::default()
        }
    }

    fn audio_ms(ms: usize) -> ServerMessage {
        let pcm = vec![0u8; 24 * ms * 2];
        content(ServerContent {
            model_turn: Some(Content {
                role: None,
                parts: vec![Part {
                    text: None,
                    inline_data: Some(Blob {
                        mime_type: "audio/pcm;rate=24000".into(),
                        data: base64::engine::general_purpose::STANDARD.encode(pcm),
                    }),
                }],
            }),
            ..ServerContent::default()
        })
    }

    fn said(text: &str, input: bool) -> ServerMessage {
        let t = Some(Transcription { text: text.into() });
        content(if input {
            ServerContent {
                input_transcription: t,
                ..ServerContent::default()
            }
        } else {
            ServerContent {
                output_transcription: t,
                ..ServerContent::default()
            }
        })
    }

    fn drain(b: &mut Bridge, now: u64) -> Vec<EngineEvent> {
        std::iter::from_fn(|| b.pop(now)).collect()
    }

    fn finals(events: &[EngineEvent]) -> Vec<(Speaker, String, SegmentKind, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                EngineEvent::Transcript(t) if t.is_final => {
                    Some((t.speaker, t.text.clone(), t.kind, t.interrupted))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn fragments_become_segments_and_audio_is_paced() {
        let mut b = Bridge::new(Codec::Pcm16, 24_000, 2).unwrap();
        b.on_message(audio_ms(100), 0);
        b.on_message(said(" Hello,", false), 0);
        b.on_message(said(" what did you  build?", false), 10);
        b.on_message(
            content(ServerContent {
                turn_complete: true,
                ..ServerContent::default()
            }),
            20,
        );
        let now = drain(&mut b, 20);
        let audio_now = now
            .iter()
            .filter(|e| matches!(e, EngineEvent::Audio { .. }))
            .count();
        assert_eq!(audio_now, 2, "only the chunks due by 20 ms");
        assert_eq!(
            finals(&now),
            vec![(
                Speaker::Interviewer,
                "Hello, what did you build?".into(),
                SegmentKind::Question,
                false
            )]
        );
        let later = drain(&mut b, 100);
        assert_eq!(later.len(), 4, "three chunks, then listening: {later:?}");
        assert!(matches!(
            later.last(),
            Some(EngineEvent::State {
                activity: InterviewerActivity::Listening,
                question_index: 1,
                ..
            })
        ));
        // The candidate's words, settled when the model answers.
        b.on_candidate(200, true, 20);
        b.on_message(said(" I built", true), 300);
        b.on_message(said(" a queue.", true), 400);
        b.on_message(said(" Nice.", false), 900);
        let ev = drain(&mut b, 900);
        assert_eq!(
            finals(&ev),
            vec![(
                Speaker::Candidate,
                "I built a queue.".into(),
                SegmentKind::Answer,
                false
            )]
        );
    }

    #[test]
    fn interruption_drops_unplayed_audio_and_settles_the_turn() {
        let mut b = Bridge::new(Codec::Opus, 24_000, 2).unwrap();
        b.on_message(audio_ms(1000), 0);
        b.on_message(said(" Tell me about", false), 0);
        let first = drain(&mut b, 100);
        assert!(first.iter().any(|e| matches!(e, EngineEvent::Audio { .. })));
        b.on_message(
            content(ServerContent {
                interrupted: true,
                ..ServerContent::default()
            }),
            100,
        );
        let ev = drain(&mut b, 2000);
        assert!(ev.contains(&EngineEvent::Interrupted));
        assert!(!ev.iter().any(|e| matches!(e, EngineEvent::Audio { .. })));
        assert_eq!(
            finals(&ev),
            vec![(
                Speaker::Interviewer,
                "Tell me about".into(),
                SegmentKind::Greeting,
                true
            )]
        );
    }

    #[test]
    fn end_interview_call_ends_after_the_goodbye_plays() {
        let mut b = Bridge::new(Codec::Pcm16, 24_000, 1).unwrap();
        b.on_message(audio_ms(200), 0);
        b.on_message(
            ServerMessage {
                tool_call: Some(wire::ToolCall {
                    function_calls: vec![wire::FunctionCall {
                        id: Some("c1".into()),
                        name: END_INTERVIEW.into(),
                        args: None,
                    }],
                }),
                ..ServerMessage::default()
            },
            0,
        );
        assert_eq!(b.take_outbox().len(), 1, "the call is answered");
        b.on_message(
            content(ServerContent {
                turn_complete: true,
                ..ServerContent::default()
            }),
            0,
        );
        let early = drain(&mut b, 100);
        assert!(!early.iter().any(|e| matches!(e, EngineEvent::Ended { .. })));
        let late = drain(&mut b, 200);
        assert!(matches!(
            late.last(),
            Some(EngineEvent::Ended {
                reason: EndReason::InterviewComplete,
                ..
            })
        ));
    }
}
