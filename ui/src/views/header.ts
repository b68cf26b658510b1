// The app bar: brand, the signed-in user, settings, about, theme, sign out.
import type { Ctx } from "../context";
import { fill, h, setText, show } from "../dom";
import { icon } from "../icons";
import type { View } from "../ipc/contract";
import { initials } from "../format";
import { currentTheme, onThemeChange, toggleTheme } from "../theme";

/** States in which leaving (signing out) would abandon a running interview. */
const IN_INTERVIEW = new Set(["initializing", "requestingPermissions", "connecting", "live", "reconnecting", "ending", "processingResults"]);

export function header(ctx: Ctx): { root: HTMLElement; update(view: View | null): void } {
  const themeButton = h("button", { class: "icon-button", type: "button", "data-testid": "theme-toggle" });
  function renderTheme(): void {
    const dark = currentTheme() === "dark";
    fill(themeButton, icon(dark ? "sun" : "moon"));
    themeButton.setAttribute("aria-label", dark ? "Switch to light theme" : "Switch to dark theme");
    themeButton.title = dark ? "Light theme" : "Dark theme";
  }
  themeButton.addEventListener("click", toggleTheme);
  onThemeChange(renderTheme);
  renderTheme();

  const settingsButton = h("button", { class: "icon-button", type: "button", "aria-label": "Settings", title: "Settings", "data-testid": "settings" }, icon("sliders"));
  settingsButton.addEventListener("click", () => ctx.openSettings());
  const aboutButton = h("button", { class: "icon-button", type: "button", "aria-label": "About Candor", title: "About Candor", "data-testid": "about" }, icon("info"));
  aboutButton.addEventListener("click", () => ctx.openAbout());

  const avatar = h("span", { class: "avatar small", "aria-hidden": "true" });
  const name = h("span", { class: "user-name", "data-testid": "user-name" });
  const badge = h("span", { class: "badge", hidden: true }, "Offline");
  const user = h("div", { class: "user", hidden: true }, avatar, h("span", { class: "user-text" }, name, badge));
  const signOut = h("button", { class: "button ghost small", type: "button", hidden: true, "data-testid": "sign-out" }, icon("logout"), "Sign out");
  signOut.addEventListener("click", () => void ctx.act("sign_out"));

  const root = h("header", { class: "app-bar" },
    h("div", { class: "brand" }, h("img", { src: "./logo.png", alt: "", width: "28", height: "28" }), h("span", { class: "brand-name" }, "Candor")),
    h("div", { class: "app-bar-right" }, user, settingsButton, aboutButton, themeButton, signOut));

  return {
    root,
    update(view: View | null) {
      const auth = view?.auth;
      const signedIn = auth?.state === "authenticated";
      show(user, signedIn);
      show(signOut, signedIn);
      if (auth?.state === "authenticated") {
        setText(name, auth.profile.name);
        setText(avatar, initials(auth.profile.name));
        show(badge, auth.profile.offline);
        user.title = auth.profile.email ?? (auth.profile.offline ? "Local offline profile" : "");
        const busy = view !== null && IN_INTERVIEW.has(view.interview.state);
        signOut.disabled = busy;
        signOut.title = busy ? "Finish or cancel the interview first" : "";
      }
    },
  };
}
