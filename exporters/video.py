"""Frames (+ an audio file) -> an H.264 MP4 through an ffmpeg executable.

The executable is the system's ``ffmpeg`` when there is one on PATH, else the one inside the
``imageio-ffmpeg`` wheel (BSD-2-Clause wrapper; the binary it carries is an LGPL/GPL build of
FFmpeg, fine beside this GPL-3.0-or-later project), which the ``preview`` extra installs. Frames
go to ffmpeg's stdin as raw RGB; nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterable

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_path

FFMPEG_HINT = "install ffmpeg (apt-get install ffmpeg) or pip install imageio-ffmpeg (part of 'talkclip[preview]')"


def ffmpeg_exe() -> str:
    """Path of an ffmpeg executable; one line saying how to get one when there is none."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        raise TalkclipError(f"writing .mp4 needs ffmpeg: {FFMPEG_HINT}; or write PNG frames (--out DIR/)") from None


def _command(exe: str, size: tuple[int, int], fps: float, audio: tuple[Path, float, float] | None, out: Path) -> list[str]:
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{size[0]}x{size[1]}", "-r", f"{fps:g}", "-i", "pipe:0"]
    if audio is not None:
        path, start, duration = audio
        cmd += ["-ss", f"{start:.3f}", "-t", f"{duration:.3f}", "-i", str(path), "-map", "0:v", "-map", "1:a",
                "-c:a", "aac", "-b:a", "128k"]
    return cmd + ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-movflags", "+faststart", str(out)]


def write_mp4(frames: Iterable[np.ndarray], out: Path, fps: float, size: tuple[int, int],
              audio: tuple[Path, float, float] | None = None, overwrite: bool = False) -> int:
    """Encode (H, W, 3) uint8 frames; ``audio`` is (file, start s, duration s) muxed beside them.
    Atomic: a failed encode leaves nothing at ``out``. Returns the number of frames."""
    exe = ffmpeg_exe()
    count = 0
    with atomic_path(out, overwrite=overwrite) as tmp:
        proc = subprocess.Popen(_command(exe, size, fps, audio, tmp), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        try:
            for frame in frames:
                proc.stdin.write(np.ascontiguousarray(frame[..., :3], dtype=np.uint8).tobytes())
                count += 1
        except BrokenPipeError:  # ffmpeg stopped early; its message comes below
            pass
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        _, err_bytes = proc.communicate()  # closes its stdin, reads its stderr, waits
        if proc.returncode != 0:
            err = (err_bytes or b"").decode("utf-8", "replace")
            raise TalkclipError(f"{out}: ffmpeg failed ({' '.join(err.split())[:200] or 'no message'})")
    return count
