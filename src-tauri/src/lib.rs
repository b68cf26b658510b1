//! The Candor desktop shell: a thin Tauri layer over the client engine.
//!
//! It starts the engine (with the embedded offline backend unless a hosted
//! backend is configured), forwards the UI's intents to it as commands, and
//! pushes the engine's events to the UI on a `Channel`. It holds no lifecycle
//! logic: what the UI shows is the engine's view. Only this crate knows Tauri's
//! IPC types.

mod about;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod allocator;
#[macro_use]
mod command_list;
mod commands;
mod diagnostics;
mod events;
#[cfg(target_os = "linux")]
mod instance;
mod launch;
#[cfg(target_os = "linux")]
mod renderer;
mod replay;
#[cfg(target_os = "linux")]
mod script_tiers;
mod settings;
mod window;

use std::sync::Arc;

use tauri::Manager;
use tokio::sync::Mutex;

pub use commands::AppState;

/// Every command the UI may call (Tauri `invoke` names), from the one list in
/// `command_list.rs`.
pub const COMMANDS: &[&str] = with_commands!(command_names);

/// The invoke handler for every command in the list.
macro_rules! command_handler {
    ($($command:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$command),*]
    };
}

/// Builds and runs the app until its window closes.
pub fn run() {
    let launched = std::time::Instant::now();
    // Before anything allocates much or starts a thread or a web process.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let allocator = allocator::configure();
    let context = tauri::generate_context!("tauri.conf.json");
    // First, so a second launch hands over before anything else starts.
    #[cfg(target_os = "linux")]
    let mut instance = claim_instance(&context.config().identifier);
    #[cfg(target_os = "linux")]
    let renderer = Some(renderer::configure());
    #[cfg(target_os = "linux")]
    let script_tiers = script_tiers::configure();
    #[cfg(not(target_os = "linux"))]
    let renderer: Option<String> = None;
    #[cfg(target_os = "linux")]
    let level_updates_per_second = renderer
        .as_ref()
        .map(|choice| choice.renderer.level_updates_per_second());
    #[cfg(not(target_os = "linux"))]
    let level_updates_per_second = None;
    let builder = tauri::Builder::default();
    // First, so a second launch hands over before anything else starts.
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(window::single_instance());
    let builder = builder.plugin(window::state());
    #[cfg(target_os = "linux")]
    let builder = match &renderer {
        Some(choice) => builder.plugin(window::paint_hint(choice.renderer)),
        None => builder,
    };
    builder
        .plugin(tauri_plugin_dialog::init())
        .register_asynchronous_uri_scheme_protocol(replay::SCHEME, replay::handle)
        .setup(move |app| {
            let paths = settings::AppPaths::resolve(app.handle())?;
            init_logging(&paths);
            if let Some(renderer) = &renderer {
                tracing::info!("{renderer}");
            }
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            tracing::info!("{allocator}");
            #[cfg(target_os = "linux")]
            tracing::info!("{script_tiers}");
            window::save_when_settled(app.handle());
            #[cfg(target_os = "linux")]
            if let Some(primary) = instance.take() {
                let handle = app.handle().clone();
                primary.serve(move || window::focus_main(&handle))?;
            }
            let renderer = renderer.as_ref().map(|r| r.to_string());
            let state = Arc::new(AppState::new(
                paths,
                launched,
                renderer,
                level_updates_per_second,
            ));
            app.manage(state.clone());
            tauri::async_runtime::block_on(async move { state.start_engine().await })
                .map_err(|e| -> Box<dyn std::error::Error> { e.into() })?;
            Ok(())
        })
        .invoke_handler(with_commands!(command_handler))
        .build(context)
        .expect("error while building the Candor app")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                let state = app.state::<Arc<AppState>>().inner().clone();
                tauri::async_runtime::block_on(async move { state.shutdown().await });
            }
        });
}

/// Claims this launch's data directory ([`instance`]), or ends this
/// launch: another Candor on the same data showed its window (exit code 0),
/// or holds the data without answering (exit code 1). `None` when the check
/// could not be made (the app starts anyway: being unable to tell is no
/// reason not to run). Said on stderr: the log is not open yet.
#[cfg(target_os = "linux")]
fn claim_instance(identifier: &str) -> Option<instance::Primary> {
    use std::io::Write as _;
    let say = |line: std::fmt::Arguments<'_>| {
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    let Some(dir) = instance::data_dir(identifier) else {
        say(format_args!(
            "candor: neither XDG_DATA_HOME nor HOME is set: not checking for a running Candor"
        ));
        return None;
    };
    match instance::claim(&dir, instance::Patience::default()) {
        Ok(instance::Launch::First(primary)) => Some(primary),
        Ok(instance::Launch::HandedOver) => {
            say(format_args!(
                "Candor is already running: its window was brought to the front."
            ));
            std::process::exit(0);
        }
        Ok(instance::Launch::Unanswered(e)) => {
            say(format_args!("candor: {e}"));
            std::process::exit(1);
        }
        Err(e) => {
            say(format_args!(
                "candor: could not check for a running Candor in {}: {e}; starting anyway",
                dir.display()
            ));
            None
        }
    }
}

/// Logs go to the platform log directory (`candor.log`), and to stderr.
fn init_logging(paths: &settings::AppPaths) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANDOR_LOG")
        .unwrap_or_else(|_| "info,tao=warn,wry=warn".into());
    let file = candor_client::private_fs::create_dir(&paths.log_dir)
        .and_then(|()| candor_client::private_fs::open_append(&paths.log_dir.join("candor.log")))
        .ok()
        .map(|f| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
        });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
}

/// The engine, once started; replaced when the backend setting changes.
type EngineSlot = Mutex<Option<candor_client::Engine>>;
