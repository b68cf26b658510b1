//! The model manager: which speech models exist, which are installed in the app's data
//! directory, downloading one (with progress, resumable, every file checked against its
//! SHA-256) and deleting one.
//!
//! Layout under the models directory (the app passes `<app data dir>/models`):
//!
//! ```text
//! whisper-tiny.en/         an installed model: every catalog file, verified, plus
//!                          preprocessor_config.json
//! whisper-tiny.en.download/  a download in progress: verified files under their own
//!                          names, the file being fetched as <name>.part
//! ```
//!
//! A model directory only appears, by an atomic rename, once every file is verified, so
//! [`ModelManager::installed`] never returns half a model. A cut download leaves its
//! `.download` directory behind and the next [`ModelManager::download`] continues it with
//! HTTP range requests; a checksum mismatch removes it, so nothing unverified is kept,
//! and so does [`ModelManager::discard_download`] when the user cancels.
//! The source is configurable (setting or [`MODEL_SOURCE_ENV`]) and serves each file as
//! `<source>/<model id>/<file name>`.

mod catalog;
mod download;
mod setup_cache;

pub use setup_cache::{setup_cache_dir, setup_cached_model};

use std::fs;
use std::path::{Path, PathBuf};

pub use catalog::{DEFAULT_MODEL, ModelFile, ModelSpec, PREPROCESSOR_CONFIG_JSON, catalog};

use download::{FileProgress, fetch_file, io_error};

/// The environment variable naming the model source (a base URL) when the app's settings
/// do not.
pub const MODEL_SOURCE_ENV: &str = "CANDOR_MODEL_SOURCE";

const DOWNLOAD_SUFFIX: &str = ".download";

/// Why the model manager could not do what was asked. Every message says what the user
/// can do about it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The id is not in the catalog.
    #[error("there is no speech model called {0:?}")]
    UnknownModel(String),
    /// The model is not (fully) downloaded; recognition is off until it is.
    #[error(
        "the speech model {name} ({size_mb} MB) is not downloaded yet: transcripts are off until it is"
    )]
    NotInstalled {
        /// The model's display name.
        name: &'static str,
        /// Its download size in megabytes.
        size_mb: u64,
    },
    /// No source URL is configured, so nothing can be downloaded.
    #[error(
        "no speech model source is configured (set {MODEL_SOURCE_ENV} or the model source setting)"
    )]
    NoSource,
    /// The source answered with an error status (or an inconsistent range).
    #[error("the model source answered {status} for {url}")]
    Http {
        /// What was requested.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The connection failed or was cut; what arrived is kept and the next download
    /// resumes from there.
    #[error("the download of {url} was interrupted ({source}); downloading again resumes it")]
    Network {
        /// What was requested.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// A file did not match its pinned checksum (or size): it was deleted, together with
    /// the rest of the unfinished download.
    #[error(
        "the downloaded {file} of {model} is corrupt (expected SHA-256 {expected}, got {actual}); it was deleted — check the model source and download again"
    )]
    ChecksumMismatch {
        /// The model id.
        model: String,
        /// The file name.
        file: String,
        /// The pinned SHA-256.
        expected: String,
        /// What arrived: its SHA-256, or its length when that was already wrong.
        actual: String,
    },
    /// Reading or writing the models directory failed.
    #[error("could not use {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Whether a model is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Every file is in place; load it from this directory.
    Installed(PathBuf),
    /// A download was started and not finished; `downloaded` bytes are kept.
    Partial {
        /// Bytes already on disk.
        downloaded: u64,
    },
    /// Nothing on disk.
    Absent,
}

/// A catalog entry with its state, for the model picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStatus {
    /// What the model is and costs.
    pub spec: ModelSpec,
    /// Whether it is on disk.
    pub state: ModelState,
}

/// A progress report during [`ModelManager::download`]: bytes of the whole model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes in place (including what an earlier, cut download left).
    pub downloaded: u64,
    /// Bytes of the whole model.
    pub total: u64,
}

/// Lists, downloads and deletes speech models in one directory.
#[derive(Debug, Clone)]
pub struct ModelManager {
    root: PathBuf,
    source: Option<String>,
    catalog: Vec<ModelSpec>,
    client: reqwest::Client,
}

impl ModelManager {
    /// A manager for `root` (the app's `<data dir>/models`) with Candor's catalog and no
    /// source yet.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            source: None,
            catalog: catalog().to_vec(),
            client: candor_http::client_builder()
                .build()
                .expect("an HTTP client with default settings"),
        }
    }

    /// Downloads from `base_url` (files at `<base_url>/<model id>/<file name>`).
    pub fn with_source(mut self, base_url: impl Into<String>) -> Self {
        let url = base_url.into();
        self.source = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// Takes the source from [`MODEL_SOURCE_ENV`] when it is set and not empty.
    pub fn with_source_from_env(self) -> Self {
        match std::env::var(MODEL_SOURCE_ENV) {
            Ok(url) if !url.trim().is_empty() => self.with_source(url.trim()),
            _ => self,
        }
    }

    /// Uses another catalog (tests, or a catalog fetched from elsewhere).
    pub fn with_catalog(mut self, catalog: Vec<ModelSpec>) -> Self {
        self.catalog = catalog;
        self
    }

    /// The configured source, if any.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The models directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every catalog model with its state, in catalog order.
    pub fn models(&self) -> Vec<ModelStatus> {
        self.catalog
            .iter()
            .map(|spec| ModelStatus {
                spec: *spec,
                state: self.state_of(spec),
            })
            .collect()
    }

    /// The state of one model.
    pub fn status(&self, id: &str) -> Result<ModelStatus, ModelError> {
        let spec = self.spec(id)?;
        Ok(ModelStatus {
            spec: *spec,
            state: self.state_of(spec),
        })
    }

    /// The directory to load `id` from, when it is installed.
    pub fn installed(&self, id: &str) -> Option<PathBuf> {
        match self.status(id).ok()?.state {
            ModelState::Installed(dir) => Some(dir),
            _ => None,
        }
    }

    /// The directory to load `id` from, or [`ModelError::NotInstalled`] saying what is
    /// missing (for the session to show while it runs without transcripts).
    pub fn require(&self, id: &str) -> Result<PathBuf, ModelError> {
        let spec = self.spec(id)?;
        match self.state_of(spec) {
            ModelState::Installed(dir) => Ok(dir),
            _ => Err(ModelError::NotInstalled {
                name: spec.name,
                size_mb: (spec.size_bytes() + 500_000) / 1_000_000,
            }),
        }
    }

    /// Downloads `id` (or finishes a cut download of it) and installs it; returns the
    /// directory to load it from. `progress` is called as bytes arrive (every 256 KiB and
    /// at the end of each file). Dropping the future stops the download; what arrived is
    /// kept for the next call to resume. Do not run two downloads of one model at once.
    /// The future is `Send`, so it can run on any runtime thread.
    pub async fn download(
        &self,
        id: &str,
        mut progress: impl FnMut(DownloadProgress) + Send,
    ) -> Result<PathBuf, ModelError> {
        let spec = self.spec(id)?;
        let installed = self.model_dir(spec);
        if self.is_complete(&installed, spec) {
            return Ok(installed);
        }
        let source = self.source.as_deref().ok_or(ModelError::NoSource)?;
        let staging = self.staging_dir(spec);
        fs::create_dir_all(&staging).map_err(|e| io_error(&staging, e))?;

        let total = spec.size_bytes();
        let mut before = 0;
        for file in spec.files {
            let url = format!("{source}/{}/{}", spec.id, file.name);
            let mut report = |downloaded| progress(DownloadProgress { downloaded, total });
            let result = fetch_file(
                &self.client,
                &url,
                spec.id,
                file,
                &staging,
                FileProgress {
                    before,
                    report: &mut report,
                },
            )
            .await;
            if let Err(error) = result {
                if matches!(error, ModelError::ChecksumMismatch { .. }) {
                    // Nothing unverified is kept: the rest of this download goes too.
                    remove_dir(&staging)?;
                }
                return Err(error);
            }
            before += file.size;
        }
        let config = staging.join("preprocessor_config.json");
        fs::write(&config, PREPROCESSOR_CONFIG_JSON).map_err(|e| io_error(&config, e))?;
        remove_dir(&installed)?;
        fs::rename(&staging, &installed).map_err(|e| io_error(&installed, e))?;
        Ok(installed)
    }

    /// Deletes `id` from disk: the installed model and any unfinished download of it.
    pub fn delete(&self, id: &str) -> Result<(), ModelError> {
        let spec = self.spec(id)?;
        remove_dir(&self.model_dir(spec))?;
        remove_dir(&self.staging_dir(spec))
    }

    /// Throws away an unfinished download of `id` (a cancelled one: nothing of it is
    /// kept), leaving an installed copy alone. Call it only once the download's future
    /// has been dropped.
    pub fn discard_download(&self, id: &str) -> Result<(), ModelError> {
        let spec = self.spec(id)?;
        remove_dir(&self.staging_dir(spec))
    }

    fn spec(&self, id: &str) -> Result<&ModelSpec, ModelError> {
        self.catalog
            .iter()
            .find(|spec| spec.id == id)
            .ok_or_else(|| ModelError::UnknownModel(id.to_owned()))
    }

    fn model_dir(&self, spec: &ModelSpec) -> PathBuf {
        self.root.join(spec.id)
    }

    fn staging_dir(&self, spec: &ModelSpec) -> PathBuf {
        self.root.join(format!("{}{DOWNLOAD_SUFFIX}", spec.id))
    }

    /// Installed means every file is there with its pinned size (contents were verified
    /// before the directory got its name).
    fn is_complete(&self, dir: &Path, spec: &ModelSpec) -> bool {
        spec.files.iter().all(|file| {
            fs::metadata(dir.join(file.name)).is_ok_and(|m| m.is_file() && m.len() == file.size)
        })
    }

    fn state_of(&self, spec: &ModelSpec) -> ModelState {
        let dir = self.model_dir(spec);
        if self.is_complete(&dir, spec) {
            return ModelState::Installed(dir);
        }
        let staging = self.staging_dir(spec);
        let Ok(entries) = fs::read_dir(&staging) else {
            return ModelState::Absent;
        };
        let downloaded = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        ModelState::Partial { downloaded }
    }
}

fn remove_dir(path: &Path) -> Result<(), ModelError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(path, e)),
    }
}
