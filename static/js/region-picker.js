/* The address form's region picker (issue #17): when the member chooses a province, the city
   select is refilled with its cities (and the district select with a city's districts) from
   address_regions. Without this script the form's "Show the cities and districts" button does
   the same on the server. Works for every form holding selects marked data-region-level. */
(function () {
  "use strict";

  function reset(select, key) {
    select.replaceChildren(new Option(select.dataset["region" + key] || "", ""));
  }

  function fill(select, names, emptyKey) {
    reset(select, names.length ? "Prompt" : emptyKey);
    names.forEach(function (name) { select.add(new Option(name, name)); });
  }

  function load(select, params, emptyKey) {
    var url = select.dataset.regionUrl + "?" + new URLSearchParams(params).toString();
    select.setAttribute("aria-busy", "true");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { options: [] }; })
      .then(function (body) { fill(select, body.options || [], emptyKey); })
      .catch(function () { reset(select, "Wait"); })
      .finally(function () { select.removeAttribute("aria-busy"); });
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.regionLevel || !select.form) return;
    var form = select.form;
    var province = form.querySelector("select[data-region-level=province]");
    var city = form.querySelector("select[data-region-level=city]");
    var district = form.querySelector("select[data-region-level=district]");
    if (!province || !city || !district) return;
    if (select === province) {
      reset(district, "Wait");
      if (!province.value) { reset(city, "Wait"); return; }
      load(city, { province: province.value }, "Wait");
    } else if (select === city) {
      if (!city.value) { reset(district, "Wait"); return; }
      load(district, { province: province.value, city: city.value }, "None");
    }
  });
})();
