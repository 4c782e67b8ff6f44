// The partner app (steps A–C of docs/PROTOCOL.md §1). In a real deployment this is native code in
// the third party's app: it asks the partner's own backend for an access token (AT), then opens
// the provider's H5 page in a webview with the AT in the URL fragment. Here the mock gateway also
// plays the partner backend at POST /demo/partner/launch.

const H5_PAGE = "/h5/index.html";
const statusEl = document.getElementById("status");
const buttons = [...document.querySelectorAll("button.product")];

function setStatus(text, kind = "") {
  statusEl.textContent = text;
  statusEl.className = "status" + (kind ? " " + kind : "");
}

async function launch(product) {
  buttons.forEach((b) => (b.disabled = true));
  setStatus("Getting an access token from the partner backend…", "busy");
  try {
    const res = await fetch("/demo/partner/launch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ product }),
      cache: "no-store",
    });
    if (!res.ok) throw new Error(`partner backend answered HTTP ${res.status}`);
    const data = await res.json();
    if (typeof data.access_token !== "string" || data.access_token === "") {
      throw new Error("partner backend returned no access token");
    }
    setStatus("Opening the provider's page…", "busy");
    // Step C: the AT goes in the fragment only, never in the path or query.
    const url = `${H5_PAGE}?product=${encodeURIComponent(product)}#at=${encodeURIComponent(data.access_token)}`;
    location.assign(url);
  } catch (err) {
    const offline = err instanceof TypeError; // fetch() rejects with TypeError when unreachable
    setStatus(
      offline
        ? "The partner backend cannot be reached. Check your connection and try again."
        : `Could not open the service: ${err.message}.`,
      "error",
    );
    buttons.forEach((b) => (b.disabled = false));
  }
}

for (const b of buttons) b.addEventListener("click", () => launch(b.dataset.product));

// Coming back from the H5 page with the browser's back button restores this page from the
// back/forward cache with its buttons disabled: re-enable them.
addEventListener("pageshow", () => {
  buttons.forEach((b) => (b.disabled = false));
  setStatus("");
});
