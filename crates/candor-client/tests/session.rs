//! Network faults against the sans-IO [`ClientSession`], in virtual time.
//!
//! A simulated network (one-way latency, cuts that drop whatever is in
//! flight) joins the session to a model server that keeps the protocol's
//! rules with `candor-protocol`'s own pieces: `ClientOrder` on what arrives,
//! acknowledgements of what it stored, and a `ReplayBuffer` of interviewer
//! audio replayed on resume. Twenty-second outages take microseconds, so
//! every cut pattern proptest finds is checked, deterministically: each
//! candidate frame is stored exactly once and in order, each interviewer chunk
//! is delivered to the client exactly once and in order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use candor_client::session::{CapturedFrame, ClientSession, SessionConfig, SessionEvent};
use candor_protocol::{
    AudioAck, AudioChunk, ClientOrder, ClientPayload, ClientToServerMessage, ReplayBuffer,
    ServerToClientMessage, SessionEnded, StartResponse, Verdict,
};
use proptest::prelude::*;

const FRAME: Duration = Duration::from_millis(20);

/// The server's side, reduced to the protocol's bookkeeping.
struct ModelServer {
    order: ClientOrder,
    /// Candidate seqs stored, in arrival order.
    stored: Vec<u64>,
    /// Interviewer chunks not yet acknowledged by the client.
    replay: ReplayBuffer<AudioChunk>,
    out_seq: u64,
    /// A `StartRequest` arrived on the current socket: audio may go out.
    started: bool,
}

impl ModelServer {
    fn new() -> Self {
        Self {
            order: ClientOrder::new(),
            stored: Vec::new(),
            replay: ReplayBuffer::with_capacity(10_000),
            out_seq: 0,
            started: false,
        }
    }

    /// A new socket: the order check starts over after what is stored.
    fn attach(&mut self) {
        self.order = ClientOrder::new();
        self.started = false;
    }

    fn receive(&mut self, message: ClientToServerMessage, out: &mut Vec<ServerToClientMessage>) {
        let verdict = self.order.check(&message).expect("the client keeps order");
        match message.payload.expect("a payload") {
            ClientPayload::StartRequest(start) => {
                let last_client_seq = self.stored.len() as u64;
                if let Some(r) = &start.resume {
                    // The announced backlog covers everything not yet stored.
                    assert!(
                        r.captured_seq >= last_client_seq,
                        "captured_seq {} behind the {last_client_seq} frames stored",
                        r.captured_seq
                    );
                }
                self.order.resume_after(last_client_seq);
                self.started = true;
                out.push(
                    StartResponse {
                        session_id: "s1".into(),
                        resumed: start.resume.is_some(),
                        last_client_seq,
                        ..Default::default()
                    }
                    .into(),
                );
                let from = start.resume.map_or(0, |r| r.last_server_seq);
                out.extend(self.replay.after(from).cloned().map(Into::into));
            }
            ClientPayload::AudioChunk(chunk) => {
                if verdict == Verdict::Accept {
                    self.stored.push(chunk.seq);
                    if chunk.seq.is_multiple_of(5) {
                        out.push(AudioAck { seq: chunk.seq }.into());
                    }
                }
            }
            ClientPayload::AudioAck(ack) => self.replay.ack(ack.seq),
            ClientPayload::EndRequest(_) => {
                out.push(
                    SessionEnded {
                        last_client_seq: self.stored.len() as u64,
                        results_pending: true,
                        ..Default::default()
                    }
                    .into(),
                );
            }
        }
    }

    /// The interviewer's next chunk.
    fn speak(&mut self) -> ServerToClientMessage {
        self.out_seq += 1;
        let chunk = AudioChunk {
            seq: self.out_seq,
            data: Bytes::from_static(b"voice"),
            ..Default::default()
        };
        self.replay.push(chunk.clone());
        chunk.into()
    }
}

/// Messages in flight one way, each with its arrival time.
struct Wire<M> {
    in_flight: VecDeque<(Instant, M)>,
}

impl<M> Wire<M> {
    fn new() -> Self {
        Self {
            in_flight: VecDeque::new(),
        }
    }

    fn due(&mut self, now: Instant) -> Option<M> {
        if self.in_flight.front()?.0 <= now {
            self.in_flight.pop_front().map(|(_, m)| m)
        } else {
            None
        }
    }
}

/// One outage: the network goes down at `at` for `length`.
#[derive(Debug, Clone, Copy)]
struct Cut {
    at: Duration,
    length: Duration,
}

/// What the client saw by the end.
#[derive(Debug)]
struct Outcome {
    captured: u64,
    stored: Vec<u64>,
    interviewer: Vec<u64>,
    spoken: u64,
    summary: (u64, u64, u64),
}

/// Runs a session of `length` of candidate audio (the interviewer speaking
/// every third tick) through `cuts`, then ends it and lets everything settle.
fn simulate(length: Duration, latency: Duration, cuts: &[Cut]) -> Outcome {
    let t0 = Instant::now();
    let mut client = ClientSession::new(SessionConfig {
        replay_buffer: Duration::from_secs(3600),
        ..SessionConfig::default()
    });
    let mut server = ModelServer::new();
    let mut up: Wire<ClientToServerMessage> = Wire::new();
    let mut down: Wire<ServerToClientMessage> = Wire::new();
    let mut connected = true;
    let mut interviewer = Vec::new();
    let mut summary = None;
    let mut ended_sent = false;

    client.start("i1".into(), "token".into(), None);
    client.start_streaming(t0);
    let end_at = length + cuts.iter().map(|c| c.length).sum::<Duration>();
    let mut tick = 0u64;
    while summary.is_none() {
        let elapsed = FRAME * tick as u32;
        let now = t0 + elapsed;
        assert!(elapsed < end_at + Duration::from_secs(60), "never settled");

        // The network.
        let down_now = cuts
            .iter()
            .any(|c| elapsed >= c.at && elapsed < c.at + c.length);
        if connected && down_now {
            connected = false;
            up.in_flight.clear();
            down.in_flight.clear();
            client.disconnected();
        } else if !connected && !down_now {
            // The driver reconnects and resumes (the lifecycle's retry).
            connected = true;
            server.attach();
            client.start("i1".into(), "token".into(), Some("s1".into()));
        }

        // The candidate speaks until the end; the interviewer now and then.
        if elapsed < end_at {
            client.on_frame(CapturedFrame {
                data: Bytes::from_static(b"frame"),
                voice: true,
                muted: false,
                captured_at: now,
                encoded_at: now,
            });
            if connected && server.started && tick.is_multiple_of(3) {
                let chunk = server.speak();
                down.in_flight.push_back((now + latency, chunk));
            }
        } else if !ended_sent && connected && client.is_established() {
            client.stop_streaming();
            client.end();
            ended_sent = true;
        }

        if let Some(deadline) = client.next_deadline()
            && deadline <= now
        {
            client.on_timeout(now);
        }
        while let Some(t) = client.poll_transmit() {
            if connected {
                up.in_flight.push_back((now + latency, t.message));
            }
        }
        let mut replies = Vec::new();
        while let Some(m) = up.due(now) {
            server.receive(m, &mut replies);
        }
        for r in replies {
            down.in_flight.push_back((now + latency, r));
        }
        while let Some(m) = down.due(now) {
            client.on_message(m, now);
        }
        while let Some(event) = client.poll_event() {
            match event {
                SessionEvent::InterviewerAudio { seq, .. } => interviewer.push(seq),
                SessionEvent::Ended { summary: s, .. } => {
                    summary = Some((s.frames_sent, s.frames_stored, s.frames_lost))
                }
                SessionEvent::Failed(f) => panic!("session failed: {}", f.message),
                _ => {}
            }
        }
        tick += 1;
    }
    Outcome {
        captured: client.uplink().last_seq(),
        stored: server.stored,
        interviewer,
        spoken: server.out_seq,
        summary: summary.expect("ended"),
    }
}

fn assert_exactly_once(o: &Outcome) {
    let expected: Vec<u64> = (1..=o.captured).collect();
    assert_eq!(o.stored, expected, "candidate frames stored exactly once");
    // The interviewer's last chunks may still be unheard when the session
    // ends; what was delivered is a gapless prefix, each once.
    let heard: Vec<u64> = (1..=o.interviewer.len() as u64).collect();
    assert_eq!(
        o.interviewer, heard,
        "interviewer chunks heard exactly once"
    );
    assert!(o.interviewer.len() as u64 + 10 >= o.spoken);
    assert_eq!(o.summary, (o.captured, o.captured, 0));
}

#[test]
fn no_cut() {
    let o = simulate(Duration::from_secs(10), Duration::from_millis(30), &[]);
    assert_eq!(o.captured, 500);
    assert_exactly_once(&o);
}

#[test]
fn a_3_second_cut_mid_answer_loses_nothing() {
    let cut = Cut {
        at: Duration::from_secs(4),
        length: Duration::from_secs(3),
    };
    let o = simulate(Duration::from_secs(10), Duration::from_millis(30), &[cut]);
    assert_eq!(o.captured, 650, "capture never stops for a cut");
    assert_exactly_once(&o);
}

#[test]
fn a_20_second_cut_mid_answer_loses_nothing() {
    let cut = Cut {
        at: Duration::from_secs(4),
        length: Duration::from_secs(20),
    };
    let o = simulate(Duration::from_secs(10), Duration::from_millis(30), &[cut]);
    assert_eq!(o.captured, 1500);
    assert_exactly_once(&o);
}

#[test]
fn a_cut_while_the_start_is_in_flight_is_resumed_from_nothing() {
    let cut = Cut {
        at: Duration::from_millis(20),
        length: Duration::from_secs(2),
    };
    let o = simulate(Duration::from_secs(3), Duration::from_millis(100), &[cut]);
    assert_exactly_once(&o);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the cuts and the latency, nothing is lost or repeated.
    #[test]
    fn any_cuts_lose_and_repeat_nothing(
        latency_ms in 1u64..400,
        raw in proptest::collection::vec((0u64..30_000, 20u64..25_000), 0..6),
    ) {
        let mut cuts: Vec<Cut> = raw
            .into_iter()
            .map(|(at, length)| Cut { at: Duration::from_millis(at / 20 * 20), length: Duration::from_millis(length / 20 * 20) })
            .collect();
        cuts.sort_by_key(|c| c.at);
        // Non-overlapping, with time to reconnect in between.
        let mut kept: Vec<Cut> = Vec::new();
        for c in cuts {
            if kept.last().is_none_or(|k| c.at > k.at + k.length + Duration::from_secs(1)) {
                kept.push(c);
            }
        }
        let o = simulate(Duration::from_secs(30), Duration::from_millis(latency_ms), &kept);
        let expected: Vec<u64> = (1..=o.captured).collect();
        prop_assert_eq!(&o.stored, &expected);
        let heard: Vec<u64> = (1..=o.interviewer.len() as u64).collect();
        prop_assert_eq!(&o.interviewer, &heard);
        prop_assert_eq!(o.summary, (o.captured, o.captured, 0));
    }
}
