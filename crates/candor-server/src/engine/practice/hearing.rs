//! The candidate's words in the practice interview, off the audio path.
//!
//! Each answer's audio (16 kHz, as the session decoded it) is kept while the
//! answer lasts and handed to the session's [`RecognitionWorker`] (its own
//! thread, a bounded queue; submitting never waits): a partial whenever the
//! candidate pauses for 0.4 s and every few seconds while they speak, the
//! whole answer once it is over. What comes back becomes the live transcript, the words
//! the interviewer decides by (`Core::on_words`), and the answer's final text.
//!
//! Sooner, 160 ms into each pause, the answer's last seconds go to the
//! worker on their own ([`RecognitionWorker::submit_tail`]): whether the
//! answer sounds finished is decided 0.6 s into the pause at the soonest, and
//! the tail is recognised in about half the time of the whole answer.
//!
//! Turn ids: the worker wants them increasing, a turn's partials and tails
//! before its final. An answer (segment `s`) submits its `k`th partial or
//! tail as `s << 20 | k` and its final as `s << 20 | FINAL`, so each result
//! says which answer and how much of it (`through_ms`) it covers.
//!
//! An answer that ends with no voice after its last partial (the candidate
//! paused, a partial was recognised, and the pause became the end) is not
//! recognised twice: its final is that partial's words, out as soon as the
//! partial is.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use candor_api::Speaker;
use candor_speech::{
    RecognitionEvent, RecognitionWorker, Recognizer, RecognizerOptions, SpeechError, SubmitError,
    Transcriber, TurnId, WorkerConfig,
};
use tokio::sync::mpsc;

use crate::engine::TranscriptEvent;
use crate::store::SegmentKind;
use crate::voice::listen::ANALYSIS_RATE_HZ;

const PARTS: u32 = 20;
const FINAL: u64 = (1 << PARTS) - 1;
/// A partial at most this often while the candidate keeps speaking.
const PARTIAL_EVERY_MS: u64 = 2_000;
/// Silence after a voiced chunk that makes a pause worth asking how the
/// answer ends (its tail). The gaps between words are shorter: recognising
/// at each of them kept recognition busy all the time, so the answer's real
/// end waited behind work already out of date. The end of turn comes 0.6 s
/// into the pause at the soonest; the tail is recognised before.
const PAUSE_TAIL_MS: u64 = 160;
/// Silence that makes a pause worth a partial of the whole answer (the words
/// shown, and the final's words if the answer ends there). Before the tail is
/// recognised the partial would only wait behind it; the pauses between
/// sentences that end sooner cost no decode of the whole answer.
const PAUSE_PARTIAL_MS: u64 = 400;
/// Samples of an answer's end that tell whether it is over.
const TAIL_SAMPLES: usize =
    (candor_speech::TAIL.as_millis() as u64 * ANALYSIS_RATE_HZ as u64 / 1000) as usize;
/// Audio kept per answer; a longer answer is recognised up to here.
const MAX_ANSWER_MS: u64 = 5 * 60 * 1000;
/// Recognition events waiting for the session.
const EVENTS: usize = 64;
/// Audio kept from before an answer opens: an answer that interrupts the
/// interviewer opens only once the barge-in is decided (a few hundred ms
/// into it), and its first words are in what came before.
const PREROLL_MS: u64 = 2_000;
/// Audio kept before an answer's first voiced chunk (the voice's onset,
/// quieter than the level that opened it).
const ONSET_LEAD_MS: u64 = 150;

/// One loaded model shared by every session's worker (recognising takes
/// `&self`; each worker runs one turn at a time).
#[derive(Clone)]
pub struct SharedRecognizer(pub Arc<Recognizer>);

impl std::fmt::Debug for SharedRecognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transcriber for SharedRecognizer {
    fn transcribe(&mut self, audio: &[f32]) -> Result<String, SpeechError> {
        self.0.transcribe(audio)
    }

    fn transcribe_tail(&mut self, audio: &[f32]) -> Result<Option<String>, SpeechError> {
        self.0.transcribe_tail(audio)
    }
}

/// The speech model the practice interviewer hears with, replaceable while
/// the server runs (the app installs, changes or deletes one). Sessions keep
/// the model they started with.
#[derive(Debug, Clone, Default)]
pub struct SpeechModel(Arc<RwLock<Option<SharedRecognizer>>>);

impl SpeechModel {
    /// Loads the model in `dir` (blocking: a fraction of a second for
    /// tiny.en) and uses it for the sessions that start from now on, and
    /// from their next answer for sessions that had no model yet.
    pub fn load(&self, dir: &Path) -> Result<(), SpeechError> {
        let r = Recognizer::load(dir, RecognizerOptions::default())?;
        *self.0.write().unwrap_or_else(PoisonError::into_inner) =
            Some(SharedRecognizer(Arc::new(r)));
        Ok(())
    }

    /// No model from now on: answers are timed, not transcribed.
    pub fn clear(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The model a new session uses.
    pub fn current(&self) -> Option<SharedRecognizer> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The last [`PREROLL_MS`] of the session's audio, one stretch of time
/// ending at `end_ms`: audio that does not follow on from it (a capture gap)
/// starts it afresh.
#[derive(Debug, Default)]
struct PreRoll {
    samples: VecDeque<f32>,
    end_ms: u64,
}

impl PreRoll {
    const MAX: usize = (PREROLL_MS * ANALYSIS_RATE_HZ as u64 / 1000) as usize;

    /// Keeps `pcm`, heard at session ms `at_ms` for `duration_ms`.
    fn push(&mut self, pcm: &[f32], at_ms: u64, duration_ms: u64) {
        if at_ms.abs_diff(self.end_ms) > 1 {
            self.samples.clear();
        }
        let pcm = &pcm[pcm.len().saturating_sub(Self::MAX)..];
        let over = (self.samples.len() + pcm.len()).saturating_sub(Self::MAX);
        self.samples.drain(..over);
        self.samples.extend(pcm);
        self.end_ms = at_ms + duration_ms;
    }

    /// The kept audio from session ms `from_ms` on.
    fn since(&self, from_ms: u64) -> impl Iterator<Item = &f32> {
        let ms = self.end_ms.saturating_sub(from_ms);
        let take = ((ms * u64::from(ANALYSIS_RATE_HZ) / 1000) as usize).min(self.samples.len());
        self.samples.range(self.samples.len() - take..)
    }
}

/// The answer whose audio is being kept.
#[derive(Debug)]
struct Answer {
    segment: u64,
    start_ms: u64,
    question_index: u32,
    pcm: Vec<f32>,
    /// Samples up to the end of the last voiced chunk, and its session ms.
    voiced_len: usize,
    voiced_until_ms: u64,
    /// Silence since the last voiced chunk.
    unvoiced_ms: u64,
    /// Partials submitted; audio length (ms) at the last one.
    partials: u64,
    partial_at_ms: u64,
    /// The last partial's turn id and the voiced samples it covers.
    last_partial: Option<(u64, usize)>,
}

/// What the session should do with a recognition result.
#[derive(Debug, PartialEq)]
pub enum Heard {
    /// Words of an answer in progress, covering it up to `through_ms`: show
    /// them and let the interviewer decide by them.
    Partial {
        segment: u64,
        text: String,
        through_ms: u64,
        event: TranscriptEvent,
    },
    /// The words an answer in progress ends with, up to `through_ms`: only
    /// for the interviewer to tell whether it is over (not shown).
    Tail {
        segment: u64,
        text: String,
        through_ms: u64,
    },
    /// An answer's final transcript, ready to be stored and shown.
    Final(TranscriptEvent),
}

/// One session's recognition.
#[derive(Debug)]
pub struct Hearing {
    worker: RecognitionWorker,
    events: mpsc::Receiver<RecognitionEvent>,
    answer: Option<Answer>,
    /// `through_ms` of each partial in flight, by turn id.
    partial_through: HashMap<u64, u64>,
    /// `through_ms` of each tail in flight, by turn id.
    tail_through: HashMap<u64, u64>,
    /// Final candidate transcripts waiting for their words, by segment.
    held: HashMap<u64, TranscriptEvent>,
    /// The last [`PREROLL_MS`] of audio.
    recent: PreRoll,
}

impl Hearing {
    /// Starts the session's recognition thread.
    pub fn start(recognizer: impl Transcriber, session: &str) -> Result<Self, SpeechError> {
        let (tx, events) = mpsc::channel(EVENTS);
        let config = WorkerConfig {
            capacity: 4,
            thread_name: format!(
                "candor-hear-{}",
                session.chars().take(8).collect::<String>()
            ),
        };
        // The sink runs on the worker's thread: a full channel makes recognition
        // wait for the session, never the other way round.
        let worker = RecognitionWorker::spawn(recognizer, config, move |e| {
            let _ = tx.blocking_send(e);
        })?;
        Ok(Self {
            worker,
            events,
            answer: None,
            partial_through: HashMap::new(),
            tail_through: HashMap::new(),
            held: HashMap::new(),
            recent: PreRoll::default(),
        })
    }

    /// One chunk of candidate audio; `answer` is the answer the interviewer
    /// is listening to, if any (segment id, start ms, question index).
    pub fn on_audio(
        &mut self,
        answer: Option<(u64, u64, u32)>,
        pcm: &[f32],
        at_ms: u64,
        duration_ms: u64,
        voiced: bool,
    ) {
        let Some((segment, start_ms, question_index)) = answer else {
            self.recent.push(pcm, at_ms, duration_ms);
            return;
        };
        if self.answer.as_ref().is_none_or(|a| a.segment != segment) {
            // The answer began before this chunk: its start is in what was
            // kept (back to the last gap in the audio at most).
            let mut pcm = Vec::with_capacity(ANALYSIS_RATE_HZ as usize * 30);
            pcm.extend(self.recent.since(start_ms.saturating_sub(ONSET_LEAD_MS)));
            let take = pcm.len();
            self.answer = Some(Answer {
                segment,
                start_ms,
                question_index,
                voiced_len: pcm.len(),
                voiced_until_ms: if take > 0 {
                    self.recent.end_ms
                } else {
                    start_ms
                },
                unvoiced_ms: 0,
                pcm,
                partials: 0,
                partial_at_ms: 0,
                last_partial: None,
            });
        }
        self.recent.push(pcm, at_ms, duration_ms);
        let Some(a) = self.answer.as_mut() else {
            return;
        };
        let max = (MAX_ANSWER_MS * u64::from(ANALYSIS_RATE_HZ) / 1000) as usize;
        if a.pcm.len() + pcm.len() <= max {
            a.pcm.extend_from_slice(pcm);
        }
        let unvoiced_before = a.unvoiced_ms;
        a.unvoiced_ms = if voiced {
            0
        } else {
            a.unvoiced_ms + duration_ms
        };
        let reaches = |ms: u64| unvoiced_before < ms && a.unvoiced_ms >= ms;
        let (tail_due, pause_holds) = (reaches(PAUSE_TAIL_MS), reaches(PAUSE_PARTIAL_MS));
        if voiced {
            a.voiced_len = a.pcm.len();
            a.voiced_until_ms = at_ms + duration_ms;
        }
        let through = a.voiced_until_ms;
        if tail_due && a.voiced_len > 0 && a.partials < FINAL - 1 {
            // Whether the answer is over is decided 0.6 s into the pause at
            // the soonest: its last seconds tell, sooner than all of it.
            let turn = (a.segment << PARTS) | a.partials;
            a.partials += 1;
            let tail = a.pcm[a.voiced_len.saturating_sub(TAIL_SAMPLES)..a.voiced_len].to_vec();
            if self.worker.submit_tail(TurnId(turn), tail).is_ok() {
                self.tail_through.insert(turn, through);
            }
        }
        let spoken_ms = a.voiced_len as u64 * 1000 / u64::from(ANALYSIS_RATE_HZ);
        let due = voiced && spoken_ms >= a.partial_at_ms + PARTIAL_EVERY_MS;
        if (pause_holds || due) && a.voiced_len > 0 && a.partials < FINAL - 1 {
            let turn = (a.segment << PARTS) | a.partials;
            a.partials += 1;
            a.partial_at_ms = spoken_ms;
            let audio = a.pcm[..a.voiced_len].to_vec();
            // A partial is best effort: a stopped worker shows in the final.
            if self.worker.submit_partial(TurnId(turn), audio).is_ok() {
                self.partial_through.insert(turn, through);
                a.last_partial = Some((turn, a.voiced_len));
            }
        }
    }

    /// The core settled an answer (`event`: its final transcript with the
    /// core's text). Its words are recognised before it is released; if
    /// recognition cannot take it, it is released as it is.
    pub fn settle(&mut self, event: TranscriptEvent) -> Option<TranscriptEvent> {
        let segment = event.segment_id;
        let answer = match self.answer.take() {
            Some(a) if a.segment == segment => a,
            other => {
                self.answer = other;
                return Some(event);
            }
        };
        let turn = TurnId((segment << PARTS) | FINAL);
        // No voice after the last partial: its words are the answer's.
        let submitted = match answer.last_partial {
            Some((partial, covers)) if covers == answer.voiced_len => self
                .worker
                .submit_final_reusing(turn, answer.pcm, TurnId(partial)),
            _ => self.worker.submit_final(turn, answer.pcm),
        };
        match submitted {
            Ok(()) => {
                self.held.insert(segment, event);
                None
            }
            Err(SubmitError::QueueFull { .. } | SubmitError::Stopped) => {
                tracing::warn!(segment, "speech recognition unavailable for this answer");
                Some(event)
            }
        }
    }

    /// Whether final transcripts are waiting for their words.
    pub fn holds_finals(&self) -> bool {
        !self.held.is_empty()
    }

    /// The next recognition result (cancel-safe).
    pub async fn next(&mut self) -> Option<Heard> {
        loop {
            let event = self.events.recv().await?;
            if let Some(h) = self.take(event) {
                return Some(h);
            }
        }
    }

    /// Waits until `deadline` at most for the words of the held finals;
    /// returns those that came (the others stay held). Partials and tails
    /// that come meanwhile are dropped: their answers are over.
    pub async fn wait_finals(&mut self, deadline: tokio::time::Instant) -> Vec<TranscriptEvent> {
        let mut out = Vec::new();
        while self.holds_finals() {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Ok(Some(Heard::Final(e))) => out.push(e),
                Ok(Some(Heard::Partial { .. } | Heard::Tail { .. })) => {}
                Ok(None) | Err(_) => break,
            }
        }
        out
    }

    /// The interview is over: waits up to `within` for the words of the
    /// held finals, then releases them all (those still unrecognised as the
    /// core settled them).
    pub async fn finish(&mut self, within: std::time::Duration) -> Vec<TranscriptEvent> {
        let mut out = self.wait_finals(tokio::time::Instant::now() + within).await;
        let mut late: Vec<TranscriptEvent> = self.held.drain().map(|(_, e)| e).collect();
        late.sort_by_key(|e| e.segment_id);
        out.extend(late);
        out
    }

    fn take(&mut self, event: RecognitionEvent) -> Option<Heard> {
        match event {
            RecognitionEvent::Partial { turn, text } => {
                let through_ms = self.partial_through.remove(&turn.0)?;
                if text.trim().is_empty() {
                    return None;
                }
                let segment = turn.0 >> PARTS;
                let a = self.answer.as_ref().filter(|a| a.segment == segment)?;
                tracing::debug!(
                    segment,
                    through_ms,
                    voiced_until_ms = a.voiced_until_ms,
                    finished = crate::content::sounds_finished(&text),
                    "partial recognised"
                );
                let event = TranscriptEvent {
                    speaker: Speaker::Candidate,
                    segment_id: segment,
                    text: text.clone(),
                    is_final: false,
                    start_ms: a.start_ms,
                    end_ms: through_ms,
                    kind: SegmentKind::Answer,
                    question_index: a.question_index,
                    interrupted: false,
                };
                Some(Heard::Partial {
                    segment,
                    text,
                    through_ms,
                    event,
                })
            }
            RecognitionEvent::Tail { turn, text } => {
                let through_ms = self.tail_through.remove(&turn.0)?;
                let segment = turn.0 >> PARTS;
                self.answer.as_ref().filter(|a| a.segment == segment)?;
                tracing::debug!(
                    segment,
                    through_ms,
                    finished = crate::content::sounds_finished(&text),
                    "tail recognised"
                );
                Some(Heard::Tail {
                    segment,
                    text,
                    through_ms,
                })
            }
            RecognitionEvent::Final(f) => {
                let segment = f.turn.0 >> PARTS;
                let mut event = self.held.remove(&segment)?;
                let text = f.text.trim();
                if !text.is_empty() {
                    event.text = text.to_owned();
                }
                tracing::debug!(
                    segment,
                    audio_ms = f.audio.as_millis() as u64,
                    waited_ms = f.waited.as_millis() as u64,
                    decoded_ms = f.decoded_in.as_millis() as u64,
                    reused_partial = f.reused.is_some(),
                    "answer recognised"
                );
                Some(Heard::Final(event))
            }
            RecognitionEvent::Failed { turn, error } => {
                let segment = turn.0 >> PARTS;
                tracing::warn!(segment, %error, "an answer could not be recognised");
                self.held.remove(&segment).map(Heard::Final)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20 ms chunk whose samples all hold `value`.
    fn chunk(value: f32) -> Vec<f32> {
        vec![value; ANALYSIS_RATE_HZ as usize / 50]
    }

    #[test]
    fn the_pre_roll_keeps_the_last_two_seconds_back_to_a_gap() {
        let mut p = PreRoll::default();
        for k in 0..200u64 {
            p.push(&chunk(k as f32), k * 20, 20);
        }
        assert_eq!(p.samples.len(), PreRoll::MAX, "two seconds at most");
        let last: Vec<f32> = p.since(3_940).copied().collect();
        assert_eq!(last, [chunk(197.0), chunk(198.0), chunk(199.0)].concat());
        assert_eq!(p.since(0).count(), PreRoll::MAX);

        // A gap of 100 ms: what came before it is not this stretch.
        p.push(&chunk(-1.0), 4_100, 20);
        let after_gap: Vec<f32> = p.since(3_000).copied().collect();
        assert_eq!(after_gap, chunk(-1.0));
        assert_eq!(p.end_ms, 4_120);
    }
}
