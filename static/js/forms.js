// The catalog forms' widgets (catalog/core/widgets.py): tags as chips and a search box over each picker.
// Without this file the forms still work: tags are comma-separated text, pickers a plain list. When htmx
// swaps in a project's pickers, the new ones are set up too (htmx:load). No inline script: the CSP forbids it.
(function () {
  "use strict";

  // Chips typed while a project's pickers were being reloaded, kept for the fields that come back.
  var carried = {};

  function tagInput(input) {
    if (input.dataset.tagReady) { return; }
    input.dataset.tagReady = "1";
    var name = input.name;
    var box = document.createElement("div");
    box.className = "tag-input";
    var list = document.createElement("ul");
    list.className = "tag-chips";
    list.setAttribute("aria-label", "Tags");
    var entry = document.createElement("input");
    entry.type = "text";
    entry.className = "tag-entry";
    entry.id = input.id;
    entry.autocomplete = "off";
    if (input.getAttribute("list")) { entry.setAttribute("list", input.getAttribute("list")); }
    if (input.getAttribute("aria-describedby")) {
      entry.setAttribute("aria-describedby", input.getAttribute("aria-describedby"));
    }
    entry.placeholder = "Type, then Enter";

    function tags() {
      return Array.prototype.map.call(list.querySelectorAll("input[type=hidden]"), function (h) { return h.value; });
    }

    function add(text) {
      text = text.trim();
      if (!text || tags().indexOf(text) !== -1) { return; }
      var chip = document.createElement("li");
      chip.className = "tag-chip";
      var label = document.createElement("span");
      label.textContent = text;
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = text;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "tag-remove";
      remove.textContent = "\u00d7";
      remove.setAttribute("aria-label", "Remove " + text);
      remove.addEventListener("click", function () {
        chip.remove();
        entry.focus();
      });
      chip.appendChild(label);
      chip.appendChild(hidden);
      chip.appendChild(remove);
      list.appendChild(chip);
    }

    function addTyped() {
      entry.value.split(",").forEach(add);
      entry.value = "";
    }

    input.value.split(",").forEach(add);
    (carried[name] || []).forEach(add);
    delete carried[name];
    entry.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === ",") {
        event.preventDefault();
        addTyped();
      } else if (event.key === "Backspace" && entry.value === "" && list.lastElementChild) {
        list.lastElementChild.remove();
      }
    });
    // A pasted list, or a suggestion picked from the datalist.
    entry.addEventListener("input", function () {
      if (entry.value.indexOf(",") !== -1) { addTyped(); }
    });
    entry.addEventListener("blur", addTyped);
    // What is still typed when the form is sent counts too.
    var form = input.form;
    if (form) { form.addEventListener("submit", addTyped); }

    box.appendChild(list);
    box.appendChild(entry);
    input.replaceWith(box);
  }

  function picker(box) {
    if (box.dataset.pickerReady) { return; }
    box.dataset.pickerReady = "1";
    var options = box.querySelectorAll(".picker-option");
    if (options.length < 2) { return; }
    var search = document.createElement("input");
    search.type = "search";
    search.className = "picker-search";
    search.placeholder = box.dataset.searchLabel || "Search";
    search.setAttribute("aria-label", box.dataset.searchLabel || "Search");
    search.setAttribute("aria-controls", box.id);
    var empty = box.querySelector(".picker-empty");
    search.addEventListener("input", function () {
      var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      options.forEach(function (option) {
        var text = option.textContent.toLowerCase();
        var checked = option.querySelector("input:checked");
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        // A chosen option always stays in sight, so nobody unchecks what they cannot see.
        option.hidden = !(match || checked);
        if (!option.hidden) { shown += 1; }
      });
      if (empty) { empty.hidden = shown !== 0; }
    });
    // Enter in the search box must not send the form.
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    box.insertBefore(search, box.firstChild);
  }

  function setUp(root) {
    root.querySelectorAll("input[data-tag-input]").forEach(tagInput);
    root.querySelectorAll("[data-picker]").forEach(picker);
  }

  function start() {
    setUp(document);
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      carried = {};
      event.detail.target.querySelectorAll(".tag-input input[type=hidden]").forEach(function (hidden) {
        (carried[hidden.name] = carried[hidden.name] || []).push(hidden.value);
      });
    });
    document.body.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
