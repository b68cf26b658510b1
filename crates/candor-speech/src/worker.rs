//! The recognition worker: recognition off the audio path, one turn at a time.
//!
//! The practice engine hands over each VAD-cut candidate turn when it ends
//! ([`RecognitionWorker::submit_final`]) and, while the candidate is still speaking, the
//! audio so far ([`RecognitionWorker::submit_partial`]). A dedicated thread, below normal
//! priority, decodes them one at a time and delivers [`RecognitionEvent`]s to a sink the engine provides (a
//! closure that forwards into its own channel). Submitting never waits for recognition:
//! the queue of final turns is bounded and a full queue is an error returned at once, and
//! partials never queue at all — there is one slot, and a newer partial replaces the one
//! waiting there. Final turns go before partials, and a turn's partials always come before
//! its final.
//!
//! When the candidate pauses, the engine must decide soon whether the answer is over.
//! [`RecognitionWorker::submit_tail`] asks for the words the turn ends with
//! ([`Transcriber::transcribe_tail`], about half the cost of the whole turn); a tail has
//! its own one-job slot and goes before everything else waiting.
//!
//! A final need not be decoded again when a partial already holds all its speech (the
//! candidate paused, the partial was recognised, and no voice came after it):
//! [`RecognitionWorker::submit_final_reusing`] names that partial, and the worker reports
//! the partial's words as the final as soon as the partial is done — or decodes the final
//! after all when the partial never was (replaced, or failed).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Recognizer, SpeechError, features::SAMPLE_RATE};

/// Something that turns a turn's audio (16 kHz mono `f32`) into text; [`Recognizer`] is
/// the real one. The worker owns it and calls it from its own thread only.
pub trait Transcriber: Send + 'static {
    /// Transcribes one turn (or the audio so far of a turn still in progress).
    fn transcribe(&mut self, audio: &[f32]) -> Result<String, SpeechError>;

    /// Transcribes enough of the end of a turn in progress to tell how it ends, sooner
    /// than [`transcribe`](Self::transcribe) would; `None` when it cannot say. By
    /// default, the whole turn.
    fn transcribe_tail(&mut self, audio: &[f32]) -> Result<Option<String>, SpeechError> {
        self.transcribe(audio).map(Some)
    }
}

impl Transcriber for Recognizer {
    fn transcribe(&mut self, audio: &[f32]) -> Result<String, SpeechError> {
        Recognizer::transcribe(self, audio)
    }

    fn transcribe_tail(&mut self, audio: &[f32]) -> Result<Option<String>, SpeechError> {
        Recognizer::transcribe_tail(self, audio)
    }
}

/// Identifies a candidate turn. Ids must increase within one worker: once a turn's final
/// is submitted, partials for it or any earlier turn are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TurnId(pub u64);

/// What the worker reports, in the order it happened.
#[derive(Debug)]
pub enum RecognitionEvent {
    /// The transcript of a turn still in progress, so far.
    Partial {
        /// The turn.
        turn: TurnId,
        /// Its text so far.
        text: String,
    },
    /// How a turn still in progress ends: the words of its last seconds
    /// ([`RecognitionWorker::submit_tail`]).
    Tail {
        /// The turn.
        turn: TurnId,
        /// The words its audio ends with (its first words may be cut).
        text: String,
    },
    /// The transcript of a finished turn.
    Final(FinalTranscript),
    /// A finished turn could not be transcribed (a failed partial is not reported: the
    /// turn's final reports the problem).
    Failed {
        /// The turn.
        turn: TurnId,
        /// Why.
        error: SpeechError,
    },
}

/// A finished turn's transcript, with where its time went.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalTranscript {
    /// The turn.
    pub turn: TurnId,
    /// Its text (empty when nothing was said).
    pub text: String,
    /// Length of the turn's audio.
    pub audio: Duration,
    /// Time from submission until decoding started (waiting behind earlier turns).
    pub waited: Duration,
    /// Time spent decoding.
    pub decoded_in: Duration,
    /// The partial whose words these are, when the final was not decoded again
    /// ([`RecognitionWorker::submit_final_reusing`]).
    pub reused: Option<TurnId>,
}

/// Why a turn was not accepted. Submitting never blocks; these come back at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// `capacity` finished turns are already waiting: recognition is falling behind.
    #[error("speech recognition is behind: {capacity} turns are already waiting")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The worker was shut down, or its thread ended.
    #[error("the speech recognition worker has stopped")]
    Stopped,
}

/// Settings of a [`RecognitionWorker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Finished turns that may wait at once; one more is refused with
    /// [`SubmitError::QueueFull`].
    pub capacity: usize,
    /// The thread's name.
    pub thread_name: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            capacity: 4,
            thread_name: "candor-speech".to_owned(),
        }
    }
}

struct Job {
    turn: TurnId,
    audio: Vec<f32>,
    submitted: Instant,
    /// A final's partial that already holds all its speech.
    reuse: Option<TurnId>,
}

#[derive(Default)]
struct Queue {
    finals: VecDeque<Job>,
    partial: Option<Job>,
    tail: Option<Job>,
    /// The latest turn whose final was submitted.
    last_final: Option<TurnId>,
    stopping: bool,
    thread_ended: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    capacity: usize,
}

impl Shared {
    /// The lock is held only to push or pop a job, never while decoding, so taking it
    /// never waits for recognition. A panic cannot leave the queue half-changed, so a
    /// poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The recognition thread and its queue. Dropping it stops the thread after the turn it
/// is decoding (without waiting); [`RecognitionWorker::shutdown`] also waits.
pub struct RecognitionWorker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RecognitionWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecognitionWorker")
            .field("capacity", &self.shared.capacity)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl RecognitionWorker {
    /// Starts the thread. `sink` receives every event on that thread: keep it quick (send
    /// into a channel).
    pub fn spawn<T, F>(transcriber: T, config: WorkerConfig, sink: F) -> Result<Self, SpeechError>
    where
        T: Transcriber,
        F: FnMut(RecognitionEvent) + Send + 'static,
    {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            capacity: config.capacity.max(1),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(config.thread_name)
            .spawn(move || run(&thread_shared, transcriber, sink))
            .map_err(SpeechError::WorkerSpawn)?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues a finished turn. Its pending partial, if any, is dropped: the final
    /// supersedes it.
    pub fn submit_final(&self, turn: TurnId, audio: Vec<f32>) -> Result<(), SubmitError> {
        self.queue_final(turn, audio, None)
    }

    /// Queues a finished turn whose speech partial `partial` already holds in full (the
    /// caller knows no voice came after the partial's audio): its final is that partial's
    /// text, reported as soon as the partial is recognised, without decoding `audio`
    /// again. If the partial is not being or has not been recognised (it was still
    /// waiting and this final drops it, a newer one replaced it, or it failed), `audio`
    /// is decoded as by [`submit_final`](Self::submit_final).
    pub fn submit_final_reusing(
        &self,
        turn: TurnId,
        audio: Vec<f32>,
        partial: TurnId,
    ) -> Result<(), SubmitError> {
        self.queue_final(turn, audio, Some(partial))
    }

    fn queue_final(
        &self,
        turn: TurnId,
        audio: Vec<f32>,
        reuse: Option<TurnId>,
    ) -> Result<(), SubmitError> {
        let mut queue = self.shared.lock();
        if queue.stopping || queue.thread_ended {
            return Err(SubmitError::Stopped);
        }
        if queue.finals.len() >= self.shared.capacity {
            return Err(SubmitError::QueueFull {
                capacity: self.shared.capacity,
            });
        }
        if queue.partial.as_ref().is_some_and(|p| p.turn <= turn) {
            queue.partial = None;
        }
        if queue.tail.as_ref().is_some_and(|p| p.turn <= turn) {
            queue.tail = None;
        }
        queue.last_final = Some(queue.last_final.map_or(turn, |last| last.max(turn)));
        queue.finals.push_back(Job {
            turn,
            audio,
            submitted: Instant::now(),
            reuse,
        });
        drop(queue);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Offers the audio so far of a turn still in progress. It replaces any partial not
    /// yet started, and is ignored once the turn's final was submitted. Partials are best
    /// effort: under load most are replaced before they are decoded.
    pub fn submit_partial(&self, turn: TurnId, audio: Vec<f32>) -> Result<(), SubmitError> {
        self.offer(turn, audio, |queue| &mut queue.partial)
    }

    /// Offers the audio so far of a turn still in progress to hear how it ends
    /// ([`Transcriber::transcribe_tail`]): the caller must decide soon whether the turn
    /// is over. It goes before everything else waiting, replaces any tail not yet
    /// started, and is ignored once the turn's final was submitted; it is answered with
    /// [`RecognitionEvent::Tail`] (nothing when the tail cannot be told).
    pub fn submit_tail(&self, turn: TurnId, audio: Vec<f32>) -> Result<(), SubmitError> {
        self.offer(turn, audio, |queue| &mut queue.tail)
    }

    /// Puts a job for a turn in progress in its one-job slot.
    fn offer(
        &self,
        turn: TurnId,
        audio: Vec<f32>,
        slot: impl FnOnce(&mut Queue) -> &mut Option<Job>,
    ) -> Result<(), SubmitError> {
        let mut queue = self.shared.lock();
        if queue.stopping || queue.thread_ended {
            return Err(SubmitError::Stopped);
        }
        if queue.last_final.is_some_and(|last| turn <= last) {
            return Ok(());
        }
        *slot(&mut queue) = Some(Job {
            turn,
            audio,
            submitted: Instant::now(),
            reuse: None,
        });
        drop(queue);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Finished turns waiting (not counting the one being decoded).
    pub fn pending(&self) -> usize {
        self.shared.lock().finals.len()
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Stops the thread after the turn it is decoding, drops what is waiting, and waits
    /// for the thread to end.
    pub fn shutdown(mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            // A panic in the transcriber already ended the thread; nothing more to do.
            let _ = thread.join();
        }
    }

    fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
    }
}

impl Drop for RecognitionWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Next {
    Tail(Job),
    Final(Job),
    Partial(Job),
}

fn next_job(shared: &Shared) -> Option<Next> {
    let mut queue = shared.lock();
    loop {
        if queue.stopping {
            return None;
        }
        if let Some(job) = queue.tail.take() {
            return Some(Next::Tail(job));
        }
        if let Some(job) = queue.finals.pop_front() {
            return Some(Next::Final(job));
        }
        if let Some(job) = queue.partial.take() {
            return Some(Next::Partial(job));
        }
        queue = shared
            .wake
            .wait(queue)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Marks the queue closed when the thread ends, however it ends (a panic included), so
/// later submissions report [`SubmitError::Stopped`] instead of queueing forever.
struct EndGuard<'a>(&'a Shared);

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.thread_ended = true;
        queue.finals.clear();
        queue.partial = None;
        queue.tail = None;
    }
}

/// How much nicer than the thread that starts it the recognition thread runs (and the
/// threads CTranslate2 starts from it, which inherit it): recognition takes whole cores
/// for hundreds of milliseconds, and must yield them to the audio path and the window.
const NICENESS: i32 = 5;

/// Lowers the calling thread's scheduling priority by [`NICENESS`] (on Linux, nice
/// values are per thread). Raising a nice value needs no privilege; if it fails anyway,
/// recognition runs at the priority it had.
#[allow(unsafe_code)]
fn run_below_normal_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain system call on the calling thread, no pointers.
    unsafe {
        libc::nice(NICENESS);
    }
}

fn run<T: Transcriber>(
    shared: &Shared,
    mut transcriber: T,
    mut sink: impl FnMut(RecognitionEvent),
) {
    let _guard = EndGuard(shared);
    run_below_normal_priority();
    // The last partial recognised, and its words, for a final that reuses it.
    let mut last_partial: Option<(TurnId, String)> = None;
    while let Some(next) = next_job(shared) {
        match next {
            Next::Tail(job) => {
                // Best effort, like a partial: a failed tail leaves the decision to the
                // turn's length of silence.
                if let Ok(Some(text)) = transcriber.transcribe_tail(&job.audio) {
                    sink(RecognitionEvent::Tail {
                        turn: job.turn,
                        text,
                    });
                }
            }
            Next::Final(job) => {
                let started = Instant::now();
                let reused = match &last_partial {
                    Some((turn, _)) if job.reuse == Some(*turn) => last_partial.take(),
                    _ => None,
                };
                let (result, reused) = match reused {
                    Some((turn, text)) => (Ok(text), Some(turn)),
                    None => (transcriber.transcribe(&job.audio), None),
                };
                let decoded_in = started.elapsed();
                sink(match result {
                    Ok(text) => RecognitionEvent::Final(FinalTranscript {
                        turn: job.turn,
                        text,
                        audio: Duration::from_secs_f64(
                            job.audio.len() as f64 / f64::from(SAMPLE_RATE),
                        ),
                        waited: started.saturating_duration_since(job.submitted),
                        decoded_in,
                        reused,
                    }),
                    Err(error) => RecognitionEvent::Failed {
                        turn: job.turn,
                        error,
                    },
                });
            }
            Next::Partial(job) => {
                last_partial = None;
                if let Ok(text) = transcriber.transcribe(&job.audio) {
                    last_partial = Some((job.turn, text.clone()));
                    // The turn may have finished while this partial was decoded; its final
                    // (already queued) comes next, so the partial is still in order.
                    sink(RecognitionEvent::Partial {
                        turn: job.turn,
                        text,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A transcriber that reports the audio's length, and can be held at a gate so the
    /// queue fills deterministically.
    struct Gated {
        started: mpsc::Sender<usize>,
        gate: mpsc::Receiver<()>,
    }

    impl Transcriber for Gated {
        fn transcribe(&mut self, audio: &[f32]) -> Result<String, SpeechError> {
            self.started.send(audio.len()).unwrap();
            self.gate
                .recv()
                .map_err(|_| SpeechError::Recognition("gate closed".into()))?;
            if audio.first() == Some(&-1.0) {
                return Err(SpeechError::Recognition("bad audio".into()));
            }
            Ok(format!("{} samples", audio.len()))
        }
    }

    struct Harness {
        worker: RecognitionWorker,
        started: mpsc::Receiver<usize>,
        gate: mpsc::Sender<()>,
        events: mpsc::Receiver<RecognitionEvent>,
    }

    fn harness(capacity: usize) -> Harness {
        let (started_tx, started) = mpsc::channel();
        let (gate, gate_rx) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let worker = RecognitionWorker::spawn(
            Gated {
                started: started_tx,
                gate: gate_rx,
            },
            WorkerConfig {
                capacity,
                ..WorkerConfig::default()
            },
            move |event| events_tx.send(event).unwrap(),
        )
        .unwrap();
        Harness {
            worker,
            started,
            gate,
            events,
        }
    }

    const WAIT: Duration = Duration::from_secs(10);

    fn final_text(event: RecognitionEvent) -> (TurnId, String) {
        match event {
            RecognitionEvent::Final(t) => (t.turn, t.text),
            other => panic!("expected a final, got {other:?}"),
        }
    }

    #[test]
    fn turns_are_transcribed_in_order_one_at_a_time() {
        let h = harness(4);
        h.worker.submit_final(TurnId(1), vec![0.0; 10]).unwrap();
        h.worker.submit_final(TurnId(2), vec![0.0; 20]).unwrap();
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 10);
        // The second turn does not start while the first is being decoded.
        assert!(h.started.try_recv().is_err());
        h.gate.send(()).unwrap();
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()),
            (TurnId(1), "10 samples".into())
        );
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 20);
        h.gate.send(()).unwrap();
        let RecognitionEvent::Final(t) = h.events.recv_timeout(WAIT).unwrap() else {
            panic!("expected a final");
        };
        assert_eq!((t.turn, t.text.as_str()), (TurnId(2), "20 samples"));
        assert_eq!(t.audio, Duration::from_secs_f64(20.0 / 16_000.0));
        h.worker.shutdown();
    }

    #[test]
    fn a_full_queue_is_reported_at_once_not_waited_on() {
        let h = harness(2);
        h.worker.submit_final(TurnId(1), vec![0.0; 1]).unwrap();
        // Turn 1 is being decoded (held at the gate); 2 and 3 fill the queue.
        h.started.recv_timeout(WAIT).unwrap();
        h.worker.submit_final(TurnId(2), vec![0.0; 2]).unwrap();
        h.worker.submit_final(TurnId(3), vec![0.0; 3]).unwrap();
        assert_eq!(h.worker.pending(), 2);
        assert_eq!(
            h.worker.submit_final(TurnId(4), vec![0.0; 4]),
            Err(SubmitError::QueueFull { capacity: 2 })
        );
        for _ in 0..3 {
            h.gate.send(()).unwrap();
        }
        let turns: Vec<TurnId> = (0..3)
            .map(|_| final_text(h.events.recv_timeout(WAIT).unwrap()).0)
            .collect();
        assert_eq!(turns, [TurnId(1), TurnId(2), TurnId(3)]);
        h.worker.shutdown();
    }

    #[test]
    fn a_newer_partial_replaces_the_waiting_one_and_the_final_supersedes_both() {
        let h = harness(4);
        h.worker.submit_final(TurnId(1), vec![0.0; 1]).unwrap();
        h.started.recv_timeout(WAIT).unwrap();
        // While turn 1 decodes, turn 2's partials pile up in the one slot.
        h.worker.submit_partial(TurnId(2), vec![0.0; 100]).unwrap();
        h.worker.submit_partial(TurnId(2), vec![0.0; 200]).unwrap();
        h.gate.send(()).unwrap();
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()).0,
            TurnId(1)
        );
        // Only the newest partial is decoded.
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 200);
        // Another partial waits; the final arrives and drops it; later partials are ignored.
        h.worker.submit_partial(TurnId(2), vec![0.0; 300]).unwrap();
        h.worker.submit_final(TurnId(2), vec![0.0; 400]).unwrap();
        h.worker.submit_partial(TurnId(2), vec![0.0; 500]).unwrap();
        h.gate.send(()).unwrap();
        match h.events.recv_timeout(WAIT).unwrap() {
            RecognitionEvent::Partial { turn, text } => {
                assert_eq!((turn, text.as_str()), (TurnId(2), "200 samples"))
            }
            other => panic!("expected the partial, got {other:?}"),
        }
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 400);
        h.gate.send(()).unwrap();
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()),
            (TurnId(2), "400 samples".into())
        );
        h.worker.shutdown();
        assert!(h.started.try_recv().is_err(), "nothing else was decoded");
    }

    #[test]
    fn a_tail_goes_before_everything_waiting_and_the_final_drops_it() {
        let h = harness(4);
        h.worker.submit_final(TurnId(1), vec![0.0; 1]).unwrap();
        h.started.recv_timeout(WAIT).unwrap();
        // While turn 1 decodes: turn 2's final, turn 3's partial, and turn 3's tails.
        h.worker.submit_final(TurnId(2), vec![0.0; 50]).unwrap();
        h.worker.submit_partial(TurnId(3), vec![0.0; 100]).unwrap();
        h.worker.submit_tail(TurnId(3), vec![0.0; 200]).unwrap();
        h.worker.submit_tail(TurnId(3), vec![0.0; 300]).unwrap();
        h.gate.send(()).unwrap();
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()).0,
            TurnId(1)
        );
        // The newest tail first, then the final waiting before it, then the partial.
        for len in [300, 50, 100] {
            assert_eq!(h.started.recv_timeout(WAIT).unwrap(), len);
            h.gate.send(()).unwrap();
        }
        match h.events.recv_timeout(WAIT).unwrap() {
            RecognitionEvent::Tail { turn, text } => {
                assert_eq!((turn, text.as_str()), (TurnId(3), "300 samples"))
            }
            other => panic!("expected the tail, got {other:?}"),
        }
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()).0,
            TurnId(2)
        );
        assert!(matches!(
            h.events.recv_timeout(WAIT).unwrap(),
            RecognitionEvent::Partial {
                turn: TurnId(3),
                ..
            }
        ));
        // A tail still waiting when its turn's final comes is dropped; later ones are
        // ignored.
        h.worker.submit_final(TurnId(4), vec![0.0; 1]).unwrap();
        h.started.recv_timeout(WAIT).unwrap();
        h.worker.submit_tail(TurnId(5), vec![0.0; 600]).unwrap();
        h.worker.submit_final(TurnId(5), vec![0.0; 700]).unwrap();
        h.worker.submit_tail(TurnId(5), vec![0.0; 800]).unwrap();
        h.gate.send(()).unwrap();
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 700);
        h.gate.send(()).unwrap();
        let turns: Vec<TurnId> = (0..2)
            .map(|_| final_text(h.events.recv_timeout(WAIT).unwrap()).0)
            .collect();
        assert_eq!(turns, [TurnId(4), TurnId(5)]);
        h.worker.shutdown();
        assert!(
            h.started.try_recv().is_err(),
            "no tail of turn 5 was decoded"
        );
    }

    #[test]
    fn a_final_that_adds_no_speech_to_its_partial_is_not_decoded_again() {
        let h = harness(4);
        h.worker.submit_partial(TurnId(1), vec![0.0; 100]).unwrap();
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 100);
        // The turn ends while its last partial is being decoded.
        h.worker
            .submit_final_reusing(TurnId(2), vec![0.0; 150], TurnId(1))
            .unwrap();
        h.gate.send(()).unwrap();
        assert!(matches!(
            h.events.recv_timeout(WAIT).unwrap(),
            RecognitionEvent::Partial {
                turn: TurnId(1),
                ..
            }
        ));
        match h.events.recv_timeout(WAIT).unwrap() {
            RecognitionEvent::Final(t) => {
                assert_eq!(t.turn, TurnId(2));
                assert_eq!(t.text, "100 samples", "the partial's words");
                assert_eq!(t.reused, Some(TurnId(1)));
            }
            other => panic!("expected the final, got {other:?}"),
        }
        h.worker.shutdown();
        assert!(h.started.try_recv().is_err(), "the final was not decoded");
    }

    #[test]
    fn a_final_whose_partial_was_never_recognised_is_decoded() {
        let h = harness(4);
        h.worker.submit_final(TurnId(1), vec![0.0; 1]).unwrap();
        h.started.recv_timeout(WAIT).unwrap();
        // Partial 2 waits behind turn 1; the final that would reuse it drops it instead.
        h.worker.submit_partial(TurnId(2), vec![0.0; 100]).unwrap();
        h.worker
            .submit_final_reusing(TurnId(3), vec![0.0; 150], TurnId(2))
            .unwrap();
        h.gate.send(()).unwrap();
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()).0,
            TurnId(1)
        );
        assert_eq!(h.started.recv_timeout(WAIT).unwrap(), 150);
        h.gate.send(()).unwrap();
        match h.events.recv_timeout(WAIT).unwrap() {
            RecognitionEvent::Final(t) => {
                assert_eq!((t.turn, t.text.as_str()), (TurnId(3), "150 samples"));
                assert_eq!(t.reused, None);
            }
            other => panic!("expected the final, got {other:?}"),
        }
        h.worker.shutdown();
    }

    #[test]
    fn a_failed_turn_is_reported_and_the_next_one_still_runs() {
        let h = harness(4);
        h.worker.submit_final(TurnId(1), vec![-1.0; 5]).unwrap();
        h.worker.submit_final(TurnId(2), vec![0.0; 6]).unwrap();
        h.gate.send(()).unwrap();
        h.gate.send(()).unwrap();
        match h.events.recv_timeout(WAIT).unwrap() {
            RecognitionEvent::Failed { turn, error } => {
                assert_eq!(turn, TurnId(1));
                assert!(error.to_string().contains("bad audio"));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        assert_eq!(
            final_text(h.events.recv_timeout(WAIT).unwrap()).0,
            TurnId(2)
        );
        h.worker.shutdown();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn recognition_runs_below_the_priority_of_the_thread_that_starts_it() {
        #[allow(unsafe_code)]
        fn nice() -> i32 {
            // SAFETY: a plain system call on the calling thread (0 = this thread on
            // Linux).
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        }
        struct Nice(mpsc::Sender<i32>);
        impl Transcriber for Nice {
            fn transcribe(&mut self, _: &[f32]) -> Result<String, SpeechError> {
                self.0.send(nice()).unwrap();
                Ok(String::new())
            }
        }
        let (tx, rx) = mpsc::channel();
        let worker = RecognitionWorker::spawn(Nice(tx), WorkerConfig::default(), |_| {}).unwrap();
        worker.submit_final(TurnId(1), vec![0.0]).unwrap();
        let theirs = rx.recv_timeout(WAIT).unwrap();
        // A nice value tops out at 19.
        assert_eq!(theirs, (nice() + NICENESS).min(19));
        worker.shutdown();
    }

    #[test]
    fn after_the_thread_ends_submissions_report_stopped() {
        struct Panics;
        impl Transcriber for Panics {
            fn transcribe(&mut self, _: &[f32]) -> Result<String, SpeechError> {
                panic!("transcriber bug")
            }
        }
        let worker = RecognitionWorker::spawn(Panics, WorkerConfig::default(), |_| {}).unwrap();
        worker.submit_final(TurnId(1), vec![0.0]).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            match worker.submit_final(TurnId(2), vec![0.0]) {
                Err(SubmitError::Stopped) => break,
                _ if Instant::now() > deadline => panic!("the worker never reported stopping"),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        worker.shutdown();
    }
}
