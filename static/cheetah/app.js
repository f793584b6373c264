// Cheetah's small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Times: rewrite UTC <time data-local> in the viewer's own time zone.
  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.textContent = d.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
        timeZoneName: "short",
      });
      el.title = el.getAttribute("datetime");
    });
  }

  // Upload with visible progress; the server answers JSON when asked to.
  function uploads() {
    var form = document.querySelector("form[data-upload]");
    if (!form || !window.XMLHttpRequest || !window.FormData) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = form.querySelector(".upload-progress");
      var bar = form.querySelector("progress");
      var pct = form.querySelector("[data-percent]");
      var errors = form.querySelector("[data-upload-errors]");
      var button = form.querySelector("button[type=submit]");
      errors.hidden = true;
      box.hidden = false;
      button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var p = Math.round((100 * e.loaded) / e.total);
        bar.value = p;
        pct.textContent = p + "%";
      });
      xhr.addEventListener("load", function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
        if (xhr.status === 201 && data.redirect) {
          window.location.assign(data.redirect);
          return;
        }
        button.disabled = false;
        box.hidden = true;
        errors.hidden = false;
        errors.textContent = "";
        (data.errors || ["The upload failed (HTTP " + xhr.status + "). Try again."]).forEach(
          function (msg) { var p = document.createElement("p"); p.textContent = msg; errors.appendChild(p); }
        );
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        errors.hidden = false;
        errors.textContent = "The connection was lost during the upload. Try again.";
      });
      xhr.send(new FormData(form));
    });
  }

  // Submissions page: poll statuses until nothing is queued or scoring.
  function statusPolling() {
    var table = document.querySelector("table[data-status-url]");
    if (!table) return;
    var url = table.getAttribute("data-status-url");
    var labels = { queued: "Queued", scoring: "Scoring", scored: "Scored", failed: "Failed" };
    function pending() {
      return table.querySelectorAll(".status-queued, .status-scoring").length > 0;
    }
    function poll() {
      if (!pending()) return;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { submissions: [] }; })
        .then(function (data) {
          var changed = false;
          data.submissions.forEach(function (s) {
            var row = table.querySelector('tr[data-submission="' + s.id + '"]');
            if (!row) return;
            var status = row.querySelector("[data-status]");
            if (!status.classList.contains("status-" + s.status)) {
              changed = true;
              status.className = "status status-" + s.status;
              status.textContent = labels[s.status] || s.status;
              row.querySelector("[data-message]").textContent = s.message || "";
            }
          });
          if (changed && !pending()) { window.location.reload(); return; }
          window.setTimeout(poll, 2000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1500);
  }

  // Sortable tables: click a header (or press Enter on it) to sort by its cells' data-value.
  function sortable(root) {
    root.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("th[data-sort]").forEach(function (th, index) {
        th.tabIndex = 0;
        function sort() {
          var numeric = th.getAttribute("data-sort") === "number";
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          table.querySelectorAll("th[aria-sort]").forEach(function (o) { o.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > index; });
          rows.sort(function (a, b) {
            var x = a.cells[index].getAttribute("data-value") || "";
            var y = b.cells[index].getAttribute("data-value") || "";
            if (numeric) {
              // Undefined values sort last in either direction, as they rank last.
              if (x === "" || y === "") return (x === "") - (y === "");
              return ascending ? parseFloat(x) - parseFloat(y) : parseFloat(y) - parseFloat(x);
            }
            return ascending ? x.localeCompare(y) : y.localeCompare(x);
          });
          rows.forEach(function (r) { body.appendChild(r); });
        }
        // A link in a header (a metric's name, to the glossary) is followed, not sorted on.
        function onHeader(e) { return !(e.target.closest && e.target.closest("a")); }
        th.addEventListener("click", function (e) { if (onHeader(e)) sort(); });
        th.addEventListener("keydown", function (e) { if (e.key === "Enter" && onHeader(e)) sort(); });
      });
    });
  }

  // Table frames: the page serves each with tabindex=0 so that a keyboard can scroll a wide
  // table; a frame whose table fits needs no tab stop, so it leaves the tab order until the window
  // narrows and it scrolls again.
  function updateFrames() {
    document.querySelectorAll(".table-frame").forEach(function (frame) {
      if (frame.scrollWidth > frame.clientWidth) frame.setAttribute("tabindex", "0");
      else frame.removeAttribute("tabindex");
    });
  }

  function tableFrames() {
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; updateFrames(); });
    });
    updateFrames();
  }

  // Leaderboards: fetch the table every few seconds (data-live-interval) and swap it in when the
  // worker has ranked a newer field.
  function liveTables() {
    var box = document.querySelector("[data-live-table]");
    if (!box) return;
    var url = box.getAttribute("data-live-table");
    var every = 1000 * (parseFloat(box.getAttribute("data-live-interval")) || 15);
    function poll() {
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html) {
            var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("table");
            var current = box.querySelector("table");
            if (fresh && current && fresh.getAttribute("data-computed-at") !== current.getAttribute("data-computed-at")) {
              current.replaceWith(fresh);
              localTimes(box);
              sortable(box);
              updateFrames();
            }
          }
          window.setTimeout(poll, every);
        })
        .catch(function () { window.setTimeout(poll, 2 * every); });
    }
    window.setTimeout(poll, every);
  }

  // Challenge report: while a worker builds it, poll its status (a small JSON document), show
  // the worker's step, and when it is ready list its files and download the one asked for; a
  // failure reloads the page, which then says why and offers to try again.
  function reportProgress() {
    var box = document.querySelector("[data-report-status]");
    if (!box || !box.querySelector("[data-report-step]")) return;
    var url = box.getAttribute("data-report-status");
    var format = box.getAttribute("data-report-format");
    var labels = { html: "HTML page", pdf: "PDF", zip: "Full tables (CSV files in a ZIP)" };
    function ready(files) {
      box.querySelector("[data-report-state]").textContent = "Ready";
      box.querySelector("[data-report-state]").className = "status status-scored";
      box.querySelector("[data-report-step]").textContent = "";
      var list = box.querySelector("[data-report-files]");
      Object.keys(files).forEach(function (key) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = files[key];
        link.textContent = labels[key] || key;
        item.appendChild(link);
        list.appendChild(item);
      });
      list.hidden = false;
      if (files[format]) window.location.assign(files[format]);
    }
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { window.setTimeout(poll, 5000); return; }
          if (data.status === "ready") { ready(data.files); return; }
          if (data.status === "failed" || data.status === "missing") {
            window.location.reload();
            return;
          }
          box.querySelector("[data-report-step]").textContent = data.step || "";
          window.setTimeout(poll, 2000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    reportProgress();
    localTimes(document);
    uploads();
    statusPolling();
    sortable(document);
    liveTables();
    tableFrames();
  });
})();
