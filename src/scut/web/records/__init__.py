"""Pages of records: series, persons and their search, convicted-offender imports.

Each module of this package contains the pages of one kind of record,
and ``api`` contains their JSON API. Pages that show or change personal data
ask for a justification once per session (``justification``).
"""

from __future__ import annotations

from fastapi import APIRouter

from scut.web.i18n import N_
from scut.web.navigation import NavigationItem, add_link
from scut.web.records import (
    convicted,
    justification,
    person_changes,
    persons,
    search,
    series,
)
from scut.web.records.api import api_router

# The pages of this area.
router = APIRouter(include_in_schema=False)
for _module in (justification, series, search, persons, person_changes, convicted):
    router.include_router(_module.router)

add_link(NavigationItem(N_("All series"), "/series", operation="series.list", order=30))
add_link(
    NavigationItem(N_("Persons"), "/persons", operation="persons.search", order=31)
)
add_link(
    NavigationItem(
        N_("Convicted offenders"),
        "/convicted",
        operation="convicted.read",
        order=32,
    )
)

__all__ = ["api_router", "router"]
