// Administration pages: the upload's progress, and copying a new API token.
// No inline script is allowed by the Content-Security-Policy, so every
// handler is attached here.
"use strict";

(function () {
  // HTMX reports the upload's progress on the form that sends it.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    if (!form) {
      return;
    }
    var bar = form.querySelector("progress.upload-progress");
    var detail = event.detail || {};
    if (!bar || !detail.lengthComputable || !detail.total) {
      return;
    }
    bar.hidden = false;
    bar.value = Math.round((100 * detail.loaded) / detail.total);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) {
      return;
    }
    field.select();
    var done = function () {
      button.textContent = button.getAttribute("data-copied-text") || button.textContent;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else if (document.execCommand("copy")) {
      done();
    }
  });
})();
