// Home banners: advance the scroll-snap strip every 6 s and keep the dots in step.
// Without this script the strip still scrolls by swipe or keyboard (CSS scroll-snap).
(function () {
  "use strict";
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  document.querySelectorAll("[data-banner-carousel]").forEach(function (root) {
    var track = root.querySelector(".cb-track");
    var dots = root.querySelectorAll(".cb-dot");
    if (!track || dots.length < 2) return;
    var paused = false;
    function current() { return Math.round(track.scrollLeft / Math.max(track.clientWidth, 1)); }
    function mark() {
      var index = current();
      dots.forEach(function (dot, i) { dot.classList.toggle("is-current", i === index); });
    }
    track.addEventListener("scroll", function () { window.requestAnimationFrame(mark); }, { passive: true });
    ["mouseenter", "focusin", "touchstart"].forEach(function (name) {
      root.addEventListener(name, function () { paused = true; }, { passive: true });
    });
    ["mouseleave", "focusout"].forEach(function (name) {
      root.addEventListener(name, function () { paused = false; });
    });
    if (reduced) return;
    window.setInterval(function () {
      if (paused || document.hidden) return;
      var next = (current() + 1) % dots.length;
      track.scrollTo({ left: next * track.clientWidth, behavior: "smooth" });
    }, 6000);
  });
})();
