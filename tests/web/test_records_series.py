"""Series pages over HTTP: the list, one series, and its forms.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import zlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from records_helpers import add_media, analyst
from scut.db.models import Case, SeriesMedia
from scut.db.session import Database
from scut.persons.service import PersonInput, create_person, link_person
from scut.series.service import add_media as add_series_media
from scut.series.service import create_series
from web.helpers import SteppingClock, Users
from web.records_pages import analyst_client, english, field_errors, token_of


def _series_with_media(
    database: Database, name: str, count: int
) -> tuple[int, list[int]]:
    with database.session() as session, session.begin():
        # Media of each series get digests of their own.
        media = add_media(
            session, count, start=zlib.crc32(name.encode()) % 10_000 * 100
        )
        series = create_series(session, name, caller=analyst("setup"))
        add_series_media(session, name, media, caller=analyst("setup"))
        return series.id, media


def _series_of(database: Database, media_ids: list[int]) -> set[int]:
    with database.session() as session:
        return set(
            session.scalars(
                select(SeriesMedia.series_id).where(SeriesMedia.media_id.in_(media_ids))
            )
        )


def test_list_and_create(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _series_with_media(database, "Orchard", 3)
    analyst_client(client, users, clock, justify=False)
    english(client)

    listed = client.get("/series")
    created = client.post(
        "/series/new", data={"csrf_token": token_of(client, "/series"), "name": "Lake"}
    )
    duplicate = client.post(
        "/series/new", data={"csrf_token": token_of(client, "/series"), "name": "Lake"}
    )
    digits = client.post(
        "/series/new", data={"csrf_token": token_of(client, "/series"), "name": "123"}
    )

    assert listed.status_code == 200
    assert ">Orchard</a>" in listed.text
    assert '<td class="figure">3</td>' in listed.text
    assert created.status_code == 303
    assert client.get(created.headers["location"]).status_code == 200
    assert duplicate.status_code == 400
    assert "a series named &#39;Lake&#39; already exists" in duplicate.text
    assert field_errors(duplicate.text)["name"].startswith("A series name has 1 to 200")
    assert digits.status_code == 400


def test_series_page_tiles_and_persons(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    series_id, media = _series_with_media(database, "Orchard", 3)
    with database.session() as session, session.begin():
        person = create_person(
            session,
            PersonInput(last_name="Rusu", first_name="Ana", categories=["victim"]),
            caller=analyst("setup"),
        )
        link_person(
            session, person.id, "victim", caller=analyst("setup"), series_id=series_id
        )
    analyst_client(client, users, clock, justify=False)
    english(client)

    page = client.get(f"/series/{series_id}")
    by_name = client.get("/series/Orchard")

    assert page.status_code == 200
    for media_id in media:
        assert f'href="/media/{media_id}"' in page.text
        assert f'src="/media/{media_id}/preview"' in page.text
    assert f'<a href="/persons/{person.id}">Rusu Ana</a>' in page.text
    assert "Created" in page.text
    assert by_name.status_code == 200
    assert f"Series {series_id}" in by_name.text
    assert client.get("/series/99999").status_code == 404
    assert client.get("/series/99999999999").status_code == 404
    assert client.get("/series/²").status_code == 404
    assert client.get("/series/No such series").status_code == 404


def test_tiles_paged(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    series_id, media = _series_with_media(database, "Large", 61)
    analyst_client(client, users, clock, justify=False)
    first = client.get(f"/series/{series_id}")
    second = client.get(f"/series/{series_id}?page=2")
    assert first.text.count('class="tile"') == 60
    assert second.text.count('class="tile"') == 1
    assert f'href="/media/{media[-1]}"' in second.text
    assert 'rel="next"' in first.text


def test_rename_note_case_and_status(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    series_id, _ = _series_with_media(database, "Orchard", 1)
    with database.session() as session, session.begin():
        session.add(Case(reference="CASE-44"))
    analyst_client(client, users, clock, justify=False)
    english(client)
    base = f"/series/{series_id}"
    token = token_of(client, base)

    renamed = client.post(f"{base}/rename", data={"csrf_token": token, "name": "Pond"})
    noted = client.post(
        f"{base}/notes",
        data={"csrf_token": token, "kind": "object", "text": "<b>red</b> lamp"},
    )
    no_case = client.post(f"{base}/cases", data={"csrf_token": token, "case": "X-1"})
    cased = client.post(f"{base}/cases", data={"csrf_token": token, "case": "CASE-44"})
    status = client.post(
        f"{base}/status", data={"csrf_token": token, "victim_identified": "true"}
    )

    assert [r.status_code for r in (renamed, noted, cased, status)] == [303] * 4
    assert no_case.status_code == 400
    assert "no case with reference &#39;X-1&#39;" in no_case.text
    page = client.get(base)
    assert '<h1 class="series-name">Pond</h1>' in page.text
    assert "&lt;b&gt;red&lt;/b&gt; lamp" in page.text
    assert "<li>CASE-44</li>" in page.text
    assert '<dd class="victim-identified">Yes</dd>' in page.text
    assert '<dd class="offender-identified">No</dd>' in page.text
    assert "Renamed" in page.text
    assert "From</span>: Orchard</li>" in page.text
    assert "To</span>: Pond</li>" in page.text
    assert "Victim identified</span>: No → Yes</li>" in page.text


def test_merge_and_split(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    keep, kept_media = _series_with_media(database, "Orchard", 3)
    merged, merged_media = _series_with_media(database, "Lake", 2)
    analyst_client(client, users, clock, justify=False)
    english(client)
    base = f"/series/{keep}"

    unknown = client.post(
        f"{base}/merge", data={"csrf_token": token_of(client, base), "other": "Nope"}
    )
    merging = client.post(
        f"{base}/merge", data={"csrf_token": token_of(client, base), "other": "Lake"}
    )
    assert unknown.status_code == 400
    assert "no series named or numbered" in unknown.text
    assert merging.status_code == 303
    assert _series_of(database, merged_media) == {keep}
    merged_page = client.get(f"/series/{merged}")
    assert "This series was merged into another one:" in merged_page.text
    assert f'action="/series/{merged}/merge"' not in merged_page.text

    chosen = [kept_media[0], merged_media[0]]
    split = client.post(
        f"{base}/split",
        data={
            "csrf_token": token_of(client, base),
            "name": "Orchard B",
            "media": chosen,
        },
    )
    assert split.status_code == 303
    new_id = int(split.headers["location"].rsplit("/", 1)[1])
    assert _series_of(database, chosen) == {new_id}
    none_chosen = client.post(
        f"{base}/split", data={"csrf_token": token_of(client, base), "name": "Empty"}
    )
    assert none_chosen.status_code == 400
    assert "name the media to split off" in none_chosen.text


def test_series_pages_need_centre_role(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    series_id, _ = _series_with_media(database, "Orchard", 1)
    analyst_client(client, users, clock, roles=("submitter",), justify=False)
    assert client.get("/series").status_code == 403
    assert client.get(f"/series/{series_id}").status_code == 403
    response = client.post(
        f"/series/{series_id}/rename",
        data={"csrf_token": token_of(client, "/dashboard"), "name": "Taken"},
    )
    assert response.status_code == 403
    assert (
        client.post(f"/series/{series_id}/rename", data={"name": "X"}).status_code
        == 403
    )
