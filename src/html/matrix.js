// caldav-conformance matrix page (src/html/matrix.rs): a heat map cell's link (#c-SERVER-GROUP)
// opens the side panel on that cell's scenario list. Only shows and hides rendered elements.
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  var lists = Array.prototype.slice.call(panel.querySelectorAll("section.cell-list"));
  var cells = Array.prototype.slice.call(document.querySelectorAll("a.cell"));

  function close() {
    panel.hidden = true;
    cells.forEach(function (c) { c.classList.remove("current"); });
  }

  function follow() {
    var id = decodeURIComponent(location.hash.slice(1));
    var found = null;
    lists.forEach(function (l) {
      var on = l.id === id;
      l.hidden = !on;
      if (on) { found = l; }
    });
    cells.forEach(function (c) {
      c.classList.toggle("current", c.getAttribute("href") === "#" + id);
    });
    if (!found) { close(); return; }
    panel.hidden = false;
    panel.scrollTop = 0;
  }

  document.getElementById("close").addEventListener("click", function () {
    close();
    history.replaceState(null, "", location.pathname + location.search);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { document.getElementById("close").click(); }
  });
  window.addEventListener("hashchange", follow);
  follow();
})();
