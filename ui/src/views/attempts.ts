// Answering a question again: the "Answer this again" button a question card
// carries, and the attempts at one question side by side — one column per
// attempt (the first answer, then each retry, oldest first), one row per
// measure, each later attempt's change against the first shown beside it.
// The numbers are the backend's; this only lays them out.
import type { Ctx } from "../context";
import { h } from "../dom";
import { icon } from "../icons";
import type { Attempt, InterviewSetup, Results } from "../ipc/contract";
import { clock, dateTime, round1 } from "../format";

/** "Answer this again": a one-question interview on question `index` of `r`. */
export function retryButton(ctx: Ctx, r: Results, index: number): HTMLButtonElement {
  const button = h("button", { class: "button ghost small", type: "button", "data-action": "retry-question", title: "Start a short interview with just this question" },
    icon("refresh"), "Answer this again");
  button.addEventListener("click", async () => {
    const setup: InterviewSetup = {
      role: r.role,
      seniority: r.seniority,
      jobDescription: null,
      cvText: null,
      questionCount: 1,
      retry: { interviewId: r.interviewId, questionIndex: index },
    };
    button.disabled = true;
    if (await ctx.tryAct("dismiss")) await ctx.tryAct("start_interview", { setup });
    button.disabled = false;
  });
  return button;
}

interface Row {
  label: string;
  /** The attempt's value as shown, or null when it was not measured. */
  show(a: Attempt): string | null;
  /** The value compared across attempts, and whether lower is better. */
  value?(a: Attempt): number | null;
  lowerIsBetter?: boolean;
  /** The change as shown ("+12 s"), from the signed difference. */
  delta?(d: number): string;
}

const signed = (d: number, unit: string, fmt: (n: number) => string = round1): string =>
  `${d > 0 ? "+" : d < 0 ? "−" : "±"}${fmt(Math.abs(d))}${unit}`;

const ROWS: Row[] = [
  { label: "Answer length", show: (a) => (a.answered ? clock(a.answerSec) : null), value: (a) => (a.answered ? a.answerSec : null), delta: (d) => signed(d, " s", (n) => String(Math.round(n))) },
  { label: "Started after", show: (a) => (a.responseLatencySec !== null ? `${round1(a.responseLatencySec)} s` : null), value: (a) => a.responseLatencySec, lowerIsBetter: true, delta: (d) => signed(d, " s") },
  { label: "Pauses", show: (a) => (a.answered ? String(a.pauses) : null), value: (a) => (a.answered ? a.pauses : null), lowerIsBetter: true, delta: (d) => signed(d, "", (n) => String(n)) },
  { label: "Longest pause", show: (a) => (a.answered && a.pauses > 0 ? `${round1(a.longestPauseSec)} s` : a.answered ? "—" : null) },
  { label: "Pace", show: (a) => (a.wordsPerMinute !== null ? `${Math.round(a.wordsPerMinute)} wpm` : null) },
  { label: "Filler words", show: (a) => (a.fillerWords !== null ? String(a.fillerWords) : null), value: (a) => a.fillerWords, lowerIsBetter: true, delta: (d) => signed(d, "", (n) => String(n)) },
];

/**
 * The attempts at question `questionIndex` (of the interview that first asked
 * it) side by side; null when it was answered only once. `current` is the
 * interview on screen; every other attempt opens its own results.
 */
export function attemptsTable(ctx: Ctx, all: Attempt[], questionIndex: number, current: string): HTMLElement | null {
  const attempts = all.filter((a) => a.questionIndex === questionIndex);
  if (attempts.length < 2) return null;
  const first = attempts.find((a) => a.first) ?? null;
  // Rows with nothing measured in any attempt (pace without transcripts) are left out.
  const rows = ROWS.filter((row) => attempts.some((a) => row.show(a) !== null));
  let retryNo = 0;
  const heads = attempts.map((a) => {
    const name = a.first ? "First answer" : `Again (${++retryNo})`;
    const here = a.interviewId === current;
    return h("th", { scope: "col", class: here ? "attempt-current" : "", "data-interview": a.interviewId },
      h("span", { class: "attempt-name" }, name),
      h("span", { class: "attempt-date" }, dateTime(a.createdAt)),
      here
        ? h("span", { class: "attempt-here" }, "This interview")
        : h("button", { class: "link-button", type: "button", "data-action": "open-attempt", "aria-label": `Open the results of ${name.toLowerCase()}, ${dateTime(a.createdAt)}`, onclick: () => void ctx.act("open_results", { interviewId: a.interviewId }) }, "Open"));
  });
  const body = rows.map((row) =>
    h("tr", null,
      h("th", { scope: "row" }, row.label),
      attempts.map((a) => {
        const shown = row.show(a);
        const base = first && a !== first && row.value ? row.value(first) : null;
        const mine = row.value ? row.value(a) : null;
        const change = base !== null && mine !== null && row.delta ? mine - base : null;
        const better = change !== null && change !== 0 && row.lowerIsBetter !== undefined ? (change < 0) === row.lowerIsBetter : null;
        return h("td", { class: a.interviewId === current ? "attempt-current" : "" },
          shown ?? h("span", { class: "muted" }, a.answered ? "—" : "No answer"),
          change !== null && change !== 0 && row.delta
            ? h("span", { class: `attempt-delta ${better === null ? "" : better ? "better" : "worse"}`, title: "Compared with the first answer" }, row.delta(change))
            : null);
      })));
  return h("div", { class: "attempts", "data-testid": "attempts", "data-question": String(questionIndex) },
    h("table", { class: "attempts-table" },
      h("caption", { class: "visually-hidden" }, `Your ${attempts.length} answers to this question, side by side`),
      h("thead", null, h("tr", null, h("td", null), heads)),
      h("tbody", null, body)));
}
