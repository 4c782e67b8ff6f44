// End-to-end test of the demo in the three engines H5 pages run in: Chromium, Firefox ESR and
// WebKitGTK (tests/browser/engines.mjs: one WebDriver client, selenium-webdriver; one session per
// engine, its viewport exactly 375×812 CSS px at device pixel ratio 2, as in a phone's webview).
//
// Starts what `npm start` starts (the release mock gateway serving target/demo, on a free port),
// puts a recording loopback proxy in front of it (tests/e2e/recording-proxy.mjs: the browser opens
// the demo through it, so every byte of every request and response of the pages is seen the same
// way in every engine), opens the partner app, taps a product and checks, on the page and on the
// wire:
//   - the H5 page shows the product's title and fields from the gateway catalogue;
//   - the quote call returns its result on the page;
//   - the AT is no longer in the URL, the history entry or the DOM;
//   - every request of the H5 page went through the proxy (Resource Timing), so the wire checks
//     below see all of its traffic;
//   - no request URL or body, and no response body, of the H5 page carries the AT, and none
//     carries the page data (title, field values) or the quote in clear;
//   - the VT the gateway issued (read from the SDK's wasm memory, which the SDK never hands to
//     JavaScript: a test-only script the proxy adds to each page keeps the instance's memory on
//     window) is in no request URL, request or response header, or request or response body, the
//     service call included;
//   - reusing the same AT shows the AT_USED message with a way back to the partner app;
//   - an unreachable gateway (the proxy closes the exchange's connection) shows NETWORK with a
//     retry that then succeeds, an expired AT shows AT_EXPIRED, and a page opened without an AT
//     shows AT_MISSING;
//   - a captive portal's 200 text/html and a proxy's 502 in the exchange's place show "Check
//     your Wi-Fi sign-in" / "unavailable" with a "Try again" that then opens the page with the
//     same AT; a reload of the rendered page says the secure session ended with the reload;
//   - no uncaught error, unhandled rejection or CSP violation on any page (reported by the same
//     test-only script).
// Screenshots (the 375×812 viewport) go to target/e2e/ENGINE/*.png. Prints, per engine,
// "e2e ENGINE: N passed, M failed" (N checks); exits non-zero on any failure.
// Prerequisite: scripts/build-demo.sh (scripts/test.sh runs it first). H5_ENGINES narrows engines.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { By } from "selenium-webdriver";
import { Select } from "selenium-webdriver/lib/select.js";
import { launch, selectedEngines, tap, waitFor } from "../browser/engines.mjs";
import { startRecordingProxy } from "./recording-proxy.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shotsRoot = join(root, "target", "e2e");
const GATEWAY_BIN = process.env.H5_MOCK_GATEWAY ?? join(root, "target", "release", "h5-mock-gateway");
const VIEWPORT = { width: 375, height: 812 };
const PRODUCT = "wealth-01";
const TIMEOUT = 60_000; // generous: the machine is shared; never an assertion

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

const contains = (buf, needle) => buf !== null && needle !== "" && buf.includes(Buffer.from(needle, "utf8"));
const pathOf = (e) => new URL(e.url).pathname;
const isPartnerLaunch = (e) => pathOf(e) === "/demo/partner/launch";

// ------------------------------------------------------------------------------------------------
// The VT. The SDK keeps it in its wasm memory and never hands it to JavaScript, so the proxy's
// test-only script keeps the wasm instance's memory on window (the shipped package is unchanged),
// like tests/js/session.test.mjs does under Node.js.
// docs/PROTOCOL.md §8: VT = base64url-nopad(0x01 ‖ 0x56 'V' ‖ ticket_key_id (1) ‖ nonce (12) ‖
// ciphertext ‖ tag (16)), the ciphertext as long as the plaintext: vt_id (16) ‖ iat (8) ‖ exp (8)
// ‖ partner_id, subject, product (len (1) ‖ ≥ 1 byte each) ‖ session_secret (32), ≥ 70 bytes.
// So a VT is ≥ 3 + 12 + 70 + 16 = 101 bytes, ≥ 135 base64url characters; it starts "AV" then
// 0b0110‖(top 2 bits of the key id): "Y" for key ids 0..63 (every VT seen so far), Z/a/b above.
// 135 base64url characters in a row do not occur by chance in binary memory.
const VT_MIN_BYTES = 3 + 12 + (16 + 8 + 8 + 3 * 2 + 32) + 16;
const VT_MIN_CHARS = Math.ceil((VT_MIN_BYTES * 4) / 3);
const VT_PATTERN = `AV[YZab][A-Za-z0-9_-]{${VT_MIN_CHARS - 3},}`;

// ------------------------------------------------------------------------------------------------
// What one engine runs: the five tests, in one WebDriver session.
async function runEngine(engine, base, proxy, gatewayUrl) {
  const shots = join(shotsRoot, engine);
  mkdirSync(shots, { recursive: true });
  const b = await launch(engine, { viewport: VIEWPORT, label: "e2e" });
  const { driver } = b;
  console.log(`\n--- e2e in ${engine}: ${b.version}, viewport ${VIEWPORT.width}×${VIEWPORT.height} ---`);
  const js = (body, ...args) => driver.executeScript(body, ...args);
  const el = (css) => driver.findElement(By.css(css));
  const textOf = (css) => js("return document.querySelector(arguments[0])?.textContent ?? null", css);
  const innerText = (css) => js("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css);
  const visible = async (css) => (await driver.findElements(By.css(css))).length > 0 && el(css).isDisplayed();
  const state = () => js("return document.body.dataset.state ?? ''");
  const errorCode = () => js("return document.body.dataset.errorCode ?? ''");
  const waitState = (states) => waitFor(driver, (s) => s.includes(document.body?.dataset.state), [states], `page state ${states.join("|")}`, TIMEOUT);
  const waitPath = (path) => waitFor(driver, (p) => location.pathname === p && document.readyState !== "loading", [path], `the page ${path}`, TIMEOUT);
  const shot = async (name) => writeFileSync(join(shots, name), await driver.takeScreenshot(), "base64");
  // A fresh start for each test: a blank page (so the next load is a real navigation, never a
  // same-document fragment change) and an empty recording.
  const fresh = async () => {
    await driver.get("about:blank");
    proxy.refuse = null;
    proxy.intercept = null;
    proxy.clear();
  };
  // Taps a product in the partner app; returns the AT the partner backend handed to the app
  // (the launch answer, as the proxy recorded it).
  const launchFromPartner = async (product) => {
    await driver.get(`${base}/partner/`);
    await tap(driver, el(`button[data-product="${product}"]`));
    await waitPath("/h5/index.html");
    const launchRes = proxy.log.filter((e) => e.kind === "response" && isPartnerLaunch(e)).at(-1);
    return launchRes ? JSON.parse(launchRes.body.toString("utf8")).access_token : undefined;
  };
  /** Every distinct VT-shaped string in the page's wasm memory (null if no memory was kept). */
  const vtsInWasmMemory = () =>
    js(
      // Not `instanceof WebAssembly.Memory`: Firefox runs WebDriver scripts in a sandbox whose
      // globals are not the page's.
      `const memory = window.__e2eWasmMemory;
       if (!memory || Object.prototype.toString.call(memory) !== "[object WebAssembly.Memory]") return null;
       const text = new TextDecoder("latin1").decode(new Uint8Array(memory.buffer));
       return [...new Set(text.match(new RegExp(arguments[0], "g")) ?? [])];`,
      VT_PATTERN,
    );

  const expected = productFromCatalogue(PRODUCT);
  const expectedFields = (expected.sections ?? []).flatMap((s) => s.fields ?? []);
  let firstAt;
  let firstH5Url;
  try {
    await test(`[${engine}] partner app → H5 page: exchange, render, quote, nothing in clear on the wire`, async () => {
      await fresh();
      await driver.get(`${base}/partner/`);
      const size = await js("return [innerWidth, innerHeight, devicePixelRatio]");
      check(`the partner app's viewport is ${VIEWPORT.width}×${VIEWPORT.height} CSS px at device pixel ratio 2`, size[0] === VIEWPORT.width && size[1] === VIEWPORT.height && size[2] === 2, size.join(" "));
      await shot("1-partner-app.png");

      const at = await launchFromPartner(PRODUCT);
      firstAt = at;
      check("partner backend handed an AT to the app", typeof at === "string" && at.length > 0);
      firstH5Url = `${base}/h5/index.html?product=${PRODUCT}#at=${encodeURIComponent(at)}`;

      await waitState(["ready", "error"]);
      const st = await state();
      if (!check("H5 page opened a session", st === "ready", `state ${st} ${await errorCode()}`)) {
        await shot("2-h5-page.png");
        return;
      }

      // The page shows the catalogue's page data.
      const title = await textOf("#title");
      check("title from the catalogue", title?.trim() === expected.title, title);
      if (expected.subtitle) check("subtitle from the catalogue", (await textOf("#subtitle"))?.trim() === expected.subtitle);
      const sectionsText = await innerText("#sections");
      const missing = expectedFields.filter((f) => !sectionsText.includes(String(f.label)) || !sectionsText.includes(String(f.value)));
      check(`all ${expectedFields.length} fields (label and value) shown`, expectedFields.length > 0 && missing.length === 0, JSON.stringify(missing));
      if (expected.theme?.primary) {
        const themed = await js('return getComputedStyle(document.documentElement).getPropertyValue("--theme-primary").trim()');
        check("theme colour applied", themed.toLowerCase() === String(expected.theme.primary).toLowerCase(), themed);
      }

      // The VT the exchange issued, from the wasm memory while the session is open (close() and
      // pagehide zeroize it). Exactly one, so the wire check below cannot pass on nothing.
      const vts = await vtsInWasmMemory();
      check("the SDK's wasm memory was kept by the test's page script", vts !== null);
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
      const where = await js("return { href: location.href, hash: location.hash, html: document.documentElement.outerHTML, history: JSON.stringify(history.state ?? null), storage: JSON.stringify({ ...localStorage, ...sessionStorage }) }");
      check("AT no longer in the URL", !where.href.includes(at) && !where.href.includes(encodeURIComponent(at)) && !/[#&]at=/.test(where.hash), where.href);
      check("AT not in the DOM, history state or web storage", ![where.html, where.history, where.storage].some((s) => s.includes(at)));
      const width = await js("return document.documentElement.scrollWidth");
      check("fits 375 px without horizontal scrolling", width <= 375, `scrollWidth ${width}`);
      await shot("2-h5-page.png");

      // One service call through the session.
      // quote: interest_cents = floor(amount_cents × rate_bps × months / 120000)
      const amountCents = 2_500_000;
      const months = 12;
      const interest = Math.floor((amountCents * expected.rate_bps * months) / 120_000);
      const money = (c) => "¥" + (c / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      const amount = el("#amount");
      await amount.clear();
      await amount.sendKeys(String(amountCents / 100));
      check("amount typed", (await amount.getProperty("value")) === String(amountCents / 100), await amount.getProperty("value"));
      await new Select(el("#months")).selectByValue(String(months));
      await tap(driver, el("#quote-submit"));
      await waitFor(driver, () => document.body.dataset.quote === "done" || !document.getElementById("quote-error").hidden, [], "the quote", TIMEOUT);
      const quoteText = (await innerText("#quote-result")).trim();
      check(
        `quote call returned its result on the page (interest ${money(interest)}, total ${money(amountCents + interest)})`,
        (await visible("#quote-result")) && quoteText.includes(money(interest)) && quoteText.includes(money(amountCents + interest)),
        quoteText || (await innerText("#quote-error")),
      );
      await shot("3-h5-quote.png");

      const timeline = await innerText("#timeline");
      check("timeline shows the steps (secret generated, AT sealed, gateway answered, response opened)", /Secret generated.*AT sealed/.test(timeline) && /Gateway answered/.test(timeline) && /Response opened/.test(timeline), timeline);
      check("timeline shows no token", !timeline.includes(at));

      // Everything the H5 page loaded or sent went through the proxy: its navigation and every
      // Resource Timing entry are on the proxy's origin (the CSP allows no other).
      const loaded = await js('return [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].map((e) => e.name)');
      const elsewhere = loaded.filter((u) => new URL(u).origin !== base);
      check(`every request of the H5 page went through the recording proxy (${loaded.length} in Resource Timing)`, loaded.length >= 4 && elsewhere.length === 0, elsewhere.join(", "));

      // On the wire.
      const log = proxy.log;
      const h5 = log.filter((e) => !isPartnerLaunch(e));
      const paths = log.filter((e) => e.kind === "request").map((e) => `${e.method} ${pathOf(e)}`);
      check("the page called /v1/exchange and /v1/call", paths.includes("POST /v1/exchange") && paths.includes("POST /v1/call"), paths.join(", "));
      const exReq = log.find((e) => e.kind === "request" && pathOf(e) === "/v1/exchange");
      check("exchange request is an encapsulated request", exReq?.headers["content-type"] === "application/vnd.h5-access.exchange-req" && exReq.body.length > 7 + 32 + 16, exReq?.headers["content-type"]);
      check("the AT reached the app only from the partner backend (launch response)", log.filter((e) => contains(e.body, at)).every(isPartnerLaunch) && log.some((e) => contains(e.body, at)));
      // The proxy sees what HTTP sends: the request target (no fragment) and the headers.
      const sent = (e) => e.url + JSON.stringify(e.headers);
      check("no request URL or header carries the AT (the fragment is never sent)", log.every((e) => !sent(e).includes(at) && !sent(e).includes(encodeURIComponent(at))));
      const api = log.filter((e) => e.kind === "response" && pathOf(e).startsWith("/v1/"));
      check(`every gateway API response body was captured (${api.length})`, api.length >= 2 && api.every((e) => e.body !== null && e.body.length > 0));
      check(`no request or response body of the H5 page carries the AT (${h5.length} messages inspected)`, h5.every((e) => !contains(e.body, at) && !contains(e.body, encodeURIComponent(at))));
      // The title is checked against every body, static files included; short values (digits,
      // units) only against the dynamic ones, where a match cannot be a coincidence with page code.
      const dynamic = log.filter((e) => /^\/(v1|demo)\//.test(pathOf(e)));
      const titleLeak = log.some((e) => contains(e.body, expected.title));
      const values = expectedFields.map((f) => String(f.value)).filter((v) => v.length >= 3);
      const leaks = values.filter((v) => dynamic.some((e) => contains(e.body, v)));
      check("page data (title, field values) never on the wire in clear", !titleLeak && leaks.length === 0, JSON.stringify({ titleLeak, leaks }));
      // The call's JSON body and answer, had they travelled in clear, would carry these.
      const callClear = ["amount_cents", "interest_cents", "total_cents", String(amountCents), String(interest)];
      const quoteLeaks = callClear.filter((s) => dynamic.some((e) => contains(e.body, s)));
      check("quote request and answer never on the wire in clear", quoteLeaks.length === 0, JSON.stringify(quoteLeaks));
      // The VT travels only inside HPKE: the exchange answer brings it sealed, every call carries it
      // sealed. Neither its string nor its bytes may be anywhere on the wire.
      const callReqs = log.filter((e) => e.kind === "request" && pathOf(e) === "/v1/call");
      check(`the service call's request was recorded with its body (${callReqs.length})`, callReqs.length >= 1 && callReqs.every((e) => e.body.length > 0));
      if (vt !== null) {
        const vtOnWire = log.filter(
          (e) => sent(e).includes(vt) || sent(e).includes(encodeURIComponent(vt)) || contains(e.body, vt) || e.body.includes(vtBytes),
        );
        check(
          `the VT is in no request URL, header or body and no response header or body (${log.length} messages, ${callReqs.length} call request(s) inspected)`,
          vtOnWire.length === 0,
          vtOnWire.map((e) => `${e.kind} ${e.url}`).join(", "),
        );
      }
      check("no uncaught error or CSP violation on the pages", proxy.reports.length === 0, proxy.reports.join("; "));
    });

    await test(`[${engine}] reusing the same AT shows AT_USED`, async () => {
      if (!check("an AT from the first test", !!firstH5Url)) return;
      await fresh();
      await driver.get(firstH5Url);
      await waitState(["ready", "error"]);
      check("page shows AT_USED", (await errorCode()) === "AT_USED", await errorCode());
      check("message says the link was already used", /already used/i.test(await innerText("#error")));
      check("a way back to the partner app", (await js('return document.querySelector("#error-back").getAttribute("href")')) === "/partner/" && (await visible("#error-back")));
      check("AT removed from the URL on the error path too", !(await driver.getCurrentUrl()).includes(encodeURIComponent(firstAt)));
      await shot("4-h5-at-used.png");
      await tap(driver, el("#error-back"));
      await waitPath("/partner/");
      check("back lands in the partner app", await visible('button[data-product="wealth-01"]'));
      check("no uncaught error on the pages", proxy.reports.length === 0, proxy.reports.join("; "));
    });

    await test(`[${engine}] gateway unreachable shows NETWORK, and retry then opens the page`, async () => {
      await fresh();
      proxy.refuse = (path) => path === "/v1/exchange";
      await launchFromPartner("loan-02");
      await waitState(["ready", "error"]);
      check("page shows NETWORK", (await errorCode()) === "NETWORK", await errorCode());
      check("message says the service can't be reached", /can't reach/i.test(await innerText("#error")));
      check("a retry button", await visible("#error-retry"));
      const tl = await innerText("#timeline");
      check("timeline says the gateway did not answer (not that it answered)", /No answer from the gateway/.test(tl) && !/Gateway answered/.test(tl), tl);
      await shot("5-h5-network.png");
      proxy.refuse = null;
      await tap(driver, el("#error-retry"));
      await waitState(["ready"]);
      check("retry with the unconsumed AT opens the page", (await textOf("#title"))?.trim() === productFromCatalogue("loan-02").title);
    });

    for (const [what, answer, code, message] of [
      ["a captive portal's 200 text/html", { status: 200, type: "text/html", body: "<!doctype html><title>Wi-Fi sign-in</title><p>Sign in" }, "BAD_RESPONSE", /Check your Wi-Fi sign-in/],
      ["a proxy's 502", { status: 502, type: "text/html", body: "<html><body>502 Bad Gateway</body></html>" }, "HTTP_STATUS", /service is unavailable/i],
    ]) {
      await test(`[${engine}] ${what} in the exchange's place offers Try again, which then opens the page`, async () => {
        await fresh();
        proxy.intercept = (path) => (path === "/v1/exchange" ? answer : null);
        await launchFromPartner("card-03");
        await waitState(["ready", "error"]);
        check(`page shows ${code}`, (await errorCode()) === code, await errorCode());
        check("reason NOT_GATEWAY", (await js("return document.body.dataset.errorReason ?? ''")) === "NOT_GATEWAY");
        check("the message", message.test(await innerText("#error")), await innerText("#error"));
        check("a Try again button", await visible("#error-retry"));
        proxy.intercept = null;
        await tap(driver, el("#error-retry"));
        await waitState(["ready"]);
        check("the retry with the same AT opens the page", (await textOf("#title"))?.trim() === productFromCatalogue("card-03").title);
      });
    }

    await test(`[${engine}] reloading the rendered page says the secure session ended`, async () => {
      await fresh();
      await launchFromPartner("wealth-01");
      await waitState(["ready"]);
      await driver.navigate().refresh();
      await waitState(["error"]);
      check("page shows AT_MISSING", (await errorCode()) === "AT_MISSING", await errorCode());
      check("reason RELOADED", (await js("return document.body.dataset.errorReason ?? ''")) === "RELOADED");
      check("the message says the session ended with the reload", /secure session ended when the page reloaded; reopen it from the app/i.test(await innerText("#error")), await innerText("#error"));
      check("no Try again", !(await visible("#error-retry")));
      check("no request to the gateway API after the reload", !(await js('return performance.getEntriesByType("resource").some((e) => e.name.includes("/v1/"))')));
      await shot("8-h5-reloaded.png");
    });

    await test(`[${engine}] an expired AT shows AT_EXPIRED with a way back`, async () => {
      await fresh();
      const res = await fetch(`${gatewayUrl}/test/access-token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ subject: "demo-user", products: [PRODUCT], ttl_seconds: -600 }),
      });
      const { access_token: expiredAt } = await res.json();
      check("test hook minted an expired AT", res.ok && typeof expiredAt === "string");
      await driver.get(`${base}/h5/index.html?product=${PRODUCT}#at=${encodeURIComponent(expiredAt)}`);
      await waitState(["ready", "error"]);
      check("page shows AT_EXPIRED", (await errorCode()) === "AT_EXPIRED", await errorCode());
      check("message says the link expired, with a way back", /expired/i.test(await innerText("#error")) && (await visible("#error-back")));
      await shot("6-h5-at-expired.png");
    });

    await test(`[${engine}] H5 page opened without an AT shows AT_MISSING`, async () => {
      await fresh();
      await driver.get(`${base}/h5/index.html?product=${PRODUCT}`);
      await waitState(["error"]);
      check("page shows AT_MISSING", (await errorCode()) === "AT_MISSING");
      check("no reason: opened, not reloaded", (await js("return document.body.dataset.errorReason ?? ''")) === "");
      check("no request to the gateway API", !(await js('return performance.getEntriesByType("resource").some((e) => e.name.includes("/v1/"))')));
      check("nor on the wire", !proxy.log.some((e) => pathOf(e).startsWith("/v1/")));
      await shot("7-h5-no-at.png");
    });
  } finally {
    await b.quit();
  }
}

// ------------------------------------------------------------------------------------------------
const engines = selectedEngines();
const { child: gateway, url: gatewayUrlP } = startGateway();
let proxy;
const stopAll = async () => {
  await proxy?.close().catch(() => {});
  if (gateway.exitCode === null) gateway.kill("SIGTERM");
};
process.on("SIGINT", () => stopAll().then(() => process.exit(130)));
process.on("SIGTERM", () => stopAll().then(() => process.exit(143)));

const summary = [];
try {
  const gatewayUrl = await gatewayUrlP;
  proxy = await startRecordingProxy(gatewayUrl);
  console.log(`mock gateway at ${gatewayUrl}; the browsers open it through the recording proxy at ${proxy.url}`);
  rmSync(shotsRoot, { recursive: true, force: true }); // no stale screenshots from an earlier run
  for (const engine of engines) {
    const before = { passed, failed };
    try {
      await runEngine(engine, proxy.url, proxy, gatewayUrl);
    } catch (err) {
      failed++;
      console.log(`  FAIL  ${engine}: ${err?.stack ?? err}`);
    }
    summary.push(`e2e ${engine}: ${passed - before.passed} passed, ${failed - before.failed} failed`);
  }
} catch (err) {
  failed++;
  console.log(`  FAIL  setup: ${err?.stack ?? err}`);
} finally {
  await stopAll();
}

console.log(`\nscreenshots in ${shotsRoot}/{${engines.join(",")}}`);
for (const line of summary) console.log(line);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
