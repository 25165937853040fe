"""Matching again on demand, choosing exhibits, and overlaps between hash sets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from drawn_pictures import draw_picture
from scut.db.models import Exhibit, Media, Occurrence
from scut.db.session import Database
from scut.errors import ConfigurationError
from scut.hashsets.importer import import_hash_set, remove_hash_set
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin, prepare_exhibit
from scut.matching.rematch import rematch
from scut.matching.service import exhibits_for, overlap_of_set
from scut.settings import Settings

PHOTODNA = bytes(range(144)).hex()


def _vics(path: Path, media: list[dict[str, Any]]) -> Path:
    document = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": media,
    }
    path.write_text(json.dumps(document))
    return path


def _verdicts(database: Database) -> dict[str, tuple[str, dict[str, Any]]]:
    with database.session() as session:
        rows = session.execute(
            select(Occurrence.path, Occurrence.verdict, Occurrence.verdict_detail)
        ).all()
    return {path: (verdict, detail) for path, verdict, detail in rows}


@pytest.fixture
def ingested(database: Database, settings: Settings, tmp_path: Path) -> list[int]:
    """Ingest a target picture and two turned copies of another; return exhibit ids."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    draw_picture(1).save(folder / "target.png")
    draw_picture(2).save(folder / "Q.png")
    draw_picture(2).transpose(Image.Transpose.ROTATE_180).save(folder / "Q-turned.png")
    origin = Origin(case="C-1", exhibit="E1", unit="Unit")
    IngestJob(database, settings, [folder], origin).run()
    return exhibits_for(database, [], "C-1", False)


def _target_vics(tmp_path: Path) -> Path:
    data = (tmp_path / "evidence" / "target.png").read_bytes()
    return _vics(
        tmp_path / "partner.json",
        [
            {
                "MediaID": 1,
                "MD5": hashlib.md5(data).hexdigest(),
                "Category": 3,
                "Series": "Series Gamma",
            }
        ],
    )


def test_rematch_without_change_counts_none(
    database: Database, settings: Settings, ingested: list[int]
) -> None:
    calls: list[tuple[int, int]] = []

    report = rematch(database, settings, ingested, lambda d, t: calls.append((d, t)))

    assert report.files == 3
    assert report.changed == 0
    assert report.by_verdict == {"new": 3}
    assert calls[-1] == (3, 3)
    # The index now contains both turned copies, but one exhibit does not
    # make its own files known.
    assert _verdicts(database)["Q-turned.png"] == ("new", {})


def test_set_import_then_removal_renews_verdict(
    database: Database, settings: Settings, ingested: list[int], tmp_path: Path
) -> None:
    import_hash_set(database, _target_vics(tmp_path), name="partner", kind="alert")

    after_import = rematch(database, settings, ingested)
    verdict, detail = _verdicts(database)["target.png"]

    assert after_import.changed == 1
    assert after_import.by_verdict == {"known": 1, "new": 2}
    assert verdict == "known"
    assert detail["matches"][0]["hash_set"] == "partner"
    assert detail["matches"][0]["how"] == "md5"
    assert detail["alert"] is True
    assert detail["series"] == ["Series Gamma"]
    assert detail["category"] == {"scheme": "projectvic", "code": "3"}

    assert remove_hash_set(database, "partner") == 1
    after_removal = rematch(database, settings, ingested)

    assert after_removal.changed == 1
    assert after_removal.by_verdict == {"new": 3}
    assert _verdicts(database)["target.png"] == ("new", {})


def test_removed_set_category_cleared(
    database: Database, settings: Settings, ingested: list[int], tmp_path: Path
) -> None:
    import_hash_set(
        database, _target_vics(tmp_path), name="partner", kind="known-abuse"
    )
    rematch(database, settings, ingested)
    remove_hash_set(database, "partner")

    rematch(database, settings, ingested)

    with database.session() as session:
        media = session.scalars(
            select(Media).join(Occurrence).where(Occurrence.path == "target.png")
        ).one()
    assert media.category_source is None
    assert media.category_code is None


def test_remove_unknown_set_rejected(database: Database) -> None:
    with pytest.raises(ConfigurationError, match="no hash set named 'absent'"):
        remove_hash_set(database, "absent")


# Choosing exhibits.


def test_exhibits_for_nothing_named(database: Database) -> None:
    with pytest.raises(ConfigurationError, match="name a --submission, a --case"):
        exhibits_for(database, [], None, False)


def test_exhibits_for_unknown_submission(database: Database) -> None:
    prepare_exhibit(database, Origin(case="C-1", exhibit="E1", unit="Unit"))

    with pytest.raises(ConfigurationError, match="no submission numbered 98, 99"):
        exhibits_for(database, [99, 98], None, False)


def test_exhibits_for_unknown_case(database: Database) -> None:
    prepare_exhibit(database, Origin(case="C-1", exhibit="E1", unit="Unit"))

    with pytest.raises(ConfigurationError, match="no case with reference 'C-404'"):
        exhibits_for(database, [], "C-404", False)


def test_exhibits_for_submission_case_and_all(database: Database) -> None:
    first = prepare_exhibit(database, Origin(case="C-1", exhibit="E1", unit="North"))
    second = prepare_exhibit(database, Origin(case="C-1", exhibit="E2", unit="North"))
    other_unit = prepare_exhibit(
        database, Origin(case="C-1", exhibit="E3", unit="South")
    )
    other_case = prepare_exhibit(
        database, Origin(case="C-2", exhibit="E1", unit="North")
    )
    submissions = _submission_ids(database)

    assert exhibits_for(database, [submissions[first]], None, False) == [
        first,
        second,
    ]
    assert exhibits_for(database, [], "C-1", False) == [first, second, other_unit]
    assert exhibits_for(database, [submissions[other_case]], "C-1", False) == [
        first,
        second,
        other_unit,
        other_case,
    ]
    assert exhibits_for(database, [], None, True) == [
        first,
        second,
        other_unit,
        other_case,
    ]


def _submission_ids(database: Database) -> dict[int, int]:
    """Return the submission id of each exhibit id."""
    with database.session() as session:
        return dict(session.execute(select(Exhibit.id, Exhibit.submission_id)).all())


# Overlaps between sets.


def test_overlap_finds_shared_photodna(database: Database, tmp_path: Path) -> None:
    first = _vics(
        tmp_path / "first.json",
        [
            {"MediaID": 1, "MD5": "a" * 32, "PhotoDNA": PHOTODNA, "Category": 1},
            {"MediaID": 2, "MD5": "b" * 32, "PhotoDNA": "0f" * 144},
        ],
    )
    second = _vics(
        tmp_path / "second.json",
        [{"MediaID": 1, "MD5": "c" * 32, "PhotoDNA": PHOTODNA.upper(), "Category": 2}],
    )
    import_hash_set(database, first, name="first", kind="known-abuse")
    import_hash_set(database, second, name="second", kind="known-abuse")

    rows = overlap_of_set(database, "first")

    assert rows == [
        {
            "item": 1,
            "algorithm": "photodna",
            "value": PHOTODNA,
            "other_set": "second",
            "category": "projectvic 2",
        }
    ]
    assert [row["other_set"] for row in overlap_of_set(database, "second")] == ["first"]


def test_overlap_of_unrelated_sets_empty(database: Database, tmp_path: Path) -> None:
    only = _vics(tmp_path / "only.json", [{"MediaID": 1, "PhotoDNA": PHOTODNA}])
    other = _vics(tmp_path / "other.json", [{"MediaID": 1, "MD5": "d" * 32}])
    import_hash_set(database, only, name="only", kind="known-abuse")
    import_hash_set(database, other, name="other", kind="known-abuse")

    assert overlap_of_set(database, "only") == []


def test_overlap_of_unknown_set_rejected(database: Database) -> None:
    with pytest.raises(ConfigurationError, match="no hash set named 'ghost'"):
        overlap_of_set(database, "ghost")
