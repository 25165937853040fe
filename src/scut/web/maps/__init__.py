"""The map page: media GPS points and persons' addresses over the raion boundaries.

The page draws its layers with the Leaflet served by the application, from
JSON that the page fetches with its session (``pages``). The API under
``/api/map`` returns the same JSON to token holders (``api``). Both read
through the services of scut.geo, which check and audit each call.
"""

from __future__ import annotations

from scut.web.maps.api import api_router
from scut.web.maps.pages import router

__all__ = ["api_router", "router"]
