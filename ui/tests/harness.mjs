// Serves the built UI (ui/dist) on 127.0.0.1 with the desktop window's CSP,
// drives it in Debian's Chromium through playwright-core, and mocks the Tauri
// IPC so a test can push EngineEvents and see which commands the UI sent.
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { installCandorMock } from "./mock-ipc.mjs";
import { silentOggOpus } from "./ogg-opus.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const UI_DIR = resolve(here, "..");
const DIST = join(UI_DIR, "dist");
export const ARTIFACTS = join(UI_DIR, "test-artifacts");

/** The CSP of the desktop window (tauri.conf.json), so the tests hold the UI to it. */
function windowCsp() {
  const conf = resolve(UI_DIR, "..", "tauri.conf.json");
  if (existsSync(conf)) {
    const csp = JSON.parse(readFileSync(conf, "utf8"))?.app?.security?.csp;
    if (typeof csp === "string" && csp) return csp;
  }
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'";
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

export async function startServer() {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("ui/dist is missing: run `npm run build` first");
  const csp = windowCsp();
  const replays = [];
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      if (path.startsWith("/replay/")) {
        replays.push({ path: path.slice("/replay/".length), range: req.headers.range ?? null });
        return serveReplay(path.slice("/replay/".length), req.headers.range, csp, res);
      }
      const file = normalize(join(DIST, path === "/" ? "index.html" : path));
      if (!file.startsWith(DIST)) throw new Error("outside dist");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-security-policy": csp, "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, replays, close: () => new Promise((ok) => server.close(ok)) };
}

/** Stand-in recordings: the fixtures' interview (452 s) for any interview,
 *  ten seconds per answer. */
const RECORDINGS = new Map();
function recording(file) {
  const seconds = file === "interview.ogg" ? 452 : /^answer-\d{2}\.ogg$/.test(file) ? 10 : null;
  if (seconds === null) return null;
  if (!RECORDINGS.has(seconds)) RECORDINGS.set(seconds, silentOggOpus(seconds));
  return RECORDINGS.get(seconds);
}

/** The shell's `replay` protocol as the backend answers it: whole, or one byte range. */
function serveReplay(rest, range, csp, res) {
  const [id, file] = rest.split("/");
  const body = id && id !== "iv-missing" ? recording(file ?? "") : null;
  if (!body) {
    res.writeHead(404, { "content-type": "text/plain" });
    return res.end("No such recording.");
  }
  const headers = { "content-type": "audio/ogg", "accept-ranges": "bytes", "cache-control": "no-store", "content-security-policy": csp };
  const m = /^bytes=(\d*)-(\d*)$/.exec(range ?? "");
  if (!m || (m[1] === "" && m[2] === "")) {
    res.writeHead(200, { ...headers, "content-length": body.length });
    return res.end(body);
  }
  const start = m[1] === "" ? Math.max(0, body.length - Number(m[2])) : Number(m[1]);
  const end = m[1] === "" || m[2] === "" ? body.length : Math.min(body.length, Number(m[2]) + 1);
  if (start >= body.length) {
    res.writeHead(416, { "content-range": `bytes */${body.length}` });
    return res.end();
  }
  res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end - 1}/${body.length}`, "content-length": end - start });
  res.end(body.subarray(start, end));
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.`);
  }
  // playwright-core gives every launch a fresh, temporary user-data-dir.
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

/**
 * Opens the app with a first view. Returns helpers:
 *   push(event), view(v), calls(), callsTo(name), waitForCall(name), shot(name), close()
 */
export async function openApp(browser, baseUrl, { view, theme = "light", responses = {}, errors = {}, viewport = { width: 1100, height: 760 }, noCore = false, reducedMotion = "reduce", paint = null, clock = false, lateStylesheet = false } = {}) {
  const context = await browser.newContext({ viewport, colorScheme: theme, reducedMotion, locale: "en-GB", timezoneId: "UTC" });
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  // What the desktop shell tells the page about how it is painted (paint.ts).
  if (paint) await page.addInitScript((p) => Object.defineProperty(window, "__CANDOR_PAINT__", { value: p }), paint);
  if (!noCore) await page.addInitScript(installCandorMock, { initialView: view ?? null, responses, errors });
  // The stylesheet left out of the page until the test adds it
  // (`app.addStylesheet()`): WebKitGTK can run the page's module script
  // before the stylesheet that follows it has arrived.
  let stylesheet = null;
  if (lateStylesheet) {
    await page.route((url) => url.pathname === "/", async (route) => {
      const response = await route.fetch();
      const html = await response.text();
      const link = /<link rel="stylesheet"[^>]*href="([^"]+)"[^>]*>/.exec(html);
      if (!link) throw new Error("the page has no stylesheet to hold back");
      stylesheet = link[1];
      await route.fulfill({ response, body: html.replace(link[0], "") });
    });
  }
  // A fake clock the test drives (see `pauseClock` in ui.test.mjs).
  if (clock) await page.clock.install();
  await page.goto(baseUrl);
  if (view) await page.waitForFunction(() => document.documentElement.dataset.state !== undefined);

  const app = {
    page,
    /** Adds the stylesheet held back by `lateStylesheet`; resolves once it has loaded. */
    async addStylesheet() {
      await page.evaluate((href) => new Promise((ok, fail) => {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = href;
        link.onload = ok;
        link.onerror = () => fail(new Error(`${href} did not load`));
        document.head.append(link);
      }), stylesheet);
    },
    async push(event) {
      await page.evaluate((e) => window.__candor.push(e), event);
    },
    async view(v) {
      await app.push({ type: "view", view: v });
    },
    async calls() {
      return page.evaluate(() => window.__candor.calls.filter((c) => c.cmd !== "subscribe"));
    },
    async callsTo(name) {
      return (await app.calls()).filter((c) => c.cmd === name);
    },
    async waitForCall(name, count = 1) {
      await page.waitForFunction(([n, k]) => window.__candor.calls.filter((c) => c.cmd === n).length >= k, [name, count], { timeout: 5000 });
      const calls = await app.callsTo(name);
      return calls[calls.length - 1];
    },
    async setResponse(cmd, value) {
      await page.evaluate(([c, v]) => (window.__candor.responses[c] = v), [cmd, value]);
    },
    async setError(cmd, message) {
      await page.evaluate(([c, m]) => (window.__candor.errors[c] = m), [cmd, message]);
    },
    async shot(name, { fullPage = false } = {}) {
      await mkdir(ARTIFACTS, { recursive: true });
      await page.waitForTimeout(60);
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage, animations: "disabled" });
    },
    /** Problems seen so far: page errors, console errors, CSP violations. */
    async problems() {
      const violations = await page.evaluate(() => window.__candor?.violations ?? []).catch(() => []);
      return [...problems, ...violations.map((v) => `CSP violation: ${v}`)];
    },
    async close() {
      await context.close();
    },
  };
  return app;
}
