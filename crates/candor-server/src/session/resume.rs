//! Continuing a session on another instance: what a session saves to the
//! store to be continued elsewhere ([`Saved`]), and how a `ResumeRequest`
//! for a session this instance's hub does not hold takes it over
//! ([`continue_here`]).
//!
//! A session saves its state at each of the engine's turn boundaries and
//! when it is handed over, through its recorder: a save is committed with
//! everything recorded before it, so the store never holds a state that
//! heard a candidate frame it lacks. An instance that takes a session over
//! claims it in the store (`Store::claim_session`: a handed-over session at
//! once, a crashed instance's once its lease ran out, waiting a bounded
//! time for that), reads the last saved state, restores the engine at that
//! point of the conversation, and hears again — without storing them again
//! — the candidate frames stored after it (the crashed instance heard them
//! after its last save). The client's `StartResponse.last_client_seq` is
//! the last stored frame, so it replays exactly the frames the store lacks;
//! the interviewer audio the client has not acknowledged is replayed from
//! the store — including what the last holder sent after its save, which
//! the restored engine then skips rather than sending it twice.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use candor_protocol::{AudioChunk, ClientOrder, Error, ErrorCode, ResumeRequest, StartRequest};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Session;
use super::media::MediaTimeline;
use super::start::{AudioPlan, Reservation, StartedEngine};
use crate::Shared;
use crate::auth::now_ms;
use crate::engine::{EngineContext, SessionClock};
use crate::store::{Claim, InterviewRecord};

/// How often a resume asks again for a session another instance holds.
const CLAIM_POLL: Duration = Duration::from_millis(100);
/// Candidate frames before the saved point heard again (not by the engine)
/// so the candidate's audio decoding and voice detection are where they
/// were: the Opus decoder's and the neural detector's state carry seconds
/// of history, the speech gate's onset and hangover 200 ms.
const WARM_UP_FRAMES: u64 = 500;

/// What a session saves to be continued elsewhere.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Saved {
    /// The engine's state (`EngineSession::snapshot`).
    pub(super) engine: String,
    /// The engine's state holds the candidate's frames up to this seq
    /// (`EngineSnapshot::holds_audio_through`; None: up to `received`).
    #[serde(default)]
    pub(super) engine_holds: Option<u64>,
    /// Restored, the engine says again what it said after the save
    /// (`EngineSnapshot::says_again`).
    #[serde(default = "says_again")]
    pub(super) engine_says_again: bool,
    /// The engine has heard the candidate's frames up to this seq.
    pub(super) received: u64,
    /// The last interviewer chunk sent.
    pub(super) out_seq: u64,
    /// The session clock.
    pub(super) clock_ms: u64,
    pub(super) media: MediaTimeline,
    /// The candidate's open speech span.
    pub(super) span: Option<(u64, u64)>,
}

/// States saved before `engine_says_again` were the practice engine's.
fn says_again() -> bool {
    true
}

fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "a session could not be taken over");
    Error::new(ErrorCode::Internal, "Something went wrong on the server.")
}

/// Takes over session `resume.session_id`, which this instance's hub does
/// not hold: None if it has ended or is unknown (or kept no state to go on
/// from), else the session, ready for the resuming socket. A session
/// another instance still holds is waited for up to a lease and a renewal;
/// then the resume is refused, retryably.
pub(super) async fn continue_here(
    shared: &Arc<Shared>,
    req: &StartRequest,
    resume: &ResumeRequest,
    (user_id, interview): (&str, &InterviewRecord),
    order: ClientOrder,
    client_ip: IpAddr,
) -> Result<Option<Box<Session>>, Error> {
    let sid = resume.session_id.clone();
    let Some(record) = shared
        .db
        .run(move |s| s.session(&sid))
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    super::start::check_owner(
        &record.user_id,
        &record.interview_id,
        user_id,
        &interview.id,
    )?;
    if record.end_reason.is_some() {
        return Ok(None);
    }
    let audio = super::start::validate_audio(shared, req)?;
    let audio_left = super::start::audio_allowance(shared, user_id).await?;
    let id: Arc<str> = Arc::from(record.id.as_str());
    let reservation =
        Reservation::take_place(shared, id.clone(), user_id, client_ip, &interview.id)?;
    let taken = take_over(shared, &id, resume, interview, audio, order, audio_left).await;
    let session = match taken {
        Ok(Some(taken)) => taken,
        Ok(None) => {
            shared.hub.remove(&id);
            return Ok(None);
        }
        Err(e) => {
            shared.hub.remove(&id);
            return Err(e);
        }
    };
    Ok(Some(Box::new(session.finish_reservation(reservation))))
}

/// A session being taken over, before it has its place in the hub.
pub(super) struct TakenOver {
    session: Box<Session>,
}

impl TakenOver {
    fn finish_reservation(self, r: Reservation) -> Session {
        let mut s = *self.session;
        s.attach_rx = r.attach_rx;
        s.lost = r.lost;
        s
    }
}

/// Claims the session, then rebuilds it from its saved state and the frames
/// stored after it.
async fn take_over(
    shared: &Arc<Shared>,
    id: &Arc<str>,
    resume: &ResumeRequest,
    interview: &InterviewRecord,
    audio: AudioPlan,
    order: ClientOrder,
    audio_left: u64,
) -> Result<Option<TakenOver>, Error> {
    if !claim(shared, id).await? {
        return Ok(None);
    }
    let taken = rebuild(shared, id, resume, interview, audio, order, audio_left).await;
    match &taken {
        Ok(Some(_)) => {}
        // Nothing saved to go on from (an engine that keeps no state): it
        // ends here, and its results are computed here, once.
        Ok(None) => {
            let sid = id.clone();
            let ended = shared
                .db
                .run(move |s| {
                    let duration = crate::ownership::recorded_duration(s, &sid)?;
                    s.end_session(&sid, "server_restart", now_ms(), duration)
                })
                .await;
            match ended {
                Ok(()) => crate::spawn_results(shared, interview.id.clone()),
                Err(e) => {
                    tracing::error!(session = %id, error = %e, "could not record the session end")
                }
            }
        }
        // Let it go again: it is no one's until another resume or the sweep.
        Err(_) => {
            let (sid, me) = (id.clone(), shared.ownership.instance().clone());
            let _ = shared
                .db
                .run(move |s| s.release_session(&sid, &me, now_ms()))
                .await;
        }
    }
    taken
}

/// Claims session `id` for this instance, waiting while another holds it.
/// False if it has ended or is unknown.
async fn claim(shared: &Arc<Shared>, id: &Arc<str>) -> Result<bool, Error> {
    let lease = shared.config.limits.session_lease;
    let give_up = tokio::time::Instant::now() + lease + shared.ownership.renew_every();
    loop {
        let (sid, me) = (id.clone(), shared.ownership.instance().clone());
        let until = shared.ownership.until(now_ms());
        let claim = shared
            .db
            .run(move |s| s.claim_session(&sid, &me, now_ms(), until))
            .await
            .map_err(internal)?;
        match claim {
            Claim::Claimed => {
                shared.hub.mark_held(id);
                return Ok(true);
            }
            Claim::Gone => return Ok(false),
            Claim::Held { owner, until_ms } => {
                if tokio::time::Instant::now() >= give_up {
                    tracing::info!(session = %id, %owner, until_ms, "resume refused: another instance holds the session");
                    shared.metrics.record_refusal("held_elsewhere");
                    return Err(Error {
                        retryable: true,
                        ..Error::new(
                            ErrorCode::ResourceExhausted,
                            "The session is still held by another server; connect again shortly.",
                        )
                    });
                }
                tokio::time::sleep(CLAIM_POLL).await;
            }
        }
    }
}

/// The session as it was saved, with the frames stored since heard again.
async fn rebuild(
    shared: &Arc<Shared>,
    id: &Arc<str>,
    resume: &ResumeRequest,
    interview: &InterviewRecord,
    audio: AudioPlan,
    order: ClientOrder,
    audio_left: u64,
) -> Result<Option<TakenOver>, Error> {
    let sid = id.clone();
    let last_server_seq = resume.last_server_seq;
    // Read once the claim is ours: the last holder saved (and released)
    // before, so this is its last word.
    let loaded = shared
        .db
        .run(move |s| {
            let Some(record) = s.session(&sid)? else {
                return Ok(None);
            };
            let Some(state) = s.resume_state(&sid)? else {
                return Ok(None);
            };
            let candidate = s.candidate_frames(&sid)?;
            let mut interviewer = s.interviewer_frames(&sid)?;
            let said = interviewer.last().map(|f| (f.seq, f.timestamp_us / 1000));
            interviewer.retain(|f| f.seq > last_server_seq);
            Ok(Some((record, state, candidate, interviewer, said)))
        })
        .await
        .map_err(internal)?;
    let Some((record, state, candidate, interviewer, said)) = loaded else {
        tracing::warn!(session = %id, "no saved state to continue the session from");
        return Ok(None);
    };
    let saved: Saved = serde_json::from_str(&state).map_err(internal)?;
    let clock = SessionClock::paused_at(saved.clock_ms);
    let planned = audio.engine.planned_questions(interview);
    let ctx = EngineContext {
        session_id: id.clone(),
        interview: interview.clone(),
        output: audio.out_config,
        clock: clock.clone(),
    };
    let engine = match audio.engine.restore(ctx, saved.engine.clone()).await {
        Ok(e) => e,
        Err(e) => {
            shared
                .metrics
                .record_engine_error(audio.engine.name(), crate::metrics::EngineStage::Start);
            tracing::warn!(session = %id, error = %e, "the engine could not continue the session");
            return Err(e.to_protocol());
        }
    };
    // When the session first started, on this instance's clock: its time
    // limit and pace run from there.
    let age = Duration::from_millis(now_ms().saturating_sub(record.started_at_ms).max(0) as u64);
    let started = tokio::time::Instant::now()
        .checked_sub(age)
        .unwrap_or_else(tokio::time::Instant::now);
    let (placeholder_tx, placeholder_rx) = mpsc::channel(1);
    drop(placeholder_tx);
    let mut session = Session::new(
        shared,
        Reservation {
            id: id.clone(),
            attach_rx: placeholder_rx,
            lost: CancellationToken::new(),
        },
        interview.id.clone(),
        audio,
        StartedEngine {
            session: engine,
            clock,
            planned,
        },
        order,
        super::Origin {
            audio_left,
            durable_seq: record.last_client_seq,
            started,
        },
    );
    session.media = saved.media;
    session.span = saved.span;
    session.out_seq = saved.out_seq;
    // The last holder may have sent interviewer audio after its last save
    // (it crashed in the middle of a turn), stored or not yet.
    if saved.engine_says_again {
        // Said again frame for frame, under the same seqs: what was stored
        // is replayed from the store instead, what the client has is
        // stored but not sent again.
        if let Some((last_seq, due_ms)) = said.filter(|(seq, _)| *seq > saved.out_seq) {
            session.out_seq = last_seq;
            session.said_until_ms = Some(due_ms);
        }
        session.client_has_seq = last_server_seq;
    } else {
        // Whatever comes next is new: after everything sent.
        let stored = said.map_or(0, |(seq, _)| seq);
        session.out_seq = saved.out_seq.max(stored).max(last_server_seq);
    }
    session.received = saved.received;
    session.detached = true;
    for f in interviewer {
        session.replay.push(AudioChunk {
            seq: f.seq,
            data: f.data.into(),
            timestamp_us: f.timestamp_us,
            voice_activity: true,
            muted: false,
        });
    }
    // The candidate's voice detection as it was at the saved point (and
    // the engine given what its state lacks), then what the last holder
    // heard after it.
    let holds = saved.engine_holds.unwrap_or(saved.received);
    let warm_from = saved.received.saturating_sub(WARM_UP_FRAMES).min(holds);
    let mut heard_again = 0;
    for f in candidate {
        if f.seq <= warm_from {
            continue;
        }
        if f.seq <= saved.received {
            let heard = session.listener.hear(&f.data, f.flags.voice_activity);
            if f.seq > holds {
                session.engine.hear_again(f.seq, heard.pcm);
            }
            continue;
        }
        session.hear_stored(f).await;
        heard_again += 1;
    }
    session.received = session.received.max(record.last_client_seq);
    tracing::info!(
        session = %id,
        from_seq = saved.received,
        engine_from_seq = holds,
        heard_again,
        last_client_seq = session.received,
        "session taken over"
    );
    Ok(Some(TakenOver {
        session: Box::new(session),
    }))
}
