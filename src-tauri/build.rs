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
    pack_relative_relocations();
}

/// Links the app with its relative relocations packed (`DT_RELR`): the
/// program's 100 000-odd pointers to itself take ~2.5 MiB as classic
/// `RELA` entries, which the loader reads at every start and which stay
/// mapped (counted in the app's memory) for its whole life; packed, a few
/// KiB. The loader must know `DT_RELR`, glibc 2.36 and later, so it is only
/// done where the build machine's glibc does (the binary then runs there
/// and on anything newer): a native Linux build against glibc >= 2.36.
fn pack_relative_relocations() {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let native = env("HOST") == env("TARGET");
    if !native || env("CARGO_CFG_TARGET_OS") != "linux" || env("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    if glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The build machine's glibc, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}
