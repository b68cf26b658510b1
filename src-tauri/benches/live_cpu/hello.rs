//! The same-run floor: a hello-world Tauri window.
//!
//! The benchmark runs its own executable again with [`FLAG`]; that process
//! is a Tauri app built from the same crates, profile and configuration as
//! Candor (Tauri, wry, WebKitGTK, the window's size), whose page is a
//! heading and a line of text: what any Tauri app costs before it does
//! anything. It has no engine, backend, audio or IPC.

use tauri::WebviewUrl;

/// The argument that makes the benchmark's executable the hello-world window.
pub const FLAG: &str = "--hello-world-window";

/// The page, served by the window's own URI scheme.
const PAGE: &str = "<!doctype html><html><head><meta charset=utf-8><title>Hello</title>\
<style>body{font-family:sans-serif;margin:3em;background:#f6f7fb;color:#222}</style>\
</head><body><h1>Hello, world</h1><p>A Tauri window and nothing else.</p></body></html>";

/// Runs the hello-world window until it is killed.
pub fn run() -> ! {
    let mut context = tauri::generate_context!("tauri.conf.json");
    let config = context.config_mut();
    config.identifier = "app.candor.bench-hello".into();
    for window in &mut config.app.windows {
        window.title = "Hello".into();
        window.url = WebviewUrl::CustomProtocol("hello://localhost/".parse().expect("a URL"));
    }
    tauri::Builder::default()
        .register_uri_scheme_protocol("hello", |_, _| {
            tauri::http::Response::builder()
                .header("Content-Type", "text/html; charset=utf-8")
                .body(PAGE.as_bytes().to_vec())
                .expect("the page")
        })
        .build(context)
        .expect("the hello-world window")
        .run(|_, _| {});
    std::process::exit(0)
}
