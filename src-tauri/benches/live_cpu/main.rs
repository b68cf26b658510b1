//! What a live interview costs the machine: CPU per process and thread, and
//! memory, of the release app under a virtual display with a virtual
//! microphone, beside a hello-world Tauri window measured in the same run.
//!
//! ```sh
//! cd ui && npm ci && npm run build && cd ..
//! CANDOR_CACHE_DIR=$HOME/.cache/candor xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
//!   dbus-run-session -- keyctl session - scripts/in-test-session \
//!   cargo bench -p candor-desktop --bench live_cpu
//! ```
//!
//! States, each measured over one window (`LIVE_CPU_SECONDS`, default 10)
//! with nothing driving the page meanwhile: a hello-world window idle (the
//! floor: [`hello`]), Candor's sign-in screen idle, an offline interview live
//! during the interviewer's greeting (the first seconds of the live screen;
//! the offline interviewer synthesizes its first question as the greeting
//! starts), live with both silent (the
//! interviewer listening after its first question, before the candidate
//! answers: the live screen's floor), live while the candidate
//! speaks (espeak-ng speech played into the private PulseAudio's virtual
//! microphone while the interviewer listens), and live while the interviewer
//! speaks its next turn (for as long as that turn lasts, at most a window,
//! to the last look that saw it: the steady cost of its speaking, without
//! the synthesis that starts when it turns to listen). The page keeps a log
//! of the interviewer's activity and the candidate's voice, so each state is
//! printed with how much of its window it really held, and of what can make
//! it paint: DOM changes, the messages the app sent it (event batches by
//! the events they carry, and replies), animation frames, CSS animations
//! and transitions (which move without a DOM change), what can scroll
//! (an overlay scrollbar fades without either), with how the page is
//! painted and where its cards sit.
//!
//! Per process (the app, `WebKitWebProcess`, `WebKitNetworkProcess`):
//! utime + stime from `/proc` over the window, 100 % = one core; children
//! the app ran and reaped in the window in their own column (none are
//! expected: the offline interviewer's voice is synthesized in-process);
//! page faults a second; PSS from `smaps_rollup` at the window's end; and
//! the rest of the machine over the same window (`/proc/stat`: busy outside
//! these processes, and the time a hypervisor took), which tells a window
//! measured on a busy or oversubscribed machine. Per thread of
//! `candor-desktop` for the live states, so the
//! GTK main thread and the capture worker show; the capture worker is
//! compared with the capture chain's own cost measured in this run
//! ([`chain`]). The issue's goals are printed beside the figures; nothing
//! fails on them (timings vary with the machine). The run prints how the
//! app chose to render, to allocate and to compile its page's scripts, and
//! its store's page cache (its own log: `renderer.rs`, `allocator.rs`,
//! `script_tiers.rs`, the embedded server); the hello-world window renders
//! the same way and keeps glibc's allocator and JavaScriptCore's tiers as
//! they come, so what those settings save, in the app and in its web
//! process, counts as Candor's. Any `GLIBC_TUNABLES` (e.g.
//! `glibc.malloc.check=0`) runs the app with glibc's allocator as it comes
//! too, and any `JSC_useDFGJIT` with the tiers it says, to compare.
//!
//! No speech model is installed unless `LIVE_CPU_SPEECH_MODEL=1` (then the
//! app also transcribes the candidate on this machine, which the hosted
//! backend would do on the server). `LIVE_CPU_PERF=<dir>` records a `perf`
//! profile of the app and web process during each live window (the figures
//! of that run include perf's own cost) and each process's `smaps` at the
//! window's end; `LIVE_CPU_MAPS=<dir>` keeps the `smaps` alone (the
//! hello-world window's too), without perf's cost. `LIVE_CPU_CSS` (one CSS
//! rule set a line) measures, after the both-silent window, one more window
//! per line with that CSS injected into the page, printed apart from the
//! goals: what a style costs to paint, without rebuilding the app (keep
//! the windows inside the no-answer timeout, e.g. `LIVE_CPU_SECONDS=5` for
//! two lines). The app is this build's
//! `candor-desktop` (the bench profile is the release profile), or
//! `CANDOR_DESKTOP_BIN`.

mod chain;
mod hello;
mod usage;

#[allow(dead_code)]
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_audio::test_support::PrivatePulse;
use serde_json::Value;
use support::webdriver::{App, install_speech_model, speech_wav};
use usage::{Snapshot, Usage};

const STEP: Duration = Duration::from_secs(60);
/// Time for a screen to settle (first paints, start-up work) before a window.
const SETTLE: Duration = Duration::from_secs(3);
/// Time for injected CSS (`LIVE_CPU_CSS`) to be applied and painted.
const SETTLE_CSS: Duration = Duration::from_secs(1);

const APP: &str = "candor-desktop";
/// The first live state's name.
const GREETING: &str = "live, greeting + synthesis";
const WEB: &str = "WebKitWebProcess";
const NET: &str = "WebKitNetworkProcess";

/// Goals from the issue.
const GOAL_TOTAL_LIVE: f64 = 15.0;
const GOAL_WEB: f64 = 8.0;
const GOAL_PSS_OVER_FLOOR_MIB: f64 = 61.0;
const GOAL_WORKER_OVER_CHAIN: f64 = 1.5;

/// Records, in the page, when the interviewer's activity and the candidate's
/// voice change (wall clock, ms), when anything on the live screen changes
/// (one entry per task that changed it: what can make a paint), each
/// animation frame the page asks for, and each CSS animation or transition
/// that starts, ends or is cancelled anywhere in the document (what paints
/// without a change to the DOM), without touching anything it watches.
const WATCH: &str = "
    const w = window.__bench = { activity: [], voice: [], changes: [], frames: [], motion: [], ipc: [] };
    // Every message the app sends the page (an event batch, or a command's
    // reply) finds its handler through Tauri's map of callbacks: each is
    // logged on the way, with the types of the events it holds.
    const callbacks = window.__TAURI_INTERNALS__.callbacks;
    const get = callbacks.get.bind(callbacks);
    callbacks.get = id => {
      const handler = get(id);
      return handler && (data => {
        const m = data && data.message;
        w.ipc.push([Date.now(), Array.isArray(m) ? m.map(e => e && e.type).join(',') : 'reply']);
        return handler(data);
      });
    };
    const raf = window.requestAnimationFrame;
    window.requestAnimationFrame = cb => { w.frames.push(Date.now()); return raf.call(window, cb); };
    for (const type of ['animationstart', 'animationend', 'animationcancel',
                        'transitionstart', 'transitionend', 'transitioncancel'])
      document.addEventListener(type, e => w.motion.push([Date.now(), type,
        e.animationName || e.propertyName || '', window.__benchDescribe(e.target, e.pseudoElement)]), true);
    const live = document.querySelector('[data-screen=live]');
    const look = () => {
      const iv = live.querySelector('[data-testid=interviewer]');
      const you = live.querySelector('[data-testid=you]');
      const a = iv ? iv.dataset.activity : '';
      const v = !!you && you.hasAttribute('data-voice');
      if (!w.activity.length || w.activity[w.activity.length - 1][1] !== a) w.activity.push([Date.now(), a]);
      if (!w.voice.length || w.voice[w.voice.length - 1][1] !== v) w.voice.push([Date.now(), v]);
    };
    new MutationObserver(look).observe(live,
      { subtree: true, attributes: true, attributeFilter: ['data-activity', 'data-voice'] });
    new MutationObserver(() => w.changes.push(Date.now())).observe(live,
      { subtree: true, attributes: true, childList: true, characterData: true });
    look();
    return true;";

/// Names an element for the bench's log: tag, classes, test id, pseudo-element.
const DESCRIBE: &str = "
    window.__benchDescribe = (el, pseudo) => {
      if (!el || !el.tagName) return String(el);
      const cls = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const id = el.dataset && el.dataset.testid ? '[' + el.dataset.testid + ']' : '';
      return el.tagName.toLowerCase() + cls + id + (pseudo || '');
    };
    return true;";

/// What moves in the page now: how it is painted (`paint.ts`), how large
/// the page is, what of it can scroll (WebKitGTK fades an overlay
/// scrollbar in and out, a repaint at each of 60 steps a second, after each
/// screen change, scroll or move of the pointer over it), and each running
/// CSS animation or transition with what it moves.
const MOTION_NOW: &str = "
    const scrolls = e => e.scrollHeight > e.clientHeight || e.scrollWidth > e.clientWidth;
    return {
      scrollers: [document.documentElement, ...document.querySelectorAll('[data-screen=live] *')]
        .filter(e => scrolls(e) && (e === document.documentElement
          || /auto|scroll/.test(getComputedStyle(e).overflow)))
        .map(e => window.__benchDescribe(e) + ' by ' + (e.scrollWidth - e.clientWidth) + 'x'
          + (e.scrollHeight - e.clientHeight) + ' px'),
      paint: document.documentElement.dataset.paint || '(unset)',
      viewport: innerWidth + 'x' + innerHeight + ' CSS px at ' + devicePixelRatio + 'x',
      shadowImage: document.documentElement.hasAttribute('data-shadow-image'),
      boxes: [...document.querySelectorAll('[data-screen=live] :is(.card, .tile, .controls)')]
        .filter(e => e.offsetParent !== null)
        .map(e => { const r = e.getBoundingClientRect();
          return window.__benchDescribe(e) + ' ' + [r.x, r.y, r.width, r.height].map(v => +v.toFixed(2)).join(','); }),
      running: document.getAnimations()
        .filter(a => a.playState === 'running')
        .map(a => (a.animationName || a.transitionProperty || a.constructor.name) + ' on '
          + window.__benchDescribe(a.effect && a.effect.target, a.effect && a.effect.pseudoElement)),
    };";

/// Whether the interviewer is speaking, as the live screen shows it.
const SPEAKING: &str =
    "return document.querySelector('[data-testid=interviewer]').dataset.activity === 'speaking'";

const ANSWER: &str = "In my last role I led the migration of our billing system to a new \
    platform. We had eleven services that all wrote to one shared database, and every \
    release needed a maintenance window on a Sunday night. I planned the move in small \
    steps. First we put an interface in front of the old tables, then we moved one service \
    at a time behind it, and we compared the results of the old and the new path for two \
    weeks before we switched each one over. I wrote the plan, ran the weekly review with \
    the support team, and paired with the two engineers who knew the oldest code. We \
    shipped the last service in March without any downtime, and releases went from once a \
    month to twice a week.";

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
        * 1000.0
}

/// One measured state.
struct State {
    name: String,
    usage: Usage,
    /// How much of the window the state held, when the page could tell.
    held: Option<String>,
}

/// Counts one more `what` in `counts` (kept in the order first seen).
fn tally(counts: &mut Vec<(String, usize)>, what: String) {
    match counts.iter_mut().find(|(w, _)| *w == what) {
        Some((_, n)) => *n += 1,
        None => counts.push((what, 1)),
    }
}

/// One measured live window: the usage, and the page's log (`WATCH`) of it.
struct LiveWindow {
    usage: Usage,
    log: Value,
    /// What moved in the page at the window's end (`MOTION_NOW`).
    motion_now: Value,
    from: f64,
    to: f64,
}

impl LiveWindow {
    /// Measures the app (`pid`) for `window`, profiled as `state` when asked.
    async fn measure(app: &App, state: &str, pid: u32, window: Duration, ticks: f64) -> Self {
        let web = pid_named(app, WEB);
        let perf = profile(state, &[pid, web], window);
        let from = now_ms();
        let usage = measure(pid, true, window, ticks);
        let to = now_ms();
        if let Some(mut perf) = perf {
            let _ = perf.wait();
        }
        keep_maps(state, &[pid, web]);
        let log = app.script("return window.__bench").await;
        let motion_now = app.script(MOTION_NOW).await;
        Self {
            usage,
            log,
            motion_now,
            from,
            to,
        }
    }

    /// Measures the app (`pid`) for as long as the interviewer speaks, at
    /// most `most` (a later turn may be shorter than a window), profiled as
    /// `state` when asked.
    async fn measure_speaking(
        app: &App,
        state: &str,
        pid: u32,
        most: Duration,
        ticks: f64,
    ) -> Self {
        let web = pid_named(app, WEB);
        let perf = profile(state, &[pid, web], most);
        let (pids, threads_of) = watched(pid, true);
        let from = now_ms();
        let a = Snapshot::take(&pids, &threads_of);
        let end = std::time::Instant::now() + most;
        // Looked at four times a second: each look is a script the web
        // process runs, which it would not otherwise. The window ends at the
        // last look that saw the turn, so the start of what follows it (the
        // interviewer turning to listen, and synthesizing what it may say
        // next) is not counted as speaking.
        let mut last = None;
        while std::time::Instant::now() < end && app.script(SPEAKING).await == Value::Bool(true) {
            last = Some((Snapshot::take(&pids, &threads_of), now_ms()));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (b, to) = last.unwrap_or_else(|| (Snapshot::take(&pids, &threads_of), now_ms()));
        if let Some(mut perf) = perf {
            let _ = perf.wait();
        }
        keep_maps(state, &[pid, web]);
        let log = app.script("return window.__bench").await;
        let motion_now = app.script(MOTION_NOW).await;
        Self {
            usage: Usage::between(pid, &a, &b, ticks),
            log,
            motion_now,
            from,
            to,
        }
    }

    /// The share of the window during which the page's `key` log was `want`.
    fn share(&self, key: &str, want: Value) -> f64 {
        share_of(&self.log[key], &want, self.from, self.to)
    }

    /// How many times a second the live screen changed in the window.
    fn changes(&self) -> f64 {
        per_second(&self.log["changes"], self.from, self.to)
    }

    /// The entries of the page's `key` log (each `[time, …]`) inside the
    /// window.
    fn logged<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Value> {
        let window = self.from..self.to;
        self.log[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter(move |e| window.contains(&e[0].as_f64().unwrap_or(0.0)))
    }

    /// The messages the app sent the page in the window, a second, and the
    /// events they carried by type (a reply answers a command of the page).
    fn messages(&self) -> String {
        let mut kinds: Vec<(String, usize)> = Vec::new();
        let mut count = 0;
        for e in self.logged("ipc") {
            count += 1;
            for kind in e[1].as_str().unwrap_or("").split(',') {
                tally(&mut kinds, kind.to_owned());
            }
        }
        let seconds = ((self.to - self.from) / 1000.0).max(1e-3);
        kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{k} {:.1}", *n as f64 / seconds))
            .collect();
        format!(
            "messages to the page {:.1} a second, carrying a second: {}",
            count as f64 / seconds,
            if kinds.is_empty() {
                "nothing".to_owned()
            } else {
                kinds.join(", ")
            }
        )
    }

    /// What moved in the window besides the DOM: the frames the page asked
    /// for, the CSS animations and transitions that started, ended or were
    /// cancelled in it (by name and element), and what ran at its end.
    fn motion(&self) -> String {
        let mut events: Vec<(String, usize)> = Vec::new();
        for e in self.logged("motion") {
            let what = format!(
                "{} {} on {}",
                e[1].as_str().unwrap_or(""),
                e[2].as_str().unwrap_or(""),
                e[3].as_str().unwrap_or("")
            );
            tally(&mut events, what);
        }
        let events = if events.is_empty() {
            "none".to_owned()
        } else {
            let list: Vec<String> = events.iter().map(|(w, n)| format!("{w} x{n}")).collect();
            list.join(", ")
        };
        let boxes = strings(&self.motion_now["boxes"]);
        let running = strings(&self.motion_now["running"]);
        let scrollers = strings(&self.motion_now["scrollers"]);
        format!(
            "painted on the {} ({}); animation frames asked {:.1} a second; \
             animation/transition events: {events}; running at the end: {}\n    \
             can scroll: {}; shadows baked: {}; boxes (x,y,w,h): {}",
            self.motion_now["paint"].as_str().unwrap_or("(unknown)"),
            self.motion_now["viewport"]
                .as_str()
                .unwrap_or("size unknown"),
            per_second(&self.log["frames"], self.from, self.to),
            if running.is_empty() {
                "none".to_owned()
            } else {
                running.join(", ")
            },
            if scrollers.is_empty() {
                "nothing".to_owned()
            } else {
                scrollers.join(", ")
            },
            self.motion_now["shadowImage"],
            boxes.join("; ")
        )
    }
}

/// The strings in a JSON array (none if `v` is not one).
fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// How many of `log`'s times (ms) fall in `[from, to]`, per second.
fn per_second(log: &Value, from: f64, to: f64) -> f64 {
    let n = log
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .filter(|t| (from..to).contains(t))
                .count()
        })
        .unwrap_or(0);
    n as f64 * 1000.0 / (to - from)
}

/// The share of `[from, to]` (ms) during which `log`'s value was `want`.
fn share_of(log: &Value, want: &Value, from: f64, to: f64) -> f64 {
    let Some(changes) = log.as_array() else {
        return 0.0;
    };
    let mut held = 0.0;
    for (i, change) in changes.iter().enumerate() {
        let start = change[0].as_f64().unwrap_or(0.0).max(from);
        let end = changes
            .get(i + 1)
            .and_then(|c| c[0].as_f64())
            .unwrap_or(f64::MAX)
            .min(to);
        if &change[1] == want && end > start {
            held += end - start;
        }
    }
    held / (to - from) * 100.0
}

/// Measures `root`'s process tree over `window`; with `threads`, also the
/// threads of the root and its web process.
fn measure(root: u32, threads: bool, window: Duration, ticks: f64) -> Usage {
    let (pids, threads_of) = watched(root, threads);
    let a = Snapshot::take(&pids, &threads_of);
    std::thread::sleep(window);
    let b = Snapshot::take(&pids, &threads_of);
    Usage::between(root, &a, &b, ticks)
}

/// `root`'s process tree, and the processes whose threads are counted (with
/// `threads`: the root and its web process).
fn watched(root: u32, threads: bool) -> (Vec<(u32, String)>, Vec<u32>) {
    let pids = usage::tree(root);
    let threads_of: Vec<u32> = if threads {
        pids.iter()
            .filter(|(pid, name)| *pid == root || name == WEB)
            .map(|(pid, _)| *pid)
            .collect()
    } else {
        Vec::new()
    };
    (pids, threads_of)
}

/// Starts `perf record` on `pids` for `window`, when profiling was asked for.
fn profile(state: &str, pids: &[u32], window: Duration) -> Option<Child> {
    let dir = std::env::var_os("LIVE_CPU_PERF")?;
    std::fs::create_dir_all(&dir).expect("the profile folder");
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    let out = Path::new(&dir).join(format!("{state}.data"));
    let child = Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", "499"])
        // Where threads block or sleep: each switch away, with its stack.
        .args(["-e", "sched:sched_switch", "-g", "-p"])
        .arg(list.join(","))
        .arg("-o")
        .arg(&out)
        .args(["--", "sleep"])
        .arg(window.as_secs_f64().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("perf (apt-get install linux-perf)");
    println!("profiling {state} into {}", out.display());
    Some(child)
}

/// With `LIVE_CPU_MAPS` (or beside a profile), keeps each process's memory
/// map (`/proc/<pid>/smaps`, with each mapping's PSS) at the window's end,
/// as `<state>-<pid>.smaps`.
fn keep_maps(state: &str, pids: &[u32]) {
    let dir = std::env::var_os("LIVE_CPU_MAPS").or_else(|| std::env::var_os("LIVE_CPU_PERF"));
    let Some(dir) = dir else {
        return;
    };
    for pid in pids {
        let to = Path::new(&dir).join(format!("{state}-{pid}.smaps"));
        if let Err(e) = std::fs::copy(format!("/proc/{pid}/smaps"), &to) {
            println!("could not keep the memory map of {pid}: {e}");
        }
    }
}

/// Waits until the hello-world window has a web process, then lets it
/// settle.
fn wait_for_web_process(child: &mut Child, log: &Path) {
    let deadline = std::time::Instant::now() + STEP;
    while !usage::tree(child.id()).iter().any(|(_, n)| n == WEB) {
        let exited = child.try_wait().ok().flatten();
        assert!(
            exited.is_none() && std::time::Instant::now() < deadline,
            "the hello-world window has no {WEB} ({}): {}",
            exited.map_or("still running".to_owned(), |s| s.to_string()),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(SETTLE);
}

/// The hello-world window idle.
fn hello_world(dir: &Path, window: Duration, ticks: f64) -> Usage {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    std::fs::create_dir_all(dir).expect("the window's folder");
    let log = dir.join("hello.log");
    let mut child = Command::new(exe)
        .arg(hello::FLAG)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        // Candor's own choice under a virtual X server (renderer.rs).
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("the window's log"))
        .spawn()
        .expect("the hello-world window starts");
    wait_for_web_process(&mut child, &log);
    let usage = measure(child.id(), false, window, ticks);
    let helpers = usage::tree(child.id());
    keep_maps(
        "hello",
        &helpers.iter().map(|(pid, _)| *pid).collect::<Vec<_>>(),
    );
    let _ = child.kill();
    let _ = child.wait();
    // Its WebKit helpers leave with it; make sure, by PID.
    for (pid, _) in helpers.into_iter().skip(1) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    usage
}

fn pid_named(app: &App, name: &str) -> u32 {
    app.processes()
        .into_iter()
        .find(|(_, n)| n == name)
        .unwrap_or_else(|| panic!("no {name} process under the driver"))
        .0
}

/// Candor: sign-in idle, then an offline interview's two speaking states.
async fn candor(dir: &Path, window: Duration, ticks: f64) -> (Vec<State>, Vec<State>, String) {
    let with_model = std::env::var("LIVE_CPU_SPEECH_MODEL").is_ok_and(|v| v == "1");
    if with_model {
        install_speech_model(dir);
    }
    let speech = speech_wav(dir, ANSWER);
    let app = App::launch(dir, None).await;
    let mut states = Vec::new();

    app.wait_screen("auth", STEP).await;
    let pid = pid_named(&app, APP);
    tokio::time::sleep(SETTLE).await;
    states.push(State {
        name: "Candor sign-in, idle".into(),
        usage: measure(pid, true, window, ticks),
        held: None,
    });

    app.fill("input[autocomplete=name]", "Ada").await;
    app.click_button("Continue offline").await;
    app.wait_screen("dashboard", STEP).await;
    if with_model {
        app.click("[data-testid=settings]").await;
        app.wait_until(
            "the installed speech model in use",
            STEP,
            "return document.querySelector('[data-testid=speech-models]')\
               .textContent.includes('In use: Whisper tiny.en')",
        )
        .await;
        app.script(
            "[...document.querySelectorAll('[data-testid=settings-dialog] button')]\
               .filter(b => b.textContent === 'Cancel' && b.offsetParent !== null).pop().click()",
        )
        .await;
    }
    app.click("[data-testid=start]").await;
    app.wait_screen("live", STEP).await;
    app.script(DESCRIBE).await;
    app.script(WATCH).await;

    // The interviewer's greeting. Meanwhile the offline interviewer
    // synthesizes ahead what it says next (the first question, then, once
    // that is asked, what its answer may bring): each turn pays for the next.
    app.wait_until("the interviewer speaking", STEP, SPEAKING)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w = LiveWindow::measure(&app, "greeting", pid, window, ticks).await;
    let held = format!(
        "interviewer speaking {:.0} % of the window; the screen changed {:.1} times a second",
        w.share("activity", Value::from("speaking")),
        w.changes()
    );
    let held = format!("{held}\n    {}\n    {}", w.messages(), w.motion());
    states.push(State {
        name: GREETING.into(),
        usage: w.usage,
        held: Some(held),
    });

    // The first question asked, the candidate answers.
    app.wait_until(
        "the first question, then the interviewer listening",
        Duration::from_secs(90),
        "return [...document.querySelectorAll('[data-testid=transcript] li.line-interviewer')]\
             .some(li => li.textContent.includes('?'))\
           && document.querySelector('[data-testid=interviewer]').dataset.activity === 'listening'",
    )
    .await;

    // Both silent: the live screen's own floor (the clock, the IPC of
    // silent levels, the capture chain on silence), well inside the
    // no-answer timeout (20 s).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let w = LiveWindow::measure(&app, "both-silent", pid, window, ticks).await;
    let held = format!(
        "interviewer listening {:.0} %, candidate's voice heard {:.0} % of the window; \
         the screen changed {:.1} times a second",
        w.share("activity", Value::from("listening")),
        w.share("voice", Value::Bool(true)),
        w.changes()
    );
    let held = format!("{held}\n    {}\n    {}", w.messages(), w.motion());
    states.push(State {
        name: "live, both silent".into(),
        usage: w.usage,
        held: Some(held),
    });
    let experiments = with_css(&app, pid, window, ticks).await;

    let mut player = Command::new("paplay")
        .arg("--device=virtmic")
        .arg(&speech)
        .spawn()
        .expect("paplay (pulseaudio-utils)");
    app.wait_until(
        "the candidate's voice heard",
        STEP,
        "return document.querySelector('[data-testid=you]').hasAttribute('data-voice')",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let w = LiveWindow::measure(&app, "candidate-speaking", pid, window, ticks).await;
    let still_playing = player.try_wait().ok().flatten().is_none();
    let _ = player.kill();
    let _ = player.wait();
    let held = format!(
        "interviewer listening {:.0} %, candidate's voice heard {:.0} % of the window; \
         the screen changed {:.1} times a second{}",
        w.share("activity", Value::from("listening")),
        w.share("voice", Value::Bool(true)),
        w.changes(),
        if still_playing {
            ""
        } else {
            "; THE SPEECH ENDED BEFORE THE WINDOW DID"
        }
    );
    let held = format!("{held}\n    {}\n    {}", w.messages(), w.motion());
    states.push(State {
        name: "live, candidate speaking".into(),
        usage: w.usage,
        held: Some(held),
    });

    // The interviewer's answer to it: a later turn, its script synthesized.
    app.wait_until("the interviewer's next turn", STEP, SPEAKING)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w = LiveWindow::measure_speaking(&app, "interviewer-speaking", pid, window, ticks).await;
    let held = format!(
        "interviewer speaking {:.0} % of {:.1} s (its turn, at most a window); \
         the screen changed {:.1} times a second",
        w.share("activity", Value::from("speaking")),
        (w.to - w.from) / 1000.0,
        w.changes()
    );
    let held = format!("{held}\n    {}\n    {}", w.messages(), w.motion());
    states.push(State {
        name: "live, interviewer speaking".into(),
        usage: w.usage,
        held: Some(held),
    });

    let log = std::fs::read_to_string(dir.join("data/app.candor.desktop/logs/candor.log"))
        .unwrap_or_default();
    let logged = |what: &str| {
        log.lines()
            .find(|l| l.contains(what))
            .map(|l| l.split_once("INFO").map_or(l, |(_, m)| m).trim().to_owned())
            .unwrap_or_else(|| format!("({what}: not logged)"))
    };
    let setup = format!(
        "{}\n  {}\n  {}\n  {}",
        logged("WebKit renders with"),
        logged("allocator:"),
        logged("scripts:"),
        logged("store: SQLite")
    );
    app.quit().await;
    (states, experiments, setup)
}

/// With `LIVE_CPU_CSS` (one CSS rule set a line), right after the
/// both-silent window: each line injected into the page in turn (replacing
/// the one before, as one `<style>`), then a window measured with it; the
/// page is left without any at the end. An experiment on what the live
/// screen's paints cost, without rebuilding the app.
async fn with_css(app: &App, pid: u32, window: Duration, ticks: f64) -> Vec<State> {
    let Ok(css) = std::env::var("LIVE_CPU_CSS") else {
        return Vec::new();
    };
    let mut states = Vec::new();
    for (i, rules) in css.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let rules_js = serde_json::to_string(rules).expect("a string as JSON");
        // A constructed style sheet: the page's content security policy
        // (`style-src 'self'`) refuses a `<style>` element added by a
        // script, silently; what the CSS object model adds it lets through.
        let applied = app
            .script(&format!(
                "if (!window.__benchSheet) {{
                   window.__benchSheet = new CSSStyleSheet();
                   document.adoptedStyleSheets = [...document.adoptedStyleSheets, window.__benchSheet];
                 }}
                 window.__benchSheet.replaceSync({rules_js});
                 return window.__benchSheet.cssRules.length;"
            ))
            .await;
        assert!(
            applied.as_u64().is_some_and(|n| n > 0),
            "LIVE_CPU_CSS line {}: no rule of {rules:?} was taken ({applied})",
            i + 1
        );
        tokio::time::sleep(SETTLE_CSS).await;
        let w = LiveWindow::measure(app, &format!("css-{}", i + 1), pid, window, ticks).await;
        let held = format!(
            "{rules}\n    interviewer listening {:.0} %, candidate's voice heard {:.0} % of the window; \
             the screen changed {:.1} times a second",
            w.share("activity", Value::from("listening")),
            w.share("voice", Value::Bool(true)),
            w.changes()
        );
        states.push(State {
            name: format!("both silent, CSS {}", i + 1),
            usage: w.usage,
            held: Some(held),
        });
    }
    app.script(
        "document.adoptedStyleSheets = document.adoptedStyleSheets.filter(s => s !== window.__benchSheet);
         return true;",
    )
    .await;
    states
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn print_table(states: &[State]) {
    let c = [
        "state", "app", "children", "web", "network", "total", "app", "web", "net", "total",
    ];
    println!(
        "{:<28} {:>8} {:>9} {:>8} {:>8} {:>8}   {:>6} {:>6} {:>6} {:>7}",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    );
    let units = ["CPU, % of one core", "PSS, MiB"];
    println!("{:>83}   {:>29}", units[0], units[1]);
    for s in states {
        let u = &s.usage;
        println!(
            "{:<28} {:>7.1}% {:>8.1}% {:>7.1}% {:>7.1}% {:>7.1}%   {:>6.0} {:>6.0} {:>6.0} {:>7.0}",
            s.name,
            u.root_cpu(),
            u.children_cpu(&[WEB, NET]),
            u.cpu_of(WEB),
            u.cpu_of(NET),
            u.total_cpu(),
            mib(u.root_pss_kib()),
            mib(u.pss_of(WEB)),
            mib(u.pss_of(NET)),
            mib(u.total_pss_kib()),
        );
    }
    for s in states {
        if let Some(held) = &s.held {
            println!("  {}: {held}", s.name);
        }
    }
    println!(
        "  the rest of the machine meanwhile, % of one core: busy outside these processes \
         (the benchmark, the X and audio servers, anything else) / taken by the hypervisor"
    );
    for s in states {
        println!(
            "    {:<28} {:>5.1} % / {:.1} %",
            s.name,
            s.usage.rest_of_machine_cpu(),
            s.usage.steal
        );
    }
}

fn print_threads(state: &State) {
    let u = &state.usage;
    for process in u
        .processes
        .iter()
        .filter(|p| p.pid == u.root || p.name == WEB)
    {
        println!(
            "threads of {} while {} ({:.0} page faults a second, {:.1} from disk):",
            process.name, state.name, process.minor_faults, process.major_faults
        );
        let busy = u
            .threads
            .iter()
            .filter(|t| t.pid == process.pid && t.cpu > 0.0);
        for t in busy.take(8) {
            let what = if t.tid == u.root { " (main: GTK)" } else { "" };
            println!(
                "  {:>6.1}%  {:>6.0} wake-ups/s  {}{what}",
                t.cpu, t.wakeups, t.name
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == hello::FLAG) {
        hello::run();
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no display: run under xvfb-run (see the top of src-tauri/benches/live_cpu/main.rs)"
    );
    let window = Duration::from_secs_f64(
        std::env::var("LIVE_CPU_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0),
    );
    let ticks = usage::clock_ticks();
    let dir = tempfile::tempdir().expect("a scratch folder");

    // The chain first, on an otherwise quiet machine.
    let wav = speech_wav(dir.path(), ANSWER);
    let chain = chain::cpu_share(&chain::speech_48k(&wav));

    let pulse = PrivatePulse::start().expect("private PulseAudio");
    let hello_dir = dir.path().join("hello");
    let floor = hello_world(&hello_dir, window, ticks);
    let candor_dir = dir.path().join("candor");
    std::fs::create_dir_all(&candor_dir).expect("the app's folder");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (states, experiments, setup) = runtime.block_on(candor(&candor_dir, window, ticks));
    drop(pulse);

    let mut all = vec![State {
        name: "hello-world window, idle".into(),
        usage: floor,
        held: None,
    }];
    all.extend(states);

    println!(
        "live CPU and memory: {} under {} ({} s windows, 100 % = one core)",
        support::webdriver::app_binary(),
        std::env::var("DISPLAY").unwrap_or_default(),
        window.as_secs_f64()
    );
    println!(
        "Candor's renderer, allocator, script tiers and store: {setup}\n\
         the hello-world window: WEBKIT_DISABLE_DMABUF_RENDERER=1, glibc's allocator and \
         JavaScriptCore's tiers as they come"
    );
    println!(
        "load average at the end (other work on this machine): {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "on-device speech recognition: {}",
        if std::env::var("LIVE_CPU_SPEECH_MODEL").is_ok_and(|v| v == "1") {
            "on (Whisper tiny.en)"
        } else {
            "off (no model installed)"
        }
    );
    print_table(&all);
    if !experiments.is_empty() {
        println!("with CSS injected (LIVE_CPU_CSS), each right after the last, both silent:");
        print_table(&experiments);
    }
    for s in &all[2..] {
        print_threads(s);
    }

    let floor_pss = mib(all[0].usage.total_pss_kib());
    let live = &all[2..];
    let worst_total = live.iter().map(|s| s.usage.total_cpu()).fold(0.0, f64::max);
    let worst_web = live.iter().map(|s| s.usage.cpu_of(WEB)).fold(0.0, f64::max);
    let worst_pss = live
        .iter()
        .map(|s| mib(s.usage.total_pss_kib()))
        .fold(0.0, f64::max);
    let answering = all
        .iter()
        .find(|s| s.name == "live, candidate speaking")
        .expect("the candidate-speaking state");
    let worker = answering
        .usage
        .thread_cpu(answering.usage.root, "candor-capture");
    println!(
        "capture chain (capture_chain's figure, this run): {chain:.2} % of one core; \
         the app's capture worker while the candidate speaks: {worker:.2} % ({:.2}x)",
        worker / chain
    );
    println!("goals:");
    for (what, value, ok) in [
        (
            format!("total while live <= {GOAL_TOTAL_LIVE} % in every live state"),
            format!("{worst_total:.1} %"),
            worst_total <= GOAL_TOTAL_LIVE,
        ),
        (
            format!("{WEB} <= {GOAL_WEB} % while live"),
            format!("{worst_web:.1} %"),
            worst_web <= GOAL_WEB,
        ),
        (
            format!("PSS live <= hello-world + {GOAL_PSS_OVER_FLOOR_MIB} MiB"),
            format!("+{:.0} MiB", worst_pss - floor_pss),
            worst_pss - floor_pss <= GOAL_PSS_OVER_FLOOR_MIB,
        ),
        (
            format!("capture worker <= {GOAL_WORKER_OVER_CHAIN}x the capture chain"),
            format!("{:.2}x", worker / chain),
            worker <= GOAL_WORKER_OVER_CHAIN * chain,
        ),
    ] {
        println!("  [{}] {what}: {value}", verdict(ok));
    }
}
