"""What the HTML report page is made of besides its content: the security policy, the CSS,
the two page scripts, the inlined Vega bundle, and the escaping of text and specs.

Everything here keeps the page offline and inert: ``CSP`` forbids every network request,
``escape`` HTML-escapes text, ``json_for_script`` embeds a spec as JSON that cannot close its
``<script>`` element, and ``javascript_bundle`` is vl-convert's Vega-Embed + Vega-Lite + Vega
JavaScript (~0.9 MB) with any literal ``</script`` escaped.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache

import vl_convert as vlc

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)
CSP_STATIC = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1280px; padding: 0 1.5em; color: #222; }
h1 { font-size: 1.7em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
p.meta { color: #666; margin-top: 0; }
nav ol { columns: 2; color: #444; }
table { border-collapse: collapse; font-size: .85em; margin: .8em 0; }
th, td { border: 1px solid #ddd; padding: .3em .55em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
div.scroll { overflow-x: auto; }
td.warn { color: #a33; }
.l2m-chart { margin: .6em 0; overflow-x: auto; }
.l2m-chart svg { max-width: 100%; height: auto; }
p.caption { color: #444; max-width: 60em; }
details pre { white-space: pre-wrap; font-size: .9em; max-width: 60em; }
#l2m-errors { color: #a00; background: #fee; padding: .5em; }
""".strip()

# Runs first in <head>, before the bundle: records errors and console errors/warnings into the
# page (as well as the console), so a headless browser's DOM dump shows them.
ERROR_COLLECTOR = """
(function () {
  function report(msg) {
    var log = document.getElementById("l2m-errors");
    if (log) { log.textContent += msg + "\\n"; log.hidden = false; }
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
""".strip()

EMBED = """
(function () {
  (window.__l2mEarlyErrors || []).forEach(function (m) { window.__l2mReport(m); });
  var charts = Array.prototype.slice.call(document.querySelectorAll(".l2m-chart[data-spec]"));
  var pending = charts.length;
  function done() {
    pending -= 1;
    if (pending <= 0) { document.body.setAttribute("data-l2m-done", "true"); }
  }
  if (pending === 0) { document.body.setAttribute("data-l2m-done", "true"); }
  if (typeof vegaEmbed !== "function") {
    window.__l2mReport("error: the inlined Vega-Embed library did not load");
    charts.forEach(function (el) { el.setAttribute("data-rendered", "failed"); });
    document.body.setAttribute("data-l2m-done", "true");
    return;
  }
  charts.forEach(function (el) {
    var spec;
    try { spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent); }
    catch (err) {
      el.setAttribute("data-rendered", "failed");
      window.__l2mReport("chart " + el.id + ": bad spec: " + err);
      done();
      return;
    }
    vegaEmbed(el, spec, { renderer: "svg", actions: false })
      .then(function () { el.setAttribute("data-rendered", "true"); })
      .catch(function (err) {
        el.setAttribute("data-rendered", "failed");
        window.__l2mReport("chart " + el.id + ": " + err);
      })
      .then(done);
  });
})();
""".strip()


@lru_cache(maxsize=2)
def javascript_bundle(vl_version: str | None) -> str:
    """vl-convert's bundle of Vega-Embed, Vega-Lite and Vega (computed once per process)."""
    bundle = vlc.javascript_bundle(vl_version=vl_version)
    # a literal "</script" inside the code would end the element early
    return bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def json_for_script(spec: dict) -> str:
    """JSON that cannot break out of a <script> element (and stays valid JSON)."""
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def escape(value: object) -> str:
    """HTML-escaped text (quotes too); None is the empty string."""
    return html.escape("" if value is None else str(value), quote=True)
