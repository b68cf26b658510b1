// Light and dark themes: follow the OS unless the user picked one.
export type ThemePreference = "system" | "light" | "dark";
export type Theme = "light" | "dark";

const KEY = "candor.theme";
const media = window.matchMedia("(prefers-color-scheme: dark)");
const listeners = new Set<(theme: Theme) => void>();

export function themePreference(): ThemePreference {
  const v = safeGet(KEY);
  return v === "light" || v === "dark" ? v : "system";
}

export function currentTheme(): Theme {
  const pref = themePreference();
  if (pref !== "system") return pref;
  return media.matches ? "dark" : "light";
}

export function setThemePreference(pref: ThemePreference): void {
  if (pref === "system") safeRemove(KEY);
  else safeSet(KEY, pref);
  applyTheme();
}

/** Flips between light and dark (an explicit choice from then on). */
export function toggleTheme(): void {
  setThemePreference(currentTheme() === "dark" ? "light" : "dark");
}

export function onThemeChange(fn: (theme: Theme) => void): void {
  listeners.add(fn);
}

export function applyTheme(): void {
  const theme = currentTheme();
  document.documentElement.dataset["theme"] = theme;
  for (const fn of listeners) fn(theme);
}

export function initTheme(): void {
  media.addEventListener("change", applyTheme);
  applyTheme();
}

function safeGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
function safeSet(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* storage unavailable: the choice lasts this session */
  }
}
function safeRemove(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    /* ignore */
  }
}
