(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-value");
    return v === null ? cell.textContent : v;
  }
  function sortTable(table, col, desc) {
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    if (!body || col < 0 || col >= heads.length) return;
    var items = Array.prototype.map.call(body.rows, function (row) {
      return {row: row, k: key(row.cells[col]), o: Number(row.getAttribute("data-order"))};
    });
    var numeric = items.every(function (it) {
      return it.k === "" || isFinite(Number(it.k));
    });
    items.sort(function (a, b) {
      var am = a.k === "", bm = b.k === "";
      if (am || bm) return am === bm ? a.o - b.o : (am ? 1 : -1);
      var c = numeric ? Number(a.k) - Number(b.k) : (a.k < b.k ? -1 : a.k > b.k ? 1 : 0);
      if (desc) c = -c;
      return c || a.o - b.o;
    });
    items.forEach(function (it) { body.appendChild(it.row); });
    for (var i = 0; i < heads.length; i++) {
      if (i === col) heads[i].setAttribute("aria-sort", desc ? "descending" : "ascending");
      else heads[i].removeAttribute("aria-sort");
    }
    table.setAttribute("data-sort", col + (desc ? ":desc" : ""));
  }
  function fromHash() {
    var m = /^#sort=([a-z0-9-]+):(\d+)(:desc)?$/.exec(window.location.hash);
    if (!m) return;
    var table = document.getElementById(m[1]);
    if (table && table.classList.contains("lb")) sortTable(table, Number(m[2]), !!m[3]);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.lb"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.querySelector("button").addEventListener("click", function () {
        var desc = th.getAttribute("aria-sort") === "ascending";
        sortTable(table, col, desc);
        var hash = "#sort=" + table.id + ":" + col + (desc ? ":desc" : "");
        try { history.replaceState(null, "", hash); } catch (e) { /* file: URLs */ }
      });
    });
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
