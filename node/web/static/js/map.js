// Sensor map: markers from /map/sensors.geojson; tiles only when the operator configured them,
// otherwise the markers are drawn on a plain background and still show where sensors are.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.L) { return; }
  var map = L.map(element, { attributionControl: true });
  var tiles = element.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
  L.control.scale({ imperial: false }).addTo(map);
  fetch(element.getAttribute("data-geojson"), { headers: { Accept: "application/geo+json" } })
    .then(function (response) { return response.json(); })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        // the village's own sensors filled green; a neighbour's (property "village") hollow
        // blue, as the legend above the map says
        pointToLayer: function (feature, latlng) {
          if (feature.properties.village) {
            return L.circleMarker(latlng, { radius: 8, color: "#1f4e9c", weight: 3,
                                            fillColor: "#ffffff", fillOpacity: 0.9 });
          }
          return L.circleMarker(latlng, { radius: 8, color: "#0b5d3b", weight: 2, fillOpacity: 0.8 });
        },
        onEachFeature: function (feature, marker) {
          var box = document.createElement("div");
          var name = document.createElement(feature.properties.url ? "a" : "strong");
          if (feature.properties.url) { name.href = feature.properties.url; }
          name.textContent = feature.properties.name;
          box.appendChild(name);
          if (feature.properties.village) {
            var origin = document.createElement("div");
            origin.textContent = feature.properties.village;
            box.appendChild(origin);
          }
          (feature.properties.latest || []).forEach(function (reading) {
            var line = document.createElement("div");
            // "text" and "when" are written by the node in the page's language
            line.textContent = reading.property + ": " + (reading.text || reading.value + " " + reading.unit) +
              (reading.when ? " (" + reading.when + ")" : "");
            box.appendChild(line);
          });
          marker.bindPopup(box);
        }
      }).addTo(map);
      element.setAttribute("data-markers", String(collection.features.length));
      if (collection.features.length) {
        map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 15 });
      } else {
        map.setView([54.6, 9.0], 9);
      }
    });
})();
