"""exporters/png.py: the PNG writer Blender's preview uses, read back by Pillow bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from exporters.png import encode_png, write_png


@pytest.mark.parametrize("channels, mode", [(4, "RGBA"), (3, "RGB")])
def test_png_round_trips_through_pillow(tmp_path, channels, mode):
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8)  # odd sizes: row strides matter
    write_png(tmp_path / "x.png", pixels)
    with Image.open(tmp_path / "x.png") as im:
        assert im.mode == mode and im.size == (53, 37)
        np.testing.assert_array_equal(np.asarray(im), pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary file left


def test_png_refuses_other_arrays():
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        encode_png(np.zeros((4, 4), np.uint8))
