// The frame's script, on every page.
// 1. The main menu: collapsed behind a "Menu" button on narrow screens (CSS decides the width), open on wide
//    ones. Loaded in <head> without defer so the page is marked as scripted before the menu is drawn; without
//    JavaScript the menu simply stays open.
// 2. Every table in the page's content gets a box that scrolls sideways, so a wide table never makes the whole
//    page wider than the screen (content htmx swaps in included).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setOpen(toggle, nav, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }

  function boxTables(root) {
    var tables = (root || document).querySelectorAll("main table");
    if (root && root.matches && root.matches("main table")) tables = [root];
    Array.prototype.forEach.call(tables, function (table) {
      if (table.closest(".table-scroll")) return;
      var box = document.createElement("div");
      box.className = "table-scroll";
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    boxTables(document);
    document.body.addEventListener("htmx:afterSettle", function (event) {
      boxTables(event.target);
    });
    var toggle = document.querySelector(".nav-toggle");
    var nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!toggle || !nav) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      setOpen(toggle, nav, toggle.getAttribute("aria-expanded") !== "true");
    });
    // Escape closes the open menu and gives the focus back to its button.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(toggle, nav, false);
        toggle.focus();
      }
    });
  });
})();
