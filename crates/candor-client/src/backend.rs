//! Which backend the engine talks to: the embedded offline server (started
//! here on loopback, the default, locked to this process by a launch secret)
//! or a hosted one at a URL.

use std::path::PathBuf;

use candor_server::{Config, RunningServer, Server};
use url::Url;

use crate::EngineError;

/// Where the backend is.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    /// Start Candor's server inside this process on 127.0.0.1 with its data in
    /// `data_dir`: offline practice, local profiles, no network.
    Embedded { data_dir: PathBuf },
    /// A hosted backend, e.g. `https://candor.example.com/`.
    Remote { url: Url },
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
                crate::endpoint::check(url).map_err(|e| EngineError::Config(e.to_string()))?;
                Ok(Self {
                    base: url.clone(),
                    embedded: None,
                })
            }
            BackendConfig::Embedded { data_dir } => {
                candor_server::private_fs::create_dir(data_dir).map_err(|e| {
                    EngineError::Config(format!(
                        "cannot create the data directory {}: {e}",
                        data_dir.display()
                    ))
                })?;
                let server = Server::start(Config::embedded(data_dir.clone()))
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

    /// The secret every request to the embedded backend carries (None for a
    /// hosted one).
    pub fn launch_secret(&self) -> Option<&str> {
        self.embedded
            .as_ref()
            .and_then(RunningServer::launch_secret)
            .map(|s| s.expose())
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
