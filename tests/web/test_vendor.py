"""The vendored htmx and Leaflet files are the released ones listed in the docs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from scut.web.app import STATIC_DIR

REPOSITORY = Path(__file__).resolve().parents[2]
DIGEST_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.MULTILINE)


def test_vendored_files_match_listed_digests() -> None:
    listing = (REPOSITORY / "docs" / "third-party.md").read_text(encoding="utf-8")
    digests = dict((path, digest) for digest, path in DIGEST_LINE.findall(listing))
    assert set(digests) == {
        "htmx/htmx.min.js",
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
    }
    for path, digest in digests.items():
        content = (STATIC_DIR / "vendor" / path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == digest, path


def test_licences_beside_vendored_files() -> None:
    for package in ("htmx", "leaflet"):
        licence = STATIC_DIR / "vendor" / package / "LICENSE"
        assert licence.read_text(encoding="utf-8").strip(), package


def test_no_external_references() -> None:
    """Templates and the style sheet load nothing from another host."""
    web = STATIC_DIR.parent
    sources = [*web.glob("templates/*.html"), STATIC_DIR / "scut.css"]
    assert len(sources) >= 5
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for external in ("http://", "https://", 'src="//', 'href="//', "url(//"):
            assert external not in text, (source, external)
