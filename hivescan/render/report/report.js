// hivescan case-file report: fold cards, filter by severity and text. Offline; no network.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card"));
  var boxes = Array.prototype.slice.call(document.querySelectorAll(".filters input[data-severity]"));
  var search = document.getElementById("filter-text");
  var shown = document.getElementById("filter-count");
  function apply() {
    var wanted = {};
    boxes.forEach(function (b) { wanted[b.getAttribute("data-severity")] = b.checked; });
    var text = search ? search.value.trim().toLowerCase() : "";
    var visible = 0;
    cards.forEach(function (card) {
      var any = false;
      card.querySelectorAll(".finding").forEach(function (f) {
        var keep = wanted[f.getAttribute("data-severity")] !== false;
        f.classList.toggle("hidden", !keep);
        any = any || keep;
      });
      var match = !text || card.textContent.toLowerCase().indexOf(text) !== -1;
      var keepCard = any && match;
      card.classList.toggle("hidden", !keepCard);
      if (keepCard) { visible += 1; }
    });
    if (shown) { shown.textContent = visible + " of " + cards.length + " services shown"; }
  }
  cards.forEach(function (card) {
    var head = card.querySelector("header");
    if (head) { head.addEventListener("click", function () { card.classList.toggle("open"); }); }
  });
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  if (search) { search.addEventListener("input", apply); }
  var all = document.getElementById("expand-all");
  if (all) {
    all.addEventListener("click", function () {
      var open = !cards.every(function (c) { return c.classList.contains("open"); });
      cards.forEach(function (c) { c.classList.toggle("open", open); });
    });
  }
  apply();
})();
