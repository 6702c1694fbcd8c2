// Replies: the sender fields searched as you type, and the new-reply form filling itself from
// what the pasted text or the chosen scan says. Without this script the form still works: the
// server resolves typed names and its "Read text" button fills the form on a round trip.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function fire(el, type) {
    el.dispatchEvent(new Event(type, { bubbles: true }));
  }

  // --- sender search: a <datalist> filled from /replies/senders --------------------------------
  function senderField(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var hidden = input.form.querySelector('input[type=hidden][name="' + input.dataset.senderId + '"]');
    var url = input.dataset.senderUrl;
    var found = {}; // label -> id, from the last answer
    var timer = null, asked = "";
    function pick() {
      var id = found[input.value] || "";
      if (hidden.value !== String(id)) {
        // an entry picked from the list, or the name changed after a pick
        if (id || hidden.value) { hidden.value = id; fire(hidden, "change"); }
      }
    }
    function search() {
      var q = input.value.trim();
      if (q.length < 2 || q === asked) return;
      asked = q;
      var params = new URLSearchParams({ kind: input.dataset.senderKind, q: q });
      fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : { items: [] }; })
        .then(function (data) {
          if (input.value.trim() !== q) return; // typed on since
          found = {};
          list.textContent = "";
          data.items.forEach(function (item) {
            found[item.label] = item.id;
            var option = document.createElement("option");
            option.value = item.label;
            option.textContent = item.detail;
            list.appendChild(option);
          });
          pick();
        })
        .catch(function () { /* the server resolves the name on submit */ });
    }
    input.addEventListener("input", function () {
      pick();
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("change", pick);
    // filled by the reading: the label is known to match the id already set
    input.addEventListener("sender:set", function (evt) {
      found[evt.detail.label] = evt.detail.id;
      asked = evt.detail.label;
    });
  }

  // --- the new-reply form reads the text or the scan --------------------------------------------
  function readingForm(form) {
    var url = form.dataset.analyseUrl;
    var text = form.querySelector("textarea[name=full_text]");
    var files = form.querySelector("input[type=file][name=attachments]");
    var status = document.getElementById("analyse-status");
    var lastText = null, lastScan = "", timer = null, busy = false, again = false;

    function say(message, isError) {
      status.textContent = message;
      status.classList.toggle("error", !!isError);
    }
    // A field the reading filled may be filled again; one the coordinator typed in is left alone.
    function fill(name, value) {
      var el = form.elements[name];
      if (!el || value === null || value === undefined) return false;
      value = String(value);
      var mine = el.dataset.filled !== undefined && el.dataset.filled === el.value;
      if (el.value && !mine) return false;
      if (el.value === value) return false;
      el.value = value;
      el.dataset.filled = value;
      return true;
    }
    // The scan's text goes under its heading, after what was typed; read again, it replaces
    // the earlier reading, and the worker's reading of the whole scan will replace it in turn.
    function fillScan(scan) {
      var block = scan.heading + "\n" + scan.text;
      var auto = text.dataset.filled !== undefined && text.dataset.filled === text.value;
      var typed = auto ? (text.dataset.typed || "") : text.value;
      typed = typed.replace(/\s+$/, "");
      text.value = text.dataset.filled = typed ? typed + "\n\n" + block : block;
      text.dataset.typed = typed;
      return true;
    }
    function fillSender(ex) {
      var name = form.elements.sender_organisation_id_name;
      var hidden = form.elements.sender_organisation_id;
      if (!ex.sender_organisation_id || !name) return false;
      var mine = name.dataset.filled !== undefined && name.dataset.filled === name.value;
      if (name.value && !mine) return false;
      name.dispatchEvent(new CustomEvent("sender:set", {
        detail: { label: ex.sender_organisation, id: ex.sender_organisation_id }
      }));
      name.value = name.dataset.filled = ex.sender_organisation;
      hidden.value = ex.sender_organisation_id;
      var reason = document.getElementById("sender-reason");
      if (reason) reason.textContent = ex.sender_reason || "";
      return true;
    }
    function fillKind(acknowledgement) {
      var kind = form.elements.kind;
      var auto = kind.dataset.filled !== undefined && kind.dataset.filled === kind.value;
      if (kind.value !== "reply" && !auto) return;
      kind.value = kind.dataset.filled = acknowledgement ? "acknowledgement" : "reply";
    }
    function fillPositions(positions) {
      form.querySelectorAll("fieldset.position-field").forEach(function (box) {
        var treaty = box.dataset.treaty;
        var found = positions.filter(function (p) { return p.treaty === treaty; })[0];
        var panel = box.querySelector(".position-suggestion");
        var marker = box.querySelector('input[name="suggested_' + treaty + '"]');
        var accept = box.querySelector('input[name="accept_' + treaty + '"]');
        var stance = form.elements["stance_" + treaty];
        var quote = form.elements["quote_" + treaty];
        if (!found) {
          if (marker.value && !accept.checked) {
            marker.value = "";
            panel.hidden = true;
            if (stance.dataset.filled === stance.value) stance.value = "";
            if (quote.dataset.filled === quote.value) quote.value = "";
          }
          return;
        }
        if (accept.checked) return; // accepted as it stands: the coordinator's now
        // a position the coordinator chose before the reading came back stands as chosen
        if (stance.value && stance.dataset.filled !== stance.value) return;
        fill("stance_" + treaty, found.stance);
        fill("quote_" + treaty, found.quote);
        marker.value = found.confidence;
        panel.querySelector(".confidence").textContent = Math.round(found.confidence * 100);
        panel.hidden = false;
      });
    }
    function apply(data) {
      var ex = data.extracted, filled = [];
      if (data.scan && fillScan(data.scan)) filled.push("the scan's text");
      if (fillSender(ex)) filled.push("sender");
      [["sender_reference", "reference"], ["dated_on", "date"],
       ["cited_letter_date", "date of our letter"], ["our_reference", "our reference"],
       ["language", "language"], ["country", "state"]].forEach(function (pair) {
        if (ex[pair[0]] && fill(pair[0], ex[pair[0]])) filled.push(pair[1]);
      });
      fillKind(data.acknowledgement);
      fillPositions(data.positions);
      lastText = text.value;
      // the letter suggestions follow the filled fields (the server ranks them, ties included)
      fire(form.elements.cited_letter_date, "change");
      var parts = [];
      if (filled.length) parts.push("Filled in: " + filled.join(", ") + ".");
      if (data.acknowledgement) parts.push("It only acknowledges receipt.");
      if (data.tie_note) parts.push(data.tie_note + ".");
      say(parts.join(" ") || "Read; nothing more found.");
    }
    function scanFile() {
      var file = files && files.files.length ? files.files[0] : null;
      if (!file) return null;
      var key = file.name + ":" + file.size + ":" + file.lastModified;
      return key === lastScan ? null : { file: file, key: key };
    }
    function analyse() {
      if (busy) { again = true; return; }
      var scan = scanFile();
      if (!scan && !text.value.trim()) return;
      var body = new FormData();
      ["subject", "country", "sender_organisation_id", "sender_person_id", "cited_letter_date", "language"]
        .forEach(function (name) {
          var el = form.elements[name];
          if (el && el.value) body.append(name, el.value);
        });
      body.append("text", text.value);
      if (scan) body.append("file", scan.file);
      busy = true;
      say(scan ? "Reading the scan…" : "Reading the text…");
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" }
      })
        .then(function (resp) {
          return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
        })
        .then(function (answer) {
          if (!answer.ok) { say(answer.data.detail || "The reply could not be read.", true); return; }
          if (scan) lastScan = scan.key;
          apply(answer.data);
        })
        .catch(function () { say("The reply could not be read; fill in the form by hand.", true); })
        .then(function () {
          busy = false;
          if (again) { again = false; analyse(); }
        });
    }
    function soon(delay) {
      clearTimeout(timer);
      timer = setTimeout(analyse, delay);
    }
    text.addEventListener("paste", function () { soon(100); });
    text.addEventListener("input", function () {
      // typing a word does not call for a reading; a new text does
      if (lastText === null || Math.abs(text.value.length - lastText.length) >= 40) soon(800);
    });
    if (files) files.addEventListener("change", function () { soon(0); });
    var button = form.querySelector("button[data-analyse]");
    if (button) {
      button.addEventListener("click", function (evt) {
        evt.preventDefault();
        lastScan = "";
        analyse();
      });
    }
    // correcting a suggested position accepts it as corrected
    form.addEventListener("change", function (evt) {
      var name = evt.target.name || "";
      if (name.indexOf("stance_") === 0 || name.indexOf("quote_") === 0) {
        var treaty = name.slice(name.indexOf("_") + 1);
        var marker = form.elements["suggested_" + treaty];
        var accept = form.elements["accept_" + treaty];
        if (marker && marker.value && accept) accept.checked = true;
      }
      if (name === "letter_ids") form.elements.letters_seen.value = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.sender-search").forEach(senderField);
    var form = document.querySelector("form[data-analyse-url]");
    if (form && window.fetch && window.FormData) readingForm(form);
  });
})();
