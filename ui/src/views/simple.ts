// Screens with a single message: processing, error, and the start-up splash.
import type { Ctx } from "../context";
import { h, setText } from "../dom";
import { icon } from "../icons";
import type { FailureKind, View } from "../ipc/contract";
import type { Screen } from "./screen";

export function processingScreen(): Screen {
  const heading = h("h1", { tabindex: "-1" }, "Analyzing your interview…");
  const root = h("main", { class: "screen stage", "data-screen": "processingResults" },
    h("section", { class: "card stage-card", "aria-busy": "true" },
      h("div", { class: "stage-visual" }, h("span", { class: "spinner big" })),
      heading,
      h("p", { class: "lede", role: "status" }, "This usually takes a few seconds."),
      h("ul", { class: "checklist muted" },
        h("li", null, "How long you and the interviewer each spoke"),
        h("li", null, "How quickly you started each answer, and your pauses"),
        h("li", null, "Notes on every question"))));
  return { root, heading, update() {} };
}

const ERROR_TITLE: Record<FailureKind, string> = {
  unauthenticated: "Your session has expired",
  retryable: "The interview was interrupted",
  fatal: "Something went wrong",
};

const ERROR_HINT: Record<FailureKind, string> = {
  unauthenticated: "Sign in again to continue practising.",
  retryable: "Check your internet connection, then start a new interview. Your history is safe.",
  fatal: "Please try starting a new interview. Your history is safe.",
};

export function errorScreen(ctx: Ctx): Screen {
  const heading = h("h1", { tabindex: "-1" }, "Something went wrong");
  const message = h("p", { class: "detail", "data-testid": "error-message" });
  const hint = h("p", { class: "lede" });
  const root = h("main", { class: "screen stage", "data-screen": "error" },
    h("section", { class: "card stage-card", role: "alert" },
      h("div", { class: "stage-visual danger" }, icon("alert", "big")),
      heading, hint, message,
      h("div", { class: "stage-actions" },
        h("button", { class: "button primary", type: "button", onclick: () => void ctx.act("dismiss") }, icon("refresh"), "Start a new interview"))));
  return {
    root,
    heading,
    update(view: View) {
      const iv = view.interview;
      if (iv.state !== "error") return;
      setText(heading, ERROR_TITLE[iv.kind]);
      setText(hint, ERROR_HINT[iv.kind]);
      setText(message, iv.message);
    },
  };
}

export function splashScreen(problem: string | null): Screen {
  const heading = h("h1", { tabindex: "-1" }, problem ? "Candor can't start" : "Starting Candor…");
  const root = h("main", { class: "screen stage", "data-screen": "splash" },
    h("section", { class: "card stage-card" },
      h("img", { class: "auth-logo", src: "./logo.png", alt: "", width: "64", height: "64" }),
      heading,
      problem ? h("p", { class: "lede", role: "alert" }, problem) : h("span", { class: "spinner big", role: "status", "aria-label": "Loading" })));
  return { root, heading, update() {} };
}
