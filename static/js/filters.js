// The notification list's filters: open on a wide screen, folded on a phone (its summary says how many are
// active), so the list is on the first screen. Without this file they are simply open. Not folded when the
// form has an error to read. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 599.98px)");

  function fold() {
    document.querySelectorAll("details[data-fold-narrow]").forEach(function (details) {
      var form = details.closest("form");
      if (narrow.matches && !(form && form.querySelector(".errors"))) { details.open = false; }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fold);
  } else {
    fold();
  }
})();
