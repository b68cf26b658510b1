//! Tauri's build step. The config (`tauri.conf.json`) is at the repository
//! root beside the root `Cargo.toml`; the capabilities live in `src-tauri/`.

#[macro_use]
#[path = "src/command_list.rs"]
mod command_list;

/// Every command the UI may call (from `src/command_list.rs`).
const COMMANDS: &[&str] = with_commands!(command_names);

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/src/command_list.rs");
    // Declaring the app's commands makes each one a permission (`allow-<name>`)
    // that a capability must grant: a command not listed here cannot be called.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/*.json")
        .app_manifest(manifest);
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
