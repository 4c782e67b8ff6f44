// The provider's H5 product page, built on the h5-access npm package.
//
// 1. take the access token (AT) out of the URL fragment (the SDK also removes it from the URL
//    and from the history entry);
// 2. exchange it at the gateway for a session; the page data arrives sealed and is opened in wasm;
// 3. render the page from that data, and make one service call (a quote) through the session;
// 4. show every failure as a message a user can act on.
//
// `./sdk.js` is written by scripts/build-demo.sh: it re-exports the package's entry point, the way
// a bundler would resolve `import … from "h5-access"` (an inline import map would need a CSP
// exception).
import { H5Client, H5AccessError, takeAccessToken } from "./sdk.js";

const PARTNER_APP = "/partner/"; // where "back" goes; in a real webview, the partner's deep link
const GATEWAY = location.origin; // the mock gateway serves this page and its API on one origin
const $ = (id) => document.getElementById(id);
const t0 = performance.now();

// ---------------------------------------------------------------------------------------------
// Timeline. Steps come from the app's own calls and from Resource Timing entries of the SDK's
// requests (so "AT sealed" is the moment the sealed request left, "gateway answered" the moment
// its answer arrived). Nothing secret is ever passed in here: only step names and times.
const timeline = $("timeline");
function step(text, state = "done", at = performance.now()) {
  const li = document.createElement("li");
  li.className = `step ${state}`;
  li.dataset.t = String(at);
  const time = document.createElement("span");
  time.className = "t";
  time.textContent = `${Math.max(0, Math.round(at - t0))} ms`;
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = text;
  li.append(label, time);
  // Keep the list in time order (Resource Timing entries are reported after the fact).
  const after = [...timeline.children].find((x) => Number(x.dataset.t) > at);
  timeline.insertBefore(li, after ?? null);
  return li;
}

const seen = new Set();
// responseStatus is 0 for a request that got no HTTP answer (Chromium); where the engine has no
// responseStatus (WebKit), such an entry has no responseStart either. Firefox and WebKit report
// no entry at all for a request that got no answer: see noAnswerUnlessSeen.
const answered = (entry) => (entry.responseStatus === undefined ? entry.responseStart > 0 : entry.responseStatus > 0);
const noAnswer = "No answer from the gateway";
let noAnswerShown = false;
function onResource(entry) {
  if (seen.has(entry)) return;
  seen.add(entry);
  const path = new URL(entry.name).pathname;
  if (path.endsWith("/v1/keys")) {
    if (answered(entry)) step("Gateway public key configuration fetched", "done", entry.responseEnd);
    else noAnswerAt(entry.responseEnd);
  } else if (path.endsWith("/v1/exchange")) {
    step("Secret generated in wasm (HPKE); AT sealed to the gateway key and sent", "done", entry.startTime);
    if (answered(entry)) step("Gateway answered with a sealed response", "done", entry.responseEnd);
    else noAnswerAt(entry.responseEnd);
  } else if (path.endsWith("/v1/call")) {
    step("Service call sealed (VT and session binder inside), sent", "done", entry.startTime);
    if (answered(entry)) step("Gateway answered the call, sealed", "done", entry.responseEnd);
    else noAnswerAt(entry.responseEnd);
  }
}
if (typeof PerformanceObserver === "function") {
  new PerformanceObserver((list) => list.getEntries().forEach(onResource)).observe({
    type: "resource",
    buffered: true,
  });
}
function noAnswerAt(at) {
  noAnswerShown = true;
  step(noAnswer, "failed", at);
}
// A NETWORK or TIMEOUT failure is a request without an answer, whether or not the engine put it
// in Resource Timing.
function noAnswerUnlessSeen(err) {
  if (!noAnswerShown && ["NETWORK", "TIMEOUT"].includes(codeOf(err))) noAnswerAt(performance.now());
}
// Resource Timing may lag behind a promise; flush what is already recorded.
const flushResources = () => performance.getEntriesByType("resource").forEach(onResource);

// ---------------------------------------------------------------------------------------------
// Errors a user can act on. Codes are the SDK's stable H5AccessError codes.
const MESSAGES = {
  SERVICE_ERROR: ["The service refused the request", "Check what you entered and try again."],
  AT_MISSING: ["This page needs a link from the app", "Open this service from the partner app: the page was opened without an access token."],
  AT_USED: ["This link was already used", "For your security each link opens the page once. Go back to the partner app and tap the service again."],
  AT_EXPIRED: ["This link has expired", "Links from the partner app are valid for a few minutes. Go back to the partner app and tap the service again."],
  AT_REJECTED: ["This link is not valid for this page", "Go back to the partner app and open the service again."],
  VT_EXPIRED: ["Your session has expired", "Go back to the partner app and open the service again."],
  VT_REJECTED: ["Your session has ended", "Go back to the partner app and open the service again."],
  SESSION_CLOSED: ["Your session has ended", "Go back to the partner app and open the service again."],
  NETWORK: ["Can't reach the service", "The provider's gateway is unreachable. Check your connection."],
  TIMEOUT: ["The service is taking too long", "The provider's gateway did not answer in time."],
  LOAD_FAILED: ["The page could not load", "Part of this page failed to download. Check your connection."],
  CLOCK_SKEW: ["Check your phone's clock", "Your device's date and time are too far off. Set them automatically, then open the service again from the partner app."],
  UNSUPPORTED_BROWSER: ["This app's browser is not supported", "The page needs WebAssembly and secure random numbers. Update the app and try again."],
};
const FALLBACK = ["Something went wrong", "The service could not be opened. Go back to the partner app and try again."];

function codeOf(err) {
  if (err instanceof H5AccessError || (err && typeof err.code === "string")) return err.code;
  return "UNKNOWN";
}

// Answers that did not come from the gateway (H5AccessError.reason), and a reload after the AT
// was spent: said as such, whatever the code.
const REASON_MESSAGES = {
  NOT_GATEWAY_200: ["Check your Wi-Fi sign-in", "Something else answered instead of the service, often a Wi-Fi sign-in page. Sign in to the Wi-Fi network or switch to mobile data."],
  NOT_GATEWAY: ["The service is unavailable", "A network proxy answered instead of the provider's gateway."],
  RELOADED: ["Your secure session ended", "Your secure session ended when the page reloaded; reopen it from the app."],
  CSP: ["This page is misconfigured", "The page's security policy does not allow its WebAssembly. Please tell the provider."],
};

function messageOf(err) {
  const code = codeOf(err);
  const reason = err && err.reason;
  if (reason === "NOT_GATEWAY" && code === "BAD_RESPONSE") return REASON_MESSAGES.NOT_GATEWAY_200;
  return REASON_MESSAGES[reason] ?? MESSAGES[code] ?? FALLBACK;
}

function showError(err, retry) {
  const code = codeOf(err);
  // "Try again" exactly when the SDK says the same AT may be tried again (H5AccessError.retryable).
  const again = Boolean(err && err.retryable === true && retry);
  const [title, base] = messageOf(err);
  const text = again ? `${base} Then try again.` : /\bapp\b/.test(base) ? base : `${base} Go back to the partner app and open the service again.`;
  $("loading").hidden = true;
  $("page").hidden = true;
  $("error").hidden = false;
  $("error-title").textContent = title;
  $("error-text").textContent = text;
  $("error-code").textContent = code;
  document.title = title;
  $("title").textContent = "Service";
  $("subtitle").textContent = "";
  const retryBtn = $("error-retry");
  retryBtn.hidden = !again;
  retryBtn.onclick = again ? retry : null;
  document.body.dataset.state = "error";
  document.body.dataset.errorCode = code;
  if (err && err.reason) document.body.dataset.errorReason = err.reason;
  else delete document.body.dataset.errorReason;
  step(`Failed: ${code}`, "failed");
}

// ---------------------------------------------------------------------------------------------
// Rendering the page data (title, subtitle, theme, sections of label/value fields). Only
// textContent is used: page data is never parsed as HTML.
const COLOR = /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|hsla?\([\d\s.,%deg]+\))$/i;
function applyTheme(theme) {
  if (!theme || typeof theme !== "object") return;
  for (const [key, value] of Object.entries(theme)) {
    if (typeof value === "string" && COLOR.test(value.trim()) && /^[a-z][a-z0-9_-]*$/i.test(key)) {
      const name = key.replace(/_/g, "-").replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();
      document.documentElement.style.setProperty(`--theme-${name}`, value.trim());
    }
  }
}

function text(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function fieldList(fields) {
  const dl = document.createElement("dl");
  dl.className = "fields";
  for (const f of fields) {
    const row = document.createElement("div");
    row.className = "field";
    const dt = document.createElement("dt");
    dt.textContent = text(f.label);
    const dd = document.createElement("dd");
    dd.textContent = text(f.value);
    row.append(dt, dd);
    dl.append(row);
  }
  return dl;
}

function renderPage(page) {
  applyTheme(page.theme);
  const title = text(page.title) || "Product";
  $("title").textContent = title;
  document.title = title;
  $("subtitle").textContent = text(page.subtitle);
  const host = $("sections");
  host.replaceChildren();
  for (const s of Array.isArray(page.sections) ? page.sections : []) {
    const card = document.createElement("section");
    card.className = "card section";
    if (s.title) {
      const h = document.createElement("h2");
      h.textContent = text(s.title);
      card.append(h);
    }
    if (Array.isArray(s.fields)) card.append(fieldList(s.fields));
    host.append(card);
  }
  $("loading").hidden = true;
  $("error").hidden = true;
  $("page").hidden = false;
  document.body.dataset.state = "ready";
}

// The `quote` service (tests/mock-gateway/src/services.rs): body {amount_cents, months} →
// {product, amount_cents, months, rate_bps, interest_cents, total_cents}.
const money = (cents) =>
  "¥" + (Number(cents) / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
function renderResult(r) {
  const box = $("quote-result");
  box.replaceChildren();
  const fields = [
    { label: "Amount", value: money(r.amount_cents) },
    { label: "Term", value: `${r.months} months` },
    { label: "Annual rate", value: `${(Number(r.rate_bps) / 100).toFixed(2)}%` },
    { label: "Interest", value: money(r.interest_cents) },
    { label: "Total", value: money(r.total_cents) },
  ];
  box.append(fieldList(fields));
  box.hidden = false;
}

function formatExpiry(expiresAt) {
  // session.expiresAt is in milliseconds since the epoch, like Date.now() (README "Quick start";
  // the wire carries seconds, the SDK converts).
  const d = new Date(Number(expiresAt));
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// ---------------------------------------------------------------------------------------------
// The flow.
const params = new URLSearchParams(location.search);
const product = /^[A-Za-z0-9._-]{1,64}$/.test(params.get("product") ?? "") ? params.get("product") : "wealth-01";
$("back").href = PARTNER_APP;
$("error-back").href = PARTNER_APP;

let session;

async function open(at) {
  $("error").hidden = true;
  $("loading").hidden = false;
  document.body.dataset.state = "loading";
  noAnswerShown = false;
  try {
    // The key configuration the server put in the page (index.html), if it did: no keys request.
    const keyConfig = document.querySelector('meta[name="h5-access-keys"]')?.content || undefined;
    const client = await H5Client.create({ gateway: GATEWAY, timeoutMs: 10000, ...(keyConfig ? { keyConfig } : {}) });
    step("SDK ready (WebAssembly loaded)");
    const s = await client.exchange(at, { product });
    flushResources();
    step("Response opened in wasm: VT kept inside the SDK, page data decrypted", "done");
    session = s;
    renderPage(s.page);
    const until = formatExpiry(s.expiresAt);
    $("session-info").textContent = until ? `Secure session open until ${until}.` : "Secure session open.";
  } catch (err) {
    flushResources();
    noAnswerUnlessSeen(err);
    // Retrying makes sense only when the AT may not have reached the gateway.
    showError(err, () => {
      step("Retrying", "info");
      open(at);
    });
  }
}

$("quote-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const amountCents = Math.round(Number($("amount").value) * 100);
  const months = Number($("months").value);
  const errEl = $("quote-error");
  errEl.hidden = true;
  if (!Number.isSafeInteger(amountCents) || amountCents < 1 || amountCents > 1e12) {
    errEl.textContent = "Enter an amount between ¥0.01 and ¥10,000,000,000.";
    errEl.hidden = false;
    return;
  }
  const btn = $("quote-submit");
  btn.disabled = true;
  btn.textContent = "Quoting…";
  try {
    const result = await session.call("quote", { amount_cents: amountCents, months });
    flushResources();
    step("Quote decrypted and shown", "done");
    renderResult(result);
    document.body.dataset.quote = "done";
  } catch (err) {
    flushResources();
    noAnswerUnlessSeen(err);
    const code = codeOf(err);
    const [title, text] = MESSAGES[code] ?? ["The quote failed", "Please try again."];
    errEl.textContent = `${title}. ${text} (${code})`;
    errEl.hidden = false;
    step(`Quote failed: ${code}`, "failed");
  } finally {
    btn.disabled = false;
    btn.textContent = "Get quote";
  }
});

// Back from another page through the back/forward cache: the session was closed on pagehide and
// the AT is spent, so say so instead of showing a page that can no longer call anything.
addEventListener("pageshow", (ev) => {
  if (ev.persisted && document.body.dataset.state === "ready") showError(new H5AccessError("SESSION_CLOSED"));
});

addEventListener("pagehide", () => {
  try {
    session?.close(); // zeroizes the session secret in wasm memory
  } catch {
    /* already closed */
  }
  session = undefined;
});

let at;
let missing;
try {
  at = takeAccessToken();
} catch (err) {
  at = undefined;
  if (codeOf(err) !== "AT_MISSING") throw err;
  missing = err;
}
if (!at) {
  showError(missing ?? new H5AccessError("AT_MISSING"));
} else {
  step("AT read from the URL fragment and removed from the URL and history");
  open(at);
}
