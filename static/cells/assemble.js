// Assembly form: dim the inputs a configuration does not use (no inline scripts; CSP allows 'self' only).
(function () {
  "use strict";
  var USES = {
    symmetric: ["li_foil_lot", "li_foil_amount", "li_foil_area"],
    full: ["li_foil_lot", "li_foil_amount", "li_foil_area", "cathode", "cathodes"],
    blocking: ["stainless_area"],
    li_ss: ["li_foil_lot", "li_foil_amount", "li_foil_area", "stainless_area"]
  };
  var OPTIONAL = ["li_foil_lot", "li_foil_amount", "li_foil_area", "cathode", "cathodes", "stainless_area"];
  function update(select) {
    var used = USES[select.value] || [];
    OPTIONAL.forEach(function (name) {
      var box = document.querySelector(".field-" + name);
      if (box) { box.classList.toggle("is-irrelevant", used.indexOf(name) < 0); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_configuration");
    if (!select) { return; }
    select.addEventListener("change", function () { update(select); });
    update(select);
  });
})();
