"""``scut hashsets``, ``match``, ``verify`` and ``index`` as a user runs them.

Each command runs in a child process on the default SQLite database in a
fresh data directory.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

# (file, set name, --kind, --format or None, items, hashes). The item counts
# come from camera_manifest.csv. Each VICS and NSRLFile.txt item carries an
# MD5 and a SHA-1, each RDSv3 item adds a SHA-256, and HashKeeper and
# md5_list.txt carry an MD5 only.
SAMPLES = [
    ("vics_1.3_media.json", "v13-media", "known-abuse", None, 18, 36),
    ("vics_1.3_case.json", "v13-case", "known-abuse", None, 17, 34),
    ("vics_2.0_media.json", "v20-media", "known-abuse", None, 17, 34),
    ("NSRLFile.txt", "nsrl-legacy", "known-good", None, 18, 36),
    ("RDSv3_sample.db", "nsrl-rds", "known-good", None, 18, 54),
    ("hashkeeper.hsh", "hashkeeper", "known-good", "hashkeeper", 17, 17),
    # The MD5 of every file in a set. Imported as known-good, it must not hide
    # the VICS matches.
    ("md5_list.txt", "md5-list", "known-good", "plain", 105, 105),
]
KNOWN_GOOD_SETS = ("NSRLFile.txt", "RDSv3_sample.db", "hashkeeper.hsh")


def _scut(*arguments: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    # A wide terminal keeps Rich from wrapping the lines the tests read.
    environment = dict(
        os.environ, SCUT_DATA_DIR=str(data_dir), SCUT_WORKERS="2", COLUMNS="200"
    )
    environment.pop("SCUT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "scut", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _expected_verdicts(hashsets: Path) -> Counter[str]:
    with (hashsets / "camera_manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    verdicts: Counter[str] = Counter()
    for row in rows:
        if row["in_set"].startswith("vics"):
            verdicts["known"] += 1
        elif row["in_set"] in KNOWN_GOOD_SETS:
            verdicts["known-good"] += 1
        else:
            assert row["in_set"] == "", row
            verdicts["new"] += 1
    return verdicts


def _vics_categories(hashsets: Path) -> Counter[str]:
    """Count the Category codes of every medium in the sample VICS files."""
    codes: Counter[str] = Counter()
    for name in ("vics_1.3_media.json", "vics_1.3_case.json", "vics_2.0_media.json"):
        document = json.loads((hashsets / name).read_text(encoding="utf-8-sig"))
        for item in document["value"]:
            for media in item.get("Media", [item]):
                codes[str(media["Category"])] += 1
    return codes


def _table_rows(output: str) -> dict[str, list[str]]:
    """Return the body rows of a Rich table by their first cell."""
    rows = {}
    for line in output.splitlines():
        # Rich draws body rows with light bars and the header with heavy ones.
        if "│" in line:
            cells = [cell.strip() for cell in line.split("│")[1:-1]]
            rows[cells[0]] = cells
    return rows


def test_hashset_and_match_errors(shared_data: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"

    not_found = _scut(
        "hashsets", "import", str(missing), "--name", "x", data_dir=tmp_path
    )
    bad_format = _scut(
        "hashsets",
        "import",
        str(shared_data / "hashsets" / "md5_list.txt"),
        "--name",
        "x",
        "--format",
        "csv-ish",
        data_dir=tmp_path,
    )
    unknown_set = _scut("hashsets", "remove", "no-such-set", data_dir=tmp_path)
    nothing_named = _scut("match", data_dir=tmp_path)
    unknown_submission = _scut("verify", "42", data_dir=tmp_path)

    assert not_found.returncode == 1
    assert f"hash set file not found: {missing}" in not_found.stderr
    assert bad_format.returncode == 1
    assert "unknown hash set format 'csv-ish'; use one of vics" in bad_format.stderr
    assert unknown_set.returncode == 1
    assert "no hash set named 'no-such-set'" in unknown_set.stderr
    assert nothing_named.returncode == 1
    assert "name a --submission, a --case or --all" in nothing_named.stderr
    assert unknown_submission.returncode == 1
    assert "no submission number 42" in unknown_submission.stderr


@pytest.mark.slow
def test_import_ingest_verify_match_flow(shared_data: Path, tmp_path: Path) -> None:
    hashsets = shared_data / "hashsets"
    data_dir = tmp_path / "data"

    for file_name, name, kind, fmt, items, hashes in SAMPLES:
        options = ["--format", fmt] if fmt else []
        imported = _scut(
            "hashsets",
            "import",
            str(hashsets / file_name),
            "--name",
            name,
            "--kind",
            kind,
            *options,
            data_dir=data_dir,
        )
        assert imported.returncode == 0, imported.stderr
        assert f"Hash set {name} ({kind}," in imported.stdout
        assert f": {items} items, {hashes} hashes" in imported.stdout, file_name

    listed = _scut("hashsets", "list", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    rows = _table_rows(listed.stdout)
    assert set(rows) == {name for _, name, *_ in SAMPLES}
    for _, name, kind, _, items, hashes in SAMPLES:
        assert rows[name][1] == kind, name
        assert rows[name][3:5] == [str(items), str(hashes)], name

    ingested = _scut(
        "ingest",
        str(shared_data / "camera"),
        "--case",
        "CAM-1",
        "--exhibit",
        "E1",
        "--unit",
        "Border Police",
        "--json",
        data_dir=data_dir,
    )
    assert ingested.returncode == 0, ingested.stderr
    summary = json.loads(ingested.stdout)
    expected = _expected_verdicts(hashsets)
    assert summary["by_verdict"] == {
        verdict: count for verdict, count in expected.items() if count
    }
    submission = str(summary["submission"])

    pdf = tmp_path / "result.pdf"
    html = tmp_path / "result.html"
    verified = _scut(
        "verify",
        submission,
        "--json",
        "--pdf",
        str(pdf),
        "--html",
        str(html),
        data_dir=data_dir,
    )
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["files"] == sum(expected.values())
    assert report["by_verdict"] == {
        "known": expected["known"],
        "near": 0,
        "new": expected["new"],
        "known-good": expected["known-good"],
    }
    categories = {
        key.split(":")[0]: count for key, count in report["by_category"].items()
    }
    assert categories == {
        f"projectvic {code}": count
        for code, count in _vics_categories(hashsets).items()
    }
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "<h1>Verification result</h1>" in html.read_text(encoding="utf-8")
    assert f"Wrote {pdf}" in verified.stderr

    matched = _scut("match", "--submission", submission, data_dir=data_dir)
    assert matched.returncode == 0, matched.stderr
    assert f"Matched {report['files']} files again; 0 verdicts changed" in (
        matched.stdout
    )
    assert f"  known: {expected['known']}" in matched.stdout
    assert f"  known-good: {expected['known-good']}" in matched.stdout

    state = json.loads((data_dir / "index" / "pdq.json").read_text())
    rebuilt = _scut("index", "rebuild", data_dir=data_dir)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"PDQ index rebuilt: {state['hashes']} hashes, flat" in rebuilt.stdout
    assert state["hashes"] > report["files"]

    removed = _scut("hashsets", "remove", "v13-case", data_dir=data_dir)
    assert removed.returncode == 0, removed.stderr
    assert "Removed hash set v13-case with 34 hashes" in removed.stdout
