//! The offline interviewer's speech models, managed from the engine: the
//! catalog with what is on disk, downloads (cancellable), deletion, and which
//! installed model the embedded backend hears the candidate with.
//!
//! The driver owns one [`Models`] and calls it for the user's commands; every
//! slow step runs in a task it spawns — a download with its progress, deleting
//! files, loading a model into the embedded server — and comes back as an
//! [`Internal::Model`] update. A download's progress is sampled every
//! [`PROGRESS_INTERVAL`], so at most ten `modelDownload` events a second reach
//! the UI however fast the bytes arrive. Cancelling drops the download and
//! then its unfinished files (nothing is kept); closing the engine stops it
//! and keeps what arrived for the next download to resume; a failure leaves
//! no model directory behind (`candor_speech::models` installs by rename,
//! only once every file is verified).
//!
//! Which model is in use follows one rule, [`model_to_use`]: the user's
//! choice when it is installed, else the default model, else the first one
//! installed — skipping any that failed to load. It is applied again after
//! every change (a download finishes, a model is deleted or chosen), so the
//! backend runs what the settings show and the same model after a restart.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use candor_server::RunningServer;
use candor_speech::models::{
    DEFAULT_MODEL, DownloadProgress, MODEL_SOURCE_ENV, ModelError, ModelManager, ModelSpec,
    ModelState, catalog,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::Internal;
use crate::ipc::{EngineEvent, ModelSource, SpeechModelInfo, SpeechModelState, SpeechModels};

/// The least time between two progress reports of one download (at most ten
/// a second).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Where the engine keeps the speech models and what the user set about them.
#[derive(Debug, Clone)]
pub struct SpeechModelsConfig {
    /// The models directory (for the embedded backend,
    /// [`crate::backend::speech_models_dir`] of its data directory).
    pub dir: PathBuf,
    /// The model source setting (a base URL); `None` falls back to
    /// `CANDOR_MODEL_SOURCE`, and without either nothing can be downloaded.
    pub source: Option<String>,
    /// The model the user chose, by id.
    pub chosen: Option<String>,
    /// The models offered: Candor's catalog (tests bring their own).
    pub catalog: Vec<ModelSpec>,
}

impl SpeechModelsConfig {
    /// Candor's catalog in `dir`, no source setting, nothing chosen.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            source: None,
            chosen: None,
            catalog: catalog().to_vec(),
        }
    }
}

/// What a model task reports to the driver.
pub(super) enum ModelUpdate {
    Progress {
        id: String,
        progress: DownloadProgress,
    },
    Downloaded {
        id: String,
        outcome: DownloadOutcome,
    },
    Deleted {
        id: String,
        result: Result<(), String>,
        reply: Reply,
    },
    /// The embedded server now hears with `target` (`Ok`), or could not load it.
    Applied {
        target: Option<String>,
        result: Result<(), String>,
    },
}

/// How a download ended.
pub(super) enum DownloadOutcome {
    Installed,
    Failed(String),
    /// The user cancelled: nothing of it is kept.
    Cancelled,
    /// The engine closed: what arrived is kept for the next download.
    Stopped,
}

/// How a running download is asked to stop.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Cancel,
    Keep,
}

/// The answer to a command that finishes later.
pub(super) type Reply = oneshot::Sender<Result<(), String>>;

/// A model command from the engine's handle.
pub(super) enum ModelCommand {
    List(oneshot::Sender<Result<SpeechModels, String>>),
    Download(String, Reply),
    Cancel(String, Reply),
    Delete(String, Reply),
    Choose(String, Reply),
    SetSource(
        Option<String>,
        oneshot::Sender<Result<Option<String>, String>>,
    ),
}

impl std::fmt::Debug for ModelCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelCommand::List(_) => write!(f, "List"),
            ModelCommand::Download(id, _) => write!(f, "Download({id})"),
            ModelCommand::Cancel(id, _) => write!(f, "Cancel({id})"),
            ModelCommand::Delete(id, _) => write!(f, "Delete({id})"),
            ModelCommand::Choose(id, _) => write!(f, "Choose({id})"),
            ModelCommand::SetSource(source, _) => write!(f, "SetSource({source:?})"),
        }
    }
}

/// A download under way.
struct Download {
    stop: Option<oneshot::Sender<Stop>>,
    downloaded: u64,
}

/// A choice waiting for its model to load.
struct PendingChoice {
    id: String,
    previous: Option<String>,
    reply: Reply,
}

/// The speech models' state on the driver.
pub(super) struct Models {
    dir: PathBuf,
    catalog: Vec<ModelSpec>,
    manager: ModelManager,
    source_from_env: bool,
    chosen: Option<String>,
    /// What the embedded server hears with (for a hosted backend: what the
    /// offline interviewer would).
    in_use: Option<String>,
    /// A model is being loaded into the server.
    applying: bool,
    /// Installed models that failed to load, skipped by the rule.
    unloadable: HashSet<String>,
    downloads: HashMap<String, Download>,
    errors: HashMap<String, String>,
    choices: Vec<PendingChoice>,
    server: Option<Arc<RunningServer>>,
    embedded: bool,
    tasks: JoinSet<()>,
    internal: mpsc::UnboundedSender<Internal>,
    events: mpsc::UnboundedSender<EngineEvent>,
}

impl Models {
    /// `server` is the embedded backend (whose model this sets), `None` for a
    /// hosted one. Call [`Models::reconcile`] to load the model to use.
    pub(super) fn new(
        config: SpeechModelsConfig,
        server: Option<Arc<RunningServer>>,
        internal: mpsc::UnboundedSender<Internal>,
        events: mpsc::UnboundedSender<EngineEvent>,
    ) -> Self {
        let mut models = Self {
            manager: ModelManager::new(&config.dir),
            dir: config.dir,
            catalog: config.catalog,
            source_from_env: false,
            chosen: config.chosen,
            in_use: None,
            applying: false,
            unloadable: HashSet::new(),
            downloads: HashMap::new(),
            errors: HashMap::new(),
            choices: Vec::new(),
            embedded: server.is_some(),
            server,
            tasks: JoinSet::new(),
            internal,
            events,
        };
        models.use_source(config.source);
        models
    }

    /// Answers one command; those that take time answer when done.
    pub(super) fn on_command(&mut self, command: ModelCommand, interview_at_rest: bool) {
        self.reap();
        match command {
            ModelCommand::List(reply) => {
                let _ = reply.send(Ok(self.snapshot()));
            }
            ModelCommand::Download(id, reply) => {
                let _ = reply.send(self.download(&id));
            }
            ModelCommand::Cancel(id, reply) => {
                let _ = reply.send(self.cancel(&id));
            }
            ModelCommand::Delete(id, reply) => self.delete(id, interview_at_rest, reply),
            ModelCommand::Choose(id, reply) => self.choose(id, reply),
            ModelCommand::SetSource(source, reply) => {
                let _ = reply.send(self.set_source(source));
            }
        }
    }

    /// Takes in what a model task reports.
    pub(super) fn on_update(&mut self, update: ModelUpdate) {
        match update {
            ModelUpdate::Progress { id, progress } => {
                if let Some(download) = self.downloads.get_mut(&id) {
                    download.downloaded = progress.downloaded;
                    self.emit(EngineEvent::ModelDownload {
                        id,
                        downloaded_bytes: progress.downloaded,
                        total_bytes: progress.total,
                    });
                }
            }
            ModelUpdate::Downloaded { id, outcome } => {
                self.downloads.remove(&id);
                match outcome {
                    DownloadOutcome::Installed => {
                        self.unloadable.remove(&id);
                        self.errors.remove(&id);
                        tracing::info!(model = %id, "speech model downloaded");
                    }
                    DownloadOutcome::Failed(message) => {
                        tracing::warn!(model = %id, error = %message, "speech model download failed");
                        self.errors.insert(id, message);
                    }
                    DownloadOutcome::Cancelled | DownloadOutcome::Stopped => {}
                }
                self.reconcile();
                self.publish();
            }
            ModelUpdate::Deleted { id, result, reply } => {
                if result.is_ok() {
                    self.unloadable.remove(&id);
                    self.errors.remove(&id);
                }
                let _ = reply.send(result);
                self.reconcile();
                self.publish();
            }
            ModelUpdate::Applied { target, result } => {
                self.applying = false;
                match result {
                    Ok(()) => {
                        tracing::info!(model = ?target, "speech model in use");
                        self.in_use = target;
                    }
                    Err(message) => {
                        tracing::warn!(model = ?target, error = %message, "speech model did not load");
                        if let Some(id) = target {
                            self.errors
                                .insert(id.clone(), format!("It could not be loaded: {message}"));
                            self.unloadable.insert(id);
                        }
                    }
                }
                self.settle_choices();
                self.reconcile();
                self.publish();
            }
        }
    }

    /// What the settings show.
    pub(super) fn snapshot(&self) -> SpeechModels {
        let models = self
            .manager
            .models()
            .into_iter()
            .map(|status| {
                let spec = status.spec;
                let state = match (self.downloads.get(spec.id), status.state) {
                    (Some(download), _) => SpeechModelState::Downloading {
                        downloaded_bytes: download.downloaded,
                    },
                    (None, ModelState::Installed(_)) => SpeechModelState::Installed,
                    (None, ModelState::Partial { downloaded }) => SpeechModelState::Partial {
                        downloaded_bytes: downloaded,
                    },
                    (None, ModelState::Absent) => SpeechModelState::Absent,
                };
                SpeechModelInfo {
                    id: spec.id.to_owned(),
                    name: spec.name.to_owned(),
                    languages: spec.languages.to_owned(),
                    speed: spec.speed.to_owned(),
                    quality: spec.quality.to_owned(),
                    size_bytes: spec.size_bytes(),
                    state,
                    error: self.errors.get(spec.id).cloned(),
                }
            })
            .collect();
        SpeechModels {
            source: self.manager.source().map(|url| ModelSource {
                url: url.to_owned(),
                from_environment: self.source_from_env,
            }),
            models,
            in_use: self.in_use.clone(),
            offline_interviewer: self.embedded,
        }
    }

    /// Applies [`model_to_use`] when it differs from the model in use (one
    /// load at a time; the next is decided when it ends).
    pub(super) fn reconcile(&mut self) {
        if self.applying {
            return;
        }
        let wanted = self.wanted();
        if wanted == self.in_use {
            self.settle_choices();
            return;
        }
        let Some(server) = self.server.clone() else {
            // A hosted backend: nothing to load; this is what offline
            // practice will use.
            self.in_use = wanted;
            self.settle_choices();
            return;
        };
        let dir = wanted.as_deref().and_then(|id| self.manager.installed(id));
        self.applying = true;
        let internal = self.internal.clone();
        self.tasks.spawn(async move {
            let result = server
                .set_speech_model(dir)
                .await
                .map_err(|e| e.to_string());
            let _ = internal.send(Internal::Model(ModelUpdate::Applied {
                target: wanted,
                result,
            }));
        });
    }

    /// Stops every download (keeping what arrived) and waits for every model
    /// task, so nothing holds the embedded server any more.
    pub(super) async fn shutdown(mut self) {
        for download in self.downloads.values_mut() {
            if let Some(stop) = download.stop.take() {
                let _ = stop.send(Stop::Keep);
            }
        }
        while self.tasks.join_next().await.is_some() {}
    }

    // ------------------------------------------------------------ commands

    fn download(&mut self, id: &str) -> Result<(), String> {
        let status = self.manager.status(id).map_err(|e| e.to_string())?;
        if self.downloads.contains_key(id) {
            return Err(format!("{} is already downloading.", status.spec.name));
        }
        let downloaded = match status.state {
            ModelState::Installed(_) => return Ok(()),
            ModelState::Partial { downloaded } => downloaded,
            ModelState::Absent => 0,
        };
        if self.manager.source().is_none() {
            return Err(ModelError::NoSource.to_string());
        }
        self.errors.remove(id);
        let (stop, stop_rx) = oneshot::channel();
        self.downloads.insert(
            id.to_owned(),
            Download {
                stop: Some(stop),
                downloaded,
            },
        );
        self.tasks.spawn(run_download(
            self.manager.clone(),
            id.to_owned(),
            stop_rx,
            self.internal.clone(),
        ));
        self.publish();
        Ok(())
    }

    fn cancel(&mut self, id: &str) -> Result<(), String> {
        let download = self
            .downloads
            .get_mut(id)
            .ok_or_else(|| "That model is not downloading.".to_owned())?;
        if let Some(stop) = download.stop.take() {
            let _ = stop.send(Stop::Cancel);
        }
        Ok(())
    }

    fn delete(&mut self, id: String, interview_at_rest: bool, reply: Reply) {
        let refusal = match self.manager.status(&id) {
            Err(e) => Some(e.to_string()),
            Ok(_) if self.downloads.contains_key(&id) => {
                Some("Cancel the download before deleting the model.".to_owned())
            }
            Ok(_) if self.in_use.as_deref() == Some(id.as_str()) && !interview_at_rest => Some(
                "The interview is using this model: delete it when the interview is over."
                    .to_owned(),
            ),
            Ok(_) if self.applying => {
                Some("Candor is switching speech models; try again in a moment.".to_owned())
            }
            Ok(_) => None,
        };
        if let Some(refusal) = refusal {
            let _ = reply.send(Err(refusal));
            return;
        }
        let manager = self.manager.clone();
        let internal = self.internal.clone();
        self.tasks.spawn(async move {
            let target = id.clone();
            let result = tokio::task::spawn_blocking(move || manager.delete(&target))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            let _ = internal.send(Internal::Model(ModelUpdate::Deleted { id, result, reply }));
        });
    }

    fn choose(&mut self, id: String, reply: Reply) {
        match self.manager.status(&id) {
            Err(e) => {
                let _ = reply.send(Err(e.to_string()));
                return;
            }
            Ok(status) if !matches!(status.state, ModelState::Installed(_)) => {
                let _ = reply.send(Err(format!(
                    "{} is not downloaded yet: download it first.",
                    status.spec.name
                )));
                return;
            }
            Ok(_) => {}
        }
        // Choosing again retries a model that failed to load.
        self.unloadable.remove(&id);
        self.errors.remove(&id);
        let previous = self.chosen.replace(id.clone());
        self.choices.push(PendingChoice {
            id,
            previous,
            reply,
        });
        self.reconcile();
        self.publish();
    }

    /// Sets the source (`None` or blank: the environment's, if any); returns
    /// it as it will be saved.
    fn set_source(&mut self, source: Option<String>) -> Result<Option<String>, String> {
        let source = source
            .map(|s| s.trim().trim_end_matches('/').to_owned())
            .filter(|s| !s.is_empty());
        if let Some(url) = &source {
            check_source(url)?;
        }
        self.use_source(source.clone());
        self.publish();
        Ok(source)
    }

    // ------------------------------------------------------------- helpers

    fn use_source(&mut self, setting: Option<String>) {
        let manager = ModelManager::new(&self.dir).with_catalog(self.catalog.clone());
        let env = std::env::var(MODEL_SOURCE_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty());
        (self.manager, self.source_from_env) = match setting {
            Some(url) => (manager.with_source(url), false),
            None => (manager.with_source_from_env(), env.is_some()),
        };
    }

    /// The model the rule picks now.
    fn wanted(&self) -> Option<String> {
        let installed: Vec<&str> = self
            .catalog
            .iter()
            .map(|spec| spec.id)
            .filter(|id| !self.downloads.contains_key(*id) && self.manager.installed(id).is_some())
            .collect();
        model_to_use(&installed, self.chosen.as_deref(), &self.unloadable)
    }

    /// Answers the choices whose model is now in use or failed to load.
    fn settle_choices(&mut self) {
        let mut waiting = Vec::new();
        for choice in std::mem::take(&mut self.choices) {
            if self.in_use.as_deref() == Some(choice.id.as_str()) {
                let _ = choice.reply.send(Ok(()));
            } else if self.unloadable.contains(&choice.id) {
                let message = self
                    .errors
                    .get(&choice.id)
                    .cloned()
                    .unwrap_or_else(|| "The model could not be loaded.".to_owned());
                if self.chosen.as_deref() == Some(choice.id.as_str()) {
                    self.chosen = choice.previous;
                }
                let _ = choice.reply.send(Err(message));
            } else {
                waiting.push(choice);
            }
        }
        self.choices = waiting;
    }

    fn publish(&self) {
        self.emit(EngineEvent::SpeechModels {
            models: self.snapshot(),
        });
    }

    fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }

    /// Forgets finished tasks.
    fn reap(&mut self) {
        while self.tasks.try_join_next().is_some() {}
    }
}

/// The model to hear with: `chosen` when it is installed, else the default
/// model, else the first installed (catalog order) — never one in
/// `unloadable`.
pub(crate) fn model_to_use(
    installed: &[&str],
    chosen: Option<&str>,
    unloadable: &HashSet<String>,
) -> Option<String> {
    let usable: Vec<&str> = installed
        .iter()
        .copied()
        .filter(|id| !unloadable.contains(*id))
        .collect();
    chosen
        .filter(|id| usable.contains(id))
        .or_else(|| usable.iter().copied().find(|id| *id == DEFAULT_MODEL))
        .or_else(|| usable.first().copied())
        .map(str::to_owned)
}

/// A model source must be an `http://` or `https://` URL with a host. Plain
/// HTTP is allowed (a file server on the local network): every file is
/// checked against its pinned SHA-256 before it is used.
pub(crate) fn check_source(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| format!("The model source is not a valid URL ({e}): {url}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "The model source must be an http:// or https:// address: {url}"
        ));
    }
    Ok(())
}

/// One download, reporting its progress every [`PROGRESS_INTERVAL`] while
/// bytes arrive, until it ends or is stopped.
async fn run_download(
    manager: ModelManager,
    id: String,
    mut stop: oneshot::Receiver<Stop>,
    internal: mpsc::UnboundedSender<Internal>,
) {
    let (latest, mut progress) = watch::channel(None::<DownloadProgress>);
    let mut ticks = tokio::time::interval(PROGRESS_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = {
        let download = manager.download(&id, move |p| {
            latest.send_replace(Some(p));
        });
        tokio::pin!(download);
        loop {
            tokio::select! {
                result = &mut download => break match result {
                    Ok(_) => DownloadOutcome::Installed,
                    Err(e) => DownloadOutcome::Failed(e.to_string()),
                },
                request = &mut stop => break match request {
                    Ok(Stop::Cancel) => DownloadOutcome::Cancelled,
                    Ok(Stop::Keep) | Err(_) => DownloadOutcome::Stopped,
                },
                _ = ticks.tick() => {
                    if progress.has_changed().unwrap_or(false)
                        && let Some(p) = *progress.borrow_and_update()
                    {
                        let _ = internal.send(Internal::Model(ModelUpdate::Progress {
                            id: id.clone(),
                            progress: p,
                        }));
                    }
                }
            }
        }
        // The download's future is dropped here: nothing writes any more.
    };
    let outcome = match outcome {
        DownloadOutcome::Cancelled => {
            let discard = manager.clone();
            let target = id.clone();
            match tokio::task::spawn_blocking(move || discard.discard_download(&target)).await {
                Ok(Ok(())) => DownloadOutcome::Cancelled,
                Ok(Err(e)) => DownloadOutcome::Failed(format!(
                    "The download was cancelled, but its files could not be removed: {e}"
                )),
                Err(e) => DownloadOutcome::Failed(format!(
                    "The download was cancelled, but its files could not be removed: {e}"
                )),
            }
        }
        other => other,
    };
    let _ = internal.send(Internal::Model(ModelUpdate::Downloaded { id, outcome }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> HashSet<String> {
        HashSet::new()
    }

    #[test]
    fn the_choice_wins_when_it_is_installed() {
        let installed = [DEFAULT_MODEL, "whisper-base"];
        assert_eq!(
            model_to_use(&installed, Some("whisper-base"), &none()).as_deref(),
            Some("whisper-base")
        );
        assert_eq!(
            model_to_use(&installed, None, &none()).as_deref(),
            Some(DEFAULT_MODEL)
        );
        // A choice that is not installed (deleted since) falls back.
        assert_eq!(
            model_to_use(&["whisper-base"], Some(DEFAULT_MODEL), &none()).as_deref(),
            Some("whisper-base")
        );
        assert_eq!(model_to_use(&[], Some(DEFAULT_MODEL), &none()), None);
    }

    #[test]
    fn a_model_that_failed_to_load_is_skipped() {
        let broken: HashSet<String> = [DEFAULT_MODEL.to_owned()].into();
        assert_eq!(
            model_to_use(
                &[DEFAULT_MODEL, "whisper-base"],
                Some(DEFAULT_MODEL),
                &broken
            )
            .as_deref(),
            Some("whisper-base")
        );
        assert_eq!(model_to_use(&[DEFAULT_MODEL], None, &broken), None);
    }

    #[test]
    fn a_source_is_an_http_address() {
        assert!(check_source("https://models.example.com/candor").is_ok());
        assert!(check_source("http://192.168.1.20:8000").is_ok());
        assert!(check_source("ftp://models.example.com").is_err());
        assert!(check_source("models.example.com").is_err());
        assert!(check_source("file:///srv/models").is_err());
    }
}
