// Irreversible actions ask first: a click on an element with data-confirm="…" shows the question and
// goes ahead only when the person agrees. Runs in the capture phase, so a "no" stops the form from
// submitting and the button's own handlers (board.js) from running.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target && event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (!target) { return; }
    if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
      event.stopImmediatePropagation();
    }
  }, true);
})();
