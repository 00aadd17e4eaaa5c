"use strict";
(function () {
  var $ = function (selector, root) {
    return (root || document).querySelector(selector);
  };
  document.documentElement.classList.add("js");
  document.querySelectorAll("[data-js-only]").forEach(function (el) {
    el.hidden = false;
  });

  // Kill switch: confirm in place (the link's own page is the no-script confirmation).
  var dialog = $("#toggle-dialog");
  document.addEventListener("click", function (event) {
    var link = event.target.closest?.("a[data-toggle]");
    if (link && dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      var form = $("form", dialog);
      form.action = link.dataset.action;
      form.elements.namedItem("env").value = link.dataset.env;
      form.elements.namedItem("state").value = link.dataset.next;
      form.elements.namedItem("version").value = link.dataset.version;
      form.elements.namedItem("return").value = location.pathname + location.search;
      $("[data-verb]", dialog).textContent = link.dataset.next === "ENABLED" ? "Turn on" : "Turn off";
      $("[data-flag]", dialog).textContent = link.dataset.flag;
      $("[data-env]", dialog).textContent = link.dataset.env;
      $("[data-killed]", dialog).textContent = link.dataset.killed || "";
      $("[data-submit]", dialog).textContent = (link.dataset.next === "ENABLED" ? "Turn on in " : "Turn off in ") + link.dataset.env;
      form.elements.namedItem("reason").value = "";
      dialog.showModal();
      form.elements.namedItem("reason").focus();
      return;
    }
    var close = event.target.closest?.("[data-close]");
    if (close && dialog) {
      event.preventDefault();
      dialog.close();
      return;
    }
    var copy = event.target.closest?.("button[data-copy]");
    if (copy) {
      var input = document.getElementById(copy.dataset.copy);
      navigator.clipboard.writeText(input.value).then(
        function () {
          copy.textContent = "Copied";
        },
        function () {
          input.select();
          copy.textContent = "Press Ctrl+C to copy";
        },
      );
    }
  });

  // Destructive forms ask first.
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset?.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Selects that switch the view submit themselves.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.requestSubmit();
    });
  });

  // Live filtering: the server renders the results; only the results region is swapped.
  var filters = $("form[data-live]");
  if (filters) {
    var timer = 0,
      pending = null;
    var refresh = function () {
      var url = new URL(filters.action, location.href);
      url.search = new URLSearchParams(new FormData(filters)).toString();
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(url, { credentials: "same-origin", signal: pending.signal })
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          var next = new DOMParser().parseFromString(html, "text/html").getElementById("results");
          var current = document.getElementById("results");
          if (next && current) current.replaceWith(next);
          history.replaceState(null, "", url);
        })
        .catch(function () {});
    };
    filters.addEventListener("input", function (event) {
      if (event.target.tagName === "SELECT") return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
    filters.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") refresh();
    });
    filters.addEventListener("submit", function (event) {
      event.preventDefault();
      refresh();
    });
  }
})();
