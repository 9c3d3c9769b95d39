/* Console maps: the camera map (#map) and the small map on a camera's page (#camera-map).
 * No tile server: the district boundary (GeoJSON shipped with gwanje) is the background.
 * Markers are SVG circle markers (preferCanvas: false) so each one is a DOM element. */
(function () {
  "use strict";

  var BOUNDARY_STYLE = { color: "#37474f", weight: 2.5, fillColor: "#eceff1", fillOpacity: 0.6,
                         className: "district-boundary", interactive: false, pane: "background" };
  var NEIGHBOURHOOD_STYLE = { color: "#90a4ae", weight: 1, dashArray: "3 4", fill: false,
                              className: "neighbourhood", interactive: false, pane: "background" };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
        return r.json();
      });
  }

  function baseMap(el, options) {
    return L.map(el, Object.assign({
      preferCanvas: false,
      attributionControl: false,
      zoomSnap: 0.25,
      minZoom: 10,
      maxZoom: 19
    }, options || {}));
  }

  // The district outline and neighbourhoods sit in their own pane under the camera markers.
  function backgroundPane(map) {
    map.createPane("background").style.zIndex = 350;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function popupFor(p, cfg, purposeLabel) {
    var box = el("div", null, "popup");
    box.appendChild(el("strong", p.management_number, "mono"));
    var dl = el("dl");
    function row(label, value) {
      if (!value) { return; }
      dl.appendChild(el("dt", label));
      dl.appendChild(el("dd", value));
    }
    row(cfg.text["field.address"], p.address);
    row(cfg.text["field.primary_purpose"], purposeLabel[p.primary_purpose] || p.primary_purpose);
    row(cfg.text["field.department"], cfg.departments[p.department] || p.department);
    row(cfg.text["field.status"], (cfg.statuses[p.status] || {}).label || p.status);
    box.appendChild(dl);
    var link = el("a", cfg.text["map.detail"] + " ›");
    link.href = "/cameras/" + encodeURIComponent(p.id);
    box.appendChild(link);
    return box;
  }

  function cameraMap(mapEl) {
    var cfg = JSON.parse(document.getElementById("map-config").textContent);
    var map = baseMap(mapEl).setView([37.5506, 127.0409], 13.5);
    backgroundPane(map);
    var countEl = document.getElementById("map-count");
    var colour = {}, purposeLabel = {}, groups = {};
    cfg.purposes.forEach(function (p) {
      colour[p.code] = p.colour;
      purposeLabel[p.code] = p.label;
      groups[p.code] = L.featureGroup();
    });

    // The background layers are the ones the policy names; a policy without them gets none.
    if (cfg.neighbourhoodsUrl) {
      getJSON(cfg.neighbourhoodsUrl).then(function (gj) {
        L.geoJSON(gj, { style: NEIGHBOURHOOD_STYLE }).addTo(map);
      }).catch(function () { /* orientation only; the boundary and cameras matter */ });
    }

    // Fetch both at once but draw in order, without animation: vector layers added while a zoom
    // animation runs are projected at the wrong scale until the next zoom.
    var boundary = cfg.boundaryUrl ? getJSON(cfg.boundaryUrl) : Promise.resolve(null);
    var cameras = getJSON(cfg.camerasUrl);

    function drawBoundary(gj) {
      if (!gj) { return; }
      var layer = L.geoJSON(gj, { style: BOUNDARY_STYLE }).addTo(map);
      layer.bringToBack();
      map.fitBounds(layer.getBounds(), { padding: [12, 12], animate: false });
      mapEl.setAttribute("data-boundary", "drawn");
    }

    function loadedText(n) {
      // One form per plural category ("1 camera", "2 cameras"); Korean has only "other".
      var forms = cfg.loadedForms || {};
      var rule = window.Intl && Intl.PluralRules ? new Intl.PluralRules(cfg.lang).select(n) : "other";
      var text = forms[rule] || forms.other || "{count}";
      return text.replace(/\{count[^}]*\}/, n.toLocaleString());
    }

    function drawCameras(fc) {
      var counts = {};
      fc.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var status = cfg.statuses[p.status] || { colour: "#555" };
        var marker = L.circleMarker([c[1], c[0]], {
          radius: 5,
          color: p.status === "active" ? "#ffffff" : status.colour,
          weight: p.status === "active" ? 1 : 2.5,
          fillColor: colour[p.primary_purpose] || "#555555",
          fillOpacity: 0.9,
          className: "cam-marker cam-" + p.primary_purpose + " cam-status-" + p.status
        });
        marker.bindPopup(function () { return popupFor(p, cfg, purposeLabel); });
        if (!groups[p.primary_purpose]) { groups[p.primary_purpose] = L.featureGroup(); }
        groups[p.primary_purpose].addLayer(marker);
        counts[p.primary_purpose] = (counts[p.primary_purpose] || 0) + 1;
      });
      Object.keys(groups).forEach(function (code) { groups[code].addTo(map); });
      document.querySelectorAll("[data-count-for]").forEach(function (node) {
        node.textContent = (counts[node.getAttribute("data-count-for")] || 0).toLocaleString();
      });
      document.querySelectorAll("#legend-purposes li").forEach(function (li) {
        if (!counts[li.getAttribute("data-purpose")]) { li.classList.add("empty"); }
      });
      var n = fc.features.length;
      countEl.textContent = loadedText(n);
      mapEl.setAttribute("data-camera-count", String(n));
    }

    Promise.all([boundary, cameras]).then(function (loaded) {
      drawBoundary(loaded[0]);
      drawCameras(loaded[1]);
      if (!loaded[0] && loaded[1].features.length) {
        // No district outline to frame the map: frame the cameras instead.
        var all = L.featureGroup(Object.keys(groups).map(function (code) { return groups[code]; }));
        map.fitBounds(all.getBounds(), { padding: [12, 12], animate: false });
      }
      mapEl.setAttribute("data-state", "loaded");
    }).catch(function (err) {
      mapEl.setAttribute("data-state", "failed");
      countEl.textContent = cfg.text["map.load_failed"];
      countEl.classList.add("alert");
      if (window.console) { console.error(err); }
    });

    function toggle(code, on) {
      var g = groups[code];
      if (!g) { return; }
      if (on) { g.addTo(map); } else { map.removeLayer(g); }
    }
    document.querySelectorAll("#legend-purposes input[type=checkbox]").forEach(function (box) {
      box.addEventListener("change", function () { toggle(box.value, box.checked); });
    });
    function all(on) {
      document.querySelectorAll("#legend-purposes input[type=checkbox]").forEach(function (box) {
        box.checked = on;
        toggle(box.value, on);
      });
    }
    document.getElementById("legend-all-on").addEventListener("click", function () { all(true); });
    document.getElementById("legend-all-off").addEventListener("click", function () { all(false); });
  }

  function miniMap(mapEl) {
    var lat = parseFloat(mapEl.getAttribute("data-lat"));
    var lon = parseFloat(mapEl.getAttribute("data-lon"));
    var map = baseMap(mapEl, { minZoom: 11 }).setView([lat, lon], 16);
    backgroundPane(map);
    var boundaryUrl = mapEl.getAttribute("data-boundary-url");
    if (boundaryUrl) {
      getJSON(boundaryUrl).then(function (gj) {
        L.geoJSON(gj, { style: BOUNDARY_STYLE }).addTo(map).bringToBack();
        mapEl.setAttribute("data-boundary", "drawn");
      }).catch(function () { /* the marker alone still locates the camera */ });
    }
    var deg = mapEl.getAttribute("data-direction-deg");
    if (deg !== "") {
      // A short line shows which way the camera looks (bearing, clockwise from north).
      var rad = parseFloat(deg) * Math.PI / 180, len = 0.0006;
      L.polyline([[lat, lon], [lat + len * Math.cos(rad), lon + len * Math.sin(rad) / Math.cos(lat * Math.PI / 180)]],
                 { color: "#263238", weight: 2, className: "cam-direction" }).addTo(map);
    }
    L.circleMarker([lat, lon], { radius: 8, color: "#ffffff", weight: 2, fillOpacity: 1,
                                 fillColor: mapEl.getAttribute("data-colour") || "#1565c0",
                                 className: "cam-marker" }).addTo(map);
    mapEl.setAttribute("data-state", "loaded");
  }

  function start() {
    if (typeof L === "undefined") {
      document.querySelectorAll("#map, #camera-map").forEach(function (m) { m.setAttribute("data-state", "no-leaflet"); });
      return;
    }
    var big = document.getElementById("map");
    if (big) { cameraMap(big); }
    var mini = document.getElementById("camera-map");
    if (mini) { miniMap(mini); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
