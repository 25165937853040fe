"""Hash set pages: the list, an import by upload with its progress, and removal."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ByteSize
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request

from scut.hashsets.formats import FORMATS
from scut.hashsets.importer import (
    HASH_SET_KINDS,
    HashSetRow,
    ImportProgress,
    ImportReport,
)
from scut.hashsets.plain import PLAIN_ALGORITHMS
from scut.hashsets.service import import_set, list_sets, remove_set
from scut.security.access import AccessDenied, check, record_denial
from scut.security.caller import Caller
from scut.settings import GIB
from scut.web.admin.forms import (
    MAX_NAME,
    MAX_TEXT,
    FieldError,
    FieldErrors,
    is_htmx,
    may,
)
from scut.web.admin.jobs import ImportJob, import_jobs
from scut.web.admin.uploads import (
    MALFORMED,
    NO_FILE,
    TOO_LARGE,
    Upload,
    UploadRejected,
    receive_upload,
    upload_folder,
)
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

FILE_FIELD = "file"
# Sent to the page when an import ends, so that it reloads the list.
CHANGED_EVENT = "hash-sets-changed"

KIND_LABELS = {
    "known-abuse": N_("Known abuse material"),
    "alert": N_("Alert: flag at once"),
    "known-good": N_("Known good: set aside"),
}
FORMAT_LABELS = {
    "vics": "Project VIC VICS (JSON)",
    "icse": "INTERPOL ICSE (CSV)",
    "nsrl": "NIST NSRL",
    "hashkeeper": "HashKeeper",
    "plain": N_("Plain list of hashes (md5sum, sha1sum, sha256sum)"),
}
UPLOAD_EXPLANATIONS = {
    TOO_LARGE: N_(
        "The file is larger than the upload limit. Import it on the server "
        "with the command scut hashsets import."
    ),
    NO_FILE: N_("Choose a hash set file that is not empty."),
    MALFORMED: N_("The upload could not be read. Reload the page and try again."),
}
JOB_EXPLANATIONS = {
    "HashSetFormatError": N_(
        "The file's format was not recognised, or the file is not in the "
        "format chosen. Choose the format, or check the file."
    ),
    "HashSetImportError": N_(
        "The file contains no usable record, or the database was busy. "
        "Nothing was imported."
    ),
    "ConfigurationError": N_("The import options do not fit this file."),
    "AccessDenied": N_("Your roles do not allow importing hash sets."),
}
JOB_FAILED = N_(
    "The import failed. The error was recorded; if it happens again, tell "
    "an administrator the time it happened."
)
IMPORT_RUNNING = N_(
    "Another hash set import is running. Wait until it ends, then try again."
)


class UploadSettings(BaseSettings):
    """The upload limit of the hash set page, read from ``SCUT_WEB_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="SCUT_WEB_", extra="ignore")

    # The largest hash set file the page accepts, in bytes (units such as
    # "2GiB" are accepted). Larger sets, such as a whole NSRL release, are
    # imported on the server with `scut hashsets import`.
    hash_set_upload_max_bytes: ByteSize = ByteSize(2 * GIB)


@router.get("/admin/hash-sets", response_class=HTMLResponse)
def hash_sets_page(
    request: Request, caller: PageCaller, removed: str = ""
) -> HTMLResponse:
    """Show the hash sets, the import form, and any import the caller runs."""
    jobs = import_jobs(request, context_of(request).clock)
    running = jobs.running()
    mine = running is not None and running.owner_id == caller.user_id
    job = running if mine else None
    return _page(request, caller, job=job, removed=removed[:MAX_NAME])


@router.get("/admin/hash-sets/table", response_class=HTMLResponse)
def hash_sets_table(request: Request, caller: PageCaller) -> HTMLResponse:
    """Return the list of sets alone, which the page reloads after an import."""
    return render_page(
        request, "admin/_hash_set_table.html", **_list_values(request, caller)
    )


@router.post("/admin/hash-sets/import", response_model=None)
async def start_import(request: Request, caller: PageCaller) -> Response:
    """Receive a hash set file and import it in the background.

    The caller's roles are checked before the file is received, and the
    import service checks them again. HTMX gets the import section back
    with the job's progress; a plain form post is sent to the job's page.
    """
    check(caller, "hashsets.import")
    context = context_of(request)
    jobs = import_jobs(request, context.clock)
    if jobs.running() is not None:
        return _import_section(request, caller, {"file": FieldError(IMPORT_RUNNING)})
    limit = int(UploadSettings().hash_set_upload_max_bytes)
    folder = upload_folder(context.settings, "hash-sets")
    try:
        upload = await receive_upload(
            request, folder, file_field=FILE_FIELD, max_bytes=limit
        )
    except UploadRejected as rejected:
        log.info("hash set upload by %s rejected: %s", caller.user, rejected)
        explanation = UPLOAD_EXPLANATIONS[rejected.reason]
        errors = {"file": FieldError(explanation, str(rejected))}
        return _import_section(request, caller, errors)
    values = {name: value.strip() for name, value in upload.fields.items()}
    errors = _check_import_fields(values)
    if errors:
        upload.remove()
        return _import_section(request, caller, errors, values)
    job = _start_job(request, caller, upload, values)
    if job is None:
        return _import_section(
            request, caller, {"file": FieldError(IMPORT_RUNNING)}, values
        )
    if not is_htmx(request):
        return RedirectResponse(f"/admin/hash-sets/import/{job.id}", status_code=303)
    return _import_section(request, caller, job=job)


@router.get("/admin/hash-sets/import/{job_id}", response_class=HTMLResponse)
def import_progress(
    request: Request,
    caller: PageCaller,
    job_id: Annotated[str, Path(max_length=64)],
) -> HTMLResponse:
    """Show an import's progress: a fragment for HTMX polling, else the page.

    Only the user who started the import may read it; others get 404.
    """
    job = import_jobs(request, context_of(request).clock).get(job_id, caller.user_id)
    if job is None:
        raise HTTPException(404)
    if not is_htmx(request):
        return _page(request, caller, job=job)
    response = render_page(
        request, "admin/_import_job.html", job=job, **_form_values(caller)
    )
    if not job.running:
        response.headers["HX-Trigger"] = CHANGED_EVENT
    return response


@router.get("/admin/hash-sets/remove", response_class=HTMLResponse)
def confirm_removal(
    request: Request,
    caller: PageCaller,
    name: Annotated[str, Query(max_length=MAX_NAME)] = "",
) -> HTMLResponse:
    """Ask to confirm the removal of a set, naming its size and what stays."""
    check(caller, "hashsets.remove")
    hash_set = _find_set(request, caller, name)
    return render_page(request, "admin/hash_set_remove.html", hash_set=hash_set)


@router.post("/admin/hash-sets/remove")
def remove(
    request: Request,
    caller: PageCaller,
    name: Annotated[str, Form(max_length=MAX_NAME)],
) -> RedirectResponse:
    """Remove a set after the confirmation page, and return to the list."""
    database = context_of(request).database
    remove_set(database, name, caller=caller)
    return RedirectResponse(
        f"/admin/hash-sets?removed={quote(name, safe='')}", status_code=303
    )


def _find_set(request: Request, caller: Caller, name: str) -> HashSetRow:
    database = context_of(request).database
    found = [row for row in list_sets(database, caller=caller) if row.name == name]
    if not found:
        raise HTTPException(404)
    return found[0]


def _check_import_fields(values: dict[str, str]) -> FieldErrors:
    """Return the errors of the import form's fields other than the file."""
    errors: FieldErrors = {}
    name = values.get("name", "")
    if not name:
        errors["name"] = FieldError(N_("Give the hash set a name."))
    elif len(name) > MAX_NAME or not name.isprintable():
        errors["name"] = FieldError(
            N_("A hash set name has at most 200 printable characters.")
        )
    if values.get("kind", "") not in HASH_SET_KINDS:
        errors["kind"] = FieldError(N_("Choose one of the kinds offered."))
    fmt = values.get("format", "")
    if fmt and fmt not in FORMATS:
        errors["format"] = FieldError(N_("Choose one of the formats offered."))
    algorithm = values.get("algorithm", "")
    if algorithm and algorithm not in PLAIN_ALGORITHMS:
        errors["algorithm"] = FieldError(N_("Choose one of the algorithms offered."))
    elif algorithm and fmt not in ("", "plain"):
        errors["algorithm"] = FieldError(
            N_("An algorithm can be chosen for plain hash lists only.")
        )
    for field in ("source", "version"):
        if len(values.get(field, "")) > MAX_TEXT:
            errors[field] = FieldError(N_("This field has at most 500 characters."))
    return errors


def _start_job(
    request: Request, caller: Caller, upload: Upload, values: dict[str, str]
) -> ImportJob | None:
    context = context_of(request)
    database = context.database
    temporary = str(upload.path)

    def work(progress: ImportProgress) -> ImportReport:
        try:
            return import_set(
                database,
                upload.path,
                caller=caller,
                name=values["name"],
                kind=values["kind"],
                fmt=values.get("format") or None,
                algorithm=values.get("algorithm") or None,
                # Without a source given, the uploaded file's name says
                # where the list came from; the temporary path would not.
                source=values.get("source", "").strip() or upload.file_name[:MAX_TEXT],
                version=values.get("version", ""),
                progress=progress,
            )
        except AccessDenied as denied:
            record_denial(database, caller, denied)
            raise

    return import_jobs(request, context.clock).start(
        work,
        owner_id=caller.user_id,
        set_name=values["name"],
        file_name=upload.file_name[:MAX_NAME],
        total_bytes=upload.size,
        cleanup=upload.remove,
        temporary_path=temporary,
    )


def _list_values(request: Request, caller: Caller) -> dict[str, Any]:
    database = context_of(request).database
    return {
        "sets": list_sets(database, caller=caller),
        "may_remove": may(caller, "hashsets.remove"),
        "kind_labels": KIND_LABELS,
        "format_labels": FORMAT_LABELS,
    }


def _form_values(caller: Caller) -> dict[str, Any]:
    return {
        "may_import": may(caller, "hashsets.import"),
        "kinds": HASH_SET_KINDS,
        "formats": FORMATS,
        "algorithms": PLAIN_ALGORITHMS,
        "kind_labels": KIND_LABELS,
        "format_labels": FORMAT_LABELS,
        "job_explanations": JOB_EXPLANATIONS,
        "job_failed": JOB_FAILED,
    }


def _page(
    request: Request,
    caller: Caller,
    *,
    job: ImportJob | None = None,
    removed: str = "",
) -> HTMLResponse:
    return render_page(
        request,
        "admin/hash_sets.html",
        job=job,
        removed=removed,
        errors={},
        values={"kind": "known-abuse"},
        **{**_list_values(request, caller), **_form_values(caller)},
    )


def _import_section(
    request: Request,
    caller: Caller,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    *,
    job: ImportJob | None = None,
) -> HTMLResponse:
    """Return the import form with its errors or job, alone for HTMX, else the page."""
    shown = values or {"kind": "known-abuse"}
    status = 400 if errors else 200
    if not is_htmx(request):
        return render_page(
            request,
            "admin/hash_sets.html",
            status_code=status,
            job=job,
            removed="",
            errors=errors or {},
            values=shown,
            **{**_list_values(request, caller), **_form_values(caller)},
        )
    # HTMX swaps only 2xx responses by default, so errors come back as 200.
    response = render_page(
        request,
        "admin/_hash_set_import.html",
        job=job,
        errors=errors or {},
        values=shown,
        **_form_values(caller),
    )
    if job is not None and not job.running:
        response.headers["HX-Trigger"] = CHANGED_EVENT
    return response
