//! `candor-server`: the backend on its own (the `candor serve` command runs
//! the same [`candor_server::serve`] path: SIGTERM or SIGINT drains, then
//! stops).
//!
//! ```text
//! candor-server [--addr 127.0.0.1:8080] [--data-dir DIR | --database postgres://…]
//!               [--allow-local-profiles] [--speech-model DIR] [--log-format text|json]
//! ```
//!
//! Every option has an environment variable, which the flag overrides:
//! `CANDOR_ADDR`, `CANDOR_DATA_DIR` (SQLite), `CANDOR_DATABASE_URL`
//! (PostgreSQL instead),
//! `CANDOR_SPEECH_MODEL` (a Whisper model
//! directory, see `candor-speech`, so the offline interviewer hears the
//! candidate's words), `CANDOR_LOG_FORMAT`; the log filter is `RUST_LOG`
//! (default `info`). Logs go to standard output.
//!
//! With `GEMINI_API_KEY` set the interviewer is the Gemini Live API (model,
//! voice and base URL from `CANDOR_GEMINI_MODEL`, `CANDOR_GEMINI_VOICE`,
//! `CANDOR_GEMINI_FEEDBACK_MODEL`, `CANDOR_GEMINI_BASE_URL`); otherwise the
//! offline practice interviewer. Limits, the drain deadline and the session
//! lease come from `CANDOR_MAX_*`, `CANDOR_DRAIN_SECONDS`,
//! `CANDOR_SESSION_LEASE_MS` and `CANDOR_TRUST_FORWARDED_FOR`
//! ([`Config::limits_from_vars`]).

use std::path::PathBuf;

use anyhow::{Context, bail};
use candor_server::logs::{self, LogFormat, LogTarget};
use candor_server::{Config, DatabaseUrl, GeminiConfig};

const USAGE: &str = "usage: candor-server [--addr HOST:PORT] [--data-dir DIR | --database postgres://...] [--allow-local-profiles] [--speech-model DIR] [--log-format text|json]";

struct Args {
    config: Config,
    log_format: LogFormat,
}

fn parse_args() -> anyhow::Result<Args> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut addr = env("CANDOR_ADDR").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let mut data_dir =
        env("CANDOR_DATA_DIR").map_or_else(|| PathBuf::from("candor-data"), PathBuf::from);
    let mut database = env(DatabaseUrl::VAR).unwrap_or_default();
    let mut local = false;
    let mut speech_model = env("CANDOR_SPEECH_MODEL").map(PathBuf::from);
    let mut log_format = env("CANDOR_LOG_FORMAT").unwrap_or_default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().context(USAGE)?,
            "--data-dir" => data_dir = args.next().context(USAGE)?.into(),
            "--database" => database = args.next().context(USAGE)?,
            "--allow-local-profiles" => local = true,
            "--speech-model" => speech_model = Some(args.next().context(USAGE)?.into()),
            "--log-format" => log_format = args.next().context(USAGE)?,
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
    config.database = DatabaseUrl::parse(&database).map_err(anyhow::Error::msg)?;
    config.allow_local_profiles = local;
    config.practice.speech_model = speech_model;
    config.gemini = GeminiConfig::from_env();
    config
        .limits_from_vars(|name| std::env::var(name).ok())
        .map_err(anyhow::Error::msg)?;
    Ok(Args {
        config,
        log_format: log_format.parse().map_err(anyhow::Error::msg)?,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    logs::init(args.log_format, LogTarget::Stdout, "RUST_LOG", "info");
    candor_server::serve(args.config).await?;
    Ok(())
}
