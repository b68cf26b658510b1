// The dashboard (idle / initializing): set up and start an interview, and the history.
import type { Ctx } from "../context";
import { h, setText, show, uid } from "../dom";
import { icon } from "../icons";
import { ROLES, type InterviewSetup, type Role, type Seniority, type View } from "../ipc/contract";
import { SENIORITY_LABEL } from "../format";
import { historyPanel } from "./history";
import { progressPanel } from "./progress";
import type { Screen } from "./screen";

const SETUP_KEY = "candor.setup";
const SENIORITIES: Seniority[] = ["junior", "mid", "senior"];
const COUNTS = [3, 4, 5, 6, 8, 10];

interface Remembered {
  role: Role;
  seniority: Seniority;
  questionCount: number;
}

function remembered(): Remembered {
  const fallback: Remembered = { role: ROLES[0].id, seniority: "mid", questionCount: 5 };
  try {
    const v = JSON.parse(localStorage.getItem(SETUP_KEY) ?? "null") as Partial<Remembered> | null;
    if (!v) return fallback;
    return {
      role: ROLES.some((r) => r.id === v.role) ? v.role! : fallback.role,
      seniority: SENIORITIES.includes(v.seniority as Seniority) ? v.seniority! : fallback.seniority,
      questionCount: COUNTS.includes(Number(v.questionCount)) ? Number(v.questionCount) : fallback.questionCount,
    };
  } catch {
    return fallback;
  }
}

export function dashboardScreen(ctx: Ctx): Screen {
  const start = ctx.lastSetup ?? { ...remembered(), jobDescription: null, cvText: null };
  const heading = h("h1", { tabindex: "-1" }, "Practise an interview");
  const greeting = h("p", { class: "lede" }, "Choose the role, answer out loud, and get feedback on how you came across.");

  const roleId = uid("role");
  const countId = uid("count");
  const jdId = uid("jd");
  const cvId = uid("cv");

  const role = h("select", { id: roleId, name: "role" }, ROLES.map((r) => h("option", { value: r.id, selected: r.id === start.role }, r.label)));
  const seniorityGroup = h(
    "div",
    { class: "segmented", role: "radiogroup", "aria-label": "Seniority" },
    SENIORITIES.map((s) =>
      h("label", { class: "segment" },
        h("input", { type: "radio", name: "seniority", value: s, checked: s === start.seniority }),
        h("span", null, SENIORITY_LABEL[s])),
    ),
  );
  const count = h("select", { id: countId, name: "questionCount" }, COUNTS.map((n) => h("option", { value: String(n), selected: n === start.questionCount }, `${n} questions`)));
  const estimate = h("span", { class: "hint" });
  const jd = h("textarea", { id: jdId, rows: "5", placeholder: "Paste the job ad: the interviewer will ask about what it asks for." });
  const cv = h("textarea", { id: cvId, rows: "5", placeholder: "Paste your CV or a summary of your experience." });
  jd.value = start.jobDescription ?? "";
  cv.value = start.cvText ?? "";
  const tailor = h(
    "details",
    { class: "tailor", open: Boolean(start.jobDescription || start.cvText) },
    h("summary", null, "Tailor to a job ", h("span", { class: "muted" }, "(optional)")),
    h("div", { class: "field" }, h("label", { for: jdId }, "Job description"), jd),
    h("div", { class: "field" }, h("label", { for: cvId }, "Your CV"), cv),
  );

  const startLabel = h("span", null, "Start Interview");
  const startSpinner = h("span", { class: "spinner", hidden: true });
  const startButton = h("button", { class: "button primary large", type: "submit", "data-testid": "start" }, startSpinner, icon("play"), startLabel);
  const cancelButton = h("button", { class: "button ghost", type: "button", hidden: true, onclick: () => void ctx.act("cancel_interview") }, "Cancel");
  const fieldset = h(
    "fieldset",
    { class: "setup-fields" },
    h("div", { class: "field" }, h("label", { for: roleId }, "Role"), role),
    h("div", { class: "field" }, h("span", { class: "label", "aria-hidden": "true" }, "Seniority"), seniorityGroup),
    h("div", { class: "field" }, h("label", { for: countId }, "Length"), h("div", { class: "inline" }, count, estimate)),
    tailor,
  );
  const status = h("p", { class: "start-status", role: "status" });
  const form = h(
    "form",
    { class: "card setup", "aria-labelledby": "setup-title" },
    h("div", { class: "card-head" }, h("h2", { id: "setup-title" }, "New interview")),
    fieldset,
    h("div", { class: "setup-actions" }, startButton, cancelButton, status),
    h("p", { class: "hint mic-hint" }, icon("mic"), "You will answer with your microphone. Headphones give the interviewer the clearest sound."),
  );

  function updateEstimate(): void {
    const n = Number(count.value);
    setText(estimate, `About ${n * 3} minutes`);
  }
  count.addEventListener("change", updateEstimate);
  updateEstimate();

  function setup(): InterviewSetup {
    const checked = form.querySelector<HTMLInputElement>('input[name="seniority"]:checked')?.value;
    const seniority = SENIORITIES.find((s) => s === checked) ?? "mid";
    const chosenRole = ROLES.find((r) => r.id === role.value)?.id ?? ROLES[0].id;
    const text = (t: HTMLTextAreaElement) => (t.value.trim() === "" ? null : t.value.trim());
    return { role: chosenRole, seniority, jobDescription: text(jd), cvText: text(cv), questionCount: Number(count.value), retry: null };
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const s = setup();
    ctx.lastSetup = s;
    try {
      localStorage.setItem(SETUP_KEY, JSON.stringify({ role: s.role, seniority: s.seniority, questionCount: s.questionCount }));
    } catch {
      /* no storage */
    }
    void ctx.act("start_interview", { setup: s });
  });

  const history = historyPanel(ctx);
  const progress = progressPanel(ctx);
  const root = h(
    "main",
    { class: "screen dashboard", "data-screen": "dashboard" },
    h("div", { class: "page-head" }, heading, greeting),
    h("div", { class: "dashboard-grid" }, form, history.root),
    progress.root,
  );

  return {
    root,
    heading,
    update(view: View) {
      if (view.auth.state === "authenticated") {
        setText(heading, `Ready when you are, ${view.auth.profile.name.split(/\s+/)[0] || "there"}`);
      }
      const busy = view.interview.state === "initializing";
      fieldset.disabled = busy;
      startButton.disabled = busy;
      form.toggleAttribute("aria-busy", busy);
      show(startSpinner, busy);
      show(startButton.querySelector(".icon")!, !busy);
      show(cancelButton, busy);
      setText(startLabel, busy ? "Starting…" : "Start Interview");
      setText(status, busy ? "Preparing your interview…" : "");
      history.update(view.history);
      const listed = view.history;
      progress.update(listed?.state === "success" ? listed.data : listed?.previous ?? null);
    },
  };
}
