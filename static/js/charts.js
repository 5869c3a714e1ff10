// The Dashboard's price chart (server-rendered SVG, charts/svg.py): a crosshair with the
// values under the pointer, drag to zoom into a range, and a re-read of the chart in its own
// timeframe when the live price arrives. No inline scripts (CSP).
(function () {
  "use strict";

  function chartOf(target) {
    return target && target.closest ? target.closest("svg.chart-candles[data-plot-left]") : null;
  }

  function geometry(svg) {
    var n = function (name) { return parseFloat(svg.getAttribute("data-" + name)); };
    return {
      left: n("plot-left"), right: n("plot-right"), top: n("price-top"),
      bottom: n("price-bottom"), lo: n("price-lo"), hi: n("price-hi"), slot: n("slot"),
    };
  }

  // Pointer position in the SVG's own coordinates (the chart is scaled to fit its box).
  function local(svg, event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  function candleAt(svg, g, x) {
    var candles = svg.querySelectorAll("g.candle");
    var i = Math.floor((x - g.left) / g.slot);
    if (i < 0 || i >= candles.length) return null;
    return { index: i, el: candles[i] };
  }

  function set(el, attrs) {
    for (var key in attrs) el.setAttribute(key, attrs[key]);
  }

  var drag = null;

  document.addEventListener("pointermove", function (event) {
    var svg = chartOf(event.target);
    document.querySelectorAll("svg.chart-candles .chart-crosshair.on").forEach(function (el) {
      if (!svg || !svg.contains(el)) el.classList.remove("on");
    });
    if (!svg) return;
    var g = geometry(svg);
    var p = local(svg, event);
    var hair = svg.querySelector(".chart-crosshair");
    var hit = candleAt(svg, g, p.x);
    if (!hair || !hit || p.y < g.top) { if (hair) hair.classList.remove("on"); return; }
    hair.classList.add("on");
    var cx = g.left + (hit.index + 0.5) * g.slot;
    set(hair.querySelector(".crosshair-x"), { x1: cx, x2: cx });
    var readout = hair.querySelector(".crosshair-values");
    readout.textContent = hit.el.getAttribute("data-ohlcv");
    var inPrice = p.y <= g.bottom;
    var yLine = hair.querySelector(".crosshair-y");
    var tag = hair.querySelector(".crosshair-tag");
    var price = hair.querySelector(".crosshair-price");
    [yLine, tag, price].forEach(function (el) { el.classList.toggle("off", !inPrice); });
    if (inPrice) {
      var value = g.hi - (p.y - g.top) / (g.bottom - g.top) * (g.hi - g.lo);
      set(yLine, { y1: p.y, y2: p.y });
      set(tag, { y: p.y - 8 });
      set(price, { y: p.y + 4 });
      price.textContent = value.toFixed(2);
    }
    if (drag && drag.svg === svg) {
      var band = hair.querySelector(".zoom-band");
      var from = Math.min(drag.x, cx) - g.slot / 2;
      set(band, { x: from, width: Math.abs(cx - drag.x) + g.slot });
      drag.to = hit;
    }
  });

  document.addEventListener("pointerdown", function (event) {
    var svg = chartOf(event.target);
    if (!svg || event.button !== 0) return;
    var g = geometry(svg);
    var hit = candleAt(svg, g, local(svg, event).x);
    if (!hit) return;
    drag = { svg: svg, from: hit, to: hit, x: g.left + (hit.index + 0.5) * g.slot };
    svg.classList.add("zooming");
    event.preventDefault();
  });

  document.addEventListener("pointerup", function () {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.svg.classList.remove("zooming");
    var band = d.svg.querySelector(".zoom-band");
    if (band) band.setAttribute("width", "0");
    var lo = Math.min(d.from.index, d.to.index);
    var hi = Math.max(d.from.index, d.to.index);
    if (hi - lo < 1) return; // a click, not a range
    var candles = d.svg.querySelectorAll("g.candle");
    var box = d.svg.closest("#chart-box");
    if (!box || !window.htmx) return;
    var url = box.getAttribute("data-chart-url")
      + "&start=" + encodeURIComponent(candles[lo].getAttribute("data-start"))
      + "&end=" + encodeURIComponent(candles[hi].getAttribute("data-start"));
    window.htmx.ajax("GET", url, { target: "#chart-box", swap: "outerHTML" });
  });

  // The live price head arrived: charts that follow the market re-read themselves.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.target && event.target.id === "chart-head") {
      document.body.dispatchEvent(new CustomEvent("chart:refresh"));
    }
  });
})();
