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
  document.addEventListener("DOMContentLoaded", function () {
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
