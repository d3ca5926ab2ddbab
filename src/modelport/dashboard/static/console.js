// modelport console: refresh the parts of a page marked data-refresh="SECONDS".
// The page is fetched again (same origin, same cookie) and each marked element is replaced
// by its namesake from the new page. The server escaped everything it rendered; nothing here
// builds markup from data, and nothing runs inline (the CSP forbids it anyway).
(function () {
  "use strict";
  var marked = document.querySelectorAll("[data-refresh][id]");
  if (!marked.length) { return; }
  var busy = false;

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(window.location.href, {
      credentials: "same-origin",
      headers: { "X-Console-Refresh": "1" },
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (text) {
      var fresh = new DOMParser().parseFromString(text, "text/html");
      marked.forEach(function (old) {
        var next = fresh.getElementById(old.id);
        if (next) {
          old.replaceWith(document.importNode(next, true));
        }
      });
      marked = document.querySelectorAll("[data-refresh][id]");
      document.body.removeAttribute("data-stale");
    }).catch(function () {
      document.body.setAttribute("data-stale", "1");
    }).then(function () { busy = false; });
  }

  var seconds = Infinity;
  marked.forEach(function (el) {
    var s = parseFloat(el.getAttribute("data-refresh"));
    if (s > 0 && s < seconds) { seconds = s; }
  });
  if (seconds !== Infinity) { window.setInterval(refresh, seconds * 1000); }
}());
