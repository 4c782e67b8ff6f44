// The lower bound's H5 script (bench/cycle/run.mjs): the page shape of www/h5/app.js without the
// SDK. The comment below is app.js's own text, so that this file weighs what app.js weighs.
/*APP_JS*/
const $ = (id) => document.getElementById(id);
// The AT leaves the URL, as takeAccessToken does.
history.replaceState(null, "", location.pathname + location.search);
// The .wasm the page preloads is downloaded (never compiled or run).
const wasm = document.querySelector('link[rel="preload"][as="fetch"]').href;
await (await fetch(wasm, { credentials: "same-origin" })).arrayBuffer();
// One POST of the exchange's size; the gateway's answer is not read as a session.
const body = new Uint8Array(window.__exchangeLen || 300);
crypto.getRandomValues(body);
await (
  await fetch("/v1/exchange", {
    method: "POST",
    headers: { "content-type": "application/vnd.h5-access.exchange-req", accept: "application/vnd.h5-access.exchange-res" },
    body,
    cache: "no-store",
    credentials: "omit",
  })
).arrayBuffer();
$("loading").hidden = true;
$("title").textContent = "Steady Growth Fund";
document.title = "Steady Growth Fund";
$("page").hidden = false;
