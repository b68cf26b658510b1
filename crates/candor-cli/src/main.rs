//! `candor`: Candor from the command line.
//!
//! `candor practice` runs a whole interview headless — against the embedded
//! offline backend by default — with the microphone and speaker or with WAV
//! files, showing the state, the live transcript and the input level, then the
//! results. The other commands sign in, list the history, show results, list
//! audio devices, and run the backend server.

mod human;
mod paths;
mod practice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use url::Url;

/// Exit codes a script can act on.
pub mod exit {
    /// The interview (or command) failed; the message says why.
    pub const FAILED: u8 = 1;
    /// Bad arguments (clap's own code).
    pub const USAGE: u8 = 2;
    /// Not signed in, or the sign-in was refused.
    pub const UNAUTHENTICATED: u8 = 3;
    /// The microphone is denied or missing.
    pub const NO_MICROPHONE: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "candor",
    version,
    about = "Practise job interviews by voice with an AI interviewer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a practice interview.
    Practice(practice::PracticeArgs),
    /// Sign in to a hosted backend and keep the sign-in in the OS keyring.
    Login(LoginArgs),
    /// Forget the saved sign-in for a backend.
    Logout(BackendArgs),
    /// List past interviews.
    History(ListArgs),
    /// Show the results of an interview, or export it into a folder.
    Results(ResultsArgs),
    /// Delete an interview and everything stored for it.
    Delete(DeleteArgs),
    /// List audio input and output devices.
    Devices(JsonArg),
    /// Run the Candor backend server.
    Serve(ServeArgs),
}

/// Which backend to use.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// A hosted backend, e.g. https://candor.example.com. Without it the
    /// embedded offline backend runs inside this process.
    #[arg(long, env = "CANDOR_BACKEND_URL")]
    server: Option<Url>,
    /// Where the embedded backend keeps its data.
    #[arg(long, env = "CANDOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the sign-in in memory only, not in the OS keyring.
    #[arg(long)]
    no_keyring: bool,
}

#[derive(Debug, Args)]
struct JsonArg {
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct LoginArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// The account's email.
    #[arg(long)]
    email: String,
    /// The password (read from standard input when not given).
    #[arg(long, env = "CANDOR_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    json: JsonArg,
    /// Offline profile name (embedded backend).
    #[arg(long, default_value = "Candidate")]
    name: String,
}

#[derive(Debug, Args)]
struct ResultsArgs {
    /// The interview id (see `candor history`).
    id: String,
    /// Write the interview into this folder (new or empty) instead of
    /// showing it: README.txt, interview.ogg and answer-NN.ogg (your voice,
    /// Ogg Opus), transcript.txt, transcript.vtt and report.html.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, Args)]
struct DeleteArgs {
    /// The interview id (see `candor history`).
    id: String,
    /// Confirms the deletion: its recording, transcript and results are
    /// erased for good.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    list: ListArgs,
}

/// `candor serve`. Every option can come from the environment (the flag
/// wins); the limits, the drain deadline and the session lease are
/// `CANDOR_MAX_*`, `CANDOR_DRAIN_SECONDS` and `CANDOR_SESSION_LEASE_MS` (see
/// the README's "Deploying"). SIGTERM or SIGINT
/// drains the server, then stops it.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, env = "CANDOR_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where the server keeps its SQLite database (not needed with
    /// `--database`).
    #[arg(long, env = "CANDOR_DATA_DIR", required_unless_present = "database")]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL URL (`postgres://user:password@host:port/db`): keep
    /// everything there instead of SQLite (README, "Deploying").
    #[arg(long, env = "CANDOR_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// Allow password-less local profiles (only for a server on this machine).
    #[arg(long)]
    allow_local_profiles: bool,
    /// A Whisper model directory, so the offline interviewer hears the
    /// candidate's words.
    #[arg(long, env = "CANDOR_SPEECH_MODEL")]
    speech_model: Option<PathBuf>,
    /// `text`, or `json` for one JSON object per log line. The filter is
    /// `CANDOR_LOG` (default `info` for the server).
    #[arg(long, env = "CANDOR_LOG_FORMAT", default_value = "text")]
    log_format: candor_server::logs::LogFormat,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A server logs what it does (to stderr: stdout is the CLI's own
    // output); the other commands only warn.
    match &cli.command {
        Command::Serve(args) => candor_server::logs::init(
            args.log_format,
            candor_server::logs::LogTarget::Stderr,
            "CANDOR_LOG",
            "info",
        ),
        _ => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("CANDOR_LOG")
                        .unwrap_or_else(|_| "warn".into()),
                )
                .with_writer(std::io::stderr)
                .init();
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            human::error(&format!("cannot start: {e}"));
            return ExitCode::from(exit::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            human::error(&format!("{e:#}"));
            ExitCode::from(exit::FAILED)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Practice(args) => practice::run(args).await,
        Command::Login(args) => login(args).await,
        Command::Logout(args) => {
            paths::token_store(&args)?.clear()?;
            println!("Signed out.");
            Ok(0)
        }
        Command::History(args) => history(args).await,
        Command::Results(args) => match args.export.clone() {
            Some(dir) => export(args, dir).await,
            None => results(args).await,
        },
        Command::Delete(args) => delete(args).await,
        Command::Devices(args) => devices(args.json),
        Command::Serve(args) => serve(args).await,
    }
}

async fn login(args: LoginArgs) -> anyhow::Result<u8> {
    let url = args
        .backend
        .server
        .clone()
        .context("`candor login` is for a hosted backend: pass --server URL (the offline backend needs no login)")?;
    let password = match args.password {
        Some(p) => p,
        None => {
            human::prompt(&format!("Password for {}: ", args.email));
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let api = candor_client::api::ApiClient::new(url)?;
    match api.sign_in(&args.email, &password).await {
        Ok(auth) => {
            paths::token_store(&args.backend)?.save(&auth.token)?;
            println!("Signed in as {}.", auth.user.display_name);
            Ok(0)
        }
        Err(candor_client::api::ApiFailure::Unauthenticated(message)) => {
            human::error(&message);
            Ok(exit::UNAUTHENTICATED)
        }
        Err(e) => Err(e.into()),
    }
}

/// A signed-in API client for the chosen backend (and the embedded server
/// when there is no hosted one).
async fn signed_in(
    backend: &BackendArgs,
    name: &str,
) -> anyhow::Result<
    Option<(
        candor_client::api::ApiClient,
        String,
        Option<candor_server::RunningServer>,
    )>,
> {
    match &backend.server {
        Some(url) => {
            let api = candor_client::api::ApiClient::new(url.clone())?;
            let Some(token) = paths::token_store(backend)?.load()? else {
                human::error("Not signed in: run `candor login --server URL --email ...` first.");
                return Ok(None);
            };
            Ok(Some((api, token, None)))
        }
        None => {
            let data_dir = paths::data_dir(backend)?;
            let mut config = candor_server::Config::embedded(data_dir);
            config.practice.enabled = false;
            let server = candor_server::Server::start(config).await?;
            let mut api = candor_client::api::ApiClient::new(Url::parse(&format!(
                "http://{}/",
                server.addr()
            ))?)?;
            if let Some(secret) = server.launch_secret() {
                api = api.with_launch_secret(secret.expose())?;
            }
            let auth = api.sign_in_local(name).await?;
            Ok(Some((api, auth.token, Some(server))))
        }
    }
}

async fn history(args: ListArgs) -> anyhow::Result<u8> {
    let Some((api, token, server)) = signed_in(&args.backend, &args.name).await? else {
        return Ok(exit::UNAUTHENTICATED);
    };
    let page = api.history(&token, 100).await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    let page = page?;
    let items: Vec<candor_client::ipc::InterviewSummary> =
        page.items.iter().map(Into::into).collect();
    if args.json.json {
        for item in &items {
            println!("{}", serde_json::to_string(item)?);
        }
    } else {
        human::history(&items);
    }
    Ok(0)
}

async fn results(args: ResultsArgs) -> anyhow::Result<u8> {
    let Some((api, token, server)) = signed_in(&args.list.backend, &args.list.name).await? else {
        return Ok(exit::UNAUTHENTICATED);
    };
    let outcome = async {
        let interview = api.interview(&token, &args.id).await?;
        let results = api.results(&token, &args.id).await?;
        anyhow::Ok((interview, results))
    }
    .await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    let (interview, results) = outcome?;
    match results {
        candor_api::ResultsResponse::Ready { feedback, attempts } => {
            let results = candor_client::ipc::Results::from_api(
                &interview,
                &feedback,
                &attempts,
                String::new(),
            );
            if args.list.json.json {
                println!("{}", serde_json::to_string(&results)?);
            } else {
                human::results(&results);
            }
            Ok(0)
        }
        candor_api::ResultsResponse::Processing => {
            println!("The results of {} are still being processed.", args.id);
            Ok(0)
        }
        candor_api::ResultsResponse::NotStarted => {
            human::error("This interview was never started, so it has no results.");
            Ok(exit::FAILED)
        }
        candor_api::ResultsResponse::Failed { message } => {
            human::error(&format!("The results could not be computed: {message}"));
            Ok(exit::FAILED)
        }
    }
}

/// `candor results ID --export DIR`.
async fn export(args: ResultsArgs, dir: PathBuf) -> anyhow::Result<u8> {
    let Some((api, token, server)) = signed_in(&args.list.backend, &args.list.name).await? else {
        return Ok(exit::UNAUTHENTICATED);
    };
    let zip = api.export(&token, &args.id).await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    let zip = match zip {
        Ok(zip) => zip,
        Err(e) => {
            human::error(&format!("Could not export the interview: {e}"));
            return Ok(exit::FAILED);
        }
    };
    let written = match candor_client::export::unpack(&zip, &dir) {
        Ok(written) => written,
        Err(e) => {
            human::error(&format!("Could not export the interview: {e}."));
            return Ok(exit::FAILED);
        }
    };
    let exported = candor_client::ipc::ExportedInterview {
        folder: std::path::absolute(&dir)?.display().to_string(),
        files: written
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect(),
    };
    if args.list.json.json {
        println!("{}", serde_json::to_string(&exported)?);
    } else {
        println!("Exported to {}:", exported.folder);
        for f in &exported.files {
            println!("  {f}");
        }
    }
    Ok(0)
}

/// `candor delete ID --yes`.
async fn delete(args: DeleteArgs) -> anyhow::Result<u8> {
    if !args.yes {
        human::error(
            "Deleting erases the interview's recording, transcript and results for good. Add --yes to confirm (export it first to keep a copy).",
        );
        return Ok(exit::USAGE);
    }
    let Some((api, token, server)) = signed_in(&args.list.backend, &args.list.name).await? else {
        return Ok(exit::UNAUTHENTICATED);
    };
    let deleted = api.delete_interview(&token, &args.id).await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    match deleted {
        Ok(()) => {
            println!("Deleted interview {}.", args.id);
            Ok(0)
        }
        Err(e) => {
            human::error(&format!("Could not delete the interview: {e}"));
            Ok(exit::FAILED)
        }
    }
}

fn devices(json: bool) -> anyhow::Result<u8> {
    use candor_audio::devices::{Direction, list_devices};
    for (label, direction) in [("input", Direction::Input), ("output", Direction::Output)] {
        let list = list_devices(direction).with_context(|| format!("listing {label} devices"))?;
        for d in list {
            if json {
                let config = d.default_config.as_ref();
                println!(
                    "{}",
                    serde_json::json!({
                        "direction": label,
                        "id": d.id,
                        "name": d.name,
                        "isDefault": d.is_default,
                        "rate": config.map(|c| c.rate),
                        "channels": config.map(|c| c.channels),
                    })
                );
            } else {
                let mark = if d.is_default { "*" } else { " " };
                println!("{mark} {label:<6} {}  ({})", d.name, d.id);
            }
        }
    }
    Ok(0)
}

async fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    let database = candor_server::DatabaseUrl::parse(args.database.as_deref().unwrap_or(""))
        .map_err(anyhow::Error::msg)?;
    let data_dir = match (&database, args.data_dir) {
        (None, None) => anyhow::bail!(
            "where to keep the data: --data-dir (CANDOR_DATA_DIR) for SQLite, or --database (CANDOR_DATABASE_URL) for PostgreSQL"
        ),
        (_, dir) => dir.unwrap_or_default(),
    };
    let mut config = candor_server::Config::new(args.addr, data_dir);
    config.database = database;
    config.allow_local_profiles = args.allow_local_profiles;
    config.practice.speech_model = args.speech_model;
    // GEMINI_API_KEY (and CANDOR_GEMINI_*) select the Gemini Live interviewer.
    config.gemini = candor_server::GeminiConfig::from_env();
    // CANDOR_MAX_*, CANDOR_DRAIN_SECONDS, CANDOR_SESSION_LEASE_MS and
    // CANDOR_TRUST_FORWARDED_FOR tune a hosted backend.
    config
        .limits_from_vars(|name| std::env::var(name).ok())
        .map_err(anyhow::Error::msg)?;
    let interviewer = if config.gemini.enabled() {
        format!("Gemini Live ({})", config.gemini.model)
    } else {
        "offline practice".to_owned()
    };
    let store = match &config.database {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite in {}", config.data_dir.display()),
    };
    let local = config.allow_local_profiles;
    // Listening for SIGTERM/SIGINT before the server starts: none finds the
    // default action (an abrupt exit) in place.
    let signals = candor_server::drain::StopSignals::listen()?;
    let server = candor_server::Server::start_standalone(config).await?;
    println!(
        "Candor backend listening on http://{} (interviewer: {interviewer}; store: {store})",
        server.addr()
    );
    if local {
        println!(
            "Local profiles: only your own user's Candor app and CLI can sign in (the server's secret is in your runtime directory)."
        );
    }
    candor_server::run_until_signal(server, signals).await;
    println!("Candor backend stopped.");
    Ok(0)
}
