"""Limits of uploads through the web, read from ``SCUT_WEB_UPLOAD_*`` variables."""

from __future__ import annotations

from pydantic import ByteSize, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class UploadSettings(BaseSettings):
    """Limits of one upload on the submission form and ``POST /api/submissions``.

    Larger seizures go through ``scut ingest`` on the server, which reads
    the evidence in place instead of copying it over HTTP.
    """

    model_config = SettingsConfigDict(env_prefix="SCUT_WEB_UPLOAD_", extra="ignore")

    # Bytes of file content one upload may carry (bytes, or "8GiB"); the
    # form fields and multipart headers are not counted.
    max_bytes: ByteSize = Field(default=ByteSize(8 * GIB), gt=0)
    # Files one upload may carry; a folder upload sends each file apart.
    max_files: int = Field(default=50_000, gt=0)
    # Finished jobs whose progress stays readable, newest kept.
    finished_jobs_kept: int = Field(default=500, gt=0)
