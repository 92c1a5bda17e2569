// caldav-conformance HTML report (src/html.rs): filters, search and deep links. It only shows,
// hides and opens elements the report already holds; it never builds markup from data.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("details.sc"));
  var heads = Array.prototype.slice.call(document.querySelectorAll("h3.grp"));
  var form = document.getElementById("controls");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=outcome]"));
  var area = document.getElementById("f-area");
  var base = document.getElementById("f-baseline");
  var search = document.getElementById("f-search");
  var shown = document.getElementById("shown");

  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var a = area.value, m = base ? base.value : "", q = search.value.trim().toLowerCase();
    var visible = {}, n = 0;
    rows.forEach(function (r) {
      var ok = on[r.dataset.outcome] &&
        (a === "" || r.dataset.area === a) &&
        (m === "" || r.dataset.baseline === m) &&
        (q === "" || r.dataset.name.indexOf(q) !== -1);
      r.hidden = !ok;
      if (ok) { n++; visible[r.dataset.area] = true; }
    });
    heads.forEach(function (h) { h.hidden = !visible[h.dataset.area]; });
    shown.textContent = n + " of " + rows.length;
    document.getElementById("none").hidden = n !== 0;
  }

  function reset() {
    boxes.forEach(function (b) { b.checked = true; });
    area.value = "";
    if (base) { base.value = ""; }
    search.value = "";
    apply();
  }

  // Open the scenario named by the URL fragment, showing it first if a filter hides it.
  function follow() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) { return; }
    var el = document.getElementById(id);
    if (!el || !el.classList.contains("sc")) { return; }
    if (el.hidden) { reset(); }
    rows.forEach(function (r) { r.classList.remove("target"); });
    el.classList.add("target");
    el.open = true;
    el.scrollIntoView({ block: "start" });
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("f-reset").addEventListener("click", function (e) {
    e.preventDefault();
    reset();
  });
  document.getElementById("expand").addEventListener("click", function () {
    rows.forEach(function (r) { if (!r.hidden) { r.open = true; } });
  });
  document.getElementById("collapse").addEventListener("click", function () {
    rows.forEach(function (r) { r.open = false; });
  });
  // A legend entry shows only that outcome; an area of the chart selects that area.
  Array.prototype.forEach.call(document.querySelectorAll("button.only"), function (b) {
    b.addEventListener("click", function () {
      boxes.forEach(function (x) { x.checked = x.value === b.dataset.only; });
      apply();
      form.scrollIntoView({ block: "start" });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.only-bl"), function (b) {
    b.addEventListener("click", function () {
      boxes.forEach(function (x) { x.checked = true; });
      base.value = b.dataset.only;
      apply();
      form.scrollIntoView({ block: "start" });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.area-link"), function (b) {
    b.addEventListener("click", function () {
      area.value = b.dataset.area;
      apply();
      form.scrollIntoView({ block: "start" });
    });
  });
  window.addEventListener("hashchange", follow);
  apply();
  follow();
})();
