//! The sans-IO bridge between Live API messages and engine events.
//!
//! Fed server messages and candidate voice activity with the session clock,
//! [`Bridge`] produces [`EngineEvent`]s: model audio re-encoded into 20 ms
//! chunks and paced in real time, transcript segments, interviewer state,
//! and the end of the interview once the model has called `end_interview`
//! and its goodbye has played.
//!
//! Transcription arrives independently of the model's turn (the API makes
//! no promise of order between transcription and model content): the
//! candidate's last words can come after the model has started to answer,
//! and the interviewer's after `turnComplete`. Segments are therefore
//! placed by turn and time, not by arrival:
//! - a candidate segment stays open until the model's answering turn is
//!   over (or the candidate barges in), so late words stay under the
//!   question they answer; the question index is fixed when it opens;
//! - an interviewer segment is settled when its audio has played and a
//!   moment after `turnComplete` (or when the turn is cut), so late words
//!   join it; words later still revise the
//!   settled segment (same id) instead of starting a turn, and the
//!   interviewer state never goes back to "speaking" after `turnComplete`.
//!
//! After a resume that replays the open answer's audio, the service
//! transcribes it again from its start: the open candidate segment is
//! emptied and rebuilt (same id), not appended to.
//!
//! Between the model's turns, once its audio has played, the bridge's
//! state is a small [`Conversation`] that another instance restores a
//! session from ([`Bridge::conversation`], [`Bridge::restore`]).

use std::collections::VecDeque;

use base64::Engine as _;
use bytes::Bytes;
use candor_api::Speaker;
use candor_audio::Codec;
use candor_protocol::{EndReason, InterviewerActivity};
use serde::{Deserialize, Serialize};

use super::wire::{self, ClientMessage, FunctionResponse, ServerMessage, ToolResponse};
use super::{END_INTERVIEW, UpstreamError};
use crate::engine::{EngineError, EngineEvent, TranscriptEvent};
use crate::store::SegmentKind;
use crate::voice::StreamEncoder;

/// How long after a turn's `turnComplete` its last transcribed words may
/// still arrive: the turn is settled (and the interview ended) no sooner.
const LATE_WORDS_MS: u64 = 500;

/// A transcript segment being stitched from fragments.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Segment {
    id: u64,
    text: String,
    start_ms: u64,
    /// The question it belongs to, fixed when it opened.
    question_index: u32,
}

/// A settled segment that late fragments may still revise.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Settled {
    seg: Segment,
    kind: SegmentKind,
    end_ms: u64,
    interrupted: bool,
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

/// What happens once the audio queued before it has played.
#[derive(Debug, Clone, PartialEq)]
enum Deferred {
    Emit(EngineEvent),
    /// The interviewer's turn has played: its segment is settled, ending
    /// where its audio ended.
    SettleInterviewer {
        end_ms: u64,
    },
    /// The interviewer listens (with the question index as it is then).
    Listening,
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
    /// Steps due when the audio queued before them has played.
    after_audio: VecDeque<(u64, Deferred)>,
    /// Session time at which the queued interviewer audio ends.
    playhead_ms: u64,
    next_segment: u64,
    interviewer: Option<Segment>,
    candidate: Option<Segment>,
    /// The interviewer's last settled turn, while late words may join it.
    last_interviewer: Option<Settled>,
    /// When the model's latest turn began.
    model_turn_ms: Option<u64>,
    turn: Turn,
    question_index: u32,
    question_count: u32,
    speech_onset_ms: Option<u64>,
    last_voice_ms: Option<u64>,
    /// Id of the model's `end_interview` call, while it may be cancelled.
    end_call: Option<Option<String>>,
    /// Messages for the API (tool responses).
    outbox: Vec<ClientMessage>,
}

/// The bridge between the model's turns, with nothing queued: what a
/// session continued on another instance starts from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conversation {
    next_segment: u64,
    question_index: u32,
    question_count: u32,
    /// The candidate's answer under way.
    candidate: Option<Segment>,
    last_interviewer: Option<Settled>,
    model_turn_ms: Option<u64>,
    speech_onset_ms: Option<u64>,
    last_voice_ms: Option<u64>,
    playhead_ms: u64,
}

impl Conversation {
    /// Where the conversation is: the question asked and the segments
    /// opened so far.
    pub fn boundary(&self) -> (u32, u64) {
        (self.question_index, self.next_segment)
    }
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
            last_interviewer: None,
            model_turn_ms: None,
            turn: Turn::Listening,
            question_index: 0,
            question_count,
            speech_onset_ms: None,
            last_voice_ms: None,
            end_call: None,
            outbox: Vec::new(),
        })
    }

    /// The conversation so far, when the model is between turns and
    /// everything it said has been delivered (None otherwise).
    pub fn conversation(&self) -> Option<Conversation> {
        let between_turns = self.turn == Turn::Listening
            && self.ready.is_empty()
            && self.audio.is_empty()
            && self.after_audio.is_empty()
            && self.interviewer.is_none()
            && self.end_call.is_none()
            && self.outbox.is_empty();
        between_turns.then(|| Conversation {
            next_segment: self.next_segment,
            question_index: self.question_index,
            question_count: self.question_count,
            candidate: self.candidate.clone(),
            last_interviewer: self.last_interviewer.clone(),
            model_turn_ms: self.model_turn_ms,
            speech_onset_ms: self.speech_onset_ms,
            last_voice_ms: self.last_voice_ms,
            playhead_ms: self.playhead_ms,
        })
    }

    /// A bridge that goes on from `c` (another instance's
    /// [`conversation`](Self::conversation)). The service is given the
    /// candidate's audio since the last turn boundary again, so it
    /// transcribes the answer under way again from its start.
    pub fn restore(codec: Codec, rate_hz: u32, c: Conversation) -> Result<Self, EngineError> {
        let mut b = Self::new(codec, rate_hz, c.question_count)?;
        b.next_segment = c.next_segment;
        b.question_index = c.question_index;
        b.candidate = c.candidate.map(|seg| Segment {
            text: String::new(),
            ..seg
        });
        b.last_interviewer = c.last_interviewer;
        b.model_turn_ms = c.model_turn_ms;
        b.speech_onset_ms = c.speech_onset_ms;
        b.last_voice_ms = c.last_voice_ms;
        b.playhead_ms = c.playhead_ms;
        Ok(b)
    }

    fn segment(&mut self, start_ms: u64) -> Segment {
        let id = self.next_segment;
        self.next_segment += 1;
        Segment {
            id,
            text: String::new(),
            start_ms,
            question_index: self.question_index,
        }
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
        if let Some(c) = &m.tool_call_cancellation {
            self.cancel_calls(&c.ids);
        }
        if self.turn == Turn::Done {
            // The goodbye's last words may come after its turn completed.
            if let Some(t) = m
                .server_content
                .and_then(|c| c.output_transcription)
                .filter(|t| !t.text.is_empty())
            {
                self.late_interviewer_text(&t.text, now_ms);
            }
            return;
        }
        if let Some(call) = m.tool_call {
            self.tool_call(call, now_ms);
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
            self.interviewer_text(&t.text, now_ms);
        }
        if c.turn_complete {
            self.turn_complete(now_ms);
        }
    }

    fn tool_call(&mut self, call: wire::ToolCall, now_ms: u64) {
        let mut end_called = None;
        for f in call.function_calls {
            let response = if f.name == END_INTERVIEW {
                end_called = Some(f.id.clone());
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
        if let Some(id) = end_called {
            self.end_call = Some(id);
            self.end_called(now_ms);
        }
    }

    /// `toolCallCancellation`: a withdrawn `end_interview` no longer ends
    /// the interview (unless its end has already been delivered).
    fn cancel_calls(&mut self, ids: &[String]) {
        let cancelled = match &self.end_call {
            Some(Some(id)) => ids.iter().any(|c| c == id),
            // A call without an id cannot be matched; any cancellation
            // while it is pending withdraws it.
            Some(None) => !ids.is_empty(),
            None => false,
        };
        if !cancelled {
            return;
        }
        self.end_call = None;
        match self.turn {
            Turn::SayingGoodbye => self.turn = Turn::Speaking,
            Turn::GoodbyeCut => self.turn = Turn::Listening,
            Turn::Done => {
                let before = self.after_audio.len();
                self.after_audio
                    .retain(|(_, d)| !matches!(d, Deferred::Emit(EngineEvent::Ended { .. })));
                if self.after_audio.len() < before {
                    // The goodbye's audio may still be playing; its turn end
                    // (already queued) brings the state back to listening.
                    self.turn = Turn::Listening;
                }
            }
            Turn::Listening | Turn::Speaking => {}
        }
    }

    fn kind_so_far(&self) -> SegmentKind {
        if self.question_index == 0 {
            SegmentKind::Greeting
        } else {
            SegmentKind::Remark
        }
    }

    fn emit(&mut self, speaker: Speaker, s: &Settled, is_final: bool) {
        self.ready
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker,
                segment_id: s.seg.id,
                text: tidy(&s.seg.text),
                is_final,
                start_ms: s.seg.start_ms,
                end_ms: s.end_ms.max(s.seg.start_ms),
                kind: s.kind,
                question_index: s.seg.question_index,
                interrupted: s.interrupted,
            }));
    }

    fn partial(&mut self, speaker: Speaker, seg: Segment, kind: SegmentKind, now_ms: u64) {
        let s = Settled {
            end_ms: now_ms,
            seg,
            kind,
            interrupted: false,
        };
        self.emit(speaker, &s, false);
    }

    fn candidate_text(&mut self, text: &str, now_ms: u64) {
        // Speech that began after the model's latest turn started is a new
        // answer (a barge-in), not the end of the previous one.
        if let Some(open) = &self.candidate
            && let Some(turn_ms) = self.model_turn_ms
            && open.start_ms < turn_ms
            && self.speech_onset_ms.is_some_and(|o| o > turn_ms)
        {
            self.settle_candidate(now_ms);
        }
        let start = self
            .speech_onset_ms
            .filter(|s| *s <= now_ms)
            .unwrap_or(now_ms);
        let mut seg = match self.candidate.take() {
            Some(s) => s,
            None => {
                // The candidate answers: the interviewer's last turn is over
                // for good.
                self.last_interviewer = None;
                self.segment(start)
            }
        };
        seg.text.push_str(text);
        self.candidate = Some(seg.clone());
        self.partial(Speaker::Candidate, seg, SegmentKind::Answer, now_ms);
    }

    fn settle_candidate(&mut self, now_ms: u64) {
        if let Some(seg) = self.candidate.take() {
            let end = self
                .last_voice_ms
                .filter(|l| *l >= seg.start_ms)
                .unwrap_or(now_ms)
                .max(seg.start_ms);
            let s = Settled {
                seg,
                kind: SegmentKind::Answer,
                end_ms: end,
                interrupted: false,
            };
            self.emit(Speaker::Candidate, &s, true);
        }
    }

    /// Words after the turn completed belong to that turn: to its segment
    /// while its audio plays, or revising it once settled. False when there
    /// is no such turn.
    fn late_interviewer_text(&mut self, text: &str, now_ms: u64) -> bool {
        if let Some(seg) = self.interviewer.as_mut() {
            seg.text.push_str(text);
            let seg = seg.clone();
            let kind = self.kind_so_far();
            self.partial(Speaker::Interviewer, seg, kind, now_ms);
            return true;
        }
        if let Some(mut last) = self.last_interviewer.take() {
            last.seg.text.push_str(text);
            // The question mark came late: the turn was a question after all.
            if matches!(last.kind, SegmentKind::Greeting | SegmentKind::Remark)
                && last.seg.text.contains('?')
                && self.question_index < self.question_count.max(1)
            {
                self.question_index += 1;
                last.kind = SegmentKind::Question;
                last.seg.question_index = self.question_index;
                if let Some(answer) = self.candidate.as_mut()
                    && answer.start_ms >= last.end_ms
                {
                    answer.question_index = self.question_index;
                }
                if self.turn == Turn::Listening {
                    let ev = self.state(InterviewerActivity::Listening);
                    self.ready.push_back(ev);
                }
            }
            self.emit(Speaker::Interviewer, &last, true);
            self.last_interviewer = Some(last);
            return true;
        }
        false
    }

    fn interviewer_text(&mut self, text: &str, now_ms: u64) {
        if !self.turn.is_speaking() && self.late_interviewer_text(text, now_ms) {
            return;
        }
        self.begin_turn(now_ms);
        let start = self.playhead_ms.max(now_ms);
        let mut seg = match self.interviewer.take() {
            Some(s) => s,
            None => self.segment(start),
        };
        seg.text.push_str(text);
        self.interviewer = Some(seg.clone());
        let kind = self.kind_so_far();
        self.partial(Speaker::Interviewer, seg, kind, now_ms);
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

    /// The model starts a turn.
    fn begin_turn(&mut self, now_ms: u64) {
        self.turn = match self.turn {
            Turn::Listening => Turn::Speaking,
            Turn::GoodbyeCut => Turn::SayingGoodbye,
            Turn::Speaking | Turn::SayingGoodbye | Turn::Done => return,
        };
        // The previous turn's words are complete once this one starts, and
        // the model did not wait for the candidate in between.
        self.settle_pending_interviewer();
        self.after_audio.retain(|(_, d)| *d != Deferred::Listening);
        self.last_interviewer = None;
        self.model_turn_ms = Some(now_ms);
        let ev = self.state(InterviewerActivity::Speaking);
        self.ready.push_back(ev);
    }

    /// Settles now an interviewer segment whose settling was waiting for
    /// its audio to play.
    fn settle_pending_interviewer(&mut self) {
        if let Some(i) = self
            .after_audio
            .iter()
            .position(|(_, d)| matches!(d, Deferred::SettleInterviewer { .. }))
            && let Some((_, Deferred::SettleInterviewer { end_ms })) = self.after_audio.remove(i)
        {
            self.settle_interviewer(end_ms, false);
        }
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
                self.interviewer = Some(self.segment(due));
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
        let s = Settled {
            seg: Segment {
                // A question opens the question it asks.
                question_index: self.question_index,
                ..seg
            },
            kind,
            end_ms,
            interrupted,
        };
        self.emit(Speaker::Interviewer, &s, true);
        self.last_interviewer = Some(s);
    }

    /// The model's turn is over: its words settle when its audio has played.
    fn close_model_turn(&mut self, now_ms: u64) {
        match self.encoder.flush() {
            Ok(Some(last)) => self.queue_audio(vec![last], now_ms),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "model audio could not be encoded; skipped"),
        }
        // The turn's last words may still come: it is settled (and the
        // question it asks counted) once they had time to arrive.
        let audio_end = self.playhead_ms.max(now_ms);
        let end = self.playhead_ms.max(now_ms + LATE_WORDS_MS);
        if self.interviewer.is_some() {
            self.after_audio
                .push_back((end, Deferred::SettleInterviewer { end_ms: audio_end }));
        }
        if self.turn.is_speaking() {
            self.after_audio.push_back((end, Deferred::Listening));
        }
        match self.turn {
            Turn::SayingGoodbye | Turn::GoodbyeCut => self.finish_at(end),
            Turn::Speaking => self.turn = Turn::Listening,
            Turn::Listening | Turn::Done => {}
        }
    }

    fn turn_complete(&mut self, now_ms: u64) {
        // The candidate's words before this turn are in by now.
        self.settle_candidate(now_ms);
        self.close_model_turn(now_ms);
    }

    fn finish_at_playhead(&mut self, now_ms: u64) {
        self.finish_at(self.playhead_ms.max(now_ms));
    }

    fn finish_at(&mut self, end: u64) {
        if self.turn != Turn::Done {
            self.turn = Turn::Done;
            self.after_audio.push_back((
                end,
                Deferred::Emit(EngineEvent::Ended {
                    reason: EndReason::InterviewComplete,
                    message: "The interviewer completed the interview.".into(),
                }),
            ));
        }
    }

    /// The candidate barged in: unplayed audio is dropped.
    fn interrupted(&mut self, now_ms: u64) {
        self.audio.clear();
        self.encoder.reset();
        self.playhead_ms = now_ms;
        // A pending "listening" or settle belongs to the cut turn.
        self.after_audio.retain(|(_, d)| {
            !matches!(d, Deferred::Listening | Deferred::SettleInterviewer { .. })
        });
        let was_speaking = self.turn.is_speaking() || self.interviewer.is_some();
        self.settle_interviewer(now_ms, true);
        // What the candidate says now is a new answer.
        self.settle_candidate(now_ms);
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

    /// A new upstream connection replaced a lost one. With `replayed_turn`
    /// the service hears the open answer again from its start.
    pub fn on_resumed(&mut self, planned: bool, replayed_turn: bool, now_ms: u64) {
        if replayed_turn && let Some(seg) = self.candidate.as_mut() {
            seg.text.clear();
        }
        if !planned && self.turn.is_speaking() {
            // What the model was saying when the connection dropped is gone;
            // the answer it was answering stays open when it is heard again.
            if !replayed_turn {
                self.settle_candidate(now_ms);
            }
            self.close_model_turn(now_ms);
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
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Some(e);
            }
            let audio_due = self.audio.front().map(|(d, _)| *d);
            let after_due = self.after_audio.front().map(|(d, _)| *d);
            let deferred_first = match (audio_due, after_due) {
                (Some(a), Some(b)) => b < a || (b == a && b <= now_ms),
                (None, Some(_)) => true,
                _ => false,
            };
            if deferred_first {
                if after_due.is_some_and(|b| b <= now_ms) {
                    match self.after_audio.pop_front().map(|(_, d)| d) {
                        Some(Deferred::Emit(e)) => return Some(e),
                        Some(Deferred::Listening) => {
                            return Some(self.state(InterviewerActivity::Listening));
                        }
                        Some(Deferred::SettleInterviewer { end_ms }) => {
                            self.settle_interviewer(end_ms, false);
                            continue;
                        }
                        None => return None,
                    }
                }
                return None;
            }
            return match audio_due {
                Some(a) if a <= now_ms => self
                    .audio
                    .pop_front()
                    .map(|(due_ms, data)| EngineEvent::Audio { data, due_ms }),
                _ => None,
            };
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

    fn turn_complete() -> ServerMessage {
        content(ServerContent {
            turn_complete: true,
            ..ServerContent::default()
        })
    }

    fn states(events: &[EngineEvent]) -> Vec<(InterviewerActivity, u32)> {
        events
            .iter()
            .filter_map(|e| match e {
                EngineEvent::State {
                    activity,
                    question_index,
                    ..
                } => Some((*activity, *question_index)),
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
        b.on_message(turn_complete(), 20);
        let now = drain(&mut b, 20);
        let audio_now = now
            .iter()
            .filter(|e| matches!(e, EngineEvent::Audio { .. }))
            .count();
        assert_eq!(audio_now, 2, "only the chunks due by 20 ms");
        assert!(
            finals(&now).is_empty(),
            "settled once its audio has played and late words had time to come"
        );
        assert!(finals(&drain(&mut b, 519)).is_empty());
        let later = drain(&mut b, 520);
        assert_eq!(
            finals(&later),
            vec![(
                Speaker::Interviewer,
                "Hello, what did you build?".into(),
                SegmentKind::Question,
                false
            )]
        );
        assert_eq!(later.len(), 2, "the final, listening: {later:?}");
        assert!(matches!(
            later.last(),
            Some(EngineEvent::State {
                activity: InterviewerActivity::Listening,
                question_index: 1,
                ..
            })
        ));
        // The candidate's words, settled when the model's answering turn ends.
        b.on_candidate(200, true, 20);
        b.on_message(said(" I built", true), 300);
        b.on_message(said(" a queue.", true), 400);
        b.on_message(said(" Nice.", false), 900);
        b.on_message(turn_complete(), 950);
        let ev = drain(&mut b, 1450);
        assert_eq!(
            finals(&ev),
            vec![
                (
                    Speaker::Candidate,
                    "I built a queue.".into(),
                    SegmentKind::Answer,
                    false
                ),
                (
                    Speaker::Interviewer,
                    "Nice.".into(),
                    SegmentKind::Remark,
                    false
                )
            ]
        );
    }

    /// The service's order: the answer's last words after the model's
    /// audio has started, the question's last words after `turnComplete`.
    #[test]
    fn late_fragments_stay_under_the_turn_they_belong_to() {
        let mut b = Bridge::new(Codec::Pcm16, 24_000, 3).unwrap();
        // Question one.
        b.on_message(audio_ms(200), 0);
        b.on_message(said(" Tell me about a project", false), 0);
        b.on_message(turn_complete(), 200);
        b.on_message(said(" you led?", false), 210);
        let q1 = drain(&mut b, 700);
        // The candidate answers; the model starts question two before the
        // answer's transcription is complete.
        b.on_candidate(500, true, 1000);
        b.on_message(said(" I led the", true), 900);
        b.on_message(audio_ms(200), 1600);
        b.on_message(said(" billing migration.", true), 1650);
        b.on_message(said(" What was hard", false), 1660);
        b.on_message(turn_complete(), 1800);
        b.on_message(said("est?", false), 1810);
        let rest = drain(&mut b, 3000);

        let all: Vec<EngineEvent> = q1.iter().chain(rest.iter()).cloned().collect();
        // Each segment's latest final, in order.
        let mut last: Vec<TranscriptEvent> = Vec::new();
        for e in &all {
            if let EngineEvent::Transcript(t) = e
                && t.is_final
            {
                match last.iter_mut().find(|l| l.segment_id == t.segment_id) {
                    Some(l) => *l = t.clone(),
                    None => last.push(t.clone()),
                }
            }
        }
        let got: Vec<(Speaker, &str, u32)> = last
            .iter()
            .map(|t| (t.speaker, t.text.as_str(), t.question_index))
            .collect();
        assert_eq!(
            got,
            vec![
                (Speaker::Interviewer, "Tell me about a project you led?", 1),
                (Speaker::Candidate, "I led the billing migration.", 1),
                (Speaker::Interviewer, "What was hardest?", 2),
            ]
        );
        let answer = last
            .iter()
            .find(|t| t.speaker == Speaker::Candidate)
            .unwrap();
        assert_eq!(
            (answer.start_ms, answer.end_ms),
            (500, 1500),
            "by the voice's time"
        );
        // Speaking, listening, speaking, listening: never back to speaking
        // after a turn completed.
        use InterviewerActivity::{Listening, Speaking};
        assert_eq!(
            states(&all),
            vec![(Speaking, 0), (Listening, 1), (Speaking, 1), (Listening, 2)]
        );
    }

    #[test]
    fn a_replayed_answer_is_rebuilt_not_doubled() {
        let mut b = Bridge::new(Codec::Pcm16, 24_000, 2).unwrap();
        b.on_message(audio_ms(20), 0);
        b.on_message(said(" Why?", false), 0);
        b.on_message(turn_complete(), 20);
        b.on_message(said(" Because I", true), 500);
        // The upstream dropped; the answer's audio is replayed and
        // transcribed again from its start.
        b.on_resumed(false, true, 600);
        b.on_message(said(" Because I", true), 700);
        b.on_message(said(" wanted to.", true), 800);
        b.on_message(audio_ms(20), 900);
        b.on_message(turn_complete(), 920);
        let ev = drain(&mut b, 2000);
        let answers: Vec<String> = finals(&ev)
            .into_iter()
            .filter(|f| f.0 == Speaker::Candidate)
            .map(|f| f.1)
            .collect();
        assert_eq!(answers, vec!["Because I wanted to.".to_owned()]);
    }

    #[test]
    fn a_conversation_goes_on_in_another_bridge_from_between_turns() {
        let mut b = Bridge::new(Codec::Pcm16, 24_000, 2).unwrap();
        b.on_message(audio_ms(20), 0);
        b.on_message(said(" Tell me about a project?", false), 0);
        b.on_message(turn_complete(), 20);
        assert!(b.conversation().is_none(), "the turn has not played");
        drain(&mut b, 2_000);
        b.on_message(said(" I led", true), 2_100);
        drain(&mut b, 2_100);
        let saved = b.conversation().expect("between turns");
        assert_eq!(saved.boundary(), (1, 3));

        let json = serde_json::to_string(&saved).unwrap();
        let mut c =
            Bridge::restore(Codec::Pcm16, 24_000, serde_json::from_str(&json).unwrap()).unwrap();
        // The service hears the answer again from its start.
        c.on_message(said(" I led", true), 2_300);
        c.on_message(said(" the migration.", true), 2_400);
        c.on_message(audio_ms(20), 2_500);
        c.on_message(said(" What was hard?", false), 2_500);
        c.on_message(turn_complete(), 2_520);
        let ev = drain(&mut c, 4_000);
        assert_eq!(
            finals(&ev),
            vec![
                (
                    Speaker::Candidate,
                    "I led the migration.".to_owned(),
                    SegmentKind::Answer,
                    false
                ),
                (
                    Speaker::Interviewer,
                    "What was hard?".to_owned(),
                    SegmentKind::Question,
                    false
                ),
            ]
        );
        let ids: Vec<u64> = ev
            .iter()
            .filter_map(|e| match e {
                EngineEvent::Transcript(t) if t.is_final => Some(t.segment_id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, vec![2, 3], "the answer keeps its segment");
        assert_eq!(
            states(&ev).last(),
            Some(&(InterviewerActivity::Listening, 2)),
            "the second question"
        );
    }

    #[test]
    fn a_cancelled_end_interview_call_does_not_end_the_interview() {
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
        b.on_message(turn_complete(), 0);
        b.on_message(
            ServerMessage {
                tool_call_cancellation: Some(wire::ToolCallCancellation {
                    ids: vec!["c1".into()],
                }),
                ..ServerMessage::default()
            },
            50,
        );
        let ev = drain(&mut b, 1000);
        assert!(
            !ev.iter().any(|e| matches!(e, EngineEvent::Ended { .. })),
            "{ev:?}"
        );
        // The interview goes on: the model's next turn is heard.
        b.on_message(audio_ms(40), 1000);
        let next = drain(&mut b, 1000);
        assert!(next.iter().any(|e| matches!(e, EngineEvent::Audio { .. })));
        // A cancellation of some other call changes nothing.
        let mut b = Bridge::new(Codec::Pcm16, 24_000, 1).unwrap();
        b.on_message(
            ServerMessage {
                tool_call: Some(wire::ToolCall {
                    function_calls: vec![wire::FunctionCall {
                        id: Some("c2".into()),
                        name: END_INTERVIEW.into(),
                        args: None,
                    }],
                }),
                tool_call_cancellation: Some(wire::ToolCallCancellation {
                    ids: vec!["other".into()],
                }),
                ..ServerMessage::default()
            },
            0,
        );
        assert!(
            drain(&mut b, 10)
                .iter()
                .any(|e| matches!(e, EngineEvent::Ended { .. }))
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
        b.on_message(turn_complete(), 0);
        let early = drain(&mut b, 499);
        assert!(!early.iter().any(|e| matches!(e, EngineEvent::Ended { .. })));
        let late = drain(&mut b, 500);
        assert!(matches!(
            late.last(),
            Some(EngineEvent::Ended {
                reason: EndReason::InterviewComplete,
                ..
            })
        ));
    }
}
