/* The lottery page (issue #11): the wheel or 9-grid turns to the prize the SERVER drew, then the
   result and the new balance are shown. No randomness here and no eval: the outcome arrives in
   the htmx answer's data attributes (data-prize-id, data-slice), this file only animates to it.
   It lives in a static file because the Content-Security-Policy allows no inline script; the
   draw form works without it (a plain POST and a redirect with the result message). */
(function () {
  "use strict";

  var angle = 0; // where the wheel stands now, in degrees (kept across panel swaps)
  var gridAt = 0; // the 9-grid cell lit last (kept across panel swaps)
  var heldPoints = null; // the header balance before the draw, shown until the wheel stops
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function pointsText() {
    var pill = document.querySelector("#header-points span");
    return pill ? pill.textContent : null;
  }

  function setPoints(text) {
    var pill = document.querySelector("#header-points span");
    if (pill && text !== null) { pill.textContent = text; }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-lottery-form")) { heldPoints = pointsText(); }
  });

  function finish(stage, result, newPoints) {
    stage.setAttribute("data-landed", result.getAttribute("data-prize-id") || "none");
    stage.classList.remove("is-spinning");
    result.hidden = false;
    setPoints(newPoints);
    heldPoints = null;
    document.body.dispatchEvent(new CustomEvent("lottery:landed", { bubbles: true }));
  }

  function spinWheel(stage, result, done) {
    var disc = stage.querySelector("[data-wheel-disc]");
    var slices = parseInt(stage.getAttribute("data-slices"), 10) || 1;
    var slice = parseInt(result.getAttribute("data-slice"), 10);
    if (!disc || isNaN(slice)) { done(); return; }
    var size = 360 / slices;
    // Slice i spans [i·size, (i+1)·size) clockwise from the top; turning the disc by -centre puts
    // its centre under the pointer. Five full turns first.
    var rest = (360 - (slice + 0.5) * size) % 360;
    var base = angle - (angle % 360);
    var target = base + (reduced ? 360 : 5 * 360) + rest;
    disc.style.transition = "none";
    disc.style.transform = "rotate(" + angle + "deg)";
    void disc.getBoundingClientRect(); // apply the start angle before the transition begins
    var ended = false;
    function end() {
      if (ended) { return; }
      ended = true;
      angle = target;
      done();
    }
    disc.addEventListener("transitionend", end, { once: true });
    window.setTimeout(end, reduced ? 900 : 5200); // no transitionend if the tab is hidden
    disc.style.transition = "transform " + (reduced ? "0.6s" : "4.5s") + " cubic-bezier(0.17, 0.67, 0.16, 1)";
    disc.style.transform = "rotate(" + target + "deg)";
  }

  function spinGrid(stage, result, done) {
    var cells = Array.prototype.slice.call(stage.querySelectorAll("[data-cell]"));
    cells.sort(function (a, b) { return a.getAttribute("data-cell") - b.getAttribute("data-cell"); });
    var prizeIndex = result.getAttribute("data-slice");
    var start = gridAt % Math.max(cells.length, 1);
    var distance = -1;
    for (var step = 0; step < cells.length; step++) {
      var at = (start + step) % cells.length;
      if (cells[at].getAttribute("data-prize-index") === prizeIndex) { distance = step; break; }
    }
    if (!cells.length || distance < 0) { done(); return; }
    var total = (reduced ? 0 : 3 * cells.length) + distance;
    var index = start;
    var taken = 0;
    function light() {
      cells.forEach(function (cell) { cell.classList.remove("is-lit"); });
      cells[index % cells.length].classList.add("is-lit");
    }
    function tick() {
      if (taken >= total) {
        gridAt = index % cells.length;
        done();
        return;
      }
      taken += 1;
      index += 1;
      light();
      // Slow down over the last cells, like a real marquee.
      var left = total - taken;
      window.setTimeout(tick, reduced ? 40 : (left < 8 ? 60 + (8 - left) * 45 : 60));
    }
    light();
    tick();
  }

  function land(root) {
    var results = root.querySelectorAll ? root.querySelectorAll("[data-lottery-result][data-pending]") : [];
    if (root.matches && root.matches("[data-lottery-result][data-pending]")) { results = [root]; }
    Array.prototype.forEach.call(results, function (result) {
      result.removeAttribute("data-pending");
      var stage = document.querySelector("[data-lottery-stage]");
      var newPoints = pointsText();
      if (heldPoints !== null) { setPoints(heldPoints); } // the balance changes when the wheel stops
      if (!stage) { result.hidden = false; setPoints(newPoints); return; }
      stage.classList.add("is-spinning");
      var done = function () { finish(stage, result, newPoints); };
      if (stage.getAttribute("data-style") === "grid") { spinGrid(stage, result, done); } else { spinWheel(stage, result, done); }
    });
  }

  document.addEventListener("htmx:load", function (event) { land(event.detail.elt); });
})();
