// Progressive enhancement of the Koordination and Kreistagsbüro pages; every page works without it.
// - A form marked data-enhance="agenda" (Tagesordnung erstellen) is sent in the background and
//   the agenda part of the page is replaced by the answer, without reloading the page.
// - An element marked data-poll="<url>" (a running batch of contracts) asks that url every two
//   seconds for its new state and replaces itself with the answer until it says it is done.
(function () {
  "use strict";

  function announce(text) {
    var status = document.getElementById("tagesordnung-status") || document.getElementById("auftrag-status");
    if (status) { status.textContent = text; }
  }

  function replaceWith(element, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.firstElementChild;
    if (fresh) { element.replaceWith(fresh); }
    return fresh;
  }

  function enhanceAgenda(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      announce("Die Kurzberichte werden abgerufen …");
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (response.redirected || !(response.headers.get("Content-Type") || "").startsWith("text/html")) {
          window.location.reload();
          return null;
        }
        return response.text();
      }).then(function (html) {
        if (html === null) { return; }
        var section = document.querySelector("[data-agenda]");
        var fresh = section ? replaceWith(section, html) : null;
        if (fresh) { wire(fresh); }
        announce("Die Tagesordnung ist aktualisiert.");
      }).catch(function () {
        form.submit();  // without the background request, as without the script
      });
    });
  }

  function poll(element) {
    var url = element.getAttribute("data-poll");
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = replaceWith(element, html);
          if (fresh && fresh.hasAttribute("data-poll")) { poll(fresh); }
          else if (fresh) { announce(fresh.getAttribute("data-done") || "Fertig."); }
        });
    }, 2000);
  }

  function wire(root) {
    root.querySelectorAll("form[data-enhance=agenda]").forEach(enhanceAgenda);
    root.querySelectorAll("[data-poll]").forEach(poll);
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
})();
