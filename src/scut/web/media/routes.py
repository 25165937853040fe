"""The routers of the media area, shared by its page and API modules."""

from __future__ import annotations

from fastapi import APIRouter

# The pages of this area.
router = APIRouter(include_in_schema=False)
# The JSON API of this area, under /api, token-authenticated.
api_router = APIRouter(prefix="/api", tags=["api"])
