/* The mall's small enhancements: live countdowns, the copy button, the quantity stepper, the gallery,
   the review counter and single-submit forms. Every page works without this file. */
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function formatLeft(ms, dayLabel) {
    var total = Math.floor(ms / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    var clock = pad(hours) + ":" + pad(minutes) + ":" + pad(seconds);
    return days > 0 ? days + (dayLabel || "d") + " " + clock : clock;
  }

  // What a screen reader reads for a countdown: rewritten when the minute changes and at the end,
  // never on the first tick (the server's text is current then), so a live one speaks once a minute.
  function speak(el, left) {
    var spoken = el.querySelector(".cd-spoken");
    if (!spoken) { return; }
    var minute = left <= 0 ? "done" : String(Math.floor(left / 60000));
    var last = el.getAttribute("data-spoken-minute");
    el.setAttribute("data-spoken-minute", minute);
    if (last === null || last === minute) { return; }
    if (left <= 0) { spoken.textContent = el.getAttribute("data-countdown-done") || ""; return; }
    var words = (el.getAttribute("data-countdown-words") || "d|h|min").split("|");
    var total = Math.floor(left / 60000);
    var parts = [];
    if (total >= 1440) { parts.push(Math.floor(total / 1440) + " " + words[0]); }
    if (total >= 60) { parts.push(Math.floor((total % 1440) / 60) + " " + words[1]); }
    parts.push((total % 60) + " " + words[2]);
    spoken.textContent = parts.join(" ");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var target = Date.parse(el.getAttribute("data-countdown-to"));
      var value = el.querySelector(".cd-value");
      if (isNaN(target) || !value) { return; }
      var left = target - now;
      speak(el, left);
      if (left <= 0) {
        value.textContent = el.getAttribute("data-countdown-done") || "";
        el.classList.add("is-done");
        var label = el.querySelector(".cd-label");
        if (label) { label.hidden = true; }
        return;
      }
      value.textContent = formatLeft(left, el.getAttribute("data-countdown-day"));
    });
  }

  function copyText(button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.value || source.textContent;
    var done = function () {
      var label = button.querySelector("span");
      var original = label ? label.textContent : "";
      button.classList.add("is-copied");
      if (label) { label.textContent = button.getAttribute("data-copied-label") || original; }
      setTimeout(function () {
        button.classList.remove("is-copied");
        if (label) { label.textContent = original; }
      }, 1800);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { source.select(); });
    } else if (source.select) {
      // Plain-HTTP fallback: select the code so one more tap copies it.
      source.focus();
      source.select();
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selection is enough */ }
    }
  }

  function stepQuantity(button) {
    var stepper = button.closest("[data-stepper]");
    var input = stepper && stepper.querySelector("input");
    if (!input) { return; }
    var min = parseInt(input.min || "1", 10);
    var max = parseInt(input.max || "999", 10);
    var next = (parseInt(input.value, 10) || min) + parseInt(button.getAttribute("data-step"), 10);
    input.value = Math.max(min, Math.min(max, next));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function syncStepper(input) {
    var stepper = input.closest("[data-stepper]");
    if (!stepper) { return; }
    var value = parseInt(input.value, 10) || 1;
    stepper.querySelectorAll("[data-step]").forEach(function (button) {
      var step = parseInt(button.getAttribute("data-step"), 10);
      button.hidden = false;
      button.disabled = step < 0 ? value <= parseInt(input.min || "1", 10) : value >= parseInt(input.max || "999", 10);
    });
    // The inline "new address" form continues to the confirmation with the chosen quantity.
    document.querySelectorAll("form[data-testid=address-form] input[name=quantity]").forEach(function (hidden) {
      hidden.value = value;
    });
  }

  // The product gallery. Without script it is a row of pictures that snaps one at a time (swipe,
  // scroll, or the dots' and thumbnails' #links); this adds the arrows, the arrow keys and the
  // counter, and keeps the dots and thumbnails on the picture shown.
  function galleryTrack(gallery) { return gallery.querySelector("[data-gallery-track]"); }

  function galleryShown(track) {
    return track.clientWidth ? Math.round(track.scrollLeft / track.clientWidth) : 0;
  }

  function gallerySync(gallery, index) {
    var track = galleryTrack(gallery);
    if (!track) { return; }
    var count = track.children.length;
    if (index === undefined) { index = galleryShown(track); }
    index = Math.max(0, Math.min(count - 1, index));
    gallery.querySelectorAll("[data-gallery-dot], [data-gallery-thumb]").forEach(function (link) {
      var n = parseInt(link.getAttribute("href").split("-").pop(), 10) - 1;
      if (n === index) { link.setAttribute("aria-current", "true"); } else { link.removeAttribute("aria-current"); }
    });
    var counter = gallery.querySelector("[data-gallery-count]");
    var text = (index + 1) + " / " + count;
    if (counter && counter.textContent !== text) { counter.textContent = text; }
    gallery.querySelectorAll("[data-gallery-step]").forEach(function (button) {
      var step = parseInt(button.getAttribute("data-gallery-step"), 10);
      button.disabled = step < 0 ? index === 0 : index === count - 1;
    });
  }

  function galleryGo(gallery, index) {
    var track = galleryTrack(gallery);
    if (!track) { return; }
    index = Math.max(0, Math.min(track.children.length - 1, index));
    track.scrollTo({ left: index * track.clientWidth });
    gallerySync(gallery, index);
  }

  function galleryInit(gallery) {
    var track = galleryTrack(gallery);
    if (!track || gallery.dataset.galleryReady) { return; }
    gallery.dataset.galleryReady = "1";
    gallery.querySelectorAll("[data-gallery-step]").forEach(function (button) { button.hidden = false; });
    var settle = null;
    track.addEventListener("scroll", function () {
      clearTimeout(settle);
      settle = setTimeout(function () { gallerySync(gallery); }, 60);
    }, { passive: true });
    track.addEventListener("keydown", function (event) {
      var shown = galleryShown(track);
      var to = { ArrowLeft: shown - 1, ArrowRight: shown + 1, Home: 0, End: track.children.length - 1 }[event.key];
      if (to === undefined) { return; }
      event.preventDefault();
      galleryGo(gallery, to);
    });
    gallerySync(gallery);
  }

  function init(root) {
    root.querySelectorAll("[data-gallery]").forEach(galleryInit);
    root.querySelectorAll(".copy-btn[hidden]").forEach(function (button) { button.hidden = false; });
    root.querySelectorAll("[data-stepper] input").forEach(syncStepper);
    root.querySelectorAll("[data-count-for]").forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute("data-count-for"));
      if (field) { counter.textContent = field.value.length; }
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) { copyText(copy); return; }
    var step = event.target.closest("[data-step]");
    if (step) { stepQuantity(step); return; }
    var gallery = event.target.closest("[data-gallery]");
    if (gallery && galleryTrack(gallery)) {
      var arrow = event.target.closest("[data-gallery-step]");
      if (arrow) { galleryGo(gallery, galleryShown(galleryTrack(gallery)) + parseInt(arrow.getAttribute("data-gallery-step"), 10)); return; }
      var link = event.target.closest("[data-gallery-dot], [data-gallery-thumb]");
      if (link) {
        // The picture scrolls into the gallery; the page itself stays where it is.
        event.preventDefault();
        galleryGo(gallery, parseInt(link.getAttribute("href").split("-").pop(), 10) - 1);
      }
    }
  });

  function syncChips(radio) {
    // One chip highlighted per group: the page's own marks (is-checked) follow the radio chosen,
    // since an htmx answer replaces the results, not the chips.
    var form = radio.form;
    if (!form || !radio.name) { return; }
    form.querySelectorAll('input[type=radio][name="' + radio.name + '"]').forEach(function (other) {
      var chip = other.closest(".option, .sort-chip");
      if (chip) { chip.classList.toggle("is-checked", other.checked); }
    });
  }

  function pickPointsRange(chip) {
    // A range chip fills the two boxes and lets htmx ask, like typing them; the answer sends the
    // chips back with the range applied highlighted. Without htmx the link is followed.
    var group = chip.closest("#points-filter");
    var form = chip.closest("form");
    if (!window.htmx || !group || !form) { return false; }
    var low = group.querySelector("input[name=min_points]");
    var high = group.querySelector("input[name=max_points]");
    if (!low || !high) { return false; }
    low.value = chip.getAttribute("data-min");
    high.value = chip.getAttribute("data-max");
    group.querySelectorAll("[data-points-range]").forEach(function (other) {
      other.classList.toggle("is-checked", other === chip);
      if (other === chip) { other.setAttribute("aria-current", "true"); } else { other.removeAttribute("aria-current"); }
    });
    high.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  document.addEventListener("click", function (event) {
    var chip = event.target.closest("[data-points-range]");
    if (chip && pickPointsRange(chip)) { event.preventDefault(); }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-stepper] input")) { syncStepper(event.target); }
    if (event.target.matches("input[type=radio]")) { syncChips(event.target); }
  });

  document.addEventListener("input", function (event) {
    var counter = event.target.id && document.querySelector('[data-count-for="' + event.target.id + '"]');
    if (counter) { counter.textContent = event.target.value.length; }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // A question (data-confirm) was asked and answered before this runs: static/js/dialogs.js.
    if (form.hasAttribute("data-once")) {
      // A second click would only replay the same request (the server is idempotent); don't send it.
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.classList.add("is-busy"); });
    }
  });

  function showBusy(source, html) {
    // Beside the form that was sent (or at the top of the page), and the form usable again: nothing
    // was done with the request, so sending it again is safe.
    var form = (source && source.closest && source.closest("form")) || null;
    var host = form || document.getElementById("content") || document.body;
    var slot = host.querySelector("[data-busy-slot]");
    if (!slot) {
      slot = document.createElement("div");
      slot.setAttribute("data-busy-slot", "");
      host.insertBefore(slot, host.firstChild);
    }
    var parsed = new DOMParser().parseFromString(html, "text/html").querySelector('[data-code="busy"]');
    slot.replaceChildren();
    if (parsed) { slot.appendChild(document.importNode(parsed, true)); }
    if (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button.is-busy").forEach(function (button) { button.classList.remove("is-busy"); });
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    // A hot path turned the request away (503 + Retry-After, pointsmall/admission.py). htmx swaps
    // nothing on an error status, so without this the member would see no answer at all.
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status !== 503 || xhr.responseText.indexOf('data-code="busy"') < 0) { return; }
    event.detail.shouldSwap = false;
    event.detail.isError = false;
    showBusy(event.detail.requestConfig ? event.detail.requestConfig.elt : event.target, xhr.responseText);
  });

  document.addEventListener("htmx:configRequest", function (event) {
    // Empty filters are left out, so the address bar reads ?category=books rather than a list of blanks.
    var form = event.detail.elt;
    if (!form.matches || !form.matches("[data-drop-empty]") || !event.detail.formData) { return; }
    var empty = [];
    event.detail.formData.forEach(function (value, name) { if (value === "") { empty.push(name); } });
    empty.forEach(function (name) { event.detail.formData.delete(name); });
  });

  window.addEventListener("pageshow", function (event) {
    // Back from the next page: the form is usable again.
    if (event.persisted) { document.querySelectorAll("form[data-sent]").forEach(function (form) { delete form.dataset.sent; }); }
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); tick(); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); tick(); });
  setInterval(tick, 1000);
})();
