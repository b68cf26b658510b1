//! The main window as a desktop app's window is expected to behave:
//!
//! - **one instance**: launching Candor again while it runs brings the open
//!   window to the front ([`focus_main`]) instead of starting a second app
//!   on the same data (on Linux [`crate::instance`], elsewhere
//!   `tauri-plugin-single-instance`);
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

/// The single-instance plugin (not Linux: there [`crate::instance`]): a
/// second launch hands over and exits, and the running app shows its
/// window.
#[cfg(not(target_os = "linux"))]
pub fn single_instance<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_single_instance::Builder::new()
        .callback(|app, _args, _cwd| {
            tracing::info!("Candor was launched again: showing the window already open");
            focus_main(app);
        })
        .build()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_position_and_maximised_are_remembered_not_visibility() {
        let flags = remembered();
        assert!(flags.contains(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED));
        assert!(!flags.contains(StateFlags::VISIBLE));
        assert!(!flags.contains(StateFlags::FULLSCREEN));
    }
}
