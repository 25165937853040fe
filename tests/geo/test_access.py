"""Who may import and read map reference data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.geo.conftest import GeoFiles, Loaded
from tests.records_helpers import analyst

from scut.db.models import AuditEvent, GeoImport
from scut.db.session import Database
from scut.geo.service import find_places, import_boundaries, list_areas
from scut.security.access import AccessDenied
from scut.security.caller import Caller

SUBMITTER = Caller(user="sam", roles=frozenset({"submitter"}), unit_id=1)
AUDITOR = Caller(user="olga", roles=frozenset({"auditor"}))


@pytest.mark.parametrize("who", [SUBMITTER, analyst("ana"), AUDITOR])
def test_import_denied(database: Database, geo_files: GeoFiles, who: Caller) -> None:
    with pytest.raises(AccessDenied, match="may not call geo.import"):
        import_boundaries(database, geo_files.boundaries, caller=who)

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(GeoImport)) == 0


def test_admin_may_import(database: Database, geo_files: GeoFiles) -> None:
    admin = Caller(user="dan", roles=frozenset({"admin"}))

    report = import_boundaries(database, geo_files.boundaries, caller=admin)

    assert report.stored == 37


@pytest.mark.parametrize("who", [SUBMITTER, AUDITOR])
def test_read_denied(loaded: Loaded, who: Caller) -> None:
    with loaded.database.session() as session:
        with pytest.raises(AccessDenied, match="may not call geo.read"):
            list_areas(session, caller=who)
        with pytest.raises(AccessDenied, match="may not call geo.read"):
            find_places(session, "Balti", caller=who)


def test_reads_not_audited(loaded: Loaded) -> None:
    with loaded.database.session() as session, session.begin():
        before = session.scalar(select(func.count()).select_from(AuditEvent))
        find_places(session, "Balti", caller=analyst("ana"))
        list_areas(session, caller=analyst("ana"))
        after = session.scalar(select(func.count()).select_from(AuditEvent))

    assert before == after == 2
