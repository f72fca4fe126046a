// Client-side search over every dependency name (search-index.js defines DEPSURF_INDEX as
// [kind, name, path] triples, path relative to the site root). Works from file:// too.
(function () {
  "use strict";
  var status = document.getElementById("search-status");
  var list = document.getElementById("results");
  var box = document.getElementById("q");
  var root = document.querySelector("link[rel=stylesheet]").getAttribute("href").replace(/style\.css$/, "");
  var params = new URLSearchParams(window.location.search);
  var q = (params.get("q") || "").trim();
  if (box && q) { box.value = q; }
  if (!status || !list) { return; }
  if (!q) { status.textContent = "Type a name in the search box."; return; }
  var index = window.DEPSURF_INDEX || [];
  var lq = q.toLowerCase();
  var exact = [], prefix = [], inner = [];
  for (var i = 0; i < index.length; i++) {
    var n = index[i][1].toLowerCase();
    if (n === lq) { exact.push(index[i]); }
    else if (n.indexOf(lq) === 0) { prefix.push(index[i]); }
    else if (n.indexOf(lq) > 0) { inner.push(index[i]); }
  }
  var all = exact.concat(prefix, inner);
  status.textContent = all.length + " result" + (all.length === 1 ? "" : "s") + " for \u201c" + q + "\u201d" + (all.length > 200 ? " (first 200 shown)" : "");
  all.slice(0, 200).forEach(function (e) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = root + e[2];
    a.textContent = e[1];
    li.appendChild(a);
    li.appendChild(document.createTextNode(" (" + e[0] + ")"));
    list.appendChild(li);
  });
})();
