"""PDQ perceptual hashes of pictures, with Meta's reference implementation.

Hashes are written as 64 hex digits, most significant bit first, which is
the form ThreatExchange and other PDQ tools exchange.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

# PDQ's reference tools downscale to 512x512 before hashing; the hash is
# computed on a 64x64 luminance grid, so more pixels only cost time.
PDQ_INPUT_SIZE = 512


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A PDQ hash as hex and its quality, 0 (flat) to 100."""

    hex: str
    quality: int


def bits_to_hex(bits: np.ndarray) -> str:
    """Return the hex form of PDQ's 256-element bit vector."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hex_to_bits(value: str) -> np.ndarray:
    """Return the 256-element bit vector of a hex PDQ hash."""
    if len(value) != 64:
        raise ValueError(f"a PDQ hash has 64 hex digits, got {len(value)}: {value!r}")
    return np.unpackbits(np.frombuffer(bytes.fromhex(value), dtype=np.uint8))


def hamming_distance(left: str, right: str) -> int:
    """Return the number of differing bits between two hex PDQ hashes."""
    return (int(left, 16) ^ int(right, 16)).bit_count()


def pdq_of_image(image: Image.Image) -> PdqHash:
    """Hash an RGB picture, resizing it to the PDQ input size first."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.size != (PDQ_INPUT_SIZE, PDQ_INPUT_SIZE):
        image = image.resize(
            (PDQ_INPUT_SIZE, PDQ_INPUT_SIZE), Image.Resampling.BILINEAR
        )
    bits, quality = pdqhash.compute(np.asarray(image))
    return PdqHash(hex=bits_to_hex(bits), quality=int(quality))
