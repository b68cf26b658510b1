//! The IPC contract's Rust side is the source of truth; these tests fail when
//! a derived copy drifts from it:
//!
//! - `ui/src/ipc/generated.ts`, the UI's TypeScript types and command names,
//!   generated from the Rust IPC types and the shell's command list;
//! - `src-tauri/capabilities/main.json`, which must grant the main window
//!   exactly the shell's commands.
//!
//! `CANDOR_BLESS=1` rewrites both instead of failing.

use std::path::{Path, PathBuf};

use candor_desktop::COMMANDS;

const REGENERATE: &str = "CANDOR_BLESS=1 cargo test -p candor-desktop --test bindings";

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn bless() -> bool {
    std::env::var_os("CANDOR_BLESS").is_some()
}

#[test]
fn the_ui_typescript_contract_is_up_to_date() {
    let path = repo_file("ui/src/ipc/generated.ts");
    let generated = candor_client::ts::bindings(COMMANDS);
    if bless() {
        std::fs::write(&path, &generated).expect("write generated.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: the Rust IPC types or the command list changed. Regenerate it with\n  \
         {REGENERATE}\n\
         and commit the result (the UI build type-checks against it).",
        path.display()
    );
}

/// The permission `tauri-build` makes of a command: `sign_in` → `allow-sign-in`.
fn permission(command: &str) -> String {
    format!("allow-{}", command.replace('_', "-"))
}

#[test]
fn the_main_window_may_call_exactly_the_shells_commands() {
    let path = repo_file("src-tauri/capabilities/main.json");
    let text = std::fs::read_to_string(&path).expect("read main.json");
    let mut capability: serde_json::Value = serde_json::from_str(&text).expect("main.json parses");
    let expected: Vec<String> = COMMANDS.iter().map(|c| permission(c)).collect();
    let granted: Vec<String> = capability["permissions"]
        .as_array()
        .expect("main.json has a permissions list")
        .iter()
        .map(|p| p.as_str().expect("permissions are identifiers").to_owned())
        .collect();
    if bless() && granted != expected {
        // Rewritten only when it differs (serde_json then orders the keys).
        capability["permissions"] = serde_json::json!(expected);
        let mut text = serde_json::to_string_pretty(&capability).expect("serialize");
        text.push('\n');
        std::fs::write(&path, text).expect("write main.json");
        return;
    }
    assert_eq!(
        granted,
        expected,
        "{} must grant exactly the commands of src-tauri/src/command_list.rs, in its order \
         (no other permission: nothing else is callable). Rewrite it with\n  {REGENERATE}",
        path.display()
    );
}

#[test]
fn command_names_are_unique_identifiers() {
    let mut seen = std::collections::BTreeSet::new();
    for command in COMMANDS {
        assert!(seen.insert(command), "{command} is listed twice");
        assert!(
            command
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{command} is not a snake_case command name"
        );
    }
}
