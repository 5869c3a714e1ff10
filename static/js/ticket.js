// The Dashboard's order ticket and orders panel. The page works without it (book prices are
// links that pre-fill the ticket, tabs are links); this adds the in-place behaviour. No inline
// scripts (CSP).
(function () {
  "use strict";

  var ticketForm = function () { return document.querySelector("form[data-ticket]"); };

  function setSide(form, side) {
    var radio = form.querySelector('input[name="type"][value="' + side + '"]');
    if (!radio) return;
    if (!radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    showSide(form);
  }

  // The Buy/Sell button's label and colour, and what "%" means, follow the chosen side.
  function showSide(form) {
    var checked = form.querySelector('input[name="type"]:checked');
    var side = checked ? checked.value : "BUY";
    var symbol = form.querySelector('select[name="symbol"]');
    form.setAttribute("data-side", side);
    var button = form.querySelector("[data-ticket-submit]");
    if (button) {
      button.textContent = (side === "SELL" ? "Sell " : "Buy ") + (symbol ? symbol.value : "");
      button.classList.toggle("place-sell", side === "SELL");
      button.classList.toggle("place-buy", side !== "SELL");
    }
    var pct = form.querySelector('select[name="quantity_unit"] option[value="pct"]');
    if (pct) pct.textContent = side === "SELL" ? "% of shares held" : "% of buying power";
  }

  function fillPrice(form, price, side) {
    var type = form.querySelector('select[name="order_type"]');
    if (type && type.value !== "LIMIT" && type.value !== "STOP_LIMIT") type.value = "LIMIT";
    var input = form.querySelector('input[name="price"]');
    if (input) {
      input.value = price;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (side) setSide(form, side);
    var quantity = form.querySelector('input[name="quantity"]');
    if (quantity) quantity.focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-fill-price]");
    var form = ticketForm();
    if (link && form) {
      event.preventDefault();
      fillPrice(form, link.getAttribute("data-fill-price"), link.getAttribute("data-fill-side"));
      return;
    }
    var tab = event.target.closest('#history [role="tab"]');
    if (tab) {
      event.preventDefault();
      selectTab(tab.getAttribute("data-tab"), true);
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-ticket]");
    if (form && (event.target.name === "type" || event.target.name === "symbol")) showSide(form);
  });

  // Orders tabs: the choice survives the panel being re-rendered by live updates.
  var chosenTab = null;
  function selectTab(name, focus) {
    var panel = document.getElementById("history");
    if (!panel || !name) return;
    chosenTab = name;
    panel.querySelectorAll('[role="tab"]').forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.setAttribute("tabindex", on ? "0" : "-1");
      var target = document.getElementById(tab.getAttribute("aria-controls"));
      if (target) target.hidden = !on;
      if (on && focus) tab.focus();
    });
  }
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest('#history [role="tab"]');
    if (!tab || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) return;
    var tabs = Array.prototype.slice.call(tab.parentElement.querySelectorAll('[role="tab"]'));
    var step = event.key === "ArrowRight" ? 1 : tabs.length - 1;
    selectTab(tabs[(tabs.indexOf(tab) + step) % tabs.length].getAttribute("data-tab"), true);
    event.preventDefault();
  });

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    if (tag !== "input" || target.type === "radio" || target.type === "checkbox") return false;
    // Letters mean nothing in the ticket's number boxes: B and S still pick the side there.
    var inTicket = target.form && target.form.hasAttribute("data-ticket");
    return !(inTicket && /^(quantity|price|stop_price)$/.test(target.name));
  }

  // Keyboard: B / S pick the side and put the cursor in the quantity, Enter places (the form's
  // own submit), Esc backs out of the confirmation step or leaves the field.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var form = ticketForm();
    if (!form) return;
    var key = event.key;
    if (key === "Escape") {
      var cancel = form.querySelector("[data-ticket-cancel]");
      if (cancel) {
        event.preventDefault();
        var confirm = form.querySelector("[data-testid=confirm]");
        var place = document.createElement("button");
        place.type = "submit";
        place.className = "button wide place";
        place.setAttribute("data-ticket-submit", "");
        confirm.replaceWith(place);
        showSide(form);
        form.querySelector('input[name="quantity"]').focus();
      } else if (form.contains(document.activeElement)) {
        document.activeElement.blur();
        var side = form.querySelector('input[name="type"]:checked');
        if (side) side.focus();
      }
      return;
    }
    if ((key === "b" || key === "B" || key === "s" || key === "S") && !typing(event.target)) {
      event.preventDefault();
      setSide(form, key.toUpperCase() === "B" ? "BUY" : "SELL");
      var quantity = form.querySelector('input[name="quantity"]');
      quantity.focus();
      quantity.select();
    }
  });

  // After the ticket is swapped (placed, refused, asked to confirm) the focus goes where the
  // trader's next key belongs: the confirm button, the error, or the notice. After the settle,
  // not the swap: htmx wires the new fragment's triggers (the estimate's) only when it settles,
  // and keys typed into a ticket focused before that would reach no listener.
  document.addEventListener("htmx:afterSettle", function (event) {
    var card = document.getElementById("order-form-card");
    if (card && (event.target === card || card.contains(event.target))) {
      var form = ticketForm();
      if (form) showSide(form);
      var focus = card.querySelector("[data-ticket-focus]");
      if (focus) focus.focus();
    }
  });
  document.addEventListener("htmx:load", function (event) {
    if (event.target.id === "history" && chosenTab) selectTab(chosenTab, false);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.target.id === "history" && chosenTab) selectTab(chosenTab, false);
  });
})();
