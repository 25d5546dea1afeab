/* The mall's dialogs and sheets, one component (docs/decisions/0060-dialogs-and-sheets.md).

   - A form with data-confirm="question" asks first, in the page's styled <dialog id="confirm-dialog">
     (templates/partials/confirm_dialog.html), never with the browser's own confirm box. Optional:
     data-confirm-title, data-confirm-ok (the confirm button's label), data-confirm-danger.
     Confirming adds confirmed=1 to the form and sends it; cancelling (button, Esc, backdrop) sends
     nothing. Without this script the form is sent without confirmed=1 and the server asks instead.
   - [data-dialog-open="id"] opens <dialog id="id"> as a modal (a bottom sheet on a phone);
     [data-dialog-close] inside it closes it. Without this script the opener is a plain link.
   The native <dialog> gives the focus trap, Esc and the inert page; focus goes back to the opener. */
(function () {
  "use strict";

  var opener = null;

  function open(dialog, from) {
    if (!dialog || typeof dialog.showModal !== "function") { return false; }
    opener = from || document.activeElement;
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    return true;
  }

  function ask(form, submitter) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") { return false; }
    dialog.querySelector(".dialog-title").textContent =
      form.getAttribute("data-confirm-title") || dialog.getAttribute("data-default-title");
    dialog.querySelector(".dialog-text").textContent = form.getAttribute("data-confirm");
    var ok = dialog.querySelector("[data-dialog-ok]");
    ok.textContent = form.getAttribute("data-confirm-ok") || dialog.getAttribute("data-default-ok");
    ok.classList.toggle("btn-danger-solid", form.hasAttribute("data-confirm-danger"));
    dialog.returnValue = "";  // Esc and the backdrop close without a value: not "ok"
    dialog.onclose = function () {
      dialog.onclose = null;
      if (dialog.returnValue !== "ok") { return; }
      var flag = form.querySelector("input[name=confirmed]");
      if (!flag) {
        flag = document.createElement("input");
        flag.type = "hidden";
        flag.name = "confirmed";
        form.appendChild(flag);
      }
      flag.value = "1";
      form.dataset.confirmed = "1";
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    };
    return open(dialog, submitter);
  }

  // Capture on window: runs before the page's other submit handlers (single-submit, htmx), so a
  // question not yet answered stops the form before any of them marks it as sent.
  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) { return; }
    if (form.dataset.confirmed) { delete form.dataset.confirmed; return; }
    if (ask(form, event.submitter)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-dialog-open]");
    if (trigger) {
      if (open(document.getElementById(trigger.getAttribute("data-dialog-open")), trigger)) { event.preventDefault(); }
      return;
    }
    var okButton = event.target.closest("[data-dialog-ok]");
    if (okButton && okButton.closest("dialog")) {
      okButton.closest("dialog").close("ok");
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close("cancel");
      return;
    }
    // A click on the backdrop (outside the dialog's box) closes it, as Esc does.
    if (event.target.tagName === "DIALOG" && event.target.open) {
      var box = event.target.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) { event.target.close("cancel"); }
    }
  });

  document.addEventListener("close", function (event) {
    if (event.target.tagName !== "DIALOG") { return; }
    var back = opener;
    opener = null;
    if (back && back.isConnected && typeof back.focus === "function") { back.focus(); }
  }, true);
})();
