"""Scut's exceptions. Every error a user can see derives from ScutError."""

from __future__ import annotations


class ScutError(Exception):
    """Base of Scut's errors; the message is meant for the user as it is."""


class ConfigurationError(ScutError):
    """Raised when settings or command options are invalid or contradict the data."""


class SourceError(ScutError):
    """Raised when an ingest source path does not exist or cannot be read."""


class FileFailure(ScutError):
    """Raised while analysing one file; it is recorded and the job goes on.

    ``stage`` names the step that failed (read, type, decode, pdq, metadata,
    thumbnail, video, archive) so the summary can group failures.
    """

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


class ArchiveError(FileFailure):
    """Raised when an archive or one of its members is rejected or unreadable."""

    def __init__(self, reason: str) -> None:
        super().__init__("archive", reason)


class FileTimeout(FileFailure):
    """Raised in a worker when one file takes longer than the set time limit."""

    def __init__(self, seconds: int) -> None:
        super().__init__("timeout", f"analysis took longer than {seconds} s")
