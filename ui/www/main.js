// Asks the Rust core for the app's identity and lifecycle state and shows it.
const status = document.getElementById("status");
const invoke = window.__TAURI_INTERNALS__?.invoke;
if (invoke) {
  invoke("app_info")
    .then((info) => { status.textContent = `Version ${info.version} · state: ${info.state}`; })
    .catch((err) => { status.textContent = `Could not reach the Candor core: ${err}`; });
} else {
  status.textContent = "Open Candor from the desktop app to begin.";
}
