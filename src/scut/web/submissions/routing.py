"""The routers of the submissions area, which its page and API modules fill."""

from __future__ import annotations

from fastapi import APIRouter

from scut.web.submissions.state import lifespan

# The pages of this area; its lifespan runs the ingest jobs of uploads.
router = APIRouter(include_in_schema=False, lifespan=lifespan)
# The JSON API of this area, under /api, token-authenticated.
api_router = APIRouter(prefix="/api", tags=["api"])
