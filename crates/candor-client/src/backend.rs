//! Which backend the engine talks to: the embedded offline server (started
//! here on loopback, the default, locked to this process by a launch secret)
//! or a hosted one at a URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Shared with the engine's model tasks while they swap the speech model;
    /// they have all finished by the time the backend shuts down.
    embedded: Option<Arc<RunningServer>>,
}

impl Backend {
    pub async fn start(config: &BackendConfig) -> Result<Self, EngineError> {
        Self::start_with(config, true).await
    }

    /// Like [`Backend::start`], but an embedded backend without an explicit
    /// `speech_model` starts without one: the engine's model manager sets the
    /// one the user chose once it runs ([`Backend::embedded_server`]).
    pub(crate) async fn start_without_installed_model(
        config: &BackendConfig,
    ) -> Result<Self, EngineError> {
        Self::start_with(config, false).await
    }

    async fn start_with(config: &BackendConfig, load_installed: bool) -> Result<Self, EngineError> {
        match config {
            BackendConfig::Remote { url } => {
                crate::endpoint::check(url).map_err(|e| EngineError::Config(e.to_string()))?;
                Ok(Self {
                    base: url.clone(),
                    embedded: None,
                })
            }
            BackendConfig::Embedded {
                data_dir,
                speech_model,
            } => {
                candor_server::private_fs::create_dir(data_dir).map_err(|e| {
                    EngineError::Config(format!(
                        "cannot create the data directory {}: {e}",
                        data_dir.display()
                    ))
                })?;
                let mut config = Config::embedded(data_dir.clone());
                config.practice.speech_model = speech_model.clone().or_else(|| {
                    load_installed
                        .then(|| installed_speech_model(data_dir))
                        .flatten()
                });
                let server = Server::start(config)
                    .await
                    .map_err(|e| EngineError::Backend(e.to_string()))?;
                let base = Url::parse(&format!("http://{}/", server.addr()))
                    .map_err(|e| EngineError::Backend(e.to_string()))?;
                Ok(Self {
                    base,
                    embedded: Some(Arc::new(server)),
                })
            }
        }
    }

    /// The secret every request to the embedded backend carries (None for a
    /// hosted one).
    pub fn launch_secret(&self) -> Option<&str> {
        self.embedded
            .as_ref()
            .and_then(|server| server.launch_secret())
            .map(|s| s.expose())
    }

    /// The backend's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The embedded server, for swapping its speech model.
    pub(crate) fn embedded_server(&self) -> Option<Arc<RunningServer>> {
        self.embedded.clone()
    }

    /// Stops the embedded server (its live sessions are ended cleanly). Call
    /// it once nothing else holds [`Backend::embedded_server`].
    pub async fn shutdown(self) {
        if let Some(server) = self.embedded {
            match Arc::into_inner(server) {
                Some(server) => server.shutdown().await,
                None => tracing::error!(
                    "the embedded backend is still in use at shutdown; it stops with the process"
                ),
            }
        }
    }
}
