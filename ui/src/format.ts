import { ROLES, type Role, type Seniority } from "./ipc/contract";

// The labels take any string: a history written by a newer backend may hold
// values this build does not know yet, shown as they come.

export function roleLabel(id: Role | string): string {
  return ROLES.find((r) => r.id === id)?.label ?? id;
}

export const SENIORITY_LABEL: Record<Seniority, string> = { junior: "Junior", mid: "Mid-level", senior: "Senior" };

export function seniorityLabel(id: Seniority | string): string {
  return (SENIORITY_LABEL as Record<string, string>)[id] ?? (id ? id.charAt(0).toUpperCase() + id.slice(1) : id);
}

/** 75 → "1:15"; 3725 → "1:02:05". */
export function clock(totalSec: number): string {
  const t = Math.max(0, Math.floor(totalSec));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${String(sec).padStart(2, "0")}` : `${mm}:${String(sec).padStart(2, "0")}`;
}

/** 75 → "1 min 15 s"; 42 → "42 s"; 3.4 → "3.4 s". */
export function duration(sec: number): string {
  if (sec < 10) return `${round1(sec)} s`;
  const t = Math.round(sec);
  const m = Math.floor(t / 60);
  const s = t % 60;
  if (m === 0) return `${s} s`;
  if (s === 0) return `${m} min`;
  return `${m} min ${s} s`;
}

export function round1(n: number): string {
  return (Math.round(n * 10) / 10).toLocaleString(undefined, { maximumFractionDigits: 1 });
}

export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

export function dateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  const first = parts[0]!.charAt(0);
  const last = parts.length > 1 ? parts[parts.length - 1]!.charAt(0) : "";
  return (first + last).toUpperCase();
}

export type Os = "mac" | "windows" | "linux";

export function detectOs(): Os {
  const ua = navigator.userAgent;
  if (/Mac|iPhone|iPad/.test(ua)) return "mac";
  if (/Windows/.test(ua)) return "windows";
  return "linux";
}

/** The label of the end-interview shortcut on this system. */
export function endShortcutLabel(): string {
  return detectOs() === "mac" ? "⌘E" : "Ctrl+E";
}

export function scoreBand(score: number): "good" | "fair" | "low" {
  if (score >= 75) return "good";
  if (score >= 50) return "fair";
  return "low";
}
