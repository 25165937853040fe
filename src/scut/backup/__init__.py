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
    database.sqlite             a SQLite database (online backup API), or
    database.dump               a PostgreSQL dump (pg_dump --format=custom)

No plaintext original or thumbnail is written, and neither the master key
nor the private signing key is: both must be kept apart from the backup.
The database file is not encrypted: like the live database, it contains
personal data in the clear.

The declared operations are in ``scut.backup.service`` and their steps in
``create`` and ``restore``. ``checks`` is the restore check, ``databases``
the SQLite and PostgreSQL parts, and ``manifest`` the folder's format.
"""
