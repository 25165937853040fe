"""Backup and restore of a Scut installation, and the check of a restore.

A backup is a folder::

    manifest.json               Scut's version, schema revision, row counts,
                                audit chain head, master key ids, and the
                                SHA-256 of SHA256SUMS
    SHA256SUMS                  the SHA-256 of every other file, in the
                                format of sha256sum
    audit-anchors.jsonl         the signed audit anchors, when there are any
    audit-signing-key.pub.pem   the public half of the anchor signing key
    blobs/originals/ab/cd/...   the sealed blobs and their key files, as
    blobs/derived/ab/cd/...     they lie in the store
    database.sqlite.sealed      a SQLite database (online backup API), or
    database.dump.sealed        a PostgreSQL dump (pg_dump --format=custom),
                                sealed like a blob under a fresh data key
    database.*.sealed.key       that data key, wrapped under the master key

No plaintext original, thumbnail or database row is written, and neither
the master key nor the private signing key is: both must be kept apart
from the backup.

The declared operations are in ``scut.backup.service`` and their steps in
``create`` and ``restore``. ``checks`` is the restore check, ``databases``
the SQLite and PostgreSQL parts, ``pgclient`` the runs of pg_dump and
pg_restore, ``sealing`` the sealed database copy, and ``manifest`` the
folder's format.
"""
