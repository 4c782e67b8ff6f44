// The page both packaging apps run: the README quick start. It reports to window.__h5result.
// `H5` is the package's module namespace; the gateway URL comes in the query (?gw=…), the AT in
// the hash (#at=…), as a partner app would open the page.
export async function run(H5) {
  try {
    const gw = new URLSearchParams(location.search).get("gw");
    const at = H5.takeAccessToken();
    const client = await H5.H5Client.create({ gateway: gw, timeoutMs: 5000 });
    const session = await client.exchange(at, { product: "wealth-01" });
    const quote = await session.call("quote", { amount: 100 });
    session.close();
    let closedCode = null;
    try {
      await session.call("quote", { amount: 1 });
    } catch (e) {
      closedCode = e instanceof H5.H5AccessError ? e.code : "not an H5AccessError";
    }
    window.__h5result = {
      ok: true,
      title: session.page.title,
      amount: quote.amount,
      closedCode,
      clientIsH5Client: client instanceof H5.H5Client,
      urlHasAt: location.href.includes(at),
    };
  } catch (e) {
    window.__h5result = { ok: false, code: e && e.code, message: String(e && e.message) };
  }
}
