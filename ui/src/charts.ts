// Small charts drawn as inline SVG through DOM APIs. Colours come from CSS
// classes, so they follow the theme.
import { h, s } from "./dom";
import type { TranscriptLine } from "./ipc/contract";
import { clock, round1 } from "./format";

function svgRoot(width: number, height: number, label: string, cls: string): SVGSVGElement {
  return s("svg", { class: `chart ${cls}`, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" },
    s("title", null, label));
}

/** Narrower than this, a chart is drawn at this width and scaled down. */
const MIN_CHART_WIDTH = 160;

/**
 * Draws a chart at exactly the width it is shown at — one SVG unit to one
 * CSS pixel — once the page is laid out, and again when that width changes.
 * At that scale its text is set in the page's own font sizes: scaled SVG
 * text asks the engine for a font at a new size, and WebKitGTK pays a font
 * lookup for every new size on first use (drawing the results page's charts
 * at a guessed width and scaling them made its first layout about half a
 * second longer; see the `replay_open` bench). Until the layout the box is
 * empty: a ResizeObserver runs before the first paint, so no one sees it
 * empty. `guess` is the width drawn at where there is no ResizeObserver.
 */
export function fitted(draw: (width: number) => SVGSVGElement, guess: number): HTMLElement {
  const box = h("div", { class: "chart-box" });
  if (typeof ResizeObserver === "undefined") {
    box.append(draw(guess));
    return box;
  }
  let drawn = 0;
  new ResizeObserver((entries) => {
    const width = entries[0]?.contentRect.width ?? 0;
    // Hidden (0 wide): nothing to fit; the observer fires again when shown.
    if (width > 0 && width !== drawn) {
      drawn = width;
      box.replaceChildren(draw(Math.max(width, MIN_CHART_WIDTH)));
    }
  }).observe(box);
  return box;
}

/** A score ring, 0–100. */
export function gauge(score: number, label: string): SVGSVGElement {
  const r = 26;
  const c = 2 * Math.PI * r;
  const v = Math.max(0, Math.min(100, score));
  const svg = svgRoot(64, 64, `${label}: ${Math.round(v)} out of 100`, "gauge");
  svg.append(
    s("circle", { class: "gauge-track", cx: 32, cy: 32, r, fill: "none", "stroke-width": 7 }),
    s("circle", {
      class: "gauge-value", cx: 32, cy: 32, r, fill: "none", "stroke-width": 7, "stroke-linecap": "round",
      "stroke-dasharray": `${((c * v) / 100).toFixed(2)} ${c.toFixed(2)}`, transform: "rotate(-90 32 32)",
    }),
    s("text", { class: "gauge-text", x: 32, y: 32, "text-anchor": "middle", "dominant-baseline": "central" }, String(Math.round(v))),
  );
  return svg;
}

/** Who spoke how long: one bar split in two. */
export function talkSplit(candidateSec: number, interviewerSec: number, w: number): SVGSVGElement {
  const total = Math.max(candidateSec + interviewerSec, 0.001);
  const cw = (candidateSec / total) * w;
  const share = Math.round((candidateSec / total) * 100);
  const svg = svgRoot(w, 28, `You spoke ${share}% of the time, the interviewer ${100 - share}%`, "split");
  svg.append(
    s("rect", { class: "fill-you", x: 0, y: 0, width: cw.toFixed(1), height: 28, rx: 6 }),
    s("rect", { class: "fill-interviewer", x: cw.toFixed(1), y: 0, width: (w - cw).toFixed(1), height: 28, rx: 6 }),
  );
  if (cw > 60) svg.append(s("text", { class: "bar-inner-label", x: 10, y: 14, "dominant-baseline": "central" }, `You ${share}%`));
  if (w - cw > 120) svg.append(s("text", { class: "bar-inner-label alt", x: w - 10, y: 14, "text-anchor": "end", "dominant-baseline": "central" }, `Interviewer ${100 - share}%`));
  return svg;
}

export interface Bar {
  label: string;
  value: number;
  /** Text above the bar. */
  display: string;
}

/** Vertical bars (e.g. answer length per question) with an optional target band. */
export function columns(w: number, bars: Bar[], ariaLabel: string, band?: { from: number; to: number; label: string }): SVGSVGElement {
  const hgt = 220;
  const top = 24;
  const bottom = 28;
  const left = 8;
  const plotH = hgt - top - bottom;
  const max = Math.max(1, ...bars.map((b) => b.value), band ? band.to * 1.1 : 0);
  const slot = (w - left * 2) / Math.max(1, bars.length);
  const bw = Math.min(56, slot * 0.6);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const svg = svgRoot(w, hgt, ariaLabel, "columns");
  if (band) {
    svg.append(
      s("rect", { class: "band", x: left, y: y(band.to).toFixed(1), width: w - left * 2, height: (y(band.from) - y(band.to)).toFixed(1) }),
      s("text", { class: "band-label", x: w - left - 4, y: (y(band.to) + 12).toFixed(1), "text-anchor": "end" }, band.label),
    );
  }
  svg.append(s("line", { class: "axis", x1: left, x2: w - left, y1: top + plotH, y2: top + plotH }));
  bars.forEach((b, i) => {
    const cx = left + slot * i + slot / 2;
    const by = y(b.value);
    svg.append(
      s("rect", { class: "fill-you", x: (cx - bw / 2).toFixed(1), y: by.toFixed(1), width: bw.toFixed(1), height: Math.max(0, top + plotH - by).toFixed(1), rx: 4 }),
      s("text", { class: "value-label", x: cx.toFixed(1), y: (by - 6).toFixed(1), "text-anchor": "middle" }, b.display),
      s("text", { class: "axis-label", x: cx.toFixed(1), y: hgt - 8, "text-anchor": "middle" }, b.label),
    );
  });
  return svg;
}

export interface PauseRow {
  label: string;
  pauses: number;
  longestSec: number;
}

/** One row per question: a dot per pause and a bar for the longest one. */
export function pauses(w: number, rows: PauseRow[], ariaLabel: string): SVGSVGElement {
  const rowH = 34;
  const labelW = 36;
  const textW = 170;
  const hgt = rows.length * rowH + 8;
  const max = Math.max(3, ...rows.map((r) => r.longestSec));
  const barW = Math.max(40, w - labelW - textW - 16);
  const svg = svgRoot(w, hgt, ariaLabel, "pauses");
  rows.forEach((r, i) => {
    const cy = 4 + i * rowH + rowH / 2;
    const len = (r.longestSec / max) * barW;
    svg.append(
      s("text", { class: "axis-label", x: 0, y: cy, "dominant-baseline": "central" }, r.label),
      s("rect", { class: "track", x: labelW, y: cy - 6, width: barW, height: 12, rx: 6 }),
      s("rect", { class: r.longestSec >= 5 ? "fill-warn" : "fill-you", x: labelW, y: cy - 6, width: Math.max(len, r.longestSec > 0 ? 4 : 0).toFixed(1), height: 12, rx: 6 }),
      s("text", { class: "value-label start", x: labelW + barW + 12, y: cy, "dominant-baseline": "central" },
        `${r.pauses} ${r.pauses === 1 ? "pause" : "pauses"}${r.pauses > 0 ? ` · longest ${round1(r.longestSec)} s` : ""}`),
    );
  });
  return svg;
}

/** The conversation over time: who spoke when, one lane each. */
export function timeline(lines: TranscriptLine[], durationSec: number, w: number): SVGSVGElement {
  const labelW = 86;
  const laneH = 18;
  const hgt = 2 * (laneH + 10) + 22;
  const total = Math.max(durationSec, ...lines.map((l) => l.endSec), 1);
  const x = (t: number) => labelW + (t / total) * (w - labelW - 4);
  const svg = svgRoot(w, hgt, "Timeline of who spoke when during the interview", "timeline");
  const lanes: [string, "interviewer" | "candidate", number][] = [["Interviewer", "interviewer", 4], ["You", "candidate", 4 + laneH + 10]];
  for (const [name, speaker, ly] of lanes) {
    svg.append(
      s("text", { class: "axis-label", x: 0, y: ly + laneH / 2, "dominant-baseline": "central" }, name),
      s("rect", { class: "track", x: labelW, y: ly, width: w - labelW - 4, height: laneH, rx: 4 }),
    );
    for (const l of lines.filter((l) => l.speaker === speaker)) {
      svg.append(s("rect", {
        class: speaker === "candidate" ? "fill-you" : "fill-interviewer",
        x: x(l.startSec).toFixed(1), y: ly, width: Math.max(1.5, x(l.endSec) - x(l.startSec)).toFixed(1), height: laneH, rx: 3,
      }));
    }
  }
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const t = (total * i) / ticks;
    svg.append(s("text", { class: "axis-label small", x: x(t).toFixed(1), y: hgt - 4, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" }, clock(t)));
  }
  return svg;
}

export interface TrendPoint {
  /** The interview the point is from. */
  id: string;
  /** 0–100. */
  value: number;
  /** Spoken name of the point, e.g. "20 Nov 2025: 78". */
  label: string;
}

/**
 * One score across interviews, oldest to newest: a line through a point per
 * interview on a 0–100 scale. Each point is a link (click, Enter or Space)
 * that calls `open` with its interview; the best is ringed, the latest filled.
 */
export function trend(w: number, points: TrendPoint[], ariaLabel: string, open: (id: string) => void): SVGSVGElement {
  const hgt = 72;
  const pad = 10;
  const plotH = hgt - pad * 2;
  const x = (i: number) => (points.length === 1 ? w / 2 : pad + ((w - pad * 2) * i) / (points.length - 1));
  const y = (v: number) => pad + plotH - (Math.max(0, Math.min(100, v)) / 100) * plotH;
  const svg = s("svg", { class: "chart trend", viewBox: `0 0 ${w} ${hgt}`, role: "group", "aria-label": ariaLabel, preserveAspectRatio: "xMidYMid meet" });
  svg.append(
    s("line", { class: "grid", x1: pad, x2: w - pad, y1: y(50).toFixed(1), y2: y(50).toFixed(1) }),
    s("polyline", { class: "trend-line", fill: "none", points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ") }),
  );
  const best = Math.max(...points.map((p) => p.value));
  points.forEach((p, i) => {
    const last = i === points.length - 1;
    const cls = ["trend-point", last ? "latest" : "", p.value === best ? "best" : ""].filter(Boolean).join(" ");
    const point = s("g", { class: cls, role: "link", tabindex: 0, "aria-label": `Open the interview: ${p.label}`, "data-interview": p.id },
      s("title", null, p.label),
      s("circle", { class: "hit", cx: x(i).toFixed(1), cy: y(p.value).toFixed(1), r: 11 }),
      s("circle", { class: "dot", cx: x(i).toFixed(1), cy: y(p.value).toFixed(1), r: 4.5 }));
    point.addEventListener("click", () => open(p.id));
    point.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        open(p.id);
      }
    });
    svg.append(point);
  });
  return svg;
}
