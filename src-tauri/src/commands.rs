//! The commands the UI may call (listed once in `command_list.rs`, from which
//! `build.rs` declares them and `lib.rs` registers them; granted to the main
//! window by `capabilities/main.json`). Every one forwards to the engine; a
//! refusal comes back as a message fit for the user.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candor_audio::{SinkSpec, SourceSpec};
use candor_client::backend::speech_models_dir;
use candor_client::ipc::{
    About, AudioDevice, DeviceList, ExportedInterview, Settings, SpeechModels,
};
use candor_client::{
    BackendConfig, Credentials, Engine, EngineConfig, EngineEvent, Intent, InterviewSetup,
    KeyringStore, SpeechModelsConfig,
};
use tauri::State;
use tokio::sync::Mutex;
use url::Url;

use crate::EngineSlot;
use crate::diagnostics::{self, BackendFacts, Facts};
use crate::events::{EventChannel, Subscriber};
use crate::settings::{self, AppPaths, StoredSettings};
use crate::{about, launch};

/// Everything the commands share.
#[derive(Debug)]
pub struct AppState {
    paths: AppPaths,
    engine: EngineSlot,
    settings: Mutex<StoredSettings>,
    devices: Mutex<DeviceList>,
    subscriber: Subscriber,
    /// When the process started, for the launch-to-UI time in the log.
    launched: Instant,
    ui_seen: AtomicBool,
    /// How the web view draws (Linux: the renderer chosen at launch), for
    /// the diagnostics.
    renderer: Option<String>,
    /// How many microphone levels a second the page is sent, when the
    /// renderer says (see `Renderer::level_updates_per_second`).
    level_updates_per_second: Option<u32>,
    clipboard: KeptClipboard,
}

/// The system clipboard, opened on first use and kept for the app's
/// lifetime: on X11 copied text lives only as long as its owner.
#[derive(Default)]
struct KeptClipboard(std::sync::Mutex<Option<arboard::Clipboard>>);

impl std::fmt::Debug for KeptClipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptClipboard")
    }
}

impl KeptClipboard {
    fn copy(&self, text: &str) -> Result<(), String> {
        let mut clipboard = self
            .0
            .lock()
            .map_err(|_| "The clipboard is unavailable.".to_owned())?;
        if clipboard.is_none() {
            *clipboard = Some(
                arboard::Clipboard::new()
                    .map_err(|e| format!("Could not reach the clipboard: {e}"))?,
            );
        }
        clipboard
            .as_mut()
            .expect("opened above")
            .set_text(text)
            .map_err(|e| format!("Could not copy to the clipboard: {e}"))
    }
}

type Shared<'a> = State<'a, Arc<AppState>>;

impl AppState {
    pub fn new(
        paths: AppPaths,
        launched: Instant,
        renderer: Option<String>,
        level_updates_per_second: Option<u32>,
    ) -> Self {
        let settings = paths.load_settings();
        Self {
            launched,
            ui_seen: AtomicBool::new(false),
            renderer,
            level_updates_per_second,
            clipboard: KeptClipboard::default(),
            paths,
            engine: Mutex::new(None),
            settings: Mutex::new(settings),
            devices: Mutex::new(DeviceList::default()),
            subscriber: Subscriber::default(),
        }
    }

    /// Starts (or restarts) the engine with the current settings.
    pub async fn start_engine(&self) -> Result<(), String> {
        let StoredSettings { settings, speech } = self.settings.lock().await.clone();
        let backend = match settings::backend_url(&settings) {
            Some(url) => BackendConfig::Remote {
                url: Url::parse(&url).map_err(|e| format!("Invalid backend URL {url}: {e}"))?,
            },
            None => BackendConfig::Embedded {
                data_dir: self.paths.backend_dir(),
                speech_model: None,
            },
        };
        let key = match &backend {
            BackendConfig::Remote { url } => url.to_string(),
            BackendConfig::Embedded { .. } => "embedded".to_owned(),
        };
        let mut config = EngineConfig::new(backend, Arc::new(KeyringStore::new(&key)));
        config.echo_cancellation = settings.echo_cancellation;
        if let Some(rate) = self.level_updates_per_second {
            config.level_updates_per_second = rate;
        }
        // The models live with the embedded backend's data, and are managed
        // (downloaded, chosen) whichever backend is in use.
        config.speech_models = Some(SpeechModelsConfig {
            source: speech.model_source,
            chosen: speech.speech_model,
            ..SpeechModelsConfig::new(speech_models_dir(&self.paths.backend_dir()))
        });
        let devices = self.devices.lock().await.clone();
        config.input = SourceSpec::Device {
            device: devices.selected_input.clone(),
        };
        config.output = SinkSpec::Device {
            device: devices.selected_output.clone(),
        };
        let mut slot = self.engine.lock().await;
        if let Some(old) = slot.take() {
            old.shutdown().await;
        }
        let (engine, events) = Engine::start(config).await.map_err(|e| e.to_string())?;
        self.subscriber.forward(events);
        if let Some(view) = engine.view().await {
            self.subscriber.send(EngineEvent::View {
                view: Box::new(view),
            });
        }
        *slot = Some(engine);
        Ok(())
    }

    pub async fn shutdown(&self) {
        if let Some(engine) = self.engine.lock().await.take() {
            engine.shutdown().await;
        }
    }

    async fn engine(&self) -> Result<Engine, String> {
        self.engine
            .lock()
            .await
            .clone()
            .ok_or_else(|| "Candor is still starting; try again in a moment.".to_owned())
    }

    /// A past interview's audio for the `replay` protocol.
    pub(crate) async fn replay_audio(
        &self,
        interview_id: &str,
        file: &str,
        range: Option<&str>,
    ) -> Result<candor_client::api::AudioPart, String> {
        self.engine()
            .await?
            .replay_audio(interview_id, file, range)
            .await
    }

    async fn intent(&self, intent: Intent) -> Result<(), String> {
        self.engine().await?.intent(intent).await
    }

    /// Changes the saved settings with `change` and writes them.
    async fn update_settings(
        &self,
        change: impl FnOnce(&mut StoredSettings),
    ) -> Result<(), String> {
        let mut stored = self.settings.lock().await;
        let mut next = stored.clone();
        change(&mut next);
        self.paths.save_settings(&next)?;
        *stored = next;
        Ok(())
    }
}

#[tauri::command]
pub async fn subscribe(state: Shared<'_>, on_event: EventChannel) -> Result<(), String> {
    state.subscriber.set(on_event);
    if !state.ui_seen.swap(true, Ordering::Relaxed) {
        // The UI subscribes from its first script run, right before its first
        // render: the launch-to-first-paint figure, as near as the shell sees it.
        tracing::info!(
            ms = state.launched.elapsed().as_millis() as u64,
            "the UI is up"
        );
    }
    let engine = state.engine().await?;
    if let Some(view) = engine.view().await {
        state.subscriber.send(EngineEvent::View {
            view: Box::new(view),
        });
    }
    let devices = state.devices.lock().await.clone();
    if !devices.inputs.is_empty() {
        state.subscriber.send(EngineEvent::Devices { devices });
    }
    Ok(())
}

#[tauri::command]
pub async fn sign_in(state: Shared<'_>, email: String, password: String) -> Result<(), String> {
    state
        .intent(Intent::SignIn(Credentials::Password { email, password }))
        .await
}

#[tauri::command]
pub async fn create_account(
    state: Shared<'_>,
    email: String,
    password: String,
) -> Result<(), String> {
    state
        .intent(Intent::SignIn(Credentials::NewAccount { email, password }))
        .await
}

#[tauri::command]
pub async fn continue_offline(state: Shared<'_>, name: String) -> Result<(), String> {
    state
        .intent(Intent::SignIn(Credentials::Offline { name }))
        .await
}

#[tauri::command]
pub async fn sign_out(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::SignOut).await
}

#[tauri::command]
pub async fn refresh_history(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::RefreshHistory).await
}

#[tauri::command]
pub async fn show_more_history(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::ShowMoreHistory).await
}

#[tauri::command]
pub async fn start_interview(state: Shared<'_>, setup: InterviewSetup) -> Result<(), String> {
    state.intent(Intent::StartInterview(setup)).await
}

#[tauri::command]
pub async fn retry_permissions(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::RetryPermissions).await
}

#[tauri::command]
pub async fn cancel_interview(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::Cancel).await
}

#[tauri::command]
pub async fn end_interview(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::EndInterview).await
}

#[tauri::command]
pub async fn dismiss(state: Shared<'_>) -> Result<(), String> {
    state.intent(Intent::Dismiss).await
}

#[tauri::command]
pub async fn open_results(state: Shared<'_>, interview_id: String) -> Result<(), String> {
    state.intent(Intent::ReviewResults(interview_id)).await
}

/// Asks where to save the interview (the native save dialog, on top of the
/// window), then writes its export there as a new folder. `None` when the
/// candidate cancelled.
#[tauri::command]
pub async fn export_interview(
    app: tauri::AppHandle,
    window: tauri::WebviewWindow,
    state: Shared<'_>,
    interview_id: String,
    suggested_name: String,
) -> Result<Option<ExportedInterview>, String> {
    use tauri::Manager;
    use tauri_plugin_dialog::DialogExt;
    let (chosen, choice) = tokio::sync::oneshot::channel();
    let mut dialog = app
        .dialog()
        .file()
        .set_title("Export the interview to a new folder")
        .set_file_name(folder_name(&suggested_name))
        .set_can_create_directories(true)
        .set_parent(&window);
    if let Ok(documents) = app.path().document_dir() {
        dialog = dialog.set_directory(documents);
    }
    dialog.save_file(move |path| {
        let _ = chosen.send(path);
    });
    let Some(path) = choice
        .await
        .map_err(|_| "The save dialog closed unexpectedly.".to_owned())?
    else {
        return Ok(None);
    };
    let dir = path
        .into_path()
        .map_err(|e| format!("Cannot export there: {e}"))?;
    let exported = state
        .engine()
        .await?
        .export_interview(&interview_id, dir)
        .await?;
    tracing::info!(folder = %exported.folder, files = exported.files.len(), "interview exported");
    Ok(Some(exported))
}

/// A folder name from the UI's suggestion: no path separators or control
/// characters, at most 80 characters.
fn folder_name(suggested: &str) -> String {
    let name: String = suggested
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .take(80)
        .collect();
    let name = name.trim().trim_start_matches('.');
    if name.is_empty() {
        "Candor interview".to_owned()
    } else {
        name.to_owned()
    }
}

#[tauri::command]
pub async fn delete_interview(state: Shared<'_>, interview_id: String) -> Result<(), String> {
    state.engine().await?.delete_interview(&interview_id).await
}

#[tauri::command]
pub async fn set_muted(state: Shared<'_>, muted: bool) -> Result<(), String> {
    state.engine().await?.set_muted(muted);
    Ok(())
}

#[tauri::command]
pub async fn list_devices(state: Shared<'_>) -> Result<DeviceList, String> {
    let listed = list_audio_devices().await?;
    let mut devices = state.devices.lock().await;
    devices.inputs = listed.0;
    devices.outputs = listed.1;
    Ok(devices.clone())
}

#[tauri::command]
pub async fn choose_devices(
    state: Shared<'_>,
    input: Option<String>,
    output: Option<String>,
) -> Result<(), String> {
    let devices = {
        let mut devices = state.devices.lock().await;
        devices.selected_input = input.clone();
        devices.selected_output = output.clone();
        devices.clone()
    };
    state.engine().await?.set_devices(
        Some(SourceSpec::Device { device: input }),
        Some(SinkSpec::Device { device: output }),
    );
    state.subscriber.send(EngineEvent::Devices { devices });
    Ok(())
}

#[tauri::command]
pub async fn get_settings(state: Shared<'_>) -> Result<Settings, String> {
    Ok(state.settings.lock().await.settings.clone())
}

#[tauri::command]
pub async fn save_settings(state: Shared<'_>, settings: Settings) -> Result<(), String> {
    let mut settings = settings;
    settings.backend_url = settings
        .backend_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    if let Some(url) = &settings.backend_url {
        let parsed = Url::parse(url).map_err(|e| format!("That is not a valid URL: {e}"))?;
        if parsed.scheme() != "https" {
            return Err("The backend URL must start with https://".to_owned());
        }
    }
    // Unchanged settings change nothing: the engine (and a model download
    // under way) goes on.
    if state.settings.lock().await.settings == settings {
        return Ok(());
    }
    // Saving restarts the engine, which drops whatever it is doing: only
    // when the interview is at rest (nothing being created, open or awaited).
    if let Some(view) = state.engine().await?.view().await
        && !view.interview.is_at_rest()
    {
        return Err("Finish the interview before changing settings.".to_owned());
    }
    state
        .update_settings(|stored| stored.settings = settings)
        .await?;
    state.start_engine().await
}

#[tauri::command]
pub async fn speech_models(state: Shared<'_>) -> Result<SpeechModels, String> {
    state.engine().await?.speech_models().await
}

#[tauri::command]
pub async fn download_speech_model(state: Shared<'_>, id: String) -> Result<(), String> {
    state.engine().await?.download_speech_model(&id).await
}

#[tauri::command]
pub async fn cancel_speech_model_download(state: Shared<'_>, id: String) -> Result<(), String> {
    state
        .engine()
        .await?
        .cancel_speech_model_download(&id)
        .await
}

#[tauri::command]
pub async fn delete_speech_model(state: Shared<'_>, id: String) -> Result<(), String> {
    state.engine().await?.delete_speech_model(&id).await
}

/// Uses `id` for offline interviews from the next one on (no restart), and
/// saves the choice once the model has loaded.
#[tauri::command]
pub async fn choose_speech_model(state: Shared<'_>, id: String) -> Result<(), String> {
    state.engine().await?.choose_speech_model(&id).await?;
    state
        .update_settings(|stored| stored.speech.speech_model = Some(id))
        .await
}

/// Sets (or with `null`, clears) the model source and saves it; applied at
/// once, without a restart.
#[tauri::command]
pub async fn set_speech_model_source(
    state: Shared<'_>,
    source: Option<String>,
) -> Result<(), String> {
    let saved = state
        .engine()
        .await?
        .set_speech_model_source(source)
        .await?;
    state
        .update_settings(|stored| stored.speech.model_source = saved)
        .await
}

/// The microphones and speakers cpal sees (inputs, outputs), listed off the
/// async runtime.
async fn list_audio_devices() -> Result<(Vec<AudioDevice>, Vec<AudioDevice>), String> {
    tauri::async_runtime::spawn_blocking(|| {
        use candor_audio::devices::{Direction, list_devices};
        let map = |dir| -> Result<Vec<AudioDevice>, String> {
            Ok(list_devices(dir)
                .map_err(|e| format!("Could not list audio devices: {e}"))?
                .into_iter()
                .map(|d| AudioDevice {
                    id: d.id,
                    name: d.name,
                    is_default: d.is_default,
                })
                .collect())
        };
        Ok::<_, String>((map(Direction::Input)?, map(Direction::Output)?))
    })
    .await
    .map_err(|e| e.to_string())?
}

#[tauri::command]
pub async fn about(state: Shared<'_>) -> Result<About, String> {
    Ok(about::about(&state.paths))
}

/// Opens the log directory in the system's file manager.
#[tauri::command]
pub async fn open_logs_folder(state: Shared<'_>) -> Result<(), String> {
    let dir = state.paths.log_dir.clone();
    candor_client::private_fs::create_dir(&dir)
        .map_err(|e| format!("Could not create the logs folder {}: {e}", dir.display()))?;
    launch::open_detached(dir.as_os_str())
        .map_err(|e| format!("Could not open the logs folder {}: {e}", dir.display()))
}

/// Opens a component's home page from the About dialog in the browser; only
/// the pages of the components listed there.
#[tauri::command]
pub async fn open_component_page(name: String) -> Result<(), String> {
    let url = about::component_url(&name).ok_or_else(|| format!("No component {name}."))?;
    launch::open_detached(url.as_ref()).map_err(|e| format!("Could not open {url}: {e}"))
}

/// The diagnostics report, for the About dialog to show.
#[tauri::command]
pub async fn diagnostics(state: Shared<'_>) -> Result<String, String> {
    Ok(diagnostics::render(&state.diagnostic_facts().await))
}

/// Copies the diagnostics report to the clipboard, and returns it.
#[tauri::command]
pub async fn copy_diagnostics(state: Shared<'_>) -> Result<String, String> {
    let report = diagnostics::render(&state.diagnostic_facts().await);
    // Taking the clipboard's ownership talks to the display server: off the
    // async runtime.
    let shared = state.inner().clone();
    let text = report.clone();
    tauri::async_runtime::spawn_blocking(move || shared.clipboard.copy(&text))
        .await
        .map_err(|e| e.to_string())??;
    Ok(report)
}

impl AppState {
    /// What the diagnostics report is made of. Reads no token, password or
    /// account name: the report cannot show what it was never given.
    async fn diagnostic_facts(&self) -> Facts {
        let settings = self.settings.lock().await.settings.clone();
        let backend = match settings::backend_url(&settings) {
            Some(url) => BackendFacts::Hosted {
                from_environment: settings.backend_url.as_deref() != Some(url.as_str()),
                url,
            },
            None => BackendFacts::Embedded,
        };
        let engine = self.engine().await.ok();
        let view = match &engine {
            Some(engine) => engine.view().await,
            None => None,
        };
        let speech = match &engine {
            Some(engine) => engine.speech_models().await.ok(),
            None => None,
        };
        let (account, interview) = match &view {
            Some(view) => (
                match &view.auth {
                    candor_lifecycle::AuthView::Unauthenticated { .. } => "signed out",
                    candor_lifecycle::AuthView::Authenticating => "signing in",
                    candor_lifecycle::AuthView::Authenticated { profile } if profile.offline => {
                        "offline profile"
                    }
                    candor_lifecycle::AuthView::Authenticated { .. } => "signed in to an account",
                }
                .to_owned(),
                view.interview.phase().name().to_owned(),
            ),
            None => ("unknown (starting)".to_owned(), "unknown".to_owned()),
        };
        let selected = self.devices.lock().await.clone();
        let devices = list_audio_devices()
            .await
            .map(|(inputs, outputs)| DeviceList {
                inputs,
                outputs,
                ..selected
            });
        Facts {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            os: diagnostics::os_description(),
            desktop: diagnostics::desktop_description(),
            webview: tauri::webview_version().ok(),
            renderer: self.renderer.clone(),
            backend,
            account,
            interview,
            echo_cancellation: settings.echo_cancellation,
            devices,
            speech,
            locations: about::locations(&self.paths),
            home: std::env::home_dir().map(|h| h.display().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::folder_name;

    #[test]
    fn a_suggested_folder_name_stays_one_plain_name() {
        assert_eq!(
            folder_name("Candor interview 2026-12-01 Software engineer"),
            "Candor interview 2026-12-01 Software engineer"
        );
        assert_eq!(folder_name("../../etc/x\u{7}"), "-..-etc-x-");
        assert_eq!(folder_name("  "), "Candor interview");
        assert_eq!(folder_name(".hidden"), "hidden");
        assert_eq!(folder_name(&"a".repeat(200)).len(), 80);
    }
}
