/* Small enhancements used on every page, loaded by base.html. They live in a static file
   because the Content-Security-Policy allows no inline script; every page works without them. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    // The language menu (and any other [data-autosubmit] select) applies as soon as it changes.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    // On phones the account nav is a horizontal strip: bring the current page's tab into view.
    document.querySelectorAll("[data-scroll-active]").forEach(function (nav) {
      var active = nav.querySelector(".active");
      if (active && nav.scrollWidth > nav.clientWidth) { nav.scrollLeft = active.offsetLeft - nav.offsetLeft - 16; }
    });

    // Copy the value of the input named by data-copy-id, with a fallback for plain-http pages.
    document.querySelectorAll("[data-copy-id]").forEach(function (button) {
      var input = document.getElementById(button.dataset.copyId);
      var label = button.textContent;
      function copied() {
        button.textContent = button.dataset.copiedLabel;
        setTimeout(function () { button.textContent = label; }, 2000);
      }
      function fallback() {
        input.select();
        if (document.execCommand("copy")) { copied(); }
      }
      button.addEventListener("click", function () {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(copied, fallback);
        } else {
          fallback();
        }
      });
    });

    // The system share sheet, where the browser has one (phones).
    if (navigator.share) {
      document.querySelectorAll("[data-share-id]").forEach(function (button) {
        var input = document.getElementById(button.dataset.shareId);
        button.hidden = false;
        button.addEventListener("click", function () {
          navigator.share({ title: button.dataset.shareTitle, url: input.value }).catch(function () {});
        });
      });
    }
  });

  // A table wider than the phone scrolls inside its .table-wrap; keyboard users scroll it with the
  // arrow keys once it can take focus (WCAG 2.1.1), so a wrap that overflows joins the tab order.
  function tableScrollers() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        wrap.setAttribute("tabindex", "0");
      } else {
        wrap.removeAttribute("tabindex");
      }
    });
  }
  ready(tableScrollers);
  window.addEventListener("resize", tableScrollers);
  document.addEventListener("htmx:load", tableScrollers);

  // A region htmx is about to refill is busy until the new content is in: a screen reader then
  // reads the polite live region (aria-live="polite" on the target) once, not its half-swapped state.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.setAttribute) { target.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.removeAttribute) { target.removeAttribute("aria-busy"); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    if (target && target.removeAttribute && !event.detail.successful) { target.removeAttribute("aria-busy"); }
  });

  // A rate limit turned an htmx request away (429, pointsmall/throttle.py). htmx swaps nothing on
  // an error status, so the message goes above the form that was sent (or the page's content).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status !== 429 || xhr.responseText.indexOf("data-rate-limited") < 0) { return; }
    event.detail.shouldSwap = false;
    event.detail.isError = false;
    var source = event.detail.requestConfig ? event.detail.requestConfig.elt : event.target;
    var form = (source && source.closest && source.closest("form")) || null;
    var host = form || document.getElementById("content") || document.body;
    var slot = host.querySelector("[data-rate-limited-slot]");
    if (!slot) {
      slot = document.createElement("div");
      slot.setAttribute("data-rate-limited-slot", "");
      host.insertBefore(slot, host.firstChild);
    }
    var parsed = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector("[data-rate-limited]");
    slot.replaceChildren();
    if (parsed) { slot.appendChild(document.importNode(parsed, true)); }
  });
})();
