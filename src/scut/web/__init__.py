"""Scut's web application: server-rendered pages and a JSON API under ``/api``.

The pages are Jinja2 templates rendered on the server in Romanian, English
or Russian. HTMX and Leaflet are served by the application itself, so no
request leaves the closed network. The services hold every rule: this
package turns requests into service calls with the signed-in caller.
"""
