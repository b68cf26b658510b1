// Sign-in: an account on the backend (signing in, or creating one), or a
// local offline profile.
import type { Ctx } from "../context";
import { h, setText, show, uid } from "../dom";
import { icon } from "../icons";
import type { View } from "../ipc/contract";
import type { Screen } from "./screen";

const NAME_KEY = "candor.offlineName";

export function authScreen(ctx: Ctx): Screen {
  let pending: "signIn" | "offline" = "signIn";
  /** The account form signs in, or creates an account. */
  let mode: "signIn" | "create" = "signIn";

  const heading = h("h1", { tabindex: "-1", class: "auth-title" }, "Welcome to Candor");
  const notice = h("div", { class: "banner banner-warning", role: "alert", hidden: true });

  const emailId = uid("email");
  const passwordId = uid("password");
  const nameId = uid("name");
  const email = h("input", { id: emailId, type: "email", autocomplete: "username", required: true, placeholder: "you@example.com" });
  const passwordHintId = uid("password-hint");
  const password = h("input", { id: passwordId, type: "password", autocomplete: "current-password", required: true });
  // The server's rule (8 to 1024 characters), shown and checked in place.
  const passwordHint = h("p", { id: passwordHintId, class: "hint", hidden: true }, "At least 8 characters.");
  const signInLabel = h("span", null, "Sign in");
  const signInButton = h("button", { class: "button primary wide", type: "submit" }, h("span", { class: "spinner", hidden: true }), signInLabel);
  const accountTitle = h("h2", null, "Sign in");
  const switchPrompt = h("span", null, "New to Candor?");
  const switchButton = h("button", { class: "link-button", type: "button" }, "Create an account");
  const signInForm = h(
    "form",
    { class: "auth-form", "aria-label": "Sign in with your account" },
    h("div", { class: "field" }, h("label", { for: emailId }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: passwordId }, "Password"), password, passwordHint),
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
      password.setAttribute("minlength", "8");
      password.setAttribute("maxlength", "1024");
      password.setAttribute("aria-describedby", passwordHintId);
    } else {
      for (const a of ["minlength", "maxlength", "aria-describedby"]) password.removeAttribute(a);
    }
    show(passwordHint, create);
    setText(signInLabel, create ? "Create account" : "Sign in");
    setText(switchPrompt, create ? "Already have an account?" : "New to Candor?");
    setText(switchButton, create ? "Sign in instead" : "Create an account");
  }
  switchButton.addEventListener("click", () => {
    setMode(mode === "create" ? "signIn" : "create");
    email.focus();
  });

  let savedName = "";
  try {
    savedName = localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    /* no storage */
  }
  const name = h("input", { id: nameId, type: "text", autocomplete: "name", required: true, maxlength: "60", value: savedName, placeholder: "Your first name" });
  const offlineLabel = h("span", null, "Continue offline");
  const offlineButton = h("button", { class: "button secondary wide", type: "submit" }, h("span", { class: "spinner", hidden: true }), offlineLabel);
  const offlineForm = h(
    "form",
    { class: "auth-form", "aria-label": "Practise offline with a local profile" },
    h("div", { class: "field" }, h("label", { for: nameId }, "Your name"), name,
      h("p", { class: "hint" }, "Stays on this computer. Interviews run with the built-in practice interviewer; no account or network needed.")),
    offlineButton,
  );

  signInForm.addEventListener("submit", (e) => {
    e.preventDefault();
    pending = "signIn";
    const args = { email: email.value.trim(), password: password.value };
    void ctx.act(mode === "create" ? "create_account" : "sign_in", args);
  });
  offlineForm.addEventListener("submit", (e) => {
    e.preventDefault();
    pending = "offline";
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
        h("div", { class: "auth-column" }, accountTitle, signInForm),
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
        show(notice, auth.notice !== null && auth.notice !== "");
        notice.replaceChildren(icon("alert"), h("span", null, auth.notice ?? ""));
      } else if (auth.state === "authenticating") {
        setBusy(true);
        show(notice, false);
      }
    },
  };
}
