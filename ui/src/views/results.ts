// The feedback page (resultsReady).
import { columns, fitted, gauge, pauses, talkSplit, timeline } from "../charts";
import type { Ctx } from "../context";
import { h } from "../dom";
import { icon } from "../icons";
import type { OverallMetrics, Results, View } from "../ipc/contract";
import { clock, dateTime, duration, percent, plural, roleLabel, round1, scoreBand, seniorityLabel } from "../format";
import { attemptsTable, retryButton } from "./attempts";
import { deleteControl, exportButton } from "./interview-actions";
import { exchangeOf, replayPlayer } from "./replay";
import type { Screen } from "./screen";

interface Metric {
  key: string;
  label: string;
  value: string;
  explanation: string;
  tone?: "good" | "fair" | "low" | "none";
}

function metrics(m: OverallMetrics): Metric[] {
  const out: Metric[] = [];
  const ratio = m.talkTimeRatio;
  out.push({
    key: "talk",
    label: "Your share of talking",
    value: percent(ratio),
    tone: ratio >= 0.55 && ratio <= 0.8 ? "good" : ratio >= 0.4 ? "fair" : "low",
    explanation:
      `You spoke for ${duration(m.candidateSpeakingSec)}, the interviewer for ${duration(m.interviewerSpeakingSec)}. ` +
      (ratio < 0.4
        ? "Candidates usually do most of the talking (about 55–80%). Give fuller answers with a concrete example."
        : ratio > 0.8
          ? "That is a lot of talking; leave room for the interviewer's follow-up questions."
          : "A healthy balance: in a good interview the candidate does most of the talking."),
  });
  if (m.averageResponseLatencySec !== null) {
    const l = m.averageResponseLatencySec;
    out.push({
      key: "latency",
      label: "Time to start answering",
      value: `${round1(l)} s`,
      tone: l <= 3 ? "good" : l <= 6 ? "fair" : "low",
      explanation:
        `On average you began answering ${round1(l)} s after a question ended. ` +
        (l <= 3 ? "A brief pause to think comes across as composed." : "Long silences can read as uncertainty; saying “Let me think about that for a moment” buys time."),
    });
  }
  const mono = m.longestMonologueSec;
  out.push({
    key: "monologue",
    label: "Longest answer without a break",
    value: duration(mono),
    tone: mono <= 150 ? "good" : mono <= 240 ? "fair" : "low",
    explanation:
      mono <= 150
        ? "Your longest stretch stayed under 2½ minutes, which keeps a listener with you."
        : "Answers longer than 2–3 minutes risk losing the listener. Lead with the point, then add detail if asked.",
  });
  out.push({
    key: "interruptions",
    label: "Interruptions",
    value: String(m.interruptions),
    tone: m.interruptions === 0 ? "good" : m.interruptions <= 2 ? "fair" : "low",
    explanation:
      m.interruptions === 0
        ? "You never talked over the interviewer."
        : `You started talking while the interviewer was still speaking ${plural(m.interruptions, "time")}. Let each question finish before answering.`,
  });
  out.push(
    m.wordsPerMinute !== null
      ? {
          key: "pace",
          label: "Pace",
          value: `${Math.round(m.wordsPerMinute)} wpm`,
          tone: m.wordsPerMinute >= 120 && m.wordsPerMinute <= 160 ? "good" : m.wordsPerMinute >= 100 && m.wordsPerMinute <= 180 ? "fair" : "low",
          explanation:
            `You spoke at about ${Math.round(m.wordsPerMinute)} words per minute. Most listeners find 120–160 comfortable` +
            (m.wordsPerMinute > 160 ? "; slow down a little and pause between points." : m.wordsPerMinute < 120 ? "; a little more energy will help." : "; you were right in that band."),
        }
      : {
          key: "pace",
          label: "Pace",
          value: "—",
          tone: "none",
          explanation: "Pace needs a written transcript of your answers. The offline practice interviewer doesn't make one; the AI interviewer does.",
        },
  );
  out.push(
    m.fillerWords !== null
      ? {
          key: "fillers",
          label: "Filler words",
          value: String(m.fillerWords),
          tone: perMinute(m.fillerWords, m.candidateSpeakingSec) <= 2 ? "good" : perMinute(m.fillerWords, m.candidateSpeakingSec) <= 5 ? "fair" : "low",
          explanation:
            `You said “um”, “uh”, “like” and similar ${plural(m.fillerWords, "time")}, about ${round1(perMinute(m.fillerWords, m.candidateSpeakingSec))} a minute. ` +
            "A few are natural; a silent pause sounds more confident than a filler.",
        }
      : {
          key: "fillers",
          label: "Filler words",
          value: "—",
          tone: "none",
          explanation: "Counting filler words needs a written transcript of your answers, which the offline practice interviewer doesn't make.",
        },
  );
  return out;
}

function perMinute(n: number, sec: number): number {
  return sec > 0 ? (n * 60) / sec : 0;
}

const ENGINE_LABEL: Record<string, string> = { practice: "Practice interviewer (offline)", gemini: "AI interviewer" };

export function resultsScreen(ctx: Ctx, results: Results): Screen {
  const r = results;
  const retry = r.retryOf;
  const heading = h("h1", { tabindex: "-1" }, retry ? "Your feedback on answering again" : "Your interview feedback");

  const back = h("button", { class: "button secondary", type: "button", onclick: () => void ctx.act("dismiss") }, icon("arrowLeft"), "Back to dashboard");
  const again = h("button", { class: "button primary", type: "button", onclick: startAnother }, icon("play"), "Start another");

  async function startAnother(): Promise<void> {
    // A retry's single question is no guide to the next interview's length.
    const setup = ctx.lastSetup && ctx.lastSetup.role === r.role && !ctx.lastSetup.retry ? ctx.lastSetup
      : { role: r.role, seniority: r.seniority, jobDescription: null, cvText: null, questionCount: retry ? 5 : Math.max(1, r.questionsPlanned), retry: null };
    again.disabled = true;
    back.disabled = true;
    ctx.lastSetup = setup;
    if (await ctx.tryAct("dismiss")) await ctx.tryAct("start_interview", { setup });
    again.disabled = false;
    back.disabled = false;
  }

  const remove = deleteControl(ctx, r.interviewId, "this interview");
  const head = h("header", { class: "page-head results-head" },
    h("div", null,
      heading,
      h("p", { class: "lede" }, `${roleLabel(r.role)} · ${seniorityLabel(r.seniority)}`),
      h("p", { class: "meta" },
        h("span", null, dateTime(r.completedAt)),
        h("span", null, icon("clock"), duration(r.durationSec)),
        h("span", { "data-testid": "questions-asked" }, r.questions.length < r.questionsPlanned
          ? `${r.questions.length} of ${plural(r.questionsPlanned, "question")}`
          : plural(r.questions.length, "question")),
        h("span", null, ENGINE_LABEL[r.engine] ?? r.engine))),
    h("div", { class: "head-actions" }, remove.button, exportButton(ctx, r), back, again));

  // A retry opens with its question and the attempts at it side by side.
  const sideBySide = retry
    ? h("section", { class: "results-section", "aria-labelledby": "again-title", "data-testid": "retry-of" },
        h("h2", { id: "again-title" }, "Answering again"),
        h("div", { class: "card again-card" },
          h("p", { class: "again-question" }, retry.question),
          attemptsTable(ctx, r.attempts, retry.questionIndex, r.interviewId)
            ?? h("p", { class: "muted" }, "Your earlier answer is no longer stored (its interview was deleted), so there is nothing to compare this one with."),
          h("p", { class: "muted small" }, "Changes are against your first answer: green where it moved the way interviewers like, amber where it did not.")))
    : null;

  const scores = h("section", { class: "results-section", "aria-labelledby": "scores-title" },
    h("h2", { id: "scores-title" }, r.assessment ? "Measured scores" : "Scores"),
    r.scores.length === 0
      ? h("p", { class: "muted" }, "No scores were produced for this interview.")
      : h("ul", { class: "score-grid" }, r.scores.map((sc) =>
          h("li", { class: `card score-card band-${scoreBand(sc.score)}`, "data-key": sc.key },
            gauge(sc.score, sc.label),
            h("div", null, h("h3", null, sc.label), h("p", null, sc.explanation))))));

  const a = r.assessment;
  const assessment = a
    ? h("section", { class: "results-section", "aria-labelledby": "assessment-title", "data-testid": "assessment" },
        h("h2", { id: "assessment-title" }, "The interviewer's assessment"),
        h("div", { class: "card assessment" },
          h("p", { class: "assessment-summary" }, a.summary),
          a.scores.length > 0
            ? h("ul", { class: "assessment-scores" }, a.scores.map((sc) =>
                h("li", { class: `band-${scoreBand(sc.score)}` },
                  h("span", { class: "assessment-score" }, String(sc.score)),
                  h("div", null, h("h3", null, sc.label), h("p", null, sc.reason)))))
            : null,
          h("div", { class: "assessment-lists" },
            a.strengths.length > 0 ? h("div", null, h("h3", null, "What went well"), h("ul", null, a.strengths.map((t) => h("li", null, t)))) : null,
            a.improvements.length > 0 ? h("div", null, h("h3", null, "What to work on"), h("ul", null, a.improvements.map((t) => h("li", null, t)))) : null),
          a.weakestAnswer
            ? h("div", { class: "better-answer" },
                h("h3", null, "A stronger answer"),
                h("p", { class: "muted" }, a.weakestAnswer.question),
                h("p", null, a.weakestAnswer.why),
                h("blockquote", null, a.weakestAnswer.betterAnswer))
            : null,
          h("p", { class: "muted small" }, `Written by ${a.model} from the transcript.`)))
    : null;
  const unavailable = !a && r.assessmentUnavailable
    ? h("p", { class: "banner banner-info", role: "note", "data-testid": "assessment-unavailable" },
        `No written assessment this time: ${r.assessmentUnavailable} The scores below come from the measured metrics.`)
    : null;

  const metricCards = h("section", { class: "results-section", "aria-labelledby": "metrics-title" },
    h("h2", { id: "metrics-title" }, "At a glance"),
    h("ul", { class: "metric-grid" }, metrics(r.overall).map((m) =>
      h("li", { class: `card metric tone-${m.tone ?? "none"}`, "data-key": m.key },
        h("p", { class: "metric-label" }, m.label),
        h("p", { class: "metric-value" }, m.value),
        h("p", { class: "metric-explain" }, m.explanation)))));

  const qs = [...r.questions].sort((a, b) => a.index - b.index);
  const player = replayPlayer(r.interviewId);
  // With both voices recorded, a question plays as the exchange it was —
  // from the interviewer asking it to the next question — in the whole
  // interview's recording; without, the candidate's answer plays alone.
  const playQuestion = (index: number): void => {
    const exchange = r.interviewerVoice ? exchangeOf(r.transcript, index) : null;
    if (exchange) player.playExchange(index, exchange.fromSec, exchange.toSec);
    else player.playAnswer(index);
  };
  const charts = h("section", { class: "results-section", "aria-labelledby": "charts-title" },
    h("h2", { id: "charts-title" }, "How the conversation went"),
    h("div", { class: "chart-grid" },
      h("figure", { class: "card chart-card wide", "data-chart": "talk" },
        h("figcaption", null, h("h3", null, "Who did the talking"),
          h("p", { class: "muted" }, "The bar splits the speaking time; the timeline below shows each stretch of speech. Most of the time should be in your lane, with short gaps after each question.")),
        fitted((w) => talkSplit(r.overall.candidateSpeakingSec, r.overall.interviewerSpeakingSec, w), 1000),
        h("div", { class: "legend-row" }, h("span", { class: "key key-you" }, "You"), h("span", { class: "key key-interviewer" }, "Interviewer")),
        r.transcript.length > 0 ? fitted((w) => timeline(r.transcript, r.durationSec, w), 1000) : null),
      qs.length > 0
        ? h("figure", { class: "card chart-card", "data-chart": "answers" },
            h("figcaption", null, h("h3", null, "Length of each answer"),
              h("p", { class: "muted" }, "The shaded band (1–2 minutes) is where most strong answers land.")),
            fitted((w) => columns(w, qs.map((q) => ({ label: `Q${q.index}`, value: q.answerSec, display: clock(q.answerSec) })),
              `Answer length per question: ${qs.map((q) => `question ${q.index} ${duration(q.answerSec)}`).join(", ")}`,
              { from: 60, to: 120, label: "1–2 min" }), 480))
        : null,
      qs.length > 0
        ? h("figure", { class: "card chart-card", "data-chart": "pauses" },
            h("figcaption", null, h("h3", null, "Pauses while answering"),
              h("p", { class: "muted" }, "Bars show the longest pause in each answer; pauses of 5 s or more are highlighted.")),
            fitted((w) => pauses(w, qs.map((q) => ({ label: `Q${q.index}`, pauses: q.pauses, longestSec: q.longestPauseSec })),
              `Pauses per question: ${qs.map((q) => `question ${q.index}: ${q.pauses} pauses, longest ${round1(q.longestPauseSec)} seconds`).join("; ")}`), 480))
        : null));

  const perQuestion = h("section", { class: "results-section", "aria-labelledby": "questions-title" },
    h("h2", { id: "questions-title" }, "Question by question"),
    qs.length === 0
      ? h("p", { class: "muted" }, "No questions were answered.")
      : h("ol", { class: "question-list" }, qs.map((q) =>
          h("li", { class: "card question-card", "data-index": String(q.index) },
            h("div", { class: "question-head" }, h("span", { class: "q-index" }, `Q${q.index}`), h("h3", null, q.question)),
            h("ul", { class: "chips", "aria-label": "Numbers for this answer" },
              h("li", { class: "chip" }, h("span", { class: "chip-label" }, "Answer"), clock(q.answerSec)),
              q.responseLatencySec !== null ? h("li", { class: "chip" }, h("span", { class: "chip-label" }, "Started after"), `${round1(q.responseLatencySec)} s`) : null,
              h("li", { class: "chip" }, h("span", { class: "chip-label" }, "Pauses"), String(q.pauses)),
              q.pauses > 0 ? h("li", { class: "chip" }, h("span", { class: "chip-label" }, "Longest pause"), `${round1(q.longestPauseSec)} s`) : null),
            q.note ? h("p", { class: "question-note" }, q.note) : null,
            retry ? null : attemptsTable(ctx, r.attempts, q.index, r.interviewId),
            h("div", { class: "question-actions" },
              q.answerSec > 0
                ? h("button", { class: "button ghost small play-answer", type: "button", "data-action": "play-answer", onclick: () => playQuestion(q.index) },
                    icon("play"), r.interviewerVoice ? `Play question ${q.index} and your answer` : `Play answer ${q.index}`)
                : null,
              retryButton(ctx, r, q.index))))));

  const terms = r.jobTerms;
  const yourWords = terms || r.mostUsedWords.length > 0
    ? h("section", { class: "results-section", "aria-labelledby": "words-title", "data-testid": "your-words" },
        h("h2", { id: "words-title" }, "Your words"),
        h("div", { class: "card words-card" },
          terms
            ? h("div", { class: "words-group", "data-group": "job-terms" },
                h("h3", null, "Terms from the job description"),
                h("p", { class: "muted" },
                  `You used ${terms.used.length} of the ${terms.used.length + terms.missing.length} key terms of the job description. ` +
                  "Interviewers listen for them: work the missing ones into an example."),
                h("ul", { class: "chips", "aria-label": "Key terms you used" },
                  terms.used.map((t) => h("li", { class: "chip chip-good" }, icon("check"), t))),
                terms.missing.length > 0
                  ? h("ul", { class: "chips", "aria-label": "Key terms you did not use" },
                      terms.missing.map((t) => h("li", { class: "chip chip-missing" }, t)))
                  : null)
            : null,
          r.mostUsedWords.length > 0
            ? h("div", { class: "words-group", "data-group": "most-used" },
                h("h3", null, "Your most used words"),
                h("ul", { class: "chips", "aria-label": "Your most used words" },
                  r.mostUsedWords.map((w) => h("li", { class: "chip" }, h("span", { class: "chip-label" }, `×${w.count}`), w.word))))
            : null))
    : null;

  const lineEls = r.transcript.map((l, i) =>
    h("li", { class: `line line-${l.speaker} ${i > 0 && r.transcript[i - 1]!.speaker === l.speaker ? "cont" : ""}` },
      h("span", { class: "line-who" }, l.speaker === "candidate" ? "You" : "Interviewer"),
      h("button", { class: "line-time", type: "button", "aria-label": `Play from ${clock(l.startSec)}`, onclick: () => player.playFrom(l.startSec) }, clock(l.startSec)),
      h("p", { class: "line-text" }, l.text)));
  player.follow(lineEls, r.transcript);
  const listen = h("section", { class: "results-section", "aria-labelledby": "listen-title" },
    h("h2", { id: "listen-title" }, "Listen back"),
    h("p", { class: "muted listen-note" }, r.interviewerVoice
      ? "The interview as it was recorded, the interviewer's voice and yours. The transcript follows along as you listen."
      : "Your voice as it was recorded. This interview was recorded before Candor kept the interviewer's voice; its words are in the transcript, which follows along as you listen."),
    player.root);

  const transcript = h("section", { class: "results-section", "aria-labelledby": "transcript-title" },
    h("h2", { id: "transcript-title" }, "Transcript"),
    r.transcript.length === 0
      ? h("p", { class: "muted" }, "No transcript was recorded for this interview.")
      : h("details", { class: "card transcript-details" },
          h("summary", null, `Show the full transcript (${plural(r.transcript.length, "line")})`),
          h("ol", { class: "transcript final" }, lineEls)));

  const root = h("main", { class: "screen results", "data-screen": "results" },
    head, remove.confirm, sideBySide, unavailable, assessment, scores, metricCards, charts, perQuestion, yourWords, listen, transcript,
    h("div", { class: "results-foot" }, h("button", { class: "button secondary", type: "button", onclick: () => void ctx.act("dismiss") }, icon("arrowLeft"), "Back to dashboard")));

  return { root, heading, update(_view: View) {}, destroy: () => player.destroy() };
}
