"""Pages of administration: hash sets, users, units, API tokens and the audit log.

Also the page that unlocks a session locked after idle time, which every
signed-in user may meet.
"""

from __future__ import annotations

from fastapi import APIRouter

from scut.web.admin import audit, hash_sets, tokens, units, unlock, users
from scut.web.admin.api import api_router
from scut.web.i18n import N_
from scut.web.navigation import NavigationItem, add_link

# The pages of this area.
router = APIRouter(include_in_schema=False)
for _module in (hash_sets, users, units, tokens, audit, unlock):
    router.include_router(_module.router)

add_link(NavigationItem(N_("Hash sets"), "/admin/hash-sets", "hashsets.list", order=50))
add_link(NavigationItem(N_("Users"), "/admin/users", "users.manage", order=51))
add_link(NavigationItem(N_("Units"), "/admin/units", "units.save", order=52))
add_link(NavigationItem(N_("Audit log"), "/audit", "audit.read", order=53))
add_link(NavigationItem(N_("API tokens"), tokens.PAGE, "tokens.list", order=59))

__all__ = ["api_router", "router"]
