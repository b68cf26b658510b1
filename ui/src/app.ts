// Puts the screens on the page: one screen per state (or group of states),
// chosen only from the latest view the core pushed.
import type { ArgsOf, Ctx, Intent } from "./context";
import { h } from "./dom";
import type { Commands, EngineEvent, InterviewSetup, View } from "./ipc/contract";
import { send } from "./ipc/core";
import { Store } from "./store";
import { Toasts, type ToastLevel } from "./toasts";
import { aboutDialog } from "./views/about";
import { authScreen } from "./views/auth";
import { dashboardScreen } from "./views/dashboard";
import { header } from "./views/header";
import { liveScreen } from "./views/live";
import { prepareScreen } from "./views/prepare";
import { resultsScreen } from "./views/results";
import type { Screen } from "./views/screen";
import { settingsDialog } from "./views/settings";
import { errorScreen, processingScreen, splashScreen } from "./views/simple";

/** Which screen shows a view; the same key keeps the screen and updates it. */
export function screenKey(view: View): string {
  if (view.auth.state !== "authenticated") return "auth";
  const iv = view.interview;
  switch (iv.state) {
    case "idle":
    case "initializing":
      return "dashboard";
    case "requestingPermissions":
    case "permissionsDenied":
      return `prepare:${iv.state}`;
    case "connecting":
      return "prepare:connecting";
    case "live":
    case "reconnecting":
    case "ending":
      return `live:${iv.interviewId}`;
    case "processingResults":
      return "processing";
    case "resultsReady":
      return `results:${iv.interviewId}`;
    case "error":
      return "error";
  }
}

export class App implements Ctx {
  readonly store = new Store();
  lastSetup: InterviewSetup | null = null;
  private readonly toasts = new Toasts();
  private readonly head = header(this);
  private readonly settings = settingsDialog(this);
  private readonly about = aboutDialog(this);
  private readonly main = h("div", { class: "app-main" });
  private screen: Screen | null = null;
  private key = "";

  constructor(root: HTMLElement) {
    root.replaceChildren(
      h("a", { class: "skip-link", href: "#main" }, "Skip to content"),
      this.head.root,
      this.main,
      this.toasts.root,
      this.settings.root,
    );
    this.main.id = "main";
    this.main.tabIndex = -1;
    this.mount("splash", splashScreen(null), false);
    this.store.listen((e) => this.onEvent(e));
  }

  /** Shown when the page is not inside the desktop app or the core refused us. */
  fail(problem: string): void {
    this.mount("splash:error", splashScreen(problem), true);
  }

  async act<K extends Intent>(name: K, ...args: ArgsOf<K>): Promise<Commands[K]["result"] | undefined> {
    try {
      return await send(name, ...args);
    } catch (err) {
      this.toast(err instanceof Error ? err.message : String(err), "error");
      return undefined;
    }
  }

  async tryAct<K extends Intent>(name: K, ...args: ArgsOf<K>): Promise<boolean> {
    try {
      await send(name, ...args);
      return true;
    } catch (err) {
      this.toast(err instanceof Error ? err.message : String(err), "error");
      return false;
    }
  }

  toast(message: string, level: ToastLevel = "info"): void {
    this.toasts.show(message, level);
  }

  openSettings(): void {
    this.settings.open();
  }

  openAbout(): void {
    // Added to the page the first time it is opened.
    if (!this.about.root.isConnected) this.settings.root.after(this.about.root);
    this.about.open();
  }

  private onEvent(event: EngineEvent): void {
    if (event.type === "view") {
      this.render(event.view);
    } else if (event.type === "notice") {
      this.toast(event.message, event.level);
    } else {
      this.screen?.onEvent?.(event);
    }
  }

  private render(view: View): void {
    this.head.update(view);
    const key = screenKey(view);
    if (key !== this.key) {
      const screen = this.create(key, view);
      screen.update(view);
      this.mount(key, screen, true);
    } else {
      this.screen?.update(view);
    }
    document.documentElement.dataset["state"] = `${view.auth.state}/${view.interview.state}`;
  }

  private create(key: string, view: View): Screen {
    const iv = view.interview;
    if (key === "auth") return authScreen(this);
    if (key === "dashboard") return dashboardScreen(this);
    if (key === "processing") return processingScreen();
    if (key === "error") return errorScreen(this);
    if (key.startsWith("live:")) return liveScreen(this);
    if (iv.state === "resultsReady") return resultsScreen(this, iv.results);
    if (iv.state === "requestingPermissions" || iv.state === "permissionsDenied" || iv.state === "connecting") return prepareScreen(this, iv);
    return splashScreen(null);
  }

  private mount(key: string, screen: Screen, focus: boolean): void {
    this.screen?.destroy?.();
    this.key = key;
    this.screen = screen;
    this.main.replaceChildren(screen.root);
    this.main.scrollTop = 0;
    window.scrollTo(0, 0);
    if (focus) {
      // Move focus to the new screen's heading so keyboard and screen-reader
      // users start at the top of what changed.
      screen.heading.focus({ preventScroll: true });
    }
  }
}
