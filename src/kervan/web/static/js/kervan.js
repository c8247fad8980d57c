// Kervan pages: place suggestions as an accessible combobox, and plans highlighted on the map.
// The pages work without this file; it only makes picking places and reading plans easier.
(function () {
  "use strict";

  function listFor(input) {
    return document.getElementById(input.getAttribute("aria-controls"));
  }

  function options(list) {
    return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
  }

  function setActive(input, list, index) {
    var all = options(list);
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0 && all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function close(input) {
    var list = listFor(input);
    if (list) {
      list.innerHTML = "";
    }
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function pick(input, option) {
    input.value = option.getAttribute("data-value");
    close(input);
    input.focus();
  }

  function activeIndex(list) {
    return options(list).findIndex(function (o) {
      return o.getAttribute("aria-selected") === "true";
    });
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.getAttribute("role") !== "combobox") {
      return;
    }
    var list = listFor(input);
    var count = list ? options(list).length : 0;
    if (!count) {
      return;
    }
    var index = activeIndex(list);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive(input, list, (index + 1) % count);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive(input, list, index <= 0 ? count - 1 : index - 1);
    } else if (event.key === "Enter" && index >= 0) {
      event.preventDefault();
      pick(input, options(list)[index]);
    } else if (event.key === "Escape") {
      close(input);
    }
  });

  // mousedown, not click: it comes before the input's blur closes the list.
  document.addEventListener("mousedown", function (event) {
    var option = event.target instanceof Element && event.target.closest('[role="option"]');
    if (!option) {
      return;
    }
    var list = option.closest('[role="listbox"]');
    var input = list && document.querySelector('[aria-controls="' + list.id + '"]');
    if (input) {
      event.preventDefault();
      pick(input, option);
    }
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.getAttribute("role") === "combobox") {
      close(input);
    }
  });

  function inputFor(list) {
    if (!list || list.getAttribute("role") !== "listbox") {
      return null;
    }
    return document.querySelector('[aria-controls="' + list.id + '"]');
  }

  // Suggestions answer the text typed so far. An answer for text the user has since changed
  // is dropped (it would replace a newer list), and the option picked with the arrow keys
  // stays picked when the list is refreshed with it still in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var list = event.detail.target;
    var input = inputFor(list);
    if (!input) {
      return;
    }
    var asked = null;
    try {
      asked = new URL(event.detail.xhr.responseURL).searchParams.get(input.name);
    } catch (error) {
      asked = null;
    }
    if (asked !== null && asked !== input.value) {
      event.detail.shouldSwap = false;
      return;
    }
    var active = options(list)[activeIndex(list)];
    list.setAttribute("data-kept", active ? active.getAttribute("data-value") : "");
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    var input = inputFor(list);
    if (input) {
      var open = options(list).length > 0 && document.activeElement === input;
      if (!open && document.activeElement !== input) {
        list.innerHTML = "";
      }
      input.setAttribute("aria-expanded", open ? "true" : "false");
      var kept = list.getAttribute("data-kept");
      list.removeAttribute("data-kept");
      var index = kept
        ? options(list).findIndex(function (o) {
            return o.getAttribute("data-value") === kept;
          })
        : -1;
      setActive(input, list, open ? index : -1);
    }
  });

  // A plan's row in the table lights up its line on the map (mouse and keyboard alike).
  function highlight(plan, on) {
    var routes = document.querySelector(".corridor-map .routes");
    if (!routes) {
      return;
    }
    routes.classList.toggle("has-highlight", on);
    routes.querySelectorAll(".route").forEach(function (line) {
      line.classList.toggle("highlight", on && line.getAttribute("data-plan") === plan);
    });
    document.querySelectorAll(".plan-row").forEach(function (row) {
      row.classList.toggle("highlight", on && row.getAttribute("data-plan") === plan);
    });
  }

  ["mouseover", "focusin"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var row = event.target instanceof Element && event.target.closest(".plan-row");
      if (row) {
        highlight(row.getAttribute("data-plan"), true);
      }
    });
  });
  ["mouseout", "focusout"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var row = event.target instanceof Element && event.target.closest(".plan-row");
      if (row) {
        highlight(null, false);
      }
    });
  });
})();

// The corridor map: zoom and drag, place names that fit the screen, the chosen plan
// highlighted (click its name in the table or its line on the map), the leg under the
// pointer named. Without this file the map is still drawn, with the first plan highlighted.
(function () {
  "use strict";

  var LABEL_PX = 12.5; // place names on the screen, whatever the zoom
  var TIER_WIDTHS = [Infinity, Infinity, 360, 160]; // as corridor_map.TIER_WIDTHS

  function parseBox(text) {
    var n = text.split(/\s+/).map(Number);
    return { x: n[0], y: n[1], w: n[2], h: n[3] };
  }

  function setupMap(figure) {
    var svg = figure.querySelector(":scope > svg");
    var tools = figure.querySelector(".map-tools");
    var tip = figure.querySelector(".map-tip");
    var image = svg && svg.querySelector("image");
    if (!svg || !tools || !image || figure.hasAttribute("data-ready")) {
      return;
    }
    figure.setAttribute("data-ready", "");
    var first = parseBox(svg.getAttribute("data-view"));
    var full = { w: Number(image.getAttribute("width")), h: Number(image.getAttribute("height")) };
    var box = Object.assign({}, first);
    var labels = Array.prototype.slice.call(svg.querySelectorAll(".place-label"));
    var group = svg.querySelector(".labels");
    // Markers keep their size on the screen too: each scaled about its own centre.
    var markers = Array.prototype.slice.call(svg.querySelectorAll(".network-nodes .marker")).map(function (m) {
      var b = m.getBBox();
      return { el: m, x: b.x + b.width / 2, y: b.y + b.height / 2 };
    });

    function apply() {
      box.w = Math.min(Math.max(box.w, 30), full.w);
      box.h = box.w * (first.h / first.w);
      if (box.h > full.h) {
        box.h = full.h;
        box.w = box.h * (first.w / first.h);
      }
      box.x = Math.min(Math.max(box.x, 0), full.w - box.w);
      box.y = Math.min(Math.max(box.y, 0), full.h - box.h);
      svg.setAttribute(
        "viewBox",
        [box.x, box.y, box.w, box.h].map(function (v) { return v.toFixed(1); }).join(" ")
      );
      svg.setAttribute("data-zoom", (first.w / box.w).toFixed(2));
      var s = Math.min(box.w / first.w, 1.5);
      markers.forEach(function (m) {
        m.el.setAttribute(
          "transform",
          "translate(" + m.x.toFixed(2) + " " + m.y.toFixed(2) + ") scale(" + s.toFixed(3) + ") translate(" + (-m.x).toFixed(2) + " " + (-m.y).toFixed(2) + ")"
        );
      });
      placeLabels();
    }

    function overlaps(a, list) {
      return list.some(function (b) {
        return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      });
    }

    // Most important first (the server's order): the route ends always, hubs at every zoom
    // where they fit, the others where the zoom allows their tier and they fit as well.
    function placeLabels() {
      var width = svg.getBoundingClientRect().width;
      if (!width) {
        return;
      }
      var unit = box.w / width; // map units per screen pixel
      var size = LABEL_PX * unit;
      group.setAttribute("font-size", size.toFixed(2));
      var gap = 3 * unit;
      var placed = [];
      labels.forEach(function (label) {
        var tier = Number((label.getAttribute("class").match(/tier-(\d)/) || [0, 3])[1]);
        var x = Number(label.getAttribute("data-x"));
        var y = Number(label.getAttribute("data-y"));
        var inside = x >= box.x && x <= box.x + box.w && y >= box.y && y <= box.y + box.h;
        label.classList.remove("off");
        if (!inside || box.w > TIER_WIDTHS[tier]) {
          label.classList.add("off");
          return;
        }
        var below = y + gap + size * 0.8;
        var spots = [
          [x + gap, y - gap, "start"], [x - gap, y - gap, "end"],
          [x + gap, below, "start"], [x - gap, below, "end"],
          [x, y - 2 * gap, "middle"], [x, below + gap, "middle"]
        ];
        var fallback = null;
        for (var i = 0; i < spots.length; i++) {
          label.setAttribute("x", spots[i][0].toFixed(2));
          label.setAttribute("y", spots[i][1].toFixed(2));
          label.setAttribute("text-anchor", spots[i][2]);
          var b = label.getBBox();
          var area = { x: b.x - gap, y: b.y, width: b.width + 2 * gap, height: b.height };
          var within = b.x >= box.x && b.x + b.width <= box.x + box.w && b.y >= box.y && b.y + b.height <= box.y + box.h;
          if (within && fallback === null) {
            fallback = spots[i];
          }
          if (within && !overlaps(area, placed)) {
            placed.push(area);
            return;
          }
        }
        // The ends of the drawn routes always; a hub that finds no room shows when zoomed in.
        if (tier === 0) {
          var spot = fallback || spots[0];
          label.setAttribute("x", spot[0].toFixed(2));
          label.setAttribute("y", spot[1].toFixed(2));
          label.setAttribute("text-anchor", spot[2]);
          placed.push(label.getBBox());
        } else {
          label.classList.add("off");
        }
      });
    }

    function zoom(factor) {
      var cx = box.x + box.w / 2;
      var cy = box.y + box.h / 2;
      box.w = box.w / factor;
      box.h = box.h / factor;
      box.x = cx - box.w / 2;
      box.y = cy - box.h / 2;
      apply();
    }

    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var button = event.target instanceof Element && event.target.closest("button[data-zoom]");
      if (!button) {
        return;
      }
      var how = button.getAttribute("data-zoom");
      if (how === "in") {
        zoom(1.6);
      } else if (how === "out") {
        zoom(1 / 1.6);
      } else {
        box = Object.assign({}, first);
        apply();
      }
    });

    // Drag to move the view (a press that hardly moves stays a click).
    var drag = null;
    svg.classList.add("pannable");
    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) {
        return;
      }
      drag = { x: event.clientX, y: event.clientY, box: Object.assign({}, box), moved: false, id: event.pointerId };
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drag || drag.id !== event.pointerId) {
        return;
      }
      var dx = event.clientX - drag.x;
      var dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) {
        return;
      }
      if (!drag.moved) {
        drag.moved = true;
        svg.setPointerCapture(event.pointerId);
        svg.classList.add("panning");
        hideTip();
      }
      var unit = box.w / svg.getBoundingClientRect().width;
      box.x = drag.box.x - dx * unit;
      box.y = drag.box.y - dy * unit;
      apply();
    });
    function endDrag(event) {
      if (drag && drag.moved) {
        svg.classList.remove("panning");
        svg.releasePointerCapture(event.pointerId);
        // The click that ends a drag selects nothing.
        svg.addEventListener("click", function (e) { e.stopPropagation(); }, { capture: true, once: true });
      }
      drag = null;
    }
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);

    // The leg under the pointer, named in a tip (its <title> becomes the tip's text).
    svg.querySelectorAll(".route-leg").forEach(function (leg) {
      var title = leg.querySelector("title");
      if (title) {
        leg.setAttribute("data-tip", title.textContent);
        title.remove();
      }
    });
    function hideTip() {
      tip.hidden = true;
      svg.querySelectorAll(".route-leg.pointed").forEach(function (l) { l.classList.remove("pointed"); });
    }
    function showTip(leg, event) {
      if (drag && drag.moved) {
        return;
      }
      svg.querySelectorAll(".route-leg.pointed").forEach(function (l) {
        if (l !== leg) { l.classList.remove("pointed"); }
      });
      leg.classList.add("pointed");
      tip.textContent = leg.getAttribute("data-tip");
      tip.hidden = false;
      var frame = figure.getBoundingClientRect();
      var left = event.clientX - frame.left + 14;
      var top = event.clientY - frame.top + 14;
      left = Math.min(left, frame.width - tip.offsetWidth - 4);
      tip.style.left = Math.max(left, 4) + "px";
      tip.style.top = top + "px";
    }
    svg.addEventListener("pointermove", function (event) {
      var leg = event.target instanceof Element && event.target.closest(".route-leg");
      if (leg) {
        showTip(leg, event);
      } else if (!tip.hidden) {
        hideTip();
      }
    });
    svg.addEventListener("pointerleave", hideTip);
    svg.addEventListener("click", function (event) {
      var leg = event.target instanceof Element && event.target.closest(".route-leg");
      var route = leg && leg.closest(".route-group");
      if (route) {
        select(route.getAttribute("data-plan"));
        showTip(leg, event);
      }
    });

    window.addEventListener("resize", placeLabels);
    apply();
  }

  // The chosen plan: its line on top and bright, the others dimmed and dashed; its row marked.
  function select(plan) {
    var routes = document.querySelector(".corridor-map .routes");
    if (routes) {
      var chosen = null;
      routes.querySelectorAll(".route-group").forEach(function (g) {
        var on = g.getAttribute("data-plan") === plan;
        g.classList.toggle("selected", on);
        if (on) {
          chosen = g;
        }
      });
      if (chosen) {
        routes.appendChild(chosen);
      }
    }
    document.querySelectorAll(".plan-row").forEach(function (row) {
      var on = row.getAttribute("data-plan") === plan;
      row.classList.toggle("selected", on);
      var note = row.querySelector(".selected-note");
      if (note) {
        note.hidden = !on;
      }
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element && event.target.closest(".plan-select");
    if (!link) {
      return;
    }
    var row = link.closest(".plan-row");
    event.preventDefault();
    select(row.getAttribute("data-plan"));
    var details = document.getElementById("plan-" + row.getAttribute("data-plan"));
    if (details) {
      details.open = true;
    }
  });

  function setupAll() {
    document.querySelectorAll(".corridor-map").forEach(setupMap);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
  // The planner swaps its results (and their map) in place.
  document.addEventListener("htmx:afterSettle", setupAll);
})();
