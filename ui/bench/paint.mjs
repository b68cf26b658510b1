// What the live screen costs WebKitGTK's web process when frames are painted
// on the CPU (the shared-memory renderer Candor picks under Xvfb, with no
// usable GPU or with the NVIDIA driver), measured in seconds instead of the
// release app's minutes: the built UI (ui/dist) in WebKitGTK's own
// MiniBrowser, the core stood in for by the UI tests' mock IPC, driven as
// the live app drives it — the clock once a second, the level 25 times a
// second, the interviewer's words one every 330 ms.
//
//   cd ui && npm run build
//   xvfb-run -a -s "-screen 0 1280x800x24" node bench/paint.mjs [seconds]
//
// Per state: the web process's CPU (utime + stime from /proc over the
// window, 100 % = one core) and its PSS, beside the sign-in screen idle
// measured in the same run (the floor). The release app's own figures, with
// the audio and the app's threads, are `cargo bench -p candor-desktop
// --bench live_cpu`; this one isolates the page, for trying a change to the
// style sheet or the live screen in a minute.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { join, extname, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { installCandorMock } from "../tests/mock-ipc.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(here, "..", "dist");
const MINIBROWSER = process.env.MINIBROWSER || "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const WINDOW_S = Number(process.argv[2] ?? 10);
const SETTLE_MS = 6000;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

// Runs in the page, after the mock: drives the live screen as the app does.
function drive(state) {
  const push = (e) => window.__candor.push(e);
  const start = () => {
    if (window.__candor.channel === null) return setTimeout(start, 50);
    if (state === "sign-in") {
      return push({ type: "view", view: { auth: { state: "unauthenticated", notice: null }, interview: { state: "idle" }, history: null } });
    }
    setTimeout(() => {
      const t0 = Date.now();
      const words = "Tell me about a time you had to make a difficult technical decision with incomplete information and how you went about it".split(" ");
      push({ type: "interviewer", activity: state === "interviewer" ? "speaking" : "listening", questionIndex: 2, questionCount: 5 });
      for (let i = 0; i < 6; i++) {
        push({ type: "transcript", speaker: i % 2 ? "candidate" : "interviewer", segmentId: 100 + i, text: words.join(" "), isFinal: true, startMs: i * 1000 });
      }
      setInterval(() => push({ type: "stats", elapsedMs: Date.now() - t0, uplinkKbps: 18, bufferedMs: 40, muted: false }), 1000);
      let seed = 7;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      setInterval(() => push({ type: "level", level: state === "candidate" ? 0.3 + 0.5 * random() : 0, voice: state === "candidate" }), 40);
      if (state === "interviewer") {
        let segment = 1;
        let line = [];
        let n = 0;
        setInterval(() => {
          line.push(words[n++ % words.length]);
          const isFinal = line.length >= 18;
          push({ type: "transcript", speaker: "interviewer", segmentId: segment, text: line.join(" "), isFinal, startMs: 10_000 + segment * 5000 });
          if (isFinal) {
            segment++;
            line = [];
          }
        }, 330);
      }
    }, 300);
  };
  start();
}

const LIVE = { auth: { state: "authenticated", profile: { id: "u1", name: "Ada", email: null, kind: "offline" } }, interview: { state: "live", interviewId: "iv-1", sessionId: "s-1" }, history: null };
const csp = JSON.parse(readFileSync(resolve(here, "..", "..", "tauri.conf.json"), "utf8")).app.security.csp;

function serve() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/bench.js") {
      const state = url.searchParams.get("state");
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(`window.__CANDOR_PAINT__ = "cpu";\n(${installCandorMock})(${JSON.stringify({ initialView: LIVE })});\n(${drive})(${JSON.stringify(state)});`);
    }
    try {
      const file = normalize(join(DIST, url.pathname === "/" ? "index.html" : url.pathname));
      if (!file.startsWith(DIST)) throw new Error("outside dist");
      let body = await readFile(file);
      if (file.endsWith("index.html")) {
        const state = url.searchParams.get("state");
        body = body.toString().replace("<head>", `<head><script src="/bench.js?state=${state}"></script>`);
      }
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-security-policy": csp });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

const ticks = 100; // USER_HZ on Linux
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
function pssMiB(pid) {
  const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}
/** The web process MiniBrowser `parent` started. */
function webProcessOf(parent) {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent && stat.includes("(WebKitWebProces")) return Number(pid);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function measure(base, state) {
  const browser = spawn(MINIBROWSER, ["--geometry=1100x760", `${base}?state=${state}`], {
    env: { ...process.env, WEBKIT_DISABLE_DMABUF_RENDERER: "1" },
    stdio: "ignore",
  });
  try {
    await sleep(SETTLE_MS);
    const web = webProcessOf(browser.pid);
    if (web === null) throw new Error(`MiniBrowser started no web process for ${state}`);
    const a = cpuTicks(web);
    await sleep(WINDOW_S * 1000);
    const cpu = ((cpuTicks(web) - a) / ticks / WINDOW_S) * 100;
    return { state, cpu, pss: pssMiB(web) };
  } finally {
    browser.kill();
  }
}

if (!existsSync(join(DIST, "index.html"))) throw new Error("ui/dist is missing: run `npm run build` first");
if (!existsSync(MINIBROWSER)) throw new Error(`no MiniBrowser at ${MINIBROWSER} (Debian: libwebkit2gtk-4.1-0 ships it; or set MINIBROWSER)`);
if (!process.env.DISPLAY) throw new Error("no display: run under xvfb-run");
const server = await serve();
const base = `http://127.0.0.1:${server.address().port}/`;
const rows = [];
for (const state of ["sign-in", "both-silent", "interviewer", "candidate"]) rows.push(await measure(base, state));
server.close();
const floor = rows[0];
console.log(`live screen painted on the CPU: WebKitWebProcess over ${WINDOW_S} s windows (100 % = one core), MiniBrowser ${MINIBROWSER}`);
console.log(`${"state".padEnd(34)} ${"web CPU".padStart(8)} ${"over floor".padStart(11)} ${"PSS MiB".padStart(8)}`);
const names = { "sign-in": "sign-in, idle (the floor)", "both-silent": "live, both silent (clock only)", interviewer: "live, interviewer speaking", candidate: "live, candidate speaking" };
for (const r of rows) {
  console.log(`${names[r.state].padEnd(34)} ${r.cpu.toFixed(1).padStart(7)}% ${("+" + (r.cpu - floor.cpu).toFixed(1)).padStart(10)}% ${r.pss.toFixed(0).padStart(8)}`);
}
