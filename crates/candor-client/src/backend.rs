//! Which backend the engine talks to: the embedded offline server (started
//! here on loopback, the default) or a hosted one at a URL.

use std::net::{Ipv4Addr, SocketAddr};
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
            BackendConfig::Embedded { data_dir } => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    EngineError::Config(format!(
                        "cannot create the data directory {}: {e}",
                        data_dir.display()
                    ))
                })?;
                let mut config =
                    Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), data_dir.clone());
                config.allow_local_profiles = true;
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
