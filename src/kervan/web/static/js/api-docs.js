// Starts Swagger UI on /docs from the vendored bundle (no inline script: the page's
// Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Deep links would put a link inside each operation's expand button, and a control
    // inside a control is out of reach for keyboard and screen-reader users.
    deepLinking: false,
    // The public validator is elsewhere: a closed network has none, and nothing is sent out.
    validatorUrl: null,
  });
})();
