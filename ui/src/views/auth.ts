// Sign-in: an account on a hosted backend, or a local offline profile.
import type { Ctx } from "../context";
import { h, setText, show, uid } from "../dom";
import { icon } from "../icons";
import type { View } from "../ipc/contract";
import type { Screen } from "./screen";

const NAME_KEY = "candor.offlineName";

export function authScreen(ctx: Ctx): Screen {
  let pending: "signIn" | "offline" = "signIn";

  const heading = h("h1", { tabindex: "-1", class: "auth-title" }, "Welcome to Candor");
  const notice = h("div", { class: "banner banner-warning", role: "alert", hidden: true });

  const emailId = uid("email");
  const passwordId = uid("password");
  const nameId = uid("name");
  const email = h("input", { id: emailId, type: "email", autocomplete: "username", required: true, placeholder: "you@example.com" });
  const password = h("input", { id: passwordId, type: "password", autocomplete: "current-password", required: true });
  const signInLabel = h("span", null, "Sign in");
  const signInButton = h("button", { class: "button primary wide", type: "submit" }, h("span", { class: "spinner", hidden: true }), signInLabel);
  const signInForm = h(
    "form",
    { class: "auth-form", "aria-label": "Sign in with your account" },
    h("div", { class: "field" }, h("label", { for: emailId }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: passwordId }, "Password"), password),
    signInButton,
  );

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
    void ctx.act("sign_in", { email: email.value.trim(), password: password.value });
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
        h("div", { class: "auth-column" }, h("h2", null, "Sign in"), signInForm),
        h("div", { class: "auth-divider", "aria-hidden": "true" }, h("span", null, "or")),
        h("div", { class: "auth-column" }, h("h2", null, "Practise offline"), offlineForm),
      ),
      status,
    ),
  );

  function setBusy(busy: boolean): void {
    for (const el of [email, password, name, signInButton, offlineButton]) el.disabled = busy;
    root.toggleAttribute("aria-busy", busy);
    const [spinIn, spinOff] = [signInButton.firstElementChild!, offlineButton.firstElementChild!];
    show(spinIn, busy && pending === "signIn");
    show(spinOff, busy && pending === "offline");
    setText(signInLabel, busy && pending === "signIn" ? "Signing in…" : "Sign in");
    setText(offlineLabel, busy && pending === "offline" ? "Opening your profile…" : "Continue offline");
    setText(status, busy ? (pending === "signIn" ? "Checking your account…" : "Opening your local profile…") : "");
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
