// The submission form: sends the files with their paths, shows the upload's progress.
//
// The form is posted by XMLHttpRequest with the CSRF token in the
// X-CSRF-Token header, so that the server streams the files to disk
// without parsing the body first. Files chosen as a folder are sent under
// their path inside that folder, which becomes their path in the exhibit.
"use strict";

(function () {
  function show(form, name) {
    for (const message of form.querySelectorAll("[data-message]")) {
      message.hidden = message.dataset.message !== name;
    }
  }

  function chosenFiles(form) {
    const chosen = [];
    for (const input of form.querySelectorAll("input[type=file]")) {
      for (const file of input.files) {
        chosen.push([file, file.webkitRelativePath || file.name]);
      }
    }
    return chosen;
  }

  function formData(form, chosen) {
    // Text fields go first, so that the server can check the origin
    // before it writes any file.
    const data = new FormData();
    for (const field of form.querySelectorAll("input, select, textarea")) {
      if (field.name && field.type !== "file" && field.name !== "csrf_token") {
        data.append(field.name, field.value);
      }
    }
    for (const [file, name] of chosen) {
      data.append("files", file, name);
    }
    return data;
  }

  function replacePage(html) {
    // The response is the form with its errors, or an error page.
    const page = new DOMParser().parseFromString(html, "text/html");
    const content = page.querySelector("main");
    if (content !== null) {
      document.querySelector("main").replaceWith(document.adoptNode(content));
      document.title = page.title;
    }
  }

  function withinLimits(form, chosen) {
    // The server checks the same limits; checking first saves a long upload.
    const total = chosen.reduce((sum, [file]) => sum + file.size, 0);
    if (chosen.length === 0) {
      show(form, "no-files");
      return false;
    }
    if (chosen.length > Number(form.dataset.maxFiles)) {
      show(form, "too-many-files");
      return false;
    }
    if (total > Number(form.dataset.maxBytes)) {
      show(form, "too-large");
      return false;
    }
    show(form, "");
    return true;
  }

  function send(form, chosen) {
    const state = form.querySelector(".upload-state");
    const progress = form.querySelector("progress");
    const button = form.querySelector("button[type=submit]");
    const token = form.querySelector("input[name=csrf_token]").value;

    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-CSRF-Token", token);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        progress.max = event.total;
        progress.value = event.loaded;
      }
    });
    request.addEventListener("load", () => {
      // A queued upload is redirected to its progress page.
      const redirected = request.responseURL && request.responseURL !== form.action;
      if (request.status === 200 && redirected) {
        window.location.assign(request.responseURL);
        return;
      }
      replacePage(request.responseText);
    });
    request.addEventListener("error", () => {
      state.hidden = true;
      button.disabled = false;
      show(form, "failed");
    });

    state.hidden = false;
    button.disabled = true;
    request.send(formData(form, chosen));
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload-form")) {
      return;
    }
    event.preventDefault();
    const chosen = chosenFiles(form);
    if (form.reportValidity() && withinLimits(form, chosen)) {
      send(form, chosen);
    }
  });
})();
