//! The engine's speech model commands against a model source on loopback,
//! with the embedded backend: a download reports its progress (throttled)
//! and installs the model; a corrupt file and a cancelled download leave
//! nothing behind; a model is deleted; and the installed model is the one
//! the embedded server hears the candidate with — a model that does not load
//! is refused with the loader's reason, Whisper tiny.en (cached by
//! `scripts/setup`) transcribes an answer in a real offline interview.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_audio::{Feed, SinkSpec, SourceSpec};
use candor_client::backend::speech_models_dir;
use candor_client::ipc::{Activity, Speaker, SpeechModelState, SpeechModels};
use candor_client::{
    BackendConfig, Credentials, Engine, EngineConfig, EngineEvent, Intent, PROGRESS_INTERVAL,
    SpeechModelsConfig,
};
use candor_speech::models::{DEFAULT_MODEL, ModelFile, ModelSpec, catalog};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const STEP: Duration = Duration::from_secs(30);

/// How the source serves one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// All at once.
    Fast,
    /// 64 KiB every 20 ms.
    Slow,
    /// 512 KiB, then nothing until the client goes away.
    Stall,
}

/// What the source serves: path → body and pace.
type Files = HashMap<String, (Arc<Vec<u8>>, Pace)>;

/// A model source on 127.0.0.1: GET `/<model>/<file>` (no ranges).
struct Source {
    url: String,
}

impl Source {
    async fn start(files: Files) -> Source {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let files = Arc::new(files);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, files.clone()));
            }
        });
        Source { url }
    }
}

async fn serve(mut stream: TcpStream, files: Arc<Files>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let Some((body, pace)) = files.get(&path) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    };
    let header = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    match pace {
        Pace::Fast => {
            let _ = stream.write_all(body).await;
        }
        Pace::Slow => {
            for chunk in body.chunks(64 * 1024) {
                if stream.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Pace::Stall => {
            let _ = stream.write_all(&body[..512 * 1024]).await;
            // Hold the connection until the client closes it (bounded).
            let _ = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await;
        }
    }
    let _ = stream.shutdown().await;
}

fn sha256_hex(bytes: &[u8]) -> &'static str {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Box::leak(hex.into_boxed_str())
}

/// Bytes that do not compress or repeat in an obvious way.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed)
        .collect()
}

/// A fake model of one file, `model.bin`, pinned to `pinned` (its own
/// content, or other bytes to make it corrupt).
fn fake_model(id: &'static str, body: &Arc<Vec<u8>>, pinned: &[u8]) -> ModelSpec {
    let files: &'static [ModelFile] = Box::leak(Box::new([ModelFile {
        name: "model.bin",
        size: body.len() as u64,
        sha256: sha256_hex(pinned),
    }]));
    ModelSpec {
        id,
        name: id,
        languages: "English",
        speed: "a test model",
        quality: "not a real model",
        files,
    }
}

/// The engine's events, kept for assertions.
struct Events {
    rx: mpsc::UnboundedReceiver<EngineEvent>,
    seen: Vec<EngineEvent>,
}

impl Events {
    /// Waits for an event `pick` returns something for.
    async fn until<T>(&mut self, what: &str, mut pick: impl FnMut(&EngineEvent) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let event = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {STEP:?}"))
                .expect("the engine runs");
            self.seen.push(event.clone());
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    }

    /// Waits for a `speechModels` event that passes `check`.
    async fn models(&mut self, what: &str, check: impl Fn(&SpeechModels) -> bool) -> SpeechModels {
        self.until(what, |e| match e {
            EngineEvent::SpeechModels { models } if check(models) => Some(models.clone()),
            _ => None,
        })
        .await
    }

    async fn view_state(&mut self, name: &str) {
        self.until(name, |e| match e {
            EngineEvent::View { view } if support::state_of(view) == name => Some(()),
            _ => None,
        })
        .await
    }
}

fn state(models: &SpeechModels, id: &str) -> SpeechModelState {
    models.models.iter().find(|m| m.id == id).unwrap().state
}

fn error(models: &SpeechModels, id: &str) -> Option<String> {
    models
        .models
        .iter()
        .find(|m| m.id == id)
        .unwrap()
        .error
        .clone()
}

/// What is in the models directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn engine(
    data_dir: &Path,
    speech: SpeechModelsConfig,
    input: SourceSpec,
) -> (Engine, Events) {
    let mut config = EngineConfig::new(
        BackendConfig::Embedded {
            data_dir: data_dir.to_owned(),
            speech_model: None,
        },
        support::memory(),
    );
    config.input = input;
    config.output = SinkSpec::Null { rate: 48_000 };
    config.seed = 11;
    config.speech_models = Some(speech);
    let (engine, rx) = Engine::start(config).await.expect("engine starts");
    (
        engine,
        Events {
            rx,
            seen: Vec::new(),
        },
    )
}

fn silence() -> SourceSpec {
    SourceSpec::Silence {
        rate: 48_000,
        duration: None,
        pacing: candor_audio::Pacing::RealTime,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_report_progress_and_failures_leave_nothing_behind() {
    let good = Arc::new(content(2 * 1024 * 1024, 1));
    let corrupt = Arc::new(content(300 * 1024, 2));
    let stalled = Arc::new(content(4 * 1024 * 1024, 3));
    let catalog = vec![
        fake_model("fake-good", &good, &good),
        fake_model("fake-corrupt", &corrupt, b"other bytes"),
        fake_model("fake-stalled", &stalled, &stalled),
    ];
    let source = Source::start(HashMap::from([
        (
            "/fake-good/model.bin".to_owned(),
            (good.clone(), Pace::Slow),
        ),
        (
            "/fake-corrupt/model.bin".to_owned(),
            (corrupt.clone(), Pace::Fast),
        ),
        (
            "/fake-stalled/model.bin".to_owned(),
            (stalled.clone(), Pace::Stall),
        ),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let models_dir = speech_models_dir(&data);
    let (engine, mut events) = engine(
        &data,
        SpeechModelsConfig {
            source: Some(format!("{}/", source.url)),
            catalog,
            ..SpeechModelsConfig::new(&models_dir)
        },
        silence(),
    )
    .await;

    let listed = engine.speech_models().await.unwrap();
    assert_eq!(listed.source.as_ref().unwrap().url, source.url);
    assert!(!listed.source.as_ref().unwrap().from_environment);
    assert!(listed.offline_interviewer);
    assert_eq!(listed.in_use, None);
    let ids: Vec<&str> = listed.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["fake-good", "fake-corrupt", "fake-stalled"]);
    assert!(
        listed
            .models
            .iter()
            .all(|m| m.state == SpeechModelState::Absent)
    );
    assert_eq!(listed.models[0].size_bytes, good.len() as u64);

    // A download: progress, at most one report per interval, then installed.
    let started = Instant::now();
    engine.download_speech_model("fake-good").await.unwrap();
    let installed = events
        .models("fake-good installed", |m| {
            state(m, "fake-good") == SpeechModelState::Installed
        })
        .await;
    let took = started.elapsed();
    let progress: Vec<(u64, u64)> = events
        .seen
        .iter()
        .filter_map(|e| match e {
            EngineEvent::ModelDownload {
                id,
                downloaded_bytes,
                total_bytes,
            } if id == "fake-good" => Some((*downloaded_bytes, *total_bytes)),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 2, "progress reports: {progress:?}");
    assert!(
        progress
            .iter()
            .all(|&(_, total)| total == good.len() as u64)
    );
    assert!(
        progress.windows(2).all(|w| w[0].0 <= w[1].0),
        "{progress:?}"
    );
    assert!(progress.iter().any(|&(done, _)| done > 0));
    let most = took.as_millis() / PROGRESS_INTERVAL.as_millis() + 1;
    assert!(
        progress.len() as u128 <= most,
        "{} reports in {took:?}: more than one per {PROGRESS_INTERVAL:?}",
        progress.len()
    );
    assert!(installed.models.iter().all(|m| m.error.is_none()));
    assert_eq!(
        std::fs::read(models_dir.join("fake-good/model.bin")).unwrap(),
        *good
    );

    // Installed, it is handed to the embedded server at once — which cannot
    // load it (it is not a Whisper model), says why, and keeps none.
    let refused = events
        .models("fake-good refused by the loader", |m| {
            error(m, "fake-good").is_some()
        })
        .await;
    assert_eq!(refused.in_use, None);
    let reason = error(&refused, "fake-good").unwrap();
    assert!(reason.contains("could not be loaded"), "{reason}");
    let chosen = engine.choose_speech_model("fake-good").await.unwrap_err();
    assert!(chosen.contains("could not be loaded"), "{chosen}");
    assert_eq!(engine.speech_models().await.unwrap().in_use, None);
    let absent = engine
        .choose_speech_model("fake-stalled")
        .await
        .unwrap_err();
    assert!(absent.contains("not downloaded"), "{absent}");

    // A corrupt file: a clear error, and nothing kept.
    engine.download_speech_model("fake-corrupt").await.unwrap();
    let failed = events
        .models("the corrupt download's error", |m| {
            error(m, "fake-corrupt").is_some()
                && state(m, "fake-corrupt") == SpeechModelState::Absent
        })
        .await;
    let message = error(&failed, "fake-corrupt").unwrap();
    assert!(
        message.contains("corrupt") && message.contains("deleted"),
        "{message}"
    );
    assert_eq!(entries(&models_dir), ["fake-good"]);

    // A cancelled download: nothing kept either.
    engine.download_speech_model("fake-stalled").await.unwrap();
    let again = engine
        .download_speech_model("fake-stalled")
        .await
        .unwrap_err();
    assert!(again.contains("already downloading"), "{again}");
    events
        .until("progress of the stalled download", |e| match e {
            EngineEvent::ModelDownload {
                id,
                downloaded_bytes,
                ..
            } if id == "fake-stalled" && *downloaded_bytes > 0 => Some(()),
            _ => None,
        })
        .await;
    let busy = engine
        .delete_speech_model("fake-stalled")
        .await
        .unwrap_err();
    assert!(busy.contains("Cancel the download"), "{busy}");
    engine
        .cancel_speech_model_download("fake-stalled")
        .await
        .unwrap();
    let cancelled = events
        .models("the cancelled download gone", |m| {
            state(m, "fake-stalled") == SpeechModelState::Absent
        })
        .await;
    assert_eq!(error(&cancelled, "fake-stalled"), None);
    assert_eq!(entries(&models_dir), ["fake-good"]);
    assert!(
        engine
            .cancel_speech_model_download("fake-stalled")
            .await
            .is_err()
    );

    // Delete.
    engine.delete_speech_model("fake-good").await.unwrap();
    assert_eq!(
        state(&engine.speech_models().await.unwrap(), "fake-good"),
        SpeechModelState::Absent
    );
    assert!(entries(&models_dir).is_empty());

    // Without a source nothing downloads, and the reason says how to set one.
    if std::env::var_os("CANDOR_MODEL_SOURCE").is_none() {
        engine.set_speech_model_source(None).await.unwrap();
        assert_eq!(engine.speech_models().await.unwrap().source, None);
        let refused = engine.download_speech_model("fake-good").await.unwrap_err();
        assert!(refused.contains("CANDOR_MODEL_SOURCE"), "{refused}");
    }
    let bad = engine
        .set_speech_model_source(Some("ftp://models.example.com".into()))
        .await
        .unwrap_err();
    assert!(bad.contains("http"), "{bad}");
    let saved = engine
        .set_speech_model_source(Some(format!(" {}/ ", source.url)))
        .await
        .unwrap();
    assert_eq!(saved.as_deref(), Some(source.url.as_str()));
    engine.shutdown().await;
}

/// Whisper tiny.en where `scripts/setup` caches it.
fn cached_tiny_en() -> PathBuf {
    candor_speech::models::setup_cached_model(DEFAULT_MODEL).unwrap_or_else(|why| panic!("{why}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_model_is_the_one_the_offline_interviewer_hears_with() {
    let cached = cached_tiny_en();
    let tiny = catalog()[0];
    let mut files = HashMap::new();
    for file in tiny.files {
        let body = std::fs::read(cached.join(file.name)).unwrap();
        files.insert(
            format!("/{DEFAULT_MODEL}/{}", file.name),
            (Arc::new(body), Pace::Fast),
        );
    }
    let source = Source::start(files).await;
    let answer = cached.join("../../speech-fixtures/piper/failure.wav");
    let (rate, samples) = candor_audio::clip::read_wav(&std::fs::read(&answer).unwrap()).unwrap();
    let feed = Feed::new(rate);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (engine, mut events) = engine(
        &data,
        SpeechModelsConfig {
            source: Some(source.url.clone()),
            catalog: vec![tiny],
            ..SpeechModelsConfig::new(speech_models_dir(&data))
        },
        SourceSpec::Feed { feed: feed.clone() },
    )
    .await;
    assert_eq!(engine.speech_models().await.unwrap().in_use, None);

    engine.download_speech_model(DEFAULT_MODEL).await.unwrap();
    events
        .models("tiny.en in use", |m| {
            m.in_use.as_deref() == Some(DEFAULT_MODEL)
        })
        .await;
    // Choosing the model in use is answered at once.
    engine.choose_speech_model(DEFAULT_MODEL).await.unwrap();

    // An offline interview: the candidate's answer comes back as words.
    // Nothing stored: the engine started signed out (its first view).
    engine
        .intent(Intent::SignIn(Credentials::Offline { name: "Ada".into() }))
        .await
        .unwrap();
    events.view_state("idle").await;
    engine
        .intent(Intent::StartInterview(support::setup(1)))
        .await
        .unwrap();
    events
        .until("the interviewer listening", |e| match e {
            EngineEvent::Interviewer {
                activity: Activity::Listening,
                ..
            } => Some(()),
            _ => None,
        })
        .await;
    // Mid-interview, the model in use cannot be deleted.
    let refused = engine.delete_speech_model(DEFAULT_MODEL).await.unwrap_err();
    assert!(refused.contains("interview"), "{refused}");
    feed.push(&samples);
    // "The project slipped by three weeks because we underestimated the
    // migration, …": recognised words, not the "[answering…]" placeholder the
    // interviewer shows without a model.
    let heard = events
        .until("the candidate's words", |e| match e {
            EngineEvent::Transcript {
                speaker: Speaker::Candidate,
                text,
                ..
            } if text.to_lowercase().contains("project") => Some(text.clone()),
            _ => None,
        })
        .await;
    println!("heard: {heard}");
    engine.intent(Intent::EndInterview).await.unwrap();
    events.view_state("resultsReady").await;

    // At rest it can go; the interviewer is then without a model.
    engine.delete_speech_model(DEFAULT_MODEL).await.unwrap();
    events
        .models("no model in use", |m| {
            m.in_use.is_none() && state(m, DEFAULT_MODEL) == SpeechModelState::Absent
        })
        .await;
    engine.shutdown().await;
}
