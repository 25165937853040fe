/* The map page: raion boundaries, a graticule, media GPS positions and persons'
 * addresses, drawn by the Leaflet that the application serves. There is no
 * tile layer, so no request leaves the machine: the background is plain.
 *
 * Points come from the server already grouped by a grid whose cell is about
 * CLUSTER_PIXELS wide at the current zoom, so the page never receives more
 * than a few thousand entries. Every text shown is translated on the server
 * and read from the map's data-settings attribute. Values from records are
 * put in the page with textContent only, never as HTML.
 */
(function () {
  "use strict";

  const CLUSTER_PIXELS = 48;
  const TILE_PIXELS = 256;
  const MAX_CELL_DEGREES = 10;
  const REFRESH_DELAY_MS = 250;
  // Points listed in the popup of a cluster that zooming cannot split.
  const CLUSTER_LIST_LIMIT = 200;
  // Moldova, shown when nothing is loaded.
  const DEFAULT_CENTRE = [47.0, 28.6];
  const DEFAULT_ZOOM = 7;
  // The first view of media positions alone zooms no closer, to show their
  // surroundings.
  const FIRST_VIEW_MAX_ZOOM = 9;
  const GRATICULE_STEPS = [30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];
  const GRATICULE_MIN_LINES = 4;

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function escapeHtml(text) {
    const node = document.createElement("span");
    node.textContent = text;
    return node.innerHTML;
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function safeClass(value) {
    return String(value || "none").replace(/[^a-z0-9-]/gi, "");
  }

  function start() {
    const container = document.getElementById("map");
    if (!container || !window.L) {
      return;
    }
    const settings = JSON.parse(container.dataset.settings);
    const texts = settings.texts;
    const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    const status = document.getElementById("map-status");
    const justificationField = document.getElementById("justification");

    const map = L.map(container, { minZoom: 2, maxZoom: 18, zoomSnap: 0.25 });
    const areas = L.geoJSON(null, {
      style: function () {
        return { className: "area-outline" };
      },
      onEachFeature: function (feature, layer) {
        const name = element("span", "", feature.properties.name);
        layer.bindTooltip(name, { sticky: true });
      },
    });
    const graticule = L.layerGroup();
    const media = L.layerGroup();
    const addresses = L.layerGroup();
    const state = { media: null, addresses: null, error: "", generation: { media: 0, addresses: 0 } };

    const overlays = {};
    overlays[escapeHtml(texts.boundaries)] = areas;
    overlays[escapeHtml(texts.graticule)] = graticule;
    overlays[escapeHtml(texts.media)] = media;
    overlays[escapeHtml(texts.addresses)] = addresses;
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    areas.addTo(map);
    graticule.addTo(map);
    media.addTo(map);

    // For the browser tests, which check positions through Leaflet itself.
    window.scutMap = { map: map, layers: { areas: areas, graticule: graticule, media: media, addresses: addresses }, loads: { media: 0, addresses: 0 } };

    function justification() {
      return justificationField ? justificationField.value.trim() : "";
    }

    function cellSize() {
      const degrees = (CLUSTER_PIXELS * 360) / (TILE_PIXELS * Math.pow(2, map.getZoom()));
      return Math.min(MAX_CELL_DEGREES, degrees);
    }

    function viewBounds() {
      const bounds = map.getBounds();
      return {
        south: clamp(bounds.getSouth(), -90, 90),
        west: clamp(bounds.getWest(), -180, 180),
        north: clamp(bounds.getNorth(), -90, 90),
        east: clamp(bounds.getEast(), -180, 180),
      };
    }

    function layerUrl(base, box, cell, limit) {
      const parameters = new URLSearchParams();
      if (box) {
        parameters.set("south", String(box.south));
        parameters.set("west", String(box.west));
        parameters.set("north", String(box.north));
        parameters.set("east", String(box.east));
      }
      parameters.set("cell", String(cell));
      if (limit) {
        parameters.set("limit", String(limit));
      }
      if (base === container.dataset.addressesUrl) {
        parameters.set("justification", justification());
      }
      return base + "?" + parameters.toString();
    }

    function fetchJson(url) {
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
        if (response.redirected && response.url.indexOf("/sign-in") !== -1) {
          window.location.assign(response.url);
          throw new Error("signed out");
        }
        if (response.status === 403) {
          throw new Error(texts.denied);
        }
        if (!response.ok) {
          throw new Error(texts.failed);
        }
        return response.json();
      });
    }

    function showStatus() {
      status.textContent = "";
      status.classList.toggle("map-error", Boolean(state.error));
      const lines = [];
      if (state.error) {
        lines.push(state.error);
      }
      if (state.media && map.hasLayer(media)) {
        lines.push(format(texts.mediaCount, { count: numbers.format(state.media.total) }));
      }
      if (state.addresses && map.hasLayer(addresses)) {
        lines.push(format(texts.addressCount, { count: numbers.format(state.addresses.total) }));
      }
      const truncated = [state.media, state.addresses].some(function (data) {
        return data && data.truncated;
      });
      if (truncated) {
        lines.push(texts.truncated);
      }
      status.textContent = lines.join(" · ");
    }

    function mediaPopup(point) {
      const box = element("div");
      const link = element("a", "map-popup-title", format(texts.mediaTitle, { id: point.id }));
      link.href = "/media/" + encodeURIComponent(point.id);
      box.append(link);
      const verdict = point.verdict ? settings.verdicts[point.verdict] || point.verdict : texts.noVerdict;
      box.append(element("div", "", format(texts.verdict, { verdict: verdict })));
      const key = point.category_code === null ? "" : (point.category_scheme || "") + ":" + point.category_code;
      const category = settings.categories[key] || (point.category_scheme || "") + " " + point.category_code;
      box.append(element("div", "", format(texts.category, { category: category })));
      return box;
    }

    function addressPopup(point) {
      const link = element("a", "map-popup-title", point.name);
      link.href = "/persons/" + encodeURIComponent(point.person_id);
      return link;
    }

    function listPopup(title, items) {
      const box = element("div");
      box.append(element("div", "map-popup-title", title));
      const list = element("ul", "map-popup-list");
      items.forEach(function (item) {
        const entry = element("li");
        entry.append(item);
        list.append(entry);
      });
      box.append(list);
      return box;
    }

    const kinds = {
      media: {
        layer: media,
        url: container.dataset.mediaUrl,
        clusterClass: "media-cluster",
        here: "mediaHere",
        marker: function (point) {
          const marker = L.circleMarker([point.latitude, point.longitude], {
            radius: 7,
            className: "map-point media-point verdict-point-" + safeClass(point.verdict),
          });
          marker.bindPopup(function () {
            return mediaPopup(point);
          });
          marker.scutId = point.id;
          return marker;
        },
        listItem: function (point) {
          const link = element("a", "", format(texts.mediaTitle, { id: point.id }));
          link.href = "/media/" + encodeURIComponent(point.id);
          return link;
        },
      },
      addresses: {
        layer: addresses,
        url: container.dataset.addressesUrl,
        clusterClass: "address-cluster",
        here: "addressesHere",
        marker: function (point) {
          const marker = L.circleMarker([point.latitude, point.longitude], {
            radius: 7,
            className: "map-point address-point",
          });
          marker.bindPopup(function () {
            return addressPopup(point);
          });
          marker.scutId = point.address_id;
          return marker;
        },
        listItem: addressPopup,
      },
    };

    function openClusterList(kind, cluster) {
      const box = cluster.bounds;
      fetchJson(layerUrl(kind.url, box, 0, CLUSTER_LIST_LIMIT))
        .then(function (data) {
          const title = format(texts[kind.here], { count: numbers.format(data.total) });
          L.popup()
            .setLatLng([cluster.latitude, cluster.longitude])
            .setContent(listPopup(title, data.points.map(kind.listItem)))
            .openOn(map);
        })
        .catch(function (error) {
          state.error = error.message;
          showStatus();
        });
    }

    function clusterMarker(kind, cluster) {
      // The circle grows with each digit of the count.
      const digits = String(cluster.count).length;
      const size = Math.min(46, 22 + 6 * digits);
      const icon = L.divIcon({
        className: "map-cluster " + kind.clusterClass,
        html: element("span", "", numbers.format(cluster.count)),
        iconSize: [size, size],
      });
      const marker = L.marker([cluster.latitude, cluster.longitude], {
        icon: icon,
        title: format(texts.zoomIn, { count: numbers.format(cluster.count) }),
      });
      marker.on("click", function () {
        const box = cluster.bounds;
        const onePlace = box.south === box.north && box.west === box.east;
        if (onePlace || map.getZoom() >= map.getMaxZoom()) {
          openClusterList(kind, cluster);
          return;
        }
        map.fitBounds(
          [
            [box.south, box.west],
            [box.north, box.east],
          ],
          { padding: [40, 40] }
        );
      });
      marker.scutCount = cluster.count;
      return marker;
    }

    function draw(name, data) {
      const kind = kinds[name];
      kind.layer.clearLayers();
      data.points.forEach(function (point) {
        kind.layer.addLayer(kind.marker(point));
      });
      data.clusters.forEach(function (cluster) {
        kind.layer.addLayer(clusterMarker(kind, cluster));
      });
      state[name] = data;
      window.scutMap.loads[name] += 1;
    }

    function load(name) {
      const kind = kinds[name];
      state.generation[name] += 1;
      const generation = state.generation[name];
      return fetchJson(layerUrl(kind.url, viewBounds(), cellSize()))
        .then(function (data) {
          if (generation !== state.generation[name]) {
            return;
          }
          draw(name, data);
          state.error = "";
          showStatus();
        })
        .catch(function (error) {
          state.error = error.message;
          showStatus();
        });
    }

    function refresh() {
      if (map.hasLayer(media)) {
        load("media");
      }
      if (map.hasLayer(addresses)) {
        load("addresses");
      }
    }

    let timer = null;
    function scheduleRefresh() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, REFRESH_DELAY_MS);
    }

    function drawGraticule() {
      graticule.clearLayers();
      const box = viewBounds();
      const south = Math.max(-85, box.south);
      const north = Math.min(85, box.north);
      const span = Math.max(north - south, box.east - box.west);
      let step = GRATICULE_STEPS[GRATICULE_STEPS.length - 1];
      for (const candidate of GRATICULE_STEPS) {
        if (span / candidate >= GRATICULE_MIN_LINES) {
          step = candidate;
          break;
        }
      }
      const options = { className: "graticule-line", interactive: false };
      const decimals = Math.max(0, Math.ceil(-Math.log10(step)));
      const degrees = new Intl.NumberFormat(document.documentElement.lang || undefined, {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      });
      function label(position, text, anchor) {
        const icon = L.divIcon({ className: "graticule-label", html: element("span", "", text + "°"), iconSize: null, iconAnchor: anchor });
        graticule.addLayer(L.marker(position, { icon: icon, interactive: false, keyboard: false }));
      }
      for (let index = Math.ceil(south / step); index * step <= north; index += 1) {
        const latitude = index * step;
        graticule.addLayer(L.polyline([[latitude, box.west], [latitude, box.east]], options));
        label([latitude, box.west], degrees.format(latitude), [-4, 16]);
      }
      for (let index = Math.ceil(box.west / step); index * step <= box.east; index += 1) {
        const longitude = index * step;
        graticule.addLayer(L.polyline([[south, longitude], [north, longitude]], options));
        label([north, longitude], degrees.format(longitude), [-4, -4]);
      }
    }

    function requireJustification() {
      if (justification()) {
        justificationField.classList.remove("needs-value");
        return true;
      }
      map.removeLayer(addresses);
      state.error = texts.needJustification;
      showStatus();
      if (justificationField) {
        justificationField.classList.add("needs-value");
        justificationField.focus();
      }
      return false;
    }

    map.on("moveend", function () {
      drawGraticule();
      scheduleRefresh();
    });
    map.on("overlayadd", function (event) {
      if (event.layer === addresses && !requireJustification()) {
        return;
      }
      if (event.layer === media || event.layer === addresses) {
        scheduleRefresh();
      }
    });
    map.on("overlayremove", function (event) {
      if (event.layer === media || event.layer === addresses) {
        event.layer.clearLayers();
        showStatus();
      }
    });
    if (justificationField) {
      justificationField.addEventListener("change", function () {
        justificationField.classList.toggle("needs-value", !justification());
        if (map.hasLayer(addresses)) {
          load("addresses");
        }
      });
    }
    // After a geocoding that found coordinates, show the addresses.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (!event.detail.target || event.detail.target.id !== "geocoding-result") {
        return;
      }
      const outcome = event.detail.target.querySelector("[data-geocoded]");
      if (outcome && Number(outcome.dataset.geocoded) > 0 && justification()) {
        if (map.hasLayer(addresses)) {
          load("addresses");
        } else {
          addresses.addTo(map);
        }
      }
    });

    // The first view: the loaded boundaries, else every media position,
    // else Moldova.
    function firstView() {
      return fetchJson(container.dataset.areasUrl).then(function (collection) {
        areas.addData(collection);
        if (collection.features.length > 0) {
          map.fitBounds(areas.getBounds());
          return null;
        }
        return fetchJson(layerUrl(kinds.media.url, null, MAX_CELL_DEGREES)).then(function (data) {
          const corners = [];
          data.points.forEach(function (point) {
            corners.push([point.latitude, point.longitude]);
          });
          data.clusters.forEach(function (cluster) {
            corners.push([cluster.bounds.south, cluster.bounds.west]);
            corners.push([cluster.bounds.north, cluster.bounds.east]);
          });
          if (corners.length > 0) {
            map.fitBounds(corners, { padding: [40, 40], maxZoom: FIRST_VIEW_MAX_ZOOM });
          } else {
            map.setView(DEFAULT_CENTRE, DEFAULT_ZOOM);
          }
          return null;
        });
      });
    }

    firstView().catch(function (error) {
      state.error = error.message;
      showStatus();
      map.setView(DEFAULT_CENTRE, DEFAULT_ZOOM);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
