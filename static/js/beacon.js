/* Time on page (docs/decisions/0028): when a member page is first hidden (tab switched, app
 * backgrounded, page left), send how long it was visible. First-party only, no identifiers
 * beyond the session / pm_vid cookie the browser already sends. The server drops bots and
 * samples under 1 s or over 30 min. Runs only on pages whose <body> has data-page-type. */
(function () {
  "use strict";
  var body = document.body;
  var pageType = body && body.dataset.pageType;
  var url = body && body.dataset.beaconUrl;
  if (!pageType || !url || !navigator.sendBeacon || !window.FormData) return;

  var visibleMs = 0;
  var since = document.visibilityState === "visible" ? performance.now() : null;
  var sent = false;

  function csrfToken() {
    // The same token htmx sends (base.html puts it in the body's hx-headers).
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function pause() {
    if (since !== null) {
      visibleMs += performance.now() - since;
      since = null;
    }
  }

  function send() {
    pause();
    if (sent) return;
    sent = true;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrfToken());
    data.append("page_type", pageType);
    data.append("ms", String(Math.round(visibleMs)));
    navigator.sendBeacon(url, data);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") send();
  });
  window.addEventListener("pagehide", send);
})();
