// The history of past interviews: the seed's data-fetching table.
import type { Ctx } from "../context";
import { fill, h } from "../dom";
import { icon } from "../icons";
import type { History, InterviewStatus, InterviewSummary, Query } from "../ipc/contract";
import { dateTime, duration, roleLabel, scoreBand, seniorityLabel } from "../format";

const STATUS_LABEL: Record<InterviewStatus, string> = {
  created: "Not started",
  live: "In progress",
  processing: "Analyzing",
  ready: "Results ready",
  failed: "Failed",
};

export function historyPanel(ctx: Ctx): { root: HTMLElement; update(q: Query<History> | null): void } {
  const body = h("div", { class: "history-body" });
  const refreshing = h("span", { class: "spinner small", hidden: true, "aria-hidden": "true" });
  const root = h(
    "section",
    { class: "card history", "aria-labelledby": "history-title", "data-testid": "history" },
    h("div", { class: "card-head" }, h("h2", { id: "history-title" }, "Past interviews"), refreshing),
    body,
  );

  let lastKey = "";

  function update(q: Query<History> | null): void {
    const key = JSON.stringify(q);
    if (key === lastKey) return;
    lastKey = key;
    root.dataset["state"] = q?.state ?? "none";
    refreshing.toggleAttribute("hidden", !(q?.state === "loading" && q.previous !== null));
    if (q === null) {
      fill(body);
      return;
    }
    switch (q.state) {
      case "loading":
        root.setAttribute("aria-busy", "true");
        fill(body, q.previous ? list(q.previous, true) : skeleton());
        break;
      case "success":
        root.removeAttribute("aria-busy");
        fill(body, q.data.items.length === 0 ? empty() : list(q.data, false));
        break;
      case "error":
        root.removeAttribute("aria-busy");
        fill(body, errorBox(q.message), q.previous && q.previous.items.length > 0 ? list(q.previous, false) : null);
        break;
    }
  }

  function skeleton(): HTMLElement {
    return h(
      "ul",
      { class: "history-list skeleton-list", "aria-label": "Loading interview history" },
      [0, 1, 2].map(() =>
        h("li", { class: "history-item skeleton" },
          h("span", { class: "skel skel-title" }),
          h("span", { class: "skel skel-line" }),
          h("span", { class: "skel skel-pill" })),
      ),
    );
  }

  function empty(): HTMLElement {
    return h(
      "div",
      { class: "empty-state" },
      h("div", { class: "empty-icon" }, icon("history")),
      h("p", { class: "empty-title" }, "No interviews yet"),
      h("p", { class: "muted" }, "When you finish a practice interview, it appears here with its feedback so you can compare sessions."),
    );
  }

  function errorBox(message: string): HTMLElement {
    const retry = h("button", { class: "button secondary small", type: "button", onclick: () => void ctx.act("refresh_history") }, icon("refresh"), "Retry");
    return h(
      "div",
      { class: "inline-error", role: "alert" },
      icon("alert"),
      h("div", null, h("p", { class: "inline-error-title" }, "Could not load interview history."),
        message ? h("p", { class: "muted small" }, message) : null),
      retry,
    );
  }

  function list(history: History, loading: boolean): HTMLElement {
    const sorted = [...history.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const ul = h("ul", { class: "history-list" }, sorted.map(item));
    if (!history.hasMore) return ul;
    const more = h("button", { class: "button secondary small history-more", type: "button", disabled: loading, onclick: () => void ctx.act("show_more_history") },
      loading ? "Loading…" : "Show older interviews");
    return h("div", null, ul, more);
  }

  function item(it: InterviewSummary): HTMLElement {
    const ready = it.status === "ready";
    const meta = [dateTime(it.createdAt), it.durationSec !== null ? duration(it.durationSec) : null].filter(Boolean).join(" · ");
    const score =
      it.overallScore !== null
        ? h("span", { class: `score-pill band-${scoreBand(it.overallScore)}`, title: "Overall score out of 100" }, String(Math.round(it.overallScore)), h("small", null, "/100"))
        : h("span", { class: `status-pill status-${it.status}` }, STATUS_LABEL[it.status]);
    const content = [
      h("span", { class: "history-main" },
        h("span", { class: "history-title" }, `${roleLabel(it.role)} · ${seniorityLabel(it.seniority)}`,
          it.retryOf ? h("span", { class: "history-tag", title: it.retryOf.question }, "One question again") : null),
        h("span", { class: "history-meta" }, meta)),
      score,
      ready ? icon("chevronRight", "chevron") : null,
    ];
    if (!ready) return h("li", { class: "history-item", "data-id": it.id }, content);
    return h(
      "li",
      { class: "history-item" },
      h("button", {
        class: "history-button",
        type: "button",
        "data-id": it.id,
        "aria-label": `Open results: ${roleLabel(it.role)}, ${seniorityLabel(it.seniority)}${it.retryOf ? ", one question again" : ""}, ${dateTime(it.createdAt)}${it.overallScore !== null ? `, score ${Math.round(it.overallScore)}` : ""}`,
        onclick: () => void ctx.act("open_results", { interviewId: it.id }),
      }, content),
    );
  }

  return { root, update };
}
