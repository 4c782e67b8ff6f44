// takeAccessToken under Node.js against pkg/, with a scripted `location` and `history`: which
// parameters are the token, what URL is left, and that no reload (location.replace with another
// query) is ever forced. The real browser behaviour is tests/browser/suite.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as H5 from "../../pkg/index.js";

/**
 * Installs a fake location at `url` and a history whose replaceState moves it (unless
 * `replaceState` is false); returns { loc, reloads, replaces } and removes them afterwards.
 */
function withUrl(url, f, { replaceState = true } = {}) {
  const u = new URL(url, "https://page.test");
  const loc = { pathname: u.pathname, search: u.search, hash: u.hash, reloads: [], replaces: [] };
  const set = (next) => {
    const n = new URL(next, "https://page.test" + loc.pathname + loc.search + loc.hash);
    return n;
  };
  loc.replace = (next) => {
    const n = set(next);
    // location.replace to a URL that differs from the current one in more than the hash reloads.
    if (n.pathname !== loc.pathname || n.search !== loc.search) loc.reloads.push(next);
    loc.replaces.push(next);
    loc.pathname = n.pathname;
    loc.search = n.search;
    loc.hash = n.hash;
  };
  globalThis.location = loc;
  globalThis.history = replaceState
    ? {
        state: null,
        replaceState(_s, _t, next) {
          const n = set(next);
          loc.pathname = n.pathname;
          loc.search = n.search;
          loc.hash = n.hash;
        },
      }
    : undefined;
  try {
    return f(loc);
  } finally {
    delete globalThis.location;
    delete globalThis.history;
  }
}
const missing = (e) => e instanceof H5.H5AccessError && e.code === "AT_MISSING";

test("only the exact parameter is the token; other parameters ending in `at` are kept", () => {
  withUrl("/p#state=x&at=A", (loc) => {
    assert.equal(H5.takeAccessToken(), "A");
    assert.equal(loc.hash, "#state=x");
    assert.deepEqual(loc.reloads, []);
  });
  withUrl("/p#format=1&at=A&date=2", (loc) => {
    assert.equal(H5.takeAccessToken(), "A");
    assert.equal(loc.hash, "#format=1&date=2");
    assert.deepEqual(loc.replaces, [], "no location.replace once replaceState removed the token");
  });
  withUrl("/p#format=1", (loc) => {
    assert.throws(() => H5.takeAccessToken(), missing);
    assert.equal(loc.hash, "#format=1");
    assert.deepEqual(loc.replaces, []);
  });
  withUrl("/p#xat=1&at_=2&cat=3", (loc) => {
    assert.throws(() => H5.takeAccessToken(), missing);
    assert.deepEqual(loc.replaces, []);
  });
});

test("an at in the query is removed and never put back; no reload", () => {
  withUrl("/p?at=Q&x=1#at=H", (loc) => {
    assert.equal(H5.takeAccessToken(), "H");
    assert.equal(loc.search, "?x=1");
    assert.equal(loc.hash, "");
    assert.deepEqual(loc.reloads, []);
  });
  withUrl("/p?at=Q&x=1#format=1&at=H", (loc) => {
    assert.equal(H5.takeAccessToken(), "H");
    assert.equal(loc.search, "?x=1");
    assert.equal(loc.hash, "#format=1");
    assert.deepEqual(loc.reloads, []);
  });
});

test("without history.replaceState: a hash-only location.replace, the query left as it is", () => {
  withUrl(
    "/p?at=Q&x=1#format=1&at=H",
    (loc) => {
      assert.equal(H5.takeAccessToken(), "H");
      assert.equal(loc.hash, "#format=1");
      assert.deepEqual(loc.reloads, [], "a reload would lose the page mid-exchange");
    },
    { replaceState: false },
  );
});
