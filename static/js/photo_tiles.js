/* A review's photos as tiles ([data-photo-tiles], templates/catalog/partials/photo_tiles.html): each
   chosen photo shows as a preview with a remove button; the add tile hides once `data-max` are
   chosen; choosing more keeps the first ones and says so. Big photos are scaled down here first
   (the server keeps at most 1000 px anyway), so six phone photos fit the members' request limit.
   Previews are data: URLs (the Content-Security-Policy allows no blob: images).
   Without this script the browser's own file input sends the files and the server checks the same. */
(function () {
  "use strict";

  var SHRINK_OVER_BYTES = 900 * 1024;
  var LONG_SIDE = 1600;

  function fill(template, n) { return (template || "").replace("%(n)s", String(n)); }

  function shrink(file) {
    // Resolves with a smaller JPEG of the photo, or the file itself when it is small or can't be read.
    if (file.size <= SHRINK_OVER_BYTES || !window.createImageBitmap || !/^image\/(jpeg|png|webp)$/.test(file.type)) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";  // a transparent PNG becomes a JPEG on white, not on black
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { resolve(file); return; }
          resolve(new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }));
        }, "image/jpeg", 0.86);
      });
    }).catch(function () { return file; });
  }

  function preview(file) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result)); };
      reader.onerror = function () { resolve(""); };
      reader.readAsDataURL(file);
    });
  }

  function setup(root) {
    var input = root.querySelector("input[type=file]");
    var list = root.querySelector("[data-tiles]");
    var addSlot = root.querySelector(".tile-add-slot");
    var note = root.querySelector("[data-photo-note]");
    var count = root.querySelector("[data-photo-count]");
    var form = root.closest("form");
    var submit = form && form.querySelector("button[type=submit]");
    var max = parseInt(root.getAttribute("data-max"), 10) || 6;
    if (!input || !list || !addSlot || typeof DataTransfer === "undefined") { return; }
    var chosen = [];  // {file, url, key}
    var busy = 0;

    function sync() {
      var transfer = new DataTransfer();
      chosen.forEach(function (item) { transfer.items.add(item.file); });
      input.files = transfer.files;
      list.querySelectorAll(".tile-photo").forEach(function (tile) { tile.remove(); });
      chosen.forEach(function (item, index) {
        var tile = document.createElement("li");
        tile.className = "tile tile-photo";
        tile.setAttribute("data-testid", "photo-tile");
        var img = document.createElement("img");
        img.src = item.url;
        img.alt = fill(root.getAttribute("data-photo-alt"), index + 1);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "tile-remove";
        remove.setAttribute("aria-label", fill(root.getAttribute("data-remove-label"), index + 1));
        remove.setAttribute("data-testid", "photo-remove");
        remove.textContent = "×";
        remove.addEventListener("click", function () {
          chosen.splice(index, 1);
          note.textContent = "";
          sync();
          var next = list.querySelectorAll(".tile-remove")[Math.min(index, chosen.length - 1)];
          (next || input).focus();
        });
        tile.appendChild(img);
        tile.appendChild(remove);
        list.insertBefore(tile, addSlot);
      });
      addSlot.hidden = chosen.length >= max;
      count.hidden = chosen.length === 0;
      count.textContent = chosen.length + "/" + max;
      if (submit) { submit.disabled = busy > 0; }
    }

    input.addEventListener("change", function () {
      var picked = Array.prototype.slice.call(input.files || []);
      // The input now holds only the new pick; the tiles keep the earlier ones.
      // A photo picked again is a new File object: know it by name, size and date, and by what
      // this pick already holds, so it gets one tile.
      var known = chosen.map(function (item) { return item.key; });
      picked = picked.filter(function (file) {
        var key = [file.name, file.size, file.lastModified].join("|");
        if (known.indexOf(key) >= 0) { return false; }
        known.push(key);
        return true;
      });
      var room = max - chosen.length;
      note.textContent = picked.length > room ? root.getAttribute("data-too-many") : "";
      picked = picked.slice(0, Math.max(room, 0));
      busy += 1;
      sync();
      Promise.all(picked.map(function (file) {
        return shrink(file).then(function (small) {
          return preview(small).then(function (url) {
            return { file: small, url: url, key: [file.name, file.size, file.lastModified].join("|") };
          });
        });
      })).then(function (items) {
        busy -= 1;
        chosen = chosen.concat(items).slice(0, max);
        sync();
      });
    });

    root.classList.add("is-enhanced");
    sync();
  }

  document.querySelectorAll("[data-photo-tiles]").forEach(setup);
})();
