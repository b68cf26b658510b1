//! The Candor desktop shell: a thin Tauri layer that opens the window and
//! forwards between the web UI (`ui/`) and the Rust core. It holds no
//! lifecycle logic: state comes from `candor-lifecycle`, and the UI renders it.

use serde::Serialize;

/// What the window shows before the client engine is attached: the app's
/// identity and the lifecycle core's current state name.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AppInfo {
    name: &'static str,
    version: &'static str,
    state: &'static str,
}

#[tauri::command]
fn app_info() -> AppInfo {
    let machine = candor_lifecycle::Machine::<Shell>::new(candor_lifecycle::Config::default(), 0);
    AppInfo {
        name: "Candor",
        version: env!("CARGO_PKG_VERSION"),
        state: machine.state_name(),
    }
}

/// The payload types the shell uses with the lifecycle core.
#[derive(Debug, PartialEq)]
struct Shell;

impl candor_lifecycle::Payloads for Shell {
    type Credentials = ();
    type Profile = String;
    type Setup = ();
    type History = Vec<String>;
    type Results = String;
}

/// Builds and runs the app until its window closes.
pub fn run() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_info])
        .run(tauri::generate_context!("tauri.conf.json"))
        .expect("error while running the Candor app");
}
