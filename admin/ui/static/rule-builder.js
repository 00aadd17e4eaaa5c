"use strict";
// The flag page's rule builder, enhanced: tabs between the builder and the raw JSON, the split's
// percentages kept in step with its sliders, the fields each choice needs, and the raw JSON checked
// as it is typed. Everything here is optional: the form posts the same fields without it, and the
// server alone turns them into targeting.
(function () {
  var all = function (selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  };

  // Tabs: the builder first; the JSON editor when it has something to show (a refused save).
  var tabs = all("[data-tab]");
  var show = function (target) {
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === target;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      var panel = document.getElementById(tab.getAttribute("data-tab"));
      if (panel) panel.hidden = !on;
    });
  };
  if (tabs.length) {
    var raw = document.getElementById("raw-editor");
    show(raw && (raw.getAttribute("data-advanced") === "open" || location.hash === "#raw-editor") ? "raw-editor" : "rule-builder");
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () {
        show(tab.getAttribute("data-tab"));
      });
    });
  }

  // A serve shows the variant picker or the split, as chosen.
  var syncServe = function (serve) {
    var kind = serve.querySelector("[data-serve-kind]").value;
    var split = serve.querySelector("[data-split]");
    var variant = serve.querySelector("select[name$='.variant']");
    if (split) split.hidden = kind !== "split";
    if (variant) variant.closest(".field").hidden = kind !== "variant";
  };

  // Percentages: each slider's share of the total; with two variants, moving one moves the other.
  var syncPercent = function (split) {
    var sliders = all("[data-weight]", split);
    var total = 0;
    sliders.forEach(function (s) {
      total += Number(s.value) || 0;
    });
    sliders.forEach(function (s) {
      var out = s.parentNode.querySelector("[data-percent]");
      if (out) out.textContent = total > 0 ? Math.round(((Number(s.value) || 0) * 1000) / total) / 10 + "%" : "0%";
    });
  };

  all("[data-serve]").forEach(function (serve) {
    syncServe(serve);
    serve.querySelector("[data-serve-kind]").addEventListener("change", function () {
      syncServe(serve);
    });
    var split = serve.querySelector("[data-split]");
    if (!split) return;
    syncPercent(split);
    all("[data-weight]", split).forEach(function (slider) {
      slider.addEventListener("input", function () {
        var sliders = all("[data-weight]", split);
        if (sliders.length === 2 && Number(slider.max) === 100) {
          var other = sliders[0] === slider ? sliders[1] : sliders[0];
          other.value = String(100 - (Number(slider.value) || 0));
        }
        syncPercent(split);
      });
    });
  });

  // Pattern flags only for "matches".
  var syncOperator = function (select) {
    var row = select.closest("[data-condition]");
    all("[data-for-op]", row).forEach(function (field) {
      field.hidden = field.getAttribute("data-for-op") !== select.value;
    });
  };
  all("select[data-operator]").forEach(function (select) {
    syncOperator(select);
    select.addEventListener("change", function () {
      syncOperator(select);
    });
  });

  // The raw JSON, checked as it is typed (the admin API still checks the rules on save).
  all("[data-json-check]").forEach(function (area) {
    var status = document.getElementById("targeting-live");
    var check = function () {
      var text = area.value.trim();
      var problem = "";
      if (text !== "") {
        try {
          JSON.parse(text);
        } catch (error) {
          problem = "Not valid JSON yet: " + error.message;
        }
      }
      if (problem) area.setAttribute("aria-invalid", "true");
      else if (!document.getElementById("targeting-error")) area.removeAttribute("aria-invalid");
      if (status) {
        status.textContent = problem;
        status.hidden = !problem;
      }
    };
    area.addEventListener("input", check);
  });
})();
