"""The analysts' work from the command line, end to end, as a user runs it.

A unit sends pictures; an analyst categorises them, builds a series,
records the identified victim and offender and imports a convicted list
that links to the offender; a later submission of near copies from
another unit is then known, with victim and offender identified.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from drawn_pictures import draw_picture

OFFENDER_IDNP = "2002042123459"


def _scut(*arguments: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ, SCUT_DATA_DIR=str(data_dir), SCUT_WORKERS="2", COLUMNS="200"
    )
    environment.pop("SCUT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "scut", "--analyst", "ana", "--justification", "CASE-1"]
        + list(arguments),
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ok(*arguments: str, data_dir: Path) -> str:
    result = _scut(*arguments, data_dir=data_dir)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _pictures(folder: Path, seeds: range, scale: float = 1.0) -> None:
    folder.mkdir(parents=True)
    for seed in seeds:
        picture = draw_picture(seed)
        if scale != 1.0:
            size = (int(picture.width * scale), int(picture.height * scale))
            picture = picture.resize(size)
        picture.save(folder / f"picture_{seed}.jpg", quality=70 if scale != 1 else 92)


def test_analyst_flow_makes_later_copies_known(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _pictures(tmp_path / "first", range(1, 5))
    _ok(
        "ingest",
        str(tmp_path / "first"),
        "--case",
        "CASE-1",
        "--exhibit",
        "phone",
        "--unit",
        "Police, Orhei",
        "--legal-basis",
        "order 7/2026",
        "--device",
        "phone SN 123",
        data_dir=data,
    )
    media = json.loads(
        _ok("media", "list", "--submission", "1", "--json", data_dir=data)
    )
    assert [line["verdict"] for line in media] == ["new"] * 4
    # Media numbers follow the order the workers finished, not the names.
    by_name = {Path(line["path"]).name: str(line["media_id"]) for line in media}
    ids = [by_name[f"picture_{seed}.jpg"] for seed in (1, 2, 3, 4)]

    _ok("media", "categorise", "--submission", "1", "--code", "1", data_dir=data)
    _ok("series", "create", "Orchard", *ids[:3], data_dir=data)
    _ok("series", "link-case", "Orchard", "CASE-1", data_dir=data)
    victim = json.loads(
        _ok(
            "persons",
            "add",
            "--last-name",
            "Ţurcanu",
            "--first-name",
            "Elena",
            "--category",
            "victim",
            "--birth-date",
            "2013",
            "--json",
            data_dir=data,
        )
    )
    offender = json.loads(
        _ok(
            "persons",
            "add",
            "--last-name",
            "Cîrlan",
            "--first-name",
            "Ion",
            "--category",
            "offender",
            "--birth-date",
            "12.03.1979",
            "--idnp",
            OFFENDER_IDNP,
            "--json",
            data_dir=data,
        )
    )
    for person, role in ((victim, "victim"), (offender, "offender")):
        number = str(person["person_id"])
        _ok("persons", "identify", number, "--by", "Police, Orhei", data_dir=data)
        _ok(
            "persons",
            "link",
            number,
            "--role",
            role,
            "--series",
            "Orchard",
            data_dir=data,
        )
    shown = json.loads(_ok("series", "show", "Orchard", "--json", data_dir=data))
    assert shown["victim_identified"] is True
    assert shown["offender_identified"] is True
    assert shown["media"] == 3
    # The first submission's result, built again, shows the series made since.
    first = json.loads(_ok("verify", "1", "--json", data_dir=data))
    in_series = [line for line in first["lines"] if line["series"] == ["Orchard"]]
    assert len(in_series) == 3
    assert all(line["victim_identified"] for line in in_series)

    registry = tmp_path / "convicted.csv"
    with registry.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["idnp", "last_name", "first_name", "birth_date", "article", "registry"]
        )
        writer.writerow([OFFENDER_IDNP, "Кирлан", "Иван", "12.03.1979", "175", "ANP"])
        writer.writerow(["2002042123458", "Rusu", "Petru", "1980", "175", "ANP"])
    report = json.loads(
        _ok("convicted", "import", str(registry), "--json", data_dir=data)
    )
    assert report["linked_idnp"] == 1
    assert report["rejected_count"] == 1
    assert report["rejected"][0]["row"] == 3
    assert report["rejected"][0]["field"] == "idnp"
    again = json.loads(
        _ok("convicted", "import", str(registry), "--json", data_dir=data)
    )
    assert again["unchanged"] == 1
    assert again["new"] == 0
    offender_view = json.loads(
        _ok("persons", "show", str(offender["person_id"]), "--json", data_dir=data)
    )
    assert offender_view["categories"] == ["offender", "convicted"]
    assert len(offender_view["convictions"]) == 1

    found = json.loads(_ok("persons", "search", "Кирлан Иван", "--json", data_dir=data))
    assert [hit["person_id"] for hit in found] == [offender["person_id"]]

    _pictures(tmp_path / "later", range(1, 5), scale=0.7)
    _ok(
        "ingest",
        str(tmp_path / "later"),
        "--case",
        "CASE-2",
        "--exhibit",
        "laptop",
        "--unit",
        "Customs, Leușeni",
        data_dir=data,
    )
    result = json.loads(_ok("verify", "2", "--json", data_dir=data))
    lines = {Path(line["path"]).name: line for line in result["lines"]}
    for seed in (1, 2, 3):
        line = lines[f"picture_{seed}.jpg"]
        assert line["verdict"] == "known", line
        assert line["series"] == ["Orchard"]
        assert line["victim_identified"] is True
        assert line["offender_identified"] is True
        assert line["cases"] == ["CASE-1"]
    outside = lines["picture_4.jpg"]
    assert outside["verdict"] == "known"  # categorised, though in no series
    assert outside["series"] == []
    assert result["series"][0]["name"] == "Orchard"
    assert result["victim_identified_files"] == 3


def test_bad_input_errors_name_the_field(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = _scut(
        "persons",
        "add",
        "--last-name",
        "Rusu",
        "--first-name",
        "Ana",
        "--category",
        "victim",
        "--idnp",
        "2002042123458",
        data_dir=data,
    )
    assert result.returncode == 1
    assert "idnp: invalid IDNP '2002042123458'" in result.stderr
    result = _scut(
        "persons",
        "add",
        "--last-name",
        "Rusu",
        "--first-name",
        "Ana",
        "--category",
        "victim",
        "--birth-date",
        "31.04.2010",
        data_dir=data,
    )
    assert result.returncode == 1
    assert "birth_date: invalid date '31.04.2010'" in result.stderr
    result = _scut("series", "show", "Nowhere", data_dir=data)
    assert result.returncode == 1
    assert "no series named or numbered 'Nowhere'" in result.stderr
    result = _scut("media", "categorise", "1", "--code", "9", data_dir=data)
    assert result.returncode == 1
    assert "unknown projectvic category '9'" in result.stderr
    missing = tmp_path / "missing-column.csv"
    missing.write_text("idnp,last_name,first_name,article\n", encoding="utf-8")
    result = _scut("convicted", "import", str(missing), data_dir=data)
    assert result.returncode == 1
    assert "birth_date" in result.stderr
