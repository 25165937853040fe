"""Importing, listing and removing hash sets as declared service operations.

The importer's functions check no caller, because tests and the demo data
build on them. The command line and the web application call these, so
that only the roles that manage hash sets change them and every change is
in the audit log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scut.db.session import Database
from scut.hashsets.importer import (
    HashSetRow,
    ImportProgress,
    ImportReport,
    import_hash_set,
    list_hash_sets,
    remove_hash_set,
)
from scut.security.access import Target, argument, operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)


def _imported_target(result: ImportReport, *_: Any, **__: Any) -> Target:
    return Target(
        "hash_set",
        [result.name],
        detail={
            "kind": result.kind,
            "format": result.format,
            "items": result.items,
            "entries": result.entries,
            "rejected": result.rejected,
        },
    )


def _removed_target(result: int, database: Database, name: str, **_: Any) -> Target:
    return Target("hash_set", [name], detail={"entries": result})


def _named_set(*_: Any, name: str = "", **__: Any) -> Target:
    return Target("hash_set", [name] if name else [])


@operation("hashsets.import", before=_named_set, after=_imported_target)
def import_set(
    database: Database,
    path: Path,
    *,
    caller: Caller,
    name: str,
    kind: str,
    fmt: str | None = None,
    algorithm: str | None = None,
    source: str = "",
    version: str = "",
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import the hash set file at ``path`` as the set ``name``, replacing it.

    Raises AccessDenied before the file is opened when the caller may not
    manage hash sets; otherwise raises as import_hash_set.

    NOTE: the import commits before its audit event is written, so when the
    event cannot be written the call raises AuditError and the set stays.
    """
    return import_hash_set(
        database,
        path,
        name=name,
        kind=kind,
        fmt=fmt,
        algorithm=algorithm,
        source=source,
        version=version,
        progress=progress,
    )


@operation("hashsets.remove", before=argument("hash_set"), after=_removed_target)
def remove_set(database: Database, name: str, *, caller: Caller) -> int:
    """Remove the set ``name`` and its entries; return how many entries went.

    Raises ConfigurationError when there is no such set. The verdicts it
    gave stay until the files are matched again.
    """
    return remove_hash_set(database, name)


@operation("hashsets.list")
def list_sets(database: Database, *, caller: Caller) -> list[HashSetRow]:
    """Return every hash set with its number of entries, by name."""
    return list_hash_sets(database)
