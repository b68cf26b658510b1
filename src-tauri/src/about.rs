//! The About dialog's facts: the app's version and licence, where it keeps
//! its things on this computer, and the third-party components compiled into
//! it with their licences.
//!
//! The component list is written by hand (a licence is the bundled library's,
//! which is not always its Rust wrapper's), so a test holds it to the build:
//! every component's crate must be in the app's dependency tree, and a
//! component that *is* a crate must carry that crate's licence.

use candor_client::ipc::{About, AppLocations, BundledComponent};

use crate::settings::AppPaths;

/// Where a component's licence comes from.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "read by the test that holds the list to the build"
    )
)]
enum Origin {
    /// The component is this Rust crate: its licence is the crate's.
    Crate(&'static str),
    /// A C or C++ library compiled in by this crate (its licence is the
    /// library's, not necessarily the crate's).
    VendoredBy(&'static str),
    /// Not part of the app: fetched only when the user asks for it.
    Downloaded,
}

/// One entry of the list.
#[derive(Debug, Clone, Copy)]
struct Component {
    name: &'static str,
    purpose: &'static str,
    licence: &'static str,
    url: &'static str,
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "read by the test that holds the list to the build"
        )
    )]
    origin: Origin,
}

/// The components a user of Candor meets, most visible first.
const COMPONENTS: &[Component] = &[
    Component {
        name: "Tauri",
        purpose: "The desktop window and its link to the interface",
        licence: "Apache-2.0 OR MIT",
        url: "https://tauri.app",
        origin: Origin::Crate("tauri"),
    },
    Component {
        name: "Opus",
        purpose: "Audio compression between the app and the interviewer",
        licence: "BSD-3-Clause",
        url: "https://opus-codec.org",
        origin: Origin::VendoredBy("opusic-sys"),
    },
    Component {
        name: "Sonora",
        purpose: "Echo cancellation (a port of WebRTC's AEC3)",
        licence: "BSD-3-Clause",
        url: "https://github.com/dignifiedquire/sonora",
        origin: Origin::Crate("sonora"),
    },
    Component {
        name: "Flite",
        purpose: "The offline interviewer's voice (CMU's cmu_us_slt)",
        licence: "BSD-style (CMU Flite licence)",
        url: "https://github.com/festvox/flite",
        origin: Origin::VendoredBy("candor-voice"),
    },
    Component {
        name: "earshot",
        purpose: "Telling a voice from other sounds",
        licence: "MIT OR Apache-2.0",
        url: "https://github.com/pykeio/earshot",
        origin: Origin::Crate("earshot"),
    },
    Component {
        name: "Rubato",
        purpose: "Audio sample-rate conversion",
        licence: "MIT OR Apache-2.0",
        url: "https://github.com/HEnquist/rubato",
        origin: Origin::Crate("rubato"),
    },
    Component {
        name: "cpal",
        purpose: "Microphone and speaker access",
        licence: "Apache-2.0",
        url: "https://github.com/RustAudio/cpal",
        origin: Origin::Crate("cpal"),
    },
    Component {
        name: "CTranslate2",
        purpose: "On-device speech recognition",
        licence: "MIT",
        url: "https://github.com/OpenNMT/CTranslate2",
        origin: Origin::VendoredBy("ct2rs"),
    },
    Component {
        name: "Ruy",
        purpose: "Matrix arithmetic for speech recognition",
        licence: "Apache-2.0",
        url: "https://github.com/google/ruy",
        origin: Origin::VendoredBy("ct2rs"),
    },
    Component {
        name: "Tokenizers",
        purpose: "Turning recognised tokens into words",
        licence: "Apache-2.0",
        url: "https://github.com/huggingface/tokenizers",
        origin: Origin::Crate("tokenizers"),
    },
    Component {
        name: "SentencePiece",
        purpose: "Text tokenisation for speech recognition",
        licence: "Apache-2.0",
        url: "https://github.com/google/sentencepiece",
        origin: Origin::VendoredBy("sentencepiece-sys"),
    },
    Component {
        name: "Oniguruma",
        purpose: "Regular expressions for the tokenizer",
        licence: "BSD-2-Clause",
        url: "https://github.com/kkos/oniguruma",
        origin: Origin::VendoredBy("onig_sys"),
    },
    Component {
        name: "SQLite",
        purpose: "Storing your interviews and results",
        licence: "Public domain",
        url: "https://sqlite.org",
        origin: Origin::VendoredBy("libsqlite3-sys"),
    },
    Component {
        name: "rustls",
        purpose: "Secure connections to a hosted backend",
        licence: "Apache-2.0 OR ISC OR MIT",
        url: "https://github.com/rustls/rustls",
        origin: Origin::Crate("rustls"),
    },
    Component {
        name: "ring",
        purpose: "Cryptography for secure connections",
        licence: "Apache-2.0 AND ISC",
        url: "https://github.com/briansmith/ring",
        origin: Origin::Crate("ring"),
    },
    Component {
        name: "Tokio",
        purpose: "Running network and audio tasks",
        licence: "MIT",
        url: "https://tokio.rs",
        origin: Origin::Crate("tokio"),
    },
    Component {
        name: "Whisper models",
        purpose: "Speech recognition models, downloaded when you choose one",
        licence: "MIT",
        url: "https://github.com/openai/whisper",
        origin: Origin::Downloaded,
    },
];

/// Everything the About dialog shows.
pub fn about(paths: &AppPaths) -> About {
    About {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        licence: env!("CARGO_PKG_LICENSE").to_owned(),
        locations: locations(paths),
        components: COMPONENTS
            .iter()
            .map(|c| BundledComponent {
                name: c.name.to_owned(),
                purpose: c.purpose.to_owned(),
                licence: c.licence.to_owned(),
                url: c.url.to_owned(),
            })
            .collect(),
    }
}

pub fn locations(paths: &AppPaths) -> AppLocations {
    AppLocations {
        data: paths.data_dir.display().to_string(),
        logs: paths.log_dir.display().to_string(),
        settings: paths.config_dir.display().to_string(),
    }
}

/// The home page of a listed component (the only pages the app opens).
pub fn component_url(name: &str) -> Option<&'static str> {
    COMPONENTS.iter().find(|c| c.name == name).map(|c| c.url)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::process::Command;

    use super::*;

    /// Every package in the app's (normal) dependency tree, with its licence.
    fn dependency_licences() -> BTreeMap<String, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "tree",
                "--offline",
                "-p",
                "candor-desktop",
                "-e",
                "normal",
                "--prefix",
                "none",
                "-f",
                "{p}\t{l}",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo tree");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|line| {
                let (package, licence) = line.split_once('\t')?;
                let name = package.split_whitespace().next()?;
                let licence = licence.trim_end_matches(" (*)").trim();
                Some((name.to_owned(), licence.to_owned()))
            })
            .collect()
    }

    /// `MIT/Apache-2.0` is the old spelling of `MIT OR Apache-2.0`.
    fn terms(expression: &str) -> Vec<String> {
        let mut t: Vec<String> = expression
            .replace('/', " OR ")
            .split(" OR ")
            .map(|s| s.trim().to_owned())
            .collect();
        t.sort();
        t
    }

    #[test]
    fn every_listed_component_is_built_in_with_the_licence_shown() {
        let deps = dependency_licences();
        for c in COMPONENTS {
            match c.origin {
                Origin::Crate(name) => {
                    let licence = deps
                        .get(name)
                        .unwrap_or_else(|| panic!("{} ({name}) is not a dependency", c.name));
                    assert_eq!(
                        terms(licence),
                        terms(c.licence),
                        "{}: the crate says {licence}",
                        c.name
                    );
                }
                Origin::VendoredBy(name) => assert!(
                    deps.contains_key(name),
                    "{} is listed as built in by {name}, which is not a dependency",
                    c.name
                ),
                Origin::Downloaded => {}
            }
        }
    }

    #[test]
    fn components_are_named_once_with_a_licence_and_a_home_page() {
        let mut names = std::collections::BTreeSet::new();
        for c in COMPONENTS {
            assert!(names.insert(c.name), "{} is listed twice", c.name);
            assert!(!c.licence.is_empty() && !c.purpose.is_empty());
            assert!(c.url.starts_with("https://"), "{}", c.url);
            assert_eq!(component_url(c.name), Some(c.url));
        }
        assert_eq!(component_url("https://example.com"), None);
    }

    #[test]
    fn about_shows_the_version_and_the_app_directories() {
        let paths = AppPaths {
            config_dir: "/home/ada/.config/app.candor.desktop".into(),
            data_dir: "/home/ada/.local/share/app.candor.desktop".into(),
            log_dir: "/home/ada/.local/share/app.candor.desktop/logs".into(),
        };
        let about = about(&paths);
        assert_eq!(about.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(about.licence, "MIT OR Apache-2.0");
        assert_eq!(
            about.locations.logs,
            "/home/ada/.local/share/app.candor.desktop/logs"
        );
        assert_eq!(about.components.len(), COMPONENTS.len());
    }
}
