//! Where the desktop app keeps its things (platform config, data and log
//! directories) and the user's settings, stored as JSON.

use std::path::PathBuf;

use candor_client::ipc::Settings;
use tauri::Manager;

/// The app's directories.
#[derive(Debug, Clone)]
pub struct AppPaths {
    pub config_dir: PathBuf,
    /// The embedded backend's database lives here.
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl AppPaths {
    pub fn resolve(app: &tauri::AppHandle) -> Result<Self, tauri::Error> {
        let path = app.path();
        Ok(Self {
            config_dir: path.app_config_dir()?,
            data_dir: path.app_data_dir()?,
            log_dir: path.app_log_dir()?,
        })
    }

    fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.json")
    }

    /// The saved settings, or the defaults. A damaged file is reported in the
    /// log and ignored rather than stopping the app.
    pub fn load_settings(&self) -> Settings {
        match std::fs::read(self.settings_file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "settings file unreadable; using defaults");
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<(), String> {
        std::fs::create_dir_all(&self.config_dir)
            .and_then(|()| {
                let json = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
                let tmp = self.settings_file().with_extension("json.tmp");
                std::fs::write(&tmp, json)?;
                std::fs::rename(tmp, self.settings_file())
            })
            .map_err(|e| format!("Could not save the settings: {e}"))
    }
}

/// The backend URL in effect: `CANDOR_BACKEND_URL` wins over the settings.
pub fn backend_url(settings: &Settings) -> Option<String> {
    std::env::var("CANDOR_BACKEND_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| settings.backend_url.clone())
}
