//! Listening back to a long interview in the window: the time from opening
//! its results to the first sample of the recording the speaker plays, and
//! the memory that replay holds, for a 30-minute interview beside a
//! 1-minute one measured in the same run (the baseline: what opening any
//! results costs), each in a fresh release app under a virtual display with
//! a private PulseAudio.
//!
//! ```sh
//! cd ui && npm ci && npm run build && cd ..
//! CANDOR_CACHE_DIR=$HOME/.cache/candor xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
//!   dbus-run-session -- keyctl session - scripts/in-test-session \
//!   cargo bench -p candor-desktop --bench replay_open [-- --minutes 30]
//! ```
//!
//! Each interview is written into the app's embedded store before the app
//! starts (the seeding the server's `review` bench uses: both voices, the
//! interviewer audible from the first frame). The bench signs in to the
//! offline profile that owns it and, on the dashboard, records the speaker's
//! monitor and clicks the interview in the history; the page presses Play
//! the moment the player appears (a `MutationObserver`, no WebDriver round
//! trip), as an eager user would. Measured:
//!
//! - **open → first audible sample**: from just before the click (the
//!   monitor's sample count then) to its first sample above −45 dBFS: the
//!   results page, the recording built by the embedded server and fetched
//!   whole over the app's `replay` scheme, the decoder's start and the
//!   output latency. The WebDriver click's own latency is inside it, and
//!   parecord's buffering (20 ms) makes it uncertain by about that much.
//! - the page's own clock for the steps: click → the results page on
//!   screen (and Play pressed), click → `loadedmetadata`, click → `playing`.
//! - **replay memory**: PSS of the app and its WebKit processes after two
//!   seconds of playing, less the same on the dashboard before.
//!
//! Nothing is compared with a fixed threshold; the ratios to the 1-minute
//! interview are printed.

#[allow(dead_code)]
#[path = "../live_cpu/usage.rs"]
mod usage;

#[allow(dead_code)]
#[path = "../../../tests/support/mod.rs"]
mod support;

#[path = "../../../crates/candor-server/benches/support/long_interview.rs"]
mod long_interview;

use std::path::Path;
use std::time::Duration;

use candor_audio::test_support::{PrivatePulse, RATE};
use candor_server::store::{SqliteStore, Store, UserRecord};
use long_interview::{LongInterview, seed};
use support::webdriver::App;

const STEP: Duration = Duration::from_secs(60);
/// The offline profile the bench signs in as (it owns the seeded interview).
const PROFILE: &str = "Replay bench";
/// −45 dBFS: quieter than any of the recording, louder than the silence.
const AUDIBLE: f32 = 0.005_6;

/// Watches the page: when the history item is clicked, when the player's
/// Play is pressed (at once, by this script, as soon as it appears), and the
/// element's `loadedmetadata` and `playing` (media events do not bubble, so
/// the listeners capture them on the way down).
const WATCH: &str = "
    const b = window.__bench = {};
    document.addEventListener('click', (e) => {
      if (!b.open && e.target.closest('.history-button')) b.open = performance.now();
    }, true);
    document.addEventListener('loadedmetadata', () => { b.meta ??= performance.now(); }, true);
    document.addEventListener('playing', () => { b.playing ??= performance.now(); }, true);
    new MutationObserver(() => {
      const play = document.querySelector('[data-action=replay-toggle]');
      if (play && b.open && !b.pressed) { b.pressed = performance.now(); play.click(); }
    }).observe(document.body, { childList: true, subtree: true });
    return true;";

/// One interview's figures.
struct Opened {
    minutes: u64,
    recording_mib: f64,
    /// Open click → first audible sample on the speaker's monitor.
    audible_ms: f64,
    /// Click → the results page on screen (its Play pressed at once).
    pressed_ms: f64,
    meta_ms: f64,
    playing_ms: f64,
    /// PSS after two seconds of playing less on the dashboard.
    memory_mib: f64,
}

fn pss_mib(app: &App) -> f64 {
    let kib: u64 = app
        .processes()
        .iter()
        .map(|(pid, _)| usage::pss_kib(*pid))
        .sum();
    kib as f64 / 1024.0
}

/// Writes the profile and a `minutes`-long interview into the store the app
/// will open under `dir`. Returns the interview's id and its recording's
/// size.
fn prepare(dir: &Path, minutes: u64) -> (String, f64) {
    // The app keeps its backend in `$XDG_DATA_HOME/<identifier>/backend`.
    let backend = dir.join("data/app.candor.desktop/backend");
    std::fs::create_dir_all(&backend).expect("backend directory");
    let store = SqliteStore::open(&backend).expect("the app's store");
    let user = store
        .local_user(&UserRecord {
            id: "bench-user".into(),
            email: None,
            display_name: PROFILE.into(),
            password_hash: None,
            local_profile: Some(PROFILE.into()),
            created_at_ms: 1_764_570_000_000,
        })
        .expect("profile");
    let id = format!("bench-{minutes}min");
    seed(
        &store,
        &LongInterview {
            user_id: &user.id,
            interview_id: &id,
            session_id: &format!("{id}-session"),
            minutes,
            created_at_ms: 1_764_570_000_000,
        },
    );
    let bytes = candor_server::export::audio_file(&store, &id, "interview.ogg")
        .expect("the recording builds")
        .expect("interview.ogg")
        .bytes
        .len();
    (id, bytes as f64 / 1048576.0)
}

async fn open(minutes: u64) -> Opened {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (id, recording_mib) = prepare(dir.path(), minutes);
    let pulse = PrivatePulse::start().expect("private PulseAudio");
    let app = App::launch(dir.path(), None).await;
    app.wait_screen("auth", STEP).await;
    app.fill("input[autocomplete=name]", PROFILE).await;
    app.click_button("Continue offline").await;
    app.wait_screen("dashboard", STEP).await;
    let item = format!(".history-button[data-id='{id}']");
    app.wait_until(
        "the interview in the history",
        STEP,
        &format!("return !!document.querySelector(\"{item}\")"),
    )
    .await;
    // Let the dashboard's first paints and start-up work settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = pss_mib(&app);

    app.script(WATCH).await;
    let speaker = pulse.record_speaker().expect("parecord");
    assert!(
        speaker.wait_flowing(Duration::from_secs(10)),
        "the speaker's monitor records"
    );
    let clicked_at = speaker.received();
    app.click(&item).await;
    app.wait_until(
        "the recording plays",
        STEP,
        "return !!(window.__bench && window.__bench.playing)",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = pss_mib(&app);
    let page = app.script("return window.__bench").await;
    let heard = speaker.finish();
    app.quit().await;

    let first = heard[clicked_at.min(heard.len())..]
        .iter()
        .position(|s| s.abs() > AUDIBLE)
        .unwrap_or_else(|| panic!("the {minutes}-minute recording was never heard"));
    let since_open = |key: &str| {
        page[key].as_f64().expect("a page timestamp") - page["open"].as_f64().expect("the click")
    };
    Opened {
        minutes,
        recording_mib,
        audible_ms: first as f64 * 1000.0 / RATE as f64,
        pressed_ms: since_open("pressed"),
        meta_ms: since_open("meta"),
        playing_ms: since_open("playing"),
        memory_mib: after - before,
    }
}

fn main() {
    let minutes: u64 = std::env::args()
        .skip_while(|a| a != "--minutes")
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let baseline = runtime.block_on(open(1));
    let long = runtime.block_on(open(minutes));
    println!("replay_open: open the results, press Play at once, first audible sample");
    println!(
        "{:>8} {:>10} {:>14} {:>13} {:>16} {:>12} {:>14}",
        "minutes",
        "recording",
        "first audible",
        "results page",
        "loadedmetadata",
        "playing",
        "replay memory"
    );
    for o in [&baseline, &long] {
        println!(
            "{:>8} {:>7.2} MiB {:>11.0} ms {:>10.0} ms {:>13.0} ms {:>9.0} ms {:>10.1} MiB",
            o.minutes,
            o.recording_mib,
            o.audible_ms,
            o.pressed_ms,
            o.meta_ms,
            o.playing_ms,
            o.memory_mib
        );
    }
    println!(
        "{minutes} min / 1 min: first audible {:.2}x, playing {:.2}x, replay memory {:+.1} MiB ({:.2}x)",
        long.audible_ms / baseline.audible_ms,
        long.playing_ms / baseline.playing_ms,
        long.memory_mib - baseline.memory_mib,
        long.memory_mib / baseline.memory_mib.max(0.1),
    );
}
