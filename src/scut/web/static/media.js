// The media grid and the media page: reveal, keyboard categorisation, the map.
//
// Previews arrive blurred from the server. A reveal POSTs to the audited
// reveal endpoint and shows the thumbnail from a blob: URL until the
// analyst moves to another media, presses Escape or clicks it again.
// Every text shown comes from the page's data- attributes or from the
// server's JSON, and is set with textContent, never as HTML.
(function () {
  "use strict";

  const PROJECTVIC_KEYS = ["0", "1", "2", "3", "4"];

  function csrfToken() {
    try {
      const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return headers["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  function showStatus(text, failed) {
    const status = document.querySelector(".media-status");
    if (!status) {
      return;
    }
    status.textContent = text || "";
    status.classList.toggle("failed", Boolean(failed));
  }

  // -- revealing one thumbnail at a time --------------------------------------

  let revealed = null;
  // The media whose reveal request is on its way, and a counter that
  // distinguishes a late response from the current one.
  let pendingHolder = null;
  let revealCount = 0;

  function shownHolder() {
    return revealed ? revealed.holder : pendingHolder;
  }

  function hideRevealed() {
    revealCount += 1;
    pendingHolder = null;
    if (!revealed) {
      return;
    }
    const { holder, image, url } = revealed;
    revealed = null;
    image.src = image.dataset.preview;
    URL.revokeObjectURL(url);
    holder.classList.remove("revealed");
    const button = holder.querySelector("button.reveal");
    if (button) {
      button.setAttribute("aria-pressed", "false");
    }
  }

  async function toggleReveal(holder) {
    const image = holder.querySelector("img.preview");
    if (!image) {
      return;
    }
    if (revealed && revealed.holder === holder) {
      hideRevealed();
      return;
    }
    hideRevealed();
    const attempt = revealCount;
    pendingHolder = holder;

    let response;
    try {
      response = await fetch("/media/" + holder.dataset.media + "/reveal", {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
      });
    } catch (error) {
      response = null;
    }

    if (!response || !response.ok) {
      pendingHolder = null;
      const source = holder.closest("[data-reveal-failed]");
      showStatus(source ? source.dataset.revealFailed : "", true);
      return;
    }

    const blob = await response.blob();
    if (attempt !== revealCount) {
      return; // the analyst moved on before the thumbnail arrived
    }
    pendingHolder = null;
    const url = URL.createObjectURL(blob);
    image.src = url;
    holder.classList.add("revealed");
    const button = holder.querySelector("button.reveal");
    if (button) {
      button.setAttribute("aria-pressed", "true");
    }
    revealed = { holder, image, url };
  }

  // -- the grid: focus, selection, categories ---------------------------------

  function setUpGrid(grid) {
    const bulk = document.getElementById("bulk-form");
    let anchor = null;

    const tiles = () => Array.from(grid.querySelectorAll("li.tile"));
    const focused = () => grid.querySelector("li.tile[tabindex='0']");

    function focusTile(tile) {
      if (!tile) {
        return;
      }
      const current = focused();
      if (current && current !== tile) {
        current.tabIndex = -1;
      }
      tile.tabIndex = 0;
      tile.focus();
      tile.scrollIntoView({ block: "nearest" });
    }

    function columns(all) {
      if (all.length === 0) {
        return 1;
      }
      const top = all[0].offsetTop;
      const inFirstRow = all.filter((tile) => tile.offsetTop === top).length;
      return Math.max(1, inFirstRow);
    }

    function select(tile, selected) {
      const box = tile.querySelector("input.select");
      if (box) {
        box.checked = selected;
      }
      tile.classList.toggle("selected", selected);
      tile.setAttribute("aria-selected", selected ? "true" : "false");
    }

    function selectedTiles() {
      return tiles().filter((tile) => tile.classList.contains("selected"));
    }

    function countSelected() {
      if (!bulk) {
        return;
      }
      const count = bulk.querySelector(".selection-count");
      const number = new Intl.NumberFormat(document.documentElement.lang);
      count.textContent = bulk.dataset.selected.replace(
        "%(count)s",
        number.format(selectedTiles().length),
      );
    }

    function clearSelection() {
      selectedTiles().forEach((tile) => select(tile, false));
      countSelected();
    }

    function selectRange(from, to) {
      const all = tiles();
      const start = all.indexOf(from);
      const end = all.indexOf(to);
      if (start < 0 || end < 0) {
        return;
      }
      const [low, high] = start < end ? [start, end] : [end, start];
      all.slice(low, high + 1).forEach((tile) => select(tile, true));
      countSelected();
    }

    async function categorise(code) {
      let chosen = selectedTiles();
      if (chosen.length === 0 && focused()) {
        chosen = [focused()];
      }
      if (chosen.length === 0) {
        showStatus(bulk ? bulk.dataset.noneSelected : "", true);
        return;
      }

      const body = new URLSearchParams();
      chosen.forEach((tile) => body.append("media", tile.dataset.media));
      body.append("code", code);
      let response;
      let result = {};
      try {
        response = await fetch("/media/category", {
          method: "POST",
          headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
          credentials: "same-origin",
          body,
        });
        result = await response.json();
      } catch (error) {
        response = null;
      }
      if (!response || !response.ok) {
        showStatus(result.message || grid.dataset.categoryFailed, true);
        return;
      }

      for (const change of result.changed) {
        const tile = grid.querySelector("li.tile[data-media='" + change.media + "']");
        const badge = tile ? tile.querySelector(".category") : null;
        if (badge) {
          badge.textContent = change.label;
          badge.className = "category category-" + change.code;
          badge.classList.toggle("conflict", change.conflict);
        }
      }
      showStatus(result.message, false);
    }

    grid.addEventListener("keydown", (event) => {
      const tile = event.target.closest("li.tile");
      if (!tile || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      const all = tiles();
      const index = all.indexOf(tile);
      const moves = {
        ArrowRight: 1,
        ArrowLeft: -1,
        ArrowDown: columns(all),
        ArrowUp: -columns(all),
      };
      if (event.key in moves) {
        event.preventDefault();
        const next = all[Math.min(all.length - 1, Math.max(0, index + moves[event.key]))];
        focusTile(next);
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        focusTile(event.key === "Home" ? all[0] : all[all.length - 1]);
      } else if (PROJECTVIC_KEYS.includes(event.key)) {
        event.preventDefault();
        categorise(event.key);
      } else if (event.key === " " || event.key === "x") {
        event.preventDefault();
        select(tile, !tile.classList.contains("selected"));
        anchor = tile;
        countSelected();
      } else if (event.key === "Enter") {
        event.preventDefault();
        toggleReveal(tile);
      } else if (event.key === "Escape") {
        hideRevealed();
        clearSelection();
      } else if (event.key === "o") {
        const link = tile.querySelector("a.media-number");
        if (link) {
          window.location.assign(link.href);
        }
      }
    });

    grid.addEventListener("click", (event) => {
      const tile = event.target.closest("li.tile");
      if (!tile) {
        return;
      }
      const box = event.target.closest("input.select");
      if (event.shiftKey && anchor && anchor !== tile) {
        if (!box) {
          event.preventDefault();
        }
        selectRange(anchor, tile);
        focusTile(tile);
        return;
      }
      anchor = tile;
      if (box) {
        select(tile, box.checked);
        countSelected();
      } else if (event.target.closest("button.reveal")) {
        toggleReveal(tile);
      }
      if (!event.target.closest("a")) {
        focusTile(tile);
      }
    });

    // Moving to another media, or out of the grid, blurs the revealed one.
    grid.addEventListener("focusin", (event) => {
      const tile = event.target.closest("li.tile");
      const shown = shownHolder();
      if (tile && shown && shown !== tile) {
        hideRevealed();
      }
      if (tile && tile.tabIndex !== 0) {
        const current = focused();
        if (current) {
          current.tabIndex = -1;
        }
        tile.tabIndex = 0;
      }
    });
    grid.addEventListener("focusout", (event) => {
      if (shownHolder() && !grid.contains(event.relatedTarget)) {
        hideRevealed();
      }
    });

    if (bulk) {
      bulk.addEventListener("submit", (event) => {
        event.preventDefault();
        const code = event.submitter ? event.submitter.value : "";
        if (PROJECTVIC_KEYS.includes(code)) {
          categorise(code);
        }
      });
      bulk.querySelector(".clear-selection").addEventListener("click", clearSelection);
    }

    const first = tiles()[0];
    if (first && !focused()) {
      first.tabIndex = 0;
    }
    countSelected();
  }

  // -- the media page: its thumbnail and its map ------------------------------

  function setUpPicture(figure) {
    figure.addEventListener("click", (event) => {
      if (event.target.closest("button.reveal")) {
        toggleReveal(figure);
      }
    });
    figure.addEventListener("focusout", (event) => {
      if (shownHolder() && !figure.contains(event.relatedTarget)) {
        hideRevealed();
      }
    });
  }

  function drawMap(element) {
    if (typeof L === "undefined") {
      return;
    }
    const point = [Number(element.dataset.latitude), Number(element.dataset.longitude)];
    // No tile layer: the map draws the point (and the boundaries, when
    // loaded) on a plain background, so no request leaves the server.
    const map = L.map(element, { attributionControl: false }).setView(point, 9);
    L.circleMarker(point, { radius: 7, weight: 2, color: "#a11d1d", fillOpacity: 0.8 })
      .addTo(map);
    element.scutMap = map;
    fetch(element.dataset.areas, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((areas) => {
        if (areas && areas.features && areas.features.length > 0) {
          L.geoJSON(areas, {
            interactive: false,
            style: { color: "#1f4e8c", weight: 1, fillOpacity: 0.05 },
          }).addTo(map);
          element.dataset.areasDrawn = String(areas.features.length);
        }
      })
      .catch(() => {});
  }

  // Video is shown as a frame strip only. Should a video element ever be
  // part of these pages, it plays muted and never starts by itself.
  function silenceVideos(root) {
    root.querySelectorAll("video").forEach((video) => {
      video.muted = true;
      video.autoplay = false;
      video.removeAttribute("autoplay");
      video.pause();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const grid = document.getElementById("media-grid");
    if (grid) {
      setUpGrid(grid);
    }
    document.querySelectorAll("figure.media-picture[data-media]").forEach(setUpPicture);
    const map = document.getElementById("media-map");
    if (map) {
      drawMap(map);
    }
    silenceVideos(document);
  });
  document.addEventListener("htmx:load", (event) => silenceVideos(event.detail.elt));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hideRevealed();
    }
  });
})();
