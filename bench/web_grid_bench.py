"""Server time of the media grid page, against a plain keyset SELECT.

The bench writes N synthetic media straight into a fresh SQLite database
under a temporary directory, and with ``--database-url`` into an empty
PostgreSQL database as well, with bulk inserts. It writes units, cases,
one submission and exhibit per 2,000 media, one occurrence per media and
a second one for a tenth of them. The media get verdicts, categories
(Project VIC and UK), camera serials, GPS positions for about one media
in eight, series, and about twenty metadata tags each, so rows are as
wide as real ones.
Camera serials, GPS positions and series are clustered by submission, as
a seized device's pictures are, which is what makes a filter read many
media before its first match when the query runs in media id order. No
thumbnail is written: the grid page names each preview's address and the
browser fetches the previews in separate requests, so they are no part
of the page's server time.

It then signs an analyst in through the sign-in form (password and TOTP)
and times GET /media with FastAPI's TestClient, in this process. That is
the page's whole server time without a network: routing, session check,
the ``media.list`` service call with its audit event and commit, and
rendering. The requests mix 14 filter sets, the first page or a page after
a random media id, and page sizes of 48 and 192.

Two references are timed in the same run: the service call alone
(``media_grid`` in its own transaction, with its access check and audit
event), and the baseline ``SELECT id FROM media ORDER BY id LIMIT size``
with the same page sizes, the cheapest query a page of media could run.

Every row is synthetic, generated with a fixed seed. Results go to
bench/results/web-grid-N.json.

Run: ``.venv/bin/python bench/web_grid_bench.py --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import logging
import os
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, insert, select, text

from scut.db.models import (
    Case,
    Exhibit,
    Media,
    Occurrence,
    Series,
    SeriesMedia,
    Submission,
    Unit,
)
from scut.db.session import Database
from scut.media.grid import media_grid
from scut.security.auth import confirm_totp, create_user, enrol_totp
from scut.security.caller import Caller, local_operator
from scut.settings import Settings
from scut.storage.keys import create_default_keyring, load_keyring
from scut.web.app import create_app
from scut.web.config import WebSettings
from scut.web.media.common import read_grid_request
from search_bench import machine, percentile_ms, say, server_version

HERE = Path(__file__).resolve().parent
MEDIA_PER_SUBMISSION = 2_000
UNITS = 10
CASES = 20
SERIES = 200
CAMERAS = 300
BATCH = 5_000
PASSWORD = "bench lantern orchard 42"
ANALYST = "bench-analyst"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
TILE = re.compile(r'<li class="tile')
PAGE_SIZES = (48, 48, 48, 48, 192)
# Weights of the verdicts and categories of the synthetic media, an
# estimate of a centre's intake: most files new, a few known, a tenth set
# aside as known-good.
VERDICT_WEIGHTS = {"new": 75, "known": 8, "near": 5, "known-good": 12}
CATEGORY_WEIGHTS = {
    None: 70,
    ("projectvic", "0"): 10,
    ("projectvic", "1"): 7,
    ("projectvic", "2"): 5,
    ("projectvic", "3"): 1,
    ("projectvic", "4"): 3,
    ("uk", "A"): 1,
    ("uk", "B"): 1,
    ("uk", "C"): 2,
}
KIND_WEIGHTS = {"image": 85, "video": 10, "archive": 3, "other": 2}

log = logging.getLogger(__name__)


class OffsetClock:
    """The system time plus an offset, so that each TOTP code is a fresh one."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self.offset += delta


# Synthetic rows


@dataclass(frozen=True, slots=True)
class Corpus:
    """Values of the rows that the filters of the timed requests name."""

    media: int
    max_id: int
    serials: list[str]
    series: list[str]
    submissions: list[int]
    cases: list[str]


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _camera(number: int, rng: random.Random) -> str | None:
    """Return the serial of the camera that took media ``number``, if any.

    A seized device contains the pictures of a few cameras, so each
    submission's media come from three serials of its own.
    """
    if rng.random() >= 0.6:
        return None
    submission = number // MEDIA_PER_SUBMISSION
    return f"SN{(submission * 3 + rng.randrange(3)) % CAMERAS:06d}"


def _media_row(number: int, rng: random.Random) -> dict[str, Any]:
    seed = f"bench media {number}".encode()
    kind = _pick(rng, KIND_WEIGHTS)
    category = _pick(rng, CATEGORY_WEIGHTS) if kind in ("image", "video") else None
    serial = _camera(number, rng)
    # One camera in five records its position, in every picture it takes.
    located = serial is not None and int(serial[2:]) % 5 == 0
    return {
        "sha256": hashlib.sha256(seed).hexdigest(),
        "sha1": hashlib.sha1(seed).hexdigest(),
        "md5": hashlib.md5(seed).hexdigest(),
        "size": rng.randrange(20_000, 8_000_000),
        "mime_type": {"image": "image/jpeg", "video": "video/mp4"}.get(
            kind, "application/octet-stream"
        ),
        "kind": kind,
        "width": 4000 if kind == "image" else None,
        "height": 3000 if kind == "image" else None,
        "duration_seconds": rng.uniform(5, 600) if kind == "video" else None,
        "pdq": hashlib.sha256(seed + b"pdq").hexdigest() if kind == "image" else None,
        "pdq_quality": 100 if kind == "image" else None,
        "category_scheme": category[0] if category else None,
        "category_code": category[1] if category else None,
        "category_by_analyst": False,
        "category_conflict": False,
        "camera_make": "Example" if serial else None,
        "camera_model": "Model 7" if serial else None,
        "body_serial": serial,
        "gps_latitude": rng.uniform(45.5, 48.4) if located else None,
        "gps_longitude": rng.uniform(26.7, 30.1) if located else None,
        "metadata_tags": _tags(number, serial),
        "has_thumbnail": kind == "image",
        "has_strip": kind == "video",
        "first_seen_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        + dt.timedelta(seconds=number),
    }


def _tags(number: int, serial: str | None) -> dict[str, str]:
    tags = {
        f"Exif.Photo.Tag{index:02d}": f"value {number} {index}" for index in range(18)
    }
    tags["Exif.Image.Software"] = "Example Firmware 1.2"
    if serial:
        tags["Exif.Photo.BodySerialNumber"] = serial
    return tags


def populate(database: Database, count: int, seed: int) -> Corpus:
    """Write ``count`` media with their submissions, occurrences and series."""
    rng = random.Random(seed)
    with database.session() as session, session.begin():
        units = _insert_returning(
            session, Unit.__table__, [{"name": f"Unit {n}"} for n in range(UNITS)]
        )
        case_ids = _insert_returning(
            session,
            Case.__table__,
            [{"reference": f"BENCH-{n:03d}"} for n in range(CASES)],
        )
        series_ids = _insert_returning(
            session,
            Series.__table__,
            [{"name": f"Series {n:03d}"} for n in range(SERIES)],
        )
    submissions: list[int] = []
    exhibits: list[int] = []
    for start in range(0, count, BATCH):
        rows = [
            _media_row(number, rng)
            for number in range(start, min(count, start + BATCH))
        ]
        with database.session() as session, session.begin():
            ids = _insert_returning(session, Media.__table__, rows)
            for number in range(start, start + len(ids)):
                if number % MEDIA_PER_SUBMISSION == 0:
                    submission, exhibit = _new_exhibit(
                        session, rng, units, case_ids, len(exhibits)
                    )
                    submissions.append(submission)
                    exhibits.append(exhibit)
            session.execute(
                insert(Occurrence.__table__),
                list(_occurrences(rng, ids, start, exhibits)),
            )
            members = list(_series_members(rng, ids, start, series_ids))
            if members:
                session.execute(insert(SeriesMedia.__table__), members)
    with database.session() as session:
        max_id = int(session.scalar(select(func.max(Media.id))) or 0)
        serials = sorted(
            set(
                session.scalars(
                    select(Media.body_serial).where(Media.body_serial.is_not(None))
                )
            )
        )
        names = list(
            session.scalars(
                select(Series.name)
                .where(Series.id.in_(select(SeriesMedia.series_id)))
                .order_by(Series.id)
            )
        )
        cases = list(session.scalars(select(Case.reference).order_by(Case.id)))
    return Corpus(count, max_id, serials, names, submissions, cases)


def _series_members(
    rng: random.Random, ids: list[int], start: int, series_ids: list[int]
) -> Iterator[dict[str, Any]]:
    """Put a tenth of the media of every fifth submission into one series each.

    A series is produced together, so its media arrive in one submission.
    """
    for offset, media_id in enumerate(ids):
        submission = (start + offset) // MEDIA_PER_SUBMISSION
        if submission % 5 == 0 and rng.random() < 0.1:
            series = series_ids[submission // 5 % len(series_ids)]
            yield {"media_id": media_id, "series_id": series}


def _insert_returning(
    session: Any, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    result = session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


def _new_exhibit(
    session: Any, rng: random.Random, units: list[int], cases: list[int], number: int
) -> tuple[int, int]:
    case_id = rng.choice(cases)
    (submission,) = _insert_returning(
        session,
        Submission.__table__,
        [
            {
                "case_id": case_id,
                "unit_id": rng.choice(units),
                "officer": f"Officer {number}",
                "criminal_case_number": f"2026{number:05d}",
                "received_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            }
        ],
    )
    (exhibit,) = _insert_returning(
        session,
        Exhibit.__table__,
        [{"case_id": case_id, "submission_id": submission, "label": f"E{number:04d}"}],
    )
    return submission, exhibit


def _occurrences(
    rng: random.Random, ids: list[int], start: int, exhibits: list[int]
) -> Iterator[dict[str, Any]]:
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    for offset, media_id in enumerate(ids):
        number = start + offset
        exhibit = exhibits[number // MEDIA_PER_SUBMISSION]
        yield _occurrence(exhibit, media_id, f"DCIM/{number:07d}.jpg", rng, now)
        if rng.random() < 0.1 and len(exhibits) > 1:
            other = rng.choice(
                [item for item in exhibits[-5:] if item != exhibit] or exhibits
            )
            yield _occurrence(other, media_id, f"copies/{number:07d}.jpg", rng, now)


def _occurrence(
    exhibit: int, media_id: int, path: str, rng: random.Random, now: dt.datetime
) -> dict[str, Any]:
    return {
        "exhibit_id": exhibit,
        "media_id": media_id,
        "path": path,
        "verdict": _pick(rng, VERDICT_WEIGHTS),
        "verdict_detail": {},
        "type_mismatch": False,
        "members_complete": False,
        "recorded_at": now,
    }


# Requests


@dataclass(frozen=True, slots=True)
class GridQuery:
    """One timed request: its filter set's name and its query parameters."""

    name: str
    parameters: dict[str, str]


def build_queries(corpus: Corpus, count: int, seed: int) -> list[GridQuery]:
    """Return ``count`` requests over the filter sets, positions and sizes."""
    rng = random.Random(seed + 1)
    filter_sets: list[tuple[str, dict[str, str]]] = [
        ("none", {}),
        ("verdict known", {"verdict": "known"}),
        ("verdict near", {"verdict": "near"}),
        ("no category", {"category": "none"}),
        ("category 1", {"category": "1"}),
        ("category 3", {"category": "3"}),
        ("videos", {"type": "video"}),
        ("with GPS", {"gps": "yes"}),
        ("camera serial", {"camera": rng.choice(corpus.serials)}),
        ("series", {"series": rng.choice(corpus.series)}),
        ("submission", {"submission": str(rng.choice(corpus.submissions))}),
        ("case", {"case": rng.choice(corpus.cases)}),
        ("case, known", {"case": rng.choice(corpus.cases), "verdict": "known"}),
        (
            "submission, pictures, no category",
            {
                "submission": str(rng.choice(corpus.submissions)),
                "type": "image",
                "category": "none",
            },
        ),
    ]
    queries = []
    for index in range(count):
        name, filters = filter_sets[index % len(filter_sets)]
        parameters = dict(filters)
        parameters["size"] = str(rng.choice(PAGE_SIZES))
        if rng.random() < 0.7:
            parameters["after"] = str(rng.randrange(corpus.max_id))
        queries.append(GridQuery(name, parameters))
    return queries


def signed_in_client(database: Database, settings: Settings) -> TestClient:
    """Create an analyst with TOTP and sign them in through the form."""
    clock = OffsetClock()
    operator = local_operator("bench")
    keyring = load_keyring(settings) or create_default_keyring(settings)

    with database.session() as session, session.begin():
        create_user(
            session, ANALYST, PASSWORD, ("analyst",), None, "Bench", caller=operator
        )
        secret = enrol_totp(session, ANALYST, caller=operator, keyring=keyring).secret

    totp = pyotp.TOTP(secret)
    clock.advance(dt.timedelta(seconds=30))
    with database.session() as session, session.begin():
        confirm_totp(
            session,
            ANALYST,
            totp.at(clock.now()),
            caller=operator,
            keyring=keyring,
            clock=clock,
        )

    app = create_app(settings, web=WebSettings(plain_http_loopback=True), clock=clock)
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)

    form = client.get("/sign-in").text
    token = CSRF_INPUT.search(form)
    if token is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    clock.advance(dt.timedelta(seconds=30))
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": token.group(1),
            "username": ANALYST,
            "password": PASSWORD,
            "code": totp.at(clock.now()),
        },
    )
    if response.status_code != 303 or not client.cookies.get("scut_session"):
        raise RuntimeError(f"sign-in failed with HTTP {response.status_code}")
    return client


def time_pages(client: TestClient, queries: list[GridQuery]) -> dict[str, Any]:
    """Time GET /media for each query; check each page's status and tiles."""
    seconds: list[float] = []
    by_filter: dict[str, list[float]] = {}
    tiles: list[int] = []
    for query in queries:
        started = time.perf_counter()
        response = client.get("/media", params=query.parameters)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(
                f"GET /media {query.parameters} gave {response.status_code}"
            )
        seconds.append(elapsed)
        by_filter.setdefault(query.name, []).append(elapsed)
        tiles.append(len(TILE.findall(response.text)))
    summary = summarise(seconds)
    summary["mean_tiles"] = round(statistics.fmean(tiles), 1)
    summary["median_ms_by_filter"] = {
        name: percentile_ms(values, 50) for name, values in by_filter.items()
    }
    summary["max_ms_by_filter"] = {
        name: percentile_ms(values, 100) for name, values in by_filter.items()
    }
    return summary


def time_service(database: Database, queries: list[GridQuery]) -> dict[str, Any]:
    """Time the media_grid service call alone, each in its own transaction."""
    caller = Caller(user=ANALYST, roles=frozenset({"analyst"}), source="bench")
    seconds = []
    for query in queries:
        grid_request = read_grid_request(query.parameters)
        started = time.perf_counter()
        with database.session() as session, session.begin():
            media_grid(
                session,
                grid_request.filters,
                caller=caller,
                after=grid_request.after,
                size=grid_request.size,
            )
        seconds.append(time.perf_counter() - started)
    return summarise(seconds)


def time_baseline(database: Database, queries: list[GridQuery]) -> dict[str, Any]:
    """Time SELECT id FROM media ORDER BY id LIMIT size, with the same sizes."""
    seconds = []
    statement = select(Media.id).order_by(Media.id)
    for query in queries:
        size = int(query.parameters["size"])
        started = time.perf_counter()
        with database.session() as session:
            session.execute(statement.limit(size)).all()
        seconds.append(time.perf_counter() - started)
    return summarise(seconds)


def summarise(seconds: list[float]) -> dict[str, Any]:
    """Return the median, p95 and maximum in milliseconds, and the count."""
    return {
        "median_ms": percentile_ms(seconds, 50),
        "p95_ms": percentile_ms(seconds, 95),
        "max_ms": percentile_ms(seconds, 100),
        "timings": len(seconds),
    }


def run_backend(
    label: str, url: str, folder: Path, arguments: argparse.Namespace
) -> dict[str, Any]:
    """Fill the database at ``url`` and time the page, the service and the baseline."""
    settings = Settings(data_dir=folder / "data", database_url=url, fsync_blobs=False)
    database = Database(settings)
    try:
        database.upgrade()
        say(f"{label}: writing {arguments.media:,} media")
        started = time.perf_counter()
        corpus = populate(database, arguments.media, arguments.seed)
        populate_seconds = time.perf_counter() - started
        if database.engine.dialect.name == "postgresql":
            # Autovacuum would gather these statistics soon after such a load.
            with database.session() as session:
                session.execute(text("ANALYZE"))
                session.commit()
        queries = build_queries(corpus, arguments.requests, arguments.seed)
        client = signed_in_client(database, settings)
        gc.collect()
        say(f"{label}: warming up, then timing {len(queries)} requests")
        time_pages(client, queries[: len(queries) // 10])
        pages = time_pages(client, queries)
        service = time_service(database, queries)
        baseline = time_baseline(database, queries)
        client.close()
        return {
            "backend": label,
            "server": server_version(database),
            "media": corpus.media,
            "populate_seconds": round(populate_seconds, 1),
            "page": pages,
            "service": service,
            "baseline": baseline,
            "load_average_after": os.getloadavg(),
        }
    finally:
        database.dispose()


def parse_arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=int, default=100_000, help="synthetic media")
    parser.add_argument(
        "--requests", type=int, default=420, help="timed page requests per backend"
    )
    parser.add_argument(
        "--database-url",
        help="an empty PostgreSQL database to time as well, as a SQLAlchemy URL "
        "(postgresql+psycopg://...); it is migrated and filled, not dropped",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator")
    parser.add_argument(
        "--output", type=Path, help="JSON file (default bench/results/web-grid-N.json)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="an empty folder to write the SQLite database into and keep, for "
        "reading query plans afterwards (default: a temporary folder)",
    )
    arguments = parser.parse_args()
    if arguments.media < MEDIA_PER_SUBMISSION:
        parser.error(f"--media must be at least {MEDIA_PER_SUBMISSION}")
    if arguments.requests < 20:
        parser.error("--requests must be at least 20")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.WARNING)
    output = arguments.output or HERE / "results" / f"web-grid-{arguments.media}.json"
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
    backends = [("sqlite", None)]
    if arguments.database_url:
        backends.append(("postgresql", arguments.database_url))
    with tempfile.TemporaryDirectory(prefix="web-grid-bench-") as temporary:
        # The master key of the bench's blob store and the audit signing key
        # go under the temporary folder, not into the user's configuration.
        os.environ["XDG_CONFIG_HOME"] = str(Path(temporary) / "config")
        for label, url in backends:
            folder = Path(temporary) / label
            if label == "sqlite" and arguments.keep:
                folder = arguments.keep
            run = run_backend(
                label, url or f"sqlite:///{folder / 'scut.db'}", folder, arguments
            )
            report["runs"].append(run)
            # Written after each backend, so a later failure keeps results.
            output.write_text(json.dumps(report, indent=2, default=str))
            page, service, baseline = run["page"], run["service"], run["baseline"]
            print(
                f"{label}, {run['media']:,} media: page median {page['median_ms']} ms, "
                f"p95 {page['p95_ms']} ms; service {service['median_ms']} / "
                f"{service['p95_ms']} ms; baseline SELECT {baseline['median_ms']} / "
                f"{baseline['p95_ms']} ms"
            )
            for name, median in page["median_ms_by_filter"].items():
                most = page["max_ms_by_filter"][name]
                print(f"  {name}: median {median} ms, max {most} ms")
    print(f"results in {output}")


if __name__ == "__main__":
    main()
