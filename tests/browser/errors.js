// A classic script the suite pages load before their modules: uncaught errors and CSP violations
// go to window.__errors, which tests/browser/run.mjs prints when a page does not finish (the same
// in every engine; WebDriver classic has no console or page-error events).
window.__errors = [];
addEventListener("error", (e) => window.__errors.push(`error: ${e.message} (${e.filename}:${e.lineno})`));
addEventListener("unhandledrejection", (e) => window.__errors.push(`unhandled rejection: ${e.reason && e.reason.stack ? e.reason.stack : e.reason}`));
addEventListener("securitypolicyviolation", (e) => window.__errors.push(`CSP: ${e.violatedDirective} blocked ${e.blockedURI}`));
