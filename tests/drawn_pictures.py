"""Benign test pictures drawn with Pillow, shared by the matching tests."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw


def draw_picture(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """Draw a diagonal dark-to-light gradient under random rectangles and ellipses.

    No edge row or column is uniform, so trimming leaves the picture whole.
    """
    rng = random.Random(seed)
    width, height = size
    dark = np.array([rng.randrange(0, 80) for _ in range(3)], dtype=np.float64)
    light = np.array([rng.randrange(175, 256) for _ in range(3)], dtype=np.float64)
    rows, columns = np.mgrid[0:height, 0:width]
    share = (columns / width + rows / height) / 2
    pixels = dark + (light - dark) * share[..., None]
    picture = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(14):
        left, top = rng.randrange(width), rng.randrange(height)
        box = (left, top, left + rng.randrange(30, 200), top + rng.randrange(30, 160))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.rectangle(box, fill=colour)
        else:
            draw.ellipse(box, fill=colour)
    return picture
