// End-to-end test of the demo in a real browser (Debian's Chromium driven by playwright-core).
//
// Starts what `npm start` starts (the release mock gateway serving target/demo, on a free port),
// opens the partner app at 375×812, taps a product and checks, on the page and on the wire:
//   - the H5 page shows the product's title and fields from the gateway catalogue;
//   - the quote call returns its result on the page;
//   - the AT is no longer in the URL, the history entry or the DOM;
//   - no request URL or body, and no response body, of the H5 page carries the AT, and none
//     carries the page data (title, field values) or the quote in clear;
//   - the VT the gateway issued (read from the SDK's wasm memory, which the SDK never hands to
//     JavaScript: a test-only init script keeps the instance's memory on window) is in no request
//     URL, request or response header, or request or response body, the service call included;
//   - reusing the same AT shows the AT_USED message with a way back to the partner app;
//   - an unreachable gateway shows NETWORK with a retry that then succeeds, and a page opened
//     without an AT shows AT_MISSING.
// Screenshots go to target/e2e/*.png. Prints "e2e: N passed, M failed"; exits non-zero on failure.
// Prerequisite: scripts/build-demo.sh (scripts/test.sh runs it first).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "target", "e2e");
const GATEWAY_BIN = join(root, "target", "release", "h5-mock-gateway");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// ../shared/toolchain.md: without these Chromium makes many refused connections of its own.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const PRODUCT = "wealth-01";
const TIMEOUT = 20_000;

// ------------------------------------------------------------------------------------------------
// Tiny runner: named tests, each a list of named assertions; a failed assertion fails its test.
let passed = 0;
let failed = 0;
function check(name, cond, detail = "") {
  if (cond) {
    passed++;
    console.log(`  ok    ${name}`);
  } else {
    failed++;
    console.log(`  FAIL  ${name}${detail ? `: ${detail}` : ""}`);
  }
  return cond;
}
async function test(name, fn) {
  console.log(`\n${name}`);
  try {
    await fn();
  } catch (err) {
    failed++;
    console.log(`  FAIL  ${name}: ${err?.stack ?? err}`);
  }
}

// ------------------------------------------------------------------------------------------------
// The catalogue the gateway renders pages from: what the page must show, and what must never be
// on the wire in clear.
// tests/mock-gateway/products.json: {"products": [{"id", "rate_bps", "page": {title, subtitle,
// theme, sections: [{title, fields: [{label, value}]}]}}]}.
function productFromCatalogue(id) {
  const cat = JSON.parse(readFileSync(join(root, "tests", "mock-gateway", "products.json"), "utf8"));
  const entry = cat.products.find((p) => p.id === id);
  if (!entry) throw new Error(`product ${id} not in tests/mock-gateway/products.json`);
  return { ...entry.page, rate_bps: entry.rate_bps };
}

// ------------------------------------------------------------------------------------------------
// The mock gateway, on a free port; its one stdout line gives the URL.
function startGateway() {
  if (!existsSync(GATEWAY_BIN)) throw new Error(`${GATEWAY_BIN} missing: run scripts/build-demo.sh`);
  // --test-hooks only adds /test/* routes (used here to mint an already expired AT).
  const args = ["--listen", "127.0.0.1:0", "--serve", join(root, "target", "demo"), "--test-hooks"];
  const child = spawn(GATEWAY_BIN, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" }, // request logs only if asked
  });
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("mock gateway did not report its address")), TIMEOUT);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const m = /^h5-mock-gateway listening on (http:\/\/\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ""));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`mock gateway exited with ${code}`));
    });
  });
  return { child, url };
}

// ------------------------------------------------------------------------------------------------
// Everything on the wire: URL, request body, response body, and the page (frame URL) it came from.
function recordTraffic(context) {
  const log = [];
  const pending = [];
  context.on("request", (req) => {
    log.push({ kind: "request", url: req.url(), method: req.method(), body: req.postDataBuffer() ?? Buffer.alloc(0), headers: req.headers() });
  });
  context.on("response", (res) => {
    pending.push(
      res
        .body()
        .catch(() => null) // redirects, aborted loads and pages navigated away from: no body
        .then((body) => log.push({ kind: "response", url: res.url(), status: res.status(), body, headers: res.headers() })),
    );
  });
  return {
    log,
    async settle() {
      await Promise.all(pending);
    },
  };
}

const contains = (buf, needle) => buf !== null && needle !== "" && buf.includes(Buffer.from(needle, "utf8"));
const isPartnerLaunch = (e) => new URL(e.url).pathname === "/demo/partner/launch";

async function newPage(browser) {
  const context = await browser.newContext({
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // A CSP violation is only reported on the console.
  page.on("console", (m) => /Content Security Policy/i.test(m.text()) && pageErrors.push(m.text()));
  return { context, page, pageErrors };
}

// Taps a product in the partner app; returns the AT the partner backend handed to the app. The
// launch response is read through a route (passed on unchanged): the app navigates away at once,
// after which Chromium no longer has its body.
async function launchFromPartner(page, base, product) {
  let at;
  await page.route("**/demo/partner/launch", async (route) => {
    const response = await route.fetch();
    at = (await response.json()).access_token;
    await route.fulfill({ response });
  });
  await page.goto(`${base}/partner/`);
  await page.tap(`button[data-product="${product}"]`);
  await page.waitForURL((u) => u.pathname === "/h5/index.html");
  await page.unroute("**/demo/partner/launch");
  return at;
}

// ------------------------------------------------------------------------------------------------
// The VT. The SDK keeps it in its wasm memory and never hands it to JavaScript, so the test keeps
// the wasm instance's memory on window (test-only init script, run before any page script; the
// shipped package is unchanged), like tests/js/session.test.mjs does under Node.js.
const WASM_MEMORY_GLOBAL = "__e2eWasmMemory";
async function keepWasmMemory(page) {
  await page.addInitScript((name) => {
    const keep = (result) => {
      const instance = result instanceof WebAssembly.Instance ? result : result?.instance;
      const memory = instance?.exports?.memory;
      if (memory instanceof WebAssembly.Memory) window[name] = memory;
      return result;
    };
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = function (...args) {
      return instantiate.apply(this, args).then(keep);
    };
    const instantiateStreaming = WebAssembly.instantiateStreaming;
    if (typeof instantiateStreaming === "function") {
      WebAssembly.instantiateStreaming = function (...args) {
        return instantiateStreaming.apply(this, args).then(keep);
      };
    }
  }, WASM_MEMORY_GLOBAL);
}

// docs/PROTOCOL.md §8: VT = base64url-nopad(0x01 ‖ 0x56 'V' ‖ ticket_key_id (1) ‖ nonce (12) ‖
// ciphertext ‖ tag (16)), the ciphertext as long as the plaintext: vt_id (16) ‖ iat (8) ‖ exp (8)
// ‖ partner_id, subject, product (len (1) ‖ ≥ 1 byte each) ‖ session_secret (32), ≥ 70 bytes.
// So a VT is ≥ 3 + 12 + 70 + 16 = 101 bytes, ≥ 135 base64url characters; it starts "AV" then
// 0b0110‖(top 2 bits of the key id): "Y" for key ids 0..63 (every VT seen so far), Z/a/b above.
// 135 base64url characters in a row do not occur by chance in binary memory.
const VT_MIN_BYTES = 3 + 12 + (16 + 8 + 8 + 3 * 2 + 32) + 16;
const VT_MIN_CHARS = Math.ceil((VT_MIN_BYTES * 4) / 3);
const VT_PATTERN = `AV[YZab][A-Za-z0-9_-]{${VT_MIN_CHARS - 3},}`;

/** Every distinct VT-shaped string in the page's wasm memory (null if no memory was kept). */
const vtsInWasmMemory = (page) =>
  page.evaluate(
    ([name, pattern]) => {
      const memory = window[name];
      if (!(memory instanceof WebAssembly.Memory)) return null;
      const text = new TextDecoder("latin1").decode(new Uint8Array(memory.buffer));
      return [...new Set(text.match(new RegExp(pattern, "g")) ?? [])];
    },
    [WASM_MEMORY_GLOBAL, VT_PATTERN],
  );

const waitState = (page, states) =>
  page.waitForFunction((s) => s.includes(document.body.dataset.state), states);

// ------------------------------------------------------------------------------------------------
const { child: gateway, url: gatewayUrl } = startGateway();
let browser;
const stopAll = async () => {
  await browser?.close().catch(() => {});
  if (gateway.exitCode === null) gateway.kill("SIGTERM");
};
process.on("SIGINT", () => stopAll().then(() => process.exit(130)));
process.on("SIGTERM", () => stopAll().then(() => process.exit(143)));

try {
  const base = await gatewayUrl;
  console.log(`mock gateway at ${base}`);
  rmSync(shots, { recursive: true, force: true }); // no stale screenshots from an earlier run
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const expected = productFromCatalogue(PRODUCT);
  const expectedFields = (expected.sections ?? []).flatMap((s) => s.fields ?? []);
  let firstAt;
  let firstH5Url;

  await test("partner app → H5 page: exchange, render, quote, nothing in clear on the wire", async () => {
    const { context, page, pageErrors } = await newPage(browser);
    await keepWasmMemory(page);
    const traffic = recordTraffic(context);
    await page.goto(`${base}/partner/`);
    await page.screenshot({ path: join(shots, "1-partner-app.png"), fullPage: true });

    const at = await launchFromPartner(page, base, PRODUCT);
    firstAt = at;
    check("partner backend handed an AT to the app", typeof at === "string" && at.length > 0);
    firstH5Url = `${base}/h5/index.html?product=${PRODUCT}#at=${encodeURIComponent(at)}`;

    await waitState(page, ["ready", "error"]);
    const state = await page.evaluate(() => document.body.dataset.state);
    const shownCode = await page.evaluate(() => document.body.dataset.errorCode ?? "");
    if (!check("H5 page opened a session", state === "ready", `state ${state} ${shownCode}`)) {
      await page.screenshot({ path: join(shots, "2-h5-page.png"), fullPage: true });
      return;
    }

    // The page shows the catalogue's page data.
    check("title from the catalogue", (await page.textContent("#title"))?.trim() === expected.title, await page.textContent("#title"));
    if (expected.subtitle) check("subtitle from the catalogue", (await page.textContent("#subtitle"))?.trim() === expected.subtitle);
    const sectionsText = await page.innerText("#sections");
    const missing = expectedFields.filter((f) => !sectionsText.includes(String(f.label)) || !sectionsText.includes(String(f.value)));
    check(`all ${expectedFields.length} fields (label and value) shown`, expectedFields.length > 0 && missing.length === 0, JSON.stringify(missing));
    if (expected.theme?.primary) {
      const themed = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--theme-primary").trim());
      check("theme colour applied", themed.toLowerCase() === String(expected.theme.primary).toLowerCase(), themed);
    }

    // The VT the exchange issued, from the wasm memory while the session is open (close() and
    // pagehide zeroize it). Exactly one, so the wire check below cannot pass on nothing.
    const vts = await vtsInWasmMemory(page);
    check("the SDK's wasm memory was kept by the test's init script", vts !== null);
    check(
      `exactly one VT in the wasm memory (base64url, ≥ ${VT_MIN_CHARS} characters)`,
      vts?.length === 1,
      JSON.stringify(vts?.map((v) => `${v.slice(0, 12)}…(${v.length})`)),
    );
    const vt = vts?.length === 1 ? vts[0] : null;
    const vtBytes = vt === null ? null : Buffer.from(vt, "base64url");
    check(
      "it decodes to a §8 VT (0x01 'V', ≥ 101 bytes)",
      vtBytes !== null && vtBytes.length >= VT_MIN_BYTES && vtBytes[0] === 0x01 && vtBytes[1] === 0x56 && vtBytes.toString("base64url") === vt,
      vtBytes?.subarray(0, 3).toString("hex"),
    );

    // The AT is gone from the URL, history entry and document.
    const where = await page.evaluate(() => ({ href: location.href, hash: location.hash, html: document.documentElement.outerHTML, history: JSON.stringify(history.state ?? null), storage: JSON.stringify({ ...localStorage, ...sessionStorage }) }));
    check("AT no longer in the URL", !where.href.includes(at) && !where.href.includes(encodeURIComponent(at)) && !/[#&]at=/.test(where.hash), where.href);
    check("AT not in the DOM, history state or web storage", ![where.html, where.history, where.storage].some((s) => s.includes(at)));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check("fits 375 px without horizontal scrolling", width <= 375, `scrollWidth ${width}`);
    await page.screenshot({ path: join(shots, "2-h5-page.png"), fullPage: true });

    // One service call through the session.
    // quote: interest_cents = floor(amount_cents × rate_bps × months / 120000)
    const amountCents = 2_500_000;
    const months = 12;
    const interest = Math.floor((amountCents * expected.rate_bps * months) / 120_000);
    const money = (c) => "¥" + (c / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    await page.fill("#amount", String(amountCents / 100));
    await page.selectOption("#months", String(months));
    await page.tap("#quote-submit");
    await page.waitForFunction(() => document.body.dataset.quote === "done" || !document.getElementById("quote-error").hidden);
    const quoteText = (await page.innerText("#quote-result").catch(() => "")).trim();
    check(
      `quote call returned its result on the page (interest ${money(interest)}, total ${money(amountCents + interest)})`,
      (await page.isVisible("#quote-result")) && quoteText.includes(money(interest)) && quoteText.includes(money(amountCents + interest)),
      quoteText || (await page.innerText("#quote-error").catch(() => "")),
    );
    await page.screenshot({ path: join(shots, "3-h5-quote.png"), fullPage: true });

    const timeline = await page.innerText("#timeline");
    check("timeline shows the steps (secret generated, AT sealed, gateway answered, response opened)", /Secret generated.*AT sealed/.test(timeline) && /Gateway answered/.test(timeline) && /Response opened/.test(timeline), timeline);
    check("timeline shows no token", !timeline.includes(at));

    // On the wire.
    await traffic.settle();
    const h5 = traffic.log.filter((e) => !isPartnerLaunch(e));
    const paths = traffic.log.filter((e) => e.kind === "request").map((e) => `${e.method} ${new URL(e.url).pathname}`);
    check("the page called /v1/exchange and /v1/call", paths.includes("POST /v1/exchange") && paths.includes("POST /v1/call"), paths.join(", "));
    const exReq = traffic.log.find((e) => e.kind === "request" && new URL(e.url).pathname === "/v1/exchange");
    check("exchange request is an encapsulated request", exReq?.headers["content-type"] === "application/vnd.h5-access.exchange-req" && exReq.body.length > 7 + 32 + 16, exReq?.headers["content-type"]);
    check("the AT reached the app only from the partner backend (launch response)", traffic.log.filter((e) => contains(e.body, at)).every(isPartnerLaunch));
    // Playwright reports a navigation's URL with its fragment, which HTTP never sends: strip it.
    const sent = (e) => e.url.split("#")[0] + JSON.stringify(e.headers);
    check("no request URL or header carries the AT (the fragment is never sent)", traffic.log.every((e) => !sent(e).includes(at) && !sent(e).includes(encodeURIComponent(at))));
    const api = traffic.log.filter((e) => e.kind === "response" && new URL(e.url).pathname.startsWith("/v1/"));
    check(`every gateway API response body was captured (${api.length})`, api.length >= 2 && api.every((e) => e.body !== null && e.body.length > 0));
    check(`no request or response body of the H5 page carries the AT (${h5.length} messages inspected)`, h5.every((e) => !contains(e.body, at) && !contains(e.body, encodeURIComponent(at))));
    // The title is checked against every body, static files included; short values (digits,
    // units) only against the dynamic ones, where a match cannot be a coincidence with page code.
    const dynamic = traffic.log.filter((e) => /^\/(v1|demo)\//.test(new URL(e.url).pathname));
    const titleLeak = traffic.log.some((e) => contains(e.body, expected.title));
    const values = expectedFields.map((f) => String(f.value)).filter((v) => v.length >= 3);
    const leaks = values.filter((v) => dynamic.some((e) => contains(e.body, v)));
    check("page data (title, field values) never on the wire in clear", !titleLeak && leaks.length === 0, JSON.stringify({ titleLeak, leaks }));
    // The call's JSON body and answer, had they travelled in clear, would carry these.
    const callClear = ["amount_cents", "interest_cents", "total_cents", String(amountCents), String(interest)];
    const quoteLeaks = callClear.filter((s) => dynamic.some((e) => contains(e.body, s)));
    check("quote request and answer never on the wire in clear", quoteLeaks.length === 0, JSON.stringify(quoteLeaks));
    // The VT travels only inside HPKE: the exchange answer brings it sealed, every call carries it
    // sealed. Neither its string nor its bytes may be anywhere on the wire.
    const callReqs = traffic.log.filter((e) => e.kind === "request" && new URL(e.url).pathname === "/v1/call");
    check(`the service call's request was recorded with its body (${callReqs.length})`, callReqs.length >= 1 && callReqs.every((e) => e.body.length > 0));
    if (vt !== null) {
      const vtOnWire = traffic.log.filter(
        (e) =>
          sent(e).includes(vt) ||
          sent(e).includes(encodeURIComponent(vt)) ||
          contains(e.body, vt) ||
          (e.body !== null && e.body.includes(vtBytes)),
      );
      check(
        `the VT is in no request URL, header or body and no response header or body (${traffic.log.length} messages, ${callReqs.length} call request(s) inspected)`,
        vtOnWire.length === 0,
        vtOnWire.map((e) => `${e.kind} ${e.url}`).join(", "),
      );
    }
    check("no uncaught error or CSP violation on the pages", pageErrors.length === 0, pageErrors.join("; "));
    await context.close();
  });

  await test("reusing the same AT shows AT_USED", async () => {
    if (!check("an AT from the first test", !!firstH5Url)) return;
    const { context, page, pageErrors } = await newPage(browser);
    await page.goto(firstH5Url);
    await waitState(page, ["ready", "error"]);
    check("page shows AT_USED", (await page.evaluate(() => document.body.dataset.errorCode)) === "AT_USED", await page.evaluate(() => document.body.dataset.errorCode));
    check("message says the link was already used", /already used/i.test(await page.innerText("#error")));
    check("a way back to the partner app", (await page.getAttribute("#error-back", "href")) === "/partner/" && (await page.isVisible("#error-back")));
    check("AT removed from the URL on the error path too", !page.url().includes(encodeURIComponent(firstAt)));
    await page.screenshot({ path: join(shots, "4-h5-at-used.png"), fullPage: true });
    await page.tap("#error-back");
    await page.waitForURL((u) => u.pathname === "/partner/");
    check("back lands in the partner app", await page.isVisible('button[data-product="wealth-01"]'));
    check("no uncaught error on the pages", pageErrors.length === 0, pageErrors.join("; "));
    await context.close();
  });

  await test("gateway unreachable shows NETWORK, and retry then opens the page", async () => {
    const { context, page } = await newPage(browser);
    await context.route("**/v1/exchange", (route) => route.abort("connectionrefused"));
    await launchFromPartner(page, base, "loan-02");
    await waitState(page, ["ready", "error"]);
    check("page shows NETWORK", (await page.evaluate(() => document.body.dataset.errorCode)) === "NETWORK", await page.evaluate(() => document.body.dataset.errorCode));
    check("message says the service can't be reached", /can't reach/i.test(await page.innerText("#error")));
    check("a retry button", await page.isVisible("#error-retry"));
    const tl = await page.innerText("#timeline");
    check("timeline says the gateway did not answer (not that it answered)", /No answer from the gateway/.test(tl) && !/Gateway answered/.test(tl), tl);
    await page.screenshot({ path: join(shots, "5-h5-network.png"), fullPage: true });
    await context.unroute("**/v1/exchange");
    await page.tap("#error-retry");
    await waitState(page, ["ready"]);
    check("retry with the unconsumed AT opens the page", (await page.textContent("#title"))?.trim() === productFromCatalogue("loan-02").title);
    await context.close();
  });

  await test("an expired AT shows AT_EXPIRED with a way back", async () => {
    const { context, page } = await newPage(browser);
    const res = await page.request.post(`${base}/test/access-token`, {
      data: { subject: "demo-user", products: [PRODUCT], ttl_seconds: -600 },
    });
    const { access_token: expiredAt } = await res.json();
    check("test hook minted an expired AT", res.ok() && typeof expiredAt === "string");
    await page.goto(`${base}/h5/index.html?product=${PRODUCT}#at=${encodeURIComponent(expiredAt)}`);
    await waitState(page, ["ready", "error"]);
    check("page shows AT_EXPIRED", (await page.evaluate(() => document.body.dataset.errorCode)) === "AT_EXPIRED", await page.evaluate(() => document.body.dataset.errorCode));
    check("message says the link expired, with a way back", /expired/i.test(await page.innerText("#error")) && (await page.isVisible("#error-back")));
    await page.screenshot({ path: join(shots, "6-h5-at-expired.png"), fullPage: true });
    await context.close();
  });

  await test("H5 page opened without an AT shows AT_MISSING", async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${base}/h5/index.html?product=${PRODUCT}`);
    await waitState(page, ["error"]);
    check("page shows AT_MISSING", (await page.evaluate(() => document.body.dataset.errorCode)) === "AT_MISSING");
    check("no request to the gateway API", !(await page.evaluate(() => performance.getEntriesByType("resource").some((e) => e.name.includes("/v1/")))));
    await page.screenshot({ path: join(shots, "7-h5-no-at.png"), fullPage: true });
    await context.close();
  });
} catch (err) {
  failed++;
  console.log(`  FAIL  setup: ${err?.stack ?? err}`);
} finally {
  await stopAll();
}

console.log(`\nscreenshots in ${shots}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
