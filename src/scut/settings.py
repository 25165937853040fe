"""Scut's settings, read once from environment variables prefixed ``SCUT_``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import ByteSize, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_WORKER_MEMORY = 2 * GIB


class Settings(BaseSettings):
    """Every setting of Scut; each field is read from ``SCUT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SCUT_", extra="ignore")

    # Where the embedded database, the blob store and work files live.
    data_dir: Path = Path("scut-data")
    # SQLAlchemy URL; empty means the SQLite file ``scut.db`` in data_dir.
    database_url: str = ""

    # Worker processes for analysis; 0 means one per CPU core.
    workers: int = 0
    # Files up to this size are read into memory once; larger ones are
    # streamed through the digests into the blob store and decoded from there.
    in_memory_max_bytes: ByteSize = ByteSize(256 * MIB)
    # Results written to the database per transaction.
    write_batch_size: int = 200
    # Address space of one worker process (bytes, or "6GiB"); a file that
    # needs more is recorded as out of memory. 0 means no limit. Below
    # MIN_WORKER_MEMORY the libraries a worker loads do not fit.
    worker_memory_bytes: ByteSize = ByteSize(6 * GIB)
    # Seconds one file may take to analyse before it is recorded as timed out.
    file_timeout_seconds: int = 300
    # Sync new blobs to disk (one syncfs per batch) before the rows that
    # point to them are committed, so a power cut cannot leave a row whose
    # blob never reached the disk.
    fsync_blobs: bool = True
    # JSON key file of the master keys that wrap each blob's data key; mode
    # 0600 or stricter, outside data_dir. With neither this nor master_key
    # set, Scut creates one on first use at $XDG_CONFIG_HOME/scut/master-key.json
    # (~/.config/scut/master-key.json by default).
    master_key_file: Path | None = None
    # One master key, the base64 of 32 random bytes, instead of a key file;
    # `scut keys rotate` cannot add a key to it.
    master_key: SecretStr | None = None

    # Archive limits: members nested deeper than this are not opened.
    archive_max_depth: int = 5
    # An archive member larger than this (after decompression) is rejected.
    archive_max_member_bytes: ByteSize = ByteSize(8 * GIB)
    # Bytes one archive may expand to, its nested archives included.
    archive_max_total_bytes: ByteSize = ByteSize(64 * GIB)
    # A member whose decompressed size passes this multiple of its compressed
    # size, once past archive_ratio_floor_bytes, is rejected as a bomb.
    archive_max_ratio: int = 200
    archive_ratio_floor_bytes: ByteSize = ByteSize(16 * MIB)
    # Members per archive, to stop archives of millions of empty entries.
    archive_max_members: int = 1_000_000

    # Largest picture, in pixels, that is decoded; larger ones are recorded
    # as errors (decompression bombs). JPEGs decode at 1/8 scale at most.
    image_max_pixels: int = 200_000_000
    # Maximum side of stored thumbnails, in pixels.
    thumbnail_size: int = 320
    # Frames in a video's thumbnail strip.
    video_strip_frames: int = 8
    # Videos longer than this many seconds get frame hashes for this many
    # seconds only; the rest is recorded as not hashed.
    video_max_seconds: int = 4 * 3600

    # Hamming distance at or under which two PDQ hashes match.
    pdq_match_distance: int = Field(default=31, ge=0, le=256)
    # Hash each picture's trimmed content, central crops and probe windows
    # too, so cropped, padded and captioned copies match. Off, a picture
    # costs about 10 ms less to analyse, and such copies go unfound.
    picture_views: bool = True
    # Second matching stage: nearest hashes up to this distance are compared
    # by local features when no hash matched within pdq_match_distance.
    pdq_candidate_distance: int = Field(default=88, ge=0, le=256)
    # Local features that must agree on one similarity transform.
    feature_min_inliers: int = Field(default=20, ge=4)
    # A video matches another when this share of its frame hashes match.
    video_match_share: float = Field(default=0.8, gt=0, le=1)
    # The PDQ index is exhaustive (flat) below this many hashes and
    # clustered (IVF, approximate) from it on; `scut index rebuild` switches.
    pdq_index_ivf_threshold: int = Field(default=2_000_000, ge=1)
    # Clusters an IVF index searches per query; more is slower and surer.
    # At 10 million hashes 128 kept 98.5% of planted matches, 48 only 94%.
    pdq_index_nprobe: int = Field(default=128, ge=1)

    # Record linkage of convicted-offender rows to persons: a pair at or
    # above linkage_accept links, one at or above linkage_review waits for
    # an analyst. Splink's match probabilities, 0 to 1.
    linkage_accept: float = Field(default=0.95, gt=0, le=1)
    linkage_review: float = Field(default=0.5, gt=0, le=1)
    # Years between reviews of person records, by category of data
    # subject, over the defaults of scut.persons.retention, as JSON:
    # SCUT_RETENTION_YEARS='{"witness": 2}'.
    retention_years: dict[str, int] = Field(default_factory=dict)

    # Ed25519 private key (PEM) that signs the audit anchors; it must lie
    # outside data_dir. Empty means $XDG_CONFIG_HOME/scut/audit-signing-key.pem
    # (~/.config when XDG_CONFIG_HOME is unset), created on first use.
    audit_signing_key_file: str = ""
    # Folder of the signed anchors file; empty means data_dir/audit-anchors.
    audit_anchor_dir: str = ""
    # Audit events between two automatic signed anchors.
    audit_anchor_interval: int = Field(default=1000, ge=1)

    # A signed-in session ends after this many minutes without a request,
    # and this many hours after sign-in however active it is.
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    # After this many failed sign-ins in a row an account is locked for
    # login_lock_minutes; during the lock even the right password fails.
    login_max_failures: int = Field(default=5, ge=1)
    login_lock_minutes: int = Field(default=10, ge=1)

    @field_validator("worker_memory_bytes")
    @classmethod
    def _worker_memory_fits(cls, value: ByteSize) -> ByteSize:
        if 0 < value < MIN_WORKER_MEMORY:
            raise ValueError(
                f"must be 0 (no limit) or at least {MIN_WORKER_MEMORY // GIB} GiB"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        """Return the configured database URL, or the SQLite file under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'scut.db').resolve()}"

    @property
    def worker_count(self) -> int:
        """Return the number of analysis processes to start."""
        if self.workers > 0:
            return self.workers
        return max(1, len(os.sched_getaffinity(0)))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
