// Time-series chart of one sensor, from the public JSON API that people without SPARQL use.
// A neighbour's pooled sensor has no API here: its page carries the points inline, in the
// API's shape (a <script type="application/json"> named by data-inline).
(function () {
  "use strict";
  var element = document.getElementById("chart");
  if (!element || !window.uPlot) { return; }
  var inline = element.getAttribute("data-inline");
  var loaded;
  if (inline) {
    loaded = Promise.resolve(JSON.parse(document.getElementById(inline).textContent));
  } else if (element.getAttribute("data-dataset")) {
    var days = Number(element.getAttribute("data-days"));
    var from = new Date(Date.now() - days * 86400000).toISOString();
    var url = "/datasets/" + encodeURIComponent(element.getAttribute("data-dataset")) +
      "/observations?sensor=" + encodeURIComponent(element.getAttribute("data-sensor")) +
      "&from=" + encodeURIComponent(from) + "&limit=10000";
    loaded = fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); });
  } else {
    return;
  }
  loaded
    .then(function (body) {
      var series = body.series || [body];
      var times = {};
      series.forEach(function (s) { (s.points || []).forEach(function (p) { times[p.time] = true; }); });
      var xs = Object.keys(times).sort();
      var columns = [xs.map(function (t) { return Date.parse(t) / 1000; })];
      var language = document.documentElement.lang || "de";
      // times in Europe/Berlin and numbers as the page's language writes them (1.234,5)
      var when = new Intl.DateTimeFormat(language === "de" ? "de-DE" : "en-GB", {
        dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Berlin" });
      var number = new Intl.NumberFormat(language === "de" ? "de-DE" : "en-GB");
      var config = [{ label: element.getAttribute("data-time-label") || "Time",
                      value: function (u, v) { return v == null ? "–" : when.format(new Date(v * 1000)); } }];
      var symbols = { DEG_C: "°C", PERCENT_RH: "%", PERCENT: "%", V: "V", CentiM: "cm", W: "W" };
      series.forEach(function (s, index) {
        var byTime = {};
        (s.points || []).forEach(function (p) { byTime[p.time] = Number(p.value); });
        columns.push(xs.map(function (t) { return t in byTime ? byTime[t] : null; }));
        var name = (s.label && (s.label[language] || s.label.de)) || s.property || "value";
        var unit = s.unit ? s.unit.split("/").pop() : "";
        config.push({ label: name + (unit ? " (" + (symbols[unit] || unit) + ")" : ""),
                      value: function (u, v) { return v == null ? "–" : number.format(v); },
                      stroke: ["#0b5d3b", "#8a1c00", "#1f4e9c", "#6b4a00"][index % 4], width: 2 });
      });
      element.setAttribute("data-points", String(xs.length));
      var day = new Intl.DateTimeFormat(language === "de" ? "de-DE" : "en-GB", {
        day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
      var axes = [
        { space: 110, values: function (u, splits) { return splits.map(function (s) { return day.format(new Date(s * 1000)); }); } },
        { values: function (u, splits) { return splits.map(function (v) { return number.format(v); }); } },
      ];
      new uPlot({ width: Math.max(300, element.clientWidth), height: 320, series: config, axes: axes },
                columns, element);
    });
})();
