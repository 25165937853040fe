"""Convicted-offender import at scale: speed, memory and linkage accuracy.

A fresh database (SQLite in a temporary directory, or an empty PostgreSQL
database named with ``--database-url``) is filled with synthetic persons,
each with a primary name and some with a second spelling in Cyrillic and
an IDNP. A synthetic list is then written as CSV, with one planted truth
per row:

- ``idnp``: a recorded person with their IDNP, named as recorded or in
  another spelling;
- ``spelling``: a recorded person with no IDNP, the same full birth date
  and a changed spelling (the Russian form in Cyrillic, the name without
  diacritics in capitals, a typo in the surname, or another form of the
  given name);
- ``new``: a person not recorded, half with an IDNP. Some of them come
  back in later rows with another conviction (``new-repeat``).
- ``invalid``: a row with a wrong IDNP check digit, which must be rejected.

The bench times ``import_convicted`` end to end and by stage, then the
re-import of the same file, which must change nothing. The baseline is
``read_convicted`` reading the same file alone, in the same run. Stage
times come from timers wrapped around the importer's private helpers, so
they follow that module's function names. Each time is given as wall
time and as this process's CPU time: on a busy machine the CPU time is
the better guide to the import's own cost, but on PostgreSQL it leaves
out the server's work. Peak memory is the process's peak resident set
size (VmHWM, reset before each stage where Linux allows it); on
PostgreSQL the server's memory is not included.

Run: ``.venv/bin/python bench/convicted_bench.py --help``. Results go to
bench/results/convicted-<backend>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import functools
import io
import json
import logging
import os
import platform
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from scut.convicted import importer
from scut.convicted.reader import read_convicted
from scut.db import models
from scut.db.session import Database
from scut.persons import service
from scut.security.caller import Caller
from scut.settings import Settings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# The analyst the bench acts as. Personal data needs a justification.
CALLER = Caller(
    user="bench",
    roles=frozenset({"analyst"}),
    source="bench",
    justification="convicted-import benchmark",
)
REGISTRY = "DTI MAI"
# Persons created per transaction while the database is filled.
FILL_BATCH = 1_000
# Tables an unchanged re-import must not add rows to.
PERSON_TABLES = (
    models.Conviction,
    models.ConvictionChange,
    models.LinkReview,
    models.Person,
    models.PersonName,
    models.PersonAddress,
    models.PersonCategory,
    models.PersonEvent,
)

# Synthetic name parts: common Moldovan surnames and given names.
SURNAMES = (
    "Ababii", "Apostol", "Arnaut", "Bălan", "Bejenari", "Bivol", "Bodrug",
    "Bostan", "Botnari", "Brînză", "Bulat", "Burlacu", "Buzu", "Caraman",
    "Cazac", "Cazacu", "Ceban", "Cebotari", "Cernei", "Chiriac", "Ciobanu",
    "Cîrlan", "Codreanu", "Cojocaru", "Costin", "Croitoru", "Cucu", "Dabija",
    "Dragan", "Dumbravă", "Ene", "Frunză", "Găină", "Gheorghiță", "Gîrbu",
    "Golban", "Grosu", "Guțu", "Harea", "Hîncu", "Iordache", "Istrati",
    "Jitaru", "Leahu", "Lungu", "Lupu", "Macovei", "Melnic", "Mereuță",
    "Mocanu", "Moraru", "Munteanu", "Negru", "Nistor", "Olaru", "Onică",
    "Pascari", "Pîrvu", "Plămădeală", "Popa", "Popescu", "Postolache",
    "Prodan", "Puiu", "Răileanu", "Rață", "Revenco", "Roșca", "Rotari",
    "Rusu", "Sârbu", "Scutaru", "Spînu", "Stratan", "Ștefăneț", "Tabac",
    "Tofan", "Țurcanu", "Ungureanu", "Ursu", "Vasilache", "Vrabie", "Zaharia",
)  # fmt: skip
MALE = (
    "Ion", "Vasile", "Gheorghe", "Nicolae", "Mihai", "Dumitru", "Petru",
    "Andrei", "Alexandru", "Serghei", "Victor", "Iurie", "Vladimir",
    "Valeriu", "Vitalie", "Igor", "Oleg", "Ruslan", "Constantin", "Anatolie",
    "Eugen", "Grigore", "Pavel", "Ilie",
)  # fmt: skip
FEMALE = (
    "Maria", "Elena", "Ana", "Natalia", "Tatiana", "Ecaterina", "Svetlana",
    "Olga", "Galina", "Valentina", "Ludmila", "Lilia", "Angela", "Cristina",
    "Doina", "Nadejda", "Irina", "Larisa", "Nina", "Aliona", "Oxana",
    "Veronica",
)  # fmt: skip
PLACES = (
    "mun. Chișinău", "mun. Bălți", "or. Orhei", "or. Soroca", "or. Cahul",
    "or. Ungheni", "or. Hîncești", "or. Edineț", "or. Comrat", "or. Strășeni",
    "s. Costești", "s. Țînțăreni", "or. Căușeni", "or. Drochia", "or. Florești",
)  # fmt: skip
STREETS = ("Ismail", "Păcii", "Independenței", "Ștefan cel Mare", "Trandafirilor")
ARTICLES = ("145 alin. (1)", "175 alin. (1)", "186 alin. (2) lit. b)", "208/1")
COURTS = ("Judecătoria Chișinău", "Judecătoria Bălți", "Judecătoria Cahul")

# Romanian letters and letter groups in the Russian form of a Moldovan
# name, longest first within each starting letter.
_TO_CYRILLIC = (
    ("chi", "ки"), ("che", "ке"), ("ghi", "ги"), ("ghe", "ге"),
    ("ce", "че"), ("ci", "чи"), ("ge", "дже"), ("gi", "джи"),
    ("ea", "я"), ("ia", "я"), ("iu", "ю"),
    ("a", "а"), ("ă", "э"), ("â", "ы"), ("b", "б"), ("c", "к"), ("d", "д"),
    ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"), ("î", "ы"),
    ("j", "ж"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
    ("r", "р"), ("s", "с"), ("ș", "ш"), ("t", "т"), ("ț", "ц"), ("u", "у"),
    ("v", "в"), ("x", "кс"), ("z", "з"),
)  # fmt: skip
VARIANTS = ("russian", "capitals", "typo", "given-name")

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Identity:
    """A synthetic person: as recorded, or as a list row names them."""

    last_name: str
    first_name: str
    patronymic: str | None
    birth: dt.date
    place: str | None
    idnp: str | None
    person_id: int | None = None


# Synthetic data


def with_check_digit(first_twelve: str) -> str:
    """Return the 13-digit IDNP: the digits weighted 7, 3, 1 ..., modulo 10."""
    weights = (7, 3, 1)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(first_twelve))
    return first_twelve + str(total % 10)


def synthetic_idnp(number: int) -> str:
    """Return a valid IDNP: 2, assigned in 2003, office 100 + number // 10^5."""
    office, sequence = divmod(number, 100_000)
    return with_check_digit(f"2003{100 + office:03d}{sequence:05d}")


def given_name_forms() -> dict[str, tuple[str, list[str]]]:
    """Map each given name to its Russian form and other Latin spellings.

    Read from the equivalence list shipped with scut.persons.
    """
    text = (resources.files("scut.persons") / "given_names.csv").read_text("utf-8")
    forms: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        names = [name.strip() for name in line.split(",")]
        cyrillic = [name for name in names if not name.isascii()]
        latin = [name for name in names[1:] if name.isascii()]
        forms[names[0]] = (cyrillic[0] if cyrillic else names[0], latin)
    return forms


def to_cyrillic(name: str) -> str:
    """Write a Romanian name in its Russian form, letter group by letter group."""
    lower = name.lower()
    out: list[str] = []
    index = 0
    while index < len(lower):
        for latin, cyrillic in _TO_CYRILLIC:
            if lower.startswith(latin, index):
                out.append(cyrillic)
                index += len(latin)
                break
        else:
            out.append(lower[index])
            index += 1
    return "".join(out).capitalize()


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def typo(name: str, rng: random.Random) -> str:
    """Swap two neighbouring letters after the first, or double one."""
    if len(name) > 3 and rng.random() < 0.5:
        at = rng.randrange(1, len(name) - 2)
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    at = rng.randrange(1, len(name))
    return name[:at] + name[at] + name[at:]


def variant(
    person: Identity,
    kind: str,
    forms: dict[str, tuple[str, list[str]]],
    rng: random.Random,
) -> tuple[str, str, str | None]:
    """Return the person's last, first and patronymic in a changed spelling."""
    russian, latin = forms.get(person.first_name, (person.first_name, []))
    if kind == "russian":
        return to_cyrillic(person.last_name), russian, None
    if kind == "capitals":
        return (
            strip_marks(person.last_name).upper(),
            strip_marks(person.first_name).upper(),
            person.patronymic,
        )
    if kind == "typo":
        return typo(person.last_name, rng), person.first_name, person.patronymic
    first = rng.choice(latin) if latin else person.first_name
    return person.last_name, first, person.patronymic


def random_identity(rng: random.Random, idnp: str | None) -> Identity:
    male = rng.random() < 0.8
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(55 * 365))
    return Identity(
        last_name=rng.choice(SURNAMES),
        first_name=rng.choice(MALE if male else FEMALE),
        patronymic=rng.choice(MALE) if rng.random() < 0.6 else None,
        birth=birth,
        place=rng.choice(PLACES) if rng.random() < 0.7 else None,
        idnp=idnp,
    )


def synthetic_persons(count: int, idnp_share: float, seed: int) -> list[Identity]:
    rng = random.Random(seed)
    return [
        random_identity(rng, synthetic_idnp(i) if rng.random() < idnp_share else None)
        for i in range(count)
    ]


# Database


def open_database(url: str | None, folder: Path) -> Database:
    """Return a migrated database: the one at ``url``, else SQLite in ``folder``."""
    settings = Settings(
        data_dir=folder / "data",
        database_url=url or f"sqlite:///{folder / 'scut.db'}",
    )
    database = Database(settings)
    database.upgrade()
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(models.Person)):
            raise SystemExit(f"the database at {url} is not empty; give an empty one")
    return database


def fill_persons(
    database: Database,
    persons: list[Identity],
    spelling_share: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Record the persons, some with a Cyrillic spelling, and time it."""
    forms = given_name_forms()
    started = time.perf_counter()
    spellings = 0
    for start in range(0, len(persons), FILL_BATCH):
        with database.session() as session, session.begin():
            for person in persons[start : start + FILL_BATCH]:
                person.person_id = record_person(session, person)
                if rng.random() < spelling_share:
                    last, first, _ = variant(person, "russian", forms, rng)
                    service.add_name(
                        session,
                        person.person_id,
                        last,
                        first,
                        kind="spelling",
                        caller=CALLER,
                    )
                    spellings += 1
    seconds = time.perf_counter() - started
    return {
        "persons": len(persons),
        "with_idnp": sum(1 for person in persons if person.idnp),
        "second_spellings": spellings,
        "seconds": round(seconds, 2),
        "persons_per_second": round(len(persons) / seconds, 1),
    }


def record_person(session: Session, person: Identity) -> int:
    created = service.create_person(
        session,
        service.PersonInput(
            last_name=person.last_name,
            first_name=person.first_name,
            patronymic=person.patronymic,
            categories=["victim" if person.birth.year > 2000 else "offender"],
            birth_date=person.birth.isoformat(),
            birth_place=person.place,
            idnp=person.idnp,
        ),
        caller=CALLER,
    )
    return created.id


def table_counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            or 0
            for model in PERSON_TABLES
        }


# The list and its planted truth


@dataclass(slots=True)
class Planted:
    """The planted truth of a list row: its kind, variant and person."""

    kind: str
    variant: str | None
    person_id: int | None
    # For new persons: the number of the synthetic person, shared by repeats.
    new_person: int | None = None


HEADER = (
    "record_id", "idnp", "last_name", "first_name", "patronymic",
    "birth_date", "birth_place", "address", "article", "court",
    "sentence_date", "release_date", "registry",
)  # fmt: skip


def write_list(
    path: Path,
    persons: list[Identity],
    arguments: argparse.Namespace,
    rng: random.Random,
) -> dict[str, Planted]:
    """Write the synthetic list as CSV and return the truth by record id."""
    forms = given_name_forms()
    with_idnp = [person for person in persons if person.idnp]
    new_people: list[Identity] = []
    truth: dict[str, Planted] = {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for number in range(arguments.rows):
            record_id = f"BENCH-{number:07d}"
            person, planted = list_row(arguments, persons, with_idnp, new_people, rng)
            names = (person.last_name, person.first_name, person.patronymic)
            changed = planted.kind == "spelling" or (
                planted.kind == "idnp" and rng.random() < 0.5
            )
            if changed:
                planted.variant = rng.choice(VARIANTS)
                names = variant(person, planted.variant, forms, rng)
            idnp = person.idnp if planted.kind != "spelling" else None
            if planted.kind == "invalid":
                valid = synthetic_idnp(900_000 + number)
                idnp = valid[:12] + str((int(valid[12]) + 1) % 10)
            writer.writerow(
                (
                    record_id,
                    idnp or "",
                    names[0],
                    names[1],
                    names[2] or "",
                    person.birth.strftime("%d.%m.%Y"),
                    person.place or "",
                    f"{rng.choice(PLACES)}, str. {rng.choice(STREETS)} "
                    f"{rng.randrange(1, 120)}",
                    rng.choice(ARTICLES),
                    rng.choice(COURTS),
                    f"{rng.randrange(1, 28):02d}.{rng.randrange(1, 13):02d}."
                    f"{rng.randrange(2005, 2025)}",
                    "",
                    REGISTRY,
                )
            )
            truth[record_id] = planted
    return truth


def list_row(
    arguments: argparse.Namespace,
    persons: list[Identity],
    with_idnp: list[Identity],
    new_people: list[Identity],
    rng: random.Random,
) -> tuple[Identity, Planted]:
    """Choose who the next row names, by the shares on the command line."""
    draw = rng.random()
    if draw < arguments.invalid_share:
        return random_identity(rng, None), Planted("invalid", None, None)
    draw -= arguments.invalid_share
    if draw < arguments.idnp_rows and with_idnp:
        person = rng.choice(with_idnp)
        return person, Planted("idnp", None, person.person_id)
    draw -= arguments.idnp_rows
    if draw < arguments.spelling_rows:
        person = rng.choice(persons)
        return person, Planted("spelling", None, person.person_id)
    if new_people and rng.random() < arguments.repeat_share:
        index = rng.randrange(len(new_people))
        return new_people[index], Planted("new-repeat", None, None, index)
    fresh = synthetic_idnp(500_000 + len(new_people)) if rng.random() < 0.5 else None
    new_people.append(random_identity(rng, fresh))
    return new_people[-1], Planted("new", None, None, len(new_people) - 1)


# Measurement


def memory_kb() -> dict[str, int]:
    """Return this process's resident set size and its peak, in kB."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0 and later); return success."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StageTimers:
    """Seconds spent in wrapped functions, summed by function name."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    @contextmanager
    def wrapped(self, module: Any, names: tuple[str, ...]) -> Iterator[None]:
        """Replace each named function of ``module`` with a timed one.

        A name the module lacks is skipped, so its stage reads as zero.
        """
        originals = {
            name: getattr(module, name) for name in names if hasattr(module, name)
        }
        for name, original in originals.items():
            setattr(module, name, self._timed(name, original))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(module, name, original)

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


@contextmanager
def statement_counter(database: Database) -> Iterator[Counter[str]]:
    """Count the SQL statements sent while the block runs."""
    counts: Counter[str] = Counter()

    def count(*_args: Any) -> None:
        counts["statements"] += 1

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def time_read(path: Path) -> dict[str, Any]:
    """Baseline: read and check every row of the file with read_convicted."""
    reset = reset_peak_rss()
    started = time.perf_counter()
    cpu = time.process_time()
    outcomes: Counter[str] = Counter()
    for item in read_convicted(path).rows:
        outcomes[type(item).__name__] += 1
    seconds = time.perf_counter() - started
    rows = sum(outcomes.values())
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "rows_per_second": round(rows / seconds, 1),
        "rows": dict(outcomes),
        "peak_rss_mb": round(memory_kb()["VmHWM"] / 1e3, 1) if reset else None,
    }


# Stages of the import, by the importer function that does each.
TIMED = (
    "_store",
    "_unstorable",
    "_link",
    "_existing_records",
    "score_pairs",
    "decide",
    "_attach",
    "_new_person",
    "_insert",
)


def time_import(
    database: Database, path: Path, profile: Path | None
) -> tuple[dict[str, Any], importer.ImportReport]:
    """Import the file in one transaction, with stage timers, and commit."""
    timers = StageTimers()
    reset = reset_peak_rss()
    profiler = cProfile.Profile() if profile else None

    with (
        statement_counter(database) as statements,
        timers.wrapped(importer, TIMED),
        database.session() as session,
    ):
        started = time.perf_counter()
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        with session.begin():
            report = importer.import_convicted(session, path, caller=CALLER)
            committing = time.perf_counter()
        if profiler:
            profiler.disable()
        finished = time.perf_counter()
        cpu = time.process_time() - cpu

    total = finished - started
    link = timers.seconds["_link"]
    scoring = timers.seconds["score_pairs"] + timers.seconds["decide"]
    loading = timers.seconds["_existing_records"]
    reading = committing - started - link - timers.seconds["_insert"]
    stages = {
        "read and check rows, look up stored convictions": reading,
        "  of which looking up and updating (_store)": timers.seconds["_store"],
        "load recorded spellings": loading,
        "Splink scoring and decisions": scoring,
        "link and record persons": link - loading - scoring,
        "  of which new persons": timers.seconds["_new_person"],
        "insert new convictions and reviews": timers.seconds["_insert"],
        "commit": finished - committing,
    }
    if profiler and profile:
        write_profile(profiler, profile)

    result = {
        "seconds": round(total, 2),
        "rows_per_second": round(report.rows / total, 1),
        "cpu_seconds": round(cpu, 2),
        "stages_seconds": {name: round(value, 2) for name, value in stages.items()},
        "calls": dict(timers.calls),
        "sql_statements": statements["statements"],
        "counts": report.counts(),
        "peak_rss_mb": round(memory_kb()["VmHWM"] / 1e3, 1) if reset else None,
    }
    return result, report


def write_profile(profiler: cProfile.Profile, path: Path) -> None:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(60)
    path.write_text(text.getvalue())
    say(f"profile written to {path}")


def accuracy(database: Database, truth: dict[str, Planted]) -> dict[str, Any]:
    """Compare each row's link with its planted truth, by kind and variant."""
    with database.session() as session:
        links = {
            record_id: (person_id, link)
            for record_id, person_id, link in session.execute(
                select(
                    models.Conviction.record_id,
                    models.Conviction.person_id,
                    models.Conviction.link,
                )
            )
        }
        review_pairs = {
            (record_id, person_id)
            for record_id, person_id in session.execute(
                select(models.Conviction.record_id, models.LinkReview.person_id).join(
                    models.LinkReview,
                    models.LinkReview.conviction_id == models.Conviction.id,
                )
            )
        }
    outcomes: dict[str, Counter[str]] = {}
    first_of_new: dict[int, int | None] = {}
    for record_id, planted in truth.items():
        label = planted.kind + (f" ({planted.variant})" if planted.variant else "")
        outcome = outcome_of(
            planted, links.get(record_id), record_id, review_pairs, first_of_new
        )
        outcomes.setdefault(label, Counter())[outcome] += 1
    by_label = {
        label: {
            "rows": sum(counter.values()),
            **{name: counter[name] for name in sorted(counter)},
        }
        for label, counter in sorted(outcomes.items())
    }
    return {
        "same person, by IDNP": shares(outcomes, "idnp"),
        "same person, changed spelling, no IDNP": shares(outcomes, "spelling"),
        "new persons": shares(outcomes, "new"),
        "by kind and variant": by_label,
    }


# Outcomes summed in the summary, by the start of their names.
SAME_PERSON_GROUPS = {
    "linked right": ("linked right",),
    "linked wrong": ("linked wrong",),
    "review": ("review",),
    "new person (missed)": ("new person",),
}
NEW_PERSON_GROUPS = {
    "new person (right)": ("new person",),
    "linked to a recorded person": ("linked (",),
    "review": ("review",),
}


def shares(outcomes: dict[str, Counter[str]], kind: str) -> dict[str, Any]:
    """Sum the outcomes of one planted kind into shares of its rows."""
    total: Counter[str] = Counter()
    for label, counter in outcomes.items():
        if label.split(" ")[0] == kind:
            total.update(counter)
    rows = sum(total.values())
    groups = NEW_PERSON_GROUPS if kind == "new" else SAME_PERSON_GROUPS
    result: dict[str, Any] = {"rows": rows}
    for name, prefixes in groups.items():
        count = sum(n for outcome, n in total.items() if outcome.startswith(prefixes))
        result[name] = round(count / rows, 4) if rows else None
    return result


def outcome_of(
    planted: Planted,
    stored: tuple[int | None, str] | None,
    record_id: str,
    review_pairs: set[tuple[str, int]],
    first_of_new: dict[int, int | None],
) -> str:
    """Name what happened to one row, judged against its planted truth."""
    if planted.kind == "invalid":
        return "rejected" if stored is None else "stored (wrong)"
    if stored is None:
        return "missing (wrong)"
    person_id, link = stored
    if planted.kind in ("idnp", "spelling"):
        if person_id == planted.person_id:
            return f"linked right ({link})"
        if link == "review":
            right = (record_id, planted.person_id) in review_pairs
            return "review, right person listed" if right else "review, not listed"
        if link == "new-person":
            return "new person (missed)"
        return f"linked wrong ({link})"
    assert planted.new_person is not None
    if link == "review":
        return "review"
    if planted.kind == "new":
        first_of_new[planted.new_person] = person_id
        return "new person (right)" if link == "new-person" else f"linked ({link})"
    earlier = first_of_new.get(planted.new_person)
    if earlier is not None and earlier == person_id:
        return f"same person as earlier row (right, {link})"
    return f"other person than earlier row ({link})"


def time_reimport(database: Database, path: Path) -> dict[str, Any]:
    """Import the same file again; every table but the import log must stay."""
    before = table_counts(database)
    reset = reset_peak_rss()
    started = time.perf_counter()
    cpu = time.process_time()
    with database.session() as session, session.begin():
        report = importer.import_convicted(session, path, caller=CALLER)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = table_counts(database)
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_second": round(report.rows / seconds, 1),
        "counts": report.counts(),
        "tables_unchanged": after == before,
        "table_rows_added": {
            name: after[name] - before[name]
            for name in before
            if after[name] != before[name]
        },
        "peak_rss_mb": round(memory_kb()["VmHWM"] / 1e3, 1) if reset else None,
    }


def machine(database: Database) -> dict[str, Any]:
    """Describe the machine, the versions and the database server."""
    cpu = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    with database.session() as session:
        backend = database.engine.dialect.name
        server = (
            session.scalar(select(func.version()))
            if backend == "postgresql"
            else sqlite3.sqlite_version
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(total / 1e9, 1),
        "python": platform.python_version(),
        "database": backend,
        "server": server,
        **{
            package: metadata.version(package)
            for package in ("splink", "duckdb", "sqlalchemy")
        },
        "load_average": os.getloadavg(),
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--persons", type=int, default=10_000, help="recorded persons (default 10,000)"
    )
    parser.add_argument(
        "--rows", type=int, default=10_000, help="rows of the list (default 10,000)"
    )
    parser.add_argument(
        "--idnp-share",
        type=float,
        default=0.6,
        help="share of recorded persons with an IDNP",
    )
    parser.add_argument(
        "--spelling-share",
        type=float,
        default=0.3,
        help="share of recorded persons with a second spelling in Cyrillic",
    )
    parser.add_argument(
        "--idnp-rows",
        type=float,
        default=0.3,
        help="share of list rows naming a recorded person by IDNP",
    )
    parser.add_argument(
        "--spelling-rows",
        type=float,
        default=0.3,
        help="share of list rows naming a recorded person in another "
        "spelling, without IDNP",
    )
    parser.add_argument(
        "--invalid-share",
        type=float,
        default=0.01,
        help="share of list rows with a wrong IDNP check digit",
    )
    parser.add_argument(
        "--repeat-share",
        type=float,
        default=0.1,
        help="share of the new-person rows that repeat an earlier new person",
    )
    parser.add_argument(
        "--database-url",
        help="an empty PostgreSQL database to use instead of a new SQLite file",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the first import with cProfile; the 60 costliest calls go "
        "to bench/results/convicted-profile-<backend>.txt",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="JSON file for the results (default "
        "bench/results/convicted-<backend>.json)",
    )
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.WARNING)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="convicted-bench-") as folder:
        work = Path(folder)
        database = open_database(arguments.database_url, work)
        backend = database.engine.dialect.name
        output = arguments.output or RESULTS / f"convicted-{backend}.json"
        report: dict[str, Any] = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(database),
            "arguments": {
                key: value
                for key, value in vars(arguments).items()
                if key not in ("output", "database_url")
            },
        }
        say(f"recording {arguments.persons} persons on {backend}")
        # Three random streams: with one, the new persons of the list would
        # repeat the draws that made the recorded ones.
        persons = synthetic_persons(
            arguments.persons, arguments.idnp_share, arguments.seed
        )
        spelling_rng = random.Random(arguments.seed + 1)
        report["fill"] = fill_persons(
            database, persons, arguments.spelling_share, spelling_rng
        )
        say(f"filled in {report['fill']['seconds']} s; writing the list")
        path = work / "convicted.csv"
        truth = write_list(path, persons, arguments, random.Random(arguments.seed + 2))
        report["list"] = {
            "rows": len(truth),
            "file_mb": round(path.stat().st_size / 1e6, 2),
            "planted": dict(Counter(planted.kind for planted in truth.values())),
        }

        report["read_baseline"] = time_read(path)
        say(f"read alone: {report['read_baseline']['seconds']} s")
        profile = RESULTS / f"convicted-profile-{backend}.txt"
        report["import"], _ = time_import(
            database, path, profile if arguments.profile else None
        )
        report["import"]["times_read_alone"] = round(
            report["import"]["seconds"] / report["read_baseline"]["seconds"], 1
        )
        say(f"import: {report['import']['seconds']} s")
        report["accuracy"] = accuracy(database, truth)
        report["reimport"] = time_reimport(database, path)
        say(f"re-import: {report['reimport']['seconds']} s")
        report["load_average_after"] = os.getloadavg()
        database.dispose()
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"written to {output}")


if __name__ == "__main__":
    main()
