"""Benign benchmark pictures: drawn landscapes with sensor-like noise.

Noise keeps JPEG sizes realistic (a 12 MP photo of 3-6 MB at quality 92);
a flat drawing would compress to a few hundred kilobytes and flatter every
number measured on it.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZES = {"12mp": (4000, 3000), "2mp": (1600, 1200)}


def landscape(width: int, height: int, seed: int) -> Image.Image:
    """Draw a landscape (sky, sun, hills, lake) with per-pixel noise."""
    generator = random.Random(seed)
    sky = np.linspace(
        (generator.randrange(60, 140), 150, 235), (220, 230, 250), height
    ).astype(np.uint8)
    pixels = np.repeat(sky[:, None, :], width, axis=1)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    sun = generator.randrange(width // 8, width - width // 8)
    draw.ellipse(
        (sun, height // 10, sun + width // 12, height // 10 + width // 12),
        fill=(255, 220, 120),
    )
    for layer in range(4):
        base = height // 2 + layer * height // 10
        points = [(0, height)]
        for x in range(0, width + 1, max(1, width // 24)):
            points.append((x, base + generator.randrange(-height // 12, height // 12)))
        points.append((width, height))
        shade = 40 + layer * 30
        draw.polygon(points, fill=(shade // 2, 90 + layer * 25, shade // 3))
    draw.rectangle((0, int(height * 0.85), width, height), fill=(40, 90, 150))
    image = image.filter(ImageFilter.GaussianBlur(radius=2))
    noise = np.random.default_rng(seed).normal(0, 10, (height, width, 3))
    noisy = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255)
    return Image.fromarray(noisy.astype(np.uint8), "RGB")


def write_set(
    folder: Path, size_name: str, count: int, quality: int = 92
) -> list[Path]:
    """Write ``count`` JPEGs of one size into ``folder``, reusing earlier ones."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size_name]
    paths = []
    for index in range(count):
        path = folder / f"{size_name}_{index:04d}.jpg"
        if not path.exists():
            output = io.BytesIO()
            landscape(width, height, seed=index).save(
                output, format="JPEG", quality=quality
            )
            path.write_bytes(output.getvalue())
        paths.append(path)
    return paths
