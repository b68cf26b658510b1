// Sign-in: an account on the backend (signing in, or creating one), or a
// local offline profile.
import type { Ctx } from "../context";
import { h, setText, show, uid } from "../dom";
import { icon } from "../icons";
import type { View } from "../ipc/contract";
import type { Screen } from "./screen";

const NAME_KEY = "candor.offlineName";

// The backend's rules for a new account (crates/candor-server/src/api.rs,
// `register`), checked here as the candidate types so its refusals are rare;
// the server's own message is shown in place when it still refuses.
/** Passwords: 8 to 1024 characters (counted as the server counts them). */
const PASSWORD_MIN_CHARS = 8;
const PASSWORD_MAX_BYTES = 1024;

/** The server's email check (`normalise_email`): a@b.c, at most 254 characters. */
export function emailProblem(raw: string): string | null {
  const e = raw.trim().toLowerCase();
  if (e === "") return "Enter your email address.";
  const at = e.indexOf("@");
  const local = at < 0 ? "" : e.slice(0, at);
  const domain = at < 0 ? "" : e.slice(at + 1);
  const valid = e.length <= 254 && local !== "" && domain.includes(".") && !domain.startsWith(".") && !domain.endsWith(".");
  return valid ? null : "Enter a valid email address.";
}

/** The server's password rule for a new account. */
export function newPasswordProblem(password: string): string | null {
  if (password === "") return "Choose a password.";
  const chars = [...password].length;
  const bytes = new TextEncoder().encode(password).length;
  if (chars < PASSWORD_MIN_CHARS || bytes > PASSWORD_MAX_BYTES) return "The password must be 8 to 1024 characters.";
  return null;
}

export function authScreen(ctx: Ctx): Screen {
  let pending: "signIn" | "offline" = "signIn";
  /** The form whose submission the next answer is about; null: none from this screen. */
  let answerFor: "account" | "offline" | null = null;
  /** Signing in: the next sign-in screen is its answer. */
  let answering = false;
  /** Where the current notice shows; "none" once the form it was about changed mode. */
  let noticeHome: "account" | "offline" | "top" | "none" = "top";
  /** The account form signs in, or creates an account. */
  let mode: "signIn" | "create" = "signIn";

  const heading = h("h1", { tabindex: "-1", class: "auth-title" }, "Welcome to Candor");
  const notice = h("div", { class: "banner banner-warning", role: "alert", hidden: true });

  const emailId = uid("email");
  const passwordId = uid("password");
  const nameId = uid("name");
  const email = h("input", { id: emailId, type: "email", autocomplete: "username", required: true, placeholder: "you@example.com" });
  const passwordHintId = uid("password-hint");
  const emailErrorId = uid("email-error");
  const passwordErrorId = uid("password-error");
  const password = h("input", { id: passwordId, type: "password", autocomplete: "current-password", required: true });
  // The server's rule (8 to 1024 characters), shown and checked in place: it
  // turns to a tick once met.
  const ruleIcon = h("span", { class: "rule-icon", "aria-hidden": "true" });
  const passwordHint = h("p", { id: passwordHintId, class: "hint rule", hidden: true }, ruleIcon, h("span", null, "At least 8 characters."));
  const emailError = h("p", { id: emailErrorId, class: "field-error", hidden: true });
  const passwordError = h("p", { id: passwordErrorId, class: "field-error", hidden: true });
  // What the server answered to this form (a refused password, a taken
  // email, too many attempts), under the fields it is about.
  const formError = h("div", { class: "form-error", role: "alert", hidden: true, "data-testid": "account-error" });
  const signInLabel = h("span", null, "Sign in");
  const signInButton = h("button", { class: "button primary wide", type: "submit" }, h("span", { class: "spinner", hidden: true }), signInLabel);
  const accountTitle = h("h2", null, "Sign in");
  // Which backend the account is on: a hosted one set in Settings, or the
  // one built into the app (an account that stays on this computer).
  const backendLine = h("p", { class: "hint backend-line", "data-testid": "account-backend", hidden: true });
  async function showBackend(): Promise<void> {
    const settings = await ctx.act("get_settings");
    if (!settings) return;
    let host: string | null = null;
    try {
      host = settings.backendUrl ? new URL(settings.backendUrl).host : null;
    } catch {
      host = null;
    }
    if (host) {
      backendLine.replaceChildren(icon("user"), h("span", null, "On ", h("strong", null, host)));
    } else {
      const change = h("button", { class: "link-button", type: "button", onclick: () => ctx.openSettings() }, "Settings");
      backendLine.replaceChildren(icon("info"), h("span", null, "Accounts stay on this computer. For a hosted Candor backend, set its address in ", change, "."));
    }
    show(backendLine, true);
  }
  const switchPrompt = h("span", null, "New to Candor?");
  const switchButton = h("button", { class: "link-button", type: "button" }, "Create an account");
  const signInForm = h(
    "form",
    { class: "auth-form", "aria-label": "Sign in with your account", novalidate: true },
    h("div", { class: "field" }, h("label", { for: emailId }, "Email"), email, emailError),
    h("div", { class: "field" }, h("label", { for: passwordId }, "Password"), password, passwordHint, passwordError),
    formError,
    signInButton,
    h("p", { class: "auth-switch" }, switchPrompt, " ", switchButton),
  );

  function setMode(next: "signIn" | "create"): void {
    mode = next;
    const create = mode === "create";
    setText(accountTitle, create ? "Create an account" : "Sign in");
    signInForm.setAttribute("aria-label", create ? "Create an account" : "Sign in with your account");
    password.setAttribute("autocomplete", create ? "new-password" : "current-password");
    if (create) {
      password.setAttribute("minlength", String(PASSWORD_MIN_CHARS));
      password.setAttribute("maxlength", String(PASSWORD_MAX_BYTES));
    } else {
      for (const a of ["minlength", "maxlength"]) password.removeAttribute(a);
    }
    show(passwordHint, create);
    clearErrors();
    if (noticeHome === "account") noticeHome = "none";
    renderRule();
    setText(signInLabel, create ? "Create account" : "Sign in");
    setText(switchPrompt, create ? "Already have an account?" : "New to Candor?");
    setText(switchButton, create ? "Sign in instead" : "Create an account");
  }
  switchButton.addEventListener("click", () => {
    setMode(mode === "create" ? "signIn" : "create");
    email.focus();
  });

  function fieldError(input: HTMLInputElement, error: HTMLElement, problem: string | null): void {
    setText(error, problem ?? "");
    show(error, problem !== null);
    if (problem === null) input.removeAttribute("aria-invalid");
    else input.setAttribute("aria-invalid", "true");
    const described = [input === password && mode === "create" ? passwordHintId : null, problem !== null ? error.id : null].filter(Boolean).join(" ");
    if (described === "") input.removeAttribute("aria-describedby");
    else input.setAttribute("aria-describedby", described);
  }
  function showFormError(message: string | null): void {
    formError.replaceChildren(...(message ? [icon("alert"), h("span", null, message)] : []));
    show(formError, message !== null);
  }
  function clearErrors(): void {
    fieldError(email, emailError, null);
    fieldError(password, passwordError, null);
    showFormError(null);
  }
  function renderRule(): void {
    const met = newPasswordProblem(password.value) === null;
    passwordHint.classList.toggle("met", met);
    ruleIcon.replaceChildren(icon(met ? "check" : "info"));
  }
  email.addEventListener("input", () => {
    if (email.hasAttribute("aria-invalid")) fieldError(email, emailError, null);
  });
  password.addEventListener("input", () => {
    renderRule();
    if (password.hasAttribute("aria-invalid")) fieldError(password, passwordError, null);
  });

  let savedName = "";
  try {
    savedName = localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    /* no storage */
  }
  const name = h("input", { id: nameId, type: "text", autocomplete: "name", required: true, maxlength: "60", value: savedName, placeholder: "Your first name" });
  const offlineError = h("div", { class: "form-error", role: "alert", hidden: true });
  const offlineLabel = h("span", null, "Continue offline");
  const offlineButton = h("button", { class: "button secondary wide", type: "submit" }, h("span", { class: "spinner", hidden: true }), offlineLabel);
  const offlineForm = h(
    "form",
    { class: "auth-form", "aria-label": "Practise offline with a local profile" },
    h("div", { class: "field" }, h("label", { for: nameId }, "Your name"), name,
      h("p", { class: "hint" }, "Stays on this computer. Interviews run with the built-in practice interviewer; no account or network needed.")),
    offlineError,
    offlineButton,
  );

  signInForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const create = mode === "create";
    const emailWrong = emailProblem(email.value);
    const passwordWrong = create ? newPasswordProblem(password.value) : password.value === "" ? "Enter your password." : null;
    fieldError(email, emailError, emailWrong);
    fieldError(password, passwordError, passwordWrong);
    showFormError(null);
    if (emailWrong !== null || passwordWrong !== null) {
      (emailWrong !== null ? email : password).focus();
      return;
    }
    pending = "signIn";
    answerFor = "account";
    const args = { email: email.value.trim(), password: password.value };
    void ctx.act(create ? "create_account" : "sign_in", args);
  });
  offlineForm.addEventListener("submit", (e) => {
    e.preventDefault();
    pending = "offline";
    answerFor = "offline";
    const n = name.value.trim();
    try {
      localStorage.setItem(NAME_KEY, n);
    } catch {
      /* no storage */
    }
    void ctx.act("continue_offline", { name: n });
  });

  const status = h("p", { class: "auth-status", role: "status" });

  const root = h(
    "main",
    { class: "screen auth-screen", "data-screen": "auth" },
    h(
      "section",
      { class: "auth-card card" },
      h("img", { class: "auth-logo", src: "./logo.png", alt: "", width: "64", height: "64" }),
      heading,
      h("p", { class: "lede" }, "Practise job interviews out loud with an interviewer that listens, then see concrete feedback on how you did."),
      notice,
      h("div", { class: "auth-columns" },
        h("div", { class: "auth-column" }, accountTitle, backendLine, signInForm),
        h("div", { class: "auth-divider", "aria-hidden": "true" }, h("span", null, "or")),
        h("div", { class: "auth-column" }, h("h2", null, "Practise offline"), offlineForm),
      ),
      status,
    ),
  );

  function setBusy(busy: boolean): void {
    for (const el of [email, password, name, signInButton, offlineButton, switchButton]) el.disabled = busy;
    root.toggleAttribute("aria-busy", busy);
    const [spinIn, spinOff] = [signInButton.firstElementChild!, offlineButton.firstElementChild!];
    show(spinIn, busy && pending === "signIn");
    show(spinOff, busy && pending === "offline");
    const create = mode === "create";
    const idle = create ? "Create account" : "Sign in";
    setText(signInLabel, busy && pending === "signIn" ? (create ? "Creating your account…" : "Signing in…") : idle);
    setText(offlineLabel, busy && pending === "offline" ? "Opening your profile…" : "Continue offline");
    const working = pending === "offline" ? "Opening your local profile…" : create ? "Creating your account…" : "Checking your account…";
    setText(status, busy ? working : "");
  }

  return {
    root,
    heading,
    update(view: View) {
      const auth = view.auth;
      if (auth.state === "unauthenticated") {
        setBusy(false);
        void showBackend();
        if (answering) {
          // The answer to what this screen sent goes in the form that sent
          // it; any other notice (an expired session, a remembered sign-in
          // refused) above both forms.
          answering = false;
          noticeHome = answerFor ?? "top";
          answerFor = null;
          if (noticeHome === "account" && auth.notice) password.focus();
          if (noticeHome === "offline" && auth.notice) name.focus();
        }
        const message = auth.notice !== null && auth.notice !== "" ? auth.notice : null;
        showFormError(noticeHome === "account" ? message : null);
        const offlineMessage = noticeHome === "offline" ? message : null;
        offlineError.replaceChildren(...(offlineMessage ? [icon("alert"), h("span", null, offlineMessage)] : []));
        show(offlineError, offlineMessage !== null);
        const topMessage = noticeHome === "top" ? message : null;
        show(notice, topMessage !== null);
        notice.replaceChildren(icon("alert"), h("span", null, topMessage ?? ""));
      } else if (auth.state === "authenticating") {
        answering = true;
        setBusy(true);
        show(notice, false);
        showFormError(null);
        show(offlineError, false);
      }
    },
  };
}
