//! Which backend the engine talks to: the embedded offline server (started
//! here on loopback, the default) or a hosted one at a URL.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use candor_server::{Config, RunningServer, Server};
use candor_speech::models::{DEFAULT_MODEL, ModelManager};
use url::Url;

use crate::EngineError;

/// Where the backend is.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    /// Start Candor's server inside this process on 127.0.0.1 with its data in
    /// `data_dir`: offline practice, local profiles, no network. The offline
    /// interviewer hears the candidate's words with `speech_model` (a model
    /// directory), else with the speech model installed in
    /// `<data_dir>/models` ([`speech_models_dir`]), if any.
    Embedded {
        data_dir: PathBuf,
        speech_model: Option<PathBuf>,
    },
    /// A hosted backend, e.g. `https://candor.example.com/`.
    Remote { url: Url },
}

/// Where the app keeps its speech models: `<data_dir>/models`.
pub fn speech_models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// The installed speech model to use: the default one when it is
/// installed, else the first installed in catalog order.
fn installed_speech_model(data_dir: &Path) -> Option<PathBuf> {
    let models = ModelManager::new(speech_models_dir(data_dir));
    models.installed(DEFAULT_MODEL).or_else(|| {
        models
            .models()
            .into_iter()
            .find_map(|m| models.installed(m.spec.id))
    })
}

/// A backend in use.
#[derive(Debug)]
pub struct Backend {
    base: Url,
    embedded: Option<RunningServer>,
}

impl Backend {
    pub async fn start(config: &BackendConfig) -> Result<Self, EngineError> {
        match config {
            BackendConfig::Remote { url } => {
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(EngineError::Config(format!(
                        "the backend URL must start with https:// (or http:// on this machine): {url}"
                    )));
                }
                Ok(Self {
                    base: url.clone(),
                    embedded: None,
                })
            }
            BackendConfig::Embedded {
                data_dir,
                speech_model,
            } => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    EngineError::Config(format!(
                        "cannot create the data directory {}: {e}",
                        data_dir.display()
                    ))
                })?;
                let mut config =
                    Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), data_dir.clone());
                config.allow_local_profiles = true;
                config.practice.speech_model = speech_model
                    .clone()
                    .or_else(|| installed_speech_model(data_dir));
                let server = Server::start(config)
                    .await
                    .map_err(|e| EngineError::Backend(e.to_string()))?;
                let base = Url::parse(&format!("http://{}/", server.addr()))
                    .map_err(|e| EngineError::Backend(e.to_string()))?;
                Ok(Self {
                    base,
                    embedded: Some(server),
                })
            }
        }
    }

    /// The backend's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Stops the embedded server (its live sessions are ended cleanly).
    pub async fn shutdown(self) {
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
    }
}
