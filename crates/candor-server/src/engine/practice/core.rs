//! The practice interviewer's conversation, sans-IO: [`Core`] is fed the
//! candidate's voice activity (and, when recognition runs, their words) on
//! the session timeline, and produces events and "say this" requests. Every
//! decision is dated at its own deadline, not at the poll that noticed it, so
//! a replayed backlog gives the same conversation as live audio.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use candor_api::{Role, Speaker};
use candor_audio::Codec;
use candor_audio::speech_gate::BargeIn;
use candor_protocol::{EndReason, InterviewerActivity};
use serde::{Deserialize, Serialize};

use crate::config::PracticeConfig;
use crate::content;
use crate::engine::questions::Question;
use crate::engine::{EngineEvent, TranscriptEvent};
use crate::store::{InterviewRecord, SegmentKind};
use crate::voice::Utterance;

/// Pause between two interviewer utterances that follow each other.
pub(super) const TURN_GAP_MS: u64 = 250;

/// The practice engine's timings, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub answer_silence_ms: u64,
    pub finished_silence_ms: u64,
    pub think_ms: u64,
    pub short_answer_ms: u64,
    pub barge_in_ms: u64,
    pub no_answer_ms: u64,
}

impl From<&PracticeConfig> for Timings {
    fn from(c: &PracticeConfig) -> Self {
        let ms = |d: Duration| d.as_millis() as u64;
        Self {
            answer_silence_ms: ms(c.answer_silence),
            finished_silence_ms: ms(c.finished_silence),
            think_ms: ms(c.think_time),
            short_answer_ms: ms(c.short_answer),
            barge_in_ms: ms(c.barge_in),
            no_answer_ms: ms(c.no_answer_timeout),
        }
    }
}

/// One thing the interviewer says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Turn {
    text: String,
    kind: SegmentKind,
    /// Question this turn belongs to (0: greeting).
    question_index: u32,
    after: After,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum After {
    /// Say the next queued turn.
    Continue,
    /// Listen for an answer.
    Listen,
    /// The interview is complete.
    End,
}

/// The candidate's answer being listened to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Listen {
    since_ms: u64,
    first_voice_ms: Option<u64>,
    /// End of the last voiced chunk.
    last_voice_ms: u64,
    /// The answer's words so far, when recognition runs.
    words: Option<Words>,
    /// The words it ended with at its latest pause (only its last seconds,
    /// recognised sooner than all of it).
    tail: Option<Words>,
    speech_ms: u64,
    segment_id: Option<u64>,
    question_index: u32,
}

#[derive(Debug)]
enum Phase {
    /// Before the next queued turn. `resume` holds the answer just finished:
    /// if the candidate speaks again before `until_ms`, they were only pausing.
    Waiting {
        until_ms: u64,
        resume: Option<Box<Resume>>,
    },
    /// The next turn's audio is being synthesized.
    Preparing(Turn),
    Speaking(Box<Speaking>),
    Listening(Listen),
    Done,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Resume {
    listen: Listen,
    queue: VecDeque<Turn>,
    follow_ups_asked: u32,
}

#[derive(Debug)]
struct Speaking {
    turn: Turn,
    utt: Arc<Utterance>,
    start_ms: u64,
    sent: usize,
    words_shown: usize,
    segment_id: u64,
    barge_in: BargeIn,
}

/// Recognised words of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Words {
    text: String,
    /// The words cover the answer's audio up to here (session ms).
    through_ms: u64,
}

/// Where the conversation is, as far as [`Core::upcoming`] is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    current: u32,
    acks: u32,
    follow_ups_asked: u32,
    queued: usize,
    asking: bool,
}

/// The conversation logic, sans-IO.
#[derive(Debug)]
pub struct Core {
    t: Timings,
    questions: Vec<Question>,
    /// Question being asked or answered (1-based; 0 before the first).
    current: u32,
    follow_ups_asked: u32,
    queue: VecDeque<Turn>,
    phase: Phase,
    next_segment: u64,
    /// The codec of the audio sent to the client.
    codec: Codec,
    events: VecDeque<EngineEvent>,
    synth_request: Option<String>,
    acks: u32,
    /// Where the candidate's last chunk ended and how long chunks are: the
    /// grid of the candidate's audio, on which turns start.
    heard: Option<(u64, u64)>,
}

/// The conversation between two events, to continue it in another process
/// (`Core::snapshot_state`, `Core::restore`): everything but the question plan (the
/// interview gives it again), the timings and codec (the server's), and a
/// turn's audio (synthesized again from its text: the voice says a text
/// the same way every time).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoreState {
    current: u32,
    follow_ups_asked: u32,
    queue: VecDeque<Turn>,
    phase: PhaseState,
    next_segment: u64,
    acks: u32,
    heard: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum PhaseState {
    Waiting {
        until_ms: u64,
        resume: Option<Resume>,
    },
    Preparing(Turn),
    /// A turn being said: `sent` of its frames went out.
    Speaking {
        turn: Turn,
        start_ms: u64,
        sent: usize,
        words_shown: usize,
        segment_id: u64,
    },
    Listening(Listen),
    Done,
}

impl CoreState {
    /// What changes at a turn boundary (a new phase, turn, question or
    /// queued turn) and not in between.
    pub fn boundary(&self) -> (u8, u64, u32, u32, usize) {
        let phase = match &self.phase {
            PhaseState::Waiting { .. } => 0,
            PhaseState::Preparing(_) => 1,
            PhaseState::Speaking { .. } => 2,
            PhaseState::Listening(_) => 3,
            PhaseState::Done => 4,
        };
        (
            phase,
            self.next_segment,
            self.current,
            self.follow_ups_asked,
            self.queue.len(),
        )
    }
}

const ACKS: [&str; 4] = [
    "Thank you.",
    "Okay, thanks.",
    "Got it, thank you.",
    "Thanks for that.",
];

impl Core {
    pub fn new(
        t: Timings,
        interview: &InterviewRecord,
        questions: Vec<Question>,
        codec: Codec,
    ) -> Self {
        let n = questions.len();
        let what = if interview.role == Role::Behavioural {
            format!("{} behavioural interview", interview.seniority.spoken())
        } else {
            format!(
                "{} {} interview",
                interview.seniority.spoken(),
                interview.role.spoken()
            )
        };
        let greeting = if interview.retry_of.is_some() {
            format!(
                "Hello again. Let's have another go at one question from your {what}. \
                 Take your time with your answer."
            )
        } else {
            format!(
                "Hello, and thanks for joining. I'm your practice interviewer for this {what}. \
                 I'll ask you {n} question{}. Take your time with each answer.",
                if n == 1 { "" } else { "s" }
            )
        };
        let mut queue = VecDeque::new();
        queue.push_back(Turn {
            text: greeting,
            kind: SegmentKind::Greeting,
            question_index: 0,
            after: After::Continue,
        });
        let mut core = Self {
            t,
            questions,
            current: 0,
            follow_ups_asked: 0,
            queue,
            phase: Phase::Waiting {
                until_ms: TURN_GAP_MS,
                resume: None,
            },
            next_segment: 1,
            codec,
            events: VecDeque::new(),
            synth_request: None,
            acks: 0,
            heard: None,
        };
        core.queue_question(1);
        core
    }

    /// The codec of the audio sent to the client: the one its utterances
    /// are synthesized in.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// What this interview may say from now until the next question is
    /// asked, in the order it would (for synthesizing ahead, so no turn waits
    /// for its voice): the turns already queued and, once a question has been
    /// said, everything its answer may bring — an acknowledgement and the
    /// next question (or the closing), a follow-up (the question's own; with
    /// `with_words`, the ones asked about what an answer's words leave out),
    /// the remark after no answer. Nothing later, and nothing new while a
    /// question is being asked: lines are synthesized as the interview gets
    /// to them, in the quiet after each question (the interviewer silent, the
    /// candidate about to answer), not all at its start.
    pub fn upcoming(&self, with_words: bool) -> Vec<String> {
        let mut out: Vec<String> = self.queue.iter().map(|t| t.text.clone()).collect();
        // Before the first question its turns are queued; while a question
        // is asked, what follows waits for it to be said.
        if self.current > 0 && !self.asking() {
            if self.current < self.question_count() {
                out.push(ACKS[self.acks as usize % ACKS.len()].into());
                out.push(self.question_text(self.current + 1));
            } else {
                out.push(closing_text().into());
            }
            if self.follow_ups_asked == 0 {
                if with_words {
                    out.extend(content::FOLLOW_UPS.iter().map(|s| s.to_string()));
                }
                out.extend(
                    self.questions
                        .get(self.current as usize - 1)
                        .and_then(|q| q.follow_ups.first())
                        .map(|f| follow_up_text(f)),
                );
            }
            out.push(MOVE_ON.into());
        }
        // A queued turn may be one of those (an acknowledgement said next).
        let mut unique = Vec::with_capacity(out.len());
        for text in out {
            if !unique.contains(&text) {
                unique.push(text);
            }
        }
        unique
    }

    /// The current question is being said.
    fn asking(&self) -> bool {
        matches!(&self.phase, Phase::Speaking(s) if s.turn.kind == SegmentKind::Question)
    }

    /// What [`Core::upcoming`] depends on: it is the same while this is.
    pub fn progress(&self) -> Progress {
        Progress {
            current: self.current,
            acks: self.acks,
            follow_ups_asked: self.follow_ups_asked,
            queued: self.queue.len(),
            asking: self.asking(),
        }
    }

    fn question_count(&self) -> u32 {
        self.questions.len() as u32
    }

    fn question_text(&self, index: u32) -> String {
        let q = &self.questions[index as usize - 1].text;
        if index == 1 {
            format!("{FIRST_LEAD_IN} {q}")
        } else if index == self.question_count() {
            format!("{LAST_LEAD_IN} {q}")
        } else {
            q.clone()
        }
    }

    fn queue_question(&mut self, index: u32) {
        if index == 0 || index > self.question_count() {
            self.queue.push_back(Turn {
                text: closing_text().into(),
                kind: SegmentKind::Closing,
                question_index: self.current,
                after: After::End,
            });
            return;
        }
        self.queue.push_back(Turn {
            text: self.question_text(index),
            kind: SegmentKind::Question,
            question_index: index,
            after: After::Listen,
        });
    }

    fn segment_id(&mut self) -> u64 {
        let id = self.next_segment;
        self.next_segment += 1;
        id
    }

    fn state(&mut self, activity: InterviewerActivity) {
        self.events.push_back(EngineEvent::State {
            activity,
            question_index: self.current,
            question_count: self.question_count(),
        });
    }

    pub fn pop_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }

    /// The conversation as it stands, when nothing it produced is still
    /// waiting to be taken (`pop_event`): None otherwise.
    pub fn snapshot_state(&self) -> Option<CoreState> {
        if !self.events.is_empty() {
            return None;
        }
        let phase = match &self.phase {
            Phase::Waiting { until_ms, resume } => PhaseState::Waiting {
                until_ms: *until_ms,
                resume: resume.as_deref().cloned(),
            },
            Phase::Preparing(turn) => PhaseState::Preparing(turn.clone()),
            Phase::Speaking(s) => PhaseState::Speaking {
                turn: s.turn.clone(),
                start_ms: s.start_ms,
                sent: s.sent,
                words_shown: s.words_shown,
                segment_id: s.segment_id,
            },
            Phase::Listening(l) => PhaseState::Listening(l.clone()),
            Phase::Done => PhaseState::Done,
        };
        Some(CoreState {
            current: self.current,
            follow_ups_asked: self.follow_ups_asked,
            queue: self.queue.clone(),
            phase,
            next_segment: self.next_segment,
            acks: self.acks,
            heard: self.heard,
        })
    }

    /// The text a restored state is saying (its audio is needed to
    /// [`restore`](Self::restore) it).
    pub fn speaking_text(state: &CoreState) -> Option<&str> {
        match &state.phase {
            PhaseState::Speaking { turn, .. } => Some(&turn.text),
            _ => None,
        }
    }

    /// A core that goes on from `state`, which [`snapshot_state`](Self::snapshot_state) gave
    /// for the same interview (`questions`, `t`, `codec` as it was made
    /// with). `utt` is the turn being said, if any: it goes on from the
    /// frame where it was. A turn being prepared is asked for again.
    pub fn restore(
        t: Timings,
        questions: Vec<Question>,
        codec: Codec,
        state: CoreState,
        utt: Option<Arc<Utterance>>,
    ) -> Self {
        let mut synth_request = None;
        let phase = match state.phase {
            PhaseState::Waiting { until_ms, resume } => Phase::Waiting {
                until_ms,
                resume: resume.map(Box::new),
            },
            PhaseState::Preparing(turn) => {
                synth_request = Some(turn.text.clone());
                Phase::Preparing(turn)
            }
            PhaseState::Speaking {
                turn,
                start_ms,
                sent,
                words_shown,
                segment_id,
            } => match utt {
                Some(utt) => Phase::Speaking(Box::new(Speaking {
                    turn,
                    utt,
                    start_ms,
                    sent,
                    words_shown,
                    segment_id,
                    barge_in: BargeIn::new(t.barge_in_ms),
                })),
                // No audio for it: said again from the start.
                None => {
                    synth_request = Some(turn.text.clone());
                    Phase::Preparing(turn)
                }
            },
            PhaseState::Listening(l) => Phase::Listening(l),
            PhaseState::Done => Phase::Done,
        };
        Self {
            t,
            questions,
            current: state.current,
            follow_ups_asked: state.follow_ups_asked,
            queue: state.queue,
            phase,
            next_segment: state.next_segment,
            codec,
            events: VecDeque::new(),
            synth_request,
            acks: state.acks,
            heard: state.heard,
        }
    }

    pub fn take_synth_request(&mut self) -> Option<String> {
        self.synth_request.take()
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The first boundary of the candidate's audio frames at or after
    /// `now_ms` (`now_ms` itself before any audio).
    fn next_frame_boundary(&self, now_ms: u64) -> u64 {
        match self.heard {
            Some((end, frame)) if now_ms > end => end + (now_ms - end).div_ceil(frame) * frame,
            Some((end, frame)) => end - (end - now_ms) / frame * frame,
            None => now_ms,
        }
    }

    /// The utterance requested by `take_synth_request` is ready. The turn
    /// starts on the next boundary of the candidate's frames, so the
    /// interviewer's timeline and the candidate's share one grid and a
    /// response latency is a whole number of the candidate's frames.
    pub fn begin(&mut self, utt: Arc<Utterance>, now_ms: u64) {
        debug_assert_eq!(
            utt.codec(),
            self.codec,
            "synthesized in the session's codec"
        );
        let Phase::Preparing(turn) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        let now_ms = self.next_frame_boundary(now_ms);
        if turn.kind == SegmentKind::Question {
            self.current = turn.question_index;
            self.follow_ups_asked = 0;
        }
        let segment_id = self.segment_id();
        self.phase = Phase::Speaking(Box::new(Speaking {
            turn,
            utt,
            start_ms: now_ms,
            sent: 0,
            words_shown: 0,
            segment_id,
            barge_in: BargeIn::new(self.t.barge_in_ms),
        }));
        self.state(InterviewerActivity::Speaking);
    }

    /// Synthesis failed: the interview cannot go on.
    pub fn fail(&mut self, message: String) {
        self.phase = Phase::Done;
        self.events.push_back(EngineEvent::Ended {
            reason: EndReason::EngineFailure,
            message,
        });
    }

    /// The user ended the interview.
    /// Stops the interview. An answer in progress is settled (its final
    /// transcript is queued), so the end does not lose it.
    pub fn end(&mut self) {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.events.clear();
        self.synth_request = None;
        if let Phase::Listening(l) = &phase {
            self.final_answer(l);
        }
    }

    /// The answer being listened to (also while the interviewer thinks, when
    /// the candidate may still go on): its segment id, start and question.
    pub fn open_answer(&self) -> Option<(u64, u64, u32)> {
        let l = match &self.phase {
            Phase::Listening(l) => l,
            Phase::Waiting {
                resume: Some(r), ..
            } => &r.listen,
            _ => return None,
        };
        Some((l.segment_id?, l.first_voice_ms?, l.question_index))
    }

    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        match &self.phase {
            Phase::Waiting { until_ms, .. } => Some(*until_ms),
            Phase::Preparing(_) | Phase::Done => None,
            Phase::Speaking(s) => {
                let frame = s.utt.frame_ms as u64;
                Some(s.start_ms + s.sent as u64 * frame)
            }
            Phase::Listening(l) => Some(match l.first_voice_ms {
                Some(_) => self.answered_at(l),
                None => l.since_ms + self.t.no_answer_ms,
            }),
        }
    }

    /// Advances to `now_ms`.
    pub fn poll(&mut self, now_ms: u64) {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Waiting { until_ms, resume } if now_ms >= until_ms => {
                if let Some(r) = resume {
                    self.final_answer(&r.listen);
                }
                match self.queue.pop_front() {
                    Some(turn) => {
                        self.synth_request = Some(turn.text.clone());
                        self.phase = Phase::Preparing(turn);
                    }
                    None => self.phase = Phase::Done,
                }
            }
            Phase::Speaking(mut s) => {
                let frame = s.utt.frame_ms as u64;
                let n = s.utt.frame_count();
                while s.sent < n && s.start_ms + s.sent as u64 * frame <= now_ms {
                    self.events.push_back(EngineEvent::Audio {
                        data: s.utt.frames()[s.sent].clone(),
                        due_ms: s.start_ms + s.sent as u64 * frame,
                    });
                    s.sent += 1;
                }
                let words = s.utt.word_count();
                let end_ms = s.start_ms + s.utt.duration_ms();
                if s.sent >= n && now_ms >= end_ms {
                    self.finish_turn(*s, end_ms);
                    return;
                }
                // The text grows with playback time.
                let shown = ((words * s.sent).div_ceil(n.max(1))).clamp(1, words.max(1));
                if shown > s.words_shown && shown < words {
                    s.words_shown = shown;
                    self.events
                        .push_back(EngineEvent::Transcript(TranscriptEvent {
                            speaker: Speaker::Interviewer,
                            segment_id: s.segment_id,
                            text: s.utt.first_words(shown).to_owned(),
                            is_final: false,
                            start_ms: s.start_ms,
                            end_ms: now_ms,
                            kind: s.turn.kind,
                            question_index: s.turn.question_index,
                            interrupted: false,
                        }));
                }
                self.phase = Phase::Speaking(s);
            }
            // Decisions take effect at their deadline, not whenever the poll
            // came: the timeline stays the audio's own.
            Phase::Listening(l) => {
                let answered_at = self.answered_at(&l);
                let given_up_at = l.since_ms + self.t.no_answer_ms;
                match l.first_voice_ms {
                    Some(_) if now_ms >= answered_at => self.answer_done(l, answered_at),
                    None if now_ms >= given_up_at => {
                        // No answer at all: move on without a follow-up.
                        self.queue.push_back(Turn {
                            text: MOVE_ON.into(),
                            kind: SegmentKind::Remark,
                            question_index: self.current,
                            after: After::Continue,
                        });
                        self.queue_question(self.current + 1);
                        self.state(InterviewerActivity::Thinking);
                        self.phase = Phase::Waiting {
                            until_ms: given_up_at + self.t.think_ms,
                            resume: None,
                        };
                    }
                    _ => self.phase = Phase::Listening(l),
                }
            }
            other => self.phase = other,
        }
    }

    /// The turn's audio has all played; `ended_ms` is when it ended.
    fn finish_turn(&mut self, s: Speaking, ended_ms: u64) {
        self.events
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker: Speaker::Interviewer,
                segment_id: s.segment_id,
                text: s.utt.text.clone(),
                is_final: true,
                start_ms: s.start_ms,
                end_ms: ended_ms,
                kind: s.turn.kind,
                question_index: s.turn.question_index,
                interrupted: false,
            }));
        match s.turn.after {
            After::Continue => {
                self.phase = Phase::Waiting {
                    until_ms: ended_ms + TURN_GAP_MS,
                    resume: None,
                }
            }
            After::Listen => self.listen(ended_ms, None),
            After::End => {
                self.phase = Phase::Done;
                self.events.push_back(EngineEvent::Ended {
                    reason: EndReason::InterviewComplete,
                    message: "The interviewer asked all planned questions.".into(),
                });
            }
        }
    }

    /// When silence ends the answer being listened to: soon after a finished
    /// thought (the words cover everything said and read as complete), later
    /// otherwise — a thinking pause mid-sentence is not the end.
    fn answered_at(&self, l: &Listen) -> u64 {
        // The latest words that cover everything said; of a tail and the whole
        // answer up to the same point, the whole answer.
        let finished = [l.tail.as_ref(), l.words.as_ref()]
            .into_iter()
            .flatten()
            .filter(|w| w.through_ms >= l.last_voice_ms)
            .max_by_key(|w| w.through_ms)
            .is_some_and(|w| content::sounds_finished(&w.text));
        let silence = if finished {
            self.t.finished_silence_ms
        } else {
            self.t.answer_silence_ms
        };
        l.last_voice_ms + silence
    }

    /// Recognised words of answer `segment_id`, covering its audio up to
    /// `through_ms`. Words of an answer no longer listened to are ignored.
    pub fn on_words(&mut self, segment_id: u64, text: String, through_ms: u64) {
        if let Some(l) = self.listening_to(segment_id) {
            Self::keep_newer(&mut l.words, text, through_ms);
        }
    }

    /// The words answer `segment_id` ends with, up to `through_ms` (its last
    /// seconds only): enough to tell a finished thought, not to follow up on.
    pub fn on_tail(&mut self, segment_id: u64, text: String, through_ms: u64) {
        if let Some(l) = self.listening_to(segment_id) {
            Self::keep_newer(&mut l.tail, text, through_ms);
        }
    }

    /// The answer `segment_id`, if it is still being listened to (or may
    /// still resume).
    fn listening_to(&mut self, segment_id: u64) -> Option<&mut Listen> {
        let listen = match &mut self.phase {
            Phase::Listening(l) => l,
            Phase::Waiting {
                resume: Some(r), ..
            } => &mut r.listen,
            _ => return None,
        };
        (listen.segment_id == Some(segment_id)).then_some(listen)
    }

    fn keep_newer(kept: &mut Option<Words>, text: String, through_ms: u64) {
        if kept.as_ref().is_none_or(|w| w.through_ms <= through_ms) {
            *kept = Some(Words { text, through_ms });
        }
    }

    fn listen(&mut self, now_ms: u64, voice_since: Option<u64>) {
        let mut l = Listen {
            since_ms: now_ms,
            first_voice_ms: None,
            last_voice_ms: now_ms,
            words: None,
            tail: None,
            speech_ms: 0,
            segment_id: None,
            question_index: self.current,
        };
        self.state(InterviewerActivity::Listening);
        if let Some(v) = voice_since {
            self.start_answer(&mut l, v);
            l.last_voice_ms = now_ms;
            l.speech_ms = now_ms.saturating_sub(v);
        }
        self.phase = Phase::Listening(l);
    }

    fn start_answer(&mut self, l: &mut Listen, at_ms: u64) {
        l.first_voice_ms = Some(at_ms);
        l.last_voice_ms = at_ms;
        let id = self.segment_id();
        l.segment_id = Some(id);
        self.events
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker: Speaker::Candidate,
                segment_id: id,
                text: "[answering…]".into(),
                is_final: false,
                start_ms: at_ms,
                end_ms: at_ms,
                kind: SegmentKind::Answer,
                question_index: l.question_index,
                interrupted: false,
            }));
    }

    fn final_answer(&mut self, l: &Listen) {
        let (Some(first), Some(id)) = (l.first_voice_ms, l.segment_id) else {
            return;
        };
        let secs = (l.last_voice_ms.saturating_sub(first) as f64 / 1000.0).round();
        let text = match &l.words {
            Some(w) if !w.text.trim().is_empty() => w.text.clone(),
            _ => format!("[answer, {secs} s]"),
        };
        self.events
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker: Speaker::Candidate,
                segment_id: id,
                text,
                is_final: true,
                start_ms: first,
                end_ms: l.last_voice_ms,
                kind: SegmentKind::Answer,
                question_index: l.question_index,
                interrupted: false,
            }));
    }

    fn answer_done(&mut self, l: Listen, now_ms: u64) {
        let resume = Resume {
            listen: l.clone(),
            queue: self.queue.clone(),
            follow_ups_asked: self.follow_ups_asked,
        };
        // Turns still queued (the candidate talked over the greeting) go first.
        if self.queue.is_empty() {
            match self.follow_up_for(&l) {
                Some(text) => {
                    self.follow_ups_asked += 1;
                    self.queue.push_back(Turn {
                        text,
                        kind: SegmentKind::FollowUp,
                        question_index: self.current,
                        after: After::Listen,
                    });
                }
                // The closing thanks the candidate itself.
                _ if self.current >= self.question_count() => self.queue_question(self.current + 1),
                _ => {
                    let ack = ACKS[self.acks as usize % ACKS.len()];
                    self.acks += 1;
                    self.queue.push_back(Turn {
                        text: ack.into(),
                        kind: SegmentKind::Remark,
                        question_index: self.current,
                        after: After::Continue,
                    });
                    self.queue_question(self.current + 1);
                }
            }
        }
        self.state(InterviewerActivity::Thinking);
        self.phase = Phase::Waiting {
            until_ms: now_ms + self.t.think_ms,
            resume: Some(Box::new(resume)),
        };
    }

    /// The one follow-up a question may get. With the answer's words, it asks
    /// for what the answer left out (a result, the candidate's own part, the
    /// situation) and none when nothing is missing; without them, the
    /// question's own follow-up after a short answer.
    fn follow_up_for(&self, l: &Listen) -> Option<String> {
        if self.follow_ups_asked > 0 {
            return None;
        }
        match &l.words {
            Some(w) => content::follow_up(&content::analyse(&w.text)).map(str::to_owned),
            None if l.speech_ms < self.t.short_answer_ms => self
                .questions
                .get((self.current as usize).wrapping_sub(1))
                .and_then(|q| q.follow_ups.first())
                .map(|f| follow_up_text(f)),
            None => None,
        }
    }

    /// One chunk of candidate audio: `voiced` if it holds the candidate's
    /// voice, `speaking` if speech is ongoing after it (onset and hangover
    /// applied). An answer ends on silence after its last voiced chunk; the
    /// interviewer is cut off by [`BargeIn`]'s rule (voiced audio, not the
    /// hang-over).
    pub fn on_audio(&mut self, at_ms: u64, voiced: bool, speaking: bool, duration_ms: u64) {
        if duration_ms > 0 {
            self.heard = Some((at_ms + duration_ms, duration_ms));
        }
        match &mut self.phase {
            Phase::Speaking(s) => {
                if let Some(voice_since) = s.barge_in.update(at_ms, voiced, speaking, duration_ms) {
                    self.interrupted(at_ms, voice_since);
                }
            }
            Phase::Listening(l) if speaking => {
                let mut l2 = l.clone();
                if l2.first_voice_ms.is_none() {
                    self.start_answer(&mut l2, at_ms);
                }
                if voiced {
                    l2.last_voice_ms = at_ms + duration_ms;
                }
                l2.speech_ms += duration_ms;
                self.phase = Phase::Listening(l2);
            }
            Phase::Waiting { resume, .. } if speaking && resume.is_some() => {
                // Only a pause: back to listening to the same answer.
                if let Some(r) = resume.take() {
                    let Resume {
                        mut listen,
                        queue,
                        follow_ups_asked,
                    } = *r;
                    self.queue = queue;
                    self.follow_ups_asked = follow_ups_asked;
                    if voiced {
                        listen.last_voice_ms = at_ms + duration_ms;
                    }
                    listen.speech_ms += duration_ms;
                    self.phase = Phase::Listening(listen);
                    self.state(InterviewerActivity::Listening);
                }
            }
            _ => {}
        }
    }

    fn interrupted(&mut self, now_ms: u64, voice_since: u64) {
        let Phase::Speaking(s) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        let shown = s.words_shown;
        self.events.push_back(EngineEvent::Interrupted);
        self.events
            .push_back(EngineEvent::Transcript(TranscriptEvent {
                speaker: Speaker::Interviewer,
                segment_id: s.segment_id,
                text: format!("{} —", s.utt.first_words(shown)),
                is_final: true,
                start_ms: s.start_ms,
                end_ms: now_ms,
                kind: s.turn.kind,
                question_index: s.turn.question_index,
                interrupted: true,
            }));
        match s.turn.after {
            After::End => {
                self.events.push_back(EngineEvent::Ended {
                    reason: EndReason::InterviewComplete,
                    message: "The interviewer asked all planned questions.".into(),
                });
            }
            _ => self.listen(now_ms, Some(voice_since)),
        }
    }
}

const MOVE_ON: &str = "That's all right. Let's move on.";

/// What the first question is asked after.
const FIRST_LEAD_IN: &str = "Let's begin.";
/// What the last question (of several) is asked after.
const LAST_LEAD_IN: &str = "Here is the last question.";

/// A question as this interviewer asked it, without the words it put
/// before the bank's text.
pub(super) fn without_lead_in(asked: &str) -> &str {
    let asked = asked.trim();
    [FIRST_LEAD_IN, LAST_LEAD_IN]
        .iter()
        .find_map(|lead| asked.strip_prefix(lead))
        .map_or(asked, str::trim_start)
}

fn closing_text() -> &'static str {
    "Thank you, that was the last question. That's the end of our practice interview. \
     Your feedback will be ready in a moment. Good luck!"
}

fn follow_up_text(f: &str) -> String {
    format!("Could you tell me a bit more? {f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::questions;
    use bytes::Bytes;
    use candor_api::{InterviewStatus, Seniority};

    fn interview(n: u32) -> InterviewRecord {
        InterviewRecord {
            id: "i1".into(),
            user_id: "u1".into(),
            role: Role::SoftwareEngineer,
            seniority: Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: n,
            status: InterviewStatus::Created,
            created_at_ms: 0,
            updated_at_ms: 0,
            retry_of: None,
        }
    }

    fn timings() -> Timings {
        Timings {
            answer_silence_ms: 400,
            finished_silence_ms: 150,
            think_ms: 100,
            short_answer_ms: 1000,
            barge_in_ms: 100,
            no_answer_ms: 2000,
        }
    }

    /// `text` as `frames` frames in `codec` (each `b"o"` in Opus, `b"p"`
    /// in PCM16).
    fn utt(text: &str, frames: usize, codec: Codec) -> Arc<Utterance> {
        let frame = match codec {
            Codec::Opus => Bytes::from_static(b"o"),
            Codec::Pcm16 => Bytes::from_static(b"p"),
        };
        Arc::new(Utterance::new(text.into(), 20, codec, vec![frame; frames]))
    }

    /// Runs the core to `until`, answering synthesis with `frames` per
    /// utterance and feeding candidate speech during `speech` windows.
    fn run(
        core: &mut Core,
        from: u64,
        until: u64,
        speech: &[(u64, u64)],
        log: &mut Vec<EngineEvent>,
    ) {
        let mut now = from;
        while now < until {
            core.poll(now);
            if let Some(text) = core.take_synth_request() {
                core.begin(utt(&text, 10, core.codec()), now);
            }
            let speaking = speech.iter().any(|&(a, b)| now >= a && now < b);
            core.on_audio(now, speaking, speaking, 20);
            while let Some(e) = core.pop_event() {
                log.push(e);
            }
            now += 20;
        }
    }

    fn finals(log: &[EngineEvent]) -> Vec<(Speaker, SegmentKind, String)> {
        log.iter()
            .filter_map(|e| match e {
                EngineEvent::Transcript(t) if t.is_final => {
                    Some((t.speaker, t.kind, t.text.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_core_restored_from_its_saved_state_goes_on_as_the_original() {
        // Cut anywhere — speaking, listening, thinking, mid-answer — saved
        // through JSON and restored (the turn being said synthesized
        // again), the conversation is the one the original has.
        let iv = interview(2);
        let plan = questions::plan(iv.role, iv.seniority, 2, &iv.id);
        let answers = [(1_200, 1_700), (3_000, 4_500), (6_000, 7_500)];
        let mut whole = Core::new(timings(), &iv, plan.clone(), Codec::Opus);
        let mut expected = Vec::new();
        run(&mut whole, 0, 12_000, &answers, &mut expected);
        assert!(whole.is_done());
        for cut in (0..9_000).step_by(140) {
            let mut first = Core::new(timings(), &iv, plan.clone(), Codec::Opus);
            let mut log = Vec::new();
            run(&mut first, 0, cut, &answers, &mut log);
            let state = first.snapshot_state().expect("nothing left to take");
            let json = serde_json::to_string(&state).unwrap();
            let state: CoreState = serde_json::from_str(&json).unwrap();
            let said = Core::speaking_text(&state).map(|t| utt(t, 10, Codec::Opus));
            let mut second = Core::restore(timings(), plan.clone(), Codec::Opus, state, said);
            run(&mut second, cut, 12_000, &answers, &mut log);
            assert_eq!(log, expected, "restored at {cut} ms");
            assert!(second.is_done());
        }
        // A state with events still to take is not given.
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        core.poll(TURN_GAP_MS);
        let text = core.take_synth_request().unwrap();
        core.begin(utt(&text, 10, core.codec()), TURN_GAP_MS);
        assert!(core.snapshot_state().is_none());
        while core.pop_event().is_some() {}
        assert!(core.snapshot_state().is_some());
    }

    #[test]
    fn asks_listens_follows_up_and_completes() {
        let iv = interview(2);
        let plan = questions::plan(iv.role, iv.seniority, 2, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        let mut log = Vec::new();
        // Greeting 0.25–0.45 s, gap, Q1 0.7–0.9 s; a short answer (0.5 s) →
        // follow-up; a long answer (1.5 s) → Q2; a long answer → closing.
        run(
            &mut core,
            0,
            12_000,
            &[(1_200, 1_700), (3_000, 4_500), (6_000, 7_500)],
            &mut log,
        );
        let kinds: Vec<_> = finals(&log).iter().map(|(s, k, _)| (*s, *k)).collect();
        use SegmentKind::*;
        use Speaker::*;
        assert_eq!(
            kinds,
            [
                (Interviewer, Greeting),
                (Interviewer, Question),
                (Candidate, Answer),
                (Interviewer, FollowUp),
                (Candidate, Answer),
                (Interviewer, Remark),
                (Interviewer, Question),
                (Candidate, Answer),
                (Interviewer, Closing),
            ]
        );
        assert!(matches!(
            log.last(),
            Some(EngineEvent::Ended {
                reason: EndReason::InterviewComplete,
                ..
            })
        ));
        let answers: Vec<String> = finals(&log)
            .into_iter()
            .filter(|(s, _, _)| *s == Candidate)
            .map(|(_, _, t)| t)
            .collect();
        assert_eq!(answers, ["[answer, 1 s]", "[answer, 2 s]", "[answer, 2 s]"]);
        let audio = log
            .iter()
            .filter(|e| matches!(e, EngineEvent::Audio { .. }))
            .count();
        assert_eq!(audio, 6 * 10, "every utterance is sent whole");
        assert!(core.is_done());
    }

    /// Q1 of a one-question interview is asked 0.45–0.65 s; the candidate
    /// answers 1.0–2.0 s. Returns the core listening, just after the answer.
    fn answered_q1() -> Core {
        let iv = interview(1);
        let plan = questions::plan(iv.role, iv.seniority, 1, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        run(&mut core, 0, 2_000, &[(1_000, 2_000)], &mut Vec::new());
        core
    }

    fn answer_segment(core: &Core) -> u64 {
        match &core.phase {
            Phase::Listening(l) => l.segment_id.expect("answering"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_finished_thought_ends_the_turn_sooner_a_sentence_cut_midway_does_not() {
        let mut core = answered_q1();
        let seg = answer_segment(&core);
        assert_eq!(
            core.next_deadline(),
            Some(2_000 + 400),
            "no words: the long wait"
        );
        core.on_words(seg, "The main thing I learned was".into(), 2_000);
        assert_eq!(
            core.next_deadline(),
            Some(2_400),
            "mid-sentence: still long"
        );
        core.on_words(seg, "We shipped it two weeks early.".into(), 2_000);
        assert_eq!(core.next_deadline(), Some(2_000 + 150), "finished thought");
        // Words that do not cover the latest speech decide nothing.
        core.on_audio(2_000, true, true, 20);
        assert_eq!(core.next_deadline(), Some(2_020 + 400));
        // Words of another answer are ignored.
        core.on_words(seg + 100, "Done.".into(), 5_000);
        assert_eq!(core.next_deadline(), Some(2_420));
    }

    #[test]
    fn a_finished_tail_ends_the_turn_sooner_and_the_whole_answer_has_the_last_word() {
        let mut core = answered_q1();
        let seg = answer_segment(&core);
        core.on_tail(seg, "early, and it cut costs.".into(), 2_000);
        assert_eq!(core.next_deadline(), Some(2_150), "the tail is enough");
        // The whole answer up to the same point reads otherwise: it decides.
        core.on_words(
            seg,
            "We shipped it early, and it cut costs because".into(),
            2_000,
        );
        assert_eq!(core.next_deadline(), Some(2_400));
        // A newer tail covers more than the words: it decides.
        core.on_audio(2_000, true, true, 20);
        core.on_tail(seg, "costs because it was simple.".into(), 2_020);
        assert_eq!(core.next_deadline(), Some(2_020 + 150));
        // A tail is not the answer: the follow-up and the transcript go by the words.
        core.on_tail(seg + 100, "Done.".into(), 9_000);
        assert_eq!(core.next_deadline(), Some(2_170), "another answer's tail");
    }

    #[test]
    fn the_follow_up_asks_for_what_the_answer_left_out() {
        let mut log = Vec::new();
        let mut core = answered_q1();
        let seg = answer_segment(&core);
        core.on_words(
            seg,
            "At my last job our team was slow, so I wrote a new release checklist for everyone."
                .into(),
            2_000,
        );
        run(&mut core, 2_000, 4_000, &[], &mut log);
        let asked: Vec<String> = finals(&log).into_iter().map(|f| f.2).collect();
        assert_eq!(
            asked.first().map(String::as_str),
            Some(
                "At my last job our team was slow, so I wrote a new release checklist for everyone."
            ),
            "the answer's transcript is its words"
        );
        assert!(
            asked.iter().any(|t| t == "What was the measurable result?"),
            "{asked:?}"
        );

        // A complete answer gets no follow-up, however short it was.
        let mut log = Vec::new();
        let mut core = answered_q1();
        let seg = answer_segment(&core);
        core.on_words(
            seg,
            "Last year at my company I moved our tests into the pipeline and cut releases to three hours.".into(),
            2_000,
        );
        run(&mut core, 2_000, 4_000, &[], &mut log);
        assert!(
            finals(&log).iter().all(|f| f.1 != SegmentKind::FollowUp),
            "{:?}",
            finals(&log)
        );
    }

    #[test]
    fn turns_start_on_the_candidates_frame_grid() {
        let iv = interview(1);
        let plan = questions::plan(iv.role, iv.seniority, 1, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        // Candidate frames end at 7 ms, 27 ms, … 247 ms on the session clock.
        for k in 1..13 {
            core.on_audio(k * 20 - 13, false, false, 20);
        }
        core.poll(TURN_GAP_MS);
        let text = core.take_synth_request().expect("the greeting");
        // Synthesis came back at 253 ms: the turn waits for the next frame
        // boundary (267 ms) rather than starting between two frames.
        core.begin(utt(&text, 10, core.codec()), 253);
        assert_eq!(core.next_deadline(), Some(267));
    }

    #[test]
    fn a_backlog_is_heard_in_the_order_it_was_spoken() {
        // Deadlines are taken at their own time, not at the poll that
        // noticed them: a late poll gives the same timeline.
        let iv = interview(1);
        let plan = questions::plan(iv.role, iv.seniority, 1, &iv.id);
        let mut prompt = Core::new(timings(), &iv, plan.clone(), Codec::Opus);
        let mut late = Core::new(timings(), &iv, plan, Codec::Opus);
        let mut a = Vec::new();
        let mut b = Vec::new();
        // Answer Q1 (asked at 0.45–0.65 s) from 1.0 to 2.5 s.
        run(&mut prompt, 0, 2_500, &[(1_000, 2_500)], &mut a);
        run(&mut late, 0, 2_500, &[(1_000, 2_500)], &mut b);
        // One poll 3 s after the answer ended, as after a cut.
        prompt.poll(2_900);
        late.poll(5_500);
        let thinking_until = |c: &Core| match &c.phase {
            Phase::Waiting { until_ms, .. } => *until_ms,
            other => panic!("{other:?}"),
        };
        assert_eq!(thinking_until(&prompt), 2_500 + 400 + 100);
        assert_eq!(thinking_until(&late), 2_500 + 400 + 100);
    }

    #[test]
    fn ending_mid_answer_settles_the_answer() {
        let iv = interview(2);
        let plan = questions::plan(iv.role, iv.seniority, 2, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        let mut log = Vec::new();
        // The candidate is still answering Q1 when the interview is ended.
        run(&mut core, 0, 1_600, &[(1_200, 1_600)], &mut log);
        assert!(
            !finals(&log)
                .iter()
                .any(|(s, _, _)| *s == Speaker::Candidate),
            "the answer is still open"
        );
        core.end();
        let settled: Vec<EngineEvent> = std::iter::from_fn(|| core.pop_event()).collect();
        match settled.as_slice() {
            [EngineEvent::Transcript(t)] => {
                assert!(t.is_final && t.speaker == Speaker::Candidate, "{t:?}");
                assert!(t.text.starts_with("[answer"), "{t:?}");
            }
            other => panic!("expected the settled answer, got {other:?}"),
        }
    }

    #[test]
    fn barge_in_interrupts_and_listens() {
        let iv = interview(1);
        let plan = questions::plan(iv.role, iv.seniority, 1, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        let mut log = Vec::new();
        // Speak during the greeting (0.25 s + 10 frames).
        run(&mut core, 0, 3_000, &[(300, 900)], &mut log);
        let pos = log
            .iter()
            .position(|e| *e == EngineEvent::Interrupted)
            .expect("interrupted");
        match &log[pos + 1] {
            EngineEvent::Transcript(t) => {
                assert!(
                    t.interrupted && t.is_final && t.text.ends_with('—'),
                    "{t:?}"
                )
            }
            other => panic!("{other:?}"),
        }
        // Audio stops at the barge-in, then the queued question follows the answer.
        assert!(matches!(
            log[pos + 2],
            EngineEvent::State {
                activity: InterviewerActivity::Listening,
                ..
            }
        ));
        let kinds: Vec<_> = finals(&log).iter().map(|(_, k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                SegmentKind::Greeting,
                SegmentKind::Answer,
                SegmentKind::Question
            ]
        );
    }

    #[test]
    fn a_blip_of_voice_and_its_hangover_do_not_cut_the_interviewer_off() {
        // Residual echo of the interviewer's own voice: 120 ms judged voiced,
        // the gate's 200 ms hang-over after it (speaking, not voiced), twice
        // within the greeting. 300 ms of "speaking" each, 120 ms of voice,
        // against the default barge-in of 300 ms.
        let iv = interview(1);
        let plan = questions::plan(iv.role, iv.seniority, 1, &iv.id);
        let t = Timings {
            barge_in_ms: 300,
            ..timings()
        };
        let mut core = Core::new(t, &iv, plan, Codec::Opus);
        let mut log = Vec::new();
        let mut now = 0;
        while now < 3_000 {
            core.poll(now);
            if let Some(text) = core.take_synth_request() {
                core.begin(utt(&text, 40, core.codec()), now);
            }
            let in_blip = |from: u64| now >= from && now < from + 320;
            let (voiced, speaking) = match (in_blip(300), in_blip(700)) {
                (true, _) => (now < 300 + 120, true),
                (_, true) => (now < 700 + 120, true),
                _ => (false, false),
            };
            core.on_audio(now, voiced, speaking, 20);
            log.extend(std::iter::from_fn(|| core.pop_event()));
            now += 20;
        }
        assert!(!log.contains(&EngineEvent::Interrupted), "{log:?}");
        assert!(
            finals(&log).iter().all(|(_, _, t)| !t.ends_with('—')),
            "{:?}",
            finals(&log)
        );
    }

    #[test]
    fn a_pause_shorter_than_think_time_continues_the_answer() {
        let iv = interview(1);
        let plan = questions::plan(iv.role, iv.seniority, 1, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        let mut log = Vec::new();
        // Q1 ends at 0.9 s. Speech, 420 ms pause (> silence, < silence + think), speech.
        run(
            &mut core,
            0,
            5_000,
            &[(1_000, 2_200), (2_620, 3_500)],
            &mut log,
        );
        let answers: Vec<_> = finals(&log)
            .into_iter()
            .filter(|(s, _, _)| *s == Speaker::Candidate)
            .collect();
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert_eq!(answers[0].2, "[answer, 3 s]");
    }

    #[test]
    fn a_retry_greets_asks_its_one_question_and_closes() {
        let mut iv = interview(1);
        let question = "Tell me about a time you changed your mind.";
        iv.retry_of = Some(crate::store::RetryOfRecord {
            interview_id: "i0".into(),
            question_index: 3,
            question: format!("{LAST_LEAD_IN} {question}"),
        });
        let plan = vec![crate::engine::questions::Question {
            text: question.into(),
            follow_ups: vec!["What made you change it?".into()],
            levels: vec![Seniority::Mid],
        }];
        let mut core = Core::new(timings(), &iv, plan, Codec::Opus);
        let mut log = Vec::new();
        // Greeting 0.25–0.45 s, the question 0.7–0.9 s, a long answer.
        run(&mut core, 0, 6_000, &[(1_200, 2_700)], &mut log);
        let said = finals(&log);
        use SegmentKind::*;
        assert_eq!(
            said.iter().map(|(_, k, _)| *k).collect::<Vec<_>>(),
            [Greeting, Question, Answer, Closing]
        );
        assert!(said[0].2.contains("another go at one question"), "{said:?}");
        assert!(
            said[0].2.contains("mid-level software engineer interview"),
            "{said:?}"
        );
        assert_eq!(said[1].2, format!("{FIRST_LEAD_IN} {question}"));
        assert!(log.iter().all(|e| match e {
            EngineEvent::State { question_count, .. } => *question_count == 1,
            _ => true,
        }));
        assert!(matches!(
            log.last(),
            Some(EngineEvent::Ended {
                reason: EndReason::InterviewComplete,
                ..
            })
        ));
    }

    #[test]
    fn the_lead_in_comes_off_a_question_as_asked() {
        assert_eq!(without_lead_in("Let's begin. Why us?"), "Why us?");
        assert_eq!(
            without_lead_in(" Here is the last question.  Why us? "),
            "Why us?"
        );
        assert_eq!(without_lead_in("Why us?"), "Why us?");
        assert_eq!(without_lead_in("Let's begin."), "");
    }

    #[test]
    fn no_answer_moves_on() {
        let iv = interview(2);
        let plan = questions::plan(iv.role, iv.seniority, 2, &iv.id);
        let mut core = Core::new(timings(), &iv, plan, Codec::Pcm16);
        let mut log = Vec::new();
        run(&mut core, 0, 4_000, &[], &mut log);
        let texts: Vec<_> = finals(&log).into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(texts[2], MOVE_ON);
        assert!(
            log.iter()
                .any(|e| matches!(e, EngineEvent::Audio { data, .. } if data.as_ref() == b"p"))
        );
    }

    #[test]
    fn every_line_is_upcoming_before_it_is_queued_and_nothing_further() {
        // Whatever the answers (short: a follow-up; long: the next question;
        // none: the remark and the next question; talking over the
        // interviewer), with the candidate's words or without, each line the
        // core asks for was listed by `upcoming` since its question began
        // and before the core queued it (the greeting and the first
        // question: at the start); `upcoming` never lists a question after
        // the next one, nor, while a question is being asked, anything but
        // the turns already queued.
        let iv = interview(3);
        let plan = questions::plan(iv.role, iv.seniority, 3, &iv.id);
        let every = |gap: u64, len: u64| -> Vec<(u64, u64)> {
            (0..30)
                .map(|k| (1_200 + k * gap, 1_200 + k * gap + len))
                .collect()
        };
        let scenarios = [
            ("short answers", every(2_000, 500), false),
            ("long answers", every(3_000, 1_500), false),
            ("no answers", Vec::new(), false),
            ("talking over the interviewer", every(700, 400), false),
            ("long answers with words", every(3_000, 1_500), true),
            ("short answers with words", every(2_000, 500), true),
        ];
        for (name, speech, with_words) in scenarios {
            let mut core = Core::new(timings(), &iv, plan.clone(), Codec::Opus);
            let mut listed = core.upcoming(with_words);
            let mut said = Vec::new();
            let mut now = 0;
            while !core.is_done() && now < 60_000 {
                core.poll(now);
                if let Some(text) = core.take_synth_request() {
                    assert!(
                        listed.contains(&text),
                        "{name}: {text:?} was not upcoming: {listed:?}"
                    );
                    let asked = core.current;
                    core.begin(utt(&text, 10, core.codec()), now);
                    if core.current != asked {
                        listed.clear();
                    }
                    said.push(text);
                }
                let upcoming = core.upcoming(with_words);
                if core.queue.is_empty() {
                    for text in &upcoming {
                        if !listed.contains(text) {
                            listed.push(text.clone());
                        }
                    }
                }
                for later in core.current + 2..=core.question_count() {
                    let q = core.question_text(later);
                    assert!(!upcoming.contains(&q), "{name}: {q:?} listed too early");
                }
                if core.asking() {
                    let queued: Vec<_> = core.queue.iter().map(|t| t.text.clone()).collect();
                    assert_eq!(upcoming, queued, "{name}: nothing new while asking");
                }
                let speaking = speech.iter().any(|&(a, b)| now >= a && now < b);
                core.on_audio(now, speaking, speaking, 20);
                if let (true, true, Some((seg, _, _))) = (with_words, speaking, core.open_answer())
                {
                    core.on_words(
                        seg,
                        "We rebuilt the billing service over the summer as a team".into(),
                        now + 20,
                    );
                }
                while core.pop_event().is_some() {}
                now += 20;
            }
            assert!(core.is_done(), "{name}: the interview ends ({said:?})");
            assert!(said.len() >= 5, "{name}: {said:?}");
        }
    }
}
