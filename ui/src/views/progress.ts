// Progress over time: each score's trend across the listed past interviews
// of one role (oldest to newest), with the latest and the best value; every
// point opens its interview. Drawn from the history the core pushes (each
// ready interview carries its scores); "Show more" in the history adds
// older interviews to the trend.
import { fitted, trend, type TrendPoint } from "../charts";
import type { Ctx } from "../context";
import { fill, h } from "../dom";
import type { History, InterviewSummary, Role } from "../ipc/contract";
import { dateTime, roleLabel, scoreBand } from "../format";

interface Series {
  key: string;
  label: string;
  points: (TrendPoint & { createdAt: string })[];
}

/**
 * Whether an interview is a point of the trend: scored, and a whole
 * interview (a retry is one question: its scores measure an answer, not an
 * interview).
 */
function trendable(it: InterviewSummary): boolean {
  return it.status === "ready" && it.scores.length > 0 && !it.retryOf;
}

/** The scored interviews of `role`, oldest first, as one series per score. */
function seriesOf(items: InterviewSummary[], role: Role): Series[] {
  const scored = items
    .filter((it) => it.role === role && trendable(it))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const out: Series[] = [];
  for (const it of scored) {
    for (const sc of it.scores) {
      let series = out.find((s) => s.key === sc.key);
      if (!series) {
        series = { key: sc.key, label: sc.label, points: [] };
        out.push(series);
      }
      series.points.push({ id: it.id, value: sc.value, label: `${dateTime(it.createdAt)}: ${sc.value}`, createdAt: it.createdAt });
    }
  }
  return out;
}

export function progressPanel(ctx: Ctx): { root: HTMLElement; update(history: History | null): void } {
  const roles = h("div", { class: "segmented progress-roles", role: "group", "aria-label": "Show the progress of" });
  const body = h("div", { class: "progress-body" });
  const root = h("section", { class: "card progress", "aria-labelledby": "progress-title", "data-testid": "progress", hidden: true },
    h("div", { class: "card-head" }, h("h2", { id: "progress-title" }, "Your progress"), roles),
    body);
  let items: InterviewSummary[] = [];
  let chosen: Role | null = null;
  let lastKey = "";

  const open = (id: string) => void ctx.act("open_results", { interviewId: id });

  function draw(): void {
    const scored = items.filter(trendable);
    root.hidden = scored.length === 0;
    if (scored.length === 0) return;
    // Roles by their latest interview, newest first.
    const byRecency = [...scored].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const present = [...new Set(byRecency.map((it) => it.role))];
    if (!chosen || !present.includes(chosen)) chosen = present[0]!;
    fill(roles, present.length > 1
      ? present.map((r) => h("button", { class: "segment-button", type: "button", "aria-pressed": String(r === chosen), "data-role": r,
          onclick: () => { chosen = r; draw(); } }, roleLabel(r)))
      : h("span", { class: "muted" }, roleLabel(chosen)));
    const series = seriesOf(items, chosen);
    const count = series[0]?.points.length ?? 0;
    fill(body,
      h("p", { class: "muted small" }, count === 1
        ? "One interview so far: practise again to see a trend."
        : `Your last ${count} ${roleLabel(chosen).toLowerCase()} interviews, oldest to newest. Select a point to open that interview.`),
      h("ul", { class: "trend-list" }, series.map((s) => {
        const latest = s.points[s.points.length - 1]!;
        const best = s.points.reduce((a, b) => (b.value > a.value ? b : a));
        return h("li", { class: "trend-row", "data-key": s.key },
          h("div", { class: "trend-head" },
            h("h3", null, s.label),
            h("span", { class: "trend-figures" },
              h("span", { class: `trend-latest band-${scoreBand(latest.value)}`, "data-figure": "latest" }, "Latest ", h("strong", null, String(latest.value))),
              h("span", { class: "trend-best", "data-figure": "best" }, "Best ", h("strong", null, String(best.value))))),
          fitted((w) => trend(w, s.points, `${s.label} over ${s.points.length} interviews: ${s.points.map((p) => p.value).join(", ")}`, open), 480));
      })));
  }

  function update(history: History | null): void {
    const key = JSON.stringify(history?.items.map((it) => [it.id, it.status, it.scores]) ?? null);
    if (key === lastKey) return;
    lastKey = key;
    items = history?.items ?? [];
    draw();
  }

  return { root, update };
}
