"""Server time of the person search page, against the search service alone.

The bench records N synthetic persons through ``scut.persons.service``
with the generator of bench/search_bench.py, in a fresh SQLite database
under a temporary directory and, with ``--database-url``, in an empty
PostgreSQL database as well. It signs an analyst in through the sign-in
form (password and TOTP), gives the session a justification, and then
requests, for each of the 200 queries of search_bench.py:

- ``/persons/results?q=...``, the fragment that HTMX loads as the analyst
  types, and
- ``/persons?q=...``, the whole search page with its results.

Each request goes through Starlette's TestClient, in this process. The
server time is measured by an ASGI wrapper around the application, from
the call of the application to the last byte of the response: the
session check, the search, the audit event, the rendering and the
security headers. The time the client waited, which adds the in-process
transport of the TestClient (no socket, no browser), is reported beside
it. The baseline, timed in the same run, is the service call the page
makes, ``search_persons`` with the same caller and limit in its own
committed transaction, without HTTP.

Every person and query is synthetic. Results go to
bench/results/web-search-N.json.

Run: ``.venv/bin/python bench/web_search_bench.py --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from scut.db.session import Database
from scut.persons.search import search_persons
from scut.security.auth import confirm_totp, create_user, enrol_totp
from scut.security.caller import Caller, local_operator
from scut.settings import Settings
from scut.storage.keys import create_default_keyring, load_keyring
from scut.web.app import create_app
from scut.web.config import WebSettings
from scut.web.records.search import SEARCH_LIMIT
from search_bench import (
    QUERY_POOL,
    BenchQuery,
    build_queries,
    machine,
    percentile_ms,
    populate,
    say,
    server_version,
    synthetic_persons,
)

HERE = Path(__file__).resolve().parent
USER = "bench-analyst"
PASSWORD = "synthetic bench password 7"
JUSTIFICATION = "synthetic benchmark data"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class SteppedClock:
    """The system time plus an offset moved one TOTP step per code taken."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return dt.datetime.now(dt.UTC) + self.offset

    def next_code(self, secret: str) -> str:
        """Move a TOTP step ahead and return the code of that step."""
        with self._lock:
            self.offset += dt.timedelta(seconds=30)
        return str(pyotp.TOTP(secret).at(self.now()))


def add_analyst(database: Database, settings: Settings, clock: SteppedClock) -> str:
    """Create the analyst with confirmed TOTP; return the TOTP secret."""
    operator = local_operator("bench")
    keyring = load_keyring(settings) or create_default_keyring(settings)
    with database.session() as session, session.begin():
        create_user(
            session, USER, PASSWORD, ("analyst",), None, "Bench", caller=operator
        )
        secret = enrol_totp(session, USER, caller=operator, keyring=keyring).secret
    with database.session() as session, session.begin():
        confirm_totp(
            session,
            USER,
            clock.next_code(secret),
            caller=operator,
            keyring=keyring,
            clock=clock,
        )
    return secret


def signed_in_client(client: TestClient, secret: str, clock: SteppedClock) -> None:
    """Sign in through the form and give the session its justification."""
    token = _csrf(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": token,
            "username": USER,
            "password": PASSWORD,
            "code": clock.next_code(secret),
        },
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in failed with status {response.status_code}")
    token = _csrf(client.get("/justification").text)
    response = client.post(
        "/justification",
        data={"csrf_token": token, "justification": JUSTIFICATION, "next": "/"},
    )
    if response.status_code != 303:
        raise RuntimeError(f"justification failed with status {response.status_code}")


def _csrf(html: str) -> str:
    found = CSRF_INPUT.search(html)
    if found is None:
        raise RuntimeError("the page has no CSRF token")
    return found.group(1)


class ServerTimer:
    """ASGI wrapper that keeps the server time of each HTTP request, in seconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seconds: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seconds.append(time.perf_counter() - started)


def time_pages(
    client: TestClient,
    timer: ServerTimer,
    path: str,
    queries: list[BenchQuery],
    rounds: int,
) -> dict[str, Any]:
    """Time GET ``path`` with each query's text, after one untimed round."""
    server: list[float] = []
    waited: list[float] = []
    sizes: list[int] = []
    for round_number in range(rounds + 1):
        for item in queries:
            url = f"{path}?{urlencode({'q': item.query.text})}"
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{url} returned {response.status_code}")
            if round_number == 0:
                sizes.append(len(response.content))
            else:
                server.append(timer.seconds[-1])
                waited.append(elapsed)
    return {
        "median_ms": percentile_ms(server, 50),
        "p95_ms": percentile_ms(server, 95),
        "max_ms": percentile_ms(server, 100),
        "client_median_ms": percentile_ms(waited, 50),
        "client_p95_ms": percentile_ms(waited, 95),
        "mean_kib": round(sum(sizes) / len(sizes) / 1024, 1),
        "timings": len(server),
    }


def time_service(
    database: Database, caller: Caller, queries: list[BenchQuery], rounds: int
) -> dict[str, Any]:
    """Time the page's service call alone, committed as the page commits it."""
    seconds: list[float] = []
    for round_number in range(rounds + 1):
        for item in queries:
            started = time.perf_counter()
            with database.session() as session, session.begin():
                search_persons(session, item.query, SEARCH_LIMIT, caller=caller)
            elapsed = time.perf_counter() - started
            if round_number:
                seconds.append(elapsed)
    return {
        "median_ms": percentile_ms(seconds, 50),
        "p95_ms": percentile_ms(seconds, 95),
        "max_ms": percentile_ms(seconds, 100),
        "timings": len(seconds),
    }


def run_backend(
    label: str, url: str, folder: Path, arguments: argparse.Namespace
) -> dict[str, Any]:
    """Record the persons at ``url``, then time the pages and the service."""
    settings = Settings(data_dir=folder / "data", database_url=url)
    database = Database(settings)
    try:
        database.upgrade()
        persons = list(synthetic_persons(arguments.persons, arguments.seed))
        say(f"{label}: recording {len(persons):,} persons")
        ids = populate(database, persons)
        if database.engine.dialect.name == "postgresql":
            with database.session() as session:
                for table in ("persons", "person_names", "person_categories"):
                    session.execute(text(f"ANALYZE {table}"))
                session.commit()
        # The page sends the name of each query; the birth dates that some
        # queries of search_bench.py add have no field on the page.
        queries = build_queries(persons, ids, arguments.seed)
        clock = SteppedClock()
        secret = add_analyst(database, settings, clock)
        caller = Caller(
            user=USER,
            roles=frozenset({"analyst"}),
            source="bench",
            justification=JUSTIFICATION,
        )
        app = create_app(
            settings, web=WebSettings(plain_http_loopback=True), clock=clock
        )
        timer = ServerTimer(app)
        gc.collect()
        gc.freeze()
        with TestClient(
            timer, base_url="https://testserver", follow_redirects=False
        ) as client:
            signed_in_client(client, secret, clock)
            say(f"{label}: timing {len(queries)} queries x {arguments.rounds} rounds")
            fragment = time_pages(
                client, timer, "/persons/results", queries, arguments.rounds
            )
            page = time_pages(client, timer, "/persons", queries, arguments.rounds)
        service = time_service(database, caller, queries, arguments.rounds)
        return {
            "backend": label,
            "server": server_version(database),
            "load_average_after": os.getloadavg(),
            "persons": len(persons),
            "results_fragment": fragment,
            "search_page": page,
            "service_call": service,
            "ratio_median_fragment": round(
                fragment["median_ms"] / service["median_ms"], 2
            ),
            "ratio_median_page": round(page["median_ms"] / service["median_ms"], 2),
        }
    finally:
        database.dispose()


def parse_arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--persons", type=int, default=10_000, help="synthetic persons to record"
    )
    parser.add_argument(
        "--database-url",
        help="an empty PostgreSQL database to time as well, as a SQLAlchemy URL "
        "(postgresql+psycopg://...); it is migrated and filled, not dropped",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="timed rounds over the 200 queries"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator")
    parser.add_argument(
        "--output",
        type=Path,
        help="JSON file (default bench/results/web-search-N.json)",
    )
    arguments = parser.parse_args()
    if arguments.persons < QUERY_POOL:
        parser.error(f"--persons must be at least {QUERY_POOL}")
    if arguments.rounds < 1:
        parser.error("--rounds must be at least 1")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.WARNING)
    name = f"web-search-{arguments.persons}.json"
    output = arguments.output or HERE / "results" / name
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "arguments": {
            key: value for key, value in vars(arguments).items() if key != "output"
        },
        "runs": [],
    }
    if arguments.database_url:
        report["arguments"]["database_url"] = "(given)"
    output.parent.mkdir(parents=True, exist_ok=True)
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if arguments.database_url:
        backends.append(("postgresql", arguments.database_url))
    with tempfile.TemporaryDirectory(prefix="web-search-bench-") as temporary:
        # The master key and the audit signing key go under the bench's
        # own folder, not the real ~/.config/scut.
        os.environ["XDG_CONFIG_HOME"] = str(Path(temporary) / "config")
        for label, url in backends:
            folder = Path(temporary) / label
            run = run_backend(
                label, url or f"sqlite:///{folder / 'scut.db'}", folder, arguments
            )
            report["runs"].append(run)
            output.write_text(json.dumps(report, indent=2, default=str))
            fragment, page = run["results_fragment"], run["search_page"]
            service = run["service_call"]
            print(
                f"{label}, {run['persons']:,} persons: server time of the results "
                f"fragment, median {fragment['median_ms']} ms, p95 "
                f"{fragment['p95_ms']} ms; whole "
                f"page {page['median_ms']} / {page['p95_ms']} ms; service call "
                f"alone {service['median_ms']} / {service['p95_ms']} ms"
            )
    say(f"results written to {output}")


if __name__ == "__main__":
    main()
