"""The navigation bar: the links each area of the pages adds for its pages."""

from __future__ import annotations

from dataclasses import dataclass

from scut.security.access import MATRIX
from scut.security.caller import Caller


@dataclass(frozen=True, slots=True)
class NavigationItem:
    """A link of the navigation bar, shown to callers who may use its page."""

    label: str
    path: str
    # The operation the page is built on. None means every signed-in user
    # may open the page.
    operation: str | None = None
    # Position in the bar: lower comes first.
    order: int = 100


_ITEMS: dict[str, NavigationItem] = {}


def add_link(item: NavigationItem) -> NavigationItem:
    """Add ``item`` to the bar; an area module calls it when it is imported.

    Raises ValueError for an operation missing from the access matrix, or a
    second item with the same path.
    """
    if item.operation is not None and item.operation not in MATRIX:
        raise ValueError(f"operation {item.operation!r} is not in the access matrix")
    if _ITEMS.get(item.path, item) != item:
        raise ValueError(f"a navigation item for {item.path} exists already")
    _ITEMS[item.path] = item
    return item


def navigation_for(caller: Caller) -> list[NavigationItem]:
    """Return the items whose operation the caller's roles allow, in bar order."""
    return [
        item
        for item in sorted(_ITEMS.values(), key=lambda item: (item.order, item.path))
        if item.operation is None or caller.roles & MATRIX[item.operation].roles
    ]
