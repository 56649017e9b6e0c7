// Starts Swagger UI on /docs. A file, not an inline script: the page's CSP allows only this
// server's own scripts. No validator badge: it would call a public service.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
  });
})();
