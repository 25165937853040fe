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
    func,
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
    # police, border-police, customs, prosecution, centre or foreign-partner.
    kind: Mapped[str] = mapped_column(String(30), default="police")
    # ISO 3166-1 alpha-2 code of the unit's state.
    country: Mapped[str] = mapped_column(String(2), default="MD")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Case(Base):
    """The centre's investigation file, found by its reference."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    # open or closed.
    status: Mapped[str] = mapped_column(String(20), default="open")
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
    # The legal act or order under which the material was seized and sent.
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
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
    # The seized device as the unit describes it (make, model, serial).
    device: Mapped[str] = mapped_column(String(300), default="")
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
    # Set when the sources of a category disagree (analysts, hash sets).
    category_conflict: Mapped[bool] = mapped_column(Boolean, default=False)

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
    __table_args__ = (
        UniqueConstraint("exhibit_id", "path"),
        # The media grid reads the media of an exhibit, or of a verdict, in
        # media id order (scut.media.grid_query).
        Index("ix_occurrences_exhibit_id_media_id", "exhibit_id", "media_id"),
        Index("ix_occurrences_verdict_media_id", "verdict", "media_id"),
    )

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
    verdict: Mapped[str] = mapped_column(String(20))
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


class CategoryEvent(Base):
    """One categorisation of a media, kept as its category history."""

    __tablename__ = "category_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20))
    previous_scheme: Mapped[str | None] = mapped_column(String(20))
    previous_code: Mapped[str | None] = mapped_column(String(20))
    # "analyst" for a person's decision, else the hash set that gave it.
    source: Mapped[str] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Series(Base):
    """Media produced together, with the same victims."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    victim_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    offender_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The series this one was merged into; a merged series keeps its history.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class SeriesMedia(Base):
    """A media in a series; a media belongs to one series at most."""

    __tablename__ = "series_media"

    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    added_by: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class SeriesCase(Base):
    """A case that a series is linked to."""

    __tablename__ = "series_cases"

    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    added_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class SeriesNote(Base):
    """A clue seen in a series: an object, a place, a language, or another note."""

    __tablename__ = "series_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    # object, place, language or other.
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class SeriesEvent(Base):
    """One change of a series: created, renamed, merged, split, media, status."""

    __tablename__ = "series_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Person(Base):
    """A victim, offender, suspect, convicted person, witness or other person.

    Names are stored in NFC with comma-below s and t; the spellings as
    typed and their search keys are in ``person_names``.
    """

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    patronymic: Mapped[str | None] = mapped_column(String(200))
    # male, female or unknown.
    gender: Mapped[str] = mapped_column(String(10), default="unknown")
    # ISO 3166-1 alpha-2.
    nationality: Mapped[str | None] = mapped_column(String(2))
    birth_year: Mapped[int | None] = mapped_column(Integer, index=True)
    birth_month: Mapped[int | None] = mapped_column(Integer)
    birth_day: Mapped[int | None] = mapped_column(Integer)
    birth_place: Mapped[str | None] = mapped_column(String(200))
    birth_place_key: Mapped[str | None] = mapped_column(String(200))
    idnp: Mapped[str | None] = mapped_column(String(13), unique=True)
    # unidentified or identified; when, and by which unit or foreign state.
    identification: Mapped[str] = mapped_column(String(20), default="unidentified")
    identified_on: Mapped[dt.date | None] = mapped_column(Date)
    identified_by: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    # The date by which the need to keep the record must be reviewed.
    review_due: Mapped[dt.date] = mapped_column(Date, index=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PersonCategory(Base):
    """A category of data subject given to a person (a person may have several)."""

    __tablename__ = "person_categories"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    # victim, offender, suspect, convicted, witness or other.
    category: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class PersonName(Base):
    """One spelling of a person's name, with the keys that search compares."""

    __tablename__ = "person_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    # primary, alias or spelling (the same name in another script or form).
    kind: Mapped[str] = mapped_column(String(20))
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    patronymic: Mapped[str | None] = mapped_column(String(200))
    # The full name exactly as it was typed or imported.
    as_typed: Mapped[str] = mapped_column(Text)
    last_key: Mapped[str] = mapped_column(String(200), index=True)
    last_loose: Mapped[str] = mapped_column(String(200), index=True)
    first_key: Mapped[str] = mapped_column(String(200), index=True)
    first_group: Mapped[str] = mapped_column(String(200), index=True)
    patronymic_key: Mapped[str | None] = mapped_column(String(200))


class PersonAddress(Base):
    """An address of a person: residence, registration or last known."""

    __tablename__ = "person_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    # residence, registration or last-known.
    kind: Mapped[str] = mapped_column(String(20), default="residence")
    address: Mapped[str] = mapped_column(Text)
    locality: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="MD")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Who gave it: an analyst, or the registry of a conviction import.
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PersonLink(Base):
    """A person's role in a series or a media item."""

    __tablename__ = "person_links"
    __table_args__ = (UniqueConstraint("person_id", "series_id", "media_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), index=True)
    # victim, offender, witness or other.
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PersonEvent(Base):
    """One change of a person record, with the fields' old and new values."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class ConvictedImport(Base):
    """One import of a convicted-offender list, with its stored report."""

    __tablename__ = "convicted_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    # csv or xlsx.
    format: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    # Rows by outcome: new, updated, unchanged, linked, review, new_persons, rejected.
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Rejected rows: row number, field, value and reason (the first 10,000).
    rejected: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Conviction(Base):
    """A conviction as a registry lists it, linked to a person once decided."""

    __tablename__ = "convictions"
    __table_args__ = (UniqueConstraint("source_registry", "record_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The registry that lists it (a ministry or penitentiary register).
    source_registry: Mapped[str] = mapped_column(String(200))
    # The registry's record id, else the IDNP or names and birth date with
    # the article and sentence date (scut.convicted.service.record_key).
    record_key: Mapped[str] = mapped_column(String(400))
    record_id: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    # idnp, probable, analyst, new-person, review, or unlinked (its only
    # review candidate was erased).
    link: Mapped[str] = mapped_column(String(20))
    link_probability: Mapped[float | None] = mapped_column(Float)
    idnp: Mapped[str | None] = mapped_column(String(13), index=True)
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    patronymic: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    birth_place: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    article: Mapped[str] = mapped_column(String(200))
    court: Mapped[str | None] = mapped_column(String(300))
    sentence_date: Mapped[dt.date | None] = mapped_column(Date)
    release_date: Mapped[dt.date | None] = mapped_column(Date)
    # SHA-256 of the row's values: an unchanged row is left as it is.
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_import_id: Mapped[int] = mapped_column(ForeignKey("convicted_imports.id"))
    last_import_id: Mapped[int] = mapped_column(ForeignKey("convicted_imports.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class ConvictionChange(Base):
    """A change a later import made to a conviction, field by field."""

    __tablename__ = "conviction_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conviction_id: Mapped[int] = mapped_column(
        ForeignKey("convictions.id", ondelete="CASCADE"), index=True
    )
    import_id: Mapped[int] = mapped_column(ForeignKey("convicted_imports.id"))
    # {field: [old, new]}
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class LinkReview(Base):
    """An uncertain pair of a conviction and a person, waiting for an analyst."""

    __tablename__ = "link_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    conviction_id: Mapped[int] = mapped_column(
        ForeignKey("convictions.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    probability: Mapped[float] = mapped_column(Float)
    # Comparison level of each field, as the linkage scored it.
    levels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # open, accepted or rejected.
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("convicted_imports.id"))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column()


class User(Base):
    """A person who signs in: a unit's officer or one of the centre's staff."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Argon2id hash in PHC string form.
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # TOTP secret (base32), sealed with the master key; None until enrolled.
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(400))
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted, so a code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class UserRole(Base):
    """A role a user holds: submitter, analyst, supervisor, auditor or admin."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class LoginSession(Base):
    """A signed-in session of the web application, found by its token's hash."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the session token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # The fixed end, however active the session is.
    expires_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()


class ApiToken(Base):
    """A token for the HTTP API, issued after a password and TOTP sign-in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class LoginAttempt(Base):
    """One sign-in attempt, kept to throttle a source that keeps failing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_source_at", "source", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One audited action, chained to the previous event by its hash.

    ``hash`` is the SHA-256 of the previous event's hash and this event's
    canonical fields (scut.security.audit), so an edited, deleted or
    reordered row breaks the chain. On PostgreSQL the application's role
    may only insert into this table.
    """

    __tablename__ = "audit_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    user: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50), default="")
    object_ids: Mapped[str] = mapped_column(Text, default="")
    # succeeded, denied or failed.
    outcome: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(100), default="")
    justification: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class GeoImport(Base):
    """One import of map reference data: a boundary file or a gazetteer."""

    __tablename__ = "geo_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    # boundaries or gazetteer; an import replaces the data of its kind.
    kind: Mapped[str] = mapped_column(String(20))
    # geojson, geonames-postal or geonames-places.
    format: Mapped[str] = mapped_column(String(30))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    # Features or data lines read, stored and rejected.
    rows_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Rejected rows with their line or feature number and reason, places
    # outside every area, repaired polygons and skipped rows
    # (scut.geo.importer.ImportReport.as_dict).
    report: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    imported_at: Mapped[dt.datetime] = mapped_column(
        default=utc_now, server_default=func.now()
    )
    actor: Mapped[str] = mapped_column(String(200))


class GeoArea(Base):
    """An administrative area of the loaded boundary file, such as a raion."""

    __tablename__ = "geo_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    # ISO 3166-2 code, such as MD-CU.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    # The name as the file gives it, and its key (scut.geo.keys.place_key).
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    # Administrative level: 1 for raions and municipalities.
    level: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # GeoJSON Polygon or MultiPolygon in WGS84 longitude and latitude.
    geometry: Mapped[str] = mapped_column(Text)
    # Bounding box in degrees, to find the candidate areas of a point in SQL.
    min_longitude: Mapped[float] = mapped_column(Float)
    min_latitude: Mapped[float] = mapped_column(Float)
    max_longitude: Mapped[float] = mapped_column(Float)
    max_latitude: Mapped[float] = mapped_column(Float)
    import_id: Mapped[int] = mapped_column(ForeignKey("geo_imports.id"), index=True)


class GeoPlace(Base):
    """A populated place of the loaded gazetteer, with the area it lies in."""

    __tablename__ = "geo_places"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Keys of scut.geo.keys: the name's key, the key without a postal sector
    # number ("soroca" for "Soroca 4"), and the loose key of the latter.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    locality_key: Mapped[str] = mapped_column(String(200), index=True)
    loose_key: Mapped[str] = mapped_column(String(200), index=True)
    # ISO 3166-1 alpha-2 code of the place's state, as the file gives it.
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    # First-level division as the file gives it; GeoNames' names carry typos,
    # so area_id comes from the coordinates instead.
    admin_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    admin_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # The area containing the coordinates; None when no boundaries are loaded
    # or the point lies outside all of them.
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_areas.id", ondelete="SET NULL"), index=True
    )
    postal_code: Mapped[str | None] = mapped_column(String(20))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # GeoNames' accuracy of the coordinates: 1 estimated to 6 centroid.
    accuracy: Mapped[int | None] = mapped_column(Integer)
    # From the main GeoNames export only.
    geonames_id: Mapped[int | None] = mapped_column(BigInteger)
    feature_code: Mapped[str | None] = mapped_column(String(10))
    population: Mapped[int | None] = mapped_column(BigInteger)
    import_id: Mapped[int] = mapped_column(ForeignKey("geo_imports.id"), index=True)


class GeoPlaceName(Base):
    """Another name of a gazetteer place, in another language or script."""

    __tablename__ = "geo_place_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(
        ForeignKey("geo_places.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    loose_key: Mapped[str] = mapped_column(String(200), index=True)
