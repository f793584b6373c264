// The admin's leaderboard column editor: a group withheld from participants may be shown but
// not ranked, so its option is disabled while the row's "ranked" box is ticked. The server
// renders the same state and refuses such a column anyway; this only follows the box.
(function () {
  "use strict";

  function sync(row) {
    var select = row.querySelector("select[data-column-population]");
    var ranked = row.querySelector("input[type=checkbox][name$='-ranked']");
    if (!select || !ranked) return;
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.hasAttribute("data-withheld")) {
        // The selected one stays, so that saving says why instead of sending another population.
        option.disabled = ranked.checked && !option.selected;
      }
    });
  }

  function rowOf(element) {
    return element.closest ? element.closest("tr") : null;
  }

  document.addEventListener("change", function (event) {
    var row = rowOf(event.target);
    if (row) sync(row);
  });
  // Django's inlines.js announces a row added with "Add another".
  document.addEventListener("formset:added", function (event) {
    sync(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-column-population]").forEach(function (select) {
      var row = rowOf(select);
      if (row) sync(row);
    });
  });
})();
