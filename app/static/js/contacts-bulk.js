// Directory bulk actions: tick a page's rows at once, count the ticked rows, and offer
// "all N that match". The form works without this script (tick rows, choose, submit).
(function () {
  "use strict";

  function rows(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[name=selected]"));
  }

  function update(form) {
    var boxes = rows(form);
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    var total = parseInt(form.getAttribute("data-total") || "0", 10);
    var page = form.querySelector(".bulk-page");
    var all = form.querySelector("input[name=scope][value=all]");
    var picked = form.querySelector("input[name=scope][value=selected]");
    var label = form.querySelector(".bulk-picked");
    var offer = form.querySelector(".bulk-offer");
    if (page) {
      page.hidden = false;
      page.checked = ticked > 0 && ticked === boxes.length;
      page.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    if (label) {
      label.textContent = all && all.checked
        ? "All " + total.toLocaleString() + " that match"
        : ticked + " ticked";
    }
    if (!offer && label && total > boxes.length) {
      offer = document.createElement("button");
      offer.type = "button";
      offer.className = "btn btn-link bulk-offer";
      offer.textContent = "Select all " + total.toLocaleString() + " that match";
      offer.addEventListener("click", function () {
        if (all) { all.checked = true; }
        update(form);
      });
      label.parentNode.insertBefore(offer, label.nextSibling);
    }
    if (offer) {
      offer.hidden = !(ticked === boxes.length && boxes.length > 0) || (all && all.checked);
    }
    if (picked && ticked > 0 && all && !all.checked) { picked.checked = true; }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target && target.closest ? target.closest("#bulk-form") : null;
    if (!form) { return; }
    if (target.classList.contains("bulk-page")) {
      rows(form).forEach(function (b) { b.checked = target.checked; });
      var picked = form.querySelector("input[name=scope][value=selected]");
      if (picked) { picked.checked = true; }
    }
    if (target.name === "selected" && !target.checked) {
      var picked2 = form.querySelector("input[name=scope][value=selected]");
      if (picked2) { picked2.checked = true; }
    }
    update(form);
  });

  function init() {
    var form = document.getElementById("bulk-form");
    if (form) { update(form); }
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSwap", init);
  if (document.readyState !== "loading") { init(); }
})();
