// End-to-end tests of the built UI in Chromium, with the core's IPC mocked.
// Every state of the seed's three tables is rendered and checked against its
// "User Sees" column; a screenshot of each lands in ui/test-artifacts/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openApp, startServer } from "./harness.mjs";
import { ABOUT, AUTHENTICATING, DIAGNOSTICS, DEVICES, EMPTY_HISTORY, HISTORY, HISTORY_PAGE, INSTALLED, MODEL_SOURCE, OFFLINE_PROFILE, RESULTS, RESULTS_ENDED_EARLY, RESULTS_GEMINI, RESULTS_NO_ASSESSMENT, RESULTS_RETRIED, RESULTS_RETRY, RESULTS_RETRY_ALONE, PROGRESS_HISTORY, SETTINGS, authed, signedOut, speechModels } from "./fixtures.mjs";

let browser;
let server;

// A hard limit for the whole run, so a hung browser can never hang CI.
const watchdog = setTimeout(() => {
  console.error("UI tests exceeded 150 s; giving up");
  process.exit(1);
}, 150_000);
watchdog.unref();

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the app, runs `fn`, then checks nothing went wrong in the page. */
async function withApp(options, fn) {
  const app = await openApp(browser, server.url, options);
  try {
    await fn(app, app.page);
    assert.deepEqual(await app.problems(), [], "no page errors, console errors or CSP violations");
  } finally {
    await app.close();
  }
}

/**
 * Stops the page's clock (installed by `withApp({ clock: true })`) a moment
 * ahead, so from here on its timers, frames and `performance.now()` move only
 * with `page.clock.runFor`: throttling is checked against exact times, not a
 * loaded machine's.
 */
async function pauseClock(page) {
  await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
}

async function text(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

async function focusedText(page) {
  return page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
}

const LIVE = { state: "live", interviewId: "iv-9", sessionId: "s-1" };

// ------------------------------------------------------------------ auth

describe("authentication", () => {
  test("unauthenticated: sign-in form and offline profile; intents are sent", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Welcome to Candor" }).waitFor();
      assert.equal(await focusedText(page), "Welcome to Candor", "focus starts on the heading");
      assert.equal(await page.locator(".banner").isVisible(), false, "no notice without one");
      await app.shot("auth-unauthenticated");

      await page.getByLabel("Email").fill("alex@example.com");
      await page.getByLabel("Password").fill("hunter22");
      await page.getByRole("button", { name: "Sign in" }).click();
      const signIn = await app.waitForCall("sign_in");
      assert.deepEqual(signIn.args, { email: "alex@example.com", password: "hunter22" });

      await page.getByLabel("Your name").fill("Sam");
      await page.getByLabel("Your name").press("Enter");
      const offline = await app.waitForCall("continue_offline");
      assert.deepEqual(offline.args, { name: "Sam" });
    });
  });

  test("create an account: the form switches, shows the password rule and sends create_account", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await page.getByRole("button", { name: "Create an account" }).click();
      await page.getByRole("heading", { level: 2, name: "Create an account" }).waitFor();
      const password = page.getByLabel("Password");
      assert.equal(await password.getAttribute("autocomplete"), "new-password");
      await page.getByText("At least 8 characters.").waitFor();
      await page.getByLabel("Email").fill("new@example.com");
      await password.fill("short");
      await page.getByRole("button", { name: "Create account" }).click();
      assert.equal(await password.evaluate((el) => el.validity.tooShort), true, "the server's rule, checked in place");
      assert.equal((await app.callsTo("create_account")).length, 0, "nothing sent with a short password");
      await password.fill("a long enough secret");
      await app.shot("auth-create-account");
      await page.getByRole("button", { name: "Create account" }).click();
      const created = await app.waitForCall("create_account");
      assert.deepEqual(created.args, { email: "new@example.com", password: "a long enough secret" });

      await page.getByRole("button", { name: "Sign in instead" }).click();
      await page.getByRole("heading", { level: 2, name: "Sign in" }).waitFor();
      assert.equal(await password.getAttribute("autocomplete"), "current-password");
      assert.equal(await page.getByText("At least 8 characters.").isVisible(), false);
    });
  });

  test("create an account: the server's rules are checked in place, under the field they are about", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await page.getByRole("button", { name: "Create an account" }).click();
      const email = page.getByLabel("Email");
      const password = page.getByLabel("Password");
      const create = page.getByRole("button", { name: "Create account" });

      await create.click();
      await page.getByText("Enter your email address.").waitFor();
      assert.equal(await email.getAttribute("aria-invalid"), "true");
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "email", "focus goes to the field to fix");

      await email.fill("ada@localhost");
      await password.fill("short");
      await create.click();
      await page.getByText("Enter a valid email address.").waitFor();
      await page.getByText("The password must be 8 to 1024 characters.").waitFor();
      assert.equal(await password.getAttribute("aria-invalid"), "true");
      assert.match(await password.getAttribute("aria-describedby"), /password-hint.*password-error/, "the rule and the error are read with the field");
      assert.equal(await page.locator(".hint.rule").evaluate((el) => el.classList.contains("met")), false);
      await app.shot("auth-create-account-rules");

      // Typing clears the error; the rule turns to a tick once met (8 characters, as the server counts them).
      await email.fill("ada@example.org");
      assert.equal(await page.getByText("Enter a valid email address.").isVisible(), false);
      await password.fill("ünïcödé");
      assert.equal(await page.locator(".hint.rule").evaluate((el) => el.classList.contains("met")), false, "7 characters");
      await password.fill("ünïcödé!");
      assert.equal(await page.locator(".hint.rule").evaluate((el) => el.classList.contains("met")), true, "8 characters");
      assert.equal(await page.getByText("The password must be 8 to 1024 characters.").isVisible(), false);
      assert.equal((await app.callsTo("create_account")).length, 0, "nothing was sent while a rule failed");
      await create.click();
      const sent = await app.waitForCall("create_account");
      assert.deepEqual(sent.args, { email: "ada@example.org", password: "ünïcödé!" });
    });
  });

  test("create an account: the server's refusal shows in the form, success opens the dashboard", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await page.getByRole("button", { name: "Create an account" }).click();
      await page.getByLabel("Email").fill("grace@example.org");
      await page.getByLabel("Password").fill("another password");
      await page.getByRole("button", { name: "Create account" }).click();
      await app.waitForCall("create_account");
      await app.view(AUTHENTICATING);
      await page.getByRole("button", { name: "Creating your account…" }).waitFor();
      const taken = "Could not sign in to a new account with this email: it may already have one. Sign in with its password instead.";
      await app.view(signedOut(taken));
      const error = page.locator('[data-testid="account-error"]');
      await error.getByText(taken).waitFor();
      assert.equal(await error.getAttribute("role"), "alert");
      assert.equal(await page.locator(".auth-card > .banner").isVisible(), false, "not on top of the card: in the form that was sent");
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "password", "focus returns to the form");
      assert.equal(await page.getByLabel("Email").inputValue(), "grace@example.org", "what was typed is kept");
      await app.shot("auth-create-account-refused");
      await page.locator('[data-testid="theme-toggle"]').click();
      await app.shot("auth-create-account-refused-dark");
      await page.locator('[data-testid="theme-toggle"]').click();

      // A throttled attempt reads the same way, in place.
      await page.getByRole("button", { name: "Create account" }).click();
      await app.waitForCall("create_account", 2);
      await app.view(AUTHENTICATING);
      assert.equal(await error.isVisible(), false, "the old answer goes while the new one is awaited");
      await app.view(signedOut("Too many attempts. Try again in 30 seconds."));
      await error.getByText("Too many attempts. Try again in 30 seconds.").waitFor();

      // Switching to sign-in clears it; an account made signs in to the dashboard.
      await page.getByRole("button", { name: "Sign in instead" }).click();
      assert.equal(await error.isVisible(), false);
      await page.getByRole("button", { name: "Create an account" }).click();
      await page.getByRole("button", { name: "Create account" }).click();
      await app.waitForCall("create_account", 3);
      await app.view(AUTHENTICATING);
      await app.view(authed());
      await page.getByRole("heading", { level: 1, name: /Ready when you are/ }).waitFor();
      assert.equal(await text(page, '[data-testid="user-name"]'), "Alex Morgan");
    });
  });

  test("the account form says which backend the account is on", async () => {
    await withApp({ view: signedOut(), responses: { get_settings: { ...SETTINGS, backendUrl: "https://candor.example.com/api" } } }, async (app, page) => {
      await page.locator('[data-testid="account-backend"]').getByText("candor.example.com").waitFor();
      await page.getByRole("button", { name: "Create an account" }).click();
      await app.shot("auth-create-account-hosted");
    });
    await withApp({ view: signedOut(), responses: { get_settings: SETTINGS, list_devices: DEVICES } }, async (app, page) => {
      const line = page.locator('[data-testid="account-backend"]');
      await line.getByText("Accounts stay on this computer.", { exact: false }).waitFor();
      await line.getByRole("button", { name: "Settings" }).click();
      await page.getByRole("dialog", { name: "Settings" }).waitFor();
      await page.getByLabel("Backend URL").waitFor();
    });
  });

  test("a refused offline profile is explained beside its button", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await page.getByLabel("Your name").fill("Sam");
      await page.getByRole("button", { name: "Continue offline" }).click();
      await app.waitForCall("continue_offline");
      await app.view(AUTHENTICATING);
      await app.view(signedOut("Could not start the offline backend: the disk is full."));
      await page.locator(".auth-column").nth(1).getByRole("alert").getByText("the disk is full", { exact: false }).waitFor();
      assert.equal(await page.locator('[data-testid="account-error"]').isVisible(), false);
    });
  });

  test("unauthenticated with a notice shows it", async () => {
    await withApp({ view: signedOut("Your session expired. Please sign in again.") }, async (app, page) => {
      const banner = page.getByRole("alert").filter({ hasText: "Your session expired" });
      await banner.waitFor();
      await app.shot("auth-notice");
    });
  });

  test("authenticating: spinner and disabled buttons", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await page.getByLabel("Email").fill("alex@example.com");
      await page.getByLabel("Password").fill("pw");
      await page.getByRole("button", { name: "Sign in" }).click();
      await app.view(AUTHENTICATING);
      const button = page.getByRole("button", { name: "Signing in…" });
      await button.waitFor();
      assert.equal(await button.isDisabled(), true);
      assert.equal(await page.getByRole("button", { name: "Continue offline" }).isDisabled(), true);
      assert.equal(await button.locator(".spinner").isVisible(), true, "spinner on the button");
      await app.shot("auth-authenticating");
    });
  });

  test("authenticated: dashboard with the user's name in the header; sign out", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      await app.view(authed());
      await page.getByRole("heading", { level: 1, name: /Ready when you are, Alex/ }).waitFor();
      assert.equal(await text(page, '[data-testid="user-name"]'), "Alex Morgan");
      assert.match(await focusedText(page), /Ready when you are/, "focus moves to the new screen's heading");
      await page.getByRole("button", { name: "Sign out" }).click();
      await app.waitForCall("sign_out");
    });
  });

  test("offline profile is marked as such", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "success", data: EMPTY_HISTORY }, OFFLINE_PROFILE) }, async (app, page) => {
      await page.locator(".badge", { hasText: "Offline" }).waitFor();
      assert.equal(await text(page, '[data-testid="user-name"]'), "Sam");
    });
  });
});

// ------------------------------------------------------------------ history (data fetching)

describe("history", () => {
  test("loading shows skeletons", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "loading", previous: null }) }, async (app, page) => {
      await page.locator(".history .skeleton").first().waitFor();
      assert.equal(await page.locator(".history .skeleton").count(), 3);
      assert.equal(await page.locator(".history").getAttribute("aria-busy"), "true");
      await app.shot("history-loading");
    });
  });

  test("success lists interviews, newest first; a ready one opens its results", async () => {
    await withApp({ view: authed() }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      assert.equal(await page.locator(".history-item").count(), HISTORY.length);
      assert.match(await text(page, ".history-item"), /Data scientist · Staff/);
      assert.match(await text(page, ".history"), /Analyzing/);
      assert.match(await text(page, ".history"), /Failed/);
      await app.shot("dashboard-idle");
      await page.getByRole("button", { name: /Open results: Software engineer/ }).click();
      const call = await app.waitForCall("open_results");
      assert.deepEqual(call.args, { interviewId: "iv-1" });
    });
  });

  test("empty history says so", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "success", data: EMPTY_HISTORY }) }, async (app, page) => {
      await page.getByText("No interviews yet").waitFor();
      await app.shot("history-empty");
    });
  });

  test("refreshing keeps the previous list; a failed refresh shows the error above it", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "loading", previous: HISTORY_PAGE }) }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      assert.equal(await page.locator(".history .skeleton").count(), 0);
      assert.equal(await page.locator(".history .card-head .spinner").isVisible(), true);
      await app.view(authed({ state: "idle" }, { state: "error", message: "Timed out.", previous: HISTORY_PAGE }));
      await page.getByText("Could not load interview history.").waitFor();
      assert.equal(await page.locator(".history-item").count(), HISTORY.length);
    });
  });

  test("error: message and Retry sends refresh_history", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "error", message: "The backend did not answer.", previous: null }) }, async (app, page) => {
      const alert = page.getByRole("alert").filter({ hasText: "Could not load interview history." });
      await alert.waitFor();
      await app.shot("history-error");
      await page.getByRole("button", { name: "Retry" }).click();
      await app.waitForCall("refresh_history");
      await app.view(authed({ state: "idle" }, { state: "loading", previous: null }));
      await page.locator(".history .skeleton").first().waitFor();
      await app.view(authed());
      await page.locator(".history-item").first().waitFor();
    });
  });
});

describe("progress over time", () => {
  test("each score's trend for the latest role, oldest to newest, with latest and best; a point opens its interview; roles switch", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "success", data: PROGRESS_HISTORY }) }, async (app, page) => {
      const progress = page.getByTestId("progress");
      await progress.waitFor();
      assert.match(await progress.innerText(), /Your last 3 software engineer interviews, oldest to newest/);
      const row = progress.locator('.trend-row[data-key="responsiveness"]');
      assert.equal(await row.locator('[data-figure="latest"]').innerText(), "Latest 70");
      assert.equal(await row.locator('[data-figure="best"]').innerText(), "Best 88");
      const points = row.locator(".trend-point");
      await points.nth(2).waitFor();
      assert.deepEqual(await points.evaluateAll((ps) => ps.map((p) => p.getAttribute("data-interview"))), ["se-1", "se-2", "se-3"], "oldest to newest; the failed one has no point");
      assert.equal(await row.locator(".trend-point.best").getAttribute("data-interview"), "se-2");
      assert.equal(await row.locator(".trend-point.latest").getAttribute("data-interview"), "se-3");
      assert.equal(await progress.locator(".trend-row").count(), 2, "one chart per score");
      await app.shot("dashboard-progress", { fullPage: true });

      await points.nth(1).click();
      const opened = await app.waitForCall("open_results");
      assert.deepEqual(opened.args, { interviewId: "se-2" });
      await points.nth(0).focus();
      await page.keyboard.press("Enter");
      const byKey = await app.waitForCall("open_results", 2);
      assert.deepEqual(byKey.args, { interviewId: "se-1" });

      await progress.getByRole("button", { name: "Product manager" }).click();
      assert.match(await progress.innerText(), /One interview so far/);
      // The charts are drawn by a ResizeObserver, before the next paint:
      // on a loaded machine that can be after the text is read.
      await progress.locator(".trend-point").nth(1).waitFor();
      assert.equal(await progress.locator(".trend-point").count(), 2, "one point per score");
      assert.equal(await progress.getByRole("button", { name: "Product manager" }).getAttribute("aria-pressed"), "true");
    });
  });

  test("the history shows older interviews on request, keeping the list while they load", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "success", data: PROGRESS_HISTORY }) }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      await page.getByRole("button", { name: "Show older interviews" }).click();
      await app.waitForCall("show_more_history");
      await app.view(authed({ state: "idle" }, { state: "loading", previous: PROGRESS_HISTORY }));
      await page.getByRole("button", { name: "Loading…" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Loading…" }).isDisabled(), true);
      assert.equal(await page.locator(".history-item").count(), 5);
      const more = { items: [...PROGRESS_HISTORY.items, { id: "se-old", role: "software-engineer", seniority: "mid", createdAt: "2025-10-01T09:00:00Z", status: "ready", durationSec: 700, overallScore: 40,
        scores: [{ key: "responsiveness", label: "Responsiveness", value: 40 }, { key: "answer_depth", label: "Answer depth", value: 40 }] }], hasMore: false };
      await app.view(authed({ state: "idle" }, { state: "success", data: more }));
      await page.locator('.history-item [data-id="se-old"], .history-item[data-id="se-old"]').first().waitFor();
      assert.equal(await page.getByRole("button", { name: "Show older interviews" }).count(), 0, "no more pages");
      assert.match(await page.getByTestId("progress").innerText(), /Your last 4 software engineer interviews/, "older interviews join the trend");
    });
  });

  test("a retry of one question is listed as such and is not a point of the trend", async () => {
    const retry = { ...PROGRESS_HISTORY.items[0], id: "se-4", createdAt: "2025-11-26T09:00:00Z", overallScore: 99,
      scores: PROGRESS_HISTORY.items[0].scores.map((sc) => ({ ...sc, value: 99 })),
      retryOf: { interviewId: "se-3", questionIndex: 2, question: "Describe a time you disagreed with a teammate." } };
    const history = { ...PROGRESS_HISTORY, items: [retry, ...PROGRESS_HISTORY.items] };
    await withApp({ view: authed({ state: "idle" }, { state: "success", data: history }) }, async (app, page) => {
      const progress = page.getByTestId("progress");
      await progress.waitFor();
      const item = page.locator('.history-button[data-id="se-4"]');
      assert.match(await item.innerText(), /One question again/);
      assert.match(await item.getAttribute("aria-label"), /one question again/);
      const points = progress.locator('.trend-row[data-key="responsiveness"] .trend-point');
      assert.deepEqual(await points.evaluateAll((ps) => ps.map((p) => p.getAttribute("data-interview"))), ["se-1", "se-2", "se-3"]);
      assert.equal(await progress.locator('.trend-row[data-key="responsiveness"] [data-figure="best"]').innerText(), "Best 88");
    });
  });

  test("without a scored interview there is no progress panel", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "success", data: EMPTY_HISTORY }) }, async (app, page) => {
      await page.locator('[data-testid="history"]').waitFor();
      assert.equal(await page.getByTestId("progress").isVisible(), false);
    });
  });
});

// ------------------------------------------------------------------ interview lifecycle

describe("interview lifecycle", () => {
  test("idle: Start Interview sends the set-up; initializing shows a spinner on it", async () => {
    await withApp({ view: authed() }, async (app, page) => {
      await page.getByLabel("Role").selectOption("product-manager");
      await page.getByRole("radio", { name: "Senior", exact: true }).check();
      await page.getByLabel("Length").selectOption("3");
      await page.getByText("Tailor to a job").click();
      await page.getByLabel("Job description").fill("Lead our payments product.");
      await page.getByRole("button", { name: "Start Interview" }).click();
      const call = await app.waitForCall("start_interview");
      assert.deepEqual(call.args, {
        setup: { role: "product-manager", seniority: "senior", jobDescription: "Lead our payments product.", cvText: null, questionCount: 3, retry: null },
      });
      await app.view(authed({ state: "initializing" }));
      const start = page.locator('[data-testid="start"]');
      await page.getByRole("button", { name: "Starting…" }).waitFor();
      assert.equal(await start.isDisabled(), true);
      assert.equal(await start.locator(".spinner").isVisible(), true);
      await app.shot("interview-initializing");
      await page.getByRole("button", { name: "Cancel" }).click();
      await app.waitForCall("cancel_interview");
    });
  });

  test("requestingPermissions: says what is happening (Linux wording here)", async () => {
    await withApp({ view: authed({ state: "requestingPermissions", interviewId: "iv-9" }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Allow microphone access" }).waitFor();
      await page.getByText("Candor is opening your microphone…").waitFor();
      assert.equal(await focusedText(page), "Allow microphone access");
      await app.shot("interview-requesting-permissions");
      await page.getByRole("button", { name: "Cancel" }).click();
      await app.waitForCall("cancel_interview");
    });
  });

  test("permissionsDenied (denied): explanation, per-OS steps, Retry", async () => {
    const view = authed({ state: "permissionsDenied", interviewId: "iv-9", problem: "denied", message: "Access to the microphone was denied by the system." });
    await withApp({ view }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Candor needs your microphone" }).waitFor();
      assert.match(await text(page, ".how-to"), /PulseAudio/);
      assert.match(await text(page, '[data-testid="problem-message"]'), /denied by the system/);
      await page.getByText("On another system?").click();
      assert.match(await text(page, ".other-os"), /System Settings › Privacy & Security › Microphone/);
      assert.match(await text(page, ".other-os"), /Settings › Privacy .* › Microphone/);
      await app.shot("interview-permissions-denied", { fullPage: true });
      await page.getByRole("button", { name: "Try again" }).click();
      await app.waitForCall("retry_permissions");
      await page.getByRole("button", { name: "Back to dashboard" }).click();
      await app.waitForCall("dismiss");
    });
  });

  test("permissionsDenied (noDevice) reads differently from denied", async () => {
    const view = authed({ state: "permissionsDenied", interviewId: "iv-9", problem: "noDevice", message: "No input device." });
    await withApp({ view }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "No microphone found" }).waitFor();
      assert.match(await text(page, ".how-to"), /connected/);
      await app.shot("interview-permissions-nodevice");
    });
  });

  test("connecting: status, attempt n of max after the first, Cancel", async () => {
    await withApp({ view: authed({ state: "connecting", interviewId: "iv-9", attempt: 1, maxAttempts: 5 }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Connecting to your interviewer…" }).waitFor();
      assert.doesNotMatch(await text(page, ".stage-card"), /Attempt/);
      await app.view(authed({ state: "connecting", interviewId: "iv-9", attempt: 3, maxAttempts: 5 }));
      await page.getByText("Attempt 3 of 5").waitFor();
      await app.shot("interview-connecting");
      await page.getByRole("button", { name: "Cancel" }).click();
      await app.waitForCall("cancel_interview");
    });
  });

  test("live: interviewer indicator, question n of N, transcript partial → final, level, time", async () => {
    await withApp({ view: authed({ state: "connecting", interviewId: "iv-9", attempt: 1, maxAttempts: 5 }) }, async (app, page) => {
      await app.view(authed(LIVE));
      await page.locator('[data-screen="live"]').waitFor();
      assert.match(await focusedText(page), /interview/i, "focus on the live heading");

      await app.push({ type: "interviewer", activity: "speaking", questionIndex: 2, questionCount: 5 });
      await page.getByText("Question 2 of 5").waitFor();
      assert.equal(await page.locator('[data-testid="interviewer"]').getAttribute("data-activity"), "speaking");
      assert.equal(await text(page, '[data-testid="interviewer"] .tile-status'), "Speaking");

      await app.push({ type: "transcript", speaker: "interviewer", segmentId: 1, text: "Describe a time you disagreed with a teammate.", isFinal: true, startMs: 1000 });
      await app.push({ type: "transcript", speaker: "candidate", segmentId: 2, text: "Sure, in my last", isFinal: false, startMs: 9000 });
      const seg = page.locator('[data-segment="2"]');
      await seg.waitFor();
      assert.equal(await seg.evaluate((el) => el.classList.contains("partial")), true);
      assert.equal(await seg.locator(".line-text").evaluate((el) => getComputedStyle(el).fontStyle), "italic", "partial text is visibly provisional");
      assert.equal(await page.locator('[data-testid="transcript"]').getAttribute("aria-live"), "polite");

      await app.push({ type: "level", level: 0.8, voice: true });
      await app.push({ type: "stats", elapsedMs: 65_000, uplinkKbps: 18, bufferedMs: 60, muted: false });
      await app.push({ type: "interviewer", activity: "listening", questionIndex: 2, questionCount: 5 });
      await page.locator('[data-testid="you"][data-level="8"]').waitFor();
      assert.equal(await page.locator('[data-testid="meter"] i.on').count(), 10);
      assert.equal(await text(page, '[data-testid="elapsed"]'), "01:05");
      assert.equal(await text(page, '[data-testid="you"] .tile-status'), "Speaking");
      await app.shot("interview-live-partial");

      await app.push({ type: "transcript", speaker: "candidate", segmentId: 2, text: "Sure, in my last role we disagreed about the release plan.", isFinal: true, startMs: 9000 });
      await page.waitForFunction(() => !document.querySelector('[data-segment="2"]').classList.contains("partial"));
      assert.equal(await page.locator('[data-testid="transcript"] li').count(), 2, "a segment is replaced, not duplicated");
      assert.equal(await text(page, '[data-segment="2"] .line-text'), "Sure, in my last role we disagreed about the release plan.");
      assert.equal(await seg.locator(".line-text").evaluate((el) => getComputedStyle(el).fontStyle), "normal", "final text is settled");
      await app.push({ type: "interviewer", activity: "thinking", questionIndex: 3, questionCount: 5 });
      await page.getByText("Question 3 of 5").waitFor();
      await app.push({ type: "level", level: 0.0, voice: false });
      await page.locator('[data-testid="you"][data-level="0"]').waitFor();
      await app.shot("interview-live");
    });
  });

  test("live: strong echo shows the headphones hint until it fades", async () => {
    await withApp({ view: authed(LIVE) }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      const hint = page.locator('[data-testid="echo-hint"]');
      assert.equal(await hint.isVisible(), false, "no hint without echo");
      await app.push({ type: "echo", strong: true });
      await hint.waitFor({ state: "visible" });
      assert.match(await hint.innerText(), /Your speakers are feeding back into the microphone — headphones will help/);
      await app.shot("interview-live-echo");
      await app.push({ type: "echo", strong: false });
      await hint.waitFor({ state: "hidden" });
    });
  });

  test("live: M mutes, the mute button toggles, Ctrl+E and End Interview end", async () => {
    await withApp({ view: authed(LIVE) }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      await page.keyboard.press("m");
      const mute = await app.waitForCall("set_muted");
      assert.deepEqual(mute.args, { muted: true });
      await app.push({ type: "stats", elapsedMs: 3000, uplinkKbps: 0, bufferedMs: 0, muted: true });
      const button = page.locator('[data-testid="mute"]');
      assert.equal(await button.getAttribute("aria-pressed"), "true");
      assert.match(await button.innerText(), /Unmute/);
      await page.getByText("Muted — the interviewer can't hear you").waitFor();
      await app.shot("interview-live-muted");
      await button.click();
      const unmute = await app.waitForCall("set_muted", 2);
      assert.deepEqual(unmute.args, { muted: false });
      assert.match(await text(page, ".controls"), /Shortcuts: M mute · Ctrl\+E end/);

      await page.keyboard.press("Control+e");
      await app.waitForCall("end_interview");
      await page.getByRole("button", { name: /End Interview/ }).click();
      await app.waitForCall("end_interview", 2);
    });
  });

  test("live: device picker lists devices and sends the choice", async () => {
    await withApp({ view: authed(LIVE), responses: { list_devices: DEVICES } }, async (app, page) => {
      await page.getByRole("button", { name: "Devices" }).click();
      await app.waitForCall("list_devices");
      const mic = page.locator('#devices-popover [data-testid="input-device"]');
      await page.waitForFunction(() => document.querySelectorAll('#devices-popover [data-testid="input-device"] option').length === 3);
      assert.match(await mic.innerText(), /USB Headset Microphone/);
      await app.shot("interview-live-devices");
      await mic.selectOption("mic-headset");
      const call = await app.waitForCall("choose_devices");
      assert.deepEqual(call.args, { input: "mic-headset", output: null });
      await page.keyboard.press("Escape");
      assert.equal(await page.locator("#devices-popover").isVisible(), false);
      await app.push({ type: "devices", devices: { ...DEVICES, selectedInput: "mic-headset" } });
      assert.equal(await mic.inputValue(), "mic-headset");
    });
  });

  test("reconnecting: banner says audio is kept; the transcript stays", async () => {
    await withApp({ view: authed(LIVE) }, async (app, page) => {
      await app.push({ type: "transcript", speaker: "interviewer", segmentId: 1, text: "Tell me about a project you're proud of.", isFinal: true, startMs: 500 });
      await app.push({ type: "interviewer", activity: "listening", questionIndex: 1, questionCount: 4 });
      await app.view(authed({ state: "reconnecting", interviewId: "iv-9", sessionId: "s-1", attempt: 2, maxAttempts: 5 }));
      const banner = page.locator('[data-testid="reconnecting"]');
      await banner.waitFor();
      assert.match(await banner.innerText(), /Reconnecting… \(attempt 2 of 5\)/);
      assert.match(await banner.innerText(), /nothing you say is lost/);
      assert.equal(await banner.getAttribute("role"), "alert");
      assert.equal(await page.locator('[data-testid="transcript"] li').count(), 1);
      await app.shot("interview-reconnecting");
      await app.view(authed(LIVE));
      await page.waitForFunction(() => document.querySelector('[data-testid="reconnecting"]').hidden);
    });
  });

  test("ending: Ending session…, controls disabled, shortcuts do nothing", async () => {
    await withApp({ view: authed(LIVE) }, async (app, page) => {
      await app.view(authed({ state: "ending", interviewId: "iv-9" }));
      await page.getByText("Ending session…").waitFor();
      assert.equal(await page.locator('[data-testid="end"]').isDisabled(), true);
      assert.equal(await page.locator('[data-testid="mute"]').isDisabled(), true);
      await page.keyboard.press("m");
      await page.keyboard.press("Control+e");
      await page.waitForTimeout(100);
      assert.equal((await app.callsTo("set_muted")).length, 0);
      assert.equal((await app.callsTo("end_interview")).length, 0);
      await app.shot("interview-ending");
    });
  });

  test("processingResults: Analyzing your interview…", async () => {
    await withApp({ view: authed({ state: "processingResults", interviewId: "iv-9" }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Analyzing your interview…" }).waitFor();
      await app.shot("interview-processing");
    });
  });

  test("resultsReady: metrics explained, scores, charts, per question, transcript; actions", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      assert.equal(await focusedText(page), "Your interview feedback");
      const metrics = page.locator(".metric");
      assert.equal(await text(page, '.metric[data-key="talk"] .metric-value'), "68%");
      assert.match(await text(page, '.metric[data-key="talk"] .metric-explain'), /You spoke for 5 min 57 s/);
      assert.equal(await text(page, '.metric[data-key="latency"] .metric-value'), "2.1 s");
      assert.match(await text(page, '.metric[data-key="pace"] .metric-explain'), /offline practice interviewer/);
      assert.ok((await metrics.count()) >= 5);
      assert.equal(await page.locator(".score-card").count(), 3);
      assert.match(await text(page, '.score-card[data-key="structure"]'), /6.2 s pause/);
      assert.equal(await page.locator('[data-chart="answers"] svg rect.fill-you').count(), RESULTS.questions.length, "one bar per question");
      assert.equal(await page.locator('[data-chart="pauses"] svg').count(), 1);
      assert.ok((await page.locator('[data-chart="talk"] svg.timeline rect.fill-you').count()) > 0, "timeline of who spoke");
      assert.equal(await page.locator(".question-card").count(), 4);
      assert.match(await text(page, '.question-card[data-index="2"]'), /disagreed with a teammate/);
      await page.getByText(/Show the full transcript/).click();
      assert.equal(await page.locator(".transcript-details li").count(), RESULTS.transcript.length);
      await app.shot("interview-results", { fullPage: true });

      await page.getByRole("button", { name: "Back to dashboard" }).first().click();
      await app.waitForCall("dismiss");
      await page.getByRole("button", { name: "Start another" }).click();
      const start = await app.waitForCall("start_interview");
      assert.equal((await app.callsTo("dismiss")).length, 2, "Start another leaves the results first");
      assert.equal(start.args.setup.role, "software-engineer");
      assert.equal(start.args.setup.seniority, "senior");
    });
  });

  test("resultsReady: the recording plays, fetched through the app's replay protocol; the transcript follows; a line and a question's exchange jump", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS }) }, async (app, page) => {
      const player = page.getByTestId("replay");
      await player.waitFor();
      const audioState = () => page.evaluate(() => {
        const a = document.querySelector('[data-testid="replay-audio"]');
        return { src: a.currentSrc, time: a.currentTime, paused: a.paused, duration: a.duration };
      });
      // The metadata loads at once: the length is known before playing.
      await page.waitForFunction(() => document.querySelector('[data-testid="replay-time"]').textContent === "00:00 / 07:32");
      assert.match(await text(page, ".listen-note"), /the interviewer's voice and yours/);
      assert.match((await audioState()).src, /^blob:/, "played from the fetched recording");
      assert.ok(server.replays.some((r) => r.path === "iv-9/interview.ogg"), "fetched through the replay scheme");

      // Play: the button turns to Pause and the time moves on.
      const toggle = page.locator('[data-action="replay-toggle"]');
      assert.equal(await toggle.getAttribute("aria-label"), "Play");
      // (The label follows the element's play and pause events, which are
      // dispatched after `paused` has changed: wait for what the user sees.)
      await toggle.click();
      await page.waitForFunction(() => document.querySelector('[data-testid="replay-audio"]').currentTime > 0.3);
      assert.equal(await toggle.getAttribute("aria-label"), "Pause");
      await toggle.click();
      await page.waitForFunction(() => document.querySelector('[data-testid="replay-audio"]').paused);
      await page.waitForFunction(() => document.querySelector('[data-action="replay-toggle"]').getAttribute("aria-label") === "Play");
      assert.ok(await page.evaluate(() => document.querySelector('[data-testid="replay-audio"]').paused), "still paused once the label says Play");

      // A transcript line's time jumps there, and that line is marked as
      // the recording plays on.
      await page.getByText(/Show the full transcript/).click();
      const answer = RESULTS.transcript[1];
      await page.locator(".transcript-details li").nth(1).locator("button.line-time").click();
      await page.waitForFunction((t) => {
        const a = document.querySelector('[data-testid="replay-audio"]');
        return !a.paused && a.currentTime >= t;
      }, answer.startSec);
      await page.waitForFunction(() => document.querySelectorAll(".transcript-details li.current").length === 1);
      assert.equal(await page.locator(".transcript-details li.current").getAttribute("aria-current"), "true");
      assert.equal(await page.locator(".transcript-details li.current .line-text").textContent(), answer.text);
      await app.shot("results-replay", { fullPage: true });

      // A question plays as its exchange: the whole interview from the
      // interviewer asking it, the question's line marked, stopping where the
      // next question starts.
      const q2 = page.locator('.question-card[data-index="2"] [data-action="play-answer"]');
      assert.equal((await q2.textContent()).trim(), "Play question 2 and your answer");
      await q2.click();
      assert.equal(await text(page, '[data-testid="replay-what"]'), "Question 2 and your answer");
      const asked = RESULTS.transcript.find((l) => l.speaker === "interviewer" && l.questionIndex === 2);
      const next = RESULTS.transcript.find((l) => l.speaker === "interviewer" && l.questionIndex === 3);
      await page.waitForFunction((t) => {
        const a = document.querySelector('[data-testid="replay-audio"]');
        return !a.paused && a.currentTime >= t && a.currentTime < t + 2;
      }, asked.startSec);
      await page.waitForFunction(() => document.querySelector(".transcript-details li.current .line-text")?.textContent !== undefined);
      assert.equal(await page.locator(".transcript-details li.current .line-text").textContent(), asked.text);
      assert.ok(!server.replays.some((r) => r.path.startsWith("iv-9/answer-")), "no separate recording is fetched");
      // Near the exchange's end (moved there directly, as playing on would),
      // it stops by itself where question 3 begins.
      await page.evaluate((t) => { document.querySelector('[data-testid="replay-audio"]').currentTime = t; }, next.startSec - 0.6);
      await page.waitForFunction(() => document.querySelector('[data-testid="replay-audio"]').paused, null, { timeout: 5000 });
      const stopped = await page.evaluate(() => document.querySelector('[data-testid="replay-audio"]').currentTime);
      assert.ok(stopped >= next.startSec && stopped < next.startSec + 1, `stopped at ${stopped}, question 3 at ${next.startSec}`);
      await page.waitForFunction(() => document.querySelector('[data-action="replay-toggle"]').getAttribute("aria-label") === "Play");

      // Seeking with the slider.
      await page.locator('[data-testid="replay-seek"]').fill("5");
      await page.waitForFunction(() => Math.abs(document.querySelector('[data-testid="replay-audio"]').currentTime - 5) < 0.5);

      // Played to its end, the button says Play again, and Play starts the
      // recording over from its beginning.
      const length = await page.evaluate(() => document.querySelector('[data-testid="replay-audio"]').duration);
      await page.locator('[data-testid="replay-seek"]').fill(String(Math.floor((length - 0.5) * 10) / 10));
      await toggle.click();
      await page.waitForFunction(() => {
        const a = document.querySelector('[data-testid="replay-audio"]');
        return a.paused && a.currentTime >= a.duration - 0.05;
      });
      await page.waitForFunction(() => document.querySelector('[data-action="replay-toggle"]').getAttribute("aria-label") === "Play");
      await toggle.click();
      await page.waitForFunction(() => {
        const a = document.querySelector('[data-testid="replay-audio"]');
        return !a.paused && a.currentTime > 0 && a.currentTime < 2;
      });
      assert.equal(await toggle.getAttribute("aria-label"), "Pause");
    });
  });

  test("resultsReady recorded before the interviewer's voice was kept: an answer plays on its own, and the page says why", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: { ...RESULTS, interviewerVoice: false } }) }, async (app, page) => {
      await page.getByTestId("replay").waitFor();
      assert.match(await text(page, ".listen-note"), /recorded before Candor kept the interviewer's voice/);
      const q2 = page.locator('.question-card[data-index="2"] [data-action="play-answer"]');
      assert.equal((await q2.textContent()).trim(), "Play answer 2");
      await q2.click();
      assert.equal(await text(page, '[data-testid="replay-what"]'), "Your answer to question 2");
      assert.ok(server.replays.some((r) => r.path === "iv-9/answer-02.ogg"), "the answer's own recording");
      await page.waitForFunction(() => {
        const a = document.querySelector('[data-testid="replay-audio"]');
        return !a.paused && a.duration > 9 && a.duration < 11;
      });
      assert.equal(await page.locator(".transcript-details li.current").count(), 0, "no transcript line is marked");
    });
  });

  test("resultsReady: a recording that cannot be loaded says so and disables the player", async () => {
    const app = await openApp(browser, server.url, { view: authed({ state: "resultsReady", interviewId: "iv-missing", results: { ...RESULTS, interviewId: "iv-missing" } }) });
    try {
      const problem = app.page.getByTestId("replay-problem");
      await problem.waitFor();
      assert.match(await problem.textContent(), /could not be loaded/);
      assert.ok(await app.page.locator('[data-action="replay-toggle"]').isDisabled());
      await problem.scrollIntoViewIfNeeded();
      await app.shot("results-replay-missing");
      // The browser reports the refused request itself; nothing else went wrong.
      assert.deepEqual(await app.problems(), ["console error: Failed to load resource: the server responded with a status of 404 (Not Found)"]);
    } finally {
      await app.close();
    }
  });

  test("resultsReady: Delete asks first; Keep it changes nothing; a refusal is shown; Delete for good sends it", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS }), errors: { delete_interview: "Could not delete the interview. The server is unreachable." } }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      const confirm = page.getByTestId("delete-confirm");
      assert.equal(await confirm.isVisible(), false, "no confirmation until asked");
      await page.getByRole("button", { name: "Delete", exact: true }).click();
      await confirm.waitFor();
      assert.match(await confirm.innerText(), /Delete this interview\?[\s\S]*recording, transcript and feedback[\s\S]*cannot be undone/);
      assert.equal(await focusedText(page), "Keep it", "the safe choice has the focus");
      await app.shot("results-delete-confirm");
      await page.getByRole("button", { name: "Keep it" }).click();
      assert.equal(await confirm.isVisible(), false);
      assert.equal((await app.callsTo("delete_interview")).length, 0, "keeping it sends nothing");

      await page.getByRole("button", { name: "Delete", exact: true }).click();
      await page.getByRole("button", { name: "Delete for good" }).click();
      const refused = await app.waitForCall("delete_interview");
      assert.deepEqual(refused.args, { interviewId: RESULTS.interviewId });
      await page.getByText("The server is unreachable.").waitFor();
      assert.equal(await confirm.isVisible(), true, "a failed delete leaves the choice open");

      await page.evaluate(() => delete window.__candor.errors.delete_interview);
      await page.getByRole("button", { name: "Delete for good" }).click();
      await app.waitForCall("delete_interview", 2);
      await page.getByText("The interview was deleted.").waitFor();
      // The core closes the results and reloads the history.
      await app.view(authed({ state: "idle" }));
      await page.locator('[data-testid="history"]').waitFor();
    });
  });

  test("resultsReady: Export proposes a folder name, says where the files went, and a cancelled dialog says nothing", async () => {
    const folder = "/home/ada/Documents/Candor interview 2025-11-26 Software engineer";
    const files = ["README.txt", "interview.ogg", "answer-01.ogg", "transcript.txt", "transcript.vtt", "report.html"];
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS }), responses: { export_interview: null } }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      const exportButton = page.getByRole("button", { name: "Export" });
      await exportButton.click();
      const cancelled = await app.waitForCall("export_interview");
      assert.deepEqual(cancelled.args, { interviewId: "iv-9", suggestedName: "Candor interview 2025-11-26 Software engineer" });
      await page.waitForTimeout(100);
      assert.equal(await page.locator(".toast").count(), 0, "a cancelled dialog shows nothing");
      assert.equal(await exportButton.isEnabled(), true);

      await app.setResponse("export_interview", { folder, files });
      await exportButton.click();
      await app.waitForCall("export_interview", 2);
      await page.getByText(`Exported 6 files to ${folder}.`).waitFor();
      await app.shot("results-exported");

      await app.setError("export_interview", "Could not export the interview: /home/ada/x is not empty: choose a new or empty folder.");
      await exportButton.click();
      await page.getByText(/is not empty: choose a new or empty folder/).waitFor();
    });
  });

  test("resultsReady after ending early: completion counts the planned questions; Start another plans as many", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-11", results: RESULTS_ENDED_EARLY }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      assert.equal(await text(page, '[data-testid="questions-asked"]'), "1 of 5 questions");
      const completion = page.locator('.score-card[data-key="completion"]');
      assert.match(await completion.innerText(), /20[\s\S]*1 of the 5 planned questions/);
      await app.shot("interview-results-ended-early");
      await page.getByRole("button", { name: "Start another" }).click();
      const start = await app.waitForCall("start_interview");
      assert.equal(start.args.setup.questionCount, 5, "as many questions as planned, not as many as were asked");
    });
  });

  test("resultsReady: Answer this again starts a one-question interview on that question, leaving the results first", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS }) }, async (app, page) => {
      const card = page.locator('.question-card[data-index="2"]');
      await card.waitFor();
      assert.equal(await page.locator('[data-action="retry-question"]').count(), RESULTS.questions.length, "every question can be answered again");
      assert.equal(await page.getByTestId("attempts").count(), 0, "nothing to compare before a retry");
      await card.getByRole("button", { name: "Answer this again" }).click();
      const start = await app.waitForCall("start_interview");
      assert.equal((await app.callsTo("dismiss")).length, 1);
      assert.deepEqual(start.args.setup, {
        role: "software-engineer", seniority: "senior", jobDescription: null, cvText: null, questionCount: 1,
        retry: { interviewId: "iv-9", questionIndex: 2 },
      });
    });
  });

  test("resultsReady of a retry: the question, both attempts side by side with the changes, the first one opens its interview", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-12", results: RESULTS_RETRY }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your feedback on answering again" }).waitFor();
      const again = page.getByTestId("retry-of");
      assert.match(await again.innerText(), /Describe a time you disagreed with a teammate/);
      const table = again.getByTestId("attempts");
      assert.deepEqual(await table.locator("thead th .attempt-name").allInnerTexts(), ["First answer", "Again (1)"]);
      assert.equal(await table.locator("thead th.attempt-current").getAttribute("data-interview"), "iv-12", "this interview is marked");
      const row = (label) => table.locator("tbody tr").filter({ has: page.getByRole("rowheader", { name: label, exact: true }) });
      assert.deepEqual(await row("Answer length").locator("td").allInnerTexts(), ["02:22", "01:35−47 s"]);
      assert.equal(await row("Started after").locator(".attempt-delta").innerText(), "−2.6 s");
      assert.match(await row("Started after").locator(".attempt-delta").getAttribute("class"), /better/, "starting sooner is better");
      assert.match(await row("Pauses").locator(".attempt-delta").getAttribute("class"), /better/, "fewer pauses is better");
      assert.equal(await row("Pace").count(), 0, "no pace without transcripts of the answers");
      assert.equal(await page.locator('.question-card [data-testid="attempts"]').count(), 0, "the comparison is shown once, at the top");
      assert.equal(await text(page, '[data-testid="questions-asked"]'), "1 question");
      await app.shot("retry-results", { fullPage: true });

      await table.getByRole("button", { name: /Open the results of first answer/ }).click();
      const opened = await app.waitForCall("open_results");
      assert.deepEqual(opened.args, { interviewId: "iv-9" });
      await page.getByRole("button", { name: "Start another" }).click();
      const start = await app.waitForCall("start_interview");
      assert.equal(start.args.setup.questionCount, 5, "a whole interview, not one question");
      assert.equal(start.args.setup.retry, null);
    });
  });

  test("resultsReady of an interview whose question was answered again: that question's card compares the attempts", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS_RETRIED }) }, async (app, page) => {
      const card = page.locator('.question-card[data-index="2"]');
      await card.getByTestId("attempts").waitFor();
      assert.equal(await page.getByTestId("attempts").count(), 1, "only question 2 was answered again");
      assert.equal(await card.locator("thead th.attempt-current").getAttribute("data-interview"), "iv-9");
      assert.equal(await page.getByTestId("retry-of").count(), 0);
      await card.scrollIntoViewIfNeeded();
      await app.shot("interview-results-retried");
    });
  });

  test("resultsReady of a retry whose first answer was deleted says there is nothing to compare", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-12", results: RESULTS_RETRY_ALONE }) }, async (app, page) => {
      const again = page.getByTestId("retry-of");
      await again.waitFor();
      assert.match(await again.innerText(), /no longer stored/);
      assert.equal(await page.getByTestId("attempts").count(), 0);
    });
  });

  test("resultsReady with a transcript of the candidate shows pace and filler words", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-10", results: RESULTS_GEMINI }), theme: "dark" }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      assert.equal(await text(page, '.metric[data-key="pace"] .metric-value'), "174 wpm");
      assert.match(await text(page, '.metric[data-key="pace"] .metric-explain'), /120–160/);
      assert.equal(await text(page, '.metric[data-key="fillers"] .metric-value'), "9");
      const assessment = await text(page, '[data-testid="assessment"]');
      assert.match(assessment, /A confident interview/);
      assert.match(assessment, /Specificity/);
      assert.match(assessment, /Outline your answer/);
      assert.match(assessment, /we scheduled the rewrite/);
      const words = await text(page, '[data-testid="your-words"]');
      assert.match(words, /You used 3 of the 5 key terms/);
      assert.match(words, /kubernetes/);
      assert.match(words, /×7\s*billing/);
      await page.getByRole("heading", { level: 2, name: "Measured scores" }).waitFor();
      await app.shot("interview-results-dark", { fullPage: true });
    });
  });

  test("resultsReady without the AI assessment says why and shows the metrics", async () => {
    await withApp({ view: authed({ state: "resultsReady", interviewId: "iv-11", results: RESULTS_NO_ASSESSMENT }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      assert.equal(await page.locator('[data-testid="assessment"]').count(), 0);
      assert.match(await text(page, '[data-testid="assessment-unavailable"]'), /timed out/);
      assert.equal(await text(page, '.metric[data-key="pace"] .metric-value'), "174 wpm");
      await app.shot("interview-results-metrics-only");
    });
  });

  test("error: a clear message and Start a new interview", async () => {
    await withApp({ view: authed({ state: "error", interviewId: "iv-9", kind: "fatal", message: "The interviewer stopped responding after 5 attempts." }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Something went wrong" }).waitFor();
      await page.getByText("The interviewer stopped responding after 5 attempts.").waitFor();
      await app.shot("interview-error");
      await page.getByRole("button", { name: "Start a new interview" }).click();
      await app.waitForCall("dismiss");
    });
  });
});

// ------------------------------------------------------------------ settings, notices, themes

describe("settings, notices and themes", () => {
  test("settings load and save", async () => {
    await withApp({ view: authed(), responses: { get_settings: SETTINGS, list_devices: DEVICES } }, async (app, page) => {
      await page.getByRole("button", { name: "Settings" }).click();
      await app.waitForCall("get_settings");
      const dialog = page.getByRole("dialog", { name: "Settings" });
      await dialog.waitFor();
      const url = page.getByLabel("Backend URL");
      await page.waitForFunction(() => !document.querySelector(".settings-form fieldset").disabled);
      assert.equal(await url.inputValue(), "");
      assert.equal(await page.getByLabel("Echo cancellation").isChecked(), true);
      await app.shot("settings");
      await url.fill("not a url");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("This is not a valid address.", { exact: false }).waitFor();
      assert.equal((await app.callsTo("save_settings")).length, 0);
      await url.fill("https://candor.example.com");
      await page.getByLabel("Echo cancellation").uncheck();
      await page.getByRole("button", { name: "Save" }).click();
      const call = await app.waitForCall("save_settings");
      assert.deepEqual(call.args, { settings: { backendUrl: "https://candor.example.com", echoCancellation: false } });
      await page.waitForFunction(() => !document.querySelector("dialog").open);
    });
  });

  test("notices and refused commands are shown to the user", async () => {
    await withApp({ view: authed(LIVE), errors: { end_interview: "The interview is not running." } }, async (app, page) => {
      await app.push({ type: "notice", level: "warning", message: "Microphone switched to the default device" });
      await page.getByRole("alert").filter({ hasText: "Microphone switched to the default device" }).waitFor();
      await page.getByRole("button", { name: /End Interview/ }).click();
      await page.getByRole("alert").filter({ hasText: "The interview is not running." }).waitFor();
      await app.shot("notices");
    });
  });

  test("light and dark follow the OS; the toggle overrides it", async () => {
    const bg = (page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const bgBecomes = (page, colour) => page.waitForFunction((c) => getComputedStyle(document.body).backgroundColor === c, colour, { timeout: 3000 });
    await withApp({ view: authed(), theme: "dark" }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
      assert.equal(await bg(page), "rgb(14, 16, 22)");
      await app.shot("dashboard-dark");
      await page.getByRole("button", { name: "Switch to light theme" }).click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
      await bgBecomes(page, "rgb(244, 245, 249)");
      assert.equal(await page.getByRole("button", { name: "Switch to dark theme" }).count(), 1);
    });
    await withApp({ view: authed(), theme: "light" }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
      assert.equal(await bg(page), "rgb(244, 245, 249)");
    });
  });

  test("dark theme: sign-in and live screens", async () => {
    await withApp({ view: signedOut("Your session expired. Please sign in again."), theme: "dark" }, async (app) => {
      await app.page.getByRole("heading", { level: 1, name: "Welcome to Candor" }).waitFor();
      await app.shot("auth-dark");
      await app.view(authed(LIVE));
      await app.push({ type: "interviewer", activity: "speaking", questionIndex: 1, questionCount: 4 });
      await app.push({ type: "transcript", speaker: "interviewer", segmentId: 1, text: "Tell me about a project you're proud of.", isFinal: true, startMs: 500 });
      await app.push({ type: "transcript", speaker: "candidate", segmentId: 2, text: "The billing migration, because", isFinal: false, startMs: 7000 });
      await app.push({ type: "level", level: 0.6, voice: true });
      await app.push({ type: "stats", elapsedMs: 42_000, uplinkKbps: 18, bufferedMs: 60, muted: false });
      await app.page.locator('[data-testid="you"][data-level="6"]').waitFor();
      await app.shot("interview-live-dark");
    });
  });

  test("the smallest window (720×560) has no sideways scrolling", async () => {
    const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await withApp({ view: authed(), viewport: { width: 720, height: 560 } }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      assert.equal(await overflow(page), 0);
      await app.shot("small-dashboard");
      await app.view(authed(LIVE));
      await app.push({ type: "interviewer", activity: "speaking", questionIndex: 1, questionCount: 4 });
      await app.push({ type: "transcript", speaker: "interviewer", segmentId: 1, text: "Tell me about a project you're proud of.", isFinal: true, startMs: 500 });
      await page.locator('[data-segment="1"]').waitFor();
      assert.equal(await overflow(page), 0);
      await app.shot("small-live");
      await app.view(authed({ state: "resultsReady", interviewId: "iv-9", results: RESULTS }));
      await page.getByRole("heading", { level: 1, name: "Your interview feedback" }).waitFor();
      assert.equal(await overflow(page), 0);
      await app.shot("small-results", { fullPage: true });
    });
    await withApp({ view: signedOut(), viewport: { width: 720, height: 560 } }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Welcome to Candor" }).waitFor();
      assert.equal(await overflow(page), 0);
      await app.shot("small-auth", { fullPage: true });
    });
  });

  test("outside the desktop app the page says how to open Candor", async () => {
    await withApp({ noCore: true }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Candor can't start" }).waitFor();
      await page.getByText("Open Candor from the desktop app").waitFor();
    });
  });

  test("keyboard: the dashboard can be used without a mouse", async () => {
    await withApp({ view: authed() }, async (app, page) => {
      await page.locator(".history-item").first().waitFor();
      // From the heading, Tab reaches the role picker, then Start Interview, and Enter starts.
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id?.startsWith("role")), true);
      await page.locator('[data-testid="start"]').focus();
      await page.keyboard.press("Enter");
      await app.waitForCall("start_interview");
    });
  });
});

// ------------------------------------------------------------------ about and diagnostics

describe("about and diagnostics", () => {
  test("About shows the version, where data and logs live, and the licences; opens the logs folder", async () => {
    for (const theme of ["light", "dark"]) {
      await withApp({ view: authed(), theme, responses: { about: ABOUT } }, async (app, page) => {
        await page.getByRole("button", { name: "About Candor" }).click();
        const dialog = page.getByRole("dialog", { name: "About Candor" });
        await dialog.waitFor();
        assert.equal(await focusedText(page), "About Candor", "focus starts on the dialog's heading");
        await dialog.getByText("Version 0.1.0").waitFor();
        assert.equal(await text(page, '[data-testid="about-logs"]'), ABOUT.locations.logs);
        assert.equal(await text(page, '[data-testid="about-data"]'), ABOUT.locations.data);
        assert.equal(await text(page, '[data-testid="about-settings"]'), ABOUT.locations.settings);
        await dialog.getByText("Candor is open source under MIT or Apache-2.0.", { exact: false }).waitFor();
        const rows = page.locator('[data-testid="components"] li');
        assert.equal(await rows.count(), ABOUT.components.length);
        const opus = rows.filter({ hasText: "Opus" });
        assert.match(await opus.innerText(), /Audio compression[\s\S]*BSD-3-Clause/);
        assert.match(await rows.filter({ hasText: "Tauri" }).innerText(), /Apache-2\.0 or MIT/);
        await app.shot(`about-${theme}`);
        await rows.last().scrollIntoViewIfNeeded();
        await app.shot(`about-${theme}-licences`);
        if (theme === "dark") return;

        await dialog.getByRole("button", { name: "Open logs folder" }).click();
        await app.waitForCall("open_logs_folder");
        await opus.getByRole("button", { name: "Opus" }).click();
        const opened = await app.waitForCall("open_component_page");
        assert.deepEqual(opened.args, { name: "Opus" });
        await page.keyboard.press("Escape");
        await page.waitForFunction(() => !document.querySelector('[data-testid="about-dialog"]').open);
        assert.equal((await app.callsTo("about")).length, 1);
      });
    }
  });

  test("About is there before signing in too", async () => {
    await withApp({ view: signedOut(), responses: { about: ABOUT } }, async (app, page) => {
      await page.getByRole("button", { name: "About Candor" }).click();
      await page.getByRole("dialog", { name: "About Candor" }).getByText("Version 0.1.0").waitFor();
    });
  });

  test("Copy diagnostics copies the report and shows what was copied", async () => {
    await withApp({ view: authed(), responses: { about: ABOUT, copy_diagnostics: DIAGNOSTICS, diagnostics: DIAGNOSTICS } }, async (app, page) => {
      await page.getByRole("button", { name: "About Candor" }).click();
      const dialog = page.getByRole("dialog", { name: "About Candor" });
      await dialog.getByText("Version 0.1.0").waitFor();
      await dialog.getByText("It never includes your email, password or sign-in.", { exact: false }).waitFor();
      await dialog.getByRole("button", { name: "Copy diagnostics" }).click();
      await app.waitForCall("copy_diagnostics");
      await dialog.getByRole("button", { name: "Copied" }).waitFor();
      await page.getByRole("status").filter({ hasText: "Diagnostics copied" }).or(page.getByText("Diagnostics copied", { exact: false })).first().waitFor();
      await dialog.getByText("Show what is copied").click();
      const report = page.locator('[data-testid="diagnostics"]');
      await report.getByText("Debian GNU/Linux 12", { exact: false }).waitFor();
      assert.equal(await report.textContent(), DIAGNOSTICS, "exactly what the shell rendered");
      await app.shot("about-diagnostics", { fullPage: true });
    });
  });

  test("when the clipboard fails, the error is shown and the report is there to copy by hand", async () => {
    const problem = "Could not reach the clipboard: no X11 connection";
    await withApp({ view: authed(), responses: { about: ABOUT, diagnostics: DIAGNOSTICS }, errors: { copy_diagnostics: problem } }, async (app, page) => {
      await page.getByRole("button", { name: "About Candor" }).click();
      const dialog = page.getByRole("dialog", { name: "About Candor" });
      await dialog.getByText("Version 0.1.0").waitFor();
      await dialog.getByRole("button", { name: "Copy diagnostics" }).click();
      await page.getByRole("alert").filter({ hasText: problem }).waitFor();
      await app.waitForCall("diagnostics");
      const report = page.locator('[data-testid="diagnostics"]');
      await report.getByText("whisper-tiny-en", { exact: false }).waitFor();
      assert.equal(await page.locator(".diagnostics-preview").evaluate((d) => d.open), true);
      assert.equal(await dialog.getByRole("button", { name: "Copy diagnostics" }).isVisible(), true, "not marked as copied");
    });
  });
});

// ------------------------------------------------------------------ settings: speech recognition

describe("settings: speech recognition", () => {
  /** Opens Settings and waits for the speech models to be listed. */
  async function openModels(app, page) {
    await page.getByRole("button", { name: "Settings" }).click();
    await app.waitForCall("speech_models");
    const section = page.locator('[data-testid="speech-models"]');
    await section.locator(".model-row").first().waitFor();
    return section;
  }

  const row = (section, id) => section.locator(`.model-row[data-model="${id}"]`);

  test("without a source the download is disabled and the section says how to set one", async () => {
    for (const theme of ["light", "dark"]) {
      const responses = { get_settings: SETTINGS, list_devices: DEVICES, speech_models: speechModels({ source: null }) };
      await withApp({ view: authed(), theme, responses }, async (app, page) => {
        const section = await openModels(app, page);
        const reason = section.locator(".models-no-source");
        assert.equal(await reason.isVisible(), true);
        assert.match(await reason.innerText(), /No download source is set/);
        assert.match(await reason.innerText(), /CANDOR_MODEL_SOURCE/);
        assert.match(await text(page, ".models-status"), /No speech model is installed: .*written transcript/);
        const download = row(section, "whisper-tiny.en").getByRole("button", { name: /Download/ });
        assert.equal(await download.isDisabled(), true);
        assert.equal(await download.getAttribute("aria-describedby"), await reason.getAttribute("id"));
        assert.equal(await row(section, "whisper-base").getByRole("button", { name: /Download/ }).isDisabled(), true);
        assert.equal(await page.locator('.model-row progress').count(), 2, "bars exist but none shows");
        assert.equal(await page.locator('.model-progress:not([hidden])').count(), 0);
        await section.scrollIntoViewIfNeeded();
        await app.shot(`speech-models-no-source-${theme}`);
      });
    }
  });

  test("lists the catalog, downloads with progress, cancels, and shows a failed download's error", async () => {
    for (const theme of ["light", "dark"]) {
      const listed = speechModels({ tiny: INSTALLED, inUse: "whisper-tiny.en" });
      const responses = { get_settings: SETTINGS, list_devices: DEVICES, speech_models: listed };
      await withApp({ view: authed(), theme, responses }, async (app, page) => {
        const section = await openModels(app, page);
        assert.equal(await section.locator(".models-no-source").isVisible(), false);
        assert.equal(await page.getByLabel("Download source").inputValue(), MODEL_SOURCE);
        assert.equal(await text(page, ".models-status"), "In use: Whisper tiny.en.");
        const tiny = row(section, "whisper-tiny.en");
        assert.equal(await tiny.locator(".badge").innerText(), "IN USE");
        assert.match(await tiny.locator(".model-meta").innerText(), /English · 78 MB on disk/);
        assert.match(await tiny.innerText(), /Speed: fastest: about 0.3 s of processor time/);
        assert.match(await tiny.innerText(), /Accuracy: about 4 words in 100 wrong/);
        assert.equal(await tiny.getByRole("button", { name: "Use for interviews" }).count(), 0, "the model in use is not offered again");
        const base = row(section, "whisper-base");
        assert.match(await base.locator(".model-meta").innerText(), /148 MB download/);

        await base.getByRole("button", { name: "Download 148 MB" }).click();
        const call = await app.waitForCall("download_speech_model");
        assert.deepEqual(call.args, { id: "whisper-base" });
        await app.push({ type: "speechModels", models: speechModels({ tiny: INSTALLED, inUse: "whisper-tiny.en", base: { state: { state: "downloading", downloadedBytes: 0 } } }) });
        await app.push({ type: "modelDownload", id: "whisper-base", downloadedBytes: 36_970_736, totalBytes: 147_882_941 });
        const bar = base.getByRole("progressbar", { name: "Whisper base" });
        await bar.waitFor();
        await page.waitForFunction(() => document.querySelector('.model-row[data-model="whisper-base"] progress').value === 36_970_736);
        assert.equal(await base.locator(".model-bar-text").innerText(), "37 MB of 148 MB (25%)");
        assert.equal(await base.locator(".badge").innerText(), "DOWNLOADING");
        await base.scrollIntoViewIfNeeded();
        await app.shot(`speech-models-downloading-${theme}`);

        await base.getByRole("button", { name: "Cancel download" }).click();
        assert.deepEqual((await app.waitForCall("cancel_speech_model_download")).args, { id: "whisper-base" });
        const corrupt = "the downloaded model.bin of whisper-base is corrupt (expected SHA-256 d01c…, got 9f2a…); it was deleted — check the model source and download again";
        await app.push({ type: "speechModels", models: speechModels({ tiny: INSTALLED, inUse: "whisper-tiny.en", base: { error: corrupt } }) });
        const alert = base.getByRole("alert");
        await alert.waitFor();
        assert.match(await alert.innerText(), /is corrupt .* it was deleted/);
        assert.equal(await base.locator(".model-progress").isVisible(), false);
        assert.equal(await base.getByRole("button", { name: "Download 148 MB" }).isEnabled(), true, "it can be tried again");
        await base.scrollIntoViewIfNeeded();
        await app.shot(`speech-models-error-${theme}`);
      });
    }
  });

  test("a partial download resumes; delete asks first; choosing a model sends it", async () => {
    const listed = speechModels({ tiny: INSTALLED, inUse: "whisper-tiny.en", base: INSTALLED });
    const responses = { get_settings: SETTINGS, list_devices: DEVICES, speech_models: listed };
    await withApp({ view: authed(), responses }, async (app, page) => {
      const section = await openModels(app, page);
      const base = row(section, "whisper-base");
      assert.equal(await base.locator(".badge").innerText(), "INSTALLED");

      await base.getByRole("button", { name: "Delete" }).click();
      const confirm = base.getByRole("group", { name: "Confirm deletion" });
      await confirm.waitFor();
      assert.match(await confirm.innerText(), /Delete Whisper base\? This frees 148 MB/);
      assert.equal(await focusedText(page), "Keep it", "the safe answer has focus");
      await base.scrollIntoViewIfNeeded();
      await app.shot("speech-models-delete-confirm");
      await confirm.getByRole("button", { name: "Keep it" }).click();
      assert.equal(await confirm.isVisible(), false);
      assert.equal((await app.callsTo("delete_speech_model")).length, 0, "nothing is deleted without the confirmation");

      await base.getByRole("button", { name: "Delete" }).click();
      await confirm.getByRole("button", { name: "Delete" }).click();
      assert.deepEqual((await app.waitForCall("delete_speech_model")).args, { id: "whisper-base" });

      // The core refuses to delete the model in use mid-interview: the reason is shown.
      await app.setError("delete_speech_model", "The interview is using this model: delete it when the interview is over.");
      const tiny = row(section, "whisper-tiny.en");
      await tiny.getByRole("button", { name: "Delete" }).click();
      await tiny.getByRole("group", { name: "Confirm deletion" }).getByRole("button", { name: "Delete" }).click();
      await page.getByRole("alert").filter({ hasText: "The interview is using this model" }).waitFor();

      await base.getByRole("button", { name: "Use for interviews" }).click();
      assert.deepEqual((await app.waitForCall("choose_speech_model")).args, { id: "whisper-base" });
      await app.push({ type: "speechModels", models: speechModels({ tiny: INSTALLED, base: INSTALLED, inUse: "whisper-base" }) });
      await page.waitForFunction(() => document.querySelector(".models-status").textContent === "In use: Whisper base.");
      assert.equal(await tiny.getByRole("button", { name: "Use for interviews" }).count(), 1);

      await app.push({ type: "speechModels", models: speechModels({ tiny: { state: { state: "partial", downloadedBytes: 12_000_000 } } }) });
      const resume = tiny.getByRole("button", { name: "Resume download (12 MB kept)" });
      await resume.waitFor();
      await resume.click();
      assert.deepEqual((await app.waitForCall("download_speech_model")).args, { id: "whisper-tiny.en" });
      assert.match(await text(page, ".models-status"), /No speech model is installed/);
    });
  });

  test("the download source is set from the section, with the reason when it is refused", async () => {
    const responses = { get_settings: SETTINGS, list_devices: DEVICES, speech_models: speechModels({ source: "http://127.0.0.1:8000", fromEnvironment: true }) };
    await withApp({ view: authed(), responses }, async (app, page) => {
      const section = await openModels(app, page);
      assert.match(await section.innerText(), /Using http:\/\/127.0.0.1:8000 from CANDOR_MODEL_SOURCE/);
      const input = page.getByLabel("Download source");
      assert.equal(await input.inputValue(), "", "the environment's source is not a setting");
      await app.setError("set_speech_model_source", "The model source must be an http:// or https:// address: ftp://x");
      await input.fill("ftp://x");
      await input.press("Enter");
      await section.getByRole("alert").filter({ hasText: "must be an http://" }).waitFor();
      assert.equal(await input.getAttribute("aria-invalid"), "true");
      assert.equal((await app.callsTo("save_settings")).length, 0, "Enter sets the source, not the whole form");
      assert.equal(await page.locator("dialog").evaluate((d) => d.open), true);

      await page.evaluate(() => delete window.__candor.errors.set_speech_model_source);
      await input.fill(MODEL_SOURCE);
      await section.getByRole("button", { name: "Use source" }).click();
      const call = await app.waitForCall("set_speech_model_source", 2);
      assert.deepEqual(call.args, { source: MODEL_SOURCE });
      await page.getByRole("status").filter({ hasText: "Model source saved." }).waitFor();
      assert.equal(await input.getAttribute("aria-invalid"), null);
    });
  });

  test("with a hosted backend the section says the models wait for offline practice", async () => {
    const responses = { get_settings: SETTINGS, list_devices: DEVICES, speech_models: speechModels({ offlineInterviewer: false }) };
    await withApp({ view: authed(), responses }, async (app, page) => {
      const section = await openModels(app, page);
      await section.getByText("used when you practise offline").waitFor();
    });
  });
});

// ------------------------------------------------------------------ live screen: rendering cost

/**
 * What on the page makes the browser repaint while it moves: every running
 * animation or transition, every @keyframes an element (or its ::before /
 * ::after) uses, and every transition an element declares must touch only
 * transform and opacity, which the compositor animates without painting.
 * Controls (buttons, fields, links) are exempt from the declared-transition
 * and running-transition checks: theirs run on hover, focus and a press, not
 * while the interview runs. With
 * `noBackdrop`, no visible element may blur what is behind it.
 */
async function repaintingMotion(page, { noBackdrop = true } = {}) {
  return page.evaluate(async (noBackdrop) => {
    await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    const CHEAP = new Set(["transform", "opacity"]);
    const META = new Set(["offset", "computedOffset", "easing", "composite"]);
    const problems = [];
    const keyframes = new Map();
    const collect = (rules) => {
      for (const rule of rules) {
        if (rule instanceof CSSKeyframesRule) {
          const props = new Set();
          for (const frame of rule.cssRules) for (let i = 0; i < frame.style.length; i++) props.add(frame.style[i]);
          keyframes.set(rule.name, props);
        } else if (rule.cssRules) collect(rule.cssRules);
      }
    };
    for (const sheet of document.styleSheets) collect(sheet.cssRules);
    const name = (el, pseudo) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : ""}${pseudo ?? ""}`;

    const controls = "button, input, select, textarea, a, summary, label";
    for (const a of document.getAnimations()) {
      const target = a.effect?.target;
      if (a instanceof CSSTransition && !a.effect.pseudoElement && target?.closest(controls)) continue;
      const what = target ? name(target, a.effect.pseudoElement) : "?";
      for (const frame of a.effect?.getKeyframes() ?? []) {
        for (const prop of Object.keys(frame)) {
          if (!META.has(prop) && !CHEAP.has(prop)) problems.push(`running ${a.animationName ?? a.transitionProperty ?? "animation"} on ${what} animates ${prop}`);
        }
      }
    }
    for (const el of document.querySelectorAll("body *")) {
      for (const pseudo of [null, "::before", "::after"]) {
        const cs = getComputedStyle(el, pseudo);
        if (pseudo && cs.content === "none") continue;
        for (const anim of cs.animationName.split(",").map((s) => s.trim())) {
          if (anim === "none") continue;
          const props = keyframes.get(anim);
          if (!props) problems.push(`${name(el, pseudo)} uses unknown @keyframes ${anim}`);
          else for (const p of props) if (!CHEAP.has(p)) problems.push(`@keyframes ${anim} (on ${name(el, pseudo)}) animates ${p}`);
        }
        if (!pseudo && el.closest(controls)) continue;
        const props = cs.transitionProperty.split(",").map((s) => s.trim());
        const durations = cs.transitionDuration.split(",").map((s) => parseFloat(s));
        props.forEach((p, i) => {
          const d = durations[i % durations.length];
          if (d > 0 && p !== "none" && !CHEAP.has(p)) problems.push(`${name(el, pseudo)} has a ${d}s transition on ${p}`);
        });
      }
      if (noBackdrop && el.checkVisibility() && getComputedStyle(el).backdropFilter !== "none") {
        problems.push(`${name(el)} is visible with backdrop-filter ${getComputedStyle(el).backdropFilter}`);
      }
    }
    return [...new Set(problems)];
  }, noBackdrop);
}

/** Names of the animations running now, for checking a state really animates. */
async function runningAnimations(page) {
  return page.evaluate(() => document.getAnimations().map((a) => a.animationName ?? a.transitionProperty));
}

/** Waits up to a second for every animation and transition to end; returns those still running. */
async function stillWithinASecond(page) {
  return page.evaluate(async () => {
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      if (document.getAnimations().length === 0) return [];
      await new Promise((ok) => setTimeout(ok, 50));
    }
    return document.getAnimations().map((a) => a.animationName ?? a.transitionProperty);
  });
}

describe("live screen: rendering cost", () => {
  test("only transforms and opacity move, and nothing visible blurs its backdrop", async () => {
    await withApp({ view: authed({ state: "requestingPermissions", interviewId: "iv-9" }), reducedMotion: "no-preference" }, async (app, page) => {
      await page.locator(".stage-visual.pulse").waitFor();
      assert.ok((await runningAnimations(page)).includes("pulse"), "the microphone visual pulses");
      assert.deepEqual(await repaintingMotion(page), [], "asking for the microphone");

      await app.view(authed(LIVE));
      await page.locator('[data-screen="live"]').waitFor();
      await app.push({ type: "interviewer", activity: "speaking", questionIndex: 1, questionCount: 4 });
      await app.push({ type: "transcript", speaker: "interviewer", segmentId: 1, text: "Tell me about a project you're proud of.", isFinal: false, startMs: 500 });
      await page.locator('[data-testid="interviewer"][data-activity="speaking"]').waitFor();
      const speaking = await runningAnimations(page);
      assert.ok(speaking.includes("ring") && speaking.includes("blink"), `the interviewer's rings and the live dot run: ${speaking}`);
      assert.deepEqual(await repaintingMotion(page), [], "the interviewer speaking");

      await app.push({ type: "transcript", speaker: "interviewer", segmentId: 1, text: "Tell me about a project you're proud of.", isFinal: true, startMs: 500 });
      await app.push({ type: "interviewer", activity: "listening", questionIndex: 1, questionCount: 4 });
      for (const level of [0.3, 0.9, 0.5]) {
        await app.push({ type: "level", level, voice: true });
        await page.locator(`[data-testid="you"][data-level="${Math.round(level * 10)}"]`).waitFor();
        assert.deepEqual(await repaintingMotion(page), [], `the candidate speaking at ${level}`);
      }
      await app.push({ type: "stats", elapsedMs: 9000, uplinkKbps: 0, bufferedMs: 0, muted: true });
      await page.locator('[data-testid="you"][data-muted]').waitFor();
      assert.deepEqual(await repaintingMotion(page), [], "muted");
      await app.push({ type: "interviewer", activity: "thinking", questionIndex: 2, questionCount: 4 });
      await page.locator('[data-testid="interviewer"][data-activity="thinking"]').waitFor();
      assert.ok((await runningAnimations(page)).includes("think"), "the interviewer's avatar breathes while thinking");
      assert.deepEqual(await repaintingMotion(page), [], "the interviewer thinking");
      await app.view(authed({ state: "reconnecting", interviewId: "iv-9", sessionId: "s-1", attempt: 1, maxAttempts: 5 }));
      await page.locator('[data-testid="reconnecting"]').waitFor();
      assert.deepEqual(await repaintingMotion(page), [], "reconnecting");
    });
  });

  test("painted on the CPU, nothing moves for as long as a state lasts, and a level change is one step", async () => {
    await withApp({ view: authed({ state: "requestingPermissions", interviewId: "iv-9" }), reducedMotion: "no-preference", paint: "cpu" }, async (app, page) => {
      const still = async (what) => assert.deepEqual(await stillWithinASecond(page), [], `${what}: still running after a second`);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.paint), "cpu");
      await page.locator(".stage-visual.pulse").waitFor();
      await still("asking for the microphone");
      const pulse = await page.evaluate(() => getComputedStyle(document.querySelector(".stage-visual.pulse"), "::before").opacity);
      assert.ok(Number(pulse) > 0, `the microphone prompt still shows its halo at rest (opacity ${pulse})`);

      await app.view(authed(LIVE));
      await page.locator('[data-screen="live"]').waitFor();
      await app.push({ type: "interviewer", activity: "speaking", questionIndex: 1, questionCount: 4 });
      await page.locator('[data-testid="interviewer"][data-activity="speaking"]').waitFor();
      await still("the interviewer speaking");
      const rings = await page.evaluate(() => [...document.querySelectorAll('[data-testid="interviewer"] .ring')].map((r) => Number(getComputedStyle(r).opacity)));
      assert.ok(rings.length === 2 && rings.every((o) => o > 0), `the speaking rings show, still (opacities ${rings})`);

      await app.push({ type: "interviewer", activity: "listening", questionIndex: 1, questionCount: 4 });
      await page.locator('[data-testid="interviewer"][data-activity="listening"]').waitFor();
      await still("the interviewer listening");
      for (const level of [0.3, 0.9, 0.5]) {
        await app.push({ type: "level", level, voice: true });
        await page.locator(`[data-testid="you"][data-level="${Math.round(level * 10)}"]`).waitFor();
        assert.deepEqual(await page.evaluate(() => document.getAnimations().map((a) => `${a.transitionProperty ?? a.animationName} on ${a.effect.target.className}${a.effect.pseudoElement ?? ""}`)), [], `the level ${level} is drawn in one step`);
      }
      await app.push({ type: "interviewer", activity: "thinking", questionIndex: 2, questionCount: 4 });
      await page.locator('[data-testid="interviewer"][data-activity="thinking"]').waitFor();
      await still("the interviewer thinking");
    });
  });

  test("painted on the CPU, the level is drawn at most every 100 ms, as the loudest since its last draw", async () => {
    await withApp({ view: authed(LIVE), paint: "cpu", clock: true }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      await pauseClock(page);
      await page.evaluate(() => {
        const you = document.querySelector('[data-testid="you"]');
        window.__drawn = [];
        window.__pushed = [];
        // Under the paused clock a draw and a push can share a millisecond
        // (the frame grid's phase against the pushes' depends on when the
        // clock paused), so each record also keeps the order it happened in.
        window.__order = 0;
        new MutationObserver(() => window.__drawn.push({ at: performance.now(), order: window.__order++, step: Number(you.dataset.level) })).observe(you, { attributes: true, attributeFilter: ["data-level"] });
      });
      const push = (level) => page.evaluate((l) => {
        window.__pushed.push({ at: performance.now(), order: window.__order++, step: Math.round(l * 10) });
        window.__candor.push({ type: "level", level: l, voice: true });
      }, level);
      // 1. Levels every 10 ms for 400 ms: a floor
      // of 0.2 with a blip every 40 ms, each louder than the last, so every
      // draw shows a step the previous one did not, and none is the latest.
      await page.clock.runFor(1);
      for (let i = 0; i < 40; i++) {
        await push(i % 4 === 1 && i < 32 ? 0.3 + (i - 1) / 40 : 0.2);
        await page.clock.runFor(10);
      }
      await page.clock.runFor(150);
      // 2. Quiet again: the level comes down, it does not stick at the peak.
      await push(0.1);
      await page.clock.runFor(250);
      const { drawn, pushed } = await page.evaluate(() => ({ drawn: window.__drawn, pushed: window.__pushed }));
      const burst = drawn.filter((d) => d.at < pushed[39].at + 150);
      const gaps = burst.slice(1).map((d, i) => d.at - burst[i].at);
      assert.ok(burst.length >= 4 && burst.length <= 6, `a handful of draws for 40 levels over 400 ms: ${JSON.stringify(burst)}`);
      assert.ok(gaps.every((g) => g >= 100), `draws at least 100 ms apart: ${gaps.map((g) => g.toFixed(0))}`);
      for (const [i, d] of burst.entries()) {
        const since = pushed.filter((p) => p.order < d.order && (i === 0 || p.order > burst[i - 1].order));
        const loudest = Math.max(...since.map((p) => p.step));
        assert.equal(d.step, loudest, `draw ${i} at ${d.at.toFixed(0)} ms holds the loudest step heard since the last draw (${JSON.stringify(since)})`);
      }
      assert.ok(burst.some((d) => d.step > 2), "a blip between draws is drawn although the latest level is the floor");
      assert.equal(drawn.at(-1).step, 1, "a quiet level after the burst is drawn");
    });
  });

  test("the clock's tick lays out only the clock: its digits are drawn out of the flow, over room that keeps their width", async () => {
    await withApp({ view: authed(LIVE) }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      const look = () => page.evaluate(() => {
        const box = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; };
        // Where the glyphs are drawn (an inline box and a block differ in height).
        const glyphs = (el) => { const range = document.createRange(); range.selectNodeContents(el); return box(range); };
        const time = document.querySelector('[data-testid="elapsed"]');
        const room = document.querySelector(".elapsed-room");
        return { text: time.textContent, room: room.textContent, position: getComputedStyle(time).position,
          roomShown: getComputedStyle(room).visibility, time: glyphs(time), roomBox: glyphs(room),
          icon: box(document.querySelector(".live-top-right svg")), top: box(document.querySelector(".live-top")) };
      });
      for (const [ms, text, room] of [[65_000, "01:05", "00:00"], [3_725_000, "1:02:05", "0:00:00"]]) {
        await app.push({ type: "stats", elapsedMs: ms, uplinkKbps: 18, bufferedMs: 40, muted: false });
        await page.waitForFunction((t) => document.querySelector('[data-testid="elapsed"]').textContent === t, text);
        const l = await look();
        assert.equal(l.room, room, "the room is the clock's text with its digits as zeros");
        assert.equal(l.position, "absolute", "the digits are out of the flow: a tick lays out nothing else");
        assert.equal(l.roomShown, "hidden");
        assert.ok(Math.abs(l.time.x - l.roomBox.x) < 0.5 && Math.abs(l.time.y - l.roomBox.y) < 0.5, `the digits sit on their room: ${JSON.stringify(l)}`);
        assert.ok(Math.abs(l.time.w - l.roomBox.w) < 0.5, `tabular digits are as wide as the zeros kept for them (${text}): ${JSON.stringify(l)}`);
        assert.ok(l.icon.x + l.icon.w <= l.time.x, `the clock's icon stays left of its digits: ${JSON.stringify(l)}`);
        assert.ok(l.time.x + l.time.w <= l.top.x + l.top.w + 0.5, `the digits stay inside the top bar: ${JSON.stringify(l)}`);
      }
    });
  });

  test("in two columns the transcript is sized by its panel, never by its lines, so a new line lays out only the transcript; in one column it grows with them", async () => {
    for (const [viewport, contained] of [[{ width: 1100, height: 760 }, true], [{ width: 720, height: 560 }, false]]) {
      await withApp({ view: authed(LIVE), viewport }, async (app, page) => {
        await page.locator('[data-screen="live"]').waitFor();
        const box = () => page.evaluate(() => {
          const el = document.querySelector(".transcript-scroll");
          const r = el.getBoundingClientRect();
          return { h: r.height, contain: getComputedStyle(el).contain, scrolls: el.scrollHeight > el.clientHeight };
        });
        const heights = [];
        for (let i = 1; i <= 30; i++) {
          await app.push({ type: "transcript", speaker: i % 2 ? "interviewer" : "candidate", segmentId: i, text: "Tell me about a project you're proud of, and what you did in it.", isFinal: true, startMs: 500 * i });
          if (i === 1 || i === 30) {
            await page.locator(`[data-segment="${i}"]`).waitFor();
            heights.push(await box());
          }
        }
        const [one, many] = heights;
        assert.ok(many.scrolls, `thirty lines scroll (${viewport.width}×${viewport.height})`);
        if (contained) {
          assert.match(one.contain, /size/, "two columns: the transcript's lines do not size it");
          assert.equal(many.h, one.h, "two columns: the transcript keeps its panel's height whatever it holds");
        } else {
          assert.equal(one.contain, "none");
          assert.ok(many.h > one.h, `one column: the transcript grows with its lines (${one.h} → ${many.h} px)`);
        }
      });
    }
  });

  test("painted on the CPU, transcript text is drawn with the clock's tick, or at most a second after it arrived", async () => {
    await withApp({ view: authed(LIVE), paint: "cpu", clock: true }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      await pauseClock(page);
      await page.evaluate(() => {
        const list = document.querySelector('[data-testid="transcript"]');
        const clock = document.querySelector('[data-testid="elapsed"]');
        window.__drawn = [];
        const observer = new MutationObserver(() => window.__drawn.push({ at: performance.now(), text: list.textContent, clock: clock.textContent }));
        observer.observe(list, { subtree: true, childList: true, characterData: true });
        observer.observe(clock, { subtree: true, childList: true, characterData: true });
      });
      const drawn = () => page.evaluate(() => window.__drawn.splice(0));
      const now = () => page.evaluate(() => performance.now());
      // 1. The interviewer's words, one every 60 ms, then the clock ticks.
      const words = "Tell me about a time you had to decide quickly".split(" ");
      for (let i = 1; i <= words.length; i++) {
        await app.push({ type: "transcript", speaker: "interviewer", segmentId: 7, text: words.slice(0, i).join(" "), isFinal: false, startMs: 1000 });
        await page.clock.runFor(60);
      }
      assert.deepEqual((await drawn()).filter((w) => w.text.includes("Tell")), [], "no word is drawn before the tick");
      await app.push({ type: "stats", elapsedMs: 5_000, uplinkKbps: 18, bufferedMs: 40, muted: false });
      await page.clock.runFor(50);
      const atTick = await drawn();
      const withText = atTick.filter((w) => w.text.includes("decide quickly"));
      assert.ok(withText.length >= 1 && withText.every((w) => w.clock === "00:05"), `the words are drawn with the tick, the latest at once: ${JSON.stringify(atTick)}`);
      // 2. No tick: the text is drawn a second after it came, not before.
      await app.push({ type: "transcript", speaker: "candidate", segmentId: 8, text: "Sure.", isFinal: true, startMs: 9000 });
      const sent = await now();
      await page.clock.runFor(950);
      assert.deepEqual((await drawn()).filter((w) => w.text.includes("Sure.")), [], "not drawn before a second has passed");
      await page.clock.runFor(100);
      const late = (await drawn()).filter((w) => w.text.includes("Sure."));
      assert.ok(late.length >= 1 && late[0].at - sent >= 1000 && late[0].at - sent <= 1050, `without a tick the text is drawn a second after it came: ${JSON.stringify(late.map((w) => w.at - sent))}`);
    });
  });

  test("painted on the CPU, the shadows are baked when the stylesheet arrives after the page's script has run", async () => {
    await withApp({ view: authed(LIVE), paint: "cpu", lateStylesheet: true }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor({ state: "attached" });
      assert.equal(await page.evaluate(() => document.documentElement.dataset.shadowImage), undefined, "without the stylesheet there is no shadow to bake");
      await app.addStylesheet();
      await page.waitForFunction(() => document.documentElement.dataset.shadowImage === "");
      const tile = await page.evaluate(() => {
        const el = document.querySelector(".tile-interviewer");
        return { boxShadow: getComputedStyle(el).boxShadow, image: getComputedStyle(el, "::before").borderImageSource.slice(0, 27) };
      });
      assert.deepEqual(tile, { boxShadow: "none", image: 'url("data:image/png;base64,' }, "the tile draws the baked shadow, not a blurred one");
    });
  });

  test("the sign-in and live screens have nothing to scroll at the window's size, baked shadows included", async () => {
    // A page that scrolls has a scrollbar, and WebKitGTK fades an overlay
    // scrollbar in and out (a repaint at each of 60 steps a second, for
    // four seconds) at each screen change, scroll or move of the pointer.
    for (const [screen, view] of [["auth", signedOut()], ["live", authed(LIVE)]]) {
      for (const paint of ["gpu", "cpu"]) {
        await withApp({ view, paint }, async (app, page) => {
          await page.locator(`[data-screen="${screen}"]`).waitFor();
          if (paint === "cpu") await page.waitForFunction(() => document.documentElement.dataset.shadowImage === "");
          const overflow = await page.evaluate(() => {
            const d = document.documentElement;
            return { x: d.scrollWidth - d.clientWidth, y: d.scrollHeight - d.clientHeight };
          });
          assert.deepEqual(overflow, { x: 0, y: 0 }, `painted on the ${paint}, the ${screen} screen fits 1100×760`);
        });
      }
    }
  });

  test("painted on the CPU, cards' shadows and the candidate's glow are baked images that look as the blurred ones do, in both themes", async () => {
    await withApp({ view: authed(LIVE), paint: "cpu" }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      const shadows = () => page.evaluate(() => [".tile-interviewer", ".tile-you", ".transcript-panel", ".controls"].map((sel) => {
        const el = document.querySelector(sel);
        return { sel, boxShadow: getComputedStyle(el).boxShadow, image: getComputedStyle(el, "::before").borderImageSource.slice(0, 27) };
      }));
      for (const s of await shadows()) {
        assert.equal(s.boxShadow, "none", `${s.sel} blurs no shadow of its own`);
        assert.equal(s.image, 'url("data:image/png;base64,', `${s.sel} draws the baked shadow`);
      }
      // The interviewer tile's lower corner with the gap around it, baked and
      // blurred (the attribute off brings back the box-shadow).
      const corner = async () => {
        const box = await page.locator(".tile-interviewer").boundingBox();
        return page.screenshot({ clip: { x: box.x + box.width - 60, y: box.y + box.height - 40, width: 90, height: 70 } });
      };
      const differ = async (shot = corner) => {
        const baked = await shot();
        await page.evaluate(() => delete document.documentElement.dataset.shadowImage);
        assert.notEqual((await shadows())[0].boxShadow, "none", "the blurred shadow is back");
        const blurred = await shot();
        await page.evaluate(() => (document.documentElement.dataset.shadowImage = ""));
        return page.evaluate(async ([a, b]) => {
          const pixels = async (bytes) => {
            const img = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: "image/png" }));
            const c = new OffscreenCanvas(img.width, img.height);
            const g = c.getContext("2d");
            g.drawImage(img, 0, 0);
            return g.getImageData(0, 0, img.width, img.height).data;
          };
          const [pa, pb] = [await pixels(a), await pixels(b)];
          let most = 0;
          let shaded = 0;
          for (let i = 0; i < pa.length; i++) {
            most = Math.max(most, Math.abs(pa[i] - pb[i]));
            if (i % 4 !== 3 && pb[i] < 250) shaded++;
          }
          return { most, shaded };
        }, [[...baked], [...blurred]]);
      };
      const light = await differ();
      assert.ok(light.shaded > 100, `the corner holds a visible shadow (${light.shaded} shaded channels)`);
      assert.ok(light.most <= 12, `baked and blurred shadows differ by at most 12/255 per channel (light: ${light.most})`);

      // The candidate's glow at full level, baked and blurred.
      await app.push({ type: "level", level: 1, voice: true });
      await page.locator('[data-testid="you"][data-level="10"]').waitFor();
      assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector(".tile-you .avatar-wrap"), "::before").boxShadow), "none", "the glow blurs nothing");
      const orb = async () => {
        const box = await page.locator(".tile-you .mic-orb").boundingBox();
        return page.screenshot({ clip: { x: box.x - 70, y: box.y - 70, width: box.width + 140, height: box.height + 140 } });
      };
      const glow = await differ(orb);
      assert.ok(glow.shaded > 1000, `the glow is visible (${glow.shaded} shaded channels)`);
      assert.ok(glow.most <= 12, `baked and blurred glows differ by at most 12/255 per channel (light: ${glow.most})`);

      const before = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--shadow-image"));
      await page.getByRole("button", { name: "Switch to dark theme" }).click();
      await page.waitForFunction((old) => getComputedStyle(document.documentElement).getPropertyValue("--shadow-image") !== old, before);
      const dark = await differ();
      assert.ok(dark.most <= 12, `baked and blurred shadows differ by at most 12/255 per channel (dark: ${dark.most})`);
      const darkGlow = await differ(orb);
      assert.ok(darkGlow.most <= 12, `baked and blurred glows differ by at most 12/255 per channel (dark: ${darkGlow.most})`);
    });
    await withApp({ view: authed(LIVE) }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.shadowImage), undefined, "told nothing, nothing is baked");
      assert.notEqual(await page.evaluate(() => getComputedStyle(document.querySelector(".tile-you")).boxShadow), "none", "told nothing, cards blur their shadow");
    });
  });

  test("told nothing about painting (a browser, macOS, Windows), the page animates as designed", async () => {
    await withApp({ view: authed(LIVE), reducedMotion: "no-preference" }, async (app, page) => {
      assert.equal(await page.evaluate(() => document.documentElement.dataset.paint), "gpu");
      await page.locator('[data-screen="live"]').waitFor();
      assert.ok((await runningAnimations(page)).includes("blink"), "the live dot blinks");
    });
  });

  test("the dashboard's loading skeletons and the ending overlay move only transforms and opacity, and blur nothing", async () => {
    await withApp({ view: authed({ state: "idle" }, { state: "loading", previous: null }), reducedMotion: "no-preference" }, async (app, page) => {
      await page.locator(".history .skeleton").first().waitFor();
      assert.ok((await runningAnimations(page)).includes("shimmer"), "the skeletons shimmer");
      assert.deepEqual(await repaintingMotion(page), [], "the history loading");

      await app.view(authed(LIVE));
      await page.locator('[data-screen="live"]').waitFor();
      await app.view(authed({ state: "ending", interviewId: "iv-9" }));
      await page.locator('[data-testid="ending"]').waitFor({ state: "visible" });
      assert.ok((await runningAnimations(page)).includes("spin"), "the ending spinner turns");
      assert.deepEqual(await repaintingMotion(page), [], "ending, under the overlay");
    });
  });

  test("no @keyframes in the style sheet animates anything but transforms and opacity, and no rule blurs a backdrop", async () => {
    await withApp({ view: signedOut() }, async (app, page) => {
      const problems = await page.evaluate(() => {
        const CHEAP = new Set(["transform", "opacity"]);
        const found = [];
        const walk = (rules) => {
          for (const rule of rules) {
            if (rule instanceof CSSKeyframesRule) {
              for (const frame of rule.cssRules)
                for (let i = 0; i < frame.style.length; i++)
                  if (!CHEAP.has(frame.style[i])) found.push(`@keyframes ${rule.name} animates ${frame.style[i]}`);
            } else {
              const filter = rule.style?.getPropertyValue("backdrop-filter") || rule.style?.getPropertyValue("-webkit-backdrop-filter");
              if (filter && filter !== "none") found.push(`${rule.selectorText} has backdrop-filter ${filter}`);
              if (rule.cssRules) walk(rule.cssRules);
            }
          }
        };
        for (const sheet of document.styleSheets) walk(sheet.cssRules);
        return found;
      });
      assert.deepEqual(problems, []);
    });
  });

  test("a batch of events from the core is handled in order", async () => {
    await withApp({ view: authed({ state: "connecting", interviewId: "iv-9", attempt: 1, maxAttempts: 5 }) }, async (app, page) => {
      await page.getByRole("heading", { level: 1, name: "Connecting to your interviewer…" }).waitFor();
      await page.evaluate(([live, reconnecting]) => window.__candor.pushBatch([
        { type: "view", view: live },
        { type: "interviewer", activity: "speaking", questionIndex: 1, questionCount: 4 },
        { type: "transcript", speaker: "interviewer", segmentId: 1, text: "Tell me about a project you're proud of.", isFinal: true, startMs: 500 },
        { type: "level", level: 0.4, voice: false },
        { type: "view", view: reconnecting },
      ]), [authed(LIVE), authed({ state: "reconnecting", interviewId: "iv-9", sessionId: "s-1", attempt: 1, maxAttempts: 5 })]);
      await page.locator('[data-testid="reconnecting"]').waitFor();
      await page.getByText("Question 1 of 4").waitFor();
      await page.locator('[data-segment="1"]').waitFor();
      await page.locator('[data-testid="you"][data-level="4"]').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.state), "authenticated/reconnecting");
    });
  });

  test("a burst of levels and transcript text makes at most one write per animation frame", async () => {
    await withApp({ view: authed(LIVE), reducedMotion: "no-preference" }, async (app, page) => {
      await page.locator('[data-screen="live"]').waitFor();
      await app.push({ type: "transcript", speaker: "candidate", segmentId: 7, text: "So", isFinal: false, startMs: 100 });
      await page.locator('[data-segment="7"]').waitFor();

      const writes = await page.evaluate(async () => {
        const nextFrame = () => new Promise((ok) => requestAnimationFrame(ok));
        // A frame counter whose callback runs first in every frame, before the
        // screen's own (it re-registers during the previous frame's callbacks).
        let frame = 0;
        let counting = true;
        const tick = () => {
          frame++;
          if (counting) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
        await nextFrame();
        const log = [];
        const observer = new MutationObserver((records) => {
          for (const r of records) {
            const el = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
            const what = el.closest("[data-segment]") ? "line" : el.matches(".meter i") ? `bar${[...el.parentElement.children].indexOf(el)}` : r.attributeName;
            log.push({ frame, what });
          }
        });
        observer.observe(document.querySelector('[data-screen="live"]'), { attributes: true, attributeFilter: ["class", "data-level", "aria-valuenow"], childList: true, characterData: true, subtree: true });
        const { push } = window.__candor;
        // 1. Forty levels and twenty transcript updates within one task.
        for (let i = 1; i <= 40; i++) {
          push({ type: "level", level: ((i % 10) + 1) / 10, voice: true });
          if (i % 2 === 0) push({ type: "transcript", speaker: "candidate", segmentId: 7, text: `So ${"word ".repeat(i / 2)}`, isFinal: false, startMs: 100 });
        }
        await nextFrame();
        await nextFrame();
        const oneTask = log.splice(0);
        const oneTaskLevel = document.querySelector('[data-testid="you"]').dataset.level;
        // 2. Forty levels, each in its own task, spread over several frames.
        for (let i = 1; i <= 40; i++) {
          push({ type: "level", level: (i % 11) / 10, voice: true });
          await new Promise((ok) => setTimeout(ok, 1));
        }
        await nextFrame();
        await nextFrame();
        const spread = log.splice(0);
        // 3. One step up lights exactly one more bar.
        push({ type: "level", level: 0.5, voice: true });
        await nextFrame();
        await nextFrame();
        log.splice(0);
        push({ type: "level", level: 0.6, voice: true });
        await nextFrame();
        await nextFrame();
        const step = log.splice(0);
        observer.disconnect();
        counting = false;
        return { oneTask, oneTaskLevel, spread, step, level: document.querySelector('[data-testid="you"]').dataset.level, text: document.querySelector('[data-segment="7"] .line-text').textContent };
      });

      const perFrame = (log, what) => {
        const counts = new Map();
        for (const w of log) if (what(w.what)) counts.set(w.frame, (counts.get(w.frame) ?? 0) + 1);
        return [...counts.values()];
      };
      const meter = (w) => w === "aria-valuenow";
      assert.deepEqual(perFrame(writes.oneTask, meter), [1], "one burst in one task: one meter write");
      assert.deepEqual(perFrame(writes.oneTask, (w) => w === "data-level"), [1], "and one level step on the tile");
      assert.equal(new Set(writes.oneTask.filter((w) => w.what === "line").map((w) => w.frame)).size, 1, "the transcript line is rewritten in one frame");
      assert.ok(writes.spread.length > 0, "levels spread over frames are drawn");
      assert.ok(perFrame(writes.spread, meter).every((n) => n === 1), `at most one meter write per frame: ${JSON.stringify(perFrame(writes.spread, meter))}`);
      for (let bar = 0; bar < 12; bar++) {
        assert.ok(perFrame(writes.spread, (w) => w === `bar${bar}`).every((n) => n === 1), `bar ${bar} changes at most once per frame`);
      }
      assert.deepEqual(writes.step.filter((w) => w.what.startsWith("bar")).map((w) => w.what), ["bar6"], "0.5 → 0.6 lights one bar, touches no other");
      assert.equal(writes.level, "6");
      assert.equal(writes.oneTaskLevel, "1", "the burst ends at its last level");
      assert.equal(writes.text, `So ${"word ".repeat(20)}`);
    });
  });
});
