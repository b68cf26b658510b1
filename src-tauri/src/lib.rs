//! The Candor desktop shell: a thin Tauri layer over the client engine.
//!
//! It starts the engine (with the embedded offline backend unless a hosted
//! backend is configured), forwards the UI's intents to it as commands, and
//! pushes the engine's events to the UI on a `Channel`. It holds no lifecycle
//! logic: what the UI shows is the engine's view. Only this crate knows Tauri's
//! IPC types.

#[macro_use]
mod command_list;
mod commands;
mod events;
#[cfg(target_os = "linux")]
mod renderer;
mod settings;

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
    #[cfg(target_os = "linux")]
    let renderer = renderer::configure();
    tauri::Builder::default()
        .setup(move |app| {
            let paths = settings::AppPaths::resolve(app.handle())?;
            init_logging(&paths);
            #[cfg(target_os = "linux")]
            tracing::info!("{renderer}");
            let state = Arc::new(AppState::new(paths, launched));
            app.manage(state.clone());
            tauri::async_runtime::block_on(async move { state.start_engine().await })
                .map_err(|e| -> Box<dyn std::error::Error> { e.into() })?;
            Ok(())
        })
        .invoke_handler(with_commands!(command_handler))
        .build(tauri::generate_context!("tauri.conf.json"))
        .expect("error while building the Candor app")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                let state = app.state::<Arc<AppState>>().inner().clone();
                tauri::async_runtime::block_on(async move { state.shutdown().await });
            }
        });
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
