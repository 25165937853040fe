"""The person search: one field, results as the analyst types, a category filter.

The search service folds diacritics and Cyrillic letters and matches the
other forms of a given name (scut.persons.search). Results show IDNPs
with their last four digits only.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.requests import Request

from scut.persons.search import InvalidQuery, PersonQuery, search_persons
from scut.persons.service import CATEGORIES
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.records.common import render
from scut.web.records.fields import FieldError
from scut.web.records.justification import justified

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

# Results shown by the search page.
SEARCH_LIMIT = 50
# Letters a query needs before it is searched; search_persons's MIN_PREFIX.
MIN_QUERY_LETTERS = 2
MAX_QUERY_FIELD = 1000
MAX_CATEGORY_FIELD = 100

TYPE_MORE = N_("Type at least two letters of a last or first name.")
SEARCH_FAILED = N_("The search could not run.")

QueryField = Annotated[str, Query(max_length=MAX_QUERY_FIELD)]
CategoryField = Annotated[str, Query(max_length=MAX_CATEGORY_FIELD)]


@router.get("/persons", response_model=None)
def search_page(
    request: Request,
    caller: PageCaller,
    q: QueryField = "",
    category: CategoryField = "",
) -> Response:
    """Show the person search, with the results of the query in the address."""
    allowed = justified(request, caller, "persons.search")
    if isinstance(allowed, Response):
        return allowed
    results = _search(request, allowed, q, category)
    return render(
        request,
        "records/persons_search.html",
        q=q,
        category=category,
        categories=CATEGORIES,
        **results,
    )


@router.get("/persons/results", response_model=None)
def search_results(
    request: Request,
    caller: PageCaller,
    q: QueryField = "",
    category: CategoryField = "",
) -> Response:
    """Return the results of a query, for HTMX to put under the search field."""
    allowed = justified(request, caller, "persons.search")
    if isinstance(allowed, Response):
        return allowed
    results = _search(request, allowed, q, category)
    return render(request, "records/_person_results.html", q=q, **results)


def _search(
    request: Request, caller: Caller, text: str, category: str
) -> dict[str, Any]:
    """Search, or explain why the query was not searched.

    A query of fewer than two letters is not sent to the service, so that
    typing the first letter writes no audit event.
    """
    letters = sum(1 for char in text if char.isalpha())
    if letters < MIN_QUERY_LETTERS:
        return {"hits": None, "hint": TYPE_MORE if text.strip() else None}
    query = PersonQuery(text=text, category=category or None)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            hits = search_persons(session, query, SEARCH_LIMIT, caller=caller)
    except InvalidQuery as error:
        log.info("person search by %s rejected: %s", caller.name, error)
        return {"hits": None, "error": FieldError(SEARCH_FAILED, detail=str(error))}
    return {"hits": hits, "limit": SEARCH_LIMIT}
