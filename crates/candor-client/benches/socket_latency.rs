//! Latency of the candidate's audio at the socket, on loopback.
//!
//! A whole client engine runs against the embedded server; the microphone is
//! a real-time paced 48 kHz tone (a device-like source: 10 ms callbacks), so
//! every frame goes through the same capture worker, driver and transport as
//! in the app. For each frame written to the WebSocket it records:
//!
//! - **age**: the frame's oldest sample was captured → its bytes were written;
//! - **transport**: the frame left the audio worker → its bytes were written.
//!
//! The baseline, measured in the same run, is the age of each frame when it
//! leaves the audio worker (what capture, echo cancellation, resampling and
//! Opus cost before the client engine touches it); the ratios say how much the
//! engine and transport add on top.
//!
//! ```text
//! cargo bench -p candor-client --bench socket_latency               # 60 s
//! cargo bench -p candor-client --bench socket_latency -- --seconds 20
//! ```
//!
//! Goals (DESIGN.md): age p99 ≤ 45 ms, transport p99 ≤ 5 ms.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use candor_audio::{Pacing, PcmFormat, SinkSpec, SourceSpec};
use candor_client::{
    BackendConfig, Credentials, Engine, EngineConfig, EngineEvent, Intent, InterviewSetup,
    MemoryStore, View,
};
use tokio::sync::mpsc::UnboundedReceiver;

const AGE_GOAL: Duration = Duration::from_millis(45);
const TRANSPORT_GOAL: Duration = Duration::from_millis(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = parse_seconds()?;
    let dir = tempfile::tempdir()?;
    let mut config = EngineConfig::new(
        BackendConfig::Embedded {
            data_dir: dir.path().to_path_buf(),
            speech_model: None,
        },
        Arc::new(MemoryStore::default()),
    );
    config.input = SourceSpec::Tone {
        frequency: 220.0,
        amplitude: 0.3,
        rate: 48_000,
        channels: 1,
        format: PcmFormat::F32,
        duration: Duration::from_secs(seconds + 30),
        pacing: Pacing::RealTime,
    };
    config.output = SinkSpec::Null { rate: 48_000 };
    config.record_latency = true;
    config.seed = 1;

    let (engine, mut events) = Engine::start(config).await.context("engine starts")?;
    until(&mut events, "unauthenticated").await?;
    engine
        .intent(Intent::SignIn(Credentials::Offline {
            name: "Bench".into(),
        }))
        .await
        .map_err(anyhow::Error::msg)?;
    until(&mut events, "idle").await?;
    engine
        .intent(Intent::StartInterview(InterviewSetup {
            role: candor_client::ipc::Role::Behavioural,
            seniority: candor_client::ipc::Seniority::Mid,
            job_description: None,
            cv_text: None,
            question_count: 3,
            retry: None,
        }))
        .await
        .map_err(anyhow::Error::msg)?;
    until(&mut events, "live").await?;
    // Warm-up: the first second includes stream start and the greeting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    engine.latency().take();

    println!("measuring for {seconds} s …");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => break,
            Ok(None) => bail!("the engine stopped"),
            Ok(Some(EngineEvent::View { view })) if state_of(&view) != "live" => {
                bail!("left `live` during the measurement: {}", state_of(&view))
            }
            Ok(Some(_)) => {}
        }
    }
    let samples = engine.latency().take();
    engine.intent(Intent::EndInterview).await.ok();
    engine.shutdown().await;
    if samples.len() < 100 {
        bail!("only {} frames were written", samples.len());
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let age: Vec<f64> = samples.iter().map(|s| ms(s.age)).collect();
    let transport: Vec<f64> = samples.iter().map(|s| ms(s.transport)).collect();
    let worker: Vec<f64> = samples
        .iter()
        .map(|s| ms(s.age.saturating_sub(s.transport)))
        .collect();
    let (age, transport, worker) = (
        Summary::of(age),
        Summary::of(transport),
        Summary::of(worker),
    );

    println!("socket latency on loopback, {} frames", samples.len());
    println!("                          p50        p99        max");
    worker.print("baseline: age at worker");
    age.print("age at socket");
    transport.print("transport share");
    println!(
        "ratio age at socket / baseline: p50 {:.3}, p99 {:.3}",
        age.p50 / worker.p50,
        age.p99 / worker.p99
    );
    println!(
        "goal age p99 ≤ {} ms: {} ; goal transport p99 ≤ {} ms: {}",
        AGE_GOAL.as_millis(),
        verdict(age.p99 <= ms(AGE_GOAL)),
        TRANSPORT_GOAL.as_millis(),
        verdict(transport.p99 <= ms(TRANSPORT_GOAL)),
    );
    Ok(())
}

struct Summary {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Summary {
    fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }

    fn print(&self, label: &str) {
        println!(
            "{label:<24} {:>7.2} ms {:>7.2} ms {:>7.2} ms",
            self.p50, self.p99, self.max
        );
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn parse_seconds() -> anyhow::Result<u64> {
    let mut args = std::env::args().skip(1);
    let mut seconds = 60;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .context("--seconds needs a value")?
                    .parse()
                    .context("--seconds takes whole seconds")?;
            }
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => bail!("unknown argument {other}; usage: socket_latency [--seconds N]"),
        }
    }
    Ok(seconds)
}

fn state_of(view: &View) -> &'static str {
    match &view.auth {
        candor_lifecycle::AuthView::Authenticated { .. } => view.interview.name(),
        other => other.name(),
    }
}

async fn until(events: &mut UnboundedReceiver<EngineEvent>, state: &str) -> anyhow::Result<()> {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let EngineEvent::View { view } = event
                && state_of(&view) == state
            {
                return Ok(());
            }
        }
        bail!("the engine stopped before `{state}`")
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .with_context(|| format!("no `{state}` within 30 s"))?
}
