// Pin on the map for the report form: a progressive enhancement of the latitude and
// longitude fields, which keep working without JavaScript. A tap or click on the map sets
// the pin and fills both fields; the pin can be dragged; with the keyboard, the arrow keys
// move the map and the button puts the pin at its centre (marked by a cross-hair). Typing
// coordinates moves the pin. Tiles only when the operator configured them; otherwise the
// village's boundary is drawn on a plain background, so the resident still sees where.
(function () {
  "use strict";
  var element = document.getElementById("pick-map");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("long");
  var centre = document.getElementById("pick-centre");
  if (!element || !lat || !lon || !window.L) { return; }
  element.hidden = false;
  if (centre) { centre.hidden = false; }
  var hint = document.getElementById("pick-hint");
  if (hint) { hint.hidden = false; }
  var map = L.map(element, { attributionControl: true, keyboard: true });
  var tiles = element.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
  L.control.scale({ imperial: false }).addTo(map);
  var pin = null;

  function number(text) {
    var value = parseFloat(String(text).replace(",", "."));
    return isFinite(value) ? value : null;
  }

  function place(latlng, fill) {
    if (!pin) {
      pin = L.marker(latlng, { draggable: true, keyboard: true,
                               title: element.getAttribute("data-pin-label") || "" }).addTo(map);
      pin.on("dragend", function () { place(pin.getLatLng(), true); });
    } else {
      pin.setLatLng(latlng);
    }
    if (fill) {
      lat.value = latlng.lat.toFixed(5);
      lon.value = latlng.lng.toFixed(5);
    }
    element.setAttribute("data-pin", latlng.lat.toFixed(5) + "," + latlng.lng.toFixed(5));
    var status = document.getElementById("pick-status");
    if (status) {
      status.textContent = (element.getAttribute("data-placed") || "")
        .replace("%(lat)s", latlng.lat.toFixed(5)).replace("%(lon)s", latlng.lng.toFixed(5));
    }
  }

  function fromFields() {
    var a = number(lat.value), b = number(lon.value);
    if (a !== null && b !== null && Math.abs(a) <= 90 && Math.abs(b) <= 180) {
      place(L.latLng(a, b), false);
      return true;
    }
    return false;
  }

  map.on("click", function (event) { place(event.latlng, true); });
  lat.addEventListener("change", fromFields);
  lon.addEventListener("change", fromFields);
  if (centre) {
    centre.addEventListener("click", function () { place(map.getCenter(), true); });
  }
  var hadPin = fromFields();
  map.setView(hadPin ? pin.getLatLng() : [54.6, 9.0], hadPin ? 16 : 9);
  var area = element.getAttribute("data-area");
  if (area) {
    fetch(area, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (areas) {
        var shapes = (areas || []).filter(function (a) { return a.geometry; });
        if (!shapes.length) { return; }
        var layer = L.geoJSON(shapes.map(function (a) { return a.geometry; }), {
          interactive: false, style: { color: "#0b5d3b", weight: 2, fillOpacity: 0.05 }
        }).addTo(map);
        if (!hadPin) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
      })
      .catch(function () { /* the form works without the outline */ });
  }
  element.setAttribute("data-ready", "true");
})();
