"""Matching accuracy: how often Scut finds transformed copies of pictures.

Every original (camera photos and generated pictures) is copied under each
transform in TRANSFORMS. Two matchers are scored on the same copies:

- plain PDQ: one hash of the original and one of the copy, both fitted to
  512 pixels, a match at Hamming distance 31 or less when both hashes have
  quality 50 or more, no rotations;
- Scut: a real ingest into a fresh data directory, the originals as one
  exhibit and then the copies as another. A copy is found when its verdict
  lists its own original among the matches.

False matches are counted twice: copies matched to an original other than
their own, and a separate ingest of distinct pictures as two exhibits, A
then B, where every match of a B file with an A file is false.

Run: ``.venv/bin/python bench/accuracy_bench.py`` (``--quick`` for a smoke
run). Copies are written under bench/.work/accuracy, the results to
bench/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps
from sqlalchemy import select

import scut
from scut.db.models import Exhibit, Occurrence
from scut.db.session import Database
from scut.hashing.pdq import hamming_distance, pdq_of_image
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.settings import Settings

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "accuracy"
SHARED_CAMERA = HERE.parent.parent / "shared" / "data" / "camera"

# Originals must be at least this many pixels on the shorter side.
MIN_SIDE = 200
# Plain PDQ baseline: the same distance and quality gate as Scut's defaults
# (Settings.pdq_match_distance, scut.hashing.views.MIN_MATCH_QUALITY).
PLAIN_MATCH_DISTANCE = 31
MIN_QUALITY = 50
COPY_JPEG_QUALITY = 90
LOW_JPEG_QUALITY = 30

# Camera photos left out because a person is their subject: the benchmark
# uses no pictures of people. Paths are relative to the camera folder.
PEOPLE = frozenset(
    {
        "metadata-extractor-images/Canon EOS 1000D.jpg",
        "metadata-extractor-images/Canon EOS 7D.jpg",
        "metadata-extractor-images/Canon EOS D60.jpg",
        "metadata-extractor-images/Canon EOS REBEL T3i.jpg",
        "metadata-extractor-images/Canon IXUS 400.jpg",
        "metadata-extractor-images/Canon IXUS v3.jpg",
        "metadata-extractor-images/Canon IXUS.jpg",
        "metadata-extractor-images/FujiFilm DS-7 (1).jpg",
        "metadata-extractor-images/FujiFilm DX-10.jpg",
        "metadata-extractor-images/Issue 116.jpg",
        "metadata-extractor-images/Issue 154.jpg",
        "metadata-extractor-images/Kodak DC210.jpg",
        "metadata-extractor-images/Kodak DC3400.jpg",
        "metadata-extractor-images/Konica Q-M100 (1).jpg",
        "metadata-extractor-images/Olympus C960.jpg",
        "metadata-extractor-images/Olympus μ Digital 800.JPG",
        "metadata-extractor-images/Photoshop (4).jpg",
        "metadata-extractor-images/Samsung GT-I9000 (Galaxy S).jpg",
        "metadata-extractor-images/Sanyo VPCSX550.jpg",
        "metadata-extractor-images/Sony Cybershot (3).jpg",
        "metadata-extractor-images/Sony Cybershot (8).jpg",
        "pillow/hopper_orientation_3.jpg",
        "pillow/hopper_orientation_6.jpg",
        "pillow/hopper_orientation_8.jpg",
    }
)
# This folder contains one photo under every EXIF orientation tag, and two
# portrait crops of it. Only one file of the folder is kept.
ORIENTATION_FOLDER = "exif-samples/orientation/"
ORIENTATION_KEPT = "exif-samples/orientation/landscape_1.jpg"

# Seeds of the generated originals start at ORIGINAL_SEED and those of the
# distinct set (for false matches) at DISTINCT_SEED, so no picture is in both.
ORIGINAL_SEED = 0
DISTINCT_SEED = 1000
GENERATED_SIZES = (
    (640, 480),
    (800, 600),
    (1024, 768),
    (480, 640),
    (1200, 800),
    (600, 600),
    (1280, 720),
)
WORDS = (
    "harbour",
    "meadow",
    "station",
    "lantern",
    "orchard",
    "granite",
    "copper",
    "window",
    "bridge",
    "signal",
    "north",
    "delta",
)
CAPTIONS = (
    "Summer trip, day 3",
    "Scanned from album 2",
    "Shared in group chat",
    "IMG 2041 - do not edit",
)
PAD_COLOURS = ((255, 255, 255), (20, 20, 20), (190, 40, 40), (30, 70, 160))
WINDOW_GREY = (205, 205, 205)
TITLE_BAR = (45, 80, 150)
SCREENSHOT_SCALE = 0.7
# Packages of Scut that an ingest does not run. Edits to them do not change
# the results, so the source fingerprint leaves them out.
NOT_INGEST_PACKAGES = frozenset({"cli", "demo", "verification"})


@dataclass(frozen=True)
class Original:
    """One original picture as written to the originals folder."""

    # File name in the originals folder, which is also its exhibit path.
    name: str
    # "camera" or "generated".
    kind: str
    # Path relative to the camera folder, or "seed N".
    source: str


# Transforms. Each takes the displayed picture (EXIF orientation applied,
# RGB) and the original's position in the set, which picks sides, corners
# and colours so that they vary across originals but not between runs.


def resize_half(image: Image.Image, index: int) -> Image.Image:
    size = (max(1, image.width // 2), max(1, image.height // 2))
    return image.resize(size, Image.Resampling.LANCZOS)


def unchanged(image: Image.Image, index: int) -> Image.Image:
    return image


def central_crop(share: float) -> Callable[[Image.Image, int], Image.Image]:
    """Return a transform that cuts ``share`` of each side off the picture."""

    def crop(image: Image.Image, index: int) -> Image.Image:
        dx = round(image.width * share)
        dy = round(image.height * share)
        return image.crop((dx, dy, image.width - dx, image.height - dy))

    return crop


def crop_one_side(image: Image.Image, index: int) -> Image.Image:
    """Cut 10% off one side: left, top, right, bottom in turn."""
    dx = round(image.width * 0.1)
    dy = round(image.height * 0.1)
    boxes = (
        (dx, 0, image.width, image.height),
        (0, dy, image.width, image.height),
        (0, 0, image.width - dx, image.height),
        (0, 0, image.width, image.height - dy),
    )
    return image.crop(boxes[index % len(boxes)])


def rotate_quarter(image: Image.Image, index: int) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def rotate_small(image: Image.Image, index: int) -> Image.Image:
    """Turn by 4 degrees on the same canvas, which leaves black corners."""
    return image.rotate(4, resample=Image.Resampling.BICUBIC, expand=False)


def mirror(image: Image.Image, index: int) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def watermark(image: Image.Image, index: int) -> Image.Image:
    """Overlay a half-transparent logo and text in one corner."""
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font = ImageFont.load_default(size=max(10, image.width // 16))
    text = "SAMPLE PHOTO"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    logo = bottom - top
    width = logo + logo // 2 + right - left
    margin = max(4, round(0.03 * min(image.size)))
    corner = index % 4
    x = margin if corner in (0, 3) else image.width - width - margin
    y = margin if corner in (0, 1) else image.height - logo - margin
    draw.ellipse((x, y, x + logo, y + logo), fill=(255, 255, 255, 140))
    draw.text(
        (x + logo + logo // 2 - left, y - top),
        text,
        font=font,
        fill=(255, 255, 255, 150),
        stroke_width=1,
        stroke_fill=(0, 0, 0, 90),
    )
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def pad_sides(image: Image.Image, index: int) -> Image.Image:
    """Add a border of one colour, 10% to 15% of the width, left and right."""
    border = round(image.width * (0.10 + 0.01 * (index % 6)))
    colour = PAD_COLOURS[index % len(PAD_COLOURS)]
    canvas = Image.new("RGB", (image.width + 2 * border, image.height), colour)
    canvas.paste(image, (border, 0))
    return canvas


def letterbox(image: Image.Image, index: int) -> Image.Image:
    """Centre the picture on a black 16:9 canvas with bars above and below.

    A picture wider than 16:9 goes on a landscape 16:9 canvas of its width.
    Any other picture goes on a portrait 9:16 canvas of its width, as on a
    phone screen, because no landscape 16:9 canvas gives it bars above and
    below. A picture narrower than 9:16 gets bars left and right instead.
    """
    width, height = image.size
    if width * 9 >= height * 16:
        size = (width, round(width * 9 / 16))
    elif width * 16 >= height * 9:
        size = (width, round(width * 16 / 9))
    else:
        size = (round(height * 9 / 16), height)
    canvas = Image.new("RGB", size, (0, 0, 0))
    canvas.paste(image, ((size[0] - width) // 2, (size[1] - height) // 2))
    return canvas


def caption_band(image: Image.Image, index: int) -> Image.Image:
    """Add a white band of 15% of the height with black text at the bottom."""
    band = max(12, round(image.height * 0.15))
    canvas = Image.new("RGB", (image.width, image.height + band), (255, 255, 255))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(8, round(band * 0.4)))
    draw.text(
        (round(image.width * 0.03), image.height + band // 2),
        CAPTIONS[index % len(CAPTIONS)],
        fill=(0, 0, 0),
        font=font,
        anchor="lm",
    )
    return canvas


def screenshot(image: Image.Image, index: int) -> Image.Image:
    """Scale to 70% and paste into a grey window with a coloured title bar."""
    size = (
        max(1, round(image.width * SCREENSHOT_SCALE)),
        max(1, round(image.height * SCREENSHOT_SCALE)),
    )
    inner = image.resize(size, Image.Resampling.LANCZOS)
    margin = max(8, round(inner.width * 0.06))
    title = max(16, round(inner.height * 0.07))
    window = (inner.width + 2 * margin, title + inner.height + 2 * margin)
    canvas = Image.new("RGB", window, WINDOW_GREY)

    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, window[0] - 1, title - 1), fill=TITLE_BAR)
    radius = max(3, title // 5)
    middle = title // 2
    for button in range(3):
        centre = window[0] - (button + 1) * 3 * radius
        box = (centre - radius, middle - radius, centre + radius, middle + radius)
        draw.ellipse(box, fill=(230, 230, 230))
    font = ImageFont.load_default(size=max(8, middle))
    draw.text(
        (margin, middle), "Photo viewer", fill=(255, 255, 255), font=font, anchor="lm"
    )

    canvas.paste(inner, (margin, title + margin))
    return canvas


@dataclass(frozen=True)
class Transform:
    """One way of copying a picture, and how the copy is saved."""

    name: str
    description: str
    apply: Callable[[Image.Image, int], Image.Image]
    format: str = "JPEG"
    quality: int = COPY_JPEG_QUALITY

    @property
    def suffix(self) -> str:
        return ".png" if self.format == "PNG" else ".jpg"


TRANSFORMS = (
    Transform("resize-50", "resized to 50%", resize_half),
    Transform("jpeg-30", "JPEG quality 30", unchanged, quality=LOW_JPEG_QUALITY),
    Transform("crop-5", "central crop, 5% off each side", central_crop(0.05)),
    Transform("crop-10", "central crop, 10% off each side", central_crop(0.10)),
    Transform("crop-side-10", "10% off one side (sides in turn)", crop_one_side),
    Transform("rotate-90", "rotated 90 degrees", rotate_quarter),
    Transform("rotate-4", "rotated 4 degrees, same canvas", rotate_small),
    Transform("mirror", "horizontal mirror", mirror),
    Transform("watermark", "half-transparent logo and text", watermark),
    Transform("padding", "border 10-15% left and right", pad_sides),
    Transform("letterbox", "black bars above and below", letterbox),
    Transform("caption", "white caption band, 15% of height", caption_band),
    Transform("screenshot", "70% in a window, PNG", screenshot, format="PNG"),
)


# Generated pictures.


def generated_picture(seed: int) -> Image.Image:
    """Draw coloured shapes and words over a gradient with a noise texture."""
    rng = np.random.default_rng(seed)
    width, height = GENERATED_SIZES[int(rng.integers(len(GENERATED_SIZES)))]
    image = Image.fromarray(_background(rng, width, height), "RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(int(rng.integers(8, 16))):
        _draw_shape(draw, rng, width, height)
    for _ in range(int(rng.integers(1, 4))):
        size = int(rng.integers(height // 20, height // 8))
        words = rng.choice(WORDS, size=int(rng.integers(1, 3)))
        position = (int(rng.integers(0, width * 3 // 4)), int(rng.integers(0, height)))
        draw.text(
            position,
            " ".join(str(word) for word in words),
            font=ImageFont.load_default(size=size),
            fill=_colour(rng, 255),
        )
    # Fine grain, as a camera sensor leaves it.
    grain = rng.normal(0, 4, (height, width, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + grain, 0, 255)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Return a two-colour gradient at a random angle with a smooth texture."""
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width]
    position = xs * np.cos(angle) + ys * np.sin(angle)
    position = (position - position.min()) / max(float(np.ptp(position)), 1.0)
    start = rng.integers(0, 256, 3)
    end = rng.integers(0, 256, 3)
    gradient = start + position[..., None] * (end - start)
    # Noise on a coarse grid, scaled up with bicubic interpolation.
    cells = rng.integers(0, 256, (int(rng.integers(4, 12)), int(rng.integers(4, 12))))
    texture = Image.fromarray(cells.astype(np.uint8), "L").resize(
        (width, height), Image.Resampling.BICUBIC
    )
    amplitude = rng.uniform(20, 50)
    shade = (np.asarray(texture, dtype=np.float32) - 127.5) / 127.5 * amplitude
    return np.clip(gradient + shade[..., None], 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, alpha: int) -> tuple[int, int, int, int]:
    red, green, blue = (int(value) for value in rng.integers(0, 256, 3))
    return red, green, blue, alpha


def _draw_shape(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, height: int
) -> None:
    side = min(width, height)
    extent = int(rng.integers(side // 20, side * 2 // 5))
    x = int(rng.integers(-extent // 2, width))
    y = int(rng.integers(-extent // 2, height))
    fill = _colour(rng, int(rng.integers(160, 256)))
    shape = int(rng.integers(4))
    if shape == 0:
        draw.ellipse((x, y, x + extent, y + int(extent * rng.uniform(0.5, 1.5))), fill)
    elif shape == 1:
        draw.rectangle((x, y, x + int(extent * rng.uniform(0.5, 2)), y + extent), fill)
    elif shape == 2:
        corners = int(rng.integers(3, 7))
        points = [
            (x + int(rng.integers(0, extent)), y + int(rng.integers(0, extent)))
            for _ in range(corners)
        ]
        draw.polygon(points, fill)
    else:
        end = (
            x + int(rng.integers(-extent, extent)),
            y + int(rng.integers(-extent, extent)),
        )
        draw.line((x, y, *end), fill=fill, width=max(2, extent // 10))


# Originals.


def displayed_picture(path: Path) -> Image.Image:
    """Decode a picture as it is shown: EXIF orientation applied, RGB."""
    with Image.open(path) as image:
        shown = ImageOps.exif_transpose(image)
        return shown.convert("RGB")


def select_camera(root: Path) -> tuple[list[str], dict[str, str]]:
    """Return the usable camera photos, and the reason each other file is left out.

    Paths are relative to ``root``, sorted.
    """
    kept: list[str] = []
    skipped: dict[str, str] = {}
    for path in sorted(path for path in root.rglob("*") if path.is_file()):
        name = path.relative_to(root).as_posix()
        if name in PEOPLE:
            skipped[name] = "a person is the subject"
            continue
        if name.startswith(ORIENTATION_FOLDER) and name != ORIENTATION_KEPT:
            skipped[name] = f"same photo as {ORIENTATION_KEPT}"
            continue
        try:
            image = displayed_picture(path)
        except (OSError, ValueError, SyntaxError) as error:
            skipped[name] = f"not decodable: {error}"
            continue
        if min(image.size) < MIN_SIDE:
            skipped[name] = f"smaller than {MIN_SIDE} px: {image.width}x{image.height}"
            continue
        quality = pdq_of_image(image).quality
        if quality < MIN_QUALITY:
            skipped[name] = f"PDQ quality {quality}, under {MIN_QUALITY}"
            continue
        kept.append(name)
    return kept, skipped


def spread(items: list[str], count: int) -> list[str]:
    """Return ``count`` items taken at even steps through ``items``."""
    if count >= len(items):
        return items
    step = len(items) / count
    return [items[int(position * step)] for position in range(count)]


def write_camera(
    root: Path, names: list[str], folder: Path, first: int
) -> list[Original]:
    """Copy camera photos, bytes and EXIF unchanged, under numbered names."""
    originals = []
    for offset, name in enumerate(names):
        source = root / name
        slug = "".join(
            character if character.isascii() and character.isalnum() else "-"
            for character in source.stem
        )
        target = f"c{first + offset:03d}-{slug}{source.suffix.lower()}"
        shutil.copyfile(source, folder / target)
        originals.append(Original(target, "camera", name))
    return originals


def write_generated(seeds: range, folder: Path) -> list[Original]:
    """Draw and save generated pictures as PNG, skipping any too flat for PDQ."""
    originals = []
    for seed in seeds:
        image = generated_picture(seed)
        if pdq_of_image(image).quality < MIN_QUALITY:
            print(f"generated seed {seed}: PDQ quality under {MIN_QUALITY}, skipped")
            continue
        name = f"g{seed:04d}.png"
        image.save(folder / name, format="PNG")
        originals.append(Original(name, "generated", f"seed {seed}"))
    return originals


# Copies and plain PDQ.


@dataclass
class CopyRecord:
    """One copy and what each matcher made of it."""

    transform: str
    original: str
    kind: str
    path: str
    original_quality: int
    plain_distance: int
    plain_quality: int
    plain_found: bool
    plain_wrong: list[str] = field(default_factory=list)
    scut_verdict: str = ""
    scut_found: bool = False
    # "how/view" of the match with its own original, such as "pdq/trimmed".
    scut_stage: str = ""
    scut_variant: str = ""
    scut_distance: int | None = None
    scut_wrong: list[str] = field(default_factory=list)


def make_copies(
    job: tuple[int, Original, Path, Path],
) -> tuple[Original, tuple[str, int], dict[str, tuple[str, str, int]]]:
    """Write every transform's copy of one original and hash all of them.

    Returns the original, its plain PDQ hash and quality, and per transform
    the copy's path (relative to ``copies``), hash and quality.
    """
    index, original, originals_folder, copies = job
    image = displayed_picture(originals_folder / original.name)
    original_hash = pdq_of_image(image)
    stem = Path(original.name).stem
    results: dict[str, tuple[str, str, int]] = {}
    for transform in TRANSFORMS:
        copy = transform.apply(image, index)
        relative = f"{transform.name}/{stem}{transform.suffix}"
        if transform.format == "PNG":
            copy.save(copies / relative, format="PNG")
        else:
            copy.save(copies / relative, format="JPEG", quality=transform.quality)
        copy_hash = pdq_of_image(displayed_picture(copies / relative))
        results[transform.name] = (relative, copy_hash.hex, copy_hash.quality)
    return original, (original_hash.hex, original_hash.quality), results


def plain_match(left: tuple[str, int], right: tuple[str, int]) -> bool:
    """Return whether two (hash, quality) pairs match under plain PDQ."""
    if left[1] < MIN_QUALITY or right[1] < MIN_QUALITY:
        return False
    return hamming_distance(left[0], right[0]) <= PLAIN_MATCH_DISTANCE


def write_copies(
    originals: list[Original], originals_folder: Path, copies: Path, workers: int
) -> list[CopyRecord]:
    """Write the copies in a process pool and score them with plain PDQ."""
    for transform in TRANSFORMS:
        (copies / transform.name).mkdir(parents=True)
    jobs = [
        (index, original, originals_folder, copies)
        for index, original in enumerate(originals)
    ]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        hashed = list(pool.map(make_copies, jobs))
    original_hashes = {original.name: digest for original, digest, _ in hashed}
    records = []
    for original, digest, results in hashed:
        for transform in TRANSFORMS:
            relative, copy_hex, copy_quality = results[transform.name]
            copy_hash = (copy_hex, copy_quality)
            wrong = [
                name
                for name, other in original_hashes.items()
                if name != original.name and plain_match(copy_hash, other)
            ]
            records.append(
                CopyRecord(
                    transform=transform.name,
                    original=original.name,
                    kind=original.kind,
                    path=relative,
                    original_quality=digest[1],
                    plain_distance=hamming_distance(digest[0], copy_hex),
                    plain_quality=copy_quality,
                    plain_found=plain_match(digest, copy_hash),
                    plain_wrong=wrong,
                )
            )
    return records


# Scut.


def ingest(database: Database, settings: Settings, folder: Path, label: str) -> None:
    """Ingest ``folder`` as the exhibit ``label`` of case BENCH."""
    origin = Origin(case="BENCH", exhibit=label, unit="Bench Unit")
    started = time.perf_counter()
    summary = IngestJob(database, settings, [folder], origin).run()
    seconds = time.perf_counter() - started
    print(
        f"ingested {label}: {summary.files} files, {summary.errors} errors, "
        f"verdicts {summary.by_verdict}, {seconds:.1f} s",
        flush=True,
    )


def occurrences(database: Database, label: str) -> dict[str, Occurrence]:
    """Return the occurrences of one exhibit by path."""
    with database.session() as session:
        rows = session.scalars(
            select(Occurrence)
            .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
            .where(Exhibit.label == label)
        )
        return {row.path: row for row in rows}


def media_matches(occurrence: Occurrence) -> list[dict[str, Any]]:
    """Return the matches of an occurrence with media of earlier exhibits."""
    matches = occurrence.verdict_detail.get("matches", [])
    return [match for match in matches if match.get("source") == "case"]


def score_scut(
    records: list[CopyRecord], originals_folder: Path, copies: Path, workers: int
) -> dict[str, float]:
    """Ingest originals, then copies, into a fresh database and score the copies.

    Fills in the Scut fields of ``records`` and returns the ingest times.
    """
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="scut-accuracy-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), workers=workers)
        database = Database(settings)
        database.upgrade()
        for folder, label in ((originals_folder, "originals"), (copies, "copies")):
            started = time.perf_counter()
            ingest(database, settings, folder, label)
            timings[f"ingest_{label}_seconds"] = round(time.perf_counter() - started, 1)
        original_occurrences = occurrences(database, "originals")
        copy_occurrences = occurrences(database, "copies")
        database.dispose()
    original_ids = {path: row.media_id for path, row in original_occurrences.items()}
    names = {media_id: path for path, media_id in original_ids.items()}
    for record in records:
        occurrence = copy_occurrences.get(record.path)
        if occurrence is None:
            record.scut_verdict = "not recorded"
            continue
        record.scut_verdict = occurrence.verdict
        own = original_ids.get(record.original)
        for match in media_matches(occurrence):
            if match.get("media_id") != own:
                record.scut_wrong.append(names.get(match.get("media_id"), "?"))
            elif not record.scut_found:
                record.scut_found = True
                view = match.get("view")
                record.scut_stage = match["how"] + (f"/{view}" if view else "")
                record.scut_variant = match.get("variant", "")
                record.scut_distance = match.get("distance")
        if occurrence.verdict_detail.get("more_matches"):
            print(f"{record.path}: more matches than the verdict lists")
    return timings


# False matches among distinct pictures.


def distinct_false_matches(
    root: Path, camera: list[str], generated: int, workers: int
) -> dict[str, Any]:
    """Ingest distinct pictures as exhibits A and B, and count B files matched to A.

    A gets the first half of the camera photos and of a generated set drawn
    from other seeds than the originals, B the second halves.
    """
    folder_a = WORK / "distinct" / "a"
    folder_b = WORK / "distinct" / "b"
    folder_a.mkdir(parents=True)
    folder_b.mkdir(parents=True)
    half = len(camera) // 2
    seeds = range(DISTINCT_SEED, DISTINCT_SEED + generated)
    middle = DISTINCT_SEED + generated // 2
    pictures_a = write_camera(root, camera[:half], folder_a, 0)
    pictures_a += write_generated(range(seeds.start, middle), folder_a)
    pictures_b = write_camera(root, camera[half:], folder_b, half)
    pictures_b += write_generated(range(middle, seeds.stop), folder_b)

    hashes_a = {
        picture.name: _plain_hash(folder_a / picture.name) for picture in pictures_a
    }
    plain_pairs = []
    for picture in pictures_b:
        digest = _plain_hash(folder_b / picture.name)
        for name, other in hashes_a.items():
            if plain_match(digest, other):
                distance = hamming_distance(digest[0], other[0])
                plain_pairs.append([picture.name, name, distance])

    with tempfile.TemporaryDirectory(prefix="scut-accuracy-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), workers=workers)
        database = Database(settings)
        database.upgrade()
        ingest(database, settings, folder_a, "distinct-a")
        ingest(database, settings, folder_b, "distinct-b")
        names_a = {
            row.media_id: path
            for path, row in occurrences(database, "distinct-a").items()
        }
        rows_b = occurrences(database, "distinct-b")
        database.dispose()
    scut_pairs = []
    for path, row in sorted(rows_b.items()):
        for match in media_matches(row):
            scut_pairs.append(
                {
                    "b": path,
                    "a": names_a.get(match.get("media_id"), "?"),
                    "how": match.get("how"),
                    "view": match.get("view"),
                    "distance": match.get("distance"),
                }
            )
    return {
        "a": len(pictures_a),
        "b": len(pictures_b),
        "b_recorded": len(rows_b),
        "pairs": len(pictures_a) * len(pictures_b),
        "plain_false_pairs": plain_pairs,
        "scut_false_matches": scut_pairs,
        "scut_b_files_matched": len({pair["b"] for pair in scut_pairs}),
    }


def _plain_hash(path: Path) -> tuple[str, int]:
    digest = pdq_of_image(displayed_picture(path))
    return digest.hex, digest.quality


# Report.


def summarise(records: list[CopyRecord]) -> list[dict[str, Any]]:
    """Return one row of counts per transform."""
    rows = []
    for transform in TRANSFORMS:
        mine = [record for record in records if record.transform == transform.name]
        stages = Counter(record.scut_stage for record in mine if record.scut_found)
        row: dict[str, Any] = {
            "transform": transform.name,
            "description": transform.description,
            "copies": len(mine),
            "plain_found": sum(record.plain_found for record in mine),
            "scut_found": sum(record.scut_found for record in mine),
        }
        for kind in ("camera", "generated"):
            of_kind = [record for record in mine if record.kind == kind]
            row[kind] = len(of_kind)
            row[f"scut_found_{kind}"] = sum(record.scut_found for record in of_kind)
        row["scut_stages"] = dict(stages.most_common())
        row["plain_wrong"] = sum(bool(record.plain_wrong) for record in mine)
        row["scut_wrong"] = sum(bool(record.scut_wrong) for record in mine)
        rows.append(row)
    return rows


def percent(found: int, total: int) -> str:
    return f"{found}/{total} ({100 * found / total:.0f}%)" if total else "-"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Return the per-transform table in Markdown."""
    lines = [
        "| transform | copies | plain PDQ found | Scut found | Scut found, "
        "camera / generated | Scut found by (how/view of the copy: copies) "
        "| copies with a wrong match, plain / Scut |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in rows:
        stages = ", ".join(
            f"{stage}: {count}" for stage, count in row["scut_stages"].items()
        )
        lines.append(
            f"| {row['transform']} ({row['description']}) | {row['copies']} "
            f"| {percent(row['plain_found'], row['copies'])} "
            f"| {percent(row['scut_found'], row['copies'])} "
            f"| {row['scut_found_camera']}/{row['camera']} / "
            f"{row['scut_found_generated']}/{row['generated']} "
            f"| {stages or '-'} | {row['plain_wrong']} / {row['scut_wrong']} |"
        )
    return "\n".join(lines)


def print_misses(records: list[CopyRecord]) -> None:
    """Print each copy Scut missed, and each copy Scut matched to a wrong original."""
    for record in records:
        if not record.scut_found:
            note = " (plain PDQ found it)" if record.plain_found else ""
            print(
                f"missed {record.path} [{record.kind}]: verdict {record.scut_verdict}, "
                f"plain distance {record.plain_distance}{note}"
            )
    for record in records:
        if record.scut_wrong:
            print(f"wrong match {record.path}: {', '.join(record.scut_wrong)}")


def machine() -> dict[str, Any]:
    """Return the CPU model, core count, memory and Python version."""
    cpu = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
    }


def source_version() -> dict[str, Any]:
    """Return the Git commit and a SHA-256 of the Scut sources that ingest runs.

    The working tree may contain uncommitted changes, so the fingerprint of the
    sources, not the commit alone, identifies the code that was measured.
    """
    root = Path(scut.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in NOT_INGEST_PACKAGES:
            continue
        digest.update(relative.as_posix().encode())
        digest.update(path.read_bytes())
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        commit, changes = "", ""
    return {
        "commit": commit,
        "uncommitted_changes": bool(changes.strip()),
        "sources_sha256": digest.hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 6 camera photos and 6 generated pictures",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes for copies and for ingest (0: one per CPU core)",
    )
    parser.add_argument(
        "--generated",
        type=int,
        default=60,
        help="generated originals, and generated pictures in the distinct set",
    )
    parser.add_argument(
        "--camera", type=Path, default=SHARED_CAMERA, help="folder of camera photos"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=HERE / "results" / "accuracy.json",
        help="JSON file for the results",
    )
    arguments = parser.parse_args()
    workers = arguments.workers or len(os.sched_getaffinity(0))
    generated = 6 if arguments.quick else arguments.generated
    started = time.perf_counter()
    version = source_version()

    shutil.rmtree(WORK, ignore_errors=True)
    originals_folder = WORK / "originals"
    copies = WORK / "copies"
    originals_folder.mkdir(parents=True)
    camera, skipped = select_camera(arguments.camera)
    if arguments.quick:
        camera = spread(camera, 6)
    originals = write_camera(arguments.camera, camera, originals_folder, 0)
    originals += write_generated(
        range(ORIGINAL_SEED, ORIGINAL_SEED + generated), originals_folder
    )
    print(f"{len(camera)} camera photos and {len(originals) - len(camera)} generated")
    for name, reason in skipped.items():
        print(f"left out {name}: {reason}")

    phase = time.perf_counter()
    records = write_copies(originals, originals_folder, copies, workers)
    timings = {"copies_seconds": round(time.perf_counter() - phase, 1)}
    print(f"wrote {len(records)} copies in {timings['copies_seconds']} s", flush=True)
    timings |= score_scut(records, originals_folder, copies, workers)

    phase = time.perf_counter()
    distinct = distinct_false_matches(arguments.camera, camera, generated, workers)
    timings["distinct_seconds"] = round(time.perf_counter() - phase, 1)
    timings["total_seconds"] = round(time.perf_counter() - started, 1)

    rows = summarise(records)
    print_misses(records)
    print()
    print(markdown_table(rows))
    print()
    print(
        f"distinct pictures: {distinct['a']} in A, {distinct['b']} in B; "
        f"plain PDQ false pairs {len(distinct['plain_false_pairs'])}, "
        f"Scut B files matched to A {distinct['scut_b_files_matched']}"
    )
    for pair in distinct["scut_false_matches"]:
        print(f"false match: {pair}")
    for pair in distinct["plain_false_pairs"]:
        print(f"plain PDQ false pair: {pair}")
    print(f"timings: {timings}")
    if source_version()["sources_sha256"] != version["sources_sha256"]:
        # Workers started later import the newer code, so one run may have
        # hashed originals and copies with different versions of Scut.
        version["changed_during_run"] = True
        print(
            "WARNING: Scut's sources changed during the run, so the results may "
            "mix two versions. Run it again."
        )

    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "scut": version,
        "workers": workers,
        "quick": arguments.quick,
        "camera": camera,
        "camera_left_out": skipped,
        "generated": [
            original.source for original in originals if original.kind == "generated"
        ],
        "transforms": rows,
        "distinct": distinct,
        "timings": timings,
        "copies": [asdict(record) for record in records],
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written to {arguments.output}")


if __name__ == "__main__":
    main()
