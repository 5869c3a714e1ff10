// Small behaviours for the server-rendered pages. No inline scripts (CSP).
(function () {
  "use strict";

  function setSocketState(state, text) {
    var dot = document.getElementById("ws-dot");
    var label = document.getElementById("ws-label");
    if (dot) dot.setAttribute("data-state", state);
    if (label) label.textContent = "Live updates: " + text;
  }

  document.addEventListener("htmx:wsOpen", function () { setSocketState("up", "connected"); });
  document.addEventListener("htmx:wsClose", function () { setSocketState("down", "reconnecting"); });
  document.addEventListener("htmx:wsError", function () { setSocketState("down", "error"); });

  // Price-only updates of the Portfolio table arrive as rows in <template id="position-rows">:
  // each replaces the row with its id, so the table keeps the trader's sort. When the page's
  // set of rows differs from the update's (a position opened or closed meanwhile), the table is
  // fetched again instead.
  function applyPositionRows(template) {
    var rows = Array.prototype.slice.call(template.content.querySelectorAll("tr[id]"));
    if (!rows.length) return;
    var shown = document.querySelectorAll("#positions-card tbody tr[id]");
    var same = shown.length === rows.length;
    rows.forEach(function (row) {
      var current = document.getElementById(row.id);
      if (current && current.tagName === "TR") current.replaceWith(row);
      else same = false;
    });
    template.content.replaceChildren();
    if (!same) {
      htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: "#positions-card",
        swap: "outerHTML",
      });
    }
  }

  // A live update must not take the keyboard focus away: when an out-of-band swap replaces
  // the element that has it (a bid/ask link in the ticket's quote, say), the focus goes to the
  // element of the same id or test id in the new fragment.
  var refocus = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var active = document.activeElement;
    var el = event.target;
    if (!active || !el || active === document.body || !el.contains(active)) return;
    if (active.id) refocus = "#" + CSS.escape(active.id);
    else if (active.getAttribute("data-testid")) {
      refocus = '[data-testid="' + CSS.escape(active.getAttribute("data-testid")) + '"]';
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (refocus) {
      var again = document.querySelector(refocus);
      refocus = null;
      if (again && document.activeElement !== again) again.focus();
    }
    var el = event.target;
    if (!el) return;
    // Theme changed in another tab (pushed over the page socket as an out-of-band swap).
    if (el.id === "theme-sync") {
      document.documentElement.setAttribute("data-theme", el.getAttribute("data-theme-sync"));
    } else if (el.id === "position-rows") {
      applyPositionRows(el);
    } else if (el.id === "order-notices") {
      // An order's new status: it replaces the notice of that order, where the page shows one.
      Array.prototype.slice.call(el.content.querySelectorAll("[id^='order-placed-']")).forEach(
        function (notice) {
          var shown = document.getElementById(notice.id);
          if (!shown || shown.textContent === notice.textContent) return;
          var focused = document.activeElement === shown;
          shown.replaceWith(notice);
          if (focused) notice.focus();
        }
      );
      el.content.replaceChildren();
    }
  });

  // A user who chose no time zone gets the browser's: reported once, then the page is shown
  // again in it (the server renders every time in the user's zone).
  function reportTimeZone() {
    var root = document.documentElement;
    var url = root.getAttribute("data-time-zone-report");
    var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!url || !zone) return;
    root.removeAttribute("data-time-zone-report");
    var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    var body = new URLSearchParams({ time_zone: zone });
    fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 204 && zone !== "UTC") window.location.reload();
      })
      .catch(function () { /* the next page load tries again */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", reportTimeZone);
  else reportTimeZone();

  // Feedback on every htmx request: a loading bar while any is in flight, and a message that
  // says what failed when one does (htmx swaps nothing on an error status).
  var inFlight = 0;
  function loading(delta) {
    inFlight = Math.max(0, inFlight + delta);
    document.documentElement.classList.toggle("is-loading", inFlight > 0);
    var main = document.getElementById("main");
    if (main) main.setAttribute("aria-busy", inFlight > 0 ? "true" : "false");
  }
  function showError(text) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }
  function statusText(status) {
    if (status === 403) return "Not allowed: your role cannot do that.";
    if (status === 404) return "Not found: it may have been removed meanwhile.";
    if (status === 429) return "Too many requests: wait a moment and try again.";
    if (status >= 500) return "The server could not answer (" + status + "). Try again in a moment.";
    return "The request was refused (" + status + ").";
  }
  document.addEventListener("htmx:beforeRequest", function () { loading(1); });
  document.addEventListener("htmx:afterRequest", function (event) {
    loading(-1);
    if (event.detail.successful) {
      var box = document.getElementById("request-error");
      if (box) box.hidden = true;
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    showError(statusText(event.detail.xhr.status));
  });
  document.addEventListener("htmx:sendError", function () {
    showError("No connection to the server. Check your network and try again.");
  });
  document.addEventListener("htmx:timeout", function () {
    showError("The server took too long to answer. Try again.");
  });

  // After the live connection comes back, whatever it missed meanwhile is fetched: the page
  // is read again and every part the socket keeps current ([data-live]) is replaced.
  var socketWasOpen = false;
  var socketLost = false;
  function resync() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (part) {
          var next = fresh.getElementById(part.id);
          if (!next) return;
          part.replaceWith(next);
          htmx.process(next);
        });
      })
      .catch(function () { showError("The page could not catch up after reconnecting. Reload it to be sure."); });
  }
  document.addEventListener("htmx:wsOpen", function () {
    var lost = document.getElementById("socket-lost");
    if (lost) lost.hidden = true;
    if (socketWasOpen && socketLost) resync();
    socketWasOpen = true;
    reconnects = 0;
    socketLost = false;
  });
  // htmx's ws extension reconnects by itself only after 1006, 1011, 1012 and 1013. A server
  // going away (1001, a restart) or refusing for a while (4008, too many messages) is
  // reconnected here: a changed ws-connect makes htmx open a new socket. 4401/4403 mean
  // signed out or no longer allowed: reconnecting cannot help, so the page says so.
  var SELF_RECONNECT = [1006, 1011, 1012, 1013];
  var reconnects = 0;
  function reconnectLater(root) {
    reconnects += 1;
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(reconnects, 5))) * (0.5 + Math.random() / 2);
    window.setTimeout(function () {
      var url = root.getAttribute("ws-connect").replace(/&reconnect=\d+$/, "");
      root.setAttribute("ws-connect", url + "&reconnect=" + reconnects);
      htmx.process(root);
    }, delay);
  }
  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail.event ? event.detail.event.code : 1006;
    var lost = document.getElementById("socket-lost");
    if (code === 4401 || code === 4403) {
      showError(code === 4401 ? "You are signed out: sign in again for live updates." :
        "Live updates stopped: your role no longer allows this page.");
      return;
    }
    if (socketWasOpen) {
      socketLost = true;
      if (lost) lost.hidden = false;
    }
    if (code !== 1000 && SELF_RECONNECT.indexOf(code) < 0) reconnectLater(event.target);
  });

  // The session clock counts down between the footer's refreshes.
  function tickSessionClock() {
    var clock = document.getElementById("session-clock");
    var left = clock && clock.querySelector("[data-countdown]");
    if (!left) return;
    var seconds = Math.round((Date.parse(clock.getAttribute("data-closes-at")) - Date.now()) / 1000);
    if (seconds <= 0) { left.textContent = "closing now"; return; }
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    left.textContent = (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s";
  }
  window.setInterval(tickSessionClock, 1000);

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    if (nav) nav.classList.toggle("open", !open);
  });
})();
