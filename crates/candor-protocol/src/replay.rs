//! A sender's copy of the audio its peer has not acknowledged yet.
//!
//! Both directions keep one: the client holds the candidate's frames, the
//! server the interviewer's chunks. Each item stays until an `AudioAck` covers
//! its sequence number; after a reconnect the peer says the last seq it holds
//! and exactly the items after it are sent again. The buffer is bounded: an
//! outage longer than it holds evicts the oldest item, which is counted, so
//! loss is reported rather than silent. Sans-IO: the owner moves the bytes.

use std::collections::VecDeque;

use crate::v1::AudioChunk;

/// An item with a place in one direction's sequence (1, 2, 3, …).
pub trait Sequenced {
    fn seq(&self) -> u64;
}

impl Sequenced for AudioChunk {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// Unacknowledged items in sequence order, at most `capacity` of them.
#[derive(Debug, Clone)]
pub struct ReplayBuffer<T> {
    items: VecDeque<T>,
    capacity: usize,
    /// Highest seq pushed (0: none yet).
    last: u64,
    /// Highest seq acknowledged or evicted.
    acked: u64,
    overflowed: u64,
}

impl<T: Sequenced> ReplayBuffer<T> {
    /// A buffer holding at most `capacity` items (at least one). Memory
    /// grows with what is unacknowledged, not with `capacity`: a server
    /// holds hundreds of these, mostly near empty.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            items: VecDeque::new(),
            capacity,
            last: 0,
            acked: 0,
            overflowed: 0,
        }
    }

    /// Keeps `item` until acknowledged. Its seq must follow the last one
    /// pushed. When the buffer is full the oldest item is evicted (counted in
    /// [`overflowed`](Self::overflowed)) and returned.
    pub fn push(&mut self, item: T) -> Option<T> {
        debug_assert!(item.seq() > self.last, "seqs must increase");
        self.last = item.seq();
        let evicted = if self.items.len() >= self.capacity {
            let old = self.items.pop_front();
            if let Some(old) = &old {
                self.overflowed += 1;
                self.acked = self.acked.max(old.seq());
            }
            old
        } else {
            None
        };
        self.items.push_back(item);
        evicted
    }

    /// The peer holds everything up to `seq`: forget it. Acks beyond what
    /// was pushed are clamped; stale acks change nothing.
    pub fn ack(&mut self, seq: u64) {
        let seq = seq.min(self.last);
        if seq <= self.acked {
            return;
        }
        self.acked = seq;
        while self.items.front().is_some_and(|i| i.seq() <= seq) {
            self.items.pop_front();
        }
    }

    /// The item right after `seq`, if still held.
    pub fn next_after(&self, seq: u64) -> Option<&T> {
        let first = self.items.front()?.seq();
        let index = (seq + 1).checked_sub(first)?;
        self.items.get(usize::try_from(index).ok()?)
    }

    /// Every held item after `seq`, in order.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = &T> {
        self.items.iter().filter(move |i| i.seq() > seq)
    }

    /// Seq of the oldest item still held.
    pub fn first_seq(&self) -> Option<u64> {
        self.items.front().map(Sequenced::seq)
    }

    /// Highest seq pushed (0: none).
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// Highest seq acknowledged (or evicted).
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Items held (not yet acknowledged).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items evicted because the buffer was full: audio the peer never got.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seq: u64) -> AudioChunk {
        AudioChunk {
            seq,
            ..Default::default()
        }
    }

    fn filled(capacity: usize, n: u64) -> ReplayBuffer<AudioChunk> {
        let mut b = ReplayBuffer::with_capacity(capacity);
        for seq in 1..=n {
            b.push(chunk(seq));
        }
        b
    }

    fn seqs<'a>(items: impl Iterator<Item = &'a AudioChunk>) -> Vec<u64> {
        items.map(|c| c.seq).collect()
    }

    #[test]
    fn acks_forget_and_after_yields_what_the_peer_lacks() {
        let mut b = filled(10, 6);
        b.ack(2);
        assert_eq!(b.len(), 4);
        assert_eq!(seqs(b.after(3)), [4, 5, 6]);
        assert_eq!(b.next_after(3).map(|c| c.seq), Some(4));
        assert_eq!(b.next_after(6).map(|c| c.seq), None);
        assert_eq!(b.next_after(0).map(|c| c.seq), None, "1 was acknowledged");
    }

    #[test]
    fn stale_and_future_acks_are_harmless() {
        let mut b = filled(10, 3);
        b.ack(2);
        b.ack(1);
        assert_eq!(b.acked(), 2);
        b.ack(99);
        assert_eq!(b.acked(), 3);
        assert!(b.is_empty());
        b.push(chunk(4));
        assert_eq!(seqs(b.after(3)), [4]);
    }

    #[test]
    fn a_full_buffer_evicts_the_oldest_and_counts_it() {
        let mut b = filled(3, 3);
        let evicted = b.push(chunk(4)).map(|c| c.seq);
        assert_eq!(evicted, Some(1));
        assert_eq!(b.overflowed(), 1);
        assert_eq!(b.acked(), 1);
        assert_eq!(b.first_seq(), Some(2));
        assert_eq!(seqs(b.after(0)), [2, 3, 4]);
    }
}
