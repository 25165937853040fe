"""The demo loads the open map files when they are beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from scut.db.models import GeoArea, GeoPlace
from scut.db.session import Database
from scut.demo.geo import demo_geo_folder, load_demo_geography
from scut.security.caller import local_operator


def test_demo_loads_shared_files(
    database: Database, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCUT_SHARED_DATA", str(shared_data))

    message = load_demo_geography(database, local_operator("scut"))

    assert demo_geo_folder() == shared_data / "geo"
    assert message.startswith("Map: 37 areas from ")
    assert "and 1753 places from " in message
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(GeoArea)) == 37
        assert session.scalar(select(func.count()).select_from(GeoPlace)) == 1753


def test_demo_goes_on_without_files(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCUT_SHARED_DATA", str(tmp_path / "nowhere"))

    message = load_demo_geography(database, local_operator("scut"))

    assert message.startswith("The map has no boundaries: ")
    assert "the demo goes on without them" in message
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(GeoArea)) == 0
