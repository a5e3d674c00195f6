// The API docs page (GET /api/v1/docs): Swagger UI (swagger-ui-dist from npm) showing
// the server's own /api/v1/openapi.json. A file of its own rather than an inline
// script, because the page's Content-Security-Policy allows scripts from this server only.
/* global SwaggerUIBundle */
window.addEventListener("DOMContentLoaded", () => {
  SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#api",
    deepLinking: true,
    // No badge image from validator.swagger.io: the page talks to this server only.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
