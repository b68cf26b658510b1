//! One Gemini Live interview as an [`EngineSession`]: the [`Bridge`], the
//! link task and the session clock wired together.
//!
//! Candidate audio goes to the link through a bounded queue (`try_send`):
//! if the upstream cannot take it as fast as it arrives, the session ends
//! with a clear error instead of buffering without bound; likewise when the
//! link finds the session not taking its messages. When the client's
//! socket detaches or the candidate mutes the microphone the service is
//! told, once, that the audio stream ended (`audioStreamEnd`), so it does
//! not wait on a silent turn; muted silence is not streamed, and the next
//! real audio reopens the stream.
//!
//! Between the model's turns the session can be saved for another instance
//! ([`GeminiState`]): the latest resumable handle that came after the
//! model's last turn, the seq of the candidate's audio it holds, and the
//! bridge's conversation. The instance that continues it resumes the Live
//! session with that handle and is given the candidate audio after that
//! seq again (`hear_again`), which it forwards before anything new.

use candor_audio::codec::encode_pcm16;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::error::TrySendError;

use super::UpstreamError;
use super::bridge::{Bridge, Conversation};
use super::link::{self, Conn, LinkCmd, LinkEvent, LinkHandle, LinkParams};
use super::wire::{ClientMessage, RealtimeInput};
use crate::engine::{
    BoxFuture, CandidateAudio, EngineContext, EngineError, EngineEvent, EngineSession,
    EngineSnapshot, SessionClock,
};

/// What a Gemini Live session saves to be continued on another instance.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct GeminiState {
    /// A resumable handle that came after the model's last turn.
    pub handle: String,
    pub conversation: Conversation,
}

/// A Gemini Live interview: the bridge, the link task and the clock.
pub struct GeminiSession {
    bridge: Bridge,
    clock: SessionClock,
    link: LinkHandle,
    link_gone: bool,
    /// `audioStreamEnd` was sent and no audio since.
    audio_stream_ended: bool,
    /// The latest resumable handle that came after the model's last turn,
    /// and the seq of the candidate audio it holds.
    resumable: Option<(String, u64)>,
    /// What the last snapshot held: (audio seq, question index, next segment).
    saved: Option<(u64, (u32, u64))>,
    /// Candidate audio waiting for room in the link's queue, in order: what
    /// a restored session is given again can be minutes of audio, more than
    /// the queue holds. Bounded by the audio stored for the session; new
    /// audio waits behind it.
    backlog: std::collections::VecDeque<LinkCmd>,
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
        Ok(Self::with_link(
            bridge,
            ctx.clock,
            link::spawn(params, conn, None),
        ))
    }

    /// Continues a session another instance saved, on a connection set up
    /// with the saved handle.
    pub(super) fn restore(
        ctx: EngineContext,
        params: LinkParams,
        conn: Conn,
        state: GeminiState,
    ) -> Result<Self, EngineError> {
        let bridge = Bridge::restore(
            ctx.output_codec(),
            ctx.output.sample_rate_hz,
            state.conversation,
        )?;
        Ok(Self::with_link(
            bridge,
            ctx.clock,
            link::spawn(params, conn, Some(state.handle)),
        ))
    }

    fn with_link(bridge: Bridge, clock: SessionClock, link: LinkHandle) -> Self {
        Self {
            bridge,
            clock,
            link,
            link_gone: false,
            audio_stream_ended: false,
            resumable: None,
            saved: None,
            backlog: std::collections::VecDeque::new(),
        }
    }

    /// Moves the backlog into the link's queue as far as it has room.
    fn flush_backlog(&mut self) {
        while let Some(cmd) = self.backlog.pop_front() {
            if self.link_gone {
                self.backlog.clear();
                return;
            }
            match self.link.cmds.try_send(cmd) {
                Ok(()) => {}
                Err(TrySendError::Full(cmd)) => {
                    self.backlog.push_front(cmd);
                    return;
                }
                Err(TrySendError::Closed(_)) => {
                    self.backlog.clear();
                    return;
                }
            }
        }
    }

    /// Queues a command for the link, behind any backlog (so a stream end
    /// or a tool response never overtakes audio given again); a full queue
    /// ends the session.
    fn command(&mut self, cmd: LinkCmd) {
        if self.link_gone {
            return;
        }
        if !self.backlog.is_empty() {
            self.backlog.push_back(cmd);
            return;
        }
        match self.link.cmds.try_send(cmd) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => self.fail(UpstreamError::Backlog(
                "the Gemini Live API is not taking the candidate's audio as fast as it arrives",
            )),
        }
    }

    fn fail(&mut self, e: UpstreamError) {
        tracing::warn!(error = %e, "Gemini Live session ends");
        self.link_gone = true;
        self.link.task.abort();
        self.bridge.on_failed(&e, self.clock.now_ms());
    }

    fn on_link(&mut self, ev: Option<LinkEvent>) {
        let now = self.clock.now_ms();
        match ev {
            Some(LinkEvent::Message(m)) => {
                // A handle from before a model turn does not hold it.
                if m.server_content
                    .as_ref()
                    .is_some_and(|c| c.model_turn.is_some())
                {
                    self.resumable = None;
                }
                self.bridge.on_message(m, now);
                for msg in self.bridge.take_outbox() {
                    self.command(LinkCmd::Send(msg));
                }
            }
            Some(LinkEvent::Handle {
                handle,
                holds_through,
            }) => self.resumable = Some((handle, holds_through)),
            Some(LinkEvent::Resumed {
                planned,
                replayed_turn,
            }) => self.bridge.on_resumed(planned, replayed_turn, now),
            Some(LinkEvent::Failed(e)) => {
                self.link_gone = true;
                self.bridge.on_failed(&e, now);
            }
            None => self.link_stopped(),
        }
    }

    /// Tells the service the candidate's audio stream stopped (detached or
    /// muted), once per stop; the next audio sent reopens it.
    fn end_audio_stream(&mut self) {
        if std::mem::replace(&mut self.audio_stream_ended, true) {
            return;
        }
        self.command(LinkCmd::Send(ClientMessage::RealtimeInput(
            RealtimeInput::audio_stream_end(),
        )));
    }

    fn link_stopped(&mut self) {
        let e = if self
            .link
            .overflowed
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            UpstreamError::Backlog(
                "the interview session did not take the Gemini Live API's messages as fast as they came",
            )
        } else {
            UpstreamError::Io("the connection task stopped".into())
        };
        self.link_gone = true;
        self.bridge.on_failed(&e, self.clock.now_ms());
    }
}

impl Drop for GeminiSession {
    fn drop(&mut self) {
        let _ = self.link.cmds.try_send(LinkCmd::Close);
        // The link closes its socket on `Close`; abort only if it lingers.
        let handle = self.link.task.abort_handle();
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
        if audio.muted {
            // The microphone is off: say the stream stopped, once, rather
            // than streaming silence the service would wait out.
            self.end_audio_stream();
            return;
        }
        self.audio_stream_ended = false;
        self.command(LinkCmd::Audio {
            pcm: encode_pcm16(audio.pcm_16k),
            seq: audio.seq,
        });
    }

    fn hear_again(&mut self, seq: u64, pcm_16k: &[f32]) {
        self.backlog.push_back(LinkCmd::Audio {
            pcm: encode_pcm16(pcm_16k),
            seq,
        });
        self.flush_backlog();
    }

    fn snapshot(&mut self, force: bool) -> Option<EngineSnapshot> {
        if self.link_gone {
            return None;
        }
        let (handle, holds) = self.resumable.clone()?;
        let conversation = self.bridge.conversation()?;
        let key = (holds, conversation.boundary());
        if !force && self.saved == Some(key) {
            return None;
        }
        match serde_json::to_string(&GeminiState {
            handle,
            conversation,
        }) {
            Ok(state) => {
                self.saved = Some(key);
                // Taken between turns: the model's next turn is new.
                Some(EngineSnapshot {
                    state,
                    holds_audio_through: Some(holds),
                    says_again: false,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "the interview's state could not be saved");
                None
            }
        }
    }

    fn end(&mut self) {
        self.bridge.end(self.clock.now_ms());
        let _ = self.link.cmds.try_send(LinkCmd::Close);
    }

    fn take_remaining(&mut self) -> Vec<EngineEvent> {
        self.bridge.drain()
    }

    fn paused(&mut self) {
        // The candidate's audio stopped: let the service close the turn
        // instead of waiting for more; the next audio reopens the stream.
        self.end_audio_stream();
    }

    fn next_event(&mut self) -> BoxFuture<'_, EngineEvent> {
        Box::pin(async move {
            loop {
                let now = self.clock.now_ms();
                if let Some(e) = self.bridge.pop(now) {
                    return e;
                }
                if !self.link_gone
                    && self
                        .link
                        .overflowed
                        .load(std::sync::atomic::Ordering::SeqCst)
                {
                    self.link_stopped();
                    continue;
                }
                let wake = self.bridge.next_due().map(|ms| self.clock.instant_at(ms));
                self.flush_backlog();
                let room = self.link.cmds.clone();
                tokio::select! {
                    ev = self.link.events.recv(), if !self.link_gone => self.on_link(ev),
                    // Room in the link's queue for the backlog.
                    permit = room.reserve_owned(), if !self.backlog.is_empty() && !self.link_gone => {
                        if let (Ok(permit), Some(cmd)) = (permit, self.backlog.pop_front()) {
                            permit.send(cmd);
                        }
                    }
                    _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {}
                    _ = std::future::pending::<()>(), if self.link_gone && wake.is_none() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use candor_audio::Codec;
    use candor_protocol::EndReason;
    use tokio::sync::mpsc;

    use super::*;
    use crate::engine::EngineSnapshot;
    use crate::engine::gemini::link::{Events, Overflow};

    fn audio(pcm: &[f32]) -> CandidateAudio<'_> {
        CandidateAudio {
            seq: 1,
            at_ms: 0,
            encoded: &[],
            pcm_16k: pcm,
            voiced: false,
            speaking: false,
            muted: false,
            duration_ms: 20,
        }
    }

    /// What the session queued for the link, as short names.
    fn queued(rx: &mut mpsc::Receiver<LinkCmd>) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Ok(cmd) = rx.try_recv() {
            out.push(match cmd {
                LinkCmd::Audio { .. } => "audio",
                LinkCmd::Send(ClientMessage::RealtimeInput(r))
                    if r.audio_stream_end == Some(true) =>
                {
                    "end"
                }
                LinkCmd::Send(_) => "other",
                LinkCmd::Close => "close",
            });
        }
        out
    }

    #[tokio::test]
    async fn a_muted_microphone_ends_the_audio_stream_once_and_audio_reopens_it() {
        let (mut s, mut rx) = stalled(16);
        let pcm = vec![0.0f32; 320];
        let muted = CandidateAudio {
            muted: true,
            ..audio(&pcm)
        };
        s.push_audio(audio(&pcm));
        for _ in 0..3 {
            s.push_audio(muted);
        }
        s.push_audio(audio(&pcm));
        s.push_audio(muted);
        assert_eq!(
            queued(&mut rx),
            ["audio", "end", "audio", "end"],
            "silence is not streamed while muted"
        );
        // A detach while muted is the same stop: nothing more to say.
        s.paused();
        assert!(queued(&mut rx).is_empty());
    }

    /// A session on a link the test plays: it reads the commands (queue of
    /// `capacity`) and sends the events.
    fn linked(
        capacity: usize,
    ) -> (
        GeminiSession,
        mpsc::Receiver<LinkCmd>,
        mpsc::Sender<LinkEvent>,
    ) {
        let (cmds, cmd_rx) = mpsc::channel(capacity);
        let (ev_tx, events) = mpsc::channel(16);
        let link = LinkHandle {
            cmds,
            events,
            overflowed: Arc::new(AtomicBool::new(false)),
            task: tokio::spawn(std::future::pending()),
        };
        let bridge = Bridge::new(Codec::Pcm16, 24_000, 2).unwrap();
        (
            GeminiSession::with_link(bridge, SessionClock::start(), link),
            cmd_rx,
            ev_tx,
        )
    }

    /// A session whose link never reads: its audio queue holds `capacity`.
    fn stalled(capacity: usize) -> (GeminiSession, mpsc::Receiver<LinkCmd>) {
        let (s, cmd_rx, _ev_tx) = linked(capacity);
        (s, cmd_rx)
    }

    #[tokio::test]
    async fn audio_the_upstream_cannot_take_ends_the_session_instead_of_piling_up() {
        let (mut s, mut rx) = stalled(4);
        let pcm = vec![0.0f32; 320];
        for _ in 0..4 {
            s.push_audio(audio(&pcm));
        }
        assert!(!s.link_gone, "within the bound");
        s.push_audio(audio(&pcm));
        s.push_audio(audio(&pcm));
        let ev = tokio::time::timeout(std::time::Duration::from_secs(1), s.next_event())
            .await
            .expect("the end is due at once");
        let EngineEvent::Ended { reason, message } = ev else {
            panic!("expected the end, got {ev:?}")
        };
        assert_eq!(reason, EndReason::EngineFailure);
        assert!(
            message.contains("not taking the candidate's audio"),
            "{message}"
        );
        // Nothing beyond the bound was queued.
        let mut queued = 0;
        while rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, 4);
    }

    #[tokio::test]
    async fn a_session_that_falls_behind_its_upstream_ends_with_a_clear_error() {
        let (tx, rx) = mpsc::channel(2);
        let overflowed = Arc::new(AtomicBool::new(false));
        let events = Events::new(tx, overflowed.clone());
        let msg = || LinkEvent::Message(Default::default());
        assert_eq!(events.emit(msg()), Ok(()));
        assert_eq!(events.emit(msg()), Ok(()));
        assert_eq!(events.emit(msg()), Err(Overflow));
        assert!(overflowed.load(std::sync::atomic::Ordering::SeqCst));

        let (cmds, _cmd_rx) = mpsc::channel(4);
        let link = LinkHandle {
            cmds,
            events: rx,
            overflowed,
            task: tokio::spawn(std::future::pending()),
        };
        let bridge = Bridge::new(Codec::Pcm16, 24_000, 2).unwrap();
        let mut s = GeminiSession::with_link(bridge, SessionClock::start(), link);
        let ev = tokio::time::timeout(std::time::Duration::from_secs(1), s.next_event())
            .await
            .expect("the end is due at once");
        assert!(
            matches!(&ev, EngineEvent::Ended { reason: EndReason::EngineFailure, message } if message.contains("did not take")),
            "{ev:?}"
        );
    }

    /// A session fed by a link whose events the test sends.
    fn fed() -> (GeminiSession, mpsc::Sender<LinkEvent>) {
        let (s, _cmd_rx, ev_tx) = linked(16);
        (s, ev_tx)
    }

    fn message(v: serde_json::Value) -> LinkEvent {
        LinkEvent::Message(serde_json::from_value(v).unwrap())
    }

    /// 100 ms of the model's voice.
    fn model_audio() -> LinkEvent {
        use base64::Engine as _;
        let pcm = vec![0u8; 4_800];
        message(
            serde_json::json!({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
                "mimeType": "audio/pcm;rate=24000",
                "data": base64::engine::general_purpose::STANDARD.encode(pcm),
            }}]}}}),
        )
    }

    fn turn_complete() -> LinkEvent {
        message(serde_json::json!({"serverContent": {"turnComplete": true}}))
    }

    fn handle(h: &str, holds_through: u64) -> LinkEvent {
        LinkEvent::Handle {
            handle: h.into(),
            holds_through,
        }
    }

    /// Plays the session's events until the interviewer listens.
    async fn until_listening(s: &mut GeminiSession) {
        loop {
            let ev = tokio::time::timeout(std::time::Duration::from_secs(5), s.next_event())
                .await
                .expect("an event");
            if let EngineEvent::State { activity, .. } = ev
                && activity == candor_protocol::InterviewerActivity::Listening
            {
                return;
            }
        }
    }

    fn saved_handle(snapshot: &EngineSnapshot) -> String {
        serde_json::from_str::<GeminiState>(&snapshot.state)
            .unwrap()
            .handle
    }

    #[tokio::test(start_paused = true)]
    async fn it_is_saved_between_turns_with_a_handle_that_came_after_the_last_turn() {
        let (mut s, tx) = fed();
        assert_eq!(s.snapshot(true), None, "no handle yet");
        for ev in [model_audio(), turn_complete(), handle("h1", 7)] {
            tx.send(ev).await.unwrap();
        }
        // The turn's audio is still to be delivered: not between turns yet.
        let first = s.next_event().await;
        assert!(matches!(first, EngineEvent::State { .. }), "{first:?}");
        assert_eq!(s.snapshot(true), None, "the model's turn is still playing");
        until_listening(&mut s).await;
        let saved = s.snapshot(false).expect("between turns, with a handle");
        assert_eq!(saved.holds_audio_through, Some(7));
        assert_eq!(saved_handle(&saved), "h1");
        assert_eq!(s.snapshot(false), None, "given once per boundary");
        assert!(s.snapshot(true).is_some(), "or whenever forced");

        // A model turn after the handle: the handle does not hold it, so
        // nothing is saved until a handle comes after that turn.
        for ev in [model_audio(), turn_complete()] {
            tx.send(ev).await.unwrap();
        }
        until_listening(&mut s).await;
        assert_eq!(s.snapshot(true), None, "the handle predates the last turn");
        tx.send(handle("h2", 40)).await.unwrap();
        tx.send(message(serde_json::json!({}))).await.unwrap();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), s.next_event()).await;
        let saved = s.snapshot(false).expect("a handle after the turn");
        assert_eq!(
            (saved_handle(&saved), saved.holds_audio_through),
            ("h2".to_owned(), Some(40))
        );
    }

    #[tokio::test]
    async fn audio_given_again_after_a_restore_waits_for_room_and_goes_first() {
        let (mut s, mut rx, _tx) = linked(16);
        let pcm = vec![0.0f32; 320];
        // Minutes of audio, far more than the link's queue holds.
        for seq in 1..=5_000 {
            s.hear_again(seq, &pcm);
        }
        s.push_audio(CandidateAudio {
            seq: 5_001,
            ..audio(&pcm)
        });
        // The microphone muted: the stream's end goes after all of it.
        s.push_audio(CandidateAudio {
            seq: 5_002,
            muted: true,
            ..audio(&pcm)
        });
        let mut got = Vec::new();
        while got.last() != Some(&0) {
            tokio::select! {
                cmd = rx.recv() => match cmd.expect("the link's queue") {
                    LinkCmd::Audio { seq, .. } => got.push(seq),
                    LinkCmd::Send(_) => got.push(0),
                    LinkCmd::Close => panic!("closed"),
                },
                ev = s.next_event() => panic!("the session ended: {ev:?}"),
            }
        }
        let mut want: Vec<u64> = (1..=5_001).collect();
        want.push(0);
        assert_eq!(got, want, "in order, each once, then the stream's end");
    }
}
