//! `candor-server`: the backend on its own (the `candor serve` command runs
//! the same [`candor_server::serve`]).
//!
//! ```text
//! candor-server [--addr 127.0.0.1:8080] [--data-dir DIR] [--allow-local-profiles]
//!               [--speech-model DIR]
//! ```
//!
//! `--speech-model` (or `CANDOR_SPEECH_MODEL`) points the offline interviewer
//! at a Whisper model directory (see `candor-speech`) so it hears the
//! candidate's words.
//!
//! With `GEMINI_API_KEY` set the interviewer is the Gemini Live API (model,
//! voice and base URL from `CANDOR_GEMINI_MODEL`, `CANDOR_GEMINI_VOICE`,
//! `CANDOR_GEMINI_FEEDBACK_MODEL`, `CANDOR_GEMINI_BASE_URL`); otherwise the
//! offline practice interviewer. Limits come from `CANDOR_MAX_*` and
//! `CANDOR_TRUST_FORWARDED_FOR` ([`Config::limits_from_vars`]).

use std::path::PathBuf;

use anyhow::{Context, bail};
use candor_server::{Config, GeminiConfig};

const USAGE: &str = "usage: candor-server [--addr HOST:PORT] [--data-dir DIR] [--allow-local-profiles] [--speech-model DIR]";

fn parse_args() -> anyhow::Result<Config> {
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut data_dir = PathBuf::from("candor-data");
    let mut local = false;
    let mut speech_model = std::env::var_os("CANDOR_SPEECH_MODEL").map(PathBuf::from);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().context(USAGE)?,
            "--data-dir" => data_dir = args.next().context(USAGE)?.into(),
            "--allow-local-profiles" => local = true,
            "--speech-model" => speech_model = Some(args.next().context(USAGE)?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let mut config = Config::new(
        addr.parse()
            .with_context(|| format!("invalid address {addr:?}"))?,
        data_dir,
    );
    config.allow_local_profiles = local;
    config.practice.speech_model = speech_model;
    config.gemini = GeminiConfig::from_env();
    config
        .limits_from_vars(|name| std::env::var(name).ok())
        .map_err(anyhow::Error::msg)?;
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = parse_args()?;
    candor_server::serve(config).await?;
    Ok(())
}
