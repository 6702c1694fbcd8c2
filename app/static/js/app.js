// Demarche web UI behaviour. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  // Every htmx request carries the CSRF token.
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  function toast(message, category) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (category || "success");
    el.setAttribute("role", "status");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.classList.add("hide"); }, 4500);
    setTimeout(function () { el.remove(); }, 5200);
  }
  document.addEventListener("toast", function (evt) {
    toast(evt.detail.message, evt.detail.category);
  });
  // Errors from htmx requests that the server did not turn into a toast.
  document.addEventListener("htmx:responseError", function (evt) {
    if (!evt.detail.xhr.getResponseHeader("HX-Trigger")) {
      toast("The request failed (" + evt.detail.xhr.status + "). Please try again.", "error");
    }
  });
  // Confirmation before destructive actions: <button data-confirm="Delete this contact?">
  document.addEventListener("click", function (evt) {
    var target = evt.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  // Live filters search on typing and again on "change", which a text field fires when
  // it loses focus: leaving the search box to click a result. That second search asks
  // for what is already shown, and the history entry its answer pushes cancels the
  // click's navigation. A filter form's request goes out only when its fields differ
  // from the last request's (or from the page's, before the first one).
  function filterQuery(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }
  document.addEventListener("htmx:confirm", function (evt) {
    var form = evt.detail.elt;
    if (!(form instanceof HTMLFormElement) || evt.detail.verb !== "get") return;
    var query = filterQuery(form);
    if (form.dataset.lastQuery === query) {
      evt.preventDefault();
      return;
    }
    form.dataset.lastQuery = query;
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[hx-get]").forEach(function (form) {
      form.dataset.lastQuery = filterQuery(form);
    });
    document.querySelectorAll(".flash").forEach(function (el) {
      setTimeout(function () { el.classList.add("hide"); }, 6000);
    });
  });
})();

// Notifications: the unread count next to the "Notifications" nav entry.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var link = document.querySelector('.mainnav a[href$="/notifications"]');
    if (!link || !window.fetch) return;
    fetch(link.getAttribute("href") + "/count", { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.text() : ""; })
      .then(function (html) {
        var holder = document.createElement("span");
        holder.innerHTML = html;
        var badge = holder.querySelector(".nav-count");
        if (badge) { link.appendChild(document.createTextNode(" ")); link.appendChild(badge); }
      })
      .catch(function () { /* the count is a convenience; the page still works */ });
  });
  // Calendar feed addresses: select the whole address on focus for copying.
  document.addEventListener("focusin", function (evt) {
    if (evt.target.classList && evt.target.classList.contains("feed-url")) evt.target.select();
  });
})();

// Letter template editor: line numbers beside the code, merge fields inserted at the cursor.
(function () {
  "use strict";
  function withLineNumbers(area) {
    var wrap = document.createElement("div");
    wrap.className = "code-editor";
    var gutter = document.createElement("div");
    gutter.className = "line-gutter";
    gutter.setAttribute("aria-hidden", "true");
    area.parentNode.insertBefore(wrap, area);
    wrap.appendChild(gutter);
    wrap.appendChild(area);
    var shown = 0;
    function sync() {
      var lines = area.value.split("\n").length;
      if (lines !== shown) {
        var numbers = [];
        for (var i = 1; i <= lines; i++) numbers.push(i);
        gutter.textContent = numbers.join("\n");
        shown = lines;
      }
      gutter.scrollTop = area.scrollTop;
    }
    area.addEventListener("input", sync);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    sync();
  }
  // The field a click inserts into: the subject or body the user was last in, else the body.
  var lastTarget = null;
  document.addEventListener("focusin", function (evt) {
    if (evt.target.hasAttribute && evt.target.hasAttribute("data-insert-target")) {
      lastTarget = evt.target;
    }
  });
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-insert]");
    if (!button) return;
    evt.preventDefault();
    var field = lastTarget && document.body.contains(lastTarget)
      ? lastTarget : document.querySelector("textarea[data-insert-target]");
    if (!field) return;
    var start = field.selectionStart, end = field.selectionEnd;
    field.setRangeText(button.getAttribute("data-insert"), start, end, "end");
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-line-numbers]").forEach(withLineNumbers);
  });
})();
