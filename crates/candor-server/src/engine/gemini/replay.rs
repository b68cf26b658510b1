//! The candidate audio a resumed Live session may lack, kept for replay.
//!
//! A resumption handle stands for the session's state at some point, but the
//! Gemini Developer API does not say which of the client's messages that
//! state includes (`lastConsumedClientMessageIndex` is sent only in Vertex
//! AI's transparent mode). What is known: the model answers the candidate
//! only once it has taken the candidate's turn into its conversation, so a
//! resumable handle that arrives *after* a model turn has ended includes all
//! audio sent before that turn began. That moment is the turn boundary.
//! [`ReplayLog`] keeps every chunk since the last such boundary; after a
//! resume it is replayed in order, so nothing the candidate said is lost,
//! and the service hears the open answer again from its start (the bridge
//! rebuilds that answer's transcript instead of appending to it).
//!
//! When the service does send the index, the log is trimmed by it exactly
//! and only the messages the handle lacks are replayed.
//!
//! Each chunk keeps the candidate seq it came with, so the log also says
//! how much of the candidate's audio the latest handle holds
//! ([`ReplayLog::holds_through`]): what a session saved for another
//! instance gives again after resuming with that handle.
//!
//! Sans-IO: no sockets, no clock.

use std::collections::VecDeque;
use std::sync::Arc;

/// The index of an entry not (yet) sent on the current connection.
pub(super) const NOT_SENT: u64 = u64::MAX;

/// One chunk of candidate audio (16 kHz PCM16 little-endian).
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Position in the candidate's stream (counts every chunk ever pushed).
    n: u64,
    /// The chunk's seq in the candidate's stream to the server.
    seq: u64,
    /// Client message index on the current connection, or [`NOT_SENT`].
    pub index: u64,
    pub pcm: Arc<[u8]>,
}

/// Where the model's latest turn began in the candidate's stream.
#[derive(Debug, Clone, Copy)]
struct TurnMark {
    /// The first chunk sent after the turn began.
    n: u64,
    /// The turn is over (`turnComplete` or `interrupted`).
    ended: bool,
}

/// Candidate audio since the last turn boundary a handle is known to cover.
#[derive(Debug)]
pub(super) struct ReplayLog {
    entries: VecDeque<Entry>,
    bytes: usize,
    max_bytes: usize,
    next_n: u64,
    turn: Option<TurnMark>,
    /// Chunks dropped (oldest first) to stay within `max_bytes`.
    dropped: u64,
    /// The latest handle came with `lastConsumedClientMessageIndex`.
    transparent: bool,
    /// The seq of the last chunk pushed.
    last_seq: u64,
}

impl ReplayLog {
    /// A log holding at most `max_bytes` of PCM; beyond that the oldest
    /// chunks are dropped (and counted in [`dropped`](Self::dropped)).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            bytes: 0,
            max_bytes,
            next_n: 0,
            turn: None,
            dropped: 0,
            transparent: false,
            last_seq: 0,
        }
    }

    /// Appends candidate chunk `seq`, sent with client message `index` (or
    /// [`NOT_SENT`]).
    pub fn push(&mut self, pcm: Arc<[u8]>, index: u64, seq: u64) {
        self.bytes += pcm.len();
        self.entries.push_back(Entry {
            n: self.next_n,
            seq,
            index,
            pcm,
        });
        self.next_n += 1;
        self.last_seq = seq;
        while self.bytes > self.max_bytes {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.pcm.len();
            self.dropped += 1;
        }
    }

    /// The model began a turn: everything pushed so far is the candidate's
    /// turn it answers.
    pub fn model_turn_started(&mut self) {
        self.turn = Some(TurnMark {
            n: self.next_n,
            ended: false,
        });
    }

    /// The model's turn is over (complete or interrupted).
    pub fn model_turn_ended(&mut self) {
        if let Some(t) = self.turn.as_mut() {
            t.ended = true;
        }
    }

    /// A resumable handle arrived, with the index of the last client message
    /// it includes when the service says so.
    pub fn handle_received(&mut self, last_consumed_index: Option<u64>) {
        self.transparent = last_consumed_index.is_some();
        match last_consumed_index {
            Some(i) => self.retain(|e| e.index == NOT_SENT || e.index > i),
            None => {
                if let Some(TurnMark { n, ended: true }) = self.turn {
                    self.retain(|e| e.n >= n);
                    self.turn = None;
                }
            }
        }
    }

    fn retain(&mut self, keep: impl Fn(&Entry) -> bool) {
        self.entries.retain(|e| keep(e));
        self.bytes = self.entries.iter().map(|e| e.pcm.len()).sum();
    }

    /// The latest handle holds the candidate's chunks up to this seq: the
    /// log holds every chunk after it that was pushed. (After chunks were
    /// dropped for room, that is what the log still has.)
    pub fn holds_through(&self) -> u64 {
        self.entries
            .front()
            .map_or(self.last_seq, |e| e.seq.saturating_sub(1))
    }

    /// Whether the service reports exactly what it consumed.
    pub fn is_transparent(&self) -> bool {
        self.transparent
    }

    /// Every entry sent on the current connection is known to be consumed
    /// (only meaningful when [`is_transparent`](Self::is_transparent)).
    pub fn all_sent_consumed(&self) -> bool {
        self.entries.iter().all(|e| e.index == NOT_SENT)
    }

    /// The entries to replay on a new connection, in order; their indices
    /// are reset to [`NOT_SENT`] until sent again.
    pub fn for_replay(&mut self) -> impl Iterator<Item = &mut Entry> {
        for e in self.entries.iter_mut() {
            e.index = NOT_SENT;
        }
        self.entries.iter_mut()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Chunks dropped so far because the log was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(v: u8) -> Arc<[u8]> {
        Arc::from(vec![v; 4])
    }

    fn values(log: &mut ReplayLog) -> Vec<u8> {
        log.for_replay().map(|e| e.pcm[0]).collect()
    }

    #[test]
    fn opaque_handles_trim_only_at_an_ended_model_turn() {
        let mut log = ReplayLog::new(1 << 20);
        for v in 0..3 {
            log.push(chunk(v), u64::from(v) + 1, u64::from(v) + 1);
        }
        // A handle mid-answer says nothing about the answer.
        log.handle_received(None);
        assert_eq!(log.len(), 3);
        assert_eq!(log.holds_through(), 0);
        log.model_turn_started();
        log.push(chunk(3), 4, 4);
        // While the model speaks no handle can be trusted to hold the answer.
        log.handle_received(None);
        assert_eq!(log.len(), 4);
        log.model_turn_ended();
        log.push(chunk(4), 5, 5);
        log.handle_received(None);
        assert!(!log.is_transparent());
        assert_eq!(log.holds_through(), 3, "the chunks before the model's turn");
        assert_eq!(values(&mut log), vec![3, 4], "from the turn boundary on");
    }

    #[test]
    fn the_index_trims_exactly_when_the_service_sends_it() {
        let mut log = ReplayLog::new(1 << 20);
        for v in 0..4 {
            log.push(chunk(v), u64::from(v) + 1, u64::from(v) + 1);
        }
        log.push(chunk(9), NOT_SENT, 9);
        log.handle_received(Some(2));
        assert!(log.is_transparent());
        assert_eq!(log.holds_through(), 2);
        assert!(!log.all_sent_consumed());
        assert_eq!(values(&mut log), vec![2, 3, 9]);
        assert!(log.all_sent_consumed(), "reset to not sent for the replay");
    }

    #[test]
    fn a_handle_that_consumed_everything_holds_the_last_chunk() {
        let mut log = ReplayLog::new(1 << 20);
        // Seqs skip where the candidate was muted (nothing sent).
        for (i, seq) in [(1, 4), (2, 5), (3, 9)] {
            log.push(chunk(0), i, seq);
        }
        log.handle_received(Some(3));
        assert_eq!(log.len(), 0);
        assert_eq!(log.holds_through(), 9);
    }

    #[test]
    fn a_full_log_drops_the_oldest_and_counts_them() {
        let mut log = ReplayLog::new(10);
        for v in 0..4 {
            log.push(chunk(v), NOT_SENT, u64::from(v) + 1);
        }
        assert_eq!(log.dropped(), 2);
        assert_eq!(log.bytes(), 8);
        assert_eq!(values(&mut log), vec![2, 3]);
    }
}
