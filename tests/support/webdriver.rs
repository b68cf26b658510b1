//! A small W3C WebDriver client for the desktop window, over tauri-driver.
//!
//! Just the commands the end-to-end tests use (new session, find, click, send
//! keys, execute script, screenshot, delete session), spoken as JSON over
//! HTTP on 127.0.0.1. Every wait is bounded and fails with what was expected.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The app under test, in its own data directories, driven by one WebDriver
/// session. The driver (and with it the app) is killed when dropped.
pub struct App {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    /// What tauri-driver and WebKitWebDriver wrote, for a failure's message.
    log: std::path::PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn tool(name: &str) -> PathBuf {
    let home_bin = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cargo/bin").join(name))
        .filter(|p| p.exists());
    let in_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    in_path.or(home_bin).unwrap_or_else(|| {
        panic!("`{name}` is not installed: run scripts/setup (tauri-driver) or apt-get install webkit2gtk-driver (WebKitWebDriver)")
    })
}

/// The app under test: this build's binary, or `CANDOR_DESKTOP_BIN` (e.g. a
/// release build, to take its memory and launch figures).
pub fn app_binary() -> String {
    std::env::var("CANDOR_DESKTOP_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_candor-desktop").to_owned())
}

impl App {
    /// Starts tauri-driver and opens the app with its data under `dir`;
    /// `pulse_server` overrides the audio server the app connects to.
    pub async fn launch(dir: &Path, pulse_server: Option<&str>) -> App {
        Self::launch_with(dir, pulse_server, &[]).await
    }

    /// As [`App::launch`], with `env` added to the app's environment.
    pub async fn launch_with(
        dir: &Path,
        pulse_server: Option<&str>,
        env: &[(&str, std::ffi::OsString)],
    ) -> App {
        tool("WebKitWebDriver");
        let (port, native) = (free_port(), free_port());
        let mut command = Command::new(tool("tauri-driver"));
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            // A second of the echo path per line while live (issue 18).
            .env("CANDOR_LOG", "info,candor_client::echo=debug")
            .env_remove("CANDOR_BACKEND_URL")
            .env_remove("CANDOR_MODEL_SOURCE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("driver.log")).expect("driver log"));
        if let Some(server) = pulse_server {
            command.env("PULSE_SERVER", server);
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let driver = command.spawn().expect("tauri-driver starts");
        let http = candor_http::client_builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        let mut app = App {
            http,
            base,
            session: String::new(),
            driver,
            log: dir.join("driver.log"),
        };
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": app_binary() }
                }
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let session = loop {
            match app
                .http
                .post(format!("{}/session", app.base))
                .json(&caps)
                .send()
                .await
            {
                Ok(resp) => {
                    let body: Value = resp.json().await.expect("new session JSON");
                    match body["value"]["sessionId"].as_str() {
                        Some(id) => break id.to_owned(),
                        None => panic!("no WebDriver session: {body}"),
                    }
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!(
                    "tauri-driver did not answer on 127.0.0.1:{port}: {e}\n{}",
                    std::fs::read_to_string(dir.join("driver.log")).unwrap_or_default()
                ),
            }
        };
        app.session = session;
        app
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap_or_else(|e| {
            panic!(
                "{path}: {e:?}\nthe driver's log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            )
        });
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {path} failed ({status}): {body}"
        );
        body["value"].clone()
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn script(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn find(&self, using: &str, value: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": using, "value": value })),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {value}: {found}"))
            .to_owned()
    }

    async fn click_element(&self, element: &str) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clicks the element matching the CSS selector.
    pub async fn click(&self, css: &str) {
        let element = self.find("css selector", css).await;
        self.click_element(&element).await;
    }

    /// Clicks the button whose text contains `label`.
    pub async fn click_button(&self, label: &str) {
        let element = self
            .find("xpath", &format!("//button[contains(., '{label}')]"))
            .await;
        self.click_element(&element).await;
    }

    /// Types `text` into the field matching the CSS selector, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find("css selector", css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The visible text of the first element matching the CSS selector.
    pub async fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.innerText.trim() : null;",
            json!(css)
        );
        match self.script(&script).await {
            Value::String(s) => s,
            other => panic!("no element {css}: {other}"),
        }
    }

    /// Polls `script` (returning a boolean) until true, failing after `within`.
    pub async fn wait_until(&self, what: &str, within: Duration, script: &str) {
        if !self.becomes_true(within, script).await {
            let screen = self.current_screen().await;
            panic!("waited {within:?} for {what}; the app shows `{screen}`");
        }
    }

    /// Polls `script` (returning a boolean) until true: whether it was
    /// within `within` (a test that keeps evidence before it judges).
    pub async fn becomes_true(&self, within: Duration, script: &str) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.script(script).await == Value::Bool(true) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The window's position and size: `(x, y, width, height)`.
    pub async fn window_rect(&self) -> (i64, i64, i64, i64) {
        let rect = self
            .command(reqwest::Method::GET, "/window/rect", None)
            .await;
        let n = |k: &str| {
            rect[k]
                .as_f64()
                .unwrap_or_else(|| panic!("window rect {rect}")) as i64
        };
        (n("x"), n("y"), n("width"), n("height"))
    }

    /// Moves and resizes the window, as a user dragging it would.
    pub async fn set_window_rect(&self, x: i64, y: i64, width: i64, height: i64) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "x": x, "y": y, "width": width, "height": height })),
        )
        .await;
    }

    /// The `data-screen` of the screen shown.
    pub async fn current_screen(&self) -> String {
        self.script(
            "const s = document.querySelector('[data-screen]'); return s ? s.dataset.screen : '';",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Waits until the screen `name` is shown.
    pub async fn wait_screen(&self, name: &str, within: Duration) {
        self.wait_until(&format!("the `{name}` screen"), within, &screen_is(name))
            .await;
    }

    /// Whether the screen `name` is shown within `within`.
    pub async fn reaches_screen(&self, name: &str, within: Duration) -> bool {
        self.becomes_true(within, &screen_is(name)).await
    }

    /// Starts recording every screen shown from now on (however briefly).
    pub async fn record_screens(&self) {
        self.script(
            "window.__screens = [];
             const note = () => {
               const s = document.querySelector('[data-screen]');
               const name = s ? s.dataset.screen : '';
               if (name && window.__screens[window.__screens.length - 1] !== name) window.__screens.push(name);
             };
             new MutationObserver(note).observe(document.body,
               { subtree: true, childList: true, attributes: true, attributeFilter: ['data-screen'] });
             note();
             return true;",
        )
        .await;
    }

    /// The screens shown since [`App::record_screens`].
    pub async fn screens_seen(&self) -> Vec<String> {
        let seen = self.script("return window.__screens || [];").await;
        serde_json::from_value(seen).unwrap_or_default()
    }

    /// Saves a screenshot of the display (what a user would see) to
    /// `target/tmp/test-artifacts/<name>.png`, taken by ImageMagick's
    /// `import` from the X server; WebDriver's own screenshot is used when
    /// that is unavailable.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // Let the screen just switched to paint first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-artifacts");
        std::fs::create_dir_all(&dir).expect("artifact dir");
        let path = dir.join(format!("{name}.png"));
        // The app's own window: desktop tests run side by side on one X
        // display, so the whole screen may show another test's window.
        let Some(window) = self.x_window() else {
            return self.driver_screenshot(path).await;
        };
        // On top first: with no compositor, the parts another window
        // covers are not there to capture.
        let _ = Command::new("xdotool")
            .args(["windowraise", &window])
            .status();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let captured = Command::new("import")
            .args(["-window", &window])
            .arg(&path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if captured {
            return path;
        }
        self.driver_screenshot(path).await
    }

    /// The web view's own screenshot, through WebDriver (the page only, no
    /// window frame or native dialogs).
    async fn driver_screenshot(&self, path: PathBuf) -> PathBuf {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }

    /// The X window (id, as `xwininfo` prints it) of the app the driver
    /// started: a mapped top-level window whose `_NET_WM_PID` is one of the
    /// driver's descendants, the largest if there are several.
    fn x_window(&self) -> Option<String> {
        let root = self.driver.id();
        let tree = Command::new("xwininfo")
            .args(["-root", "-children"])
            .output()
            .ok()?;
        let mut best: Option<(u64, String)> = None;
        for line in String::from_utf8_lossy(&tree.stdout).lines() {
            let Some(id) = line.split_whitespace().next() else {
                continue;
            };
            if !id.starts_with("0x") {
                continue;
            }
            let prop = Command::new("xprop")
                .args(["-id", id, "_NET_WM_PID"])
                .output()
                .ok()?;
            let pid = String::from_utf8_lossy(&prop.stdout)
                .rsplit(' ')
                .next()
                .and_then(|p| p.trim().parse::<u32>().ok());
            if !pid.is_some_and(|p| p != root && descends_from(p, root)) {
                continue;
            }
            let info = Command::new("xwininfo").args(["-id", id]).output().ok()?;
            let info = String::from_utf8_lossy(&info.stdout);
            let field = |key: &str| {
                info.lines()
                    .find_map(|l| l.trim().strip_prefix(key))
                    .map(|v| v.trim().to_owned())
            };
            if field("Map State:").as_deref() != Some("IsViewable") {
                continue;
            }
            let size = |key| field(key).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let area = size("Width:") * size("Height:");
            if best.as_ref().is_none_or(|(a, _)| area > *a) {
                best = Some((area, id.to_owned()));
            }
        }
        best.map(|(_, id)| id)
    }

    /// Every process the driver started (the WebDriver server, the app and
    /// its WebKit helpers): PID and name ([`process_name`]).
    pub fn processes(&self) -> Vec<(u32, String)> {
        let root = self.driver.id();
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return out;
        };
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if pid == root || !descends_from(pid, root) {
                continue;
            }
            if let Some(name) = process_name(pid) {
                out.push((pid, name));
            }
        }
        out.sort();
        out
    }

    /// Resident memory (KiB) of every process the driver started — the app
    /// and its WebKit helpers — by process name, from `/proc`.
    pub fn memory(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (pid, _) in self.processes() {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().to_owned())
            };
            let (Some(name), Some(rss)) = (field("Name:"), field("VmRSS:")) else {
                continue;
            };
            let kib = rss.trim_end_matches("kB").trim().parse().unwrap_or(0);
            out.push((name, kib));
        }
        out.sort();
        out
    }

    /// Ends the session, which closes the app; the driver stops on drop.
    pub async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }
}

/// A script: whether the screen `name` is shown.
fn screen_is(name: &str) -> String {
    format!(
        "const s = document.querySelector('[data-screen]'); return !!s && s.dataset.screen === {};",
        json!(name)
    )
}

/// Whether the middle of a screenshot has any detail: a window whose web
/// content is not painted is one flat colour.
pub fn shows_content(png: &Path) -> bool {
    let out = Command::new("/usr/bin/convert")
        .arg(png)
        .args([
            "-gravity",
            "center",
            "-crop",
            "60%x60%+0+0",
            "-colorspace",
            "Gray",
        ])
        .args(["-format", "%[fx:standard_deviation]", "info:"])
        .output()
        .expect("ImageMagick's convert (apt-get install imagemagick)");
    let deviation: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    deviation > 0.02
}

/// A process's name: its executable's file name (`comm` is cut to 15
/// characters: `WebKitWebProces`), or `comm` when that cannot be read.
pub fn process_name(pid: u32) -> Option<String> {
    if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe"))
        && let Some(name) = exe.file_name()
    {
        return Some(name.to_string_lossy().into_owned());
    }
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|n| n.trim_end().to_owned())
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …"; comm may contain spaces, so cut after ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn descends_from(mut pid: u32, root: u32) -> bool {
    for _ in 0..32 {
        match parent_of(pid) {
            Some(p) if p == root => return true,
            Some(p) if p > 1 => pid = p,
            _ => return false,
        }
    }
    false
}

/// Writes `text` to `target/test-artifacts/<name>` (figures for the record).
pub fn artifact(name: &str, text: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    std::fs::write(dir.join(name), text).expect("write artifact");
}

/// Installs the Whisper tiny.en model `scripts/setup` cached
/// ([`candor_speech::models::setup_cached_model`]) into the app whose data
/// is under `dir`, as a download would have (files linked, not copied), so
/// its offline interviewer hears the candidate's words.
pub fn install_speech_model(dir: &Path) {
    let model = "whisper-tiny.en";
    let from =
        candor_speech::models::setup_cached_model(model).unwrap_or_else(|why| panic!("{why}"));
    let to = dir
        .join("data/app.candor.desktop/backend/models")
        .join(model);
    std::fs::create_dir_all(&to).expect("the app's models folder");
    for entry in std::fs::read_dir(&from).expect("the cached model") {
        let entry = entry.expect("a model file");
        std::os::unix::fs::symlink(entry.path(), to.join(entry.file_name()))
            .expect("link a model file");
    }
}

/// Speaks `text` with espeak-ng into a WAV file under `dir`.
pub fn speech_wav(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("answer.wav");
    let status = Command::new("espeak-ng")
        .args(["-s", "160", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng is installed (apt-get install espeak-ng)");
    assert!(status.success(), "espeak-ng failed");
    path
}
