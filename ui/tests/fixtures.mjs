// Views and payloads shaped exactly as src/ipc/contract.ts says.

export const PROFILE = { name: "Alex Morgan", email: "alex@example.com", offline: false };
export const OFFLINE_PROFILE = { name: "Sam", email: null, offline: true };

const score = (key, label, value) => ({ key, label, value });

export const HISTORY = [
  { retryOf: null, id: "iv-1", role: "software-engineer", seniority: "senior", createdAt: "2025-11-20T14:05:00Z", status: "ready", durationSec: 1130, overallScore: 78,
    scores: [score("responsiveness", "Responsiveness", 80), score("answer_depth", "Answer depth", 74), score("completion", "Completion", 80)] },
  { retryOf: null, id: "iv-2", role: "product-manager", seniority: "mid", createdAt: "2025-11-22T09:30:00Z", status: "ready", durationSec: 845, overallScore: 56,
    scores: [score("responsiveness", "Responsiveness", 50), score("answer_depth", "Answer depth", 62), score("completion", "Completion", 56)] },
  { retryOf: null, id: "iv-3", role: "behavioural", seniority: "junior", createdAt: "2025-11-18T17:45:00Z", status: "failed", durationSec: null, overallScore: null, scores: [] },
  { retryOf: null, id: "iv-4", role: "data-scientist", seniority: "staff", createdAt: "2025-11-24T11:00:00Z", status: "processing", durationSec: 600, overallScore: null, scores: [] },
];

/** The history as the core pushes it: the listed items, and whether older ones exist. */
export const HISTORY_PAGE = { items: HISTORY, hasMore: false };
export const EMPTY_HISTORY = { items: [], hasMore: false };

/** Three software-engineer interviews and one product-manager one, with scores that move. */
export const PROGRESS_HISTORY = {
  items: [
    { retryOf: null, id: "se-3", role: "software-engineer", seniority: "mid", createdAt: "2025-11-25T09:00:00Z", status: "ready", durationSec: 900, overallScore: 71,
      scores: [score("responsiveness", "Responsiveness", 70), score("answer_depth", "Answer depth", 72)] },
    { retryOf: null, id: "pm-1", role: "product-manager", seniority: "mid", createdAt: "2025-11-24T09:00:00Z", status: "ready", durationSec: 800, overallScore: 60,
      scores: [score("responsiveness", "Responsiveness", 60), score("answer_depth", "Answer depth", 60)] },
    { retryOf: null, id: "se-2", role: "software-engineer", seniority: "mid", createdAt: "2025-11-21T09:00:00Z", status: "ready", durationSec: 900, overallScore: 83,
      scores: [score("responsiveness", "Responsiveness", 88), score("answer_depth", "Answer depth", 78)] },
    { retryOf: null, id: "se-0", role: "software-engineer", seniority: "mid", createdAt: "2025-11-19T09:00:00Z", status: "failed", durationSec: null, overallScore: null, scores: [] },
    { retryOf: null, id: "se-1", role: "software-engineer", seniority: "mid", createdAt: "2025-11-18T09:00:00Z", status: "ready", durationSec: 900, overallScore: 50,
      scores: [score("responsiveness", "Responsiveness", 45), score("answer_depth", "Answer depth", 55)] },
  ],
  hasMore: true,
};

export function authed(interview = { state: "idle" }, history = { state: "success", data: HISTORY_PAGE }, profile = PROFILE) {
  return { auth: { state: "authenticated", profile }, interview, history };
}

export function signedOut(notice = null) {
  return { auth: { state: "unauthenticated", notice }, interview: { state: "idle" }, history: null };
}

export const AUTHENTICATING = { auth: { state: "authenticating" }, interview: { state: "idle" }, history: null };

export const DEVICES = {
  inputs: [
    { id: "mic-builtin", name: "Built-in Microphone", isDefault: true },
    { id: "mic-headset", name: "USB Headset Microphone", isDefault: false },
  ],
  outputs: [
    { id: "spk-builtin", name: "Built-in Speakers", isDefault: true },
    { id: "spk-headset", name: "USB Headset", isDefault: false },
  ],
  selectedInput: null,
  selectedOutput: null,
};

export const SETTINGS = { backendUrl: null, echoCancellation: true };

const QUESTIONS = [
  { index: 1, question: "Tell me about a project you're proud of.", answerSec: 96, responseLatencySec: 1.4, pauses: 2, longestPauseSec: 2.1, note: "A clear story with a measurable result. Lead with the outcome next time." },
  { index: 2, question: "Describe a time you disagreed with a teammate. What happened?", answerSec: 142, responseLatencySec: 3.8, pauses: 5, longestPauseSec: 6.2, note: "Good self-awareness, but a 6-second pause mid-answer; outline the situation, action and result before you start." },
  { index: 3, question: "How would you design a rate limiter for a public API?", answerSec: 71, responseLatencySec: 2.2, pauses: 1, longestPauseSec: 1.8, note: "Concise and structured. Mention trade-offs between fixed and sliding windows." },
  { index: 4, question: "What would you do in your first 90 days here?", answerSec: 48, responseLatencySec: 0.9, pauses: 0, longestPauseSec: 0, note: "Short: add one concrete example of how you would learn the codebase." },
];

function transcript() {
  const lines = [];
  let t = 2;
  for (const q of QUESTIONS) {
    lines.push({ speaker: "interviewer", text: q.question, startSec: t, endSec: t + 6, questionIndex: q.index });
    t += 6 + (q.responseLatencySec ?? 1);
    const half = q.answerSec / 2;
    lines.push({ speaker: "candidate", text: "So in my last role I led the migration of our billing system to a new provider, which meant coordinating three teams.", startSec: t, endSec: t + half, questionIndex: q.index });
    t += half + 1.2;
    lines.push({ speaker: "candidate", text: "In the end we cut invoice errors by forty percent and finished two weeks early.", startSec: t, endSec: t + half - 1.2, questionIndex: q.index });
    t += half + 2;
  }
  return lines;
}

export const RESULTS = {
  interviewId: "iv-9",
  role: "software-engineer",
  seniority: "senior",
  engine: "practice",
  completedAt: "2025-11-26T10:12:00Z",
  durationSec: 452,
  questionsPlanned: 4,
  overall: {
    talkTimeRatio: 0.68,
    candidateSpeakingSec: 357,
    interviewerSpeakingSec: 168,
    longestMonologueSec: 142,
    interruptions: 1,
    averageResponseLatencySec: 2.1,
    wordsPerMinute: null,
    fillerWords: null,
  },
  scores: [
    { key: "delivery", label: "Delivery", score: 82, explanation: "You started answers within 2.1 s on average and spoke 68% of the time." },
    { key: "structure", label: "Structure", score: 64, explanation: "Two answers ran past two minutes; one had a 6.2 s pause in the middle." },
    { key: "listening", label: "Listening", score: 45, explanation: "You talked over the interviewer once, on question 2." },
  ],
  questions: QUESTIONS,
  transcript: transcript(),
  assessment: null,
  assessmentUnavailable: null,
  jobTerms: null,
  mostUsedWords: [],
  interviewerVoice: true,
  retryOf: null,
  attempts: [],
};

/** One measured answer as the results' attempts carry it. */
function attempt(interviewId, createdAt, questionIndex, first, q) {
  return { interviewId, createdAt, questionIndex, first, answered: q.answerSec > 0, answerSec: q.answerSec, speakingSec: q.answerSec * 0.8,
    responseLatencySec: q.responseLatencySec, pauses: q.pauses, longestPauseSec: q.longestPauseSec, wordsPerMinute: q.wordsPerMinute ?? null, fillerWords: q.fillerWords ?? null };
}

const AGAIN_ANSWER = { index: 1, question: QUESTIONS[1].question, answerSec: 95, responseLatencySec: 1.2, pauses: 1, longestPauseSec: 1.6, note: "Clear and structured: situation, action, result." };

/** Question 2 of iv-9 answered again, in iv-12: the two attempts side by side. */
export const RESULTS_RETRY = {
  ...RESULTS,
  interviewId: "iv-12",
  completedAt: "2025-11-27T08:03:00Z",
  durationSec: 131,
  questionsPlanned: 1,
  questions: [AGAIN_ANSWER],
  transcript: [
    { speaker: "interviewer", text: QUESTIONS[1].question, startSec: 2, endSec: 8, questionIndex: 1 },
    { speaker: "candidate", text: "We disagreed on whether to rewrite the service, so we measured both options for a week.", startSec: 9.2, endSec: 104, questionIndex: 1 },
  ],
  retryOf: { interviewId: "iv-9", questionIndex: 2, question: QUESTIONS[1].question },
  attempts: [
    attempt("iv-9", "2025-11-26T10:04:00Z", 2, true, QUESTIONS[1]),
    attempt("iv-12", "2025-11-27T08:01:00Z", 2, false, AGAIN_ANSWER),
  ],
};

/** The original interview once question 2 was answered again. */
export const RESULTS_RETRIED = { ...RESULTS, attempts: RESULTS_RETRY.attempts };

/** A retry whose original was deleted: only its own attempt is left. */
export const RESULTS_RETRY_ALONE = { ...RESULTS_RETRY, attempts: [RESULTS_RETRY.attempts[1]] };

export const RESULTS_GEMINI = {
  ...RESULTS,
  interviewId: "iv-10",
  engine: "gemini",
  overall: { ...RESULTS.overall, wordsPerMinute: 174, fillerWords: 9 },
  jobTerms: { used: ["billing", "postgres", "migration"], missing: ["kubernetes", "on-call"] },
  mostUsedWords: [{ word: "billing", count: 7 }, { word: "team", count: 5 }, { word: "database", count: 4 }],
  assessment: {
    model: "gemini-2.5-flash",
    summary: "A confident interview with concrete examples; the conflict answer lost its thread in the middle.",
    scores: [
      { label: "Structure", score: 72, reason: "Most answers followed situation, action, result; question 2 jumped back and forth." },
      { label: "Specificity", score: 85, reason: "Numbers in the billing story (40% fewer errors, two weeks early) made it credible." },
    ],
    strengths: ["Concrete outcomes with numbers", "Calm pace under follow-up questions"],
    improvements: ["Outline your answer before you start", "Say what you learned from the disagreement"],
    weakestAnswer: {
      question: "Describe a time you disagreed with a teammate. What happened?",
      why: "The answer described the disagreement at length but not how it was resolved.",
      betterAnswer: "My teammate wanted to rewrite the service; I wanted to patch it. We agreed to measure both for a week, the patch held, and we scheduled the rewrite for the next quarter.",
    },
  },
};

/** Gemini results whose AI assessment failed: metrics only, with the reason. */
export const RESULTS_NO_ASSESSMENT = {
  ...RESULTS_GEMINI,
  interviewId: "iv-11",
  assessment: null,
  assessmentUnavailable: "The AI assessment timed out.",
};

// Speech models as the core lists them (candor-speech's catalog).
const TINY = {
  id: "whisper-tiny.en",
  name: "Whisper tiny.en",
  languages: "English",
  speed: "fastest: about 0.3 s of processor time per second of speech",
  quality: "about 4 words in 100 wrong on clear speech; keeps filler words",
  sizeBytes: 78_090_594,
  state: { state: "absent" },
  error: null,
};
const BASE = {
  id: "whisper-base",
  name: "Whisper base",
  languages: "English and 98 other languages",
  speed: "about twice tiny.en's processor time",
  quality: "about 1 word in 100 wrong on clear speech; better with names and accents",
  sizeBytes: 147_882_941,
  state: { state: "absent" },
  error: null,
};

export const MODEL_SOURCE = "https://models.example.com/candor";

/** `tiny` and `base` are the two models' changes; `inUse` an id or null. */
export function speechModels({ source = MODEL_SOURCE, fromEnvironment = false, tiny = {}, base = {}, inUse = null, offlineInterviewer = true } = {}) {
  return {
    source: source === null ? null : { url: source, fromEnvironment },
    models: [{ ...TINY, ...tiny }, { ...BASE, ...base }],
    inUse,
    offlineInterviewer,
  };
}

export const INSTALLED = { state: { state: "installed" } };

/** The About dialog's facts, as the shell's `about` command answers. */
export const ABOUT = {
  version: "0.1.0",
  licence: "MIT OR Apache-2.0",
  locations: {
    data: "/home/alex/.local/share/app.candor.desktop",
    logs: "/home/alex/.local/share/app.candor.desktop/logs",
    settings: "/home/alex/.config/app.candor.desktop",
  },
  components: [
    { name: "Tauri", purpose: "The desktop window and its link to the interface", licence: "Apache-2.0 OR MIT", url: "https://tauri.app" },
    { name: "Opus", purpose: "Audio compression between the app and the interviewer", licence: "BSD-3-Clause", url: "https://opus-codec.org" },
    { name: "Sonora", purpose: "Echo cancellation (a port of WebRTC's AEC3)", licence: "BSD-3-Clause", url: "https://github.com/dignifiedquire/sonora" },
    { name: "CTranslate2", purpose: "On-device speech recognition", licence: "MIT", url: "https://github.com/OpenNMT/CTranslate2" },
    { name: "SQLite", purpose: "Storing your interviews and results", licence: "Public domain", url: "https://sqlite.org" },
    { name: "Whisper models", purpose: "Speech recognition models, downloaded when you choose one", licence: "MIT", url: "https://github.com/openai/whisper" },
  ],
};

/** A diagnostics report as the shell renders it. */
export const DIAGNOSTICS = [
  "Candor              0.1.0",
  "OS                  Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64, x86_64",
  "Desktop             x11, GNOME",
  "Web view            2.48.1",
  "Backend             https://candor.example.com/",
  "Account             signed in to an account",
  "Interview           idle",
  "Echo cancellation   on",
  "Speech model        whisper-tiny-en",
  "Logs                ~/.local/share/app.candor.desktop/logs",
  "",
  "Microphones",
  "  Built-in Microphone (system default)",
  "",
].join("\n");

/** A 5-question interview the candidate ended after the first question. */
export const RESULTS_ENDED_EARLY = {
  ...RESULTS,
  interviewId: "iv-11",
  questionsPlanned: 5,
  durationSec: 96,
  questions: RESULTS.questions.slice(0, 1),
  transcript: RESULTS.transcript.slice(0, 3),
  scores: [
    ...RESULTS.scores,
    { key: "completion", label: "Completion", score: 20, explanation: "You answered 1 of the 5 planned questions (the interview ended after 1 of them); the score is the share of planned questions with an answer." },
  ],
};
