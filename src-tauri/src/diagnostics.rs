//! "Copy diagnostics": a plain-text report to paste into a bug report: the
//! app's version, the OS and desktop, the web view and its renderer, the
//! audio devices, the backend and the speech models.
//!
//! It is built from [`Facts`] by a pure function, so tests can hold it to its
//! promise: no secret ever appears in it. It names no account (no email),
//! carries no token or password (the shell never reads them for it), and
//! every URL loses its user name, password, query and fragment
//! ([`redact_url`]); home directories read `~`.

use std::fmt::Write as _;
use std::path::Path;

use candor_client::ipc::{AppLocations, AudioDevice, DeviceList, SpeechModels};

/// Which backend the app talks to.
#[derive(Debug, Clone)]
pub enum BackendFacts {
    /// The backend built into the app (offline practice).
    Embedded,
    /// A hosted backend, as configured (redacted when rendered).
    Hosted {
        url: String,
        /// Set by `CANDOR_BACKEND_URL` rather than the settings.
        from_environment: bool,
    },
}

/// What the report is made of.
#[derive(Debug, Clone)]
pub struct Facts {
    pub version: String,
    /// e.g. `Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64, x86_64`.
    pub os: String,
    /// e.g. `x11, GNOME` (Linux), when known.
    pub desktop: Option<String>,
    pub webview: Option<String>,
    /// How the web view draws (Linux: the renderer chosen at launch).
    pub renderer: Option<String>,
    pub backend: BackendFacts,
    /// `signed out`, `offline profile` or `signed in to an account`.
    pub account: String,
    /// The interview's state, e.g. `idle`.
    pub interview: String,
    pub echo_cancellation: bool,
    /// The devices as last listed, or why they could not be.
    pub devices: Result<DeviceList, String>,
    pub speech: Option<SpeechModels>,
    pub locations: AppLocations,
    /// The user's home directory, shown as `~` in paths.
    pub home: Option<String>,
}

/// The report.
pub fn render(f: &Facts) -> String {
    let mut out = String::new();
    let home = f.home.as_deref();
    let mut line = |key: &str, value: &str| {
        let _ = writeln!(out, "{key:<20}{value}");
    };
    line("Candor", &f.version);
    line("OS", &f.os);
    if let Some(desktop) = &f.desktop {
        line("Desktop", desktop);
    }
    line("Web view", f.webview.as_deref().unwrap_or("unknown"));
    if let Some(renderer) = &f.renderer {
        line("Renderer", renderer);
    }
    match &f.backend {
        BackendFacts::Embedded => line("Backend", "built in (offline practice)"),
        BackendFacts::Hosted {
            url,
            from_environment,
        } => {
            let shown = redact_url(url);
            if *from_environment {
                line("Backend", &format!("{shown} (from CANDOR_BACKEND_URL)"));
            } else {
                line("Backend", &shown);
            }
        }
    }
    line("Account", &f.account);
    line("Interview", &f.interview);
    line(
        "Echo cancellation",
        if f.echo_cancellation { "on" } else { "off" },
    );
    match &f.speech {
        Some(s) => {
            let installed: Vec<&str> = s
                .models
                .iter()
                .filter(|m| matches!(m.state, candor_client::ipc::SpeechModelState::Installed))
                .map(|m| m.id.as_str())
                .collect();
            line(
                "Speech model",
                s.in_use
                    .as_deref()
                    .unwrap_or("none (answers are timed only)"),
            );
            line(
                "Installed models",
                &if installed.is_empty() {
                    "none".to_owned()
                } else {
                    installed.join(", ")
                },
            );
            line(
                "Model source",
                &s.source
                    .as_ref()
                    .map(|m| redact_url(&m.url))
                    .unwrap_or_else(|| "none".to_owned()),
            );
        }
        None => line("Speech model", "unknown"),
    }
    line("Data", &tilde(&f.locations.data, home));
    line("Logs", &tilde(&f.locations.logs, home));
    line("Settings", &tilde(&f.locations.settings, home));
    match &f.devices {
        Ok(d) => {
            let _ = writeln!(out, "\nMicrophones");
            devices(&mut out, &d.inputs, d.selected_input.as_deref());
            let _ = writeln!(out, "\nSpeakers");
            devices(&mut out, &d.outputs, d.selected_output.as_deref());
        }
        Err(e) => {
            let _ = writeln!(out, "\nAudio devices: {e}");
        }
    }
    out
}

fn devices(out: &mut String, list: &[AudioDevice], selected: Option<&str>) {
    if list.is_empty() {
        let _ = writeln!(out, "  none found");
    }
    for d in list {
        let mut marks = Vec::new();
        if d.is_default {
            marks.push("system default");
        }
        if selected == Some(d.id.as_str()) {
            marks.push("chosen");
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        };
        let _ = writeln!(out, "  {}{marks}", d.name);
    }
    if selected.is_none() {
        let _ = writeln!(out, "  (using the system default)");
    }
}

/// A URL fit for a report: scheme, host, port and path; no user name,
/// password, query or fragment (where tokens and keys hide).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(mut url) if url.has_host() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        _ => "(not a valid URL)".to_owned(),
    }
}

/// `path` with the home directory written `~` (it usually holds the user's
/// name).
fn tilde(path: &str, home: Option<&str>) -> String {
    match home.filter(|h| h.len() > 1) {
        Some(home) => match Path::new(path).strip_prefix(home) {
            Ok(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
            Ok(rest) => format!("~{}{}", std::path::MAIN_SEPARATOR, rest.display()),
            Err(_) => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// The OS, its version where cheap to know, and the CPU architecture.
pub fn os_description() -> String {
    let arch = std::env::consts::ARCH;
    #[cfg(target_os = "linux")]
    {
        let name = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| "Linux".to_owned());
        match std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            Ok(kernel) => format!("{name}, kernel {}, {arch}", kernel.trim()),
            Err(_) => format!("{name}, {arch}"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        format!("{}, {arch}", std::env::consts::OS)
    }
}

/// The desktop session (Linux): display protocol and desktop environment.
pub fn desktop_description() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let parts: Vec<String> = [var("XDG_SESSION_TYPE"), var("XDG_CURRENT_DESKTOP")]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use candor_client::ipc::{ModelSource, SpeechModelInfo, SpeechModelState};

    use super::*;

    const SECRETS: &[&str] = &["hunter2", "s3cr3t-token", "ada@example.org", "api-key-123"];

    fn facts(backend: BackendFacts) -> Facts {
        Facts {
            version: "0.1.0".into(),
            os: "Debian GNU/Linux 12 (bookworm), kernel 6.1.0, x86_64".into(),
            desktop: Some("x11, GNOME".into()),
            webview: Some("2.48.1".into()),
            renderer: Some("shared memory: software GL".into()),
            backend,
            account: "signed in to an account".into(),
            interview: "idle".into(),
            echo_cancellation: true,
            devices: Ok(DeviceList {
                inputs: vec![
                    AudioDevice {
                        id: "pulse:mic".into(),
                        name: "Built-in Microphone".into(),
                        is_default: true,
                    },
                    AudioDevice {
                        id: "pulse:usb".into(),
                        name: "USB Headset".into(),
                        is_default: false,
                    },
                ],
                outputs: vec![],
                selected_input: Some("pulse:usb".into()),
                selected_output: None,
            }),
            speech: Some(SpeechModels {
                source: Some(ModelSource {
                    url: "https://ada:hunter2@models.example.com/whisper?key=api-key-123".into(),
                    from_environment: false,
                }),
                models: vec![SpeechModelInfo {
                    id: "whisper-tiny-en".into(),
                    name: "Whisper tiny (English)".into(),
                    languages: "English".into(),
                    speed: "fastest".into(),
                    quality: "good".into(),
                    size_bytes: 77_000_000,
                    state: SpeechModelState::Installed,
                    error: None,
                }],
                in_use: Some("whisper-tiny-en".into()),
                offline_interviewer: true,
            }),
            locations: AppLocations {
                data: "/home/ada/.local/share/app.candor.desktop".into(),
                logs: "/home/ada/.local/share/app.candor.desktop/logs".into(),
                settings: "/home/ada/.config/app.candor.desktop".into(),
            },
            home: Some("/home/ada".into()),
        }
    }

    #[test]
    fn the_report_never_holds_a_password_token_key_or_email() {
        for backend in [
            BackendFacts::Hosted {
                url: "https://ada%40example.org:hunter2@candor.example.com/api?token=s3cr3t-token#hunter2".into(),
                from_environment: true,
            },
            BackendFacts::Hosted {
                url: "https://candor.example.com/?access_token=s3cr3t-token".into(),
                from_environment: false,
            },
            BackendFacts::Embedded,
        ] {
            let report = render(&facts(backend));
            for secret in SECRETS {
                assert!(
                    !report.contains(secret),
                    "the report shows {secret}:\n{report}"
                );
            }
            assert!(!report.to_lowercase().contains("token="), "{report}");
        }
    }

    #[test]
    fn the_report_says_what_a_bug_report_needs() {
        let report = render(&facts(BackendFacts::Hosted {
            url: "https://user:hunter2@candor.example.com:8443/v1?x=1".into(),
            from_environment: true,
        }));
        for expected in [
            "Candor              0.1.0",
            "Debian GNU/Linux 12",
            "x11, GNOME",
            "2.48.1",
            "https://candor.example.com:8443/v1 (from CANDOR_BACKEND_URL)",
            "Echo cancellation   on",
            "Speech model        whisper-tiny-en",
            "https://models.example.com/whisper",
            "Logs                ~/.local/share/app.candor.desktop/logs",
            "  Built-in Microphone (system default)",
            "  USB Headset (chosen)",
            "Speakers\n  none found\n  (using the system default)",
        ] {
            assert!(
                report.contains(expected),
                "missing {expected:?} in\n{report}"
            );
        }
        assert!(!report.contains("/home/ada"), "{report}");
    }

    #[test]
    fn urls_keep_only_where_they_point() {
        assert_eq!(
            redact_url("https://u:p@host.example:444/a/b?token=x#y"),
            "https://host.example:444/a/b"
        );
        assert_eq!(
            redact_url(" https://host.example "),
            "https://host.example/"
        );
        assert_eq!(redact_url("not a url hunter2"), "(not a valid URL)");
        assert_eq!(redact_url("mailto:ada@example.org"), "(not a valid URL)");
    }

    #[test]
    fn home_is_written_as_a_tilde() {
        assert_eq!(tilde("/home/ada/x", Some("/home/ada")), "~/x");
        assert_eq!(tilde("/home/adam/x", Some("/home/ada")), "/home/adam/x");
        assert_eq!(tilde("/var/x", None), "/var/x");
        assert_eq!(tilde("/x", Some("/")), "/x");
    }

    #[test]
    fn unlisted_devices_say_why() {
        let mut f = facts(BackendFacts::Embedded);
        f.devices = Err("Could not list audio devices: no sound server".into());
        let report = render(&f);
        assert!(report.contains("built in (offline practice)"), "{report}");
        assert!(report.contains("Audio devices: Could not list audio devices: no sound server"));
    }
}
