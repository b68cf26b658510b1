//! Opening a session from its `StartRequest`, one step at a time:
//! refuse while the server drains → authorize → (resume, or) check the interview is open → validate the audio
//! both ways → reserve a place in the hub and a session record → start the
//! engine.
//!
//! Each step fails with the `Error` the client is sent, and the steps run in
//! this order, so a request with several problems always gets the same
//! answer. A step that fails after `reserve` gives the reservation back.

use std::net::IpAddr;
use std::sync::Arc;

use candor_api::InterviewStatus;
use candor_audio::Codec;
use candor_audio::codec::OPUS_RATES;
use candor_protocol::{
    AudioCodec, AudioConfig, ClientOrder, Error, ErrorCode, ResumeRequest, SessionEnded,
    StartRequest,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Session;
use super::hub::{self, Attach, HubEntry};
use crate::Shared;
use crate::auth::{now_ms, token_hash};
use crate::engine::{Engine, EngineContext, EngineSession, SessionClock};
use crate::store::{AudioFormat, InterviewRecord, SessionRecord, StoredCodec};
use crate::voice::{self, Listener};

/// What a `StartRequest` leads to.
pub(super) enum Started {
    /// A new session, ready for its socket.
    New(Box<Session>),
    /// A resume: the socket goes to the live session's task.
    Resume {
        attach: mpsc::Sender<Attach>,
        order: ClientOrder,
        resume: ResumeRequest,
        user_id: String,
        interview_id: String,
    },
    /// A resume of a session that has ended meanwhile: the client is told
    /// how it ended, and goes on to the results.
    Ended(SessionEnded),
    /// A resume of a session another instance ran, taken over here: the
    /// socket attaches to it.
    TakenOver {
        session: Box<Session>,
        order: ClientOrder,
        resume: ResumeRequest,
    },
}

/// The audio of a new session, both ways, and the engine that will speak.
pub(super) struct AudioPlan {
    /// Decodes and classifies the candidate's audio.
    pub(super) listener: Listener,
    /// The candidate's codec and frame length.
    pub(super) in_codec: Codec,
    pub(super) in_frame_ms: u32,
    pub(super) engine: Arc<dyn Engine>,
    /// What the engine sends.
    pub(super) out_config: AudioConfig,
}

/// A session's place in the hub and its stored record.
pub(super) struct Reservation {
    pub(super) id: Arc<str>,
    pub(super) attach_rx: mpsc::Receiver<Attach>,
    /// Cancelled if the session's lease is lost.
    pub(super) lost: CancellationToken,
}

impl Reservation {
    /// Takes session `id`'s place in the hub (within the caps on live
    /// sessions). Not yet held: the caller marks it held once this instance
    /// holds it in the store (`Hub::mark_held`), so no lease renewal looks
    /// for it before.
    pub(super) fn take_place(
        shared: &Shared,
        id: Arc<str>,
        user_id: &str,
        client_ip: IpAddr,
        interview_id: &str,
    ) -> Result<Self, Error> {
        let (attach_tx, attach_rx) = mpsc::channel(1);
        let lost = CancellationToken::new();
        let limits = &shared.config.limits;
        shared.hub.reserve(
            id.clone(),
            HubEntry {
                user_id: user_id.to_owned(),
                client_ip,
                interview_id: interview_id.to_owned(),
                attach: attach_tx,
                lost: lost.clone(),
                held: false,
                ended: false,
            },
            hub::Caps {
                per_user: limits.max_sessions_per_user,
                per_ip: limits.max_sessions_per_ip,
                total: limits.max_sessions,
            },
        )?;
        Ok(Self {
            id,
            attach_rx,
            lost,
        })
    }
}

/// The engine of a new session, started.
pub(super) struct StartedEngine {
    pub(super) session: Box<dyn EngineSession>,
    pub(super) clock: SessionClock,
    pub(super) planned: u32,
}

/// Validates a `StartRequest` and creates (or finds) the session.
pub(super) async fn start(
    shared: &Arc<Shared>,
    req: StartRequest,
    order: ClientOrder,
    client_ip: IpAddr,
) -> Result<Started, Error> {
    if shared.drain.is_draining() {
        // New sessions and resumes alike: a draining server is letting its
        // sessions go, not taking any.
        shared.metrics.record_refusal("draining");
        return Err(crate::drain::refusal());
    }
    let (user_id, interview) = authorize(shared, &req).await?;
    if let Some(resume) = &req.resume {
        if let Some(attach) = resume_target(shared, resume, &user_id, &interview)? {
            return Ok(Started::Resume {
                attach,
                order,
                resume: resume.clone(),
                user_id,
                interview_id: interview.id,
            });
        }
        if let Some(session) = super::resume::continue_here(
            shared,
            &req,
            resume,
            (&user_id, &interview),
            order.clone(),
            client_ip,
        )
        .await?
        {
            return Ok(Started::TakenOver {
                session,
                order,
                resume: resume.clone(),
            });
        }
        return ended_session(shared, &resume.session_id, &user_id, &interview.id)
            .await
            .map(Started::Ended);
    }
    ensure_open(&interview)?;
    let audio = validate_audio(shared, &req)?;
    let audio_left = audio_allowance(shared, &user_id).await?;
    let input = input_format(&req, audio.in_codec);
    let output = output_format(&audio.out_config);
    let reservation = reserve(
        shared,
        &user_id,
        client_ip,
        &interview,
        audio.engine.name(),
        (input, output),
    )
    .await?;
    let engine = start_engine(
        shared,
        &reservation.id,
        &interview,
        &*audio.engine,
        audio.out_config,
    )
    .await?;
    shared.metrics.sessions_started.inc();
    tracing::info!(session = %reservation.id, interview = %interview.id, "session started");
    Ok(Started::New(Box::new(Session::new(
        shared,
        reservation,
        interview.id,
        audio,
        engine,
        order,
        super::Origin {
            audio_left,
            durable_seq: 0,
            started: tokio::time::Instant::now(),
        },
    ))))
}

fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "session start failed");
    Error::new(ErrorCode::Internal, "Something went wrong on the server.")
}

/// The token's user and the interview, which must be theirs.
async fn authorize(
    shared: &Shared,
    req: &StartRequest,
) -> Result<(String, InterviewRecord), Error> {
    let hash = token_hash(&req.auth_token);
    let user = shared
        .db
        .run(move |s| s.user_by_token(&hash, now_ms()))
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthenticated,
                "Sign in again: the token is missing, unknown or expired.",
            )
        })?;
    let interview_id = req.interview_id.clone();
    let interview = shared
        .db
        .run(move |s| s.interview(&interview_id))
        .await
        .map_err(internal)?
        .ok_or_else(|| Error::new(ErrorCode::NotFound, "No such interview."))?;
    if interview.user_id != user.id {
        return Err(Error::new(
            ErrorCode::PermissionDenied,
            "This interview belongs to someone else.",
        ));
    }
    Ok((user.id, interview))
}

/// The live session a resume asks for, which must be this user's and this
/// interview's (None: it is not live).
fn resume_target(
    shared: &Shared,
    resume: &ResumeRequest,
    user_id: &str,
    interview: &InterviewRecord,
) -> Result<Option<mpsc::Sender<Attach>>, Error> {
    let Some((owner, interview_id, tx)) = shared.hub.lookup(&resume.session_id) else {
        return Ok(None);
    };
    check_owner(&owner, &interview_id, user_id, &interview.id)?;
    Ok(Some(tx))
}

/// A session a resume may reach: this user's, for this interview.
pub(super) fn check_owner(
    owner: &str,
    session_interview: &str,
    user_id: &str,
    interview_id: &str,
) -> Result<(), Error> {
    if owner != user_id {
        return Err(Error::new(
            ErrorCode::PermissionDenied,
            "This session belongs to someone else.",
        ));
    }
    if session_interview != interview_id {
        return Err(Error::new(
            ErrorCode::Malformed,
            "The session does not belong to this interview.",
        ));
    }
    Ok(())
}

/// How session `id` ended, for a resume that came too late (the session
/// finished while the client was away); `NOT_FOUND` if it never existed or
/// is not over.
pub(super) async fn ended_session(
    shared: &Shared,
    id: &str,
    user_id: &str,
    interview_id: &str,
) -> Result<SessionEnded, Error> {
    let unknown = || {
        Error::new(
            ErrorCode::NotFound,
            "That session is unknown or can no longer be resumed.",
        )
    };
    let sid = id.to_owned();
    let record = shared
        .db
        .run(move |s| s.session(&sid))
        .await
        .map_err(internal)?
        .ok_or_else(unknown)?;
    check_owner(&record.user_id, &record.interview_id, user_id, interview_id)?;
    let label = record.end_reason.as_deref().ok_or_else(unknown)?;
    let reason = super::end_reason(label);
    Ok(SessionEnded {
        reason: reason as i32,
        message: format!(
            "The interview ended while you were reconnecting ({}).",
            super::describe_end(reason)
        ),
        results_pending: true,
        last_client_seq: record.last_client_seq,
    })
}

/// A finished interview takes no new session.
fn ensure_open(interview: &InterviewRecord) -> Result<(), Error> {
    if matches!(
        interview.status,
        InterviewStatus::Processing | InterviewStatus::Ready | InterviewStatus::Failed
    ) {
        return Err(Error::new(
            ErrorCode::FailedPrecondition,
            "This interview is already complete; create a new one to practise again.",
        ));
    }
    Ok(())
}

/// The candidate's audio must be one we decode; the engine must exist and
/// produce a codec the client accepts.
pub(super) fn validate_audio(shared: &Shared, req: &StartRequest) -> Result<AudioPlan, Error> {
    let in_config = req.audio_config.unwrap_or_else(AudioConfig::opus_16k_mono);
    let (listener, in_codec) =
        candidate_listener(&in_config, shared.config.practice.vad_threshold_dbfs)
            .map_err(|m| Error::new(ErrorCode::UnsupportedAudio, m))?;
    let engine = shared.engine.clone().ok_or_else(|| {
        Error::new(
            ErrorCode::EngineUnavailable,
            "No interview engine is configured on this server.",
        )
    })?;
    let accepted: Vec<AudioCodec> = req
        .accepted_codecs
        .iter()
        .filter_map(|c| AudioCodec::try_from(*c).ok())
        .collect();
    let out_config = engine.output_config(&accepted).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedAudio,
            "None of the accepted codecs can be produced; accept Opus or PCM16.",
        )
    })?;
    Ok(AudioPlan {
        listener,
        in_codec,
        in_frame_ms: in_config.frame_duration_ms,
        engine,
        out_config,
    })
}

/// A listener for candidate audio in `c`: mono, 10–60 ms frames, Opus at an
/// Opus rate or PCM16 at 16 kHz. The error says what to send instead.
fn candidate_listener(
    c: &AudioConfig,
    vad_threshold_dbfs: f32,
) -> Result<(Listener, Codec), String> {
    if c.channels != 1 {
        return Err(format!("{} channels: send mono audio", c.channels));
    }
    if ![10, 20, 40, 60].contains(&c.frame_duration_ms) {
        return Err(format!(
            "{} ms frames: use 10, 20, 40 or 60 ms",
            c.frame_duration_ms
        ));
    }
    let codec = match voice::codec_of(c.codec) {
        Some(Codec::Opus) if OPUS_RATES.contains(&c.sample_rate_hz) => Codec::Opus,
        Some(Codec::Pcm16) if c.sample_rate_hz == 16_000 => Codec::Pcm16,
        _ => {
            return Err(format!(
                "codec {} at {} Hz: send Opus (8–48 kHz) or PCM16 at 16 kHz",
                c.codec, c.sample_rate_hz
            ));
        }
    };
    Listener::new(codec, c.frame_duration_ms, vad_threshold_dbfs)
        .map(|l| (l, codec))
        .map_err(|e| e.to_string())
}

/// Takes a place in the hub (one live session per interview, capacity
/// limits) and stores the session record.
/// Audio bytes the user may still store (their quota less what their
/// earlier sessions stored); none left refuses the session.
pub(super) async fn audio_allowance(shared: &Shared, user_id: &str) -> Result<u64, Error> {
    let uid = user_id.to_owned();
    let stored = shared
        .db
        .run(move |s| s.user_audio_bytes(&uid))
        .await
        .map_err(internal)?;
    let quota = shared.config.limits.max_audio_bytes_per_user;
    match quota.checked_sub(stored) {
        Some(left) if left > 0 => Ok(left),
        _ => Err(Error {
            retryable: false,
            ..Error::new(
                ErrorCode::ResourceExhausted,
                format!(
                    "Your recordings have reached the storage limit of {} MiB.",
                    quota / (1024 * 1024)
                ),
            )
        }),
    }
}

/// The candidate audio's coding, as the store records it (validated by
/// [`validate_audio`] first).
fn input_format(req: &StartRequest, codec: Codec) -> AudioFormat {
    let c = req.audio_config.unwrap_or_else(AudioConfig::opus_16k_mono);
    AudioFormat {
        codec: match codec {
            Codec::Opus => StoredCodec::Opus,
            Codec::Pcm16 => StoredCodec::Pcm16,
        },
        sample_rate_hz: c.sample_rate_hz,
        frame_ms: c.frame_duration_ms,
    }
}

/// How the interviewer's audio is coded, as the engine sends it (None for
/// a codec the store has no name for: then it is not recorded).
fn output_format(c: &AudioConfig) -> Option<AudioFormat> {
    let codec = match AudioCodec::try_from(c.codec).ok()? {
        AudioCodec::Opus => StoredCodec::Opus,
        AudioCodec::Pcm16 => StoredCodec::Pcm16,
        _ => return None,
    };
    Some(AudioFormat {
        codec,
        sample_rate_hz: c.sample_rate_hz,
        frame_ms: c.frame_duration_ms,
    })
}

async fn reserve(
    shared: &Shared,
    user_id: &str,
    client_ip: IpAddr,
    interview: &InterviewRecord,
    engine_name: &str,
    (input, output): (AudioFormat, Option<AudioFormat>),
) -> Result<Reservation, Error> {
    let id: Arc<str> = Arc::from(crate::auth::new_id());
    // Held once its record exists: a lease renewal before that would find
    // no record to renew and let the session go.
    let reservation = Reservation::take_place(shared, id, user_id, client_ip, &interview.id)?;
    let id = reservation.id.clone();
    let started_at_ms = now_ms();
    let record = SessionRecord {
        id: id.to_string(),
        interview_id: interview.id.clone(),
        user_id: user_id.to_owned(),
        engine: engine_name.to_owned(),
        end_reason: None,
        started_at_ms,
        ended_at_ms: None,
        duration_ms: None,
        last_client_seq: 0,
        input: Some(input),
        output,
        // Held by this instance from the start: no other may take it.
        owner: Some(shared.ownership.instance().to_string()),
        lease_until_ms: Some(shared.ownership.until(started_at_ms)),
    };
    if let Err(e) = shared.db.run(move |s| s.create_session(&record)).await {
        shared.hub.remove(&id);
        return Err(internal(e));
    }
    shared.hub.mark_held(&id);
    Ok(reservation)
}

/// Starts the session clock and the engine. If the engine cannot start, the
/// reservation is given back and the session recorded as an engine failure.
async fn start_engine(
    shared: &Shared,
    id: &Arc<str>,
    interview: &InterviewRecord,
    engine: &dyn Engine,
    output: AudioConfig,
) -> Result<StartedEngine, Error> {
    let clock = SessionClock::start();
    let planned = engine.planned_questions(interview);
    let ctx = EngineContext {
        session_id: id.clone(),
        interview: interview.clone(),
        output,
        clock: clock.clone(),
    };
    match engine.start(ctx).await {
        Ok(session) => Ok(StartedEngine {
            session,
            clock,
            planned,
        }),
        Err(e) => {
            shared
                .metrics
                .record_engine_error(engine.name(), crate::metrics::EngineStage::Start);
            // Ended in the store before it leaves the hub, so a resume in
            // between finds how it ended.
            let sid = id.clone();
            let _ = shared
                .db
                .run(move |s| s.end_session(&sid, "engine_failure", now_ms(), 0))
                .await;
            shared.hub.remove(id);
            tracing::warn!(session = %id, error = %e, "the engine could not start");
            Err(e.to_protocol())
        }
    }
}
