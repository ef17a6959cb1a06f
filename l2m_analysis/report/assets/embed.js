// Draws each chart's inlined Vega-Lite spec with Vega-Embed; marks each container
// data-rendered="true" or "failed" and the body data-l2m-done="true" when all are done.
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
