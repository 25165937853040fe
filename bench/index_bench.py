"""Matching at scale: the PDQ index, the exact-digest prefilter, VICS import.

Three parts, each against a baseline measured in the same run:

- PDQ index: build time, memory and latency per query set (8 hashes at
  radius 31, as the matcher searches the dihedral variants of a picture)
  of ``PdqIndex.clustered`` at several nprobe values, against the
  exhaustive ``PdqIndex.flat``. Recall is the share of planted matches
  that the flat index finds and the clustered one finds too. The indexed
  hashes are random. Planted matches are indexed hashes with 0 to 31 random
  bits flipped, sent with 7 random hashes, plus edited copies of drawn
  pictures searched with the 8 dihedral PDQ hashes of the original.
- Exact digests: ``DigestIndex`` build time, memory and lookups per second
  (batches of 100,000, half present), against a Python set of the same
  strings and against indexed SQLite lookups in a hash set imported with
  ``import_hash_set`` (500 values per SELECT).
- VICS import: ``import_hash_set`` of a generated VICS 2.0 file into a
  fresh SQLite database, against ``json.load`` of the same file.

Every measurement runs in a child process of its own, so its peak resident
set size (VmHWM) is its own. Results go to bench/results/index.json.
Large temporary files go under bench/.work and are removed after use.

Run: ``.venv/bin/python bench/index_bench.py --help``; ``--quick`` runs
every part at 100,000 for a smoke test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from corpus import landscape  # noqa: E402

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
MB = 1e6

PDQ_RADIUS = 31
QUERY_VARIANTS = 8
DISTANCE_BANDS = ((0, 15), (16, 23), (24, 31))
LOOKUP_BATCH = 100_000
SQL_IN_BATCH = 500
# Digests kept from the generated stream to serve as present lookups.
PRESENT_SAMPLE = 200_000

log = logging.getLogger(__name__)


# Process memory and progress


def memory_kb() -> dict[str, int]:
    """Return this process's resident set size and its peak, in kB."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS and return whether that worked.

    Writing 5 to clear_refs does this on Linux 4.0 and later.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def say(message: str) -> None:
    """Print a progress line with the time of day to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile_ms(seconds: list[float], share: float) -> float:
    """Return a percentile of durations in milliseconds, rounded."""
    return round(float(np.percentile(seconds, share)) * 1e3, 3)


# PDQ index


def pdq_base(size: int, seed: int) -> np.ndarray:
    """Return ``size`` random 256-bit hashes as an (n, 32) uint8 array."""
    return np.random.default_rng(seed).integers(0, 256, (size, 32), dtype=np.uint8)


def flip_bits(code: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``code`` with ``count`` distinct random bits flipped."""
    bits = np.unpackbits(code)
    positions = rng.choice(bits.size, size=count, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits)


def planted_queries(
    base: np.ndarray, count: int, reserved: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plant ``count`` near-duplicates of indexed hashes.

    Returns the query sets (count, 8, 32), the label each should find and
    its distance, uniform over 0-31. The first hash of each set is the
    near-duplicate and the other 7 are random. The last ``reserved`` rows
    of ``base`` are left alone for the picture plants.
    """
    rng = np.random.default_rng(seed)
    targets = rng.choice(len(base) - reserved, size=count, replace=False)
    distances = rng.integers(0, PDQ_RADIUS + 1, size=count)
    queries = rng.integers(0, 256, (count, QUERY_VARIANTS, 32), dtype=np.uint8)
    for row, (target, distance) in enumerate(zip(targets, distances, strict=True)):
        queries[row, 0] = flip_bits(base[target], int(distance), rng)
    return queries, targets.astype(np.int64), distances


def picture_plants(count: int, path: Path) -> dict[str, np.ndarray]:
    """Hash edited copies of drawn pictures and the dihedral set of each original.

    Each copy is the original turned or mirrored, scaled to 80 % and saved
    as JPEG at quality 60, so it can only be found through one of the 8
    dihedral hashes of the original. On these pictures that puts the copy
    20 to 40 bits from the nearest of them, so some lie beyond radius 31.
    Cropping is left out: a 3 % crop alone moves them 40 to 50 bits away.
    Cached in ``path``.
    """
    import pdqhash
    from PIL import Image

    if path.exists():
        with np.load(path) as cached:
            return {key: cached[key] for key in cached.files}
    say(f"hashing {count} drawn pictures and their edited copies")
    turns = [
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_180,
        Image.Transpose.ROTATE_270,
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.TRANSPOSE,
    ]
    copies = np.zeros((count, 32), dtype=np.uint8)
    queries = np.zeros((count, QUERY_VARIANTS, 32), dtype=np.uint8)
    for index in range(count):
        original = landscape(320, 240, seed=10_000 + index)
        hashes, _qualities = pdqhash.compute_dihedral(np.asarray(original))
        for variant, bits in enumerate(hashes):
            queries[index, variant] = np.packbits(np.asarray(bits, dtype=np.uint8))
        copy = original.transpose(turns[index % len(turns)])
        copy = copy.resize((int(copy.width * 0.8), int(copy.height * 0.8)))
        buffer = io.BytesIO()
        copy.save(buffer, format="JPEG", quality=60)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            bits, _quality = pdqhash.compute(np.asarray(decoded.convert("RGB")))
        copies[index] = np.packbits(np.asarray(bits, dtype=np.uint8))
    np.savez(path, copies=copies, queries=queries)
    return {"copies": copies, "queries": queries}


def measure_pdq(params: dict[str, Any]) -> dict[str, Any]:
    """Build one PDQ index and time its query sets (child process)."""
    from scut.matching.index import PdqIndex, _cluster_count

    faiss.omp_set_num_threads(params["threads"])
    size, kind = params["size"], params["kind"]
    say(f"PDQ {kind} {size:,}: generating hashes")
    base = pdq_base(size, seed=1)
    pictures = picture_plants(params["pictures"], Path(params["pictures_path"]))
    picture_count = len(pictures["copies"])
    if picture_count:
        base[size - picture_count :] = pictures["copies"]
    queries, targets, distances = planted_queries(
        base, params["queries"], picture_count, seed=2
    )
    picture_targets = np.arange(size - picture_count, size, dtype=np.int64)
    labels = np.arange(size, dtype=np.int64)

    before = memory_kb()["VmRSS"]
    reset_peak_rss()
    started = time.perf_counter()
    train_seconds = 0.0
    lists = 0
    if kind == "flat":
        index = PdqIndex.flat()
    else:
        # The same sample size as IndexStore._training_sample.
        sample_size = min(size, 50 * _cluster_count(size))
        sample = base[:: max(1, size // sample_size)][:sample_size]
        say(f"PDQ ivf {size:,}: training on {len(sample):,} hashes")
        index = PdqIndex.clustered(sample, params["nprobes"][0], size)
        train_seconds = time.perf_counter() - started
        lists = int(index._index.nlist)
    say(f"PDQ {kind} {size:,}: adding hashes")
    index.add(labels, base)
    build_seconds = time.perf_counter() - started
    memory = memory_kb()
    index_bytes = faiss_bytes(index._index)
    del base

    runs = []
    for nprobe in params["nprobes"] if kind == "ivf" else [1]:
        if kind == "ivf":
            # PdqIndex fixes nprobe when it is made; the bench varies it.
            index._index.nprobe = nprobe
        say(f"PDQ {kind} {size:,}: {len(queries)} query sets, nprobe {nprobe}")
        synthetic = query_sets(index, queries, targets)
        picture = query_sets(index, pictures["queries"], picture_targets)
        runs.append(
            {
                "nprobe": nprobe,
                "median_ms": percentile_ms(synthetic["seconds"], 50),
                "p95_ms": percentile_ms(synthetic["seconds"], 95),
                "picture_median_ms": percentile_ms(picture["seconds"], 50)
                if picture_count
                else None,
                "found": synthetic["found"],
                "picture_found": picture["found"],
            }
        )
    return {
        "size": size,
        "kind": kind,
        "lists": lists,
        "train_seconds": round(train_seconds, 2),
        "build_seconds": round(build_seconds, 2),
        "rss_delta_mb": round((memory["VmRSS"] - before) * 1024 / MB, 1),
        "peak_rss_delta_mb": round((memory["VmHWM"] - before) * 1024 / MB, 1),
        "index_mb": round(index_bytes / MB, 1),
        "distances": distances.tolist(),
        "runs": runs,
    }


def faiss_bytes(index: Any) -> int:
    """Return the size of a binary index as faiss writes it."""
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=WORK, suffix=".faiss") as handle:
        faiss.write_index_binary(index, handle.name)
        return os.path.getsize(handle.name)


def query_sets(index: Any, queries: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Search each set of 8 hashes at radius 31, timing it and noting the target."""
    for warm_up in queries[:10]:
        index.within(warm_up, PDQ_RADIUS)
    seconds: list[float] = []
    found: list[bool] = []
    for query, target in zip(queries, targets, strict=True):
        started = time.perf_counter()
        hits = index.within(query, PDQ_RADIUS)
        seconds.append(time.perf_counter() - started)
        found.append(any(hit.label == target for variant in hits for hit in variant))
    return {"seconds": seconds or [0.0], "found": found}


def summarise_pdq(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn flat and clustered results into rows with recall and ratios."""
    rows = []
    for size in sorted({result["size"] for result in results}):
        flat = next(r for r in results if r["size"] == size and r["kind"] == "flat")
        flat_run = flat["runs"][0]
        flat_found = np.array(flat_run["found"])
        flat_pictures = np.array(flat_run["picture_found"], dtype=bool)
        distances = np.array(flat["distances"])
        for result in (r for r in results if r["size"] == size):
            for run in result["runs"]:
                found = np.array(run["found"])
                pictures = np.array(run["picture_found"], dtype=bool)
                row = {
                    key: result[key]
                    for key in (
                        "size",
                        "kind",
                        "lists",
                        "train_seconds",
                        "build_seconds",
                        "rss_delta_mb",
                        "peak_rss_delta_mb",
                        "index_mb",
                    )
                }
                row.update(
                    nprobe=run["nprobe"] if result["kind"] == "ivf" else None,
                    median_ms=run["median_ms"],
                    p95_ms=run["p95_ms"],
                    speedup_median=round(flat_run["median_ms"] / run["median_ms"], 1),
                    speedup_p95=round(flat_run["p95_ms"] / run["p95_ms"], 1),
                    flat_found=int(flat_found.sum()),
                    recall=_share(found & flat_found, flat_found),
                    recall_by_distance={
                        f"{low}-{high}": _share(
                            found & flat_found & in_band, flat_found & in_band
                        )
                        for low, high in DISTANCE_BANDS
                        for in_band in [(distances >= low) & (distances <= high)]
                    },
                    picture_flat_found=int(flat_pictures.sum()),
                    picture_recall=_share(pictures & flat_pictures, flat_pictures),
                )
                rows.append(row)
    return rows


def _share(part: np.ndarray, whole: np.ndarray) -> float | None:
    return round(float(part.sum()) / float(whole.sum()), 4) if whole.sum() else None


# Exact digests


class DigestStream:
    """Random 16-byte digests in hex, generated in chunks from a seed.

    Keeps every ``keep_every``-th digest for lookups and the time spent
    generating, so that a build can leave it out.
    """

    def __init__(self, count: int, seed: int, keep_every: int) -> None:
        self.count = count
        self.seed = seed
        self.keep_every = keep_every
        self.kept: list[str] = []
        self.seconds = 0.0

    def __iter__(self) -> Iterator[str]:
        rng = np.random.default_rng(self.seed)
        chunk = 1 << 18
        for start in range(0, self.count, chunk):
            started = time.perf_counter()
            size = min(chunk, self.count - start)
            text = rng.bytes(16 * size).hex()
            values = [text[offset : offset + 32] for offset in range(0, 32 * size, 32)]
            self.kept.extend(values[:: self.keep_every])
            self.seconds += time.perf_counter() - started
            yield from values
            if start and start % (10 * chunk) == 0:
                say(f"  {start:,} of {self.count:,} digests")


def lookup_batches(
    present: list[str], batches: int, seed: int
) -> list[tuple[list[str], np.ndarray]]:
    """Return batches of LOOKUP_BATCH digests, half present, in random order.

    Each batch comes with the mask of its present digests.
    """
    rng = np.random.default_rng(seed)
    result = []
    half = LOOKUP_BATCH // 2
    for _ in range(batches):
        chosen = [present[i] for i in rng.integers(0, len(present), size=half)]
        text = rng.bytes(16 * half).hex()
        absent = [text[offset : offset + 32] for offset in range(0, 32 * half, 32)]
        order = rng.permutation(LOOKUP_BATCH)
        values = chosen + absent
        mask = np.zeros(LOOKUP_BATCH, dtype=bool)
        mask[:half] = True
        result.append(([values[i] for i in order], mask[order]))
    return result


def time_lookups(
    lookup: Callable[[list[str]], np.ndarray],
    batches: list[tuple[list[str], np.ndarray]],
) -> dict[str, Any]:
    """Time ``lookup`` on each batch; check it finds every present digest.

    CPU time is reported beside wall time because it is less disturbed by
    other processes on a busy machine. Each lookup here runs on one thread.
    """
    seconds = []
    cpu_seconds = []
    missed = false_hits = 0
    for values, present in batches:
        started = time.perf_counter()
        cpu_started = time.process_time()
        found = lookup(values)
        cpu_seconds.append(time.process_time() - cpu_started)
        seconds.append(time.perf_counter() - started)
        missed += int((present & ~found).sum())
        false_hits += int((found & ~present).sum())
    if missed:
        raise RuntimeError(f"{missed} present digests were not found")
    per_lookup = float(np.median(seconds)) / LOOKUP_BATCH
    return {
        "batches": len(batches),
        "ns_per_lookup": round(per_lookup * 1e9, 1),
        "cpu_ns_per_lookup": round(
            float(np.median(cpu_seconds)) / LOOKUP_BATCH * 1e9, 1
        ),
        "lookups_per_second": round(1 / per_lookup),
        "false_hits": false_hits,
    }


def measure_digest_index(params: dict[str, Any]) -> dict[str, Any]:
    """Build a DigestIndex of random digests and time lookups (child process)."""
    from scut.matching.digest_index import DigestIndex

    count = params["count"]
    stream = DigestStream(count, seed=3, keep_every=max(1, count // PRESENT_SAMPLE))
    expected = count if params["expected_count"] else None
    say(f"DigestIndex {count:,} (expected_count={expected}): building")
    before = memory_kb()["VmRSS"]
    reset_peak_rss()
    started = time.perf_counter()
    index = DigestIndex.build(stream, expected_count=expected)
    build_seconds = time.perf_counter() - started - stream.seconds
    memory = memory_kb()
    say(f"DigestIndex {count:,}: lookups")
    batches = lookup_batches(stream.kept, params["batches"], seed=4)
    in_memory = time_lookups(index.might_contain, batches)

    path = WORK / f"digests-{count}.npy"
    started = time.perf_counter()
    index.save(path)
    save_seconds = time.perf_counter() - started
    file_mb = path.stat().st_size / MB
    started = time.perf_counter()
    mapped = DigestIndex.load(path, mmap_mode="r")
    load_seconds = time.perf_counter() - started
    from_file = time_lookups(mapped.might_contain, batches)
    del mapped
    path.unlink()
    return {
        "count": count,
        "expected_count": params["expected_count"],
        "distinct": len(index),
        "generate_seconds": round(stream.seconds, 2),
        "build_seconds": round(build_seconds, 2),
        "array_mb": round(index.nbytes / MB, 1),
        "rss_delta_mb": round((memory["VmRSS"] - before) * 1024 / MB, 1),
        "peak_rss_delta_mb": round((memory["VmHWM"] - before) * 1024 / MB, 1),
        "save_seconds": round(save_seconds, 2),
        "file_mb": round(file_mb, 1),
        "load_mmap_seconds": round(load_seconds, 3),
        "lookups": in_memory,
        "lookups_mmap": from_file,
    }


def measure_python_set(params: dict[str, Any]) -> dict[str, Any]:
    """Build a Python set of hex digests and time lookups (child process)."""
    count = params["count"]
    stream = DigestStream(count, seed=3, keep_every=max(1, count // PRESENT_SAMPLE))
    say(f"Python set {count:,}: building")
    before = memory_kb()["VmRSS"]
    reset_peak_rss()
    started = time.perf_counter()
    known = set(stream)
    build_seconds = time.perf_counter() - started - stream.seconds
    memory = memory_kb()
    batches = lookup_batches(stream.kept, params["batches"], seed=4)

    def lookup(values: list[str]) -> np.ndarray:
        return np.fromiter((value in known for value in values), dtype=bool)

    return {
        "count": count,
        "build_seconds": round(build_seconds, 2),
        "rss_delta_mb": round((memory["VmRSS"] - before) * 1024 / MB, 1),
        "peak_rss_delta_mb": round((memory["VmHWM"] - before) * 1024 / MB, 1),
        "lookups": time_lookups(lookup, batches),
    }


def measure_sqlite(params: dict[str, Any]) -> dict[str, Any]:
    """Import a plain MD5 list into SQLite and time batched lookups (child)."""
    from sqlalchemy import select

    from scut.db.models import HashEntry
    from scut.hashsets.importer import import_hash_set

    count = params["count"]
    stream = DigestStream(count, seed=3, keep_every=max(1, count // PRESENT_SAMPLE))
    folder = Path(tempfile.mkdtemp(prefix="sqlite-", dir=WORK))
    try:
        listing = folder / "md5sum.txt"
        say(f"SQLite {count:,}: writing an md5sum list")
        with listing.open("w") as handle:
            for number, value in enumerate(stream):
                handle.write(f"{value}  ./evidence/{number:09d}.jpg\n")
        database = fresh_database(folder)
        say(f"SQLite {count:,}: importing")
        started = time.perf_counter()
        report = import_hash_set(
            database,
            listing,
            name="bench-md5",
            kind="known-abuse",
            fmt="plain",
            progress=progress_printer(f"SQLite {count:,}"),
        )
        import_seconds = time.perf_counter() - started
        if report.entries != count:
            raise RuntimeError(f"imported {report.entries} of {count} digests")
        batches = lookup_batches(stream.kept, params["batches"], seed=4)

        def lookup(values: list[str]) -> np.ndarray:
            found: set[str] = set()
            with database.session() as session:
                for start in range(0, len(values), SQL_IN_BATCH):
                    chunk = values[start : start + SQL_IN_BATCH]
                    found.update(
                        session.scalars(
                            select(HashEntry.value).where(
                                HashEntry.algorithm == "md5",
                                HashEntry.value.in_(chunk),
                            )
                        )
                    )
            return np.fromiter((value in found for value in values), dtype=bool)

        say(f"SQLite {count:,}: lookups")
        lookups = time_lookups(lookup, batches)
        database.dispose()
        return {
            "count": count,
            "import_seconds": round(import_seconds, 1),
            "import_rows_per_second": round(count / import_seconds),
            "database_mb": round((folder / "scut.db").stat().st_size / MB, 1),
            "lookups": lookups,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(folder: Path) -> Any:
    """Return a migrated SQLite Database in ``folder``."""
    from scut.db.session import Database
    from scut.settings import Settings

    settings = Settings(
        data_dir=folder / "data", database_url=f"sqlite:///{folder / 'scut.db'}"
    )
    database = Database(settings)
    database.upgrade()
    return database


def progress_printer(label: str) -> Callable[[int, int], None]:
    """Return an import progress callback that prints every 10 %."""
    last_tenth = [0]

    def show(done: int, total: int) -> None:
        tenth = 10 * done // max(1, total)
        if tenth > last_tenth[0]:
            last_tenth[0] = tenth
            say(f"  {label}: {10 * tenth} % of the file read")

    return show


# VICS import


def write_vics(path: Path, items: int) -> None:
    """Write a VICS 2.0 media file of ``items`` random media."""
    rng = np.random.default_rng(5)
    context = (
        "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/"
        "$metadata#Media"
    )
    chunk = 100_000
    with path.open("w") as handle:
        handle.write(f'{{"@odata.context": "{context}", "value": [\n')
        for start in range(0, items, chunk):
            size = min(chunk, items - start)
            md5 = rng.bytes(16 * size).hex().upper()
            sha1 = rng.bytes(20 * size).hex().upper()
            categories = rng.integers(0, 5, size=size)
            flags = rng.integers(0, 2, size=(size, 3)).astype(bool)
            sizes = rng.integers(1_000, 10_000_000, size=size)
            for offset in range(size):
                media = {
                    "MediaID": start + offset + 1,
                    "Category": int(categories[offset]),
                    "MD5": md5[32 * offset : 32 * offset + 32],
                    "SHA1": sha1[40 * offset : 40 * offset + 40],
                    "MediaSize": int(sizes[offset]),
                    "VictimIdentified": bool(flags[offset, 0]),
                    "OffenderIdentified": bool(flags[offset, 1]),
                    "IsDistributed": bool(flags[offset, 2]),
                }
                separator = ",\n" if start + offset else ""
                handle.write(separator + json.dumps(media))
            say(f"  VICS file: {start + size:,} of {items:,} media written")
        handle.write("\n]}\n")


def measure_vics_import(params: dict[str, Any]) -> dict[str, Any]:
    """Import a VICS file into a fresh SQLite database (child process)."""
    from scut.hashsets.importer import import_hash_set

    path = Path(params["path"])
    folder = Path(tempfile.mkdtemp(prefix="vics-", dir=WORK))
    try:
        database = fresh_database(folder)
        before = memory_kb()["VmRSS"]
        reset_peak_rss()
        started = time.perf_counter()
        report = import_hash_set(
            database,
            path,
            name="bench-vics",
            kind="known-abuse",
            fmt="vics",
            progress=progress_printer("VICS import"),
        )
        seconds = time.perf_counter() - started
        memory = memory_kb()
        database.dispose()
        if report.items != params["items"] or report.rejected:
            raise RuntimeError(f"unexpected import report: {report}")
        return {
            "items": report.items,
            "entries": report.entries,
            "seconds": round(seconds, 1),
            "items_per_second": round(report.items / seconds),
            "peak_rss_mb": round(memory["VmHWM"] * 1024 / MB, 1),
            "peak_rss_delta_mb": round((memory["VmHWM"] - before) * 1024 / MB, 1),
            "database_mb": round((folder / "scut.db").stat().st_size / MB, 1),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_json_load(params: dict[str, Any]) -> dict[str, Any]:
    """Read a VICS file whole with json.load (child process)."""
    path = Path(params["path"])
    before = memory_kb()["VmRSS"]
    reset_peak_rss()
    started = time.perf_counter()
    with path.open("rb") as handle:
        document = json.load(handle)
    seconds = time.perf_counter() - started
    memory = memory_kb()
    items = len(document["value"])
    return {
        "items": items,
        "seconds": round(seconds, 1),
        "items_per_second": round(items / seconds),
        "peak_rss_mb": round(memory["VmHWM"] * 1024 / MB, 1),
        "peak_rss_delta_mb": round((memory["VmHWM"] - before) * 1024 / MB, 1),
    }


# Orchestration


CHILD_CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "pdq": measure_pdq,
    "digest-index": measure_digest_index,
    "python-set": measure_python_set,
    "sqlite": measure_sqlite,
    "vics-import": measure_vics_import,
    "json-load": measure_json_load,
}


def run_child(case: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a child process and return its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", case]
    command.append(json.dumps(params))
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["child_wall_seconds"] = round(time.perf_counter() - started, 1)
    # Other processes on the machine slow every measurement; this shows how
    # busy it was.
    result["load_average_after"] = os.getloadavg()
    return result


def available_bytes() -> int:
    """Return MemAvailable from /proc/meminfo, in bytes."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("MemAvailable not found in /proc/meminfo")


def run_pdq(arguments: argparse.Namespace) -> dict[str, Any]:
    """Measure flat and clustered PDQ indexes at each size."""
    started = time.perf_counter()
    pictures_path = WORK / f"pdq-pictures-{arguments.pictures}.npz"
    picture_plants(arguments.pictures, pictures_path)
    results = []
    for size in arguments.pdq_sizes:
        for kind in ("flat", "ivf"):
            params = {
                "size": size,
                "kind": kind,
                "nprobes": arguments.nprobe,
                "queries": arguments.queries,
                "pictures": arguments.pictures,
                "pictures_path": str(pictures_path),
                "threads": arguments.threads,
            }
            result = run_child("pdq", params)
            say(f"PDQ {kind} {size:,} done in {result['child_wall_seconds']} s")
            results.append(result)
    return {
        "rows": summarise_pdq(results),
        "child_wall_seconds": [r["child_wall_seconds"] for r in results],
        "seconds": round(time.perf_counter() - started, 1),
    }


def run_digests(arguments: argparse.Namespace) -> dict[str, Any]:
    """Measure DigestIndex, a Python set and SQLite lookups."""
    started = time.perf_counter()
    available = available_bytes()
    # A build peaks near 12 bytes per digest. 40 leaves room for the chunk
    # of strings being parsed and for the lookup batches.
    count = min(arguments.digests, available // 40)
    if count < arguments.digests:
        say(f"only {available / 1e9:.1f} GB available: DigestIndex at {count:,}")
    batches = arguments.lookup_batches

    results: dict[str, Any] = {
        "available_gb_before": round(available / 1e9, 1),
        "requested": arguments.digests,
    }
    results["index"] = [
        run_child(
            "digest-index",
            {"count": count, "expected_count": expected, "batches": batches},
        )
        for expected in (True, False)
    ]

    results["index_at_set_size"] = run_child(
        "digest-index",
        {"count": arguments.set_size, "expected_count": True, "batches": batches},
    )
    results["python_set"] = run_child(
        "python-set", {"count": arguments.set_size, "batches": batches}
    )
    results["sqlite"] = run_child(
        "sqlite", {"count": arguments.sqlite_rows, "batches": 2}
    )
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def run_vics(arguments: argparse.Namespace) -> dict[str, Any]:
    """Measure a VICS import against json.load of the same file."""
    started = time.perf_counter()
    items = arguments.vics_items
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"vics-{items}.json"
    try:
        say(f"writing a VICS 2.0 file of {items:,} media")
        write_vics(path, items)
        file_mb = path.stat().st_size / MB
        results: dict[str, Any] = {"items": items, "file_mb": round(file_mb, 1)}
        results["import"] = run_child(
            "vics-import", {"path": str(path), "items": items}
        )
        # json.load of a 231 MB VICS file peaked at 1,054 MB (4.6 times);
        # 12 times leaves headroom.
        if available_bytes() > 12 * path.stat().st_size:
            results["json_load"] = run_child("json-load", {"path": str(path)})
        else:
            say("not enough memory for the json.load baseline; skipped")
            results["json_load"] = None
    finally:
        path.unlink(missing_ok=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def machine() -> dict[str, Any]:
    """Describe the machine: CPU model and cores, memory, versions, load."""
    cpu = platform.processor()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True)
        for line in lscpu.stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError) as error:
        log.warning("lscpu failed: %s", error)
    total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(total / 1e9, 1),
        "available_gb": round(available_bytes() / 1e9, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "sqlite": sqlite3.sqlite_version,
        "load_average": os.getloadavg(),
    }


def parse_arguments() -> argparse.Namespace:
    """Parse the command line. ``--quick`` shrinks every part to 100,000 items."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="run every part at 100,000 (smoke run)"
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("pdq", "digests", "vics"),
        default=["pdq", "digests", "vics"],
        help="parts to run",
    )
    parser.add_argument(
        "--pdq-sizes",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="numbers of hashes in the PDQ index",
    )
    parser.add_argument(
        "--nprobe",
        type=int,
        nargs="+",
        default=[16, 48, 128],
        help="clusters searched per query by the clustered index",
    )
    parser.add_argument(
        "--queries", type=int, default=1000, help="planted query sets per index"
    )
    parser.add_argument(
        "--pictures",
        type=int,
        default=300,
        help="drawn pictures planted as edited copies (0 for none)",
    )
    parser.add_argument(
        "--digests", type=int, default=50_000_000, help="digests in the DigestIndex"
    )
    parser.add_argument(
        "--set-size",
        type=int,
        default=5_000_000,
        help="digests in the Python set baseline",
    )
    parser.add_argument(
        "--sqlite-rows",
        type=int,
        default=5_000_000,
        help="MD5 digests imported into SQLite for the lookup baseline",
    )
    parser.add_argument(
        "--lookup-batches",
        type=int,
        default=20,
        help="batches of 100,000 lookups timed per in-memory structure",
    )
    parser.add_argument(
        "--vics-items", type=int, default=1_000_000, help="media in the VICS file"
    )
    parser.add_argument("--threads", type=int, default=2, help="faiss OpenMP threads")
    parser.add_argument(
        "--output",
        type=Path,
        default=HERE / "results" / "index.json",
        help="JSON file the results are written to",
    )
    # Internal: run one measurement, CASE and its JSON parameters.
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)

    arguments = parser.parse_args()
    if arguments.quick:
        arguments.pdq_sizes = [100_000]
        arguments.queries = 200
        arguments.pictures = min(arguments.pictures, 50)
        arguments.digests = arguments.set_size = arguments.sqlite_rows = 100_000
        arguments.vics_items = 100_000
        arguments.lookup_batches = 3
    return arguments


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.WARNING)
    if arguments.child:
        case, params = arguments.child
        print(json.dumps(CHILD_CASES[case](json.loads(params))))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "arguments": {
            key: value
            for key, value in vars(arguments).items()
            if key not in ("child", "output")
        },
    }
    runners = {"pdq": run_pdq, "digests": run_digests, "vics": run_vics}
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    for part in arguments.parts:
        say(f"part {part}")
        report[part] = runners[part](arguments)
        report[part]["load_average_after"] = os.getloadavg()
        say(f"part {part} done in {report[part]['seconds']} s")
        # Written after each part, so a later failure keeps earlier results.
        arguments.output.write_text(json.dumps(report, indent=2, default=str))
    print(f"written to {arguments.output}")


if __name__ == "__main__":
    main()
