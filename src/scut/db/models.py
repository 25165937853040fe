"""SQLAlchemy models of Scut's records.

Every schema change goes through an Alembic migration in
``scut/db/migrations/versions``; the models and the migrations must agree
(the test suite compares them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


class Unit(Base):
    """An agency subdivision or foreign partner that sends material."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Case(Base):
    """The centre's investigation file, found by its reference."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    submissions: Mapped[list[Submission]] = relationship(back_populates="case")


class Submission(Base):
    """Material sent by one unit for one case, with its origin."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint(
            "case_id",
            "unit_id",
            "criminal_case_number",
            "officer",
            name="uq_submissions_origin",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    officer: Mapped[str] = mapped_column(String(200), default="")
    criminal_case_number: Mapped[str] = mapped_column(String(100), default="")
    seizure_date: Mapped[dt.date | None] = mapped_column(Date)
    received_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    case: Mapped[Case] = relationship(back_populates="submissions")
    unit: Mapped[Unit] = relationship()
    exhibits: Mapped[list[Exhibit]] = relationship(back_populates="submission")


class Exhibit(Base):
    """One seized device or folder; its label is unique within its case."""

    __tablename__ = "exhibits"
    __table_args__ = (UniqueConstraint("case_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    submission: Mapped[Submission] = relationship(back_populates="exhibits")


class IngestRun(Base):
    """One run of ``scut ingest`` over an exhibit, kept for the custody record."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    # running, finished, failed; a run left "running" was interrupted.
    status: Mapped[str] = mapped_column(String(20), default="running")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Media(Base):
    """One unique file, by SHA-256, with what analysis found in it."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # MIME type found from the content, not the file name.
    mime_type: Mapped[str] = mapped_column(String(100))
    # image, video, archive or other.
    kind: Mapped[str] = mapped_column(String(20), index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(50))
    # PDQ hash as 64 hex digits and its quality 0-100.
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    # Category as scheme and code. Until an analyst sets one, known material
    # takes the category of the source it matched, named in category_source.
    category_scheme: Mapped[str | None] = mapped_column(String(20))
    category_code: Mapped[str | None] = mapped_column(String(20))
    category_source: Mapped[str | None] = mapped_column(String(300))
    category_by_analyst: Mapped[bool] = mapped_column(Boolean, default=False)

    camera_make: Mapped[str | None] = mapped_column(String(200))
    camera_model: Mapped[str | None] = mapped_column(String(200))
    body_serial: Mapped[str | None] = mapped_column(String(200), index=True)
    lens_serial: Mapped[str | None] = mapped_column(String(200))
    software: Mapped[str | None] = mapped_column(String(200))
    # DateTimeOriginal as the camera wrote it (local time) and its offset.
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    taken_at_offset: Mapped[str | None] = mapped_column(String(10))
    gps_latitude: Mapped[float | None] = mapped_column(Float)
    gps_longitude: Mapped[float | None] = mapped_column(Float)
    gps_altitude: Mapped[float | None] = mapped_column(Float)
    orientation: Mapped[int | None] = mapped_column(Integer)
    # Every metadata key and value read, for the analyst and later rules.
    metadata_tags: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # MIME type of an archive hidden inside this file, whose members are read.
    embedded_archive: Mapped[str | None] = mapped_column(String(100))
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    has_strip: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    frames: Mapped[list[VideoFrame]] = relationship(
        back_populates="media", order_by="VideoFrame.second"
    )


class PictureHash(Base):
    """A PDQ hash of part of a picture: inside its borders, or a central crop.

    The hash of the whole picture stays in ``Media.pdq``; these are the
    further views that let crops, padded and letterboxed copies match.
    """

    __tablename__ = "picture_hashes"
    __table_args__ = (UniqueConstraint("media_id", "view"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    # trimmed, center90 or center80 (scut.hashing.views).
    view: Mapped[str] = mapped_column(String(20))
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)


class VideoFrame(Base):
    """The PDQ hash of one frame per second of a video (the vPDQ layout)."""

    __tablename__ = "video_frames"
    __table_args__ = (UniqueConstraint("media_id", "second"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    second: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)

    media: Mapped[Media] = relationship(back_populates="frames")


class Occurrence(Base):
    """A media found at one path of an exhibit, with the verdict sent to the unit."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("exhibit_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"))
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    # Path inside the exhibit, archives included: phone.zip/DCIM/IMG_1.jpg
    path: Mapped[str] = mapped_column(Text)
    modified_at: Mapped[dt.datetime | None] = mapped_column()
    # Type expected from the file name's extension, when it differs from
    # the type found in the content.
    extension_mime_type: Mapped[str | None] = mapped_column(String(100))
    type_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    # known-good, known, near or new; see scut.matching.verdicts.
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    verdict_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When the verdict was last computed; a later ``scut match`` renews it.
    matched_at: Mapped[dt.datetime | None] = mapped_column()
    # For an archive: whether every member was recorded, so a resumed run
    # can skip opening it again.
    members_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    media: Mapped[Media] = relationship()


class IngestError(Base):
    """A file, or one stage of it, that ingest could not process."""

    __tablename__ = "ingest_errors"
    __table_args__ = (UniqueConstraint("exhibit_id", "path", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    # Set when the file was read and hashed although a later stage failed.
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class HashSet(Base):
    """A list of known hashes imported from a source."""

    __tablename__ = "hash_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[str] = mapped_column(String(100), default="")
    # known-abuse, alert or known-good.
    kind: Mapped[str] = mapped_column(String(20))
    # vics, icse, nsrl, hashkeeper or plain.
    format: Mapped[str] = mapped_column(String(20), default="plain")
    # Version, category scheme and case numbers, as given in the file.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    # Records of the file that could not be read and were left out.
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class HashEntry(Base):
    """One known hash of a hash set, with the source's category and status for it."""

    __tablename__ = "hash_entries"
    __table_args__ = (
        Index("ix_hash_entries_algorithm_value", "algorithm", "value"),
        UniqueConstraint("hash_set_id", "algorithm", "value"),
        # Ids are never reused on SQLite either: the matching indexes take
        # in rows above the highest id they have seen, and a reused id
        # would point an indexed hash at another set's entry.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hash_set_id: Mapped[int] = mapped_column(
        ForeignKey("hash_sets.id", ondelete="CASCADE")
    )
    # md5, sha1, sha256, pdq, photodna, lace or zz40 (scut.hashsets.items).
    algorithm: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(400))
    # Number of the item in its set: the hashes of one file share it.
    item: Mapped[int | None] = mapped_column(Integer)
    # The source's category as scheme and code; None when it set none.
    category_scheme: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(20))
    series: Mapped[str | None] = mapped_column(String(200))
    victim_identified: Mapped[bool | None] = mapped_column(Boolean)
    offender_identified: Mapped[bool | None] = mapped_column(Boolean)
    is_distributed: Mapped[bool | None] = mapped_column(Boolean)
    baseline: Mapped[bool | None] = mapped_column(Boolean)
    tags: Mapped[str | None] = mapped_column(Text)
    comments: Mapped[str | None] = mapped_column(Text)
    media_size: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(Text)
