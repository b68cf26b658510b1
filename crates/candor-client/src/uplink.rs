//! The candidate's audio on its way to the server, kept until acknowledged.
//!
//! Every encoded frame gets the next sequence number and stays in a bounded
//! [`ReplayBuffer`] (the type the server keeps the interviewer's audio in)
//! until the server's `AudioAck` covers it. When the socket drops the frames
//! keep coming in (capture never stops for a network cut); on resume the
//! server says the last seq it holds and exactly the frames after it are sent
//! again — none lost, none twice. Sans-IO: the engine moves the bytes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_protocol::{AudioChunk, ReplayBuffer};

/// One encoded frame waiting for the server's acknowledgement.
#[derive(Debug, Clone)]
pub struct PendingFrame {
    pub seq: u64,
    pub data: Bytes,
    /// Offset of the frame's first sample from the session's start.
    pub timestamp_us: u64,
    pub voice_activity: bool,
    /// Silence sent while the candidate muted the microphone.
    pub muted: bool,
    /// When the frame's oldest sample was captured (for latency figures).
    pub captured_at: Instant,
    /// When the frame left the audio worker.
    pub encoded_at: Instant,
}

impl PendingFrame {
    pub fn to_chunk(&self) -> AudioChunk {
        AudioChunk {
            seq: self.seq,
            data: self.data.clone(),
            timestamp_us: self.timestamp_us,
            voice_activity: self.voice_activity,
            muted: self.muted,
        }
    }
}

impl candor_protocol::Sequenced for PendingFrame {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// The candidate's side of the replay buffer: numbers frames and remembers
/// how far the current socket got. `capacity` frames are kept at most; past
/// that the oldest unacknowledged frame is dropped and counted in
/// [`Uplink::overflowed`].
#[derive(Debug)]
pub struct Uplink {
    frames: ReplayBuffer<PendingFrame>,
    /// Highest seq written to the current socket (≥ acknowledged).
    sent: u64,
}

impl Uplink {
    /// A buffer holding `duration` of `frame` -long frames (at least one).
    pub fn new(duration: Duration, frame: Duration) -> Self {
        let capacity = (duration.as_micros() / frame.as_micros().max(1)).max(1) as usize;
        Self {
            frames: ReplayBuffer::with_capacity(capacity),
            sent: 0,
        }
    }

    /// Queues a frame and returns its seq.
    pub fn push(
        &mut self,
        data: Bytes,
        timestamp_us: u64,
        voice_activity: bool,
        muted: bool,
        captured_at: Instant,
        encoded_at: Instant,
    ) -> u64 {
        let seq = self.frames.last_seq() + 1;
        self.frames.push(PendingFrame {
            seq,
            data,
            timestamp_us,
            voice_activity,
            muted,
            captured_at,
            encoded_at,
        });
        // An evicted frame will never be sent: skip past it.
        self.sent = self.sent.max(self.frames.acked());
        seq
    }

    /// The server holds everything up to `seq`: forget it.
    pub fn ack(&mut self, seq: u64) {
        self.frames.ack(seq);
        self.sent = self.sent.max(self.frames.acked());
    }

    /// The socket is gone: nothing written to it counts until the server
    /// confirms it on resume.
    pub fn disconnected(&mut self) {
        self.sent = self.frames.acked();
    }

    /// A new socket resumed the session and the server holds everything up to
    /// `last_client_seq`: the next frame to send is the one after it.
    pub fn resumed(&mut self, last_client_seq: u64) {
        self.ack(last_client_seq);
        self.sent = self.frames.acked();
    }

    /// The next frame to write to the socket, marking it sent.
    pub fn next_to_send(&mut self) -> Option<&PendingFrame> {
        let frame = self.frames.next_after(self.sent)?;
        self.sent = frame.seq;
        Some(frame)
    }

    /// Frames captured but not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.frames.len()
    }

    /// Frames captured but not yet written to the current socket.
    pub fn unsent(&self) -> u64 {
        self.frames.last_seq() - self.sent
    }

    pub fn last_seq(&self) -> u64 {
        self.frames.last_seq()
    }

    pub fn acked(&self) -> u64 {
        self.frames.acked()
    }

    /// Frames lost because the outage outlasted the buffer.
    pub fn overflowed(&self) -> u64 {
        self.frames.overflowed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uplink(frames: usize) -> Uplink {
        Uplink::new(
            Duration::from_millis(20 * frames as u64),
            Duration::from_millis(20),
        )
    }

    fn push(u: &mut Uplink) -> u64 {
        let now = Instant::now();
        u.push(Bytes::from_static(b"x"), 0, false, false, now, now)
    }

    fn drain(u: &mut Uplink) -> Vec<u64> {
        std::iter::from_fn(|| u.next_to_send().map(|f| f.seq)).collect()
    }

    #[test]
    fn frames_are_sent_once_in_order_and_forgotten_when_acked() {
        let mut u = uplink(100);
        for _ in 0..5 {
            push(&mut u);
        }
        assert_eq!(drain(&mut u), [1, 2, 3, 4, 5]);
        assert_eq!(drain(&mut u), [] as [u64; 0]);
        u.ack(3);
        assert_eq!(u.unacked(), 2);
        push(&mut u);
        assert_eq!(drain(&mut u), [6]);
    }

    #[test]
    fn a_resume_replays_exactly_what_the_server_lacks() {
        let mut u = uplink(100);
        for _ in 0..10 {
            push(&mut u);
        }
        assert_eq!(drain(&mut u).len(), 10);
        u.ack(4);
        u.disconnected();
        for _ in 0..3 {
            push(&mut u); // captured during the outage
        }
        // The server got up to 7 before the cut (its acks were lost with the socket).
        u.resumed(7);
        assert_eq!(drain(&mut u), [8, 9, 10, 11, 12, 13]);
    }

    #[test]
    fn an_outage_longer_than_the_buffer_counts_what_it_lost() {
        let mut u = uplink(4);
        for _ in 0..6 {
            push(&mut u);
        }
        assert_eq!(u.overflowed(), 2);
        u.resumed(0);
        assert_eq!(drain(&mut u), [3, 4, 5, 6]);
    }

    #[test]
    fn acks_beyond_what_was_sent_are_clamped() {
        let mut u = uplink(10);
        push(&mut u);
        u.ack(99);
        assert_eq!(u.acked(), 1);
        push(&mut u);
        assert_eq!(drain(&mut u), [2]);
    }

    proptest! {
        /// Whatever the cuts and acks, the server ends up with 1..=n exactly once in order.
        #[test]
        fn the_server_receives_every_frame_exactly_once(ops in proptest::collection::vec(0u8..4, 1..300)) {
            let mut u = uplink(10_000);
            let mut server: Vec<u64> = Vec::new();
            let mut connected = true;
            for op in ops {
                match op {
                    0 | 1 => { push(&mut u); }
                    2 => {
                        if connected {
                            while let Some(f) = u.next_to_send() {
                                // The server's seq tracker: accept only the next seq.
                                if f.seq == server.len() as u64 + 1 { server.push(f.seq); }
                            }
                            u.ack(server.len() as u64 / 2 * 2);
                        }
                    }
                    _ => {
                        if connected { u.disconnected(); } else { u.resumed(server.len() as u64); }
                        connected = !connected;
                    }
                }
            }
            if !connected { u.resumed(server.len() as u64); }
            while let Some(f) = u.next_to_send() {
                prop_assert_eq!(f.seq, server.len() as u64 + 1, "gap or duplicate");
                server.push(f.seq);
            }
            let expected: Vec<u64> = (1..=u.last_seq()).collect();
            prop_assert_eq!(server, expected);
        }
    }
}
