"""Person search latency, against a plain SELECT on the last name.

The bench records N synthetic persons through ``scut.persons.service``
in a fresh SQLite database under a temporary directory and, with
``--database-url``, in an empty PostgreSQL database as well. About a
fifth of them get a second spelling: the Russian form in Cyrillic, or
an alias. It then times ``search_persons`` for 200 queries drawn from
the first 2,000 persons, so the queries are the same at every size from
2,000 persons up. They are full names in either order, with and without
diacritics, Cyrillic, prefixes, names with birth dates, and last names
alone.

``search_persons`` is timed as services call it, with its access check
and the audit event it writes (each search runs in its own session,
which is closed without a commit), and again without both, through
``scut.security.access.unchecked``.

The baseline, timed in the same run, is ``SELECT id, first_name FROM
persons WHERE last_name = :x`` with the last name as typed in each query.
It stands for the cheapest lookup an analyst could run. There is no index
on persons.last_name, so the baseline reads the whole table, as such a
query would on a Scut database. It compares time only: it finds neither
Cyrillic, nor folded, nor prefix spellings.

Every person and query is synthetic, generated from the name lists below
with a fixed seed. Results go to bench/results/search-N.json.

Run: ``.venv/bin/python bench/search_bench.py --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from scut.db.session import Database
from scut.persons.search import PersonQuery, SearchHit, search_persons
from scut.persons.service import PersonInput, add_name, create_person
from scut.security.access import unchecked
from scut.security.caller import local_operator
from scut.settings import Settings

HERE = Path(__file__).resolve().parent
QUERY_COUNT = 200
# Queries are drawn from this many first persons, so they stay the same
# at every size from this one up.
QUERY_POOL = 2_000
COMMIT_EVERY = 1_000
# Records the persons and searches as the command line would, with an
# audit event each.
BENCH_CALLER = local_operator("bench", acting_for="bench").with_justification(
    "synthetic benchmark data"
)

log = logging.getLogger(__name__)

# Moldovan surnames with the Russian form that police and penitentiary
# records use.
SURNAMES = [
    ("Ceban", "Чебан"), ("Cîrlan", "Кирлан"), ("Țurcan", "Цуркан"),
    ("Munteanu", "Мунтяну"), ("Rusu", "Русу"), ("Lupu", "Лупу"),
    ("Popa", "Попа"), ("Sîrbu", "Сырбу"), ("Cojocaru", "Кожокару"),
    ("Moraru", "Морару"), ("Botnaru", "Ботнару"), ("Rotaru", "Ротару"),
    ("Melnic", "Мельник"), ("Ciobanu", "Чобану"), ("Bălan", "Бэлан"),
    ("Guțu", "Гуцу"), ("Roșca", "Рошка"), ("Cebotari", "Чеботарь"),
    ("Spînu", "Спыну"), ("Grosu", "Гросу"), ("Croitoru", "Кроитору"),
    ("Caraman", "Караман"), ("Pascari", "Паскарь"), ("Ursu", "Урсу"),
    ("Jitari", "Житарь"), ("Lungu", "Лунгу"), ("Mocanu", "Мокану"),
    ("Prodan", "Продан"), ("Nistor", "Нистор"), ("Ungureanu", "Унгуряну"),
    ("Postolachi", "Постолаки"), ("Țîbuleac", "Цыбуляк"), ("Gîrlea", "Гырля"),
    ("Vrabie", "Врабие"), ("Stratan", "Стратан"), ("Cazacu", "Казаку"),
    ("Șevciuc", "Шевчук"), ("Oprea", "Опря"), ("Chiriac", "Кирияк"),
    ("Negru", "Негру"), ("Bejenari", "Беженарь"), ("Dabija", "Дабижа"),
    ("Frunză", "Фрунзэ"), ("Tănase", "Тэнасе"), ("Cucu", "Куку"),
    ("Pîrțac", "Пырцак"), ("Vieru", "Виеру"), ("Hîncu", "Хынку"),
    ("Ștefăneț", "Штефэнец"), ("Gîscă", "Гыскэ"),
]  # fmt: skip
# Parts of generated Latin surnames, so that the table contains many rare
# names beside the common ones, as a real register does.
ROOTS = [
    "Bot", "Cob", "Gor", "Mar", "Pet", "Strat", "Bur", "Cal", "Dor", "Fil",
    "Gal", "Hab", "Lis", "Mel", "Nic", "Pal", "Rad", "Sav", "Tod", "Vas",
    "Zub", "Cern", "Grig", "Sol", "Tim", "Vel", "Bor", "Dan", "Mih", "Rom",
    "Beș", "Cîr", "Mîn", "Țap", "Șor", "Brîn", "Gîr", "Pîr", "Răd", "Văl",
]  # fmt: skip
SUFFIXES = [
    "an", "anu", "escu", "ari", "eanu", "uc", "iuc", "enco", "ache", "oi",
    "aș", "ean", "ică", "ița",
]  # fmt: skip
# Given names with the Russian form, and the patronymic made from each.
MALE_NAMES = [
    ("Ion", "Иван", "Ivanovici", "Иванович", "Ivanovna", "Ивановна"),
    ("Vasile", "Василий", "Vasilievici", "Васильевич", "Vasilievna", "Васильевна"),
    ("Gheorghe", "Георгий", "Gheorghievici", "Георгиевич", "Gheorghievna",
     "Георгиевна"),
    ("Nicolae", "Николай", "Nicolaevici", "Николаевич", "Nicolaevna", "Николаевна"),
    ("Mihai", "Михаил", "Mihailovici", "Михайлович", "Mihailovna", "Михайловна"),
    ("Dumitru", "Дмитрий", "Dmitrievici", "Дмитриевич", "Dmitrievna", "Дмитриевна"),
    ("Petru", "Пётр", "Petrovici", "Петрович", "Petrovna", "Петровна"),
    ("Andrei", "Андрей", "Andreevici", "Андреевич", "Andreevna", "Андреевна"),
    ("Alexandru", "Александр", "Alexandrovici", "Александрович", "Alexandrovna",
     "Александровна"),
    ("Serghei", "Сергей", "Sergheevici", "Сергеевич", "Sergheevna", "Сергеевна"),
    ("Victor", "Виктор", "Victorovici", "Викторович", "Victorovna", "Викторовна"),
    ("Iurie", "Юрий", "Iurievici", "Юрьевич", "Iurievna", "Юрьевна"),
    ("Vladimir", "Владимир", "Vladimirovici", "Владимирович", "Vladimirovna",
     "Владимировна"),
    ("Valeriu", "Валерий", "Valerievici", "Валерьевич", "Valerievna", "Валерьевна"),
    ("Grigore", "Григорий", "Grigorievici", "Григорьевич", "Grigorievna",
     "Григорьевна"),
    ("Constantin", "Константин", "Constantinovici", "Константинович",
     "Constantinovna", "Константиновна"),
    ("Ștefan", "Степан", "Stepanovici", "Степанович", "Stepanovna", "Степановна"),
    ("Oleg", "Олег", "Olegovici", "Олегович", "Olegovna", "Олеговна"),
    ("Igor", "Игорь", "Igorevici", "Игоревич", "Igorevna", "Игоревна"),
    ("Anatolie", "Анатолий", "Anatolievici", "Анатольевич", "Anatolievna",
     "Анатольевна"),
]  # fmt: skip
FEMALE_NAMES = [
    ("Maria", "Мария"), ("Elena", "Елена"), ("Ana", "Анна"),
    ("Natalia", "Наталья"), ("Tatiana", "Татьяна"), ("Ecaterina", "Екатерина"),
    ("Svetlana", "Светлана"), ("Olga", "Ольга"), ("Galina", "Галина"),
    ("Valentina", "Валентина"), ("Ludmila", "Людмила"), ("Lilia", "Лилия"),
    ("Angela", "Анжела"), ("Cristina", "Кристина"), ("Doina", "Дойна"),
    ("Nadejda", "Надежда"), ("Irina", "Ирина"), ("Larisa", "Лариса"),
    ("Aliona", "Алёна"), ("Oxana", "Оксана"), ("Victoria", "Виктория"),
    ("Iulia", "Юлия"), ("Diana", "Диана"), ("Stela", "Стелла"),
]  # fmt: skip
CATEGORIES = ["victim", "offender", "suspect", "convicted", "witness"]


@dataclass(frozen=True, slots=True)
class Synthetic:
    """One generated person: the Latin name and, for a known surname, the Cyrillic."""

    last: str
    first: str
    patronymic: str | None
    last_cyrillic: str | None
    first_cyrillic: str
    patronymic_cyrillic: str | None
    birth: str | None
    birth_year: int | None
    categories: tuple[str, ...]
    # "cyrillic", "alias" or None: the second spelling recorded.
    second: str | None
    # The person was recorded under the Cyrillic form first.
    cyrillic_primary: bool


# Makes the query text, the last name as typed, and the birth date typed.
QueryMaker = Callable[[Synthetic], tuple[str, str, str | None]]


# search_persons, or its body without the access check and audit event.
SearchCall = Callable[..., list[SearchHit]]
SEARCH_CORE: SearchCall = unchecked(search_persons)


@dataclass(frozen=True, slots=True)
class BenchQuery:
    """One timed query, the person it was drawn from and its baseline last name."""

    kind: str
    query: PersonQuery
    expected: int
    baseline_last_name: str


# Synthetic persons


def generated_surnames() -> list[str]:
    """Return the Latin surnames made of ROOTS and SUFFIXES."""
    return [root + suffix for root in ROOTS for suffix in SUFFIXES]


def synthetic_persons(count: int, seed: int) -> Iterator[Synthetic]:
    """Yield ``count`` persons. The first n are the same for every count >= n."""
    rng = random.Random(seed)
    rare = generated_surnames()
    # Common surnames follow a Zipf-like law, and rare ones are uniform.
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(SURNAMES))]
    for _ in range(count):
        known = rng.random() < 0.6
        if known:
            last, last_cyrillic = rng.choices(SURNAMES, weights)[0]
        else:
            last, last_cyrillic = rng.choice(rare), None
        female = rng.random() < 0.45
        father = rng.choice(MALE_NAMES)
        if female:
            first, first_cyrillic = rng.choice(FEMALE_NAMES)
            patronymic, patronymic_cyrillic = father[4], father[5]
        else:
            first, first_cyrillic = rng.choice(MALE_NAMES)[:2]
            patronymic, patronymic_cyrillic = father[2], father[3]
        if rng.random() < 0.5:
            patronymic = patronymic_cyrillic = None
        birth, birth_year = _birth(rng)
        second: str | None = None
        draw = rng.random()
        if known and draw < 0.2:
            second = "cyrillic"
        elif draw > 0.93:
            second = "alias"
        yield Synthetic(
            last=last,
            first=first,
            patronymic=patronymic,
            last_cyrillic=last_cyrillic,
            first_cyrillic=first_cyrillic,
            patronymic_cyrillic=patronymic_cyrillic,
            birth=birth,
            birth_year=birth_year,
            categories=tuple(rng.sample(CATEGORIES, rng.choice((1, 1, 1, 2)))),
            second=second,
            cyrillic_primary=known and second == "cyrillic" and rng.random() < 0.3,
        )


def _birth(rng: random.Random) -> tuple[str | None, int | None]:
    """Draw a birth date: unknown, year only, year and month, or whole."""
    draw = rng.random()
    if draw < 0.2:
        return None, None
    year = rng.randint(1950, 2015)
    if draw < 0.36:
        return f"{year}", year
    month = rng.randint(1, 12)
    if draw < 0.52:
        return f"{year}-{month:02d}", year
    return f"{year}-{month:02d}-{rng.randint(1, 28):02d}", year


def populate(database: Database, persons: list[Synthetic]) -> list[int]:
    """Record ``persons`` through the person service and return their ids in order."""
    ids: list[int] = []
    rng = random.Random(7)
    rare = generated_surnames()
    for start in range(0, len(persons), COMMIT_EVERY):
        with database.session() as session, session.begin():
            for person in persons[start : start + COMMIT_EVERY]:
                ids.append(_record(session, person, rng, rare))
        if (start // COMMIT_EVERY) % 10 == 9:
            say(f"  {start + COMMIT_EVERY:,} of {len(persons):,} persons recorded")
    return ids


def _record(
    session: Any, person: Synthetic, rng: random.Random, rare: list[str]
) -> int:
    latin = (person.last, person.first, person.patronymic)
    cyrillic = (person.last_cyrillic, person.first_cyrillic, person.patronymic_cyrillic)
    primary, other = (cyrillic, latin) if person.cyrillic_primary else (latin, cyrillic)
    recorded = create_person(
        session,
        PersonInput(
            last_name=str(primary[0]),
            first_name=primary[1] or "",
            patronymic=primary[2],
            birth_date=person.birth,
            categories=list(person.categories),
        ),
        caller=BENCH_CALLER,
    )
    if person.second == "cyrillic":
        add_name(
            session,
            recorded.id,
            str(other[0]),
            other[1] or "",
            other[2],
            kind="spelling",
            caller=BENCH_CALLER,
        )
    elif person.second == "alias":
        add_name(
            session, recorded.id, rng.choice(rare), person.first, caller=BENCH_CALLER
        )
    return recorded.id


# Queries


def strip_marks(value: str) -> str:
    """Return ``value`` without diacritics, as typed on a keyboard without them."""
    decomposed = unicodedata.normalize("NFD", value)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def build_queries(
    persons: list[Synthetic], ids: list[int], seed: int
) -> list[BenchQuery]:
    """Draw QUERY_COUNT queries from the first QUERY_POOL persons."""
    rng = random.Random(seed + 1)
    pool = list(range(min(len(persons), QUERY_POOL)))
    with_cyrillic = [index for index in pool if persons[index].last_cyrillic]
    makers: list[tuple[str, int, QueryMaker]] = [
        ("full name", 30, lambda p: (f"{p.last} {p.first}", p.last, None)),
        ("no diacritics", 15, lambda p: (strip_marks(f"{p.last} {p.first}"),
                                         strip_marks(p.last), None)),
        ("first name first", 15, lambda p: (f"{p.first} {p.last}", p.last, None)),
        ("cyrillic", 40, _cyrillic_query),
        ("prefix", 20, lambda p: (p.last[: rng.randint(2, 5)], p.last[:5], None)),
        ("name and initial", 20, lambda p: (
            f"{p.last} {p.first[: rng.randint(1, 3)]}", p.last, None)),
        ("with birth date", 40, lambda p: _birth_query(p, rng)),
        ("last name", 20, lambda p: (p.last, p.last, None)),
    ]  # fmt: skip
    queries: list[BenchQuery] = []
    for kind, count, make in makers:
        source = with_cyrillic if kind == "cyrillic" else pool
        for index in rng.sample(source, count):
            text_typed, last_typed, birth = make(persons[index])
            queries.append(
                BenchQuery(kind, PersonQuery(text_typed, birth), ids[index], last_typed)
            )
    assert len(queries) == QUERY_COUNT
    return queries


def _cyrillic_query(person: Synthetic) -> tuple[str, str, str | None]:
    words = [person.last_cyrillic or "", person.first_cyrillic]
    if person.patronymic_cyrillic:
        words.append(person.patronymic_cyrillic)
    return " ".join(words), person.last_cyrillic or "", None


def _birth_query(person: Synthetic, rng: random.Random) -> tuple[str, str, str | None]:
    birth = person.birth
    if birth is None or rng.random() < 0.5:
        year = person.birth_year or rng.randint(1950, 2015)
        birth = str(year)
    elif len(birth) == 10:
        year_text, month, day = birth.split("-")
        birth = f"{day}.{month}.{year_text}"
    return f"{person.last} {person.first}", person.last, birth


# Timing


def time_search(
    database: Database, queries: list[BenchQuery], rounds: int, search: SearchCall
) -> dict[str, Any]:
    """Time each query ``rounds`` times after one untimed round."""
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    by_kind: dict[str, list[float]] = {}
    found: dict[str, list[int]] = {}
    hit_counts: list[int] = []
    for round_number in range(rounds + 1):
        for item in queries:
            with database.session() as session:
                started = time.perf_counter()
                cpu_started = time.process_time()
                hits = search(session, item.query, caller=BENCH_CALLER)
                cpu_elapsed = time.process_time() - cpu_started
                elapsed = time.perf_counter() - started
            if round_number == 0:
                ranked = [hit.person_id for hit in hits]
                position = (
                    ranked.index(item.expected) + 1 if item.expected in ranked else 0
                )
                found.setdefault(item.kind, []).append(position)
                hit_counts.append(len(hits))
                continue
            seconds.append(elapsed)
            cpu_seconds.append(cpu_elapsed)
            by_kind.setdefault(item.kind, []).append(elapsed)
    return {
        "median_ms": percentile_ms(seconds, 50),
        "p95_ms": percentile_ms(seconds, 95),
        "max_ms": percentile_ms(seconds, 100),
        **cpu_summary(cpu_seconds),
        "by_kind": {
            kind: {
                "median_ms": percentile_ms(values, 50),
                "p95_ms": percentile_ms(values, 95),
                # Share of queries whose source person is among the hits
                # (at most 50), and the median rank when it is.
                "source_found": round(
                    sum(1 for rank in found[kind] if rank) / len(found[kind]), 2
                ),
                "median_rank": statistics.median(
                    [rank for rank in found[kind] if rank] or [0]
                ),
            }
            for kind, values in by_kind.items()
        },
        "mean_hits": round(statistics.fmean(hit_counts), 1),
        "timings": len(seconds),
    }


def time_baseline(
    database: Database, queries: list[BenchQuery], rounds: int
) -> dict[str, Any]:
    """Time the plain last-name SELECT the same way as the search."""
    statement = text("SELECT id, first_name FROM persons WHERE last_name = :x")
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    rows: list[int] = []
    for round_number in range(rounds + 1):
        for item in queries:
            with database.session() as session:
                started = time.perf_counter()
                cpu_started = time.process_time()
                result = session.execute(
                    statement, {"x": item.baseline_last_name}
                ).all()
                cpu_elapsed = time.process_time() - cpu_started
                elapsed = time.perf_counter() - started
            if round_number == 0:
                rows.append(len(result))
            else:
                seconds.append(elapsed)
                cpu_seconds.append(cpu_elapsed)
    return {
        "median_ms": percentile_ms(seconds, 50),
        "p95_ms": percentile_ms(seconds, 95),
        "max_ms": percentile_ms(seconds, 100),
        **cpu_summary(cpu_seconds),
        "mean_rows": round(statistics.fmean(rows), 1),
        "timings": len(seconds),
    }


def cpu_summary(cpu_seconds: list[float]) -> dict[str, float]:
    """Summarise this process's CPU time per query.

    On a busy machine wall time includes waiting for a core; CPU time does
    not. It includes SQLite, which runs in this process, but not the
    PostgreSQL server.
    """
    return {
        "cpu_median_ms": percentile_ms(cpu_seconds, 50),
        "cpu_p95_ms": percentile_ms(cpu_seconds, 95),
    }


def percentile_ms(seconds: list[float], share: float) -> float:
    """Return a percentile of durations in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    index = max(0, min(len(ordered) - 1, round(share / 100 * len(ordered)) - 1))
    return round(ordered[index] * 1e3, 2)


def run_backend(
    label: str, url: str, folder: Path, arguments: argparse.Namespace
) -> dict[str, Any]:
    """Record the persons in the database at ``url`` and time both lookups."""
    settings = Settings(data_dir=folder / "data", database_url=url)
    database = Database(settings)
    try:
        database.upgrade()
        persons = list(synthetic_persons(arguments.persons, arguments.seed))
        say(f"{label}: recording {len(persons):,} persons")
        started = time.perf_counter()
        ids = populate(database, persons)
        populate_seconds = time.perf_counter() - started
        with database.session() as session:
            names = session.execute(text("SELECT count(*) FROM person_names")).scalar()
            # PostgreSQL's autovacuum would gather statistics after such a
            # load; Scut never runs ANALYZE on SQLite, so neither does this.
            if database.engine.dialect.name == "postgresql":
                session.execute(text("ANALYZE persons"))
                session.execute(text("ANALYZE person_names"))
                session.execute(text("ANALYZE person_categories"))
            session.commit()
        queries = build_queries(persons, ids, arguments.seed)
        # The generated persons stay in memory but are no part of a Scut
        # process. Freezing them keeps the collector's full passes over
        # them out of the timings.
        gc.collect()
        gc.freeze()
        say(f"{label}: timing {len(queries)} queries x {arguments.rounds} rounds")
        search = time_search(database, queries, arguments.rounds, search_persons)
        core = time_search(database, queries, arguments.rounds, SEARCH_CORE)
        baseline = time_baseline(database, queries, arguments.rounds)
        if arguments.profile:
            name = f"search-profile-{label}-{arguments.persons}.txt"
            profile(database, queries, HERE / "results" / name)
        return {
            "backend": label,
            "server": server_version(database),
            "load_average_after": os.getloadavg(),
            "persons": len(persons),
            "person_names": names,
            "populate_seconds": round(populate_seconds, 1),
            "search": search,
            "search_without_access_check": core,
            "baseline": baseline,
            "ratio_median": round(search["median_ms"] / baseline["median_ms"], 1),
            "ratio_p95": round(search["p95_ms"] / baseline["p95_ms"], 1),
            "ratio_median_without_access_check": round(
                core["median_ms"] / baseline["median_ms"], 1
            ),
        }
    finally:
        database.dispose()


def profile(database: Database, queries: list[BenchQuery], path: Path) -> None:
    """Profile one round of the queries with pyinstrument and write the text report."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for item in queries:
        with database.session() as session:
            search_persons(session, item.query, caller=BENCH_CALLER)
    profiler.stop()
    path.write_text(profiler.output_text(unicode=True, show_all=False))
    say(f"profile written to {path}")


def server_version(database: Database) -> str:
    """Return the database server's version."""
    if database.engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with database.session() as session:
        return str(session.execute(text("SELECT version()")).scalar())


# Orchestration


def say(message: str) -> None:
    """Print a progress line with the time of day to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Describe the machine: CPU model and cores, memory, Python, load."""
    cpu = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(total / 1e9, 1),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


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
        "--rounds", type=int, default=3, help="timed rounds over the 200 queries"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile one round with pyinstrument (pip install pyinstrument)",
    )
    parser.add_argument(
        "--output", type=Path, help="JSON file (default bench/results/search-N.json)"
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
    output = arguments.output or HERE / "results" / f"search-{arguments.persons}.json"
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
    with tempfile.TemporaryDirectory(prefix="search-bench-") as temporary:
        for label, url in backends:
            folder = Path(temporary) / label
            run = run_backend(
                label, url or f"sqlite:///{folder / 'scut.db'}", folder, arguments
            )
            report["runs"].append(run)
            # Written after each backend, so a later failure keeps results.
            output.write_text(json.dumps(report, indent=2, default=str))
            search, baseline = run["search"], run["baseline"]
            core = run["search_without_access_check"]
            print(
                f"{label}, {run['persons']:,} persons: search median "
                f"{search['median_ms']} ms, p95 {search['p95_ms']} ms "
                f"(CPU {search['cpu_median_ms']} / {search['cpu_p95_ms']} ms); "
                f"without the access check and audit event {core['median_ms']} / "
                f"{core['p95_ms']} ms; last-name SELECT median "
                f"{baseline['median_ms']} ms, p95 {baseline['p95_ms']} ms; ratio "
                f"{run['ratio_median']} (median), {run['ratio_p95']} (p95); load "
                f"average {run['load_average_after'][0]:.1f} on {os.cpu_count()} cores"
            )
    print(f"written to {output}")


if __name__ == "__main__":
    main()
