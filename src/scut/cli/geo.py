"""``scut geo``: map reference data (boundaries and gazetteer) and place lookup."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from scut.cli.common import (
    call_service,
    caller,
    print_json,
    settings,
    stderr,
    stdout,
    text,
)
from scut.cli.records import JsonOption, run

if TYPE_CHECKING:
    # Imported by the commands only, so that other commands start without
    # loading shapely.
    from scut.db.session import Database
    from scut.geo.importer import ImportReport
    from scut.security.caller import Caller

geo_app = typer.Typer(
    help="Map reference data: raion boundaries and a gazetteer of places.",
    no_args_is_help=True,
)

# Rejected lines or features printed after an import; the stored report
# lists more.
SHOWN_PROBLEMS = 20


@geo_app.command("import")
def geo_import(
    boundaries: Annotated[
        Path | None,
        typer.Option(
            help="GeoJSON FeatureCollection of Polygon or MultiPolygon areas, "
            "such as a geoBoundaries ADM1 file."
        ),
    ] = None,
    gazetteer: Annotated[
        Path | None,
        typer.Option(
            help="GeoNames file: a postal-code export (12 columns, such as "
            "MD.txt) or a place export (19 columns)."
        ),
    ] = None,
    name_property: Annotated[
        str, typer.Option(help="Feature property holding the area's name.")
    ] = "shapeName",
    code_property: Annotated[
        str, typer.Option(help="Feature property holding the ISO 3166-2 code.")
    ] = "shapeISO",
    repair: Annotated[
        bool,
        typer.Option(
            help="Repair invalid polygons with shapely's make_valid instead of "
            "rejecting them."
        ),
    ] = False,
) -> None:
    """Load boundaries and/or a gazetteer, replacing the data of the same kind."""
    from scut.cli.progress import ByteProgress
    from scut.geo.service import import_boundaries, import_gazetteer

    if boundaries is None and gazetteer is None:
        raise typer.BadParameter("give --boundaries FILE, --gazetteer FILE or both")
    loaded = settings()
    if boundaries is not None:
        path = boundaries

        def load_boundaries(database: Database, who: Caller) -> ImportReport:
            return import_boundaries(
                database,
                path,
                caller=who,
                name_property=name_property,
                code_property=code_property,
                repair=repair,
            )

        _print_import(call_service(loaded, load_boundaries))
    if gazetteer is not None:
        source = gazetteer

        def load_gazetteer(database: Database, who: Caller) -> ImportReport:
            with ByteProgress(stderr, f"Importing {source.name}") as progress:
                return import_gazetteer(
                    database, source, caller=who, progress=progress.update
                )

        _print_import(call_service(loaded, load_gazetteer))


def _print_import(report: ImportReport) -> None:
    noun = "areas" if report.kind == "boundaries" else "places"
    stdout.print(
        text(
            f"Imported {report.stored} {noun} from {Path(report.file).name} "
            f"({report.format}): {report.rows_read} read, "
            f"{report.rejected_count} rejected"
            + (f", {report.skipped} skipped" if report.skipped else "")
        )
    )
    if report.rejected_count:
        stderr.print(f"[yellow]{report.rejected_count} rejected[/]; the first ones:")
        for line in report.rejected[:SHOWN_PROBLEMS]:
            stderr.print(text(f"  {line}"), soft_wrap=True)
    for line in report.repaired:
        stderr.print(text(f"  repaired {line}"), soft_wrap=True)
    if report.outside_count:
        stderr.print(
            f"[yellow]{report.outside_count} places lie outside every area[/] "
            "and have none:"
        )
        for line in report.outside[:SHOWN_PROBLEMS]:
            stderr.print(text(f"  {line}"), soft_wrap=True)
    if report.unplaced:
        stderr.print(
            f"{report.unplaced} places have no area yet: import boundaries to "
            "place them"
        )


@geo_app.command("areas")
def geo_areas(as_json: JsonOption = False) -> None:
    """List the loaded areas with their number of places."""
    from scut.geo.service import list_areas

    areas = run(lambda session: list_areas(session, caller=caller()))
    if as_json:
        print_json([dataclasses.asdict(area) for area in areas])
        return
    if not areas:
        stdout.print("No boundaries are loaded: scut geo import --boundaries FILE")
        return
    table = Table(title="Areas")
    for column in ("code", "name", "level", "places"):
        table.add_column(column, overflow="fold")
    for area in areas:
        table.add_row(
            text(area.code), text(area.name), str(area.level), str(area.places)
        )
    stdout.print(table)


@geo_app.command("places")
def geo_places(
    query: Annotated[str, typer.Argument(help="A place name, in any script.")],
    area: Annotated[
        str | None,
        typer.Option(help="Only places in this area: a code such as MD-CU, or a name."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Most places listed.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Find gazetteer places by name, ignoring case, diacritics and script."""
    from scut.geo.service import find_places

    places = run(
        lambda session: find_places(
            session, query, caller=caller(), area=area, limit=limit
        )
    )
    if as_json:
        print_json([dataclasses.asdict(place) for place in places])
        return
    table = Table(title=f"Places matching {query}")
    columns = ("name", "match", "area", "admin name", "postal code", "lat", "lon")
    for column in columns:
        table.add_column(column, overflow="fold")
    for place in places:
        name = place.name
        if place.matched_name != place.name:
            name = f"{place.name} ({place.matched_name})"
        table.add_row(
            text(name),
            place.match,
            text(place.area_code or ""),
            text(place.admin_name),
            text(place.postal_code or ""),
            f"{place.latitude:.4f}",
            f"{place.longitude:.4f}",
        )
    stdout.print(table)
    stdout.print(f"{len(places)} places")


@geo_app.command("locate")
def geo_locate(
    latitude: Annotated[float, typer.Argument(help="Latitude in degrees, WGS84.")],
    longitude: Annotated[float, typer.Argument(help="Longitude in degrees, WGS84.")],
    as_json: JsonOption = False,
) -> None:
    """Print the area holding a point."""
    from scut.geo.service import locate_point

    areas = run(
        lambda session: locate_point(session, latitude, longitude, caller=caller())
    )
    if as_json:
        print_json([dataclasses.asdict(area) for area in areas])
        return
    if not areas:
        stdout.print("The point is outside every loaded area")
        raise typer.Exit(code=1)
    for area in areas:
        stdout.print(text(f"{area.code} {area.name} (level {area.level})"))


@geo_app.command("geocode")
def geo_geocode(
    locality: Annotated[
        str, typer.Argument(help="A locality, as an address gives it.")
    ],
    area: Annotated[
        str | None,
        typer.Option(
            help="Its raion or municipality: a code such as MD-FL, or a name."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the coordinates of a locality, or every candidate when several fit."""
    from scut.geo.service import geocode

    result = run(lambda session: geocode(session, locality, caller=caller(), area=area))
    if as_json:
        print_json(dataclasses.asdict(result) | {"ambiguous": result.ambiguous})
        return
    if not result.candidates:
        stdout.print(text(f"No place named {locality} was found"))
        raise typer.Exit(code=1)
    if result.ambiguous:
        stdout.print(
            f"{len(result.candidates)} places fit equally well; give the raion "
            "with --area to choose:"
        )
    for candidate in result.candidates:
        stdout.print(
            text(
                f"{candidate.latitude:.4f} {candidate.longitude:.4f}  "
                f"{candidate.name}, {candidate.area_code or candidate.admin_name}"
                f" ({candidate.basis}, {result.match} match)"
            )
        )


@geo_app.command("geocode-addresses")
def geo_geocode_addresses(as_json: JsonOption = False) -> None:
    """Fill the coordinates of persons' addresses that have none.

    An address gets the coordinates of its locality when exactly one place
    fits, within its raion when the address names one. The others are
    listed with the reason, and with the candidates when several fit.
    Addresses are personal data, so give --justification.
    """
    from scut.geo.addresses import geocode_addresses

    result = run(lambda session: geocode_addresses(session, caller=caller()))
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    stdout.print(
        f"Addresses without coordinates: {result.checked}. "
        f"Coordinates found: {len(result.geocoded)}."
    )
    for found in result.geocoded:
        stdout.print(
            text(
                f"  address {found.address_id} (person {found.person_id}): "
                f"{found.place}, {found.area_code or '-'} "
                f"{found.latitude:.4f} {found.longitude:.4f}"
            )
        )
    if not result.unresolved:
        return
    table = Table(title="Addresses left without coordinates")
    for column in ("address", "person", "text", "reason", "places that fit"):
        table.add_column(column, overflow="fold")
    for item in result.unresolved:
        places = ""
        if item.candidates:
            places = f"{len(item.candidates)} places fit: " + "; ".join(
                f"{candidate.name}, {candidate.area_code or candidate.admin_name} "
                f"({candidate.latitude:.4f} {candidate.longitude:.4f})"
                for candidate in item.candidates
            )
        table.add_row(
            str(item.address_id),
            text(f"{item.person_id} {item.person_name}"),
            text(item.address),
            item.reason,
            text(places),
        )
    stdout.print(table)
