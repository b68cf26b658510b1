import "./style.css";
import { App } from "./app";
import { coreAvailable, subscribe } from "./ipc/core";
import { applyBakedShadow } from "./baked-shadow";
import { applyPaint } from "./paint";
import { initTheme } from "./theme";

initTheme();
applyPaint();
applyBakedShadow();
const app = new App(document.getElementById("app")!);

if (!coreAvailable()) {
  app.fail("Open Candor from the desktop app: this page needs the Candor core to run.");
} else {
  subscribe((event) => app.store.handle(event)).catch((err: unknown) => {
    app.fail(`Candor's core did not answer: ${typeof err === "string" ? err : err instanceof Error ? err.message : String(err)}`);
  });
}
