"""Write very large PNGs without holding them in memory: a blank page compresses about a
thousandfold, so a test can make a 12000x12000 image that is a few hundred KB on disk
and a few MB in this process, the way a hostile or careless user's file would be."""

from __future__ import annotations

import struct
import zlib

_COLOUR_TYPES = {"L": (0, 1), "RGB": (2, 3), "LA": (4, 2), "RGBA": (6, 4)}


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_png(path, width: int, height: int, mode: str = "L", paper=255, ink=0,
              box=None) -> None:
    """A ``width x height`` 8-bit PNG in ``mode`` (L, LA, RGB, RGBA): ``paper`` everywhere
    and a solid ``ink`` rectangle ``box = (top, left, bottom, right)`` (a crude digit 1),
    written one row at a time. ``paper``/``ink``: an int (every channel) or a tuple."""
    colour_type, channels = _COLOUR_TYPES[mode]

    def pixel(value) -> bytes:
        return bytes(value) if isinstance(value, tuple) else bytes([value] * channels)

    blank = b"\x00" + pixel(paper) * width  # filter byte "none", then the pixels
    inked = blank
    if box is not None:
        top, left, bottom, right = box
        inked = (b"\x00" + pixel(paper) * left + pixel(ink) * (right - left)
                 + pixel(paper) * (width - right))
    top, bottom = (box[0], box[2]) if box is not None else (height, height)
    packer = zlib.compressobj(1)
    parts = []
    for row_bytes, count in ((blank, top), (inked, bottom - top), (blank, height - bottom)):
        for start in range(0, count, 256):  # 256 rows at a time: a few MB at most
            parts.append(packer.compress(row_bytes * min(256, count - start)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(_chunk(b"IHDR", header))
        f.write(_chunk(b"IDAT", b"".join(parts)))
        f.write(_chunk(b"IEND", b""))
