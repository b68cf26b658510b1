//! The session recorder: one thread that commits what live sessions record
//! (candidate audio, final transcripts, speech spans) in group commits.
//!
//! Why one thread for all sessions: a commit (with its fsync) costs the same
//! for one frame as for a thousand, so every `commit_interval` (~100 ms) all
//! pending writes of all sessions go to disk in one transaction. Only then is
//! each session told how far its candidate audio is durable, and only then
//! does it send `AudioAck`: an acknowledged frame survives the server being
//! killed.
//!
//! The queue into the thread is bounded (`QUEUE`): when the disk falls
//! behind, sessions wait to hand over their writes (and so stop reading
//! their sockets, which slows their senders through TCP) instead of the
//! queue growing without limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::sync::{oneshot, watch};

use crate::store::{FrameFlags, SessionWrite, Store, TranscriptRecord};

/// Largest batch committed at once (bounds the time a commit holds the lock
/// and the memory a batch takes).
const MAX_BATCH: usize = 8_192;

/// Writes waiting for the recorder thread, over all sessions (2000 sessions
/// at 50 frames a second fill it in about 160 ms; a full queue makes the
/// sessions wait).
const QUEUE: usize = 16_384;

enum Cmd {
    Write(SessionWrite, Option<Arc<watch::Sender<u64>>>),
    /// Commit now and report.
    Flush(oneshot::Sender<bool>),
    /// Commit what is pending and stop.
    Stop,
}

/// Handle to the recorder thread. Dropping every handle stops the thread
/// after a final commit.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Cmd>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn start(store: Arc<dyn Store>, commit_interval: Duration) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("candor-recorder".into())
            .spawn(move || run(store, rx, commit_interval))?;
        Ok(Self {
            tx,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// A recorder for one session.
    pub fn session(&self, session_id: Arc<str>, durable_seq: u64) -> SessionRecorder {
        let (acked, _) = watch::channel(durable_seq);
        SessionRecorder {
            session_id,
            tx: self.tx.clone(),
            acked: Arc::new(acked),
        }
    }

    /// Waits until everything sent so far is committed.
    pub async fn flush(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Commits what is pending and stops the thread (blocking; call from a
    /// blocking context). Writes sent afterwards are dropped.
    pub fn shutdown(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        let _ = self.tx.blocking_send(Cmd::Stop);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// What one session records.
#[derive(Debug, Clone)]
pub struct SessionRecorder {
    session_id: Arc<str>,
    tx: mpsc::Sender<Cmd>,
    acked: Arc<watch::Sender<u64>>,
}

impl SessionRecorder {
    /// Waits while the recorder's queue is full.
    pub async fn audio(&self, seq: u64, timestamp_us: u64, flags: FrameFlags, data: Bytes) {
        let w = SessionWrite::Audio {
            session_id: self.session_id.clone(),
            seq,
            timestamp_us,
            flags,
            data,
        };
        let _ = self.tx.send(Cmd::Write(w, Some(self.acked.clone()))).await;
    }

    /// The interviewer's audio chunk `seq`, due to play at `due_us` on the
    /// session clock (not acknowledged: the client does not resend it).
    pub async fn interviewer_audio(&self, seq: u64, due_us: u64, data: Bytes) {
        let w = SessionWrite::InterviewerAudio {
            session_id: self.session_id.clone(),
            seq,
            due_us,
            data,
        };
        let _ = self.tx.send(Cmd::Write(w, None)).await;
    }

    pub async fn transcript(&self, segment: TranscriptRecord) {
        let w = SessionWrite::Transcript {
            session_id: self.session_id.clone(),
            segment,
        };
        let _ = self.tx.send(Cmd::Write(w, None)).await;
    }

    pub async fn speech(&self, start_ms: u64, end_ms: u64) {
        let w = SessionWrite::Speech {
            session_id: self.session_id.clone(),
            start_ms,
            end_ms,
        };
        let _ = self.tx.send(Cmd::Write(w, None)).await;
    }

    /// What the session needs to continue on another instance, committed
    /// with (and after) everything recorded before it, kept only while
    /// `owner` holds the session.
    pub async fn resume(&self, owner: Arc<str>, state: String) {
        let w = SessionWrite::Resume {
            session_id: self.session_id.clone(),
            owner,
            state,
        };
        let _ = self.tx.send(Cmd::Write(w, None)).await;
    }

    /// The highest candidate seq durably stored; changes after each commit.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.acked.subscribe()
    }

    pub async fn flush(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Cmd>, interval: Duration) {
    let mut writes: Vec<SessionWrite> = Vec::new();
    let mut acks: Vec<(Arc<watch::Sender<u64>>, u64)> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<bool>> = Vec::new();
    let mut open = true;
    while open {
        // Wait for the first write of a batch, then gather for one interval.
        match rx.blocking_recv() {
            Some(cmd) => open &= take(cmd, &mut writes, &mut acks, &mut flushes),
            None => break,
        }
        // Sleep through the interval instead of waiting on the channel: a
        // blocked receiver is woken by every send (tens of thousands of
        // frames a second under load), a sleeping one by none. A flush
        // (session end) waits at most one interval.
        let deadline = Instant::now() + interval;
        if open && flushes.is_empty() {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        }
        // Everything queued meanwhile joins this commit.
        while open && writes.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(cmd) => open &= take(cmd, &mut writes, &mut acks, &mut flushes),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        let ok = commit(store.as_ref(), &writes);
        if ok {
            // Highest durable seq per session (writes arrive in seq order).
            let mut high: HashMap<*const watch::Sender<u64>, (Arc<watch::Sender<u64>>, u64)> =
                HashMap::new();
            for (tx, seq) in acks.drain(..) {
                let e = high.entry(Arc::as_ptr(&tx)).or_insert((tx, 0));
                e.1 = e.1.max(seq);
            }
            for (_, (tx, seq)) in high {
                tx.send_if_modified(|v| {
                    if seq > *v {
                        *v = seq;
                        true
                    } else {
                        false
                    }
                });
            }
        } else {
            acks.clear();
        }
        writes.clear();
        for f in flushes.drain(..) {
            let _ = f.send(ok);
        }
    }
}

fn take(
    cmd: Cmd,
    writes: &mut Vec<SessionWrite>,
    acks: &mut Vec<(Arc<watch::Sender<u64>>, u64)>,
    flushes: &mut Vec<oneshot::Sender<bool>>,
) -> bool {
    match cmd {
        Cmd::Write(w, ack) => {
            if let (Some(tx), SessionWrite::Audio { seq, .. }) = (ack, &w) {
                acks.push((tx, *seq));
            }
            writes.push(w);
        }
        Cmd::Flush(f) => flushes.push(f),
        Cmd::Stop => return false,
    }
    true
}

/// Commits with a few retries (a busy database is transient); on failure the
/// batch is not acknowledged, so clients keep those frames for replay.
fn commit(store: &dyn Store, writes: &[SessionWrite]) -> bool {
    for attempt in 0..3 {
        match store.record(writes) {
            Ok(()) => return true,
            Err(e) => {
                tracing::error!(error = %e, attempt, writes = writes.len(), "recording failed");
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
        }
    }
    false
}
