//! The model manager against a local HTTP server (127.0.0.1) serving the Whisper tiny.en
//! model that `scripts/setup-speech` cached from PyPI: download with progress, resume
//! after a cut connection, a corrupt file refused and nothing kept, delete.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use candor_speech::models::{
    DEFAULT_MODEL, DownloadProgress, ModelError, ModelManager, ModelState, catalog,
};
use candor_speech::{Recognizer, RecognizerOptions};

/// How the server misbehaves.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// Cut the connection after this many body bytes of `model.bin`, on the first request
    /// for it only.
    cut_model_after: Option<u64>,
    /// Flip one byte of `model.bin` in every answer.
    corrupt_model: bool,
}

/// A request the server saw: path and Range header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    range: Option<String>,
    body_bytes: u64,
}

/// A minimal HTTP/1.1 file server on 127.0.0.1 (GET, single `bytes=N-` ranges, one
/// request per connection).
struct FileServer {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FileServer {
    fn start(root: PathBuf, faults: Faults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut model_requests = 0;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                serve(stream, &root, faults, &mut model_requests, &log);
            }
        });
        Self { base_url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    mut stream: TcpStream,
    root: &Path,
    faults: Faults,
    model_requests: &mut u32,
    log: &Mutex<Vec<Seen>>,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_owned());
        }
    }
    let file = root.join(path.trim_start_matches('/'));
    let Ok(mut content) = std::fs::read(&file) else {
        // Seen before it is answered: the client acts on the 404 at once.
        log.lock().unwrap().push(Seen {
            path,
            range,
            body_bytes: 0,
        });
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let is_model = path.ends_with("/model.bin");
    if is_model && faults.corrupt_model {
        let middle = content.len() / 2;
        content[middle] ^= 0xff;
    }
    let start: u64 = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse().ok())
        .unwrap_or(0);
    let total = content.len() as u64;
    let body = &content[start as usize..];
    let head = if range.is_some() {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{total}\r\nConnection: close\r\n\r\n",
            body.len(),
            total - 1
        )
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n")
    };
    let mut limit = body.len() as u64;
    if is_model {
        *model_requests += 1;
        if *model_requests == 1
            && let Some(cut) = faults.cut_model_after
        {
            limit = cut.min(limit);
        }
    }
    let sent = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body[..limit as usize]))
        .map(|()| limit)
        .unwrap_or(0);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
    // Drain so the client sees a clean close rather than a reset.
    let _ = reader.read(&mut [0u8; 1]);
    log.lock().unwrap().push(Seen {
        path,
        range,
        body_bytes: sent,
    });
}

fn tiny_en_total() -> u64 {
    catalog()[0].size_bytes()
}

/// A manager over a fresh models directory, downloading from `server`.
fn manager(server: &FileServer) -> (tempfile::TempDir, ModelManager) {
    let dir = tempfile::tempdir().unwrap();
    let manager = ModelManager::new(dir.path().join("models")).with_source(&server.base_url);
    (dir, manager)
}

fn serve_cached_models(faults: Faults) -> FileServer {
    // Make sure the model is there (panics with the fix when not).
    support::model_dir(DEFAULT_MODEL);
    FileServer::start(support::models_dir(), faults)
}

#[tokio::test]
async fn a_model_downloads_with_progress_and_then_loads() {
    let server = serve_cached_models(Faults::default());
    let (_dir, manager) = manager(&server);
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Absent
    );
    assert_eq!(manager.installed(DEFAULT_MODEL), None);

    let mut events: Vec<DownloadProgress> = Vec::new();
    let path = manager
        .download(DEFAULT_MODEL, |p| events.push(p))
        .await
        .unwrap();

    let total = tiny_en_total();
    assert!(events.len() > 100, "{} progress events", events.len());
    assert!(events.iter().all(|p| p.total == total));
    assert!(
        events
            .windows(2)
            .all(|w| w[0].downloaded <= w[1].downloaded),
        "progress only grows"
    );
    assert_eq!(events.last().unwrap().downloaded, total);
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Installed(path.clone())
    );
    assert_eq!(manager.installed(DEFAULT_MODEL), Some(path.clone()));
    assert_eq!(manager.require(DEFAULT_MODEL).unwrap(), path);
    assert!(path.join("preprocessor_config.json").is_file());
    // Every file was fetched once, whole.
    assert!(server.seen().iter().all(|s| s.range.is_none()));

    // The downloaded model works.
    let recognizer = Recognizer::load(&path, RecognizerOptions::default()).unwrap();
    let audio = support::rendered(support::Voice::Piper, "intro");
    assert!(
        recognizer
            .transcribe(&audio)
            .unwrap()
            .to_lowercase()
            .contains("payment")
    );

    // Downloading again is a no-op.
    let requests = server.seen().len();
    manager.download(DEFAULT_MODEL, |_| {}).await.unwrap();
    assert_eq!(server.seen().len(), requests);
}

#[tokio::test]
async fn a_cut_download_resumes_where_it_stopped() {
    let cut = 10 * 1024 * 1024;
    let server = serve_cached_models(Faults {
        cut_model_after: Some(cut),
        ..Faults::default()
    });
    let (_dir, manager) = manager(&server);

    let error = manager.download(DEFAULT_MODEL, |_| {}).await.unwrap_err();
    assert!(matches!(error, ModelError::Network { .. }), "{error}");
    assert!(error.to_string().contains("resumes"), "{error}");
    let ModelState::Partial { downloaded } = manager.status(DEFAULT_MODEL).unwrap().state else {
        panic!("the cut download is kept");
    };
    assert!(downloaded >= cut / 2, "kept {downloaded} bytes");

    let mut events = Vec::new();
    let path = manager
        .download(DEFAULT_MODEL, |p: DownloadProgress| events.push(p))
        .await
        .unwrap();
    assert_eq!(events.last().unwrap().downloaded, tiny_en_total());
    // The second request for model.bin asked for the rest only.
    let model_requests: Vec<Seen> = server
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/model.bin"))
        .collect();
    assert_eq!(model_requests.len(), 2, "{model_requests:?}");
    let resumed_from = model_requests[1]
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("a Range request");
    assert!(resumed_from > 0 && resumed_from <= cut);
    assert_eq!(model_requests[1].body_bytes, 75_537_502 - resumed_from);
    // And the result is the verified model.
    assert!(Recognizer::load(&path, RecognizerOptions::default()).is_ok());
}

#[tokio::test]
async fn a_corrupt_file_is_refused_and_nothing_is_kept() {
    let server = serve_cached_models(Faults {
        corrupt_model: true,
        ..Faults::default()
    });
    let (dir, manager) = manager(&server);

    let error = manager.download(DEFAULT_MODEL, |_| {}).await.unwrap_err();
    let ModelError::ChecksumMismatch {
        ref file,
        ref expected,
        ref actual,
        ..
    } = error
    else {
        panic!("expected a checksum mismatch, got {error}");
    };
    assert_eq!(file, "model.bin");
    assert_ne!(expected, actual);
    let message = error.to_string();
    assert!(
        message.contains("corrupt") && message.contains("deleted"),
        "{message}"
    );
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Absent
    );
    let left: Vec<_> = std::fs::read_dir(dir.path().join("models"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "nothing is kept: {left:?}");
}

#[tokio::test]
async fn delete_removes_the_model_and_any_partial_download() {
    let server = serve_cached_models(Faults {
        cut_model_after: Some(1024 * 1024),
        ..Faults::default()
    });
    let (_dir, manager) = manager(&server);
    manager.download(DEFAULT_MODEL, |_| {}).await.unwrap_err();
    assert!(matches!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Partial { .. }
    ));
    manager.delete(DEFAULT_MODEL).unwrap();
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Absent
    );

    let path = manager.download(DEFAULT_MODEL, |_| {}).await.unwrap();
    assert!(path.is_dir());
    manager.delete(DEFAULT_MODEL).unwrap();
    assert!(!path.exists());
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Absent
    );
    // Deleting what is not there is fine.
    manager.delete(DEFAULT_MODEL).unwrap();
}

#[tokio::test]
async fn errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let no_source = ModelManager::new(dir.path());
    let error = no_source.download(DEFAULT_MODEL, |_| {}).await.unwrap_err();
    assert!(matches!(error, ModelError::NoSource), "{error}");
    assert!(error.to_string().contains("CANDOR_MODEL_SOURCE"));

    let error = no_source
        .download("whisper-huge", |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::UnknownModel(_)), "{error}");

    // A source without the model: 404.
    let empty = tempfile::tempdir().unwrap();
    let server = FileServer::start(empty.path().to_path_buf(), Faults::default());
    let manager = ModelManager::new(dir.path()).with_source(format!("{}/", server.base_url));
    let error = manager.download(DEFAULT_MODEL, |_| {}).await.unwrap_err();
    assert!(
        matches!(error, ModelError::Http { status: 404, .. }),
        "{error}"
    );
    assert_eq!(server.seen()[0].path, format!("/{DEFAULT_MODEL}/model.bin"));
}

#[test]
fn the_catalog_lists_what_each_model_costs() {
    let dir = tempfile::tempdir().unwrap();
    let models = ModelManager::new(dir.path()).models();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0].spec.id, "whisper-tiny.en");
    assert_eq!(models[1].spec.id, "whisper-base");
    for model in &models {
        assert!(model.spec.size_bytes() > 50_000_000);
        assert!(!model.spec.speed.is_empty() && !model.spec.quality.is_empty());
        assert_eq!(model.state, ModelState::Absent);
    }
}

#[tokio::test]
async fn a_discarded_download_leaves_nothing_and_keeps_an_installed_model() {
    let server = serve_cached_models(Faults {
        cut_model_after: Some(1024 * 1024),
        ..Faults::default()
    });
    let (dir, manager) = manager(&server);
    manager.download(DEFAULT_MODEL, |_| {}).await.unwrap_err();
    assert!(matches!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Partial { .. }
    ));
    manager.discard_download(DEFAULT_MODEL).unwrap();
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Absent
    );
    let left: Vec<_> = std::fs::read_dir(dir.path().join("models"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "nothing is kept: {left:?}");

    let path = manager.download(DEFAULT_MODEL, |_| {}).await.unwrap();
    manager.discard_download(DEFAULT_MODEL).unwrap();
    assert_eq!(
        manager.status(DEFAULT_MODEL).unwrap().state,
        ModelState::Installed(path)
    );
    assert!(matches!(
        manager.discard_download("whisper-huge"),
        Err(ModelError::UnknownModel(_))
    ));
}
