/* Console maps: the camera map (#map) and the small map on a camera's page (#camera-map).
 * The background is the district's own GeoJSON shipped with gwanje (boundary, neighbourhoods and their
 * names), so a closed network needs no tile server; a center's internal one is drawn under it when
 * configured. Markers are SVG circle markers (preferCanvas: false) so each one is a DOM element;
 * cameras close together cluster (leaflet.markercluster) and spread apart on a click. */
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

  // Remove spaces and case so "sd-b 001" finds "SD-B-001" and "왕십리로83" finds "왕십리로 83".
  function fold(text) { return String(text || "").toLowerCase().replace(/\s+/g, ""); }

  function fill(text, n) { return String(text || "").replace(/\{count[^}]*\}/, n.toLocaleString()); }

  var KST = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Seoul", year: "numeric", month: "2-digit",
                                               day: "2-digit", hour: "2-digit", minute: "2-digit" });

  // Neighbourhood names as labels, in a pane of their own above the outlines; text only, never HTML.
  function labelNeighbourhoods(map, layer, prop) {
    if (!prop) { return 0; }
    var n = 0;
    layer.eachLayer(function (shape) {
      var name = shape.feature && shape.feature.properties && shape.feature.properties[prop];
      if (!name || !shape.getCenter) { return; }
      var node = el("span", name);
      L.marker(shape.getCenter(), {
        icon: L.divIcon({ className: "nbhd-label", html: node, iconSize: null }),
        interactive: false, keyboard: false, pane: "labels"
      }).addTo(map);
      n += 1;
    });
    return n;
  }

  function cameraMap(mapEl) {
    var cfg = JSON.parse(document.getElementById("map-config").textContent);
    var map = baseMap(mapEl).setView([37.5506, 127.0409], 13.5);
    backgroundPane(map);
    map.createPane("labels").style.zIndex = 360;
    map.createPane("incidents").style.zIndex = 650;
    if (cfg.tiles) {
      // The center's own tile server, where it has one; the shipped outlines are drawn over it.
      L.control.attribution({ prefix: false }).addTo(map);
      L.tileLayer(cfg.tiles.url, { maxZoom: cfg.tiles.maxZoom, attribution: cfg.tiles.attribution || "" }).addTo(map);
    }
    var countEl = document.getElementById("map-count");
    var colour = {}, purposeLabel = {}, groups = {};
    cfg.purposes.forEach(function (p) {
      colour[p.code] = p.colour;
      purposeLabel[p.code] = p.label;
      groups[p.code] = [];
    });
    // Cameras near each other gather into a numbered cluster; cameras at one site never separate by
    // zooming, so a click on their cluster spreads them around it (spiderfy) and each can be clicked.
    var cluster = L.markerClusterGroup({
      maxClusterRadius: 24, showCoverageOnHover: false, spiderfyOnMaxZoom: true, animate: false,
      iconCreateFunction: function (c) {
        var span = el("span", String(c.getChildCount()));
        var box = el("div");
        box.appendChild(span);
        return L.divIcon({ html: box, className: "marker-cluster marker-cluster-small cam-cluster",
                           iconSize: L.point(40, 40) });
      }
    });
    cluster.addTo(map);
    var entries = [];      // {props, marker, number, address} for the search
    var byId = {};         // camera id -> [lat, lon], to place incidents that name only a camera

    if (cfg.neighbourhoodsUrl) {
      getJSON(cfg.neighbourhoodsUrl).then(function (gj) {
        var layer = L.geoJSON(gj, { style: NEIGHBOURHOOD_STYLE }).addTo(map);
        var n = labelNeighbourhoods(map, layer, cfg.neighbourhoodLabel);
        mapEl.setAttribute("data-neighbourhoods", String(n || layer.getLayers().length));
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
      return fill(forms[rule] || forms.other || "{count}", n);
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
        if (!groups[p.primary_purpose]) { groups[p.primary_purpose] = []; }
        groups[p.primary_purpose].push(marker);
        counts[p.primary_purpose] = (counts[p.primary_purpose] || 0) + 1;
        entries.push({ props: p, marker: marker, number: fold(p.management_number), address: fold(p.address) });
        byId[p.id] = [c[1], c[0]];
      });
      Object.keys(groups).forEach(function (code) { cluster.addLayers(groups[code]); });
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
        map.fitBounds(cluster.getBounds(), { padding: [12, 12], animate: false });
      }
      mapEl.setAttribute("data-state", "loaded");
      if (cfg.incidents) { incidentLayer(cfg.incidents); }
    }).catch(function (err) {
      mapEl.setAttribute("data-state", "failed");
      countEl.textContent = cfg.text["map.load_failed"];
      countEl.classList.add("alert");
      if (window.console) { console.error(err); }
    });

    function toggle(code, on) {
      var g = groups[code];
      if (!g) { return; }
      if (on) { cluster.addLayers(g); } else { cluster.removeLayers(g); }
    }
    function boxFor(code) {
      return document.querySelector('#legend-purposes input[type=checkbox][value="' + code + '"]');
    }
    document.querySelectorAll("#legend-purposes input[type=checkbox]").forEach(function (box) {
      box.addEventListener("change", function () { toggle(box.value, box.checked); });
    });
    function all(on) {
      document.querySelectorAll("#legend-purposes input[type=checkbox]").forEach(function (box) {
        if (box.checked !== on) { box.checked = on; toggle(box.value, on); }
      });
    }
    document.getElementById("legend-all-on").addEventListener("click", function () { all(true); });
    document.getElementById("legend-all-off").addEventListener("click", function () { all(false); });

    // ---- search: by management number or address, over the cameras loaded ----------------------
    var SEARCH_SHOWN = 20;
    var input = document.getElementById("map-search");
    var results = document.getElementById("map-search-results");

    function show(entry) {
      var p = entry.props, box = boxFor(p.primary_purpose), m = entry.marker;
      if (box && !box.checked) { box.checked = true; toggle(p.primary_purpose, true); }
      map.closePopup();  // one camera's popup at a time
      // Without animation, so the clusters are rebuilt for the new view before we look at them.
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 17), { animate: false });
      if (!map.hasLayer(m)) {
        // Still inside a cluster (cameras at one site never separate by zooming): spread it out.
        var parent = m.__parent;
        while (parent && !parent._icon) { parent = parent.__parent; }
        if (parent && parent.spiderfy) { parent.spiderfy(); }
      }
      m.openPopup();
      mapEl.setAttribute("data-focused", p.management_number);
    }

    function matches(q) {
      var exact = [], number = [], address = [];
      entries.forEach(function (e) {
        if (e.number === q) { exact.push(e); }
        else if (e.number.indexOf(q) !== -1) { number.push(e); }
        else if (e.address.indexOf(q) !== -1) { address.push(e); }
      });
      return exact.concat(number, address);
    }

    function search() {
      var q = fold(input.value);
      results.textContent = "";
      if (!q) { return []; }
      var found = matches(q);
      if (!found.length) { results.appendChild(el("li", cfg.text["map.search.none"], "muted")); return found; }
      found.slice(0, SEARCH_SHOWN).forEach(function (e) {
        var li = el("li"), b = el("button", null, "link search-hit");
        b.type = "button";
        b.setAttribute("data-number", e.props.management_number);
        b.appendChild(el("span", e.props.management_number, "mono"));
        if (e.props.address) { b.appendChild(el("span", e.props.address, "small muted")); }
        b.addEventListener("click", function () { show(e); });
        li.appendChild(b);
        results.appendChild(li);
      });
      if (found.length > SEARCH_SHOWN) {
        results.appendChild(el("li", fill(cfg.text["map.search.more"], found.length - SEARCH_SHOWN), "muted small"));
      }
      return found;
    }

    var searchTimer = null;
    input.addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(search, 120); });
    document.getElementById("map-search-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(searchTimer);
      var found = search();
      if (found.length) { show(found[0]); }
    });

    // ---- open incidents: the board's live feed, so its visibility rules decide what shows ---------
    function incidentLayer(inc) {
      var layer = L.layerGroup().addTo(map);
      var markers = {};   // incident id -> marker
      var open = {};
      inc.open.forEach(function (s) { open[s] = true; });
      var countNode = document.getElementById("incident-count");
      var feedNode = document.getElementById("incident-feed");

      function where(i) {
        if (i.latitude !== null && i.latitude !== undefined && i.longitude !== null && i.longitude !== undefined) {
          return [i.latitude, i.longitude];
        }
        return i.camera_id !== null && i.camera_id !== undefined ? byId[i.camera_id] || null : null;
      }

      function popup(i) {
        var box = el("div", null, "popup incident-popup");
        box.appendChild(el("strong", inc.types[i.type] || i.type));
        var dl = el("dl");
        function row(label, value) {
          if (!value) { return; }
          dl.appendChild(el("dt", label));
          dl.appendChild(el("dd", value));
        }
        row(cfg.text["field.status"], (inc.statuses[i.status] || {}).label || i.status);
        row(cfg.text["map.incident.occurred"], i.occurred_at ? KST.format(new Date(i.occurred_at)) + " KST" : "");
        box.appendChild(el("p", i.title));
        box.appendChild(dl);
        var link = el("a", cfg.text["map.incident.board"] + " ›");
        link.href = inc.boardUrl;
        box.appendChild(link);
        return box;
      }

      function counted() {
        var n = Object.keys(markers).length;
        countNode.textContent = n.toLocaleString();
        mapEl.setAttribute("data-incident-count", String(n));
      }

      function drop(id) {
        if (markers[id]) { layer.removeLayer(markers[id]); delete markers[id]; }
      }

      function upsert(i) {
        drop(i.id);
        var at = open[i.status] ? where(i) : null;
        if (!at) { return; }
        var pin = el("span", "!");
        pin.style.backgroundColor = (inc.statuses[i.status] || {}).colour || "#c62828";
        var m = L.marker(at, {
          // Anchored below the badge, which stands above the spot: the cameras there stay clickable.
          icon: L.divIcon({ className: "incident-marker inc-status-" + i.status, html: pin,
                            iconSize: L.point(22, 22), iconAnchor: L.point(11, 36) }),
          pane: "incidents", title: inc.types[i.type] || i.type, keyboard: true
        });
        m.on("add", function () {
          var node = m.getElement();
          node.setAttribute("data-incident", String(i.id));
          node.setAttribute("data-at", at[0].toFixed(6) + "," + at[1].toFixed(6));
        });
        m.bindPopup(function () { return popup(i); });
        markers[i.id] = m;
        layer.addLayer(m);
      }

      function replace(list) {
        Object.keys(markers).forEach(drop);
        list.forEach(upsert);
        counted();
      }

      function feed(state) {
        feedNode.setAttribute("data-feed", state);
        feedNode.textContent = cfg.text[state === "live" ? "map.incidents.live" : "map.incidents.polling"];
      }

      var pollTimer = null;
      function poll() {
        clearTimeout(pollTimer);
        getJSON(inc.listUrl).then(replace).catch(function () { /* try again at the next turn */ });
        pollTimer = setTimeout(poll, 30000);
      }

      var retry = 0;
      function connect() {
        if (!window.WebSocket) { feed("polling"); poll(); return; }
        var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + inc.liveUrl);
        ws.onmessage = function (m) {
          var msg;
          try { msg = JSON.parse(m.data); } catch (e) { return; }
          if (msg.kind === "snapshot") {
            retry = 0;
            clearTimeout(pollTimer);
            feed("live");
            replace(msg.incidents || []);
          } else if (msg.kind === "incident" && msg.incident) {
            upsert(msg.incident);
            counted();
          }
        };
        ws.onclose = function (e) {
          // Until the feed is back, the list is fetched every 30 s; a reconnect brings a fresh snapshot.
          feed("polling");
          poll();
          if (e.code === 4401 || e.code === 4403) { return; }
          setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, retry++)));
        };
      }

      var toggleBox = document.getElementById("incidents-toggle");
      toggleBox.addEventListener("change", function () {
        if (toggleBox.checked) { layer.addTo(map); } else { map.removeLayer(layer); }
      });
      connect();
    }
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
