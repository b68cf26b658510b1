//! Architecture invariants that can be checked mechanically (see
//! ARCHITECTURE.md): the protocol and lifecycle crates stay free of I/O
//! runtimes, audio and UI frameworks, so they build and test fast and the
//! lifecycle core stays sans-IO; the programs link one cryptography
//! library; the desktop app one D-Bus library.

use std::collections::BTreeSet;
use std::process::Command;

/// Every crate in `package`'s normal and build dependency tree.
fn dependency_tree(package: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--locked", "-e", "normal,build", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_free_of(package: &str, forbidden: &[&str]) {
    let tree = dependency_tree(package);
    assert!(tree.contains(package), "{package} is not in its own tree");
    let found: Vec<&&str> = forbidden
        .iter()
        .filter(|name| tree.contains(**name))
        .collect();
    assert!(found.is_empty(), "{package} depends on {found:?}");
}

const RUNTIMES_AND_DEVICES: &[&str] = &[
    "tokio",
    "async-std",
    "mio",
    "tauri",
    "wry",
    "cpal",
    "alsa",
    "tungstenite",
    "tokio-tungstenite",
    "reqwest",
    "hyper",
];

#[test]
fn the_lifecycle_core_has_no_io_runtime_audio_or_ui_dependency() {
    assert_free_of("candor-lifecycle", RUNTIMES_AND_DEVICES);
}

#[test]
fn the_protocol_crate_has_no_io_runtime_audio_or_ui_dependency() {
    assert_free_of("candor-protocol", RUNTIMES_AND_DEVICES);
}

/// TLS is rustls with ring, installed by `candor-http`: AWS-LC (reqwest's
/// own provider) would add ~2 MiB to the app and the slowest C build.
#[test]
fn the_programs_carry_one_cryptography_library() {
    for program in ["candor-desktop", "candor-cli"] {
        assert_free_of(program, &["aws-lc-rs", "aws-lc-sys"]);
        assert!(dependency_tree(program).contains("ring"), "{program}");
    }
}

/// The keyring's Secret Service client is libdbus (`dbus`); a second,
/// pure-Rust D-Bus stack (`zbus`: ~1 MiB of code, its own executor and
/// threads) came with a plugin for one instance per data directory, which
/// `src-tauri/src/instance.rs` does with a lock file and a socket.
#[test]
fn the_desktop_app_links_one_dbus_library() {
    assert_free_of("candor-desktop", &["zbus", "tauri-plugin-single-instance"]);
    assert!(dependency_tree("candor-desktop").contains("dbus"));
}

#[test]
fn the_checker_sees_real_dependencies() {
    // Guards the check itself: the desktop package does depend on tauri.
    assert!(dependency_tree("candor-desktop").contains("tauri"));
}
