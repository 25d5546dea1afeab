// Picture fields ([data-file-pick]): hide the browser's own control (its "Choose File / No file
// chosen" is in the browser's language, not the page's) behind a button with a translated label,
// and show the chosen file's name. Without this script the native control still works.
(function () {
  "use strict";
  document.querySelectorAll("[data-file-pick]").forEach(function (root) {
    var input = root.querySelector("input[type=file]");
    var name = root.querySelector("[data-file-pick-name]");
    if (!input || !name) return;
    var empty = name.textContent;
    function show() {
      var chosen = input.files && input.files.length ? input.files[0].name : "";
      name.textContent = chosen || empty;
      root.classList.toggle("has-file", Boolean(chosen));
    }
    input.addEventListener("change", show);
    root.classList.add("is-enhanced");
    show();
  });
})();
