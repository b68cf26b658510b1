// Line icons drawn as inline SVG through DOM APIs (24×24, stroke = currentColor).
import { s } from "./dom";

const PATHS = {
  mic: ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M19 11a7 7 0 0 1-14 0", "M12 18v3", "M8.5 21h7"],
  micOff: ["M15 9.3V6a3 3 0 0 0-5.7-1.3", "M9 9v3a3 3 0 0 0 4.9 2.3", "M19 11a7 7 0 0 1-1.2 3.9", "M5 11a7 7 0 0 0 10.6 6", "M12 18v3", "M8.5 21h7", "M3 3l18 18"],
  speaker: ["M11 5 6 9H3v6h3l5 4z", "M15.5 8.5a5 5 0 0 1 0 7", "M18.5 5.5a9 9 0 0 1 0 13"],
  sliders: ["M4 6h9", "M17 6h3", "M4 12h3", "M11 12h9", "M4 18h11", "M19 18h1", "M15 4v4", "M9 10v4", "M17 16v4"],
  sun: ["M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z", "M12 2v2", "M12 20v2", "M4.9 4.9l1.4 1.4", "M17.7 17.7l1.4 1.4", "M2 12h2", "M20 12h2", "M4.9 19.1l1.4-1.4", "M17.7 6.3l1.4-1.4"],
  moon: ["M20.5 13.5A8.5 8.5 0 1 1 10.5 3.5a6.5 6.5 0 0 0 10 10z"],
  phoneOff: ["M3.5 14.5c4.7-4 12.3-4 17 0l-1.8 2.6-3.6-1.3v-2.4a11 11 0 0 0-6.2 0v2.4l-3.6 1.3z"],
  alert: ["M12 3.5 22 20.5H2z", "M12 10v4.5", "M12 17.5v.01"],
  info: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z", "M12 11v5", "M12 7.5v.01"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
  refresh: ["M20 12a8 8 0 1 1-2.3-5.7", "M20 4v5h-5"],
  chevronRight: ["M9 6l6 6-6 6"],
  logout: ["M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3", "M10 8l-4 4 4 4", "M6 12h10"],
  clock: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z", "M12 7v5l3 2"],
  wifiOff: ["M2 8.5a16 16 0 0 1 5-2.7", "M11 5a16 16 0 0 1 11 3.5", "M5 12a11 11 0 0 1 4-2", "M15.5 10.5A11 11 0 0 1 19 12", "M8.5 15.5a6 6 0 0 1 7 0", "M12 19.5v.01", "M3 3l18 18"],
  x: ["M6 6l12 12", "M18 6 6 18"],
  history: ["M3 12a9 9 0 1 0 2.6-6.4", "M3 4v4h4", "M12 7v5l3 2"],
  user: ["M12 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8z", "M4 20a8 8 0 0 1 16 0"],
  arrowLeft: ["M19 12H5", "M11 6l-6 6 6 6"],
  play: ["M7 4.5v15l13-7.5z"],
  pause: ["M8 5v14", "M16 5v14"],
  folder: ["M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z"],
  clipboard: ["M9 3.5h6v3H9z", "M15 5h2.5A1.5 1.5 0 0 1 19 6.5v13a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 5 19.5v-13A1.5 1.5 0 0 1 6.5 5H9"],
  trash: ["M4 7h16", "M10 11v6", "M14 11v6", "M6 7l1 13h10l1-13", "M9 7V4h6v3"],
  file: ["M14 3H6v18h12V7z", "M14 3v4h4", "M9 13h6", "M9 17h6"],
} as const;

export type IconName = keyof typeof PATHS;

export function icon(name: IconName, extraClass = ""): SVGSVGElement {
  return s(
    "svg",
    {
      class: `icon ${extraClass}`.trim(),
      viewBox: "0 0 24 24",
      "aria-hidden": "true",
      focusable: "false",
    },
    PATHS[name].map((d) => s("path", { d })),
  );
}
