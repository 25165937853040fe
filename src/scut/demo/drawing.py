"""Benign demo pictures drawn with Pillow: landscapes, everyday objects, test charts.

The demo evidence must never show people, so every scene is built from plain
shapes (gradients, polygons, ellipses, lines) and nothing is loaded from disk.
All randomness comes from the ``random.Random`` passed in, so a seeded generator
gives the same pixels on every run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from PIL import Image, ImageDraw

Colour = tuple[int, int, int]
Size = tuple[int, int]
Box = tuple[int, int, int, int]

SCENE_KINDS = ("landscape", "house", "car", "cup", "bars", "grid", "circles")
VIDEO_MOTIFS = ("car", "ball", "sun")

_TREE_GREENS: tuple[Colour, ...] = ((34, 110, 52), (46, 125, 60), (28, 92, 44))
_BODY_COLOURS: tuple[Colour, ...] = (
    (200, 40, 40),
    (40, 90, 180),
    (230, 190, 40),
    (90, 160, 90),
    (240, 240, 235),
)


def draw_scene(kind: str, size: Size, rng: random.Random) -> Image.Image:
    """Draw one RGB scene of ``kind`` (one of ``SCENE_KINDS``) at ``size`` pixels."""
    painters: dict[str, Callable[[Size, random.Random], Image.Image]] = {
        "landscape": draw_landscape,
        "house": _draw_house_scene,
        "car": _draw_car_scene,
        "cup": _draw_cup_scene,
        "bars": _draw_colour_bars,
        "grid": _draw_grid_chart,
        "circles": _draw_circle_chart,
    }
    if kind not in painters:
        raise ValueError(f"unknown scene kind {kind!r}. Expected one of {SCENE_KINDS}")
    return painters[kind](size, rng)


def draw_landscape(size: Size, rng: random.Random) -> Image.Image:
    """Draw sky, sun, clouds, two rows of hills, sometimes a lake, and trees."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.45, 0.6))

    _fill_sky(draw, (0, 0, width, horizon), rng)
    _draw_sun(draw, size, horizon, rng)
    _draw_clouds(draw, size, horizon, rng)
    _draw_hills(draw, size, horizon, rng)

    if rng.random() < 0.5:
        _draw_lake(draw, size, horizon, rng)
    _draw_trees(draw, size, horizon, rng.randint(3, 9), rng)
    return image


def draw_video_frame(
    background: Image.Image, motif: str, progress: float
) -> Image.Image:
    """Draw one frame: ``motif`` (one of ``VIDEO_MOTIFS``) moved over ``background``.

    ``progress`` runs from 0.0 (first frame) to 1.0 (last frame), so the motion
    depends only on the frame's position in the clip.
    """
    painters: dict[str, Callable[[ImageDraw.ImageDraw, Size, float], None]] = {
        "car": _draw_moving_car,
        "ball": _draw_bouncing_ball,
        "sun": _draw_sun_crossing_sky,
    }
    if motif not in painters:
        raise ValueError(
            f"unknown video motif {motif!r}. Expected one of {VIDEO_MOTIFS}"
        )
    frame = background.copy()
    painters[motif](ImageDraw.Draw(frame), frame.size, progress)
    return frame


def _draw_moving_car(draw: ImageDraw.ImageDraw, size: Size, progress: float) -> None:
    width, height = size
    car_width = width // 4
    left = int(-car_width + progress * (width + car_width))
    top = int(height * 0.68)
    _draw_car(draw, (left, top, left + car_width, top + car_width // 2), 0)


def _draw_bouncing_ball(draw: ImageDraw.ImageDraw, size: Size, progress: float) -> None:
    width, height = size
    radius = height // 12
    centre_x = int(radius + progress * (width - 2 * radius))
    # Four bounces over the clip, each touching the ground at 85% of the height.
    bounce = abs(math.sin(progress * math.pi * 4))
    centre_y = int(height * 0.85 - radius - bounce * height * 0.45)
    box = _circle_box(centre_x, centre_y, radius)
    draw.ellipse(box, fill=(220, 60, 50), outline=(90, 20, 20), width=2)


def _draw_sun_crossing_sky(
    draw: ImageDraw.ImageDraw, size: Size, progress: float
) -> None:
    width, height = size
    # The sun follows an arc from low on the left, over the top, to low on the right.
    angle = math.pi * (0.9 - 0.8 * progress)
    centre_x = int(width / 2 + math.cos(angle) * width * 0.4)
    centre_y = int(height * 0.5 - math.sin(angle) * height * 0.4)
    draw.ellipse(_circle_box(centre_x, centre_y, height // 10), fill=(255, 214, 80))


def _circle_box(centre_x: int, centre_y: int, radius: int) -> Box:
    return (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)


def _mix(first: Colour, second: Colour, weight: float) -> Colour:
    red, green, blue = (
        round(a + (b - a) * weight) for a, b in zip(first, second, strict=True)
    )
    return (red, green, blue)


def _jitter(colour: Colour, rng: random.Random, spread: int = 20) -> Colour:
    red, green, blue = (
        min(255, max(0, c + rng.randint(-spread, spread))) for c in colour
    )
    return (red, green, blue)


def _fill_gradient(
    draw: ImageDraw.ImageDraw, box: Box, top: Colour, bottom: Colour
) -> None:
    left, upper, right, lower = box
    rows = max(1, lower - upper - 1)
    for y in range(upper, lower):
        draw.line(
            [(left, y), (right - 1, y)], fill=_mix(top, bottom, (y - upper) / rows)
        )


def _fill_sky(draw: ImageDraw.ImageDraw, box: Box, rng: random.Random) -> None:
    top = _jitter((40, 90, 170), rng)
    bottom = _jitter((180, 210, 235), rng)
    _fill_gradient(draw, box, top, bottom)


def _draw_sun(
    draw: ImageDraw.ImageDraw, size: Size, horizon: int, rng: random.Random
) -> None:
    width, _ = size
    radius = int(horizon * rng.uniform(0.08, 0.16))
    centre_x = rng.randint(radius, width - radius)
    centre_y = rng.randint(radius, max(radius, horizon - 2 * radius))
    draw.ellipse(
        _circle_box(centre_x, centre_y, radius), fill=_jitter((255, 215, 90), rng, 10)
    )


def _draw_clouds(
    draw: ImageDraw.ImageDraw, size: Size, horizon: int, rng: random.Random
) -> None:
    width, _ = size
    for _ in range(rng.randint(2, 4)):
        centre_x = rng.randint(0, width)
        centre_y = rng.randint(horizon // 10, horizon // 2)
        puff = max(8, horizon // 12)
        for offset in (-puff, 0, puff):
            box = (
                centre_x + offset - puff,
                centre_y - puff // 2,
                centre_x + offset + puff,
                centre_y + puff // 2 + (puff if offset == 0 else 0),
            )
            draw.ellipse(box, fill=(246, 246, 250))


def _draw_hills(
    draw: ImageDraw.ImageDraw, size: Size, horizon: int, rng: random.Random
) -> None:
    width, height = size
    colours = (_jitter((95, 140, 110), rng), _jitter((70, 150, 60), rng))
    step = max(4, width // 80)

    for layer, colour in enumerate(colours):
        base = horizon + layer * height * 0.1
        amplitude = height * rng.uniform(0.03, 0.09)
        frequency = rng.uniform(1.0, 3.0) * 2 * math.pi / width
        phase = rng.uniform(0, 2 * math.pi)
        crest = [
            (x, base - amplitude * (1 + math.sin(frequency * x + phase)) / 2)
            for x in range(0, width + step, step)
        ]
        draw.polygon([*crest, (width, height), (0, height)], fill=colour)


def _draw_lake(
    draw: ImageDraw.ImageDraw, size: Size, horizon: int, rng: random.Random
) -> None:
    width, height = size
    lake_width = int(width * rng.uniform(0.3, 0.55))
    left = rng.randint(0, width - lake_width)
    top = int(horizon + (height - horizon) * rng.uniform(0.35, 0.55))
    lower = min(height - 1, top + (height - horizon) // 3)
    draw.ellipse(
        (left, top, left + lake_width, lower), fill=_jitter((60, 120, 190), rng, 12)
    )

    # A pale streak makes the ellipse read as water rather than a blue hole.
    middle = (top + lower) // 2
    draw.line(
        [(left + lake_width // 4, middle), (left + 3 * lake_width // 4, middle)],
        fill=(170, 205, 235),
        width=max(2, height // 200),
    )


def _draw_trees(
    draw: ImageDraw.ImageDraw, size: Size, horizon: int, count: int, rng: random.Random
) -> None:
    width, height = size
    for _ in range(count):
        tree_height = int(height * rng.uniform(0.12, 0.25))
        foot_x = rng.randint(0, width)
        foot_y = rng.randint(horizon + height // 20, height - 1)
        trunk = max(3, tree_height // 10)
        draw.rectangle(
            (
                foot_x - trunk // 2,
                foot_y - tree_height // 3,
                foot_x + trunk // 2,
                foot_y,
            ),
            fill=(101, 67, 33),
        )

        crown_top = foot_y - tree_height
        half = tree_height // 4
        draw.polygon(
            [
                (foot_x, crown_top),
                (foot_x - half, foot_y - tree_height // 4),
                (foot_x + half, foot_y - tree_height // 4),
            ],
            fill=rng.choice(_TREE_GREENS),
        )


def _draw_ground_scene(size: Size, rng: random.Random, ground: Colour) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.6)
    _fill_sky(draw, (0, 0, width, horizon), rng)
    _draw_clouds(draw, size, horizon, rng)
    draw.rectangle((0, horizon, width, height), fill=_jitter(ground, rng, 10))
    return image


def _draw_house_scene(size: Size, rng: random.Random) -> Image.Image:
    image = _draw_ground_scene(size, rng, (90, 160, 70))
    draw = ImageDraw.Draw(image)
    width, height = size
    house_width = int(width * rng.uniform(0.3, 0.45))
    left = rng.randint(width // 20, width - house_width - width // 20)
    floor = int(height * 0.82)
    _draw_house(draw, left, floor, house_width, rng.choice(_BODY_COLOURS))
    _draw_trees(draw, size, int(height * 0.6), rng.randint(1, 3), rng)
    return image


def _draw_house(
    draw: ImageDraw.ImageDraw, left: int, floor: int, house_width: int, wall: Colour
) -> None:
    top = floor - int(house_width * 0.6)
    draw.rectangle((left, top, left + house_width, floor), fill=wall)
    draw.polygon(
        [
            (left - house_width // 10, top),
            (left + house_width // 2, top - house_width // 3),
            (left + house_width * 11 // 10, top),
        ],
        fill=(150, 60, 40),
    )

    unit = house_width // 10
    draw.rectangle(
        (left + 4 * unit, floor - 4 * unit, left + 6 * unit, floor), fill=(95, 60, 30)
    )
    for window_left in (left + unit, left + 7 * unit):
        window = (window_left, top + unit, window_left + 2 * unit, top + 3 * unit)
        draw.rectangle(
            window, fill=(200, 225, 245), outline=(60, 60, 60), width=max(2, unit // 6)
        )


def _draw_car(draw: ImageDraw.ImageDraw, box: Box, colour_index: int) -> None:
    left, top, right, lower = box
    width = right - left
    height = lower - top
    body_top = top + height * 2 // 5
    draw.rounded_rectangle(
        (left, body_top, right, lower - height // 5),
        radius=max(2, height // 8),
        fill=_BODY_COLOURS[colour_index % len(_BODY_COLOURS)],
    )

    cabin = [
        (left + width // 5, body_top),
        (left + width * 3 // 10, top),
        (left + width * 7 // 10, top),
        (left + width * 4 // 5, body_top),
    ]
    draw.polygon(cabin, fill=(170, 200, 225), outline=(50, 50, 50))

    wheel = height // 5
    for centre_x in (left + width // 4, right - width // 4):
        centre_y = lower - wheel
        draw.ellipse(_circle_box(centre_x, centre_y, wheel), fill=(30, 30, 30))
        hub = _circle_box(centre_x, centre_y, wheel // 2)
        draw.ellipse(hub, fill=(180, 180, 180))


def _draw_car_scene(size: Size, rng: random.Random) -> Image.Image:
    image = _draw_ground_scene(size, rng, (110, 110, 115))
    draw = ImageDraw.Draw(image)
    width, height = size
    lane_y = int(height * 0.8)
    dash = max(10, width // 20)
    for x in range(0, width, 2 * dash):
        draw.line(
            [(x, lane_y), (x + dash, lane_y)],
            fill=(240, 240, 240),
            width=max(2, height // 150),
        )

    car_width = int(width * rng.uniform(0.35, 0.5))
    left = rng.randint(0, width - car_width)
    top = int(height * 0.72) - car_width // 3
    _draw_car(
        draw, (left, top, left + car_width, top + car_width // 2), rng.randrange(5)
    )
    return image


def _draw_cup_scene(size: Size, rng: random.Random) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    table_top = int(height * 0.62)
    _fill_gradient(
        draw, (0, 0, width, table_top), _jitter((225, 215, 195), rng), (190, 180, 160)
    )
    draw.rectangle((0, table_top, width, height), fill=_jitter((150, 100, 60), rng, 10))

    cup_width = int(width * rng.uniform(0.18, 0.28))
    left = rng.randint(width // 5, width - cup_width - width // 5)
    _draw_cup(draw, left, int(height * 0.8), cup_width, rng.choice(_BODY_COLOURS))
    return image


def _draw_cup(
    draw: ImageDraw.ImageDraw, left: int, bottom: int, cup_width: int, colour: Colour
) -> None:
    top = bottom - int(cup_width * 1.1)
    rim = cup_width // 6
    # Saucer, then handle, body and the coffee seen from slightly above.
    draw.ellipse(
        (left - rim * 2, bottom - rim, left + cup_width + rim * 2, bottom + rim),
        fill=(235, 235, 235),
        outline=(160, 160, 160),
    )
    draw.arc(
        (
            left + cup_width - rim * 2,
            top + rim,
            left + cup_width + rim * 2,
            top + rim * 4,
        ),
        start=-90,
        end=90,
        fill=colour,
        width=max(3, rim // 2),
    )
    draw.rectangle((left, top + rim // 2, left + cup_width, bottom), fill=colour)
    draw.ellipse(
        (left, top, left + cup_width, top + rim), fill=(110, 70, 40), outline=colour
    )


def _draw_colour_bars(size: Size, rng: random.Random) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(image)
    # The seven 75% bars of a classic broadcast test signal.
    bars: list[Colour] = [
        (192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0),
        (192, 0, 192), (192, 0, 0), (0, 0, 192),
    ]  # fmt: skip
    _fill_columns(draw, bars, (0, width), (0, height * 2 // 3))

    steps = rng.randint(8, 12)
    greys = [round(255 * index / (steps - 1)) for index in range(steps)]
    ramp: list[Colour] = [(grey, grey, grey) for grey in greys]
    _fill_columns(draw, ramp, (0, width), (height * 3 // 4, height))
    return image


def _fill_columns(
    draw: ImageDraw.ImageDraw,
    colours: list[Colour],
    span_x: tuple[int, int],
    span_y: tuple[int, int],
) -> None:
    left, right = span_x
    column = (right - left) / len(colours)
    for index, colour in enumerate(colours):
        box = (
            round(left + index * column),
            span_y[0],
            round(left + (index + 1) * column),
            span_y[1],
        )
        draw.rectangle(box, fill=colour)


def _draw_grid_chart(size: Size, rng: random.Random) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(image)
    spacing = rng.choice((20, 32, 40, 50))
    for x in range(0, width, spacing):
        draw.line([(x, 0), (x, height)], fill=(60, 60, 60))
    for y in range(0, height, spacing):
        draw.line([(0, y), (width, y)], fill=(60, 60, 60))

    centre_x, centre_y = width // 2, height // 2
    radius = min(width, height) * 2 // 5
    draw.ellipse(
        _circle_box(centre_x, centre_y, radius),
        outline=(200, 30, 30),
        width=max(2, radius // 60),
    )
    draw.line([(0, 0), (width, height)], fill=(30, 30, 200), width=2)
    draw.line([(0, height), (width, 0)], fill=(30, 30, 200), width=2)
    return image


def _draw_circle_chart(size: Size, rng: random.Random) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    centre_x, centre_y = width // 2, height // 2
    ring = rng.randint(8, 16)
    palette = ((20, 20, 20), (230, 230, 230), (200, 40, 40), (40, 40, 200))

    for index, radius in enumerate(range(min(width, height) // 2, 0, -ring)):
        colour = palette[index % len(palette)]
        draw.ellipse(_circle_box(centre_x, centre_y, radius), fill=colour)
    return image
