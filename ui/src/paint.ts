// How the page's frames are painted, as the desktop shell says before any
// script runs (`window.__CANDOR_PAINT__`, from src-tauri/src/renderer.rs):
//
// - "gpu": the compositor moves transforms and opacity on its own, so an
//   animation that runs for as long as a state lasts costs next to nothing;
// - "cpu": WebKitGTK's shared-memory renderer (a virtual display, no usable
//   GPU, the NVIDIA driver), where every frame of a running animation is a
//   repaint and a copy through the CPU: one continuous animation costs about
//   a quarter of a core.
//
// With "cpu", style.css (`:root[data-paint="cpu"]`) keeps still what would
// move for as long as a state lasts (the interviewer's rings, the live dot,
// the thinking avatar, the microphone prompt's pulse, loading shimmers) and
// makes the level follow the voice in one step instead of a short fade, so
// a level change is one paint; the live screen draws the level at most ten
// times a second, holding the loudest since its last draw (views/live.ts).
// Spinners and one-off transitions still move.
export type Paint = "cpu" | "gpu";

declare global {
  interface Window {
    __CANDOR_PAINT__?: string;
  }
}

/** Marks the document with how it is painted; "gpu" unless told "cpu". */
export function applyPaint(): Paint {
  const paint: Paint = window.__CANDOR_PAINT__ === "cpu" ? "cpu" : "gpu";
  document.documentElement.dataset["paint"] = paint;
  return paint;
}

/** How the document is painted, as `applyPaint` marked it. */
export function paint(): Paint {
  return document.documentElement.dataset["paint"] === "cpu" ? "cpu" : "gpu";
}
