// Demo payment widget: the checkout page's one third-party script, served from a second
// origin as a payment provider's script would be. It shows that it loaded and never reads
// the card fields.
(function () {
  "use strict";
  var status = document.getElementById("widget-status");
  if (!status) {
    return;
  }
  status.textContent = "Secure payment widget loaded";
  status.setAttribute("data-state", "loaded");
})();
