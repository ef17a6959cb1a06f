// Runs first in <head>, before the Vega bundle: records script errors, console errors and
// warnings and every request the security policy blocked into <pre id="l2m-errors"> (as well
// as the console), so a headless browser's DOM dump shows them.
(function () {
  function report(msg) {
    var log = document.getElementById("l2m-errors");
    if (log) { log.textContent += msg + "\n"; log.hidden = false; }
    else { (window.__l2mEarlyErrors = window.__l2mEarlyErrors || []).push(msg); }
  }
  window.__l2mReport = report;
  window.addEventListener("error", function (e) { report("error: " + e.message); });
  document.addEventListener("securitypolicyviolation", function (e) {
    report("blocked by the page's security policy: " + e.blockedURI);
  });
  window.addEventListener("unhandledrejection", function (e) {
    report("unhandled rejection: " + e.reason);
  });
  ["error", "warn"].forEach(function (level) {
    var orig = console[level];
    console[level] = function () {
      report("console." + level + ": " + Array.prototype.join.call(arguments, " "));
      return orig.apply(console, arguments);
    };
  });
})();
