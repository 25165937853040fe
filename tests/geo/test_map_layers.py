"""The map's point layers: media GPS positions and persons' addresses, by grid cell."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.records_helpers import add_media, add_submission, analyst

from scut.db.models import AuditEvent, Media, Occurrence
from scut.db.session import Database
from scut.geo.layers import (
    MAX_LIMIT,
    Bounds,
    address_points,
    media_points,
)
from scut.geo.places import GeoQueryError
from scut.persons.service import PersonInput, add_address, create_person
from scut.security.access import AccessDenied
from scut.security.caller import Caller

AUDITOR = Caller(user="olga", roles=frozenset({"auditor"}), justification="C-1")
SUBMITTER = Caller(
    user="sam", roles=frozenset({"submitter"}), unit_id=1, justification="C-1"
)
# Chișinău, two points 150 m apart, Bălți, and Santiago de Chile (south and
# west of 0, where the grid must still floor rather than round).
CHISINAU = (47.0245, 28.8327)
CHISINAU_NEAR = (47.0258, 28.8340)
BALTI = (47.7617, 27.9289)
SANTIAGO = (-33.4489, -70.6693)


def _media_at(session: Session, *positions: tuple[float, float]) -> list[int]:
    ids = add_media(session, len(positions))
    for media_id, (latitude, longitude) in zip(ids, positions, strict=True):
        media = session.get(Media, media_id)
        assert media is not None
        media.gps_latitude = latitude
        media.gps_longitude = longitude
    session.flush()
    return ids


def _person_at(
    session: Session, last_name: str, position: tuple[float, float] | None
) -> int:
    person = create_person(
        session,
        PersonInput(last_name=last_name, first_name="Ion", categories=["offender"]),
        caller=analyst("ana"),
    )
    latitude, longitude = position if position else (None, None)
    add_address(
        session,
        person.id,
        "or. Bălți, str. Independenței 1",
        caller=analyst("ana"),
        latitude=latitude,
        longitude=longitude,
    )
    return person.id


def test_every_point_without_cell(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = _media_at(session, CHISINAU, CHISINAU_NEAR, BALTI)
        add_media(session, 1, start=10)  # no position: never on the map
        layer = media_points(session, caller=analyst("ana"))

    assert [point.media_id for point in layer.points] == ids
    assert [(point.latitude, point.longitude) for point in layer.points] == [
        CHISINAU,
        CHISINAU_NEAR,
        BALTI,
    ]
    assert layer.clusters == []
    assert layer.total == 3
    assert layer.truncated is False


def test_close_points_clustered(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = _media_at(session, CHISINAU, CHISINAU_NEAR, BALTI)
        coarse = media_points(session, caller=analyst("ana"), cell=0.5)
        fine = media_points(session, caller=analyst("ana"), cell=0.0001)

    assert [point.media_id for point in coarse.points] == [ids[2]]
    (cluster,) = coarse.clusters
    assert cluster.count == 2
    assert cluster.latitude == pytest.approx((CHISINAU[0] + CHISINAU_NEAR[0]) / 2)
    assert cluster.longitude == pytest.approx((CHISINAU[1] + CHISINAU_NEAR[1]) / 2)
    assert cluster.bounds == Bounds(*CHISINAU, *CHISINAU_NEAR)
    assert coarse.total == 3
    assert [point.media_id for point in fine.points] == ids
    assert fine.clusters == []


def test_grid_floors_negative_coordinates(database: Database) -> None:
    # -33.4489 and -33.45 share the cell [-34, -33) of a 1-degree grid; a
    # cast that rounds would put -33.4489 into [-33, -32) on its own.
    with database.session() as session, session.begin():
        _media_at(session, SANTIAGO, (-33.9, -70.2), (-32.9, -70.6693))
        layer = media_points(session, caller=analyst("ana"), cell=1.0)

    assert [point.latitude for point in layer.points] == [-32.9]
    (cluster,) = layer.clusters
    assert cluster.count == 2
    assert cluster.bounds == Bounds(-33.9, -70.6693, -33.4489, -70.2)


def test_bounds_select_points(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = _media_at(session, CHISINAU, BALTI, SANTIAGO)
        around_balti = media_points(
            session, caller=analyst("ana"), bounds=Bounds(47.5, 27.5, 48.0, 28.2)
        )
        southern = media_points(
            session, caller=analyst("ana"), bounds=Bounds(-90, -180, 0, 0)
        )

    assert [point.media_id for point in around_balti.points] == [ids[1]]
    assert around_balti.total == 1
    assert [point.media_id for point in southern.points] == [ids[2]]


def test_limit_truncates(database: Database) -> None:
    with database.session() as session, session.begin():
        _media_at(session, CHISINAU, BALTI, SANTIAGO)
        every = media_points(session, caller=analyst("ana"), limit=2)
        gridded = media_points(session, caller=analyst("ana"), cell=1.0, limit=2)

    assert len(every.points) == 2
    assert every.total == 3
    assert every.truncated is True
    assert len(gridded.points) + len(gridded.clusters) == 2
    assert gridded.total == 3
    assert gridded.truncated is True


def test_verdict_and_category(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = _media_at(session, CHISINAU, BALTI)
        add_submission(session, ids)
        add_submission(session, [ids[0]], case="CASE-2", unit="Unit B")
        # The media's copy in the second submission is known: that verdict
        # is shown although its first occurrence was new.
        occurrences = session.scalars(
            select(Occurrence)
            .where(Occurrence.media_id == ids[0])
            .order_by(Occurrence.id)
        ).all()
        occurrences[1].verdict = "known"
        media = session.get(Media, ids[0])
        assert media is not None
        media.category_scheme = "projectvic"
        media.category_code = "1"
        layer = media_points(session, caller=analyst("ana"))

    first, second = layer.points
    assert (first.verdict, first.category_scheme, first.category_code) == (
        "known",
        "projectvic",
        "1",
    )
    assert (second.verdict, second.category_code) == ("new", None)


def test_media_points_audited_as_list(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = _media_at(session, CHISINAU, CHISINAU_NEAR, BALTI)
        media_points(session, caller=analyst("ana"), cell=0.5)

    with database.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "media.list")
        ).one()
    assert event.user == "ana"
    assert json.loads(event.object_ids) == [str(ids[2])]
    assert event.detail == {"map": True, "clusters": 1, "clustered_media": 2}


@pytest.mark.parametrize("who", [AUDITOR, SUBMITTER])
def test_media_points_denied(database: Database, who: Caller) -> None:
    with database.session() as session, session.begin():
        _media_at(session, CHISINAU)
        with pytest.raises(AccessDenied, match="may not call media.list"):
            media_points(session, caller=who)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"cell": -1.0}, "cell size must be from 0 to 10.0"),
        ({"cell": 11.0}, "cell size must be from 0 to 10.0"),
        ({"limit": 0}, f"limit must be from 1 to {MAX_LIMIT}"),
        ({"limit": MAX_LIMIT + 1}, f"limit must be from 1 to {MAX_LIMIT}"),
    ],
)
def test_invalid_grid_rejected(
    database: Database, arguments: dict[str, float], message: str
) -> None:
    with database.session() as session, pytest.raises(GeoQueryError, match=message):
        media_points(session, caller=analyst("ana"), **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((48.0, 27.0, 47.0, 29.0), "south 48.0 and north 47.0"),
        ((-91.0, 27.0, 47.0, 29.0), "south -91.0 and north 47.0"),
        ((47.0, 29.0, 48.0, 27.0), "west 29.0 and east 27.0"),
        ((47.0, -181.0, 48.0, 27.0), "west -181.0 and east 27.0"),
    ],
)
def test_invalid_bounds_rejected(
    box: tuple[float, float, float, float], message: str
) -> None:
    with pytest.raises(GeoQueryError, match=message):
        Bounds(*box)


def test_bounds_clamped() -> None:
    assert Bounds.clamped(-95, -200, 95, 200) == Bounds(-90, -180, 90, 180)


def test_address_points_name_person(database: Database) -> None:
    with database.session() as session, session.begin():
        balti = _person_at(session, "Cîrlan", BALTI)
        _person_at(session, "Ceban", None)  # no coordinates: not on the map
        layer = address_points(session, caller=analyst("ana"))

    (point,) = layer.points
    assert (point.person_id, point.name) == (balti, "Cîrlan Ion")
    assert (point.latitude, point.longitude) == BALTI
    assert layer.total == 1


def test_address_points_need_justification(database: Database) -> None:
    without = Caller(user="ana", roles=frozenset({"analyst"}))
    with database.session() as session, session.begin():
        _person_at(session, "Cîrlan", BALTI)
        with pytest.raises(AccessDenied, match="give a justification"):
            address_points(session, caller=without)


def test_address_points_audited(database: Database) -> None:
    with database.session() as session, session.begin():
        first = _person_at(session, "Cîrlan", BALTI)
        _person_at(session, "Ceban", CHISINAU)
        _person_at(session, "Rusu", CHISINAU_NEAR)
        layer = address_points(
            session, caller=analyst("ana", justification="CASE-9"), cell=0.5
        )

    with database.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "persons.read")
        ).one()
    assert json.loads(event.object_ids) == [str(first)]
    assert event.justification == "CASE-9"
    assert event.detail == {
        "map": True,
        "addresses": [layer.points[0].address_id],
        "clusters": 1,
        "clustered_addresses": 2,
    }


@pytest.mark.parametrize("who", [AUDITOR, SUBMITTER])
def test_address_points_denied(database: Database, who: Caller) -> None:
    with database.session() as session, pytest.raises(AccessDenied):
        address_points(session, caller=who)
