/* The situation board: a live list and map of open incidents, and a panel to work one.
 *
 * WS /api/live sends a snapshot, then every incident change this user may see; the server does
 * the filtering. Actions and SOP steps go to the JSON API with the session's CSRF token; the
 * board then updates from the feed (and from the answer, so it never waits on the feed).
 * Everything from the server is written with textContent: no HTML is ever built from data. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("board-config").textContent);
  // Live view (static/js/video.js): who may attach cameras, purpose and clause words.
  var videoEl = document.getElementById("board-video");
  var vcfg = videoEl ? JSON.parse(videoEl.textContent) : { canAttach: false, purposes: {}, clauses: {} };
  var root = document.getElementById("board");
  var listEl = document.getElementById("incident-list");
  var emptyEl = document.getElementById("incident-empty");
  var liveEl = document.getElementById("live-state");
  var OPEN = {};
  cfg.open.forEach(function (s) { OPEN[s] = true; });

  var incidents = {};      // id -> incident dict, open ones only
  var selected = null;     // id of the incident in the detail panel
  var detail = null;       // its full record (GET /api/incidents/{id})
  var map = null, markers = {}, nearLayer = null;
  var retry = 0, rejected = 0, socket = null;

  // ---- helpers ------------------------------------------------------------------------------

  function text(key) { return cfg.text[key] || key; }
  function el(tag, value, cls) {
    var node = document.createElement(tag);
    if (value !== undefined && value !== null) { node.textContent = value; }
    if (cls) { node.className = cls; }
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function statusLabel(s) { return (cfg.statuses[s] || {}).label || s; }
  function statusColour(s) { return (cfg.statuses[s] || {}).colour || "#607d8b"; }
  function badge(status) {
    var b = el("span", statusLabel(status), "status-badge");
    b.setAttribute("data-status", status);
    b.style.backgroundColor = statusColour(status);
    return b;
  }
  // The 112 view: incidents routed (responsible or responding) to the organisations the server names.
  var ROUTED_TO = {};
  (cfg.routedTo || []).forEach(function (o) { ROUTED_TO[o] = true; });
  function routedHere(i) { return !!(ROUTED_TO[i.responsible_org] || ROUTED_TO[i.responding_org]); }
  function shown(i) { return OPEN[i.status] && (cfg.view !== "112" || routedHere(i)); }

  // Times come as ISO text in UTC ("2025-01-02 03:04:05.123456+00:00" or with a T); shown in KST.
  function parseTime(value) {
    if (!value) { return null; }
    var s = String(value).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(s)) { s += "Z"; }
    var d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  }
  var kstParts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
  });
  function kst(value, withDate) {
    var d = parseTime(value);
    if (!d) { return "—"; }
    var p = {};
    kstParts.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    var time = p.hour + ":" + p.minute + ":" + p.second;
    return withDate ? p.year + "-" + p.month + "-" + p.day + " " + time + " KST" : time;
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = cfg.csrf;
    }
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) { data.status = r.status; throw data; }
          return data;
        });
      });
  }
  function problem(err) {
    var m = err && err.message;
    if (m && typeof m === "object") { return (cfg.lang === "en" ? m.en : m.ko) || m.ko || m.en; }
    return text("board.error") + (err && err.status ? " (HTTP " + err.status + ")" : "");
  }

  // ---- the list -----------------------------------------------------------------------------

  function sortKey(i) { return [i.status === "new" ? 0 : 1, -(parseTime(i.created_at) || 0)]; }
  function compare(a, b) {
    var x = sortKey(a), y = sortKey(b);
    return x[0] - y[0] || x[1] - y[1] || b.id - a.id;
  }

  // The title built from labels in the reader's language (the stored title keeps the device's codes).
  function title(i) { return (i.title_label && i.title_label[cfg.lang]) || i.title; }

  function row(i) {
    var tr = el("tr", null, "incident");
    tr.setAttribute("data-id", String(i.id));
    tr.setAttribute("data-status", i.status);
    tr.setAttribute("data-type", i.type);
    tr.setAttribute("tabindex", "0");
    tr.setAttribute("aria-selected", String(i.id === selected));
    var s = el("td", null, "st");
    s.appendChild(badge(i.status));
    tr.appendChild(s);
    var t = el("td", kst(i.occurred_at || i.created_at), "time");
    t.title = kst(i.occurred_at || i.created_at, true);
    tr.appendChild(t);
    tr.appendChild(el("td", cfg.types[i.type] || i.type, "type"));
    tr.appendChild(el("td", title(i), "title"));
    var who = cfg.roles[i.assigned_role] || i.assigned_role || "";
    tr.appendChild(el("td", who + (i.escalation_level ? " ↑" + i.escalation_level : ""), "assigned"));
    tr.addEventListener("click", function () { select(i.id); });
    tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { select(i.id); } });
    return tr;
  }

  function renderList(fresh) {
    var items = Object.keys(incidents).map(function (k) { return incidents[k]; }).filter(shown).sort(compare);
    clear(listEl);
    items.forEach(function (i) {
      var tr = row(i);
      if (fresh && fresh[i.id]) { tr.classList.add("fresh"); }
      listEl.appendChild(tr);
    });
    emptyEl.hidden = items.length > 0;
    document.getElementById("incident-count").textContent = String(items.length);
    root.setAttribute("data-incident-count", String(items.length));
    drawMarkers(items);
  }

  function upsert(i) {
    if (OPEN[i.status]) { incidents[i.id] = i; } else { delete incidents[i.id]; }
  }

  // ---- the map ------------------------------------------------------------------------------

  function startMap() {
    var mapEl = document.getElementById("board-map");
    if (typeof L === "undefined") { mapEl.setAttribute("data-state", "no-leaflet"); return; }
    map = L.map(mapEl, { preferCanvas: false, attributionControl: false, zoomSnap: 0.25, minZoom: 10, maxZoom: 19 })
      .setView([37.5506, 127.0409], 13.5);
    map.createPane("background").style.zIndex = 350;
    nearLayer = L.layerGroup().addTo(map);
    fetch(cfg.boundaryUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (gj) {
        var layer = L.geoJSON(gj, { style: { color: "#37474f", weight: 2.5, fillColor: "#eceff1", fillOpacity: 0.6,
                                             className: "district-boundary", interactive: false, pane: "background" } })
          .addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [12, 12], animate: false });
        mapEl.setAttribute("data-boundary", "drawn");
      })
      .catch(function () { /* the incident markers still show where things are */ })
      .then(function () { mapEl.setAttribute("data-state", "loaded"); });
  }

  function drawMarkers(items) {
    if (!map) { return; }
    var keep = {};
    items.forEach(function (i) {
      if (i.latitude === null || i.longitude === null || i.latitude === undefined) { return; }
      keep[i.id] = true;
      var style = { radius: i.id === selected ? 11 : 8, color: "#ffffff", weight: 2, fillOpacity: 0.95,
                    fillColor: statusColour(i.status) };
      var m = markers[i.id];
      if (m) {
        m.setLatLng([i.latitude, i.longitude]);
        m.setStyle(style);
        m.setRadius(style.radius);
      } else {
        style.className = "inc-marker";
        m = L.circleMarker([i.latitude, i.longitude], style).addTo(map);
        m.on("click", function () { select(i.id); });
        markers[i.id] = m;
      }
      var path = m.getElement && m.getElement();
      if (path) {
        path.setAttribute("data-id", String(i.id));
        path.setAttribute("data-status", i.status);
        path.classList.toggle("selected", i.id === selected);
      }
      m.unbindTooltip();
      m.bindTooltip((cfg.types[i.type] || i.type) + " · " + statusLabel(i.status));
    });
    Object.keys(markers).forEach(function (id) {
      if (!keep[id]) { map.removeLayer(markers[id]); delete markers[id]; }
    });
  }

  function drawNearby(cameras) {
    if (!map) { return; }
    nearLayer.clearLayers();
    cameras.forEach(function (c) {
      var m = L.circleMarker([c.latitude, c.longitude], {
        radius: 5, color: c.may_open ? "#2e7d32" : "#78909c", weight: 2, fillColor: "#ffffff", fillOpacity: 1,
        className: "near-cam " + (c.may_open ? "may-open" : "no-open")
      });
      m.bindTooltip(c.management_number + " · " + Math.round(c.distance_m) + " m " +
                    (cfg.lang === "en" ? c.compass.en : c.compass.ko));
      nearLayer.addLayer(m);
    });
  }

  // ---- the detail panel ----------------------------------------------------------------------

  function select(id) {
    if (selected !== id) { closeLive(); }
    selected = id;
    document.getElementById("detail").setAttribute("data-id", String(id));
    listEl.querySelectorAll("tr.incident").forEach(function (tr) {
      tr.setAttribute("aria-selected", String(tr.getAttribute("data-id") === String(id)));
    });
    var i = incidents[id];
    if (i && map && i.latitude !== null && i.latitude !== undefined) {
      // Close enough to tell the nearby cameras apart (they are drawn once they load).
      map.setView([i.latitude, i.longitude], Math.max(map.getZoom(), 16), { animate: false });
    }
    renderList();
    loadDetail(id);
    loadNearby(id);
  }

  var loading = 0;
  function loadDetail(id) {
    var ticket = ++loading;
    return request("GET", "/api/incidents/" + encodeURIComponent(id)).then(function (d) {
      if (ticket !== loading || selected !== id) { return; }
      detail = d;
      renderDetail(d);
    }).catch(function (err) {
      if (ticket === loading) { showError(problem(err)); }
    });
  }

  function loadNearby(id) {
    var list = document.getElementById("nearby-list");
    clear(list);
    request("GET", "/api/incidents/" + encodeURIComponent(id) + "/cameras?k=10").then(function (cams) {
      if (selected !== id) { return; }
      clear(list);
      if (!cams.length) { list.appendChild(el("li", text("board.nearby.none"), "muted")); }
      cams.forEach(function (c) {
        var li = el("li");
        li.setAttribute("data-camera", c.management_number);
        li.appendChild(el("span", c.management_number, "mono"));
        li.appendChild(document.createTextNode(" " + Math.round(c.distance_m) + " m " +
                                               (cfg.lang === "en" ? c.compass.en : c.compass.ko) + " "));
        var open = el("span", c.may_open ? text("board.nearby.may_open") : text("board.nearby.may_not_open"),
                      c.may_open ? "open-yes" : "open-no");
        open.title = (cfg.lang === "en" ? c.reason.en : c.reason.ko) + " (" + c.clause + ")";
        li.appendChild(open);
        nearbyTools(li, id, c);
        list.appendChild(li);
      });
      drawNearby(cams);
    }).catch(function () {
      if (selected !== id) { return; }
      clear(list);
      list.appendChild(el("li", text("board.nearby.none"), "muted"));
      if (nearLayer) { nearLayer.clearLayers(); }
    });
  }

  // ---- live view from the nearby list ---------------------------------------------------------

  function videoWord(key) {
    var stage = document.getElementById("live-view");
    return window.GwanjeVideo && stage ? window.GwanjeVideo.say(stage, key) : key;
  }
  function clauseText(code) { return code ? "[" + code + "] " + (vcfg.clauses[code] || "") : ""; }

  // "영상 보기" where the caller may open the camera for this incident; otherwise why not and the
  // clause. "사건에 연결" for those who may attach cameras, until the camera is attached.
  function nearbyTools(li, incidentId, c) {
    li.setAttribute("data-may-open", String(!!c.may_open));
    li.setAttribute("data-attached", String(!!c.attached));
    if (c.attached) { li.appendChild(el("span", "· " + videoWord("video.attached"), "attached-mark")); }
    var tools = el("span", null, "near-tools");
    if (c.may_open) {
      var view = el("button", videoWord("video.open"), "primary");
      view.type = "button";
      view.setAttribute("data-view", String(c.id));
      view.addEventListener("click", function () { openLive(incidentId, c); });
      tools.appendChild(view);
    }
    if (vcfg.canAttach && !c.attached && incidents[incidentId]) {
      var attach = el("button", videoWord("video.attach"));
      attach.type = "button";
      attach.setAttribute("data-attach", String(c.id));
      attach.addEventListener("click", function () { attachCamera(incidentId, c, attach); });
      tools.appendChild(attach);
    }
    if (tools.firstChild) { li.appendChild(tools); }
    if (!c.may_open) {
      var why = el("span", (cfg.lang === "en" ? c.reason.en : c.reason.ko) + " — " + clauseText(c.clause), "near-why");
      why.setAttribute("data-clause", c.clause || "");
      li.appendChild(why);
    }
  }

  function attachCamera(incidentId, c, button) {
    showError("");
    button.disabled = true;
    request("POST", "/api/incidents/" + encodeURIComponent(incidentId) + "/attached-cameras", { camera_id: c.id })
      .then(function () { if (selected === incidentId) { loadNearby(incidentId); } })
      .catch(function (err) {
        showError(problem(err) + (err && err.clause ? " — " + clauseText(err.clause) : ""));
        button.disabled = false;
      });
  }

  function openLive(incidentId, c) {
    var stage = document.getElementById("live-view");
    if (!window.GwanjeVideo || !stage) { return; }
    var box = document.getElementById("board-live");
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
    stage.setAttribute("data-camera", String(c.id));
    window.GwanjeVideo.live(stage, {
      cameraId: c.id, purpose: c.purpose, incidentId: incidentId,
      title: c.management_number + " · " + (vcfg.purposes[c.purpose] || c.purpose) + " · " +
             videoWord("video.incident") + " " + incidentId
    });
  }

  function closeLive() {
    var stage = document.getElementById("live-view");
    if (window.GwanjeVideo && stage) { window.GwanjeVideo.stop(stage); }
    var box = document.getElementById("board-live");
    if (box) { box.hidden = true; }
  }

  function showError(message) {
    var box = document.getElementById("detail-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function fact(dl, label, value) {
    if (value === null || value === undefined || value === "") { return; }
    dl.appendChild(el("dt", label));
    dl.appendChild(el("dd", value));
  }

  function renderDetail(d) {
    document.getElementById("detail-hint").hidden = true;
    document.getElementById("detail-body").hidden = false;
    var st = document.getElementById("detail-status");
    st.textContent = statusLabel(d.status);
    st.setAttribute("data-status", d.status);
    st.style.backgroundColor = statusColour(d.status);
    document.getElementById("detail-type").textContent = cfg.types[d.type] || d.type;
    document.getElementById("detail-text").textContent = title(d);
    var dl = document.getElementById("detail-facts");
    clear(dl);
    fact(dl, text("board.occurred"), kst(d.occurred_at, true));
    fact(dl, text("board.assigned"), cfg.roles[d.assigned_role] || d.assigned_role);
    if (d.status === "new" && d.ack_due_at) { fact(dl, text("board.ack_due"), kst(d.ack_due_at, true)); }
    fact(dl, text("board.recognising"), (cfg.organisations[d.recognising_org] || d.recognising_org) + " · " +
         (cfg.roles[d.recognising_role] || d.recognising_role));
    fact(dl, text("board.responding"), (cfg.organisations[d.responding_org] || d.responding_org) + " · " +
         (d.responding_roles || []).map(function (r) { return cfg.roles[r] || r; }).join(", "));
    // The clause the routing rests on (the duty table row, Annex 2), by its name and text.
    if (d.clause) {
      fact(dl, text("board.clause"), cfg.clauses[d.clause] || d.clause);
      dl.lastChild.id = "detail-clause";
      dl.lastChild.setAttribute("data-clause", d.clause);
    }
    if (d.latitude === null || d.latitude === undefined) { fact(dl, "", text("board.no_location")); }
    if (!OPEN[d.status]) { fact(dl, "", text("board.finished")); }
    renderActions(d);
    renderSop(d);
    renderDispatches(d.dispatches || []);
    renderTimeline(d.timeline || []);
  }

  function renderActions(d) {
    var wrap = document.getElementById("detail-actions-wrap");
    var box = document.getElementById("detail-actions");
    clear(box);
    var allowed = cfg.canRespond ? (d.allowed_actions || []) : [];
    wrap.hidden = allowed.length === 0;
    document.getElementById("unit-field").hidden = allowed.indexOf("dispatch") < 0;
    allowed.forEach(function (action) {
      var b = el("button", cfg.actions[action] || action);
      b.type = "button";
      b.setAttribute("data-action", action);
      // An action that finishes the incident cannot be undone: confirm.js asks first.
      if (cfg.confirm[action]) { b.setAttribute("data-confirm", cfg.confirm[action]); }
      b.addEventListener("click", function () { act(d.id, action, b); });
      box.appendChild(b);
    });
  }

  function act(id, action, button) {
    var unitInput = document.getElementById("dispatch-unit");
    var noteInput = document.getElementById("action-note");
    var body = {};
    if (noteInput.value.trim()) { body.note = noteInput.value.trim(); }
    if (action === "dispatch") {
      var unit = unitInput.value.trim();
      if (!unit) {
        showError(text("board.unit_required"));
        unitInput.focus();
        return;
      }
      body.unit = unit;
    }
    showError("");
    button.disabled = true;
    request("POST", "/api/incidents/" + encodeURIComponent(id) + "/actions/" + encodeURIComponent(action), body)
      .then(function (i) {
        noteInput.value = "";
        unitInput.value = "";
        upsert(i);
        renderList();
        // Taking an incident changes which nearby cameras the caller may open (Art. 9 ⑤).
        if (selected === id) { loadDetail(id); loadNearby(id); }
      })
      .catch(function (err) { showError(problem(err)); button.disabled = false; });
  }

  function renderSop(d) {
    var list = document.getElementById("sop-list");
    // Rebuild only when a step or the incident's state changed: a live update of something else
    // must not replace the buttons under the operator's pointer.
    var sig = [d.id, d.status, cfg.canRespond].concat((d.sop || []).map(function (s) {
      return s.code + ":" + (s.done ? "done" : s.skipped ? "skipped" : "todo");
    })).join("|");
    if (list.getAttribute("data-sig") === sig) { return; }
    list.setAttribute("data-sig", sig);
    // The panel re-renders on every change of the incident: keep a half-typed skip reason.
    var typing = {};
    list.querySelectorAll(".skip-form").forEach(function (f) {
      if (!f.hidden) {
        var input = f.querySelector("input");
        typing[f.parentNode.getAttribute("data-step")] = { value: input.value, focus: document.activeElement === input };
      }
    });
    if (list.getAttribute("data-id") !== String(d.id)) { typing = {}; }
    list.setAttribute("data-id", String(d.id));
    clear(list);
    var workable = cfg.canRespond && OPEN[d.status];
    (d.sop || []).forEach(function (step) {
      var state = step.done ? "done" : step.skipped ? "skipped" : "todo";
      var li = el("li");
      li.setAttribute("data-step", step.code);
      li.setAttribute("data-state", state);
      li.appendChild(el("span", cfg.lang === "en" ? step.en : step.ko, "step-label"));
      if (step.required) { li.appendChild(el("span", text("board.sop.required"), "step-required")); }
      if (state !== "todo") {
        li.appendChild(el("span", text(state === "done" ? "board.sop.done" : "board.sop.skipped"), "step-state"));
      }
      if (workable && state !== "done") {
        var tools = el("div", null, "step-tools");
        var tick = el("button", text("board.sop.tick"));
        tick.type = "button";
        tick.setAttribute("data-sop", "tick");
        tick.addEventListener("click", function () { step_(d.id, step.code, {}, tick); });
        tools.appendChild(tick);
        var form = el("form", null, "skip-form");
        form.hidden = true;
        var reason = el("input");
        reason.placeholder = text("board.sop.skip_reason");
        reason.setAttribute("aria-label", text("board.sop.skip_reason"));
        reason.maxLength = 2000;
        reason.required = true;
        var ok = el("button", text("board.send"));
        ok.type = "submit";
        form.appendChild(reason);
        form.appendChild(ok);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          if (reason.value.trim()) { step_(d.id, step.code, { skip_reason: reason.value.trim() }, ok); }
        });
        if (state !== "skipped") {
          var skip = el("button", text("board.sop.skip"));
          skip.type = "button";
          skip.setAttribute("data-sop", "skip");
          skip.addEventListener("click", function () { form.hidden = !form.hidden; if (!form.hidden) { reason.focus(); } });
          tools.appendChild(skip);
        }
        li.appendChild(tools);
        li.appendChild(form);
        if (typing[step.code] && state === "todo") {
          form.hidden = false;
          reason.value = typing[step.code].value;
          if (typing[step.code].focus) { setTimeout(function () { reason.focus(); }, 0); }
        }
      }
      list.appendChild(li);
    });
  }

  function step_(id, code, body, button) {
    showError("");
    button.disabled = true;
    request("POST", "/api/incidents/" + encodeURIComponent(id) + "/sop/" + encodeURIComponent(code), body)
      .then(function (i) { upsert(i); renderList(); if (selected === id) { loadDetail(id); } })
      .catch(function (err) { showError(problem(err)); button.disabled = false; });
  }

  function renderDispatches(rows) {
    var list = document.getElementById("dispatch-list");
    clear(list);
    document.getElementById("dispatch-heading").hidden = rows.length === 0;
    rows.forEach(function (x) {
      list.appendChild(el("li", x.unit + " · " + kst(x.dispatched_at, true) + (x.note ? " · " + x.note : "")));
    });
  }

  function renderTimeline(rows) {
    var list = document.getElementById("timeline");
    clear(list);
    rows.forEach(function (e) {
      var li = el("li");
      li.setAttribute("data-action", e.action);
      li.appendChild(el("span", kst(e.at), "when"));
      var what = cfg.actions[e.action] || cfg.events[e.action] || e.action;
      // "접수 → 접수" says nothing: name the new status only where it reads differently.
      if (e.to_status && e.from_status !== e.to_status && statusLabel(e.to_status) !== what) {
        what += " → " + statusLabel(e.to_status);
      }
      li.appendChild(el("strong", what));
      var who = ((e.actor_label && e.actor_label[cfg.lang]) || e.actor_name) + (e.role ? " (" + (cfg.roles[e.role] || e.role) + ")" : "");
      li.appendChild(document.createTextNode(" · " + who));
      if (e.note) { li.appendChild(el("span", e.note, "note")); }
      list.appendChild(li);
    });
  }

  // ---- the live feed ---------------------------------------------------------------------------

  function setLive(state, key) {
    root.setAttribute("data-live", state);
    liveEl.textContent = text(key || "board.live." + state);
  }

  function alertBox(message) {
    var list = document.getElementById("alerts");
    var li = el("li", (cfg.lang === "en" ? message.en : message.ko) || "");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 5) { list.removeChild(list.lastChild); }
  }

  var refreshTimer = null;
  function refreshSelected() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { if (selected !== null) { loadDetail(selected); } }, 150);
  }

  function handle(msg) {
    if (msg.kind === "snapshot") {
      incidents = {};
      msg.incidents.forEach(upsert);
      renderList();
      if (selected !== null) { refreshSelected(); }
    } else if (msg.kind === "incident") {
      var i = msg.incident, fresh = {};
      upsert(i);
      if (msg.change === "created") { fresh[i.id] = true; }
      renderList(fresh);
      if (i.id === selected) { refreshSelected(); }
    } else if (msg.kind === "alert") {
      alertBox(msg.message || {});
    } else if (msg.kind === "inbox.rejected") {
      rejected += 1;
      document.getElementById("rejected").hidden = false;
      document.getElementById("rejected-count").textContent = String(rejected);
    } else if (msg.kind === "ping") {
      root.setAttribute("data-last-ping", msg.at);
    }
  }

  function connect() {
    setLive("connecting");
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + cfg.liveUrl);
    socket = ws;
    ws.onopen = function () { retry = 0; setLive("open"); };
    ws.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      handle(msg);
    };
    ws.onclose = function (e) {
      if (socket !== ws) { return; }
      if (e.code === 4401) {
        location.href = "/login?next=" + encodeURIComponent(location.pathname);
        return;
      }
      if (e.code === 4403) { setLive("forbidden", "board.live.forbidden"); return; }
      setLive("closed");
      // Back off 1, 2, 4 … 30 s; a reconnect brings a fresh snapshot, so nothing is lost.
      setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, retry++)));
    };
  }

  function start() {
    var closeButton = document.getElementById("board-live-close");
    if (closeButton) { closeButton.addEventListener("click", closeLive); }
    document.querySelectorAll(".status-legend .swatch").forEach(function (s) {
      s.style.backgroundColor = statusColour(s.getAttribute("data-status"));
    });
    startMap();
    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
