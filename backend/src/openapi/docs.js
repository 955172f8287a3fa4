// Starts Swagger UI on /api/openapi.json (a file of its own: the page's CSP allows no inline
// script). "Try it out" sends the browser's session cookie, same origin.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: false,
    withCredentials: true,
  });
});
