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

  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (list && list.getAttribute("role") === "listbox") {
      var input = document.querySelector('[aria-controls="' + list.id + '"]');
      if (input) {
        var open = options(list).length > 0 && document.activeElement === input;
        if (!open && document.activeElement !== input) {
          list.innerHTML = "";
        }
        input.setAttribute("aria-expanded", open ? "true" : "false");
        input.removeAttribute("aria-activedescendant");
      }
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
