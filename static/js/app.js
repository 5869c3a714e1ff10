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

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var el = event.target;
    if (!el) return;
    // Theme changed in another tab (pushed over the page socket as an out-of-band swap).
    if (el.id === "theme-sync") {
      document.documentElement.setAttribute("data-theme", el.getAttribute("data-theme-sync"));
    } else if (el.id === "position-rows") {
      applyPositionRows(el);
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

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    if (nav) nav.classList.toggle("open", !open);
  });
})();
