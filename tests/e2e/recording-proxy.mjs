// A recording loopback proxy in front of the mock gateway, for the end-to-end test: the browser
// opens the demo through it, so it sees every byte of every request and response of the pages
// (they are same-origin only: their CSP is `connect-src 'self'`), the same in every engine —
// what Chromium's DevTools protocol gave the test before, without depending on one engine.
//
//   - records each request (method, URL as sent, headers, body) and response (status, headers,
//     body, as the gateway sent it) in `log`;
//   - asks the gateway for identity encoding (drops Accept-Encoding), so bodies are checked in
//     clear rather than compressed;
//   - `refuse = (path) => bool`: matching requests get their connection closed without an answer
//     (the browser sees a network error, as if the gateway were unreachable);
//   - `intercept = (path) => ({ status, type, body }) | null`: a matching request is answered by
//     the proxy itself, never forwarded (a captive portal's sign-in page, a proxy's 502);
//   - test-only, never recorded or forwarded: into every HTML page it adds, as the first element
//     of <head>, `<script src="/__e2e/probe.js">` (a classic script, so it runs before the page's
//     modules; same origin, so the page's CSP allows it), which keeps the wasm instance's memory on
//     window and reports uncaught errors, unhandled rejections and CSP violations to
//     POST /__e2e/report, collected in `reports`.
import { request as httpRequest, createServer, Agent } from "node:http";

const PROBE = `// tests/e2e/recording-proxy.mjs: test-only, added to each page by the recording proxy.
(() => {
  const report = (what) => navigator.sendBeacon("/__e2e/report", String(what));
  addEventListener("error", (e) => report("uncaught error: " + e.message + " (" + e.filename + ":" + e.lineno + ")"));
  addEventListener("unhandledrejection", (e) => report("unhandled rejection: " + (e.reason && e.reason.stack ? e.reason.stack : e.reason)));
  addEventListener("securitypolicyviolation", (e) => report("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI));
  // The VT lives only in the SDK's wasm memory: keep the instance's memory where the test can read it.
  const keep = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result && result.instance;
    // The memory export, whatever its (minified, scripts/minify-names.mjs) name.
    const memory = instance && instance.exports && Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory);
    if (memory instanceof WebAssembly.Memory) window.__e2eWasmMemory = memory;
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
})();
`;
const PROBE_TAG = Buffer.from('<script src="/__e2e/probe.js"></script>');

const readAll = (stream) =>
  new Promise((resolve, reject) => {
    const parts = [];
    stream.on("data", (d) => parts.push(d));
    stream.on("end", () => resolve(Buffer.concat(parts)));
    stream.on("error", reject);
  });

/** Inserts the probe right after `<head…>` (or at the start when there is no head tag). */
function withProbe(html) {
  const m = /<head[^>]*>/i.exec(html.toString("latin1"));
  const at = m ? m.index + m[0].length : 0;
  return Buffer.concat([html.subarray(0, at), PROBE_TAG, html.subarray(at)]);
}

const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"]);

/** Starts the proxy on a free loopback port in front of `upstream` (an http:// origin). */
export async function startRecordingProxy(upstream) {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const state = { log: [], reports: [], refuse: null, intercept: null };
  const server = createServer(async (req, res) => {
    try {
      const body = await readAll(req);
      const path = new URL(req.url, "http://x").pathname;
      if (path === "/__e2e/probe.js") {
        res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" });
        return res.end(PROBE);
      }
      if (path === "/__e2e/report") {
        state.reports.push(body.toString("utf8"));
        res.writeHead(204);
        return res.end();
      }
      const url = `${state.url}${req.url}`;
      state.log.push({ kind: "request", url, method: req.method, headers: { ...req.headers }, body });
      if (state.refuse?.(path)) {
        req.socket.destroy();
        return;
      }
      const own = state.intercept?.(path);
      if (own) {
        const out = Buffer.from(own.body, "utf8");
        res.writeHead(own.status, { "content-type": own.type, "content-length": String(out.length) });
        return res.end(out);
      }
      const headers = { ...req.headers, host: target.host };
      delete headers["accept-encoding"];
      for (const h of HOP) delete headers[h];
      const upstreamRes = await new Promise((resolve, reject) => {
        const r = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, resolve);
        r.on("error", reject);
        r.end(body);
      });
      const answer = await readAll(upstreamRes);
      state.log.push({ kind: "response", url, status: upstreamRes.statusCode, headers: { ...upstreamRes.headers }, body: answer });
      const out = /^text\/html/i.test(upstreamRes.headers["content-type"] ?? "") ? withProbe(answer) : answer;
      const outHeaders = { ...upstreamRes.headers, "content-length": String(out.length) };
      for (const h of HOP) delete outHeaders[h];
      res.writeHead(upstreamRes.statusCode, outHeaders);
      res.end(out);
    } catch (e) {
      state.reports.push(`recording proxy: ${e.message}`);
      res.destroy();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${server.address().port}`;
  return {
    url: state.url,
    get log() {
      return state.log;
    },
    get reports() {
      return state.reports;
    },
    /** Forget what was recorded (a new test starts). */
    clear() {
      state.log = [];
      state.reports = [];
    },
    set refuse(fn) {
      state.refuse = fn;
    },
    set intercept(fn) {
      state.intercept = fn;
    },
    close() {
      agent.destroy();
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
