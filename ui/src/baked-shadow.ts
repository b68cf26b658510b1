// Card shadows drawn from an image when frames are painted on the CPU.
//
// WebKitGTK's shared-memory renderer paints the whole page again for any
// change, and a blurred `box-shadow` is blurred again at every paint: on the
// live screen the clock's one change a second cost ~7 % of a core with the
// four cards' `--shadow`, ~1 % without it. So, painted on the CPU, the
// shadow `--shadow` describes is drawn once into a canvas, around a box with
// the cards' corner radius which is then cut out (a shadow never shows under
// its box), and style.css draws that image as a nine-slice `border-image`
// around every card, tile and the controls bar instead
// (`:root[data-shadow-image]`): the same shadow, copied rather than blurred.
// The glow around the candidate's microphone while they speak
// (`--you-glow`, blurred 42px) is baked alike, whole, and shown as the glow
// layer's background, scaled with the level as before. Both are drawn again
// when the theme or the display's pixel ratio changes, and when a
// stylesheet arrives: WebKitGTK can run the page's script before the
// stylesheet after it has loaded, and a shadow read then is no shadow (the
// cards would blur theirs at every paint for the whole session).
import { paint } from "./paint";
import { onThemeChange } from "./theme";

/** One `box-shadow` layer, in CSS pixels. */
export interface ShadowLayer {
  color: string;
  x: number;
  y: number;
  blur: number;
  spread: number;
}

/**
 * The outer layers of a computed `box-shadow` ("rgba(0, 0, 0, 0.3) 0px 1px
 * 2px 0px, …"); inset layers and anything unparsable are left out.
 */
export function parseShadows(computed: string): ShadowLayer[] {
  if (!computed || computed === "none") return [];
  const layers: ShadowLayer[] = [];
  for (const part of splitTopLevel(computed)) {
    if (/\binset\b/.test(part)) continue;
    const color = /(rgba?|hsla?|color|lab|lch|oklab|oklch)\([^)]*\)|#[0-9a-f]{3,8}\b/i.exec(part)?.[0];
    const lengths = part.replace(color ?? "", " ").match(/-?\d*\.?\d+(?:e-?\d+)?px|(?<![\w.])0(?![\w.])/g) ?? [];
    const [x, y, blur = 0, spread = 0] = lengths.map((l) => parseFloat(l));
    if (color === undefined || x === undefined || y === undefined) continue;
    layers.push({ color, x, y, blur, spread });
  }
  return layers;
}

/** Splits on the commas that are not inside parentheses. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(list.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** How far (CSS px) beyond the box the layers can paint. */
export function shadowReach(layers: ShadowLayer[]): number {
  let reach = 0;
  for (const l of layers) reach = Math.max(reach, Math.abs(l.x) + l.blur + l.spread, Math.abs(l.y) + l.blur + l.spread);
  return Math.ceil(reach) + 1;
}

/** The nine-slice image and how style.css places it. */
export interface BakedShadow {
  url: string;
  /** How far the image reaches beyond the box, CSS px. */
  outset: number;
  /** Each corner slice's side, CSS px (the outset, the radius and 1 px). */
  width: number;
  /** The same in the image's pixels. */
  slice: number;
}

/**
 * Draws `layers` around a box with corners of `radius` CSS px, the box cut
 * out, at `scale` image pixels per CSS pixel. Null where no canvas draws.
 */
export function bakeShadow(layers: ShadowLayer[], radius: number, scale: number, box = 2 * radius + 4): BakedShadow | null {
  const outset = shadowReach(layers);
  // The box (a square of side `box`): by default its corners, a pixel of
  // straight edge each, and two pixels in the middle, which the edge slices
  // stretch along the sides.
  const side = 2 * outset + box;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = Math.ceil(side * scale);
  const g = canvas.getContext("2d");
  if (!g) return null;
  // Each shape is drawn far off the canvas with its shadow offset back onto
  // it, so only the shadow lands. Shadow offsets and blur are in image
  // pixels whatever the transform, so everything is in image pixels here.
  const away = canvas.width + 100;
  // Painted last to first: the first layer ends on top, as CSS paints it.
  for (const l of [...layers].reverse()) {
    g.shadowColor = l.color;
    g.shadowBlur = l.blur * scale;
    g.shadowOffsetX = (l.x + away / scale) * scale;
    g.shadowOffsetY = l.y * scale;
    g.fillStyle = "#000";
    g.beginPath();
    const s = l.spread;
    g.roundRect((outset - s) * scale - away, (outset - s) * scale, (box + 2 * s) * scale, (box + 2 * s) * scale, Math.max(0, radius + s) * scale);
    g.fill();
  }
  g.shadowColor = "transparent";
  g.globalCompositeOperation = "destination-out";
  g.beginPath();
  g.roundRect(outset * scale, outset * scale, box * scale, box * scale, radius * scale);
  g.fill();
  const width = outset + radius + 1;
  return { url: canvas.toDataURL("image/png"), outset, width, slice: Math.round(width * scale) };
}

/**
 * Reads a shadow as the current theme sets it, from a probe element of
 * class `name` (style.css gives it the shadow, corner radius and size).
 */
function probeShadow(name: string): { layers: ShadowLayer[]; radius: number; size: number } {
  const probe = document.createElement("div");
  probe.className = name;
  document.body.append(probe);
  const style = getComputedStyle(probe);
  const found = {
    layers: parseShadows(style.boxShadow),
    radius: parseFloat(style.borderTopLeftRadius) || 0,
    size: parseFloat(style.width) || 0,
  };
  probe.remove();
  return found;
}

/** Bakes the card shadow now, and again whenever what it depends on changes. */
export function applyBakedShadow(): void {
  if (paint() !== "cpu") return;
  const root = document.documentElement;
  let ratio: MediaQueryList | null = null;
  const bake = (): void => {
    const scale = window.devicePixelRatio || 1;
    const card = probeShadow("shadow-probe");
    const glow = probeShadow("glow-probe");
    const bakedCard = card.layers.length > 0 ? bakeShadow(card.layers, card.radius, scale) : null;
    const bakedGlow = glow.layers.length > 0 ? bakeShadow(glow.layers, glow.radius, scale, glow.size) : null;
    if (bakedCard === null || bakedGlow === null) {
      delete root.dataset["shadowImage"];
    } else {
      root.style.setProperty("--shadow-image", `url("${bakedCard.url}")`);
      root.style.setProperty("--shadow-outset", `${bakedCard.outset}px`);
      root.style.setProperty("--shadow-width", `${bakedCard.width}px`);
      root.style.setProperty("--shadow-slice", String(bakedCard.slice));
      root.style.setProperty("--glow-image", `url("${bakedGlow.url}")`);
      root.style.setProperty("--glow-outset", `${bakedGlow.outset}px`);
      root.dataset["shadowImage"] = "";
    }
    // A window moved to a display of another pixel ratio.
    ratio?.removeEventListener("change", bake);
    ratio = window.matchMedia(`(resolution: ${scale}dppx)`);
    ratio.addEventListener("change", bake);
  };
  bake();
  // `load` does not bubble from a <link>; it is caught on its way down.
  document.addEventListener(
    "load",
    (event) => {
      if (event.target instanceof HTMLLinkElement && event.target.rel === "stylesheet") bake();
    },
    true,
  );
  onThemeChange(bake);
}
