// Street lights on demand: lamps on the map (from /actuation/segments, every few seconds)
// and, on a switching's page, its state live from the server's events. Without this
// script the pages still work: the buttons are forms, the switching's page refreshes.
(function () {
  "use strict";
  var ORDER = { requested: 0, queued: 1, sent: 2, acked: 3, confirmed: 4 };
  var box = document.getElementById("switching");
  var state = box ? box.getAttribute("data-state") : null;

  function lit(segment) {
    if (segment.state !== "on") { return false; }
    // on a switching's page: lamps shown on once the command went out, not at the press
    if (box && segment.id === box.getAttribute("data-segment")) {
      return state === "coalesced" || (ORDER[state] || 0) >= ORDER.sent;
    }
    return true;
  }

  // -- the map ------------------------------------------------------------------------------
  var element = document.getElementById("map");
  if (element && window.L) {
    var map = L.map(element, { attributionControl: true });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
    L.control.scale({ imperial: false }).addTo(map);
    var only = element.getAttribute("data-only");
    var layers = {};
    var placed = false;
    var draw = function (segments) {
      var on = [];
      var bounds = [];
      segments.forEach(function (segment) {
        if (only && segment.id !== only) { return; }
        var bright = lit(segment);
        if (bright) { on.push(segment.id); }
        var style = { color: bright ? "#ffd21f" : "#8a93a0", fillColor: bright ? "#ffe680" : "#59606b",
                      weight: bright ? 8 : 5, radius: bright ? 9 : 6, fillOpacity: 0.95 };
        if (!layers[segment.id]) {
          layers[segment.id] = L.geoJSON(segment.geometry, {
            pointToLayer: function (_feature, latlng) { return L.circleMarker(latlng, style); },
            style: function () { return style; }
          }).bindTooltip(segment.name).addTo(map);
        } else {
          layers[segment.id].setStyle(style);
        }
        bounds.push(layers[segment.id].getBounds());
      });
      if (!placed && bounds.length) {
        var all = bounds[0];
        bounds.slice(1).forEach(function (b) { all.extend(b); });
        map.fitBounds(all, { padding: [30, 30], maxZoom: 17 });
        placed = true;
      }
      element.setAttribute("data-lit", on.join(" "));
      element.setAttribute("data-drawn", "true");
    };
    var refresh = function () {
      fetch(element.getAttribute("data-segments"), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (body) { draw(body.segments || []); })
        .catch(function () { /* the next round tries again */ });
    };
    refresh();
    window.setInterval(refresh, 2000);
  }

  // -- one switching, live ------------------------------------------------------------------
  if (!box || !window.EventSource) { return; }
  var status = document.getElementById("licht-status");
  var texts = JSON.parse(document.getElementById("licht-texts").textContent);
  var steps = document.querySelectorAll(".licht-steps li");
  var seen = [];
  var show = function (body) {
    state = body.state;
    if (seen[seen.length - 1] !== state) { seen.push(state); }
    box.setAttribute("data-state", state);
    box.setAttribute("data-seen", seen.join(" "));
    status.setAttribute("data-state", state);
    status.textContent = (texts[state] || state) + (body.reason ? " – " + body.reason : "");
    Array.prototype.forEach.call(steps, function (step) {
      var reached = (ORDER[state] || 0) >= ORDER[step.getAttribute("data-step")];
      step.setAttribute("data-done", reached ? "true" : "false");
    });
  };
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("state", function (event) {
    var body = JSON.parse(event.data);
    show(body);
    if (["confirmed", "failed", "expired", "coalesced"].indexOf(body.state) >= 0) { source.close(); }
  });
  source.onerror = function () { if (source.readyState === EventSource.CLOSED) { return; } };
})();
