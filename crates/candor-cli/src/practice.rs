//! `candor practice`: one whole interview, headless.
//!
//! The command is a front end like the desktop window: it sends intents to the
//! engine (sign in, start, end) and renders the events it pushes. With
//! `--input` files it plays the candidate: each file is one answer, spoken into
//! the microphone stream when the interviewer hands over the turn; after the
//! last answer it ends the interview, so a script or a test gets the whole
//! flow `idle → … → live → ending → processingResults → resultsReady`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use candor_audio::{Feed, SinkSpec, SourceSpec};
use candor_client::ipc::{Activity, EngineEvent, InterviewSetup, RetryTarget, Speaker};
use candor_client::{BackendConfig, Credentials, Engine, EngineConfig, Intent, MemoryStore};
use candor_lifecycle::{AuthView, InterviewView, MicProblem};
use clap::Args;

use crate::{BackendArgs, exit, human, paths};

#[derive(Debug, Args)]
pub struct PracticeArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// The role: software-engineer, product-manager, data-scientist, behavioural.
    #[arg(long, default_value = "software-engineer")]
    role: String,
    /// junior, mid or senior.
    #[arg(long, default_value = "mid")]
    seniority: String,
    /// How many questions (1–12).
    #[arg(long, default_value_t = 5)]
    questions: u32,
    /// Answer one question of a past interview again, as `INTERVIEW:N`
    /// (N as `candor results` numbers it): asks only that question, with
    /// that interview's role and texts; the results put the attempts side
    /// by side.
    #[arg(long, value_name = "INTERVIEW:N", value_parser = parse_retry)]
    again: Option<RetryTarget>,
    /// A job description to tailor the interview (text file).
    #[arg(long)]
    job_description: Option<PathBuf>,
    /// Your CV (text file).
    #[arg(long)]
    cv: Option<PathBuf>,
    /// Use this microphone (name or id; the default device when empty).
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with = "input")]
    mic: Option<String>,
    /// Answer from WAV files instead of the microphone: one file per answer,
    /// spoken when the interviewer hands over the turn. Repeatable.
    #[arg(long)]
    input: Vec<PathBuf>,
    /// Play the interviewer on this speaker (name or id; default when empty).
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with = "output")]
    speaker: Option<String>,
    /// Write the interviewer's audio to this WAV file instead of a speaker.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Turn echo cancellation off (with headphones).
    #[arg(long)]
    no_echo_cancellation: bool,
    /// A Whisper model directory for hearing the answers' words offline
    /// (default: `CANDOR_SPEECH_MODEL`, else the model installed in the data
    /// directory's `models/`; without one answers are timed, not transcribed).
    #[arg(long)]
    speech_model: Option<PathBuf>,
    /// Offline profile name (embedded backend).
    #[arg(long, default_value = "Candidate")]
    name: String,
    /// Print one JSON object per line (the engine's events) instead of text.
    #[arg(long)]
    json: bool,
    /// Give up if the whole interview takes longer than this many seconds.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

/// How long after the last answer the interview is ended: shorter than the
/// interviewer's end-of-answer silence, so the candidate ends it rather than
/// the interviewer's closing words.
const END_AFTER_LAST_ANSWER: Duration = Duration::from_millis(800);

/// The rate the answer feed runs at (the capture resamples to 16 kHz).
const FEED_RATE: u32 = 48_000;

/// Plays the candidate from files, one answer per interviewer turn.
struct Script {
    feed: Feed,
    answers: Vec<Vec<f32>>,
    next: usize,
    /// The last answer finished playing at this time.
    done_at: Option<Instant>,
}

impl Script {
    fn load(paths: &[PathBuf]) -> anyhow::Result<Self> {
        let answers = paths
            .iter()
            .map(|path| {
                let (rate, samples) = candor_audio::wav::read_mono(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                to_rate(&samples, rate, FEED_RATE)
                    .with_context(|| format!("resampling {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            feed: Feed::new(FEED_RATE),
            answers,
            next: 0,
            done_at: None,
        })
    }

    /// The interviewer is listening: speak the next answer.
    fn on_listening(&mut self) {
        if self.next < self.answers.len() && self.feed.pending() == 0 {
            self.feed.push(&self.answers[self.next]);
            self.next += 1;
        }
    }

    /// Whether every answer was spoken and then `grace` passed.
    fn finished(&mut self, grace: Duration) -> bool {
        if self.next < self.answers.len() || self.feed.pending() > 0 {
            return false;
        }
        let done = *self.done_at.get_or_insert_with(Instant::now);
        done.elapsed() >= grace
    }
}

/// `INTERVIEW:N` → the question to answer again.
fn parse_retry(s: &str) -> Result<RetryTarget, String> {
    let (id, n) = s
        .rsplit_once(':')
        .ok_or("expected INTERVIEW:N, e.g. 7f3a…:2")?;
    let question_index = n
        .parse::<u32>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("“{n}” is not a question number (1, 2, …)"))?;
    if id.trim().is_empty() {
        return Err("the interview id is missing (see `candor history`)".into());
    }
    Ok(RetryTarget {
        interview_id: id.trim().to_owned(),
        question_index,
    })
}

pub async fn run(args: PracticeArgs) -> anyhow::Result<u8> {
    let setup = InterviewSetup {
        role: args.role.parse().map_err(anyhow::Error::msg)?,
        seniority: args.seniority.parse().map_err(anyhow::Error::msg)?,
        job_description: read_text(args.job_description.as_ref())?,
        cv_text: read_text(args.cv.as_ref())?,
        question_count: if args.again.is_some() {
            1
        } else {
            args.questions
        },
        retry: args.again.clone(),
    };

    let backend = match &args.backend.server {
        Some(url) => BackendConfig::Remote { url: url.clone() },
        None => BackendConfig::Embedded {
            data_dir: paths::data_dir(&args.backend)?,
            speech_model: args
                .speech_model
                .clone()
                .or_else(|| std::env::var_os("CANDOR_SPEECH_MODEL").map(Into::into)),
        },
    };
    let tokens = if args.backend.server.is_none() {
        // The offline profile signs in without a password: nothing to keep.
        Arc::new(MemoryStore::default())
    } else {
        paths::token_store(&args.backend)?
    };
    let mut config = EngineConfig::new(backend, tokens);
    config.echo_cancellation = !args.no_echo_cancellation;
    let mut script = if args.input.is_empty() {
        config.input = SourceSpec::Device {
            device: args.mic.clone().filter(|m| !m.is_empty()),
        };
        None
    } else {
        let script = Script::load(&args.input)?;
        config.input = SourceSpec::Feed {
            feed: script.feed.clone(),
        };
        Some(script)
    };
    config.output = match (&args.output, &args.speaker) {
        (Some(path), _) => SinkSpec::Wav {
            path: path.clone(),
            rate: 48_000,
            channels: 1,
        },
        (None, Some(device)) => SinkSpec::Device {
            device: Some(device.clone()).filter(|d| !d.is_empty()),
        },
        (None, None) if script.is_some() => SinkSpec::Null { rate: 48_000 },
        (None, None) => SinkSpec::Device { device: None },
    };

    let (engine, mut events) = Engine::start(config).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    let mut run = Run {
        engine: engine.clone(),
        json: args.json,
        setup: Some(setup),
        credentials: Some(if args.backend.server.is_some() {
            None
        } else {
            Some(Credentials::Offline {
                name: args.name.clone(),
            })
        }),
        last_state: String::new(),
        ended: false,
        level: 0.0,
        elapsed_ms: 0,
        question: (0, 0),
    };
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let code = loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break exit::FAILED };
                if let Some(script) = &mut script
                    && matches!(event, EngineEvent::Interviewer { activity: Activity::Listening, .. })
                {
                    script.on_listening();
                }
                if let Some(code) = run.on_event(event).await? {
                    break code;
                }
            }
            _ = poll.tick() => {
                if let Some(script) = &mut script
                    && !run.ended
                    && run.last_state == "live"
                    && script.finished(END_AFTER_LAST_ANSWER)
                {
                    run.end().await;
                }
            }
            _ = &mut ctrl_c, if !run.ended => {
                if !run.json { println!(); }
                run.end().await;
            }
            _ = tokio::time::sleep_until(deadline) => {
                human::error("the interview took longer than --timeout allows");
                break exit::FAILED;
            }
        }
    };
    engine.shutdown().await;
    Ok(code)
}

/// `samples` at `from` Hz, resampled to `to` Hz (the resampler's delay is
/// flushed with silence so the whole answer comes out).
fn to_rate(samples: &[f32], from: u32, to: u32) -> anyhow::Result<Vec<f32>> {
    if from == to {
        return Ok(samples.to_vec());
    }
    let mut resampler = candor_audio::resample::MonoResampler::new(from, to)?;
    let mut out = Vec::with_capacity(samples.len() * to as usize / from as usize + 1024);
    resampler.process(samples, &mut out)?;
    let tail =
        vec![0.0; resampler.buffered_input() + resampler.delay_frames() + from as usize / 50];
    resampler.process(&tail, &mut out)?;
    Ok(out)
}

fn read_text(path: Option<&PathBuf>) -> anyhow::Result<Option<String>> {
    path.map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .transpose()
}

struct Run {
    engine: Engine,
    json: bool,
    setup: Option<InterviewSetup>,
    /// `Some(None)`: a hosted backend with no saved sign-in.
    credentials: Option<Option<Credentials>>,
    last_state: String,
    ended: bool,
    level: f32,
    elapsed_ms: u64,
    question: (u32, u32),
}

impl Run {
    async fn end(&mut self) {
        self.ended = true;
        if let Err(e) = self.engine.intent(Intent::EndInterview).await {
            tracing::debug!(error = %e, "end refused");
        }
    }

    /// Renders one event and moves the interview along; `Some(code)` ends the run.
    async fn on_event(&mut self, event: EngineEvent) -> anyhow::Result<Option<u8>> {
        if self.json {
            println!("{}", serde_json::to_string(&event)?);
        }
        match event {
            EngineEvent::View { view } => return self.on_view(*view).await,
            EngineEvent::Transcript {
                speaker,
                text,
                is_final,
                ..
            } if is_final && !self.json && !(speaker == Speaker::Candidate && text.is_empty()) => {
                human::transcript(speaker, &text);
            }
            EngineEvent::Level { level, .. } => {
                self.level = level;
                if !self.json {
                    human::meter(level, self.elapsed_ms, self.question);
                }
            }
            EngineEvent::Stats { elapsed_ms, .. } => self.elapsed_ms = elapsed_ms,
            EngineEvent::Interviewer {
                question_index,
                question_count,
                ..
            } => self.question = (question_index, question_count),
            EngineEvent::Notice { message, .. } if !self.json => human::error(&message),
            _ => {}
        }
        Ok(None)
    }

    async fn on_view(&mut self, view: candor_client::View) -> anyhow::Result<Option<u8>> {
        let name = match &view.auth {
            AuthView::Authenticated { .. } => view.interview.name(),
            other => other.name(),
        };
        let changed = name != self.last_state;
        self.last_state = name.to_owned();
        if changed && !self.json {
            let detail = match &view.interview {
                InterviewView::Connecting {
                    attempt,
                    max_attempts,
                    ..
                } if *attempt > 1 => {
                    format!("attempt {attempt} of {max_attempts}")
                }
                InterviewView::Reconnecting {
                    attempt,
                    max_attempts,
                    ..
                } => {
                    format!("attempt {attempt} of {max_attempts}")
                }
                InterviewView::PermissionsDenied { message, .. } => message.clone(),
                InterviewView::Error { message, .. } => message.clone(),
                _ => String::new(),
            };
            human::state(name, &detail);
        }
        match (&view.auth, &view.interview) {
            (AuthView::Unauthenticated { notice }, _) => match self.credentials.take() {
                Some(Some(credentials)) => {
                    self.engine
                        .intent(Intent::SignIn(credentials))
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
                Some(None) => {
                    human::error(
                        "Not signed in to this backend: run `candor login --server URL --email ...` first.",
                    );
                    return Ok(Some(exit::UNAUTHENTICATED));
                }
                None => {
                    if let Some(notice) = notice {
                        human::error(notice);
                    }
                    return Ok(Some(exit::UNAUTHENTICATED));
                }
            },
            (AuthView::Authenticated { .. }, InterviewView::Idle) => {
                if let Some(setup) = self.setup.take() {
                    self.engine
                        .intent(Intent::StartInterview(setup))
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
            }
            (_, InterviewView::PermissionsDenied { problem, .. }) => {
                let hint = match problem {
                    MicProblem::Denied => {
                        "Allow Candor to use the microphone in your system settings, then try again."
                    }
                    _ => {
                        "Connect a microphone (or choose one with --mic NAME; see `candor devices`), then try again."
                    }
                };
                human::error(hint);
                return Ok(Some(exit::NO_MICROPHONE));
            }
            (_, InterviewView::ResultsReady { results, .. }) => {
                if self.json {
                    println!(
                        "{}",
                        serde_json::json!({ "type": "results", "results": results })
                    );
                } else {
                    human::results(results);
                }
                return Ok(Some(0));
            }
            (_, InterviewView::Error { .. }) => return Ok(Some(exit::FAILED)),
            _ => {}
        }
        Ok(None)
    }
}
