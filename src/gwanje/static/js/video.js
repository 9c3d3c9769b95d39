/* Pictures in the console: live MJPEG in an <img>, snapshots, playback in a <video>, export.
 *
 * The video API authorises (and audits) every opening by itself and answers a refusal with 403,
 * the message in Korean and English and the clause it rests on. An <img> or <video> cannot read
 * that answer, so when one fails the same URL is asked once more with fetch() to show the user
 * why. Nothing is asked before opening: a pre-check would put a second "viewed" row in the
 * ledger for every view.
 *
 * A "stage" is any element with data-video-stage, data-text (JSON) and data-lang, holding
 * [data-role=live|clip|title|status|refusal|refusal-message|refusal-clause|download]. The camera
 * page's panel (data-video-panel) is wired by event delegation, so it works after an htmx swap;
 * the situation board calls window.GwanjeVideo.live(stage, {...}).
 * Everything from the server is written with textContent. */
(function () {
  "use strict";

  var POLL_MS = 250;

  function part(stage, role) { return stage.querySelector("[data-role='" + role + "']"); }
  function words(stage) {
    if (!stage._text) {
      try { stage._text = JSON.parse(stage.getAttribute("data-text") || "{}"); } catch (e) { stage._text = {}; }
    }
    return stage._text;
  }
  function say(stage, key, values) {
    var s = words(stage)[key] || key;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(values[k])); });
    return s;
  }
  function lang(stage) { return stage.getAttribute("data-lang") === "en" ? "en" : "ko"; }

  function query(params) {
    return Object.keys(params).filter(function (k) {
      return params[k] !== null && params[k] !== undefined && params[k] !== "";
    }).map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  function videoUrl(cameraId, resource, params) {
    return "/api/cameras/" + encodeURIComponent(cameraId) + "/" + resource + "?" + query(params);
  }

  // <input type=datetime-local> holds KST wall time; the API takes aware times, sent in UTC.
  function kstToUtc(value) {
    if (!value) { return null; }
    var s = value.length === 16 ? value + ":00" : value;
    var d = new Date(s + "+09:00");
    return isNaN(d.getTime()) ? null : d.toISOString();
  }

  function setStatus(stage, state, message) {
    stage.setAttribute("data-state", state);
    var p = part(stage, "status");
    if (p) { p.textContent = message || ""; }
  }

  // A refusal shows the API's message and the clause it cites, both in the page's language.
  function showProblem(stage, body) {
    var box = part(stage, "refusal");
    if (!body) { box.hidden = true; return; }
    var l = lang(stage);
    var m = body.message;
    var text = m && typeof m === "object" ? (m[l] || m.ko || m.en) : say(stage, "video.failed");
    if (body.status && body.status !== 403) { text += " (HTTP " + body.status + ")"; }
    part(stage, "refusal-message").textContent = text;
    var clause = "";
    if (body.clause) {
      var ct = body.details && body.details.clause_text;
      clause = say(stage, "video.clause") + ": [" + body.clause + "]" + (ct ? " " + (ct[l] || ct.ko || "") : "");
    }
    var c = part(stage, "refusal-clause");
    c.textContent = clause;
    c.hidden = !clause;
    box.hidden = false;
    box.setAttribute("data-clause", body.clause || "");
    setStatus(stage, body.status === 403 ? "refused" : "failed",
              body.status === 403 ? say(stage, "video.refused") : say(stage, "video.failed"));
  }

  // Ask the failed URL again to learn why; a success is cut off at once.
  function diagnose(url) {
    var ctl = typeof AbortController !== "undefined" ? new AbortController() : null;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" },
                        signal: ctl ? ctl.signal : undefined })
      .then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
        if (r.ok) { if (ctl) { ctl.abort(); } return { status: r.status, ok: true }; }
        return r.json().catch(function () { return {}; }).then(function (body) {
          body.status = r.status;
          return body;
        });
      })
      .catch(function () { return { status: 0 }; });
  }

  function stop(stage, keepMessage) {
    if (!stage) { return; }
    clearInterval(stage._poll);
    var img = part(stage, "live");
    img.onerror = null;
    img.onload = null;
    img.removeAttribute("data-url");
    img.removeAttribute("src");  // closes the stream: the server's viewer count drops at once
    img.hidden = true;
    var clip = part(stage, "clip");
    if (clip) {
      clip.onerror = null;
      clip.pause();
      clip.removeAttribute("src");
      clip.load();
      clip.hidden = true;
    }
    var dl = part(stage, "download");
    if (dl) { dl.hidden = true; }
    if (!keepMessage) {
      showProblem(stage, null);
      setStatus(stage, "idle", "");
    }
  }

  function showImage(stage, url, state, title) {
    stop(stage);
    var img = part(stage, "live");
    part(stage, "title").textContent = title || "";
    setStatus(stage, "loading", say(stage, "video.loading"));
    img.onerror = function () {
      clearInterval(stage._poll);
      img.hidden = true;
      diagnose(url).then(function (body) {
        if (img.getAttribute("data-url") !== url) { return; }
        showProblem(stage, body.ok ? { status: 0 } : body);
      });
    };
    // An MJPEG stream need not fire "load"; the first frame shows as a width.
    stage._poll = setInterval(function () {
      if (img.naturalWidth > 0) {
        clearInterval(stage._poll);
        setStatus(stage, state, say(stage, state === "live" ? "video.playing" : "video.snapshot_taken"));
      }
    }, POLL_MS);
    img.setAttribute("data-url", url);
    img.hidden = false;
    img.src = url;
  }

  function live(stage, o) {
    var url = videoUrl(o.cameraId, "live.mjpeg", { purpose: o.purpose, incident_id: o.incidentId,
                                                     provision_id: o.provisionId });
    showImage(stage, url, "live", o.title);
    return url;
  }

  function snapshot(stage, o) {
    // The time only defeats the image cache; the API ignores it.
    var url = videoUrl(o.cameraId, "snapshot.jpg", { purpose: o.purpose, incident_id: o.incidentId,
                                                       provision_id: o.provisionId, t: Date.now() });
    showImage(stage, url, "snapshot", o.title);
  }

  function playback(stage, o) {
    stop(stage);
    part(stage, "title").textContent = o.title || "";
    var clip = part(stage, "clip");
    var url = videoUrl(o.cameraId, "playback", { purpose: o.purpose, incident_id: o.incidentId,
                                                   provision_id: o.provisionId, start: o.start, end: o.end });
    setStatus(stage, "loading", say(stage, "video.loading"));
    clip.onerror = function () {
      clip.hidden = true;
      diagnose(url).then(function (body) { showProblem(stage, body.ok ? { status: 0 } : body); });
    };
    clip.onloadeddata = function () { setStatus(stage, "playback", say(stage, "video.playing")); };
    clip.hidden = false;
    clip.src = url;
  }

  function exportClip(stage, o, csrf) {
    stop(stage);
    setStatus(stage, "loading", say(stage, "video.loading"));
    var url = videoUrl(o.cameraId, "clips", { purpose: o.purpose, incident_id: o.incidentId,
                                                provision_id: o.provisionId });
    fetch(url, { method: "POST", credentials: "same-origin",
                 headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
                 body: JSON.stringify({ start: o.start, end: o.end }) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) { body.status = r.status; showProblem(stage, body); return; }
          var link = body.download + (o.incidentId ? "&incident_id=" + encodeURIComponent(o.incidentId) : "") +
                     (o.provisionId ? "&provision_id=" + encodeURIComponent(o.provisionId) : "");
          var dl = part(stage, "download");
          while (dl.firstChild) { dl.removeChild(dl.firstChild); }
          var a = document.createElement("a");
          a.href = link;
          a.textContent = say(stage, "video.download");
          dl.appendChild(document.createTextNode(say(stage, "video.exported", { id: body.id }) + " "));
          dl.appendChild(a);
          dl.hidden = false;
          setStatus(stage, "exported", "");
        });
      })
      .catch(function () { showProblem(stage, { status: 0 }); });
  }

  // ---- the camera page's panel ----------------------------------------------------------------

  function panelOptions(panel) {
    var form = panel.querySelector("[data-video-form]");
    var get = function (name) {
      var input = form && form.elements[name];
      return input ? input.value.trim() : "";
    };
    var purposeSelect = form && form.elements.purpose;
    var label = purposeSelect && purposeSelect.selectedIndex >= 0 ? purposeSelect.options[purposeSelect.selectedIndex].text : "";
    return {
      cameraId: panel.getAttribute("data-camera-id"),
      purpose: get("purpose"), incidentId: get("incident_id"), provisionId: get("provision_id"),
      title: panel.getAttribute("data-camera-number") + " · " + label
    };
  }

  function period(panel, stage) {
    var form = panel.querySelector("[data-video-playback]");
    var start = kstToUtc(form.elements.start.value), end = kstToUtc(form.elements.end.value);
    if (!start || !end) {
      showProblem(stage, { status: 0, message: { ko: say(stage, "video.period_required"),
                                                 en: say(stage, "video.period_required") } });
      return null;
    }
    return { start: start, end: end };
  }

  function onPanelAction(panel, action) {
    var stage = panel.querySelector("[data-video-stage]");
    var o = panelOptions(panel);
    if (action === "live") { live(stage, o); }
    else if (action === "snapshot") { snapshot(stage, o); }
    else if (action === "stop") { stop(stage); setStatus(stage, "idle", say(stage, "video.stopped")); }
    else if (action === "playback" || action === "export") {
      var p = period(panel, stage);
      if (!p) { return; }
      o.start = p.start;
      o.end = p.end;
      if (action === "playback") { playback(stage, o); } else { exportClip(stage, o, panel.getAttribute("data-csrf")); }
    }
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-video-action]");
    if (button && button.type !== "submit") {
      var panel = button.closest("[data-video-panel]");
      if (panel) { e.preventDefault(); onPanelAction(panel, button.getAttribute("data-video-action")); }
    }
    var printer = e.target.closest && e.target.closest("[data-print]");
    if (printer) { window.print(); }
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.hasAttribute && form.hasAttribute("data-video-playback")) {
      e.preventDefault();
      var panel = form.closest("[data-video-panel]");
      if (panel) { onPanelAction(panel, "playback"); }
    } else if (form.hasAttribute && form.hasAttribute("data-video-form")) {
      e.preventDefault();
    }
  });

  // Leaving the page ends the stream at once rather than when the socket times out.
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("[data-video-stage]").forEach(function (s) { stop(s); });
  });

  window.GwanjeVideo = { live: live, snapshot: snapshot, playback: playback, stop: stop, showProblem: showProblem,
                         setStatus: setStatus, kstToUtc: kstToUtc, say: say };
})();
