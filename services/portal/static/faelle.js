/* Live Zielgruppen check of the Fallvorschlag (progressive enhancement: without JavaScript the
   button "Zielgruppen prüfen" re-renders the page with the result). On every change of a field
   the form is sent to the portal's JSON endpoint (with its CSRF token field, same origin); the
   result replaces the region #zielgruppen-ergebnis, which screen readers announce politely.
   Field errors are not shown while the person is still typing: the region only says what is
   missing for the check. Nothing is stored by the check. */
(function () {
  "use strict";
  var form = document.getElementById("fallvorschlag");
  var region = document.getElementById("zielgruppen-ergebnis");
  if (!form || !region || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-pruefung");
  var pending = null;
  var sequence = 0;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function show(result) {
    var parts = [];
    if (result.summary === undefined) {
      parts.push(element("p", "kern-body",
        "Für die Prüfung fehlen noch Angaben: Geburtsdatum, Aufenthaltsstatus und Herkunftsland."));
    } else {
      parts.push(element("h3", "kern-heading-small",
        result.eligible ? "Zielgruppe trifft zu" : "Keine Zielgruppe trifft zu"));
      parts.push(element("p", "kern-body", "Geprüft gegen die Zielgruppen-Version " + result.version + "."));
      if (result.matched.length) {
        parts.push(element("p", "kern-body", "Zielgruppe: " + result.matched.join(", ")));
      }
      if (result.mismatches.length) {
        var list = element("ul", "kern-list");
        result.mismatches.forEach(function (m) {
          list.appendChild(element("li", "", "Nicht „" + m.name + "“: " + m.reasons.join(" ")));
        });
        parts.push(list);
      }
    }
    region.textContent = "";
    parts.forEach(function (p) { region.appendChild(p); });
  }

  function check() {
    var mine = ++sequence;
    var data = new FormData(form);
    data.delete("aktion");
    fetch(url, { method: "POST", body: data, credentials: "same-origin",
                 headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (result) { if (result && mine === sequence) { show(result); } })
      .catch(function () { /* the button still works */ });
  }

  form.addEventListener("change", function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(check, 300);
  });
})();
