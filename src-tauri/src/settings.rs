//! Where the desktop app keeps its things (platform config, data and log
//! directories) and the user's settings, stored as JSON: the settings form's
//! ([`Settings`]) and the speech model choices the model manager makes as the
//! user acts ([`SpeechSettings`]), in one file.

use std::path::{Path, PathBuf};

use candor_client::ipc::Settings;
use serde::{Deserialize, Serialize};
use tauri::Manager;

/// The speech model settings, saved as the user changes them in the model
/// manager (no Save button).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeechSettings {
    /// The model the offline interviewer hears with (an id of the catalog).
    #[serde(default)]
    pub speech_model: Option<String>,
    /// Where models download from (a base URL).
    #[serde(default)]
    pub model_source: Option<String>,
}

/// Everything in `settings.json`. Files written before the model manager
/// have no speech settings and load with none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSettings {
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(flatten)]
    pub speech: SpeechSettings,
}

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

    /// Where the embedded backend keeps its data (database, speech models).
    pub fn backend_dir(&self) -> PathBuf {
        self.data_dir.join("backend")
    }

    /// The saved settings, or the defaults. A damaged file is reported in the
    /// log and ignored rather than stopping the app.
    pub fn load_settings(&self) -> StoredSettings {
        load(&self.settings_file())
    }

    pub fn save_settings(&self, settings: &StoredSettings) -> Result<(), String> {
        save(&self.config_dir, &self.settings_file(), settings)
    }
}

fn load(file: &Path) -> StoredSettings {
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "settings file unreadable; using defaults");
            StoredSettings::default()
        }),
        Err(_) => StoredSettings::default(),
    }
}

fn save(dir: &Path, file: &Path, settings: &StoredSettings) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .and_then(|()| {
            let json = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
            let tmp = file.with_extension("json.tmp");
            std::fs::write(&tmp, json)?;
            std::fs::rename(tmp, file)
        })
        .map_err(|e| format!("Could not save the settings: {e}"))
}

/// The backend URL in effect: `CANDOR_BACKEND_URL` wins over the settings.
pub fn backend_url(settings: &Settings) -> Option<String> {
    std::env::var("CANDOR_BACKEND_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| settings.backend_url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_without_speech_settings_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        std::fs::write(&file, r#"{"backendUrl":null,"echoCancellation":false}"#).unwrap();
        let loaded = load(&file);
        assert!(!loaded.settings.echo_cancellation);
        assert_eq!(loaded.speech, SpeechSettings::default());
    }

    #[test]
    fn speech_settings_are_saved_beside_the_form_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        let stored = StoredSettings {
            settings: Settings::default(),
            speech: SpeechSettings {
                speech_model: Some("whisper-base".into()),
                model_source: Some("https://models.example.com".into()),
            },
        };
        save(dir.path(), &file, &stored).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(json["speechModel"], "whisper-base");
        assert_eq!(json["echoCancellation"], true);
        assert_eq!(load(&file), stored);
    }
}
