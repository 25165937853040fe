// Scut's record pages: confirmations, error forms under HTMX, missing previews.
// Plain script, loaded with defer; the CSP allows no inline handlers.
"use strict";

(function () {
  // A form with data-confirm is sent only once the analyst confirms it
  // (merge, split).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // HTMX leaves 4xx responses unswapped. The upload form's errors come back
  // as the page with the error next to the field (400, or 413 when too
  // large), so they are shown like any other response.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    var source = detail.elt;
    if ((status === 400 || status === 413) && source && source.closest &&
        source.closest(".upload-form, #content")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // A media without a thumbnail has no preview: show the plain tile.
  document.addEventListener("error", function (event) {
    var image = event.target;
    if (image instanceof HTMLImageElement && image.classList.contains("tile-preview")) {
      image.classList.add("missing");
    }
  }, true);
})();
