// Behaviour that pages opt into with data- attributes (the Content-Security-Policy allows no
// inline script). Everything here also works without JavaScript: forms still submit.
(function () {
  "use strict";

  // <select data-autosubmit>: submit its form on change (the language switch).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });

  // <form data-confirm="Question?">: ask before a destructive submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // <button data-select-all="name">: tick every checkbox named name in the same form.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-select-all]");
    if (!button) return;
    event.preventDefault();
    var name = button.getAttribute("data-select-all");
    var scope = button.form || document;
    var boxes = scope.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
    var allChecked = Array.prototype.every.call(boxes, function (box) { return box.checked; });
    Array.prototype.forEach.call(boxes, function (box) { box.checked = !allChecked; });
  });
})();
