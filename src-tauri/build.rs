//! Tauri's build step. The config (`tauri.conf.json`) is at the repository
//! root beside the root `Cargo.toml`; the capabilities live in `src-tauri/`.
/// Every command the UI may call; keep in step with `generate_handler!` in lib.rs.
const COMMANDS: [&str; 16] = [
    "subscribe",
    "sign_in",
    "continue_offline",
    "sign_out",
    "refresh_history",
    "start_interview",
    "retry_permissions",
    "cancel_interview",
    "end_interview",
    "dismiss",
    "set_muted",
    "list_devices",
    "choose_devices",
    "get_settings",
    "save_settings",
    "open_results",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    // Declaring the app's commands makes each one a permission (`allow-<name>`)
    // that a capability must grant: a command not listed here cannot be called.
    let manifest = tauri_build::AppManifest::new().commands(&COMMANDS);
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/*.json")
        .app_manifest(manifest);
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
