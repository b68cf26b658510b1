//! The main window as a desktop app's window is expected to behave:
//!
//! - **one instance**: launching Candor again while it runs brings the open
//!   window to the front instead of starting a second app on the same data
//!   (`tauri-plugin-single-instance`; on Linux a D-Bus name on the session
//!   bus, scoped to the data directory, so separate profiles, such as tests
//!   with their own `XDG_DATA_HOME`, stay separate);
//! - **its size and position remembered** (`tauri-plugin-window-state`, in
//!   `.window-state.json` in the config directory): restored as the window
//!   opens, saved a moment after the user stops moving or resizing it (so a
//!   crash or a killed session keeps it too) and as the app exits;
//! - **its page told how it is painted** (Linux): on WebKitGTK's
//!   shared-memory renderer the page keeps still what would animate for as
//!   long as a state lasts ([`paint_hint`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// The window the app opens (`tauri.conf.json`).
pub const MAIN: &str = "main";

/// How long the window must stay still before its place is saved.
const SAVE_AFTER: Duration = Duration::from_millis(800);

/// What of the window is remembered: size, position and whether it was
/// maximised. Not visibility (it always opens shown), decorations or full
/// screen.
pub fn remembered() -> StateFlags {
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

/// The single-instance plugin: a second launch hands over and exits, and
/// the running app shows its window.
/// `identifier`: the app's (`tauri.conf.json`).
pub fn single_instance<R: Runtime>(identifier: &str) -> tauri::plugin::TauriPlugin<R> {
    let builder = tauri_plugin_single_instance::Builder::new().callback(|app, _args, _cwd| {
        tracing::info!("Candor was launched again: showing the window already open");
        focus_main(app);
    });
    #[cfg(target_os = "linux")]
    let builder = builder.dbus_id(dbus_id(identifier, &linux_data_home().unwrap_or_default()));
    #[cfg(not(target_os = "linux"))]
    let _ = identifier;
    builder.build()
}

/// Runs [`crate::renderer::page_script`] in the page before its own scripts,
/// so its first paint already knows whether frames cost a CPU repaint.
#[cfg(target_os = "linux")]
pub fn paint_hint<R: Runtime>(
    renderer: crate::renderer::Renderer,
) -> tauri::plugin::TauriPlugin<R> {
    tauri::plugin::Builder::new("candor-paint")
        .js_init_script(crate::renderer::page_script(renderer))
        .build()
}

/// The window-state plugin, with [`remembered`] flags.
pub fn state<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_window_state::Builder::new()
        .with_state_flags(remembered())
        .build()
}

/// Saves the window's place once it has been still for [`SAVE_AFTER`]
/// after a move or resize (the plugin itself writes only at exit).
pub fn save_when_settled<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    let generation = Arc::new(AtomicU64::new(0));
    let app = app.clone();
    window.on_window_event(move |event| {
        if !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
            return;
        }
        let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
        let (generation, app) = (generation.clone(), app.clone());
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(SAVE_AFTER).await;
            if generation.load(Ordering::SeqCst) == mine
                && let Err(e) = app.save_window_state(remembered())
            {
                tracing::warn!(error = %e, "could not save the window's size and position");
            }
        });
    });
}

/// Brings the main window to the front.
pub fn focus_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Where the platform keeps user data on Linux (the base of the app's data
/// directory): `$XDG_DATA_HOME`, else `~/.local/share`.
#[cfg(target_os = "linux")]
fn linux_data_home() -> Option<String> {
    std::env::var("XDG_DATA_HOME")
        .ok()
        .filter(|d| d.starts_with('/'))
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|h| format!("{h}/.local/share"))
        })
}

/// The single-instance D-Bus name's base for the app `identifier` using the
/// data under `data_home`: the identifier and a stable hash of the directory
/// (FNV-1a, the same in every build), a valid bus name element.
pub fn dbus_id(identifier: &str, data_home: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data_home.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{identifier}.d{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_data_directory_has_its_own_instance_name() {
        let a = dbus_id("app.candor.desktop", "/home/ada/.local/share");
        let b = dbus_id("app.candor.desktop", "/tmp/test-1/data");
        assert_ne!(a, b);
        assert_eq!(a, dbus_id("app.candor.desktop", "/home/ada/.local/share"));
        // Stable across builds: a new version finds the running old one.
        assert_eq!(
            dbus_id("app.candor.desktop", ""),
            "app.candor.desktop.dcbf29ce484222325"
        );
    }

    #[test]
    fn instance_names_are_valid_bus_names() {
        let name = format!("{}.SingleInstance", dbus_id("app.candor.desktop", "/x"));
        assert!(name.len() <= 255);
        for element in name.split('.') {
            let first = element.chars().next().expect("no empty element");
            assert!(!first.is_ascii_digit(), "{element} starts with a digit");
            assert!(
                element
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{element}"
            );
        }
    }

    #[test]
    fn size_position_and_maximised_are_remembered_not_visibility() {
        let flags = remembered();
        assert!(flags.contains(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED));
        assert!(!flags.contains(StateFlags::VISIBLE));
        assert!(!flags.contains(StateFlags::FULLSCREEN));
    }
}
