"""Person search on real SQLite and PostgreSQL databases.

Every person here is synthetic and is recorded through the person service,
so the stored spellings and keys are the ones production code writes.
"""

from collections.abc import Sequence

import pytest
from sqlalchemy.orm import Session

from records_helpers import analyst
from scut.db.session import Database
from scut.persons import search
from scut.persons.search import (
    InvalidQuery,
    PersonQuery,
    SearchHit,
    search_persons,
)
from scut.persons.service import PersonInput, add_name, create_person, update_person

ANALYST = analyst("ana")
VALID_IDNP = "2002042123459"
OTHER_IDNP = "2003045678902"
# VALID_IDNP with its check digit changed from 9 to 8.
WRONG_CHECK_DIGIT = "2002042123458"


def _person(
    session: Session,
    last_name: str,
    first_name: str,
    patronymic: str | None = None,
    *,
    birth_date: str | None = None,
    idnp: str | None = None,
    categories: Sequence[str] = ("victim",),
) -> int:
    person = create_person(
        session,
        PersonInput(
            last_name=last_name,
            first_name=first_name,
            patronymic=patronymic,
            birth_date=birth_date,
            idnp=idnp,
            categories=list(categories),
        ),
        caller=ANALYST,
    )
    return person.id


def _hits(session: Session, text: str, **fields: str) -> list[SearchHit]:
    return search_persons(session, PersonQuery(text=text, **fields), caller=ANALYST)


def _found(session: Session, text: str, **fields: str) -> list[int]:
    return [hit.person_id for hit in _hits(session, text, **fields)]


# Case, diacritics and Romanian letters


def test_search_ignores_case(database: Database) -> None:
    with database.session() as session, session.begin():
        ceban = _person(session, "Ceban", "Ion")
        for typed in ("ceban ion", "CEBAN ION", "cEbAn IoN", "Ceban"):
            assert _found(session, typed) == [ceban], typed


def test_search_with_and_without_diacritics(database: Database) -> None:
    with database.session() as session, session.begin():
        stefans = {
            _person(session, "Rusu", stored)
            for stored in ("Ștefan", "Stefan", "STEFAN", "Ştefan", "ștefan")
        }
        _person(session, "Rusu", "Maria")
        _person(session, "Rusu", "Stela")
        for typed in ("Ștefan", "Stefan", "STEFAN", "ștefan", "Ştefan", "ŞTEFAN"):
            assert set(_found(session, f"Rusu {typed}")) == stefans, typed


def test_search_comma_below_and_cedilla(database: Database) -> None:
    with database.session() as session, session.begin():
        comma = _person(session, "Țurcan", "Ștefan")
        cedilla = _person(session, "Ţurcan", "Ştefan")
        _person(session, "Turcu", "Ștefan")
        for typed in ("Țurcan Ștefan", "Ţurcan Ştefan", "Ţurcan Ștefan", "TURCAN"):
            hits = _hits(session, typed)
            assert {hit.person_id for hit in hits} == {comma, cedilla}, typed
            assert hits[0].how[0] == "last exact", typed
        # The record keeps comma-below letters whatever was typed.
        hits = _hits(session, "Turcan Stefan")
        assert [hit.name for hit in hits] == ["Țurcan Ștefan", "Țurcan Ștefan"]
        assert {hit.matched for hit in hits} == {"Ţurcan Ştefan", "Țurcan Ștefan"}


def test_search_folds_a_breve_circumflex_and_i(database: Database) -> None:
    with database.session() as session, session.begin():
        cirlans = {
            _person(session, stored, "Ion") for stored in ("Cîrlan", "Cârlan", "Carlan")
        }
        _person(session, "Cerlan", "Ion")
        for typed in ("Cîrlan", "Cârlan", "Carlan", "CÎRLAN", "Cărlan", "cârlan"):
            hits = _hits(session, typed)
            assert {hit.person_id for hit in hits} == cirlans, typed
            assert {tuple(hit.how) for hit in hits} == {("last exact",)}, typed


# Cyrillic and Russian given names


def test_cyrillic_query_finds_latin_record(database: Database) -> None:
    with database.session() as session, session.begin():
        cirlan = _person(session, "Cîrlan", "Ion")
        ceban = _person(session, "Ceban", "Vasile")
        turcan = _person(session, "Țurcan", "Gheorghe")
        munteanu = _person(session, "Munteanu", "Maria")
        _person(session, "Lupu", "Ion")
        expected = {
            "Кирлан Иван": cirlan,
            "Чебан": ceban,
            "Чебан Василий": ceban,
            "Цуркан": turcan,
            "Цуркан Георгий": turcan,
            "Мунтяну Мария": munteanu,
        }
        for typed, wanted in expected.items():
            assert _found(session, typed) == [wanted], typed


def test_latin_query_finds_cyrillic_record(database: Database) -> None:
    with database.session() as session, session.begin():
        recorded_in_cyrillic = _person(session, "Мунтяну", "Иван", "Петрович")
        _person(session, "Lupu", "Ion")
        assert _found(session, "Munteanu") == [recorded_in_cyrillic]
        assert _found(session, "Munteanu Ion") == [recorded_in_cyrillic]
        assert _found(session, "Munteanu Ion Petrovici") == [recorded_in_cyrillic]


def test_cyrillic_spelling_added_to_latin_record(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(session, "Sîrbu", "Vasile")
        add_name(session, person, "Сырбу", "Василий", kind="spelling", caller=ANALYST)
        hits = _hits(session, "Сырбу Василий")
        assert [hit.person_id for hit in hits] == [person]
        assert hits[0].matched == "Сырбу Василий"
        assert hits[0].name == "Sîrbu Vasile"


def test_loose_key_joins_cyrillic_k_and_i(database: Database) -> None:
    # Кирлан transliterates to "Chirlan"; only the loose key joins it to Cîrlan.
    with database.session() as session, session.begin():
        cirlan = _person(session, "Cîrlan", "Ion")
        hits = _hits(session, "Кирлан Иван")
        assert [hit.person_id for hit in hits] == [cirlan]
        assert hits[0].how == ["last loose", "first given-name group"]


def test_russian_given_names_match_romanian(database: Database) -> None:
    pairs = [("Ion", "Иван"), ("Vasile", "Василий"), ("Gheorghe", "Георгий")]
    with database.session() as session, session.begin():
        _person(session, "Rusu", "Maria")
        _person(session, "Русу", "Мария")
        for romanian, russian in pairs:
            latin = _person(session, "Rusu", romanian)
            cyrillic = _person(session, "Русу", russian)
            for typed in (f"Rusu {russian}", f"Rusu {romanian}", f"Русу {russian}"):
                assert set(_found(session, typed)) == {latin, cyrillic}, typed
            hits = _hits(session, f"Rusu {russian}")
            assert hits[0].person_id == cyrillic
            assert hits[0].how == ["last exact", "first exact"]
            assert hits[1].how == ["last exact", "first given-name group"]


# Word order and patronymic


def test_search_words_in_any_order(database: Database) -> None:
    with database.session() as session, session.begin():
        cirlan = _person(session, "Cîrlan", "Ion", "Petrovici")
        for typed in (
            "Cîrlan Ion",
            "Ion Cîrlan",
            "ion cirlan",
            "Ion Petrovici Cîrlan",
            "Cîrlan Petrovici Ion",
        ):
            assert _found(session, typed) == [cirlan], typed


def test_second_word_must_match_first_name(database: Database) -> None:
    # Neither record has a patronymic, so "Ion" must not be read as one.
    with database.session() as session, session.begin():
        ion = _person(session, "Cîrlan", "Ion")
        _person(session, "Cîrlan", "Maria")
        assert _found(session, "Cîrlan Ion") == [ion]
        assert _found(session, "Ion Cîrlan") == [ion]


def test_patronymic_optional_on_both_sides(database: Database) -> None:
    with database.session() as session, session.begin():
        without = _person(session, "Cîrlan", "Ion")
        with_patronymic = _person(session, "Cîrlan", "Ion", "Petrovici")
        both = sorted([without, with_patronymic])

        assert sorted(_found(session, "Cîrlan Ion")) == both
        assert sorted(_found(session, "Cîrlan Ion Petrovici")) == both
        assert sorted(_found(session, "Кирлан Иван Петрович")) == both
        # The record that has the typed patronymic ranks first.
        assert _found(session, "Cîrlan Ion Petrovici")[0] == with_patronymic


def test_wrong_patronymic_excludes(database: Database) -> None:
    with database.session() as session, session.begin():
        without = _person(session, "Cîrlan", "Ion")
        _person(session, "Cîrlan", "Ion", "Petrovici")
        assert _found(session, "Cîrlan Ion Vasilievici") == [without]
        assert _found(session, "Ion Vasilievici Cîrlan") == [without]


def test_patronymic_alone_with_last_name(database: Database) -> None:
    with database.session() as session, session.begin():
        with_patronymic = _person(session, "Cîrlan", "Ion", "Petrovici")
        _person(session, "Cîrlan", "Ion")
        _person(session, "Cîrlan", "Ion", "Vasilievici")
        assert _found(session, "Cîrlan Petrovici") == [with_patronymic]


def test_lone_word_is_not_read_as_patronymic(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Cîrlan", "Ion", "Petrovici")
        _person(session, "Ceban", "Maria")
        assert _found(session, "Petrovici") == []
        assert _found(session, "Zamfir") == []


# Typing


def test_prefix_while_typing(database: Database) -> None:
    with database.session() as session, session.begin():
        cirlan = _person(session, "Cîrlan", "Ion")
        _person(session, "Ceban", "Ion")
        for typed in ("Cîrl", "Cârl", "Carl", "CIRL", "Ca", "Кирл", "Кирла"):
            hits = _hits(session, typed)
            assert [hit.person_id for hit in hits] == [cirlan], typed
            assert hits[0].how[0].startswith("last"), typed


def test_one_letter_is_too_short(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Cîrlan", "Ion")
        for typed in ("C", "c", "Ш", "Î", "C I", "9"):
            with pytest.raises(InvalidQuery, match="at least 2 letters"):
                _hits(session, typed)


def test_prefix_of_first_name_while_typing(database: Database) -> None:
    with database.session() as session, session.begin():
        ion = _person(session, "Cîrlan", "Ion", "Petrovici")
        _person(session, "Cîrlan", "Maria")
        for typed in ("Cîrlan I", "Cîrlan Io", "Cîrlan Ion P", "Cîrlan Ion Pe"):
            assert _found(session, typed) == [ion], typed


def test_first_name_prefix_alone(database: Database) -> None:
    with database.session() as session, session.begin():
        vasile = _person(session, "Ceban", "Vasile")
        _person(session, "Lupu", "Maria")
        hits = _hits(session, "Vasi")
        assert [hit.person_id for hit in hits] == [vasile]
        assert hits[0].how == ["first prefix"]


# Birth dates


def test_partial_birth_dates(database: Database) -> None:
    expected = {
        "1979": {"full", "year", "month", "unknown"},
        "1979-03": {"full", "year", "month", "unknown"},
        "03.1979": {"full", "year", "month", "unknown"},
        "12.03.1979": {"full", "year", "month", "unknown"},
        "1979-03-12": {"full", "year", "month", "unknown"},
        "13.03.1979": {"year", "month", "unknown"},
        "1979-04": {"year", "unknown"},
        "1981": {"other", "unknown"},
        "1980": {"unknown"},
    }
    with database.session() as session, session.begin():
        people = {
            "full": _person(session, "Ceban", "Ion", birth_date="1979-03-12"),
            "month": _person(session, "Ceban", "Ion", birth_date="03.1979"),
            "year": _person(session, "Ceban", "Ion", birth_date="1979"),
            "other": _person(session, "Ceban", "Ion", birth_date="1981-05-02"),
            "unknown": _person(session, "Ceban", "Ion"),
        }
        for typed, labels in expected.items():
            found = set(_found(session, "Ceban Ion", birth_date=typed))
            assert found == {people[label] for label in labels}, typed


def test_known_birth_date_ranks_above_unknown(database: Database) -> None:
    with database.session() as session, session.begin():
        unknown = _person(session, "Ceban", "Ion")
        known = _person(session, "Ceban", "Ion", birth_date="1979")
        hits = _hits(session, "Ceban Ion", birth_date="12.03.1979")
        assert [hit.person_id for hit in hits] == [known, unknown]
        assert hits[0].birth_date == "1979"
        assert hits[1].birth_date is None


def test_invalid_birth_date_raises(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Ceban", "Ion")
        for typed in ("1979-13", "31.02.1979", "1800", "3000", "yesterday"):
            with pytest.raises(InvalidQuery, match="invalid date"):
                _hits(session, "Ceban", birth_date=typed)


def test_limit_keeps_best_after_birth_bonus(database: Database) -> None:
    # Without the date, the exact first name ranks first. The known birth
    # date lifts the given-name-group match above it.
    with database.session() as session, session.begin():
        _person(session, "Ceban", "Ion")
        ioan = _person(session, "Ceban", "Ioan", birth_date="1979")
        query = PersonQuery(text="Ceban Ion", birth_date="1979")
        every = search_persons(session, query, caller=ANALYST)
        first = search_persons(session, query, limit=1, caller=ANALYST)
        assert every[0].person_id == ioan
        assert [hit.person_id for hit in first] == [ioan]


# IDNP


def test_idnp_finds_person(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(session, "Lupu", "Ana", idnp=VALID_IDNP)
        _person(session, "Lupu", "Ana", idnp=OTHER_IDNP)
        for typed in (VALID_IDNP, "2002 042 12345 9", f" {VALID_IDNP} "):
            hits = _hits(session, "", idnp=typed)
            assert [hit.person_id for hit in hits] == [person], typed
            assert hits[0].how == ["idnp"]


def test_idnp_with_matching_name(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(session, "Lupu", "Ana", idnp=VALID_IDNP)
        for typed in ("Lupu", "Lupu Ana", "Ана Лупу", "Lu"):
            assert _found(session, typed, idnp=VALID_IDNP) == [person], typed


def test_idnp_with_other_name_finds_nothing(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Lupu", "Ana", idnp=VALID_IDNP)
        for typed in ("Ceban", "Ceban Ana", "Zamfir", "Elena", "Lupu Maria"):
            assert _found(session, typed, idnp=VALID_IDNP) == [], typed


def test_invalid_idnp_raises(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Lupu", "Ana", idnp=VALID_IDNP)
        with pytest.raises(InvalidQuery, match="check digit"):
            _hits(session, "", idnp=WRONG_CHECK_DIGIT)
        with pytest.raises(InvalidQuery, match="13"):
            _hits(session, "Lupu", idnp="20020421234")


def test_unknown_idnp_finds_nothing(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Lupu", "Ana", idnp=VALID_IDNP)
        assert _found(session, "", idnp=OTHER_IDNP) == []


def test_idnp_respects_birth_date_and_category(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(
            session, "Lupu", "Ana", idnp=VALID_IDNP, birth_date="1990-05-17"
        )
        assert _found(session, "", idnp=VALID_IDNP, birth_date="1990") == [person]
        assert _found(session, "", idnp=VALID_IDNP, birth_date="1991") == []
        assert _found(session, "", idnp=VALID_IDNP, category="offender") == []


# Categories


def test_category_filter(database: Database) -> None:
    with database.session() as session, session.begin():
        victim = _person(session, "Rusu", "Elena")
        offender = _person(session, "Rusu", "Elena", categories=["offender"])
        both = _person(session, "Rusu", "Elena", categories=["victim", "convicted"])
        assert sorted(_found(session, "Rusu Elena", category="victim")) == sorted(
            [victim, both]
        )
        assert _found(session, "Rusu Elena", category="offender") == [offender]
        assert _found(session, "Rusu Elena", category="witness") == []
        hits = _hits(session, "Rusu Elena", category="convicted")
        assert hits[0].categories == ["convicted", "victim"]


def test_unknown_category_raises(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Rusu", "Elena")
        with pytest.raises(InvalidQuery, match="unknown category 'hero'"):
            _hits(session, "Rusu", category="hero")


# Aliases and old names


def test_old_name_still_finds_person(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(session, "Cojocaru", "Elena")
        update_person(session, person, {"last_name": "Moraru"}, caller=ANALYST)
        for typed in ("Cojocaru Elena", "Moraru Elena", "Кожокару"):
            hits = _hits(session, typed)
            assert [hit.person_id for hit in hits] == [person], typed
            assert hits[0].name == "Moraru Elena"
        assert _hits(session, "Cojocaru")[0].matched == "Cojocaru Elena"


def test_alias_finds_person(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(session, "Ceban", "Victor")
        add_name(session, person, "Lupu", "Vitea", caller=ANALYST)
        hits = _hits(session, "Lupu Vitea")
        assert [hit.person_id for hit in hits] == [person]
        assert hits[0].matched == "Lupu Vitea"


def test_primary_name_ranks_above_alias(database: Database) -> None:
    with database.session() as session, session.begin():
        alias_holder = _person(session, "Ceban", "Victor")
        add_name(session, alias_holder, "Lupu", "Ion", caller=ANALYST)
        primary_holder = _person(session, "Lupu", "Ion")
        assert _found(session, "Lupu Ion") == [primary_holder, alias_holder]


# Compound names


def test_compound_last_and_first_names(database: Database) -> None:
    with database.session() as session, session.begin():
        person = _person(session, "Cîrlan-Munteanu", "Ana Maria", "Ivanovna")
        maria = _person(session, "Cîrlan", "Maria")
        for typed in (
            "Cîrlan-Munteanu Ana-Maria",
            "Cîrlan Munteanu Ana Maria Ivanovna",
            "Cîrlan-Munteanu Ana",
            "Cîrlan Ana Maria",
            "Ana Cîrlan-Munteanu",
        ):
            assert _found(session, typed) == [person], typed
        # Both match; the name with no words left over ranks first.
        assert _found(session, "Cîrlan Maria") == [maria, person]


# Ranking


def test_exact_above_loose_above_prefix(database: Database) -> None:
    with database.session() as session, session.begin():
        prefix = _person(session, "Cîrlanu", "Ion")
        loose = _person(session, "Кирлан", "Ion")
        exact = _person(session, "Cîrlan", "Ion")
        hits = _hits(session, "Cîrlan")
        assert [hit.person_id for hit in hits] == [exact, loose, prefix]
        assert [hit.how for hit in hits] == [
            ["last exact"],
            ["last loose"],
            ["last prefix"],
        ]
        assert hits[0].score > hits[1].score > hits[2].score


def test_exact_first_name_above_group(database: Database) -> None:
    with database.session() as session, session.begin():
        group = _person(session, "Ceban", "Ivan")
        exact = _person(session, "Ceban", "Ion")
        prefix = _person(session, "Ceban", "Ionel")
        assert _found(session, "Ceban Ion") == [exact, group, prefix]


def test_candidate_cap_keeps_exact_matches(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session() as session, session.begin():
        longer = [
            _person(session, last_name, "Ion")
            for last_name in ("Cîrlanu", "Cîrlanean", "Cîrlanescu", "Cîrlaneț")
        ]
        exact = _person(session, "Cîrlan", "Ion")
        assert len(_found(session, "Cîrlan")) == 5
        monkeypatch.setattr(search, "MAX_CANDIDATES", 3)
        found = _found(session, "Cîrlan")
        assert len(found) == 3
        assert found[0] == exact
        assert set(found[1:]) <= set(longer)


def test_limit_cuts_results(database: Database) -> None:
    with database.session() as session, session.begin():
        for first_name in ("Ion", "Ioan", "Ivan"):
            _person(session, "Ceban", first_name)
        query = PersonQuery("Ceban")
        assert len(search_persons(session, query, limit=2, caller=ANALYST)) == 2
        with pytest.raises(InvalidQuery, match="limit"):
            search_persons(session, query, limit=0, caller=ANALYST)


# Invalid and hostile queries


def test_empty_query_raises(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Ceban", "Ion")
        for typed in ("", "   ", "\t\n", "!!!", "-- ; '", "\x00\x07"):
            with pytest.raises(InvalidQuery, match="type a name"):
                _hits(session, typed)


HOSTILE = [
    "%",
    "%%",
    "_",
    "__",
    "%an",
    "%rlan",
    "C%",
    "C_rlan",
    "Ce_an",
    "_eban",
    "%' OR '1'='1",
    "'; DROP TABLE persons; --",
    "\x00Ceb\x00an%",
    "\x1b[31mCe\x1b[0m%",
    "\u202eCeb%",
    "\ud800Ce%",
    "a" * 10_000,
    "Ceban " * 2_000,
    "%" * 10_000,
    "_ " * 5_000,
    "Ce" + "\u0301" * 10_000,
    "🙂" * 100,
    "٣٤٥٦",
    "Ceban Ion Ion Ion Ion Ion Ion",
]


def test_hostile_query_matches_no_one_unexpected(database: Database) -> None:
    with database.session() as session, session.begin():
        ceban = _person(session, "Ceban", "Ion")
        cirlan = _person(session, "Cîrlan", "Elena")
        for typed in HOSTILE:
            shown = ascii(typed[:40])
            try:
                found = set(_found(session, typed))
            except InvalidQuery:
                continue
            assert found != {ceban, cirlan}, shown
            # % and _ are not wildcards: at most the letters typed match.
            if "%" in typed or "_" in typed:
                assert cirlan not in found, shown


def test_wildcards_alone_find_nothing(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Ca", "Ion")
        _person(session, "Ceban", "Ion")
        for typed in ("%", "_", "%%%", "C_", "_a", "%a", "C_ban", "%eban", "Ce_an"):
            try:
                found = _found(session, typed)
            except InvalidQuery:
                continue
            assert found == [], typed


def test_hostile_idnp_raises_invalid_query(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Lupu", "Ana", idnp=VALID_IDNP)
        for idnp in ("\x00", "2" * 10_000, "%", f"{VALID_IDNP}%", "٢٠٠٢٠٤٢١٢٣٤٥٩"):
            with pytest.raises(InvalidQuery, match="invalid IDNP"):
                _hits(session, "", idnp=idnp)


def test_hostile_birth_date_raises_invalid_query(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Lupu", "Ana")
        for birth_date in ("\x00", "1" * 10_000, "%", "1979-%", "1979-03-1%"):
            with pytest.raises(InvalidQuery, match="invalid date"):
                _hits(session, "Lupu", birth_date=birth_date)


def test_too_many_words_raises(database: Database) -> None:
    with database.session() as session, session.begin():
        _person(session, "Ceban", "Ion")
        with pytest.raises(InvalidQuery, match="at most 6 words"):
            _hits(session, "Ceban Ion Ion Ion Ion Ion Ion")
