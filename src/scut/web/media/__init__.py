"""Pages of media: the grid, its filters, reveal and categorisation, the detail.

``grid`` serves the grid page, its blurred previews, the audited reveal
and the categorisation by keyboard. ``detail`` serves the page of one
media, and ``api`` the same services as JSON under ``/api/media``.
"""

from __future__ import annotations

from scut.web.media import api, detail, grid  # noqa: F401 - each adds its routes
from scut.web.media.routes import api_router, router

__all__ = ["api_router", "router"]
