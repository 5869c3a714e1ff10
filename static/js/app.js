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

  // Theme changed in another tab (pushed over the page socket as an out-of-band swap).
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var el = event.target;
    if (el && el.id === "theme-sync") {
      document.documentElement.setAttribute("data-theme", el.getAttribute("data-theme-sync"));
    }
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    if (nav) nav.classList.toggle("open", !open);
  });
})();
