"""Live Link Face CSV: exact round-trips of real captures, synthetic takes at common rates, bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, shared
from helpers import random_track

from exporters.formats import read_track, write_track
from exporters.livelink import (
    LLF_HEADER,
    format_timecode,
    parse_timecode,
    read_livelink_csv,
    write_livelink_csv,
)
from talkclip_model.arkit import ARKIT_NAMES, INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack

CAPTURES = sorted(str(p.relative_to(SHARED_DATA)) for p in SHARED_DATA.glob("livelink_face_*/*.csv.gz"))


@pytest.mark.parametrize("rel", CAPTURES or ["livelink_face_alexdjulin/alex_rom_3.csv.gz"])
def test_real_capture_reexports_byte_for_byte(rel, tmp_path):
    src = shared(*Path(rel).parts)
    original = gzip.decompress(src.read_bytes())
    track = read_track(src)
    assert track.num_frames == original.count(b"\n") - 1
    write_track(track, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == original


@pytest.mark.parametrize("rel", ["livelink_face_alexdjulin/alex_rom_4.csv.gz",
                                 "livelink_face_neurosync/Angry_MySlate_164_iPhone_cal.csv.gz"])
def test_real_capture_through_json_and_npz_reexports_identically(rel, tmp_path):
    src = shared(*Path(rel).parts)
    original = gzip.decompress(src.read_bytes())
    track = read_track(src)
    for fmt in ("json", "npz"):
        write_track(track, tmp_path / f"t.{fmt}")
        again = read_track(tmp_path / f"t.{fmt}")
        assert np.array_equal(again.arkit, track.arkit) and np.array_equal(again.head, track.head)
        write_track(again, tmp_path / f"again_{fmt}.csv")
        assert (tmp_path / f"again_{fmt}.csv").read_bytes() == original


def test_real_capture_values_rate_and_count_spelling(tmp_path):
    src = shared("livelink_face_neurosync", "Neutral_default_Happy.csv.gz")
    text = gzip.decompress(src.read_bytes()).decode()
    header = text.splitlines()[0].split(",")
    assert header[1] == "BlendshapeCount"  # the spelling variant of this export
    first = text.splitlines()[1].split(",")
    track = read_track(src)
    assert track.fps == pytest.approx(59.94)
    assert track.arkit[0, INDEX["jawOpen"]] == np.float32(float(first[header.index("JawOpen")]))
    assert track.meta["livelink"]["timecodes"][0] == first[0]
    write_track(track, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_text().splitlines()[0].split(",")[1] == "BlendshapeCount"


def test_30hz_rows_of_60fps_timecodes():
    src = shared("livelink_face_alexdjulin", "alex_rom_3.csv.gz")
    track = read_track(src)
    assert track.meta["timecode_base"] == 60
    assert track.fps == pytest.approx(29.97)
    assert track.duration == pytest.approx(134.5, abs=1.0)


@pytest.mark.parametrize("fps", [24.0, 25.0, 29.97, 30.0, 60.0])
def test_synthetic_track_round_trips_exactly(fps, tmp_path):
    track = random_track(fps=fps)
    write_livelink_csv(track, tmp_path / "t.csv")
    back = read_livelink_csv(tmp_path / "t.csv")
    assert back.fps == pytest.approx(fps)
    assert np.array_equal(back.arkit, track.arkit)
    assert np.array_equal(back.head, track.head)
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].split(",") == list(LLF_HEADER)
    assert len(lines) == track.num_frames + 1 and all(len(ln.split(",")) == 63 for ln in lines)
    # re-writing what we read is identical (its timecodes are kept)
    write_livelink_csv(back, tmp_path / "u.csv")
    assert (tmp_path / "u.csv").read_bytes() == (tmp_path / "t.csv").read_bytes()


@pytest.mark.parametrize("seconds", [0.0, 1 / 30, 59.99, 3599.5, 47_584.3])
def test_timecode_round_trip(seconds):
    text = format_timecode(seconds, 60)
    assert len(text) == len("HH:MM:SS:FF.mmm")
    assert parse_timecode(text, 60) == pytest.approx(seconds, abs=1 / 60 / 1000)


def test_gzip_output_and_reordered_columns(tmp_path):
    track = random_track()
    write_livelink_csv(track, tmp_path / "t.csv.gz")
    rows = gzip.decompress((tmp_path / "t.csv.gz").read_bytes()).decode().splitlines()
    back = read_track(tmp_path / "t.csv.gz")
    assert np.array_equal(back.arkit, track.arkit)
    # swap two columns everywhere: columns are found by name
    cells = [r.split(",") for r in rows]
    for r in cells:
        r[2], r[20] = r[20], r[2]
    (tmp_path / "swapped.csv").write_text("\n".join(",".join(r) for r in cells) + "\n")
    assert np.array_equal(read_track(tmp_path / "swapped.csv").arkit, track.arkit)


def _write_rows(path, rows):
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    return path


@pytest.fixture
def good_rows(tmp_path):
    write_livelink_csv(random_track(n=5), tmp_path / "good.csv")
    return [ln.split(",") for ln in (tmp_path / "good.csv").read_text().splitlines()]


def test_missing_column_is_named(tmp_path, good_rows):
    j = good_rows[0].index("JawOpen")
    rows = [r[:j] + r[j + 1:] for r in good_rows]
    with pytest.raises(TalkclipError, match=r"bad\.csv.*missing columns JawOpen"):
        read_track(_write_rows(tmp_path / "bad.csv", rows))


def test_ragged_row_nan_and_text_are_errors_naming_file_and_row(tmp_path, good_rows):
    rows = [list(r) for r in good_rows]
    rows[3] = rows[3][:-1]
    with pytest.raises(TalkclipError, match=r"ragged\.csv: row 4 has 62 values"):
        read_track(_write_rows(tmp_path / "ragged.csv", rows))
    rows = [list(r) for r in good_rows]
    rows[2][10] = "nan"
    with pytest.raises(TalkclipError, match=r"nan\.csv: row 3, column .*NaN"):
        read_track(_write_rows(tmp_path / "nan.csv", rows))
    rows = [list(r) for r in good_rows]
    rows[2][5] = "abc"
    with pytest.raises(TalkclipError, match=r"text\.csv: row 3, column .*not a number"):
        read_track(_write_rows(tmp_path / "text.csv", rows))
    with pytest.raises(TalkclipError, match="empty"):
        read_track(_write_rows(tmp_path / "empty.csv", [[""]]))
    with pytest.raises(TalkclipError, match="no frames"):
        read_track(_write_rows(tmp_path / "header.csv", good_rows[:1]))


def test_head_columns_optional_and_nan_track_rejected(tmp_path, good_rows):
    keep = [j for j, h in enumerate(good_rows[0]) if not h.startswith(("Head", "Left", "Right"))]
    rows = [[r[j] for j in keep] for r in good_rows]
    track = read_track(_write_rows(tmp_path / "nohead.csv", rows))
    assert np.all(track.head == 0) and track.num_frames == 5
    write_track(track, tmp_path / "nohead_again.csv")  # keeps its own (shorter) column set
    assert (tmp_path / "nohead_again.csv").read_text() == (tmp_path / "nohead.csv").read_text()


def test_failed_write_leaves_existing_output(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious")
    with pytest.raises(TalkclipError, match="already exists"):
        write_livelink_csv(random_track(), out, overwrite=False)
    assert out.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]  # no temporary file left behind


def test_edited_track_gets_fresh_timecodes(tmp_path):
    src = shared("livelink_face_neurosync", "Sad_MySlate_167_iPhone_cal.csv.gz")
    track = read_track(src)
    short = ExpressionTrack(fps=track.fps, arkit=track.arkit[:10], head=track.head[:10], meta=track.meta)
    write_track(short, tmp_path / "short.csv")
    back = read_track(tmp_path / "short.csv")
    assert back.num_frames == 10 and np.array_equal(back.arkit, short.arkit)
    assert back.meta["livelink"]["timecodes"][0] == track.meta["timecode_start"]
    assert back.fps == pytest.approx(track.fps, rel=1e-3)
    assert list(ARKIT_NAMES) == [n for n in ARKIT_NAMES]
