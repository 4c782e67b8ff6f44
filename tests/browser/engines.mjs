// The three browser engines H5 pages run in, driven through one WebDriver client
// (selenium-webdriver) for every browser suite: tests/browser, tests/package, tests/e2e.
//
//   chromium  Debian's Chromium + chromedriver, headless        (Android WebView, vendor kernels)
//   firefox   Debian's Firefox ESR + geckodriver, headless
//   webkit    Debian's WebKitGTK MiniBrowser + WebKitWebDriver  (iOS WKWebView's engine), under a
//             private Xvfb display: MiniBrowser has no headless mode.
//
// Every process this module starts (driver, Xvfb; the driver starts the browser) gets a free port
// or display, is stopped by `quit()`, and is killed when the Node.js process exits, also on failure.
// `H5_ENGINES=chromium,webkit` narrows a run (default: all three); scripts/test.sh runs all three.
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Capabilities, WebDriver } from "selenium-webdriver";
import firefox from "selenium-webdriver/firefox.js";
import { Executor, HttpClient } from "selenium-webdriver/http/index.js";
import { Pointer } from "selenium-webdriver/lib/input.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ENGINES = ["chromium", "firefox", "webkit"];

const BIN = {
  chromium: process.env.CHROMIUM ?? "/usr/bin/chromium",
  chromedriver: process.env.CHROMEDRIVER ?? "chromedriver",
  firefox: process.env.FIREFOX ?? "/usr/bin/firefox-esr",
  geckodriver: process.env.GECKODRIVER ?? "geckodriver",
  minibrowser: process.env.MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
  webkitdriver: process.env.WEBKITWEBDRIVER ?? "WebKitWebDriver",
};
const STARTUP_MS = 60_000; // the machine is shared and slow at times: generous, never asserted

/** The engines to run: `H5_ENGINES` (comma-separated) or all three. */
export function selectedEngines() {
  const list = (process.env.H5_ENGINES ?? ENGINES.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = list.filter((e) => !ENGINES.includes(e));
  if (unknown.length > 0 || list.length === 0) throw new Error(`H5_ENGINES: unknown engine(s) ${unknown.join(",")}; known: ${ENGINES.join(",")}`);
  return list;
}

// Children to kill if this process exits without quit() (an exception, process.exit()).
const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

function start(cmd, args, { env, log }) {
  const out = openSync(log, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", out, out], env: { ...process.env, ...env } });
  children.add(child);
  child.on("exit", () => children.delete(child));
  child.on("error", () => children.delete(child));
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(t);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on a display number Xvfb itself picks as free (-displayfd); returns {child, display}. */
async function startXvfb(screen, log) {
  const out = openSync(log, "a");
  const child = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp"], { stdio: ["ignore", out, out, "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  const display = await new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("Xvfb did not report a display")), STARTUP_MS);
    child.stdio[3].on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) {
        clearTimeout(timer);
        resolve(`:${buf.trim()}`);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}); see ${log}`));
    });
  });
  return { child, display };
}

async function waitForDriver(url, child, log) {
  const deadline = Date.now() + STARTUP_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`WebDriver server exited (${child.exitCode}); see ${log}`);
    try {
      const r = await fetch(`${url}/status`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebDriver server at ${url} did not answer within ${STARTUP_MS} ms; see ${log}`);
}

// webdriver.json (which the wasm-pack test runner reads too): Chrome args and Firefox prefs that
// keep the browsers from making connections of their own during tests.
const webdriverJson = () => JSON.parse(readFileSync(join(root, "webdriver.json"), "utf8"));
const chromeArgs = () => webdriverJson()["goog:chromeOptions"].args;

function capabilities(engine, viewport) {
  switch (engine) {
    case "chromium": {
      const options = { binary: BIN.chromium, args: ["--headless", "--no-sandbox", ...chromeArgs()] };
      // A phone-sized viewport as an app webview has it: 375×812 CSS px, DPR 2, touch.
      if (viewport) options.mobileEmulation = { deviceMetrics: { width: viewport.width, height: viewport.height, pixelRatio: 2, touch: true } };
      return { browserName: "chrome", "goog:chromeOptions": options };
    }
    case "firefox": {
      const prefs = { ...webdriverJson()["moz:firefoxOptions"].prefs };
      const options = new firefox.Options().setBinary(BIN.firefox).addArguments("-headless");
      if (viewport) {
        // A phone-sized viewport: DPR 2; --kiosk (no toolbar: the page is the whole window) on a
        // headless screen of the viewport's size (MOZ_HEADLESS_WIDTH/HEIGHT, set on the driver, in
        // device px); and a profile whose userChrome.css lifts the browser window's 500 px
        // minimum width, which would otherwise widen the viewport.
        options.addArguments("--kiosk");
        prefs["layout.css.devPixelsPerPx"] = "2.0";
        prefs["ui.useOverlayScrollbars"] = 1; // as on a phone: scrollbars take no width
        prefs["toolkit.legacyUserProfileCustomizations.stylesheets"] = true;
        const profile = join(root, "target", "webdriver", "firefox-profile");
        mkdirSync(join(profile, "chrome"), { recursive: true });
        writeFileSync(join(profile, "chrome", "userChrome.css"), ":root, #main-window, body { min-width: 0 !important; min-height: 0 !important; }\n");
        options.setProfile(profile);
      }
      for (const [k, v] of Object.entries(prefs)) options.setPreference(k, v);
      return options;
    }
    case "webkit":
      // --full-screen: no toolbar, so the web view is the whole (Xvfb) screen, which can be
      // phone-sized; a MiniBrowser window with its toolbar is at least 447 px wide.
      return {
        "webkitgtk:browserOptions": { binary: BIN.minibrowser, args: viewport ? ["--automation", "--full-screen"] : ["--automation"] },
      };
    default:
      throw new Error(`unknown engine ${engine}`);
  }
}

/**
 * Starts `engine` (its driver, and Xvfb for WebKit) and one WebDriver session.
 * `viewport` ({width, height}, CSS px): the page's viewport is set to exactly that (checked).
 * Returns {engine, version, driver, quit}; `label` names the log file under target/webdriver/.
 */
export async function launch(engine, { viewport, label = "run" } = {}) {
  const logs = join(root, "target", "webdriver");
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${label}-${engine}.log`);
  writeFileSync(log, ""); // this run's log only
  const procs = [];
  let driver;
  const quit = async () => {
    if (driver) await driver.quit().catch(() => {});
    driver = undefined;
    for (const p of procs.reverse()) await stop(p);
  };
  try {
    const env = {};
    if (engine === "firefox" && viewport) {
      env.MOZ_HEADLESS_WIDTH = String(viewport.width * 2);
      env.MOZ_HEADLESS_HEIGHT = String(viewport.height * 2);
    }
    if (engine === "webkit") {
      // With a viewport: DPR 2 (GTK's scale), on a screen of the viewport's size in device px.
      const screen = viewport ? `${viewport.width * 2}x${viewport.height * 2}x24` : "1280x1024x24";
      const x = await startXvfb(screen, log);
      procs.push(x.child);
      env.DISPLAY = x.display;
      if (viewport) env.GDK_SCALE = "2";
    }
    let url;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const [cmd, args] = {
        chromium: [BIN.chromedriver, [`--port=${port}`]],
        firefox: [BIN.geckodriver, [`--port=${port}`, "--host=127.0.0.1", "--websocket-port=0"]],
        webkit: [BIN.webkitdriver, [`--port=${port}`, "--host=127.0.0.1"]],
      }[engine];
      const child = start(cmd, args, { env, log });
      procs.push(child);
      url = `http://127.0.0.1:${port}`;
      try {
        await waitForDriver(url, child, log);
        break;
      } catch (e) {
        // A driver that exited may have lost the free port to another process: another port.
        if (attempt === 3 || child.exitCode === null) throw e;
      }
    }
    const caps = capabilities(engine, viewport);
    driver = await WebDriver.createSession(new Executor(new HttpClient(url)), caps instanceof Capabilities ? caps : new Capabilities(caps));
    const got = await driver.getCapabilities();
    const version = `${got.get("browserName")} ${got.get("browserVersion")}`;
    await driver.manage().setTimeouts({ script: STARTUP_MS, pageLoad: STARTUP_MS });
    if (viewport) await setViewport(driver, viewport, engine !== "chromium");
    return { engine, version, driver, quit };
  } catch (e) {
    await quit();
    throw new Error(`${engine}: could not start a WebDriver session: ${e.message}`);
  }
}

/**
 * Sizes the window (when `resize`; Chromium's mobile emulation sets the viewport itself) so that
 * the viewport of a mobile page (`width=device-width`) is exactly `viewport` (innerWidth ×
 * innerHeight); checks it either way.
 */
async function setViewport(driver, { width, height }, resize) {
  await driver.get('data:text/html,<meta name="viewport" content="width=device-width, initial-scale=1"><title>viewport</title>');
  const inner = () => driver.executeScript("return [window.innerWidth, window.innerHeight]");
  if (resize) await driver.manage().window().setRect({ width, height });
  let [w, h] = await inner();
  // Window decorations (none in WebKit's --full-screen or Firefox's --kiosk, but check): grow the
  // window by what the viewport lacks.
  for (let i = 0; resize && i < 5 && (w !== width || h !== height); i++) {
    const rect = await driver.manage().window().getRect();
    // WebDriver takes whole CSS pixels; a window still settling (WebKitGTK's full screen under
    // a loaded machine) can report a fractional or odd size: round, keep it positive, and give
    // it a moment before measuring again.
    const next = (size, want, got) => Math.max(1, Math.round(size + want - got));
    await driver.manage().window().setRect({ width: next(rect.width, width, w), height: next(rect.height, height, h) });
    await driver.sleep(100 * i);
    [w, h] = await inner();
  }
  if (w !== width || h !== height) throw new Error(`viewport is ${w}×${h}, not ${width}×${height}`);
}

/**
 * Waits (generously) until `fn` (a page function, as a string body or function) returns a truthy
 * value; returns it. A script that fails (a page still loading or unloading) is tried again; on
 * timeout the last failure is in the message.
 */
export async function waitFor(driver, fn, args = [], what = "condition", timeout = STARTUP_MS) {
  const body = typeof fn === "function" ? `return (${fn}).apply(null, arguments)` : fn;
  let last;
  const poll = async () => {
    try {
      return (await driver.executeScript(body, ...args)) || false;
    } catch (e) {
      last = e;
      return false;
    }
  };
  return driver.wait(poll, timeout, `timed out waiting for ${what}`).catch((e) => {
    throw new Error(last ? `${e.message} (last script error: ${last.message})` : e.message);
  });
}

/** A touch tap on `element` (W3C pointer actions, pointer type "touch"). */
export async function tap(driver, element) {
  const finger = new Pointer("finger", Pointer.Type.TOUCH);
  await driver.actions({ async: true }).insert(finger, finger.move({ origin: element }), finger.press(), finger.release()).perform();
}
