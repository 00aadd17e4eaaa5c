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
      quickReasons(form, link.dataset.next);
      dialog.showModal();
      // On a touch screen the keyboard would cover the one-tap reasons and the confirm button.
      if (!window.matchMedia("(pointer: coarse)").matches) form.elements.namedItem("reason").focus();
      return;
    }
    var quick = event.target.closest?.("button[data-reason]");
    if (quick) {
      event.preventDefault();
      var reasonForm = quick.form;
      reasonForm.elements.namedItem("reason").value = quick.dataset.reason;
      reasonForm.requestSubmit();
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

  // One-tap reasons in the kill-switch dialog: the switch and one of these are the two taps a
  // phone needs; each says why, as the audit log requires, and the text box stays for anything else.
  var QUICK_REASONS = {
    DISABLED: ["Errors or an incident", "Customer reports a problem", "Planned change"],
    ENABLED: ["Incident resolved", "Planned release"],
  };
  function quickReasons(form, next) {
    var box = $("[data-quick-reasons]", form);
    if (!box) {
      box = document.createElement("div");
      box.className = "quick-reasons";
      box.setAttribute("data-quick-reasons", "");
      var field = $("textarea[name=reason]", form).closest(".field");
      field.parentNode.insertBefore(box, field);
    }
    box.replaceChildren();
    var label = document.createElement("p");
    label.className = "meta";
    label.textContent = (next === "ENABLED" ? "Turn on" : "Turn off") + " now, because:";
    box.appendChild(label);
    (QUICK_REASONS[next] || []).forEach(function (reason) {
      var button = document.createElement("button");
      button.type = "submit";
      button.className = next === "ENABLED" ? "" : "danger";
      button.dataset.reason = reason;
      button.textContent = reason;
      box.appendChild(button);
    });
  }

  // "/" jumps to the page's search box, unless the keystroke is text being typed somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var target = event.target;
    if (target.closest?.("input, textarea, select, [contenteditable=''], [contenteditable=true]")) return;
    var search = $("input[type=search]") || $("#project-switch");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });

  // The project switcher suggests the projects this session may open (GET /admin/v1/projects).
  var switcher = $("input[data-project-list]");
  var options = $("#project-options");
  if (switcher && options) {
    fetch(switcher.dataset.projectList, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (list) {
        (list && Array.isArray(list.projects) ? list.projects : []).forEach(function (project) {
          var option = document.createElement("option");
          option.value = project.name;
          options.appendChild(option);
        });
      })
      .catch(function () {});
  }

  // After a write: say when the edge serves the new version, not only that the write succeeded.
  // Polls the console's edge-status (what the FlagStore has written to KV, which every edge
  // isolate revalidates against), once a second for at most EDGE_CHECKS seconds.
  var EDGE_CHECKS = 30;
  var params = new URLSearchParams(location.search);
  var written = params.get("done");
  var notice = $(".notice.ok");
  var projectMatch = /^\/console\/p\/([^/]+)\//.exec(location.pathname);
  if (notice && projectMatch && (written === "toggled" || written === "saved") && params.get("env")) {
    var line = document.createElement("p");
    line.setAttribute("data-edge-status", "");
    line.dataset.edgeState = "checking";
    line.textContent = "Checking whether the edge serves it yet…";
    notice.appendChild(line);
    var statusUrl =
      "/console/p/" +
      projectMatch[1] +
      "/edge-status?" +
      new URLSearchParams({ env: params.get("env"), version: params.get("version") || "" }).toString();
    var checks = 0;
    var show = function (state, text) {
      line.dataset.edgeState = state;
      line.textContent = text;
    };
    var queuedText = function (status) {
      var text = "version " + status.version + " is queued for the edge";
      if (status.pending && status.pending.lastError)
        text += ": retrying (attempt " + status.pending.attempts + "), last error: " + status.pending.lastError;
      else text += " (the snapshot in KV is still at version " + (status.published === null ? "none" : status.published) + ")";
      return text;
    };
    var check = function () {
      checks++;
      fetch(statusUrl, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body && body.detail ? body.detail : "the console answered " + response.status);
            return body;
          });
        })
        .then(function (status) {
          if (status.state === "live") {
            var newer = status.published > status.version ? " (it already serves version " + status.published + ", which includes it)" : "";
            show("live", "Saved as version " + status.version + " — live at the edge" + newer + ".");
            return;
          }
          if (checks >= EDGE_CHECKS) {
            show(
              "late",
              "Not at the edge yet after " +
                EDGE_CHECKS +
                " s: " +
                queuedText(status) +
                ". It stays queued until it succeeds; reload this page to check again.",
            );
            return;
          }
          show("queued", "Saved; " + queuedText(status) + "…");
          setTimeout(check, 1000);
        })
        .catch(function (error) {
          if (checks >= EDGE_CHECKS) show("unknown", "Saved, but whether the edge serves it yet could not be checked: " + error.message);
          else setTimeout(check, 1000);
        });
    };
    check();
  }

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
