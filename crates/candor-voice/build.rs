//! Links Flite's static libraries (the library, US English text analysis,
//! the CMU lexicon and the `cmu_us_slt` voice) into Candor, so the voice
//! needs nothing installed where Candor runs.
//!
//! The libraries come from the build machine: Debian and Ubuntu's
//! `flite1-dev` (installed by `scripts/setup`), Homebrew's `flite`, or any
//! Flite 2.2 build named by `CANDOR_FLITE_LIB_DIR`.

use std::path::{Path, PathBuf};

/// Link order matters for static libraries: users before what they use.
const LIBS: [&str; 4] = [
    "flite_cmu_us_slt",
    "flite_usenglish",
    "flite_cmulex",
    "flite",
];

fn main() {
    println!("cargo:rerun-if-env-changed=CANDOR_FLITE_LIB_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    let dir = match std::env::var_os("CANDOR_FLITE_LIB_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                has_voice(&dir),
                "CANDOR_FLITE_LIB_DIR={} holds no libflite_cmu_us_slt.a",
                dir.display()
            );
            dir
        }
        None => candidates().into_iter().find(|d| has_voice(d)).unwrap_or_else(|| {
            panic!(
                "Candor's interviewer voice links Flite 2.2 statically, and its static libraries were not found in {:?}. \
                 Install them (Debian/Ubuntu: `apt-get install flite1-dev`, which scripts/setup does; macOS: `brew install flite`) \
                 or set CANDOR_FLITE_LIB_DIR to the folder holding libflite.a and libflite_cmu_us_slt.a.",
                candidates()
            )
        }),
    };
    println!(
        "cargo:rerun-if-changed={}",
        dir.join("libflite_cmu_us_slt.a").display()
    );
    println!("cargo:rustc-link-search=native={}", dir.display());
    for lib in LIBS {
        println!("cargo:rustc-link-lib=static={lib}");
    }
    // What libflite.a itself calls: libm everywhere; on Linux, Debian's
    // build also plays audio through ALSA (unused by Candor, but linked).
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-lib=dylib=asound");
    }
    if os != "windows" {
        println!("cargo:rustc-link-lib=dylib=m");
    }
}

fn has_voice(dir: &Path) -> bool {
    LIBS.iter()
        .all(|lib| dir.join(format!("lib{lib}.a")).is_file())
}

/// Where package managers put the static libraries, for the target.
fn candidates() -> Vec<PathBuf> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let multiarch = match (arch.as_str(), env.as_str()) {
        ("x86_64", "gnu") => Some("x86_64-linux-gnu"),
        ("aarch64", "gnu") => Some("aarch64-linux-gnu"),
        ("arm", "gnueabihf") => Some("arm-linux-gnueabihf"),
        _ => None,
    };
    let mut dirs: Vec<PathBuf> = multiarch
        .map(|m| PathBuf::from("/usr/lib").join(m))
        .into_iter()
        .collect();
    for d in [
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
        "/opt/homebrew/lib",
        "/opt/homebrew/opt/flite/lib",
        "/usr/local/opt/flite/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}
