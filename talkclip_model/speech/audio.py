"""Audio front-end: decode any common file to mono 16 kHz float32, plus loudness and pitch tracks.

Files are read in blocks, mixed down to mono and resampled as a stream (soxr), so an hour of
96 kHz 6-channel audio never exists in memory at its original size.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkclip_model import native
from talkclip_model.errors import TalkclipError
from talkclip_model.types import Prosody

SAMPLE_RATE = 16000  # what PocketSphinx's acoustic model expects
# The one analysis hop: PocketSphinx's frame (its acoustic model is trained at 100 frames/s), the
# prosody frame and the pause mask's frame. Everything that counts 10 ms frames imports these.
HOP_SECONDS = 0.01
HOP_SAMPLES = int(round(HOP_SECONDS * SAMPLE_RATE))  # 160
WINDOW_SECONDS = 0.04  # prosody analysis window
BLOCK_FRAMES = 1 << 18  # frames read per block when streaming
MAX_SECONDS = 4 * 3600  # refuse longer recordings with a clear message
SILENCE_DBFS = -60.0  # a file whose peak level stays under this is "silent"
# Sample rates a recording can really have (telephone 8 kHz and below for old archives, up to
# 768 kHz studio formats); a header outside this range is damaged, not speech.
MIN_RATE, MAX_RATE = 4000, 768000
TRUNCATION_TOLERANCE_S = 0.05  # decoded this much less than the header promises: warn
PITCH_MIN_HZ, PITCH_MAX_HZ = 60.0, 450.0
PITCH_RATE = 8000  # pitch analysis rate
PITCH_HOP_SECONDS = 0.02  # pitch analysis hop
VOICING_THRESHOLD = 0.6  # normalised autocorrelation peak that counts as voiced


@dataclass(frozen=True)
class AudioClip:
    """Mono 16 kHz speech, with where it came from."""

    samples: np.ndarray  # (N,) float32 in -1..1
    source: str
    original_rate: int
    original_channels: int
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def int16(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """16-bit PCM of samples[start:end] (only that part is converted)."""
        return (np.clip(self.samples[start:end], -1.0, 1.0) * 32767.0).astype(np.int16)


def load_audio(path: str | Path, max_seconds: float = MAX_SECONDS) -> AudioClip:
    """Decode ``path`` to mono 16 kHz. Raises TalkclipError naming the file and the problem."""
    sf = native.load("soundfile")

    path = Path(path)
    if not path.exists():
        raise TalkclipError(f"{path}: audio file not found")
    if path.is_dir():
        raise TalkclipError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise TalkclipError(f"{path}: audio file is empty (0 bytes)")
    try:
        with _quiet_native_stderr(path.suffix.lower() == ".mp3"):
            info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError for unknown formats
        raise TalkclipError(f"{path}: not a readable audio file ({_short(exc)})") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise TalkclipError(f"{path}: audio header is invalid (rate {info.samplerate}, {info.channels} channels)")
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise TalkclipError(f"{path}: sample rate {info.samplerate} Hz in the header is not a recording's "
                            f"({MIN_RATE}-{MAX_RATE} Hz); the header is damaged")
    if info.frames == 0:
        raise TalkclipError(f"{path}: audio file holds no samples")
    if info.duration > max_seconds:
        raise TalkclipError(f"{path}: recording is {info.duration / 3600:.1f} h long; the limit is "
                            f"{max_seconds / 3600:.1f} h, split it into shorter files")
    if info.format in ("WAV", "WAVEX"):
        _check_wav_complete(path)
    samples, decoded = _read_mono_16k(path, info.samplerate, info.frames)
    _warn_if_short(path, info, decoded)
    if len(samples) == 0:
        raise TalkclipError(f"{path}: audio file holds no decodable samples (truncated?)")
    peak = max(float(samples.max()), -float(samples.min()))  # no full-size temporary
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise TalkclipError(f"{path}: recording is silent (peak level {_db(peak):.0f} dBFS)")
    return AudioClip(samples=samples, source=str(path), original_rate=int(info.samplerate),
                     original_channels=int(info.channels))


def _warn_if_short(path: Path, info, decoded: int) -> None:
    """Compressed files cut short decode without an error: compare with what the header promises
    (MP3's frame count), or look for the stream's end mark (Ogg: Vorbis, Opus, FLAC in Ogg)."""
    promised = info.frames / info.samplerate
    got = decoded / info.samplerate
    if promised - got > TRUNCATION_TOLERANCE_S:
        warnings.warn(f"{path}: decoded {got:.2f} s of the {promised:.2f} s its header promises; the file looks "
                      f"truncated ({promised - got:.2f} s missing)", UserWarning, stacklevel=3)
    elif info.format == "OGG" and not _ogg_ends_with_eos(path):
        warnings.warn(f"{path}: the Ogg stream has no end-of-stream page; the file looks truncated after "
                      f"{got:.2f} s", UserWarning, stacklevel=3)


def _ogg_ends_with_eos(path: Path) -> bool:
    """Whether the last complete Ogg page is flagged end-of-stream (a cut file ends mid-stream)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - (1 << 16)))
        tail = fh.read()
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        if pos + 27 <= len(tail):
            segments = tail[pos + 26]
            table = tail[pos + 27:pos + 27 + segments]
            end = pos + 27 + segments + sum(table)
            if len(table) == segments and end <= len(tail):  # a whole page
                return bool(tail[pos + 5] & 0x04)
        pos = tail.rfind(b"OggS", 0, pos)
    return False


@contextlib.contextmanager
def _quiet_native_stderr(active: bool):
    """libmpg123 prints its own warnings on stderr (fd 2); ours say it in one line instead."""
    if not active:
        yield
        return
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _read_mono_16k(path: Path, rate: int, frames: int) -> tuple[np.ndarray, int]:
    """The file as mono 16 kHz float32, decoded block by block into one preallocated array
    (``frames`` is the header's count; a header that undercounts only costs a regrowth), and the
    number of source frames decoded. Non-finite samples are refused by time."""
    sf, soxr = native.load("soundfile"), native.load("soxr")
    out = np.empty(int(math.ceil(frames * SAMPLE_RATE / rate)) + 64, dtype=np.float32)
    n = decoded = 0
    resampler = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32",
                                                                     quality="HQ")
    try:
        with _quiet_native_stderr(path.suffix.lower() == ".mp3"), sf.SoundFile(str(path)) as fh:
            while True:
                block = fh.read(BLOCK_FRAMES, dtype="float32", always_2d=True)  # (n, channels)
                last = len(block) < BLOCK_FRAMES
                if not np.isfinite(block).all():
                    bad = decoded + int(np.argmax(~np.isfinite(block).all(axis=1)))
                    raise TalkclipError(f"{path}: holds non-finite samples (NaN or infinity) from "
                                        f"{bad / rate:.2f} s")
                decoded += len(block)
                mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
                if resampler is not None:
                    mono = resampler.resample_chunk(np.ascontiguousarray(mono), last=last)
                if n + len(mono) > len(out):
                    out = np.resize(out, max(2 * len(out), n + len(mono)))
                out[n:n + len(mono)] = mono
                n += len(mono)
                if last:
                    break
    except TalkclipError:
        raise
    except Exception as exc:
        where = f" after {n / SAMPLE_RATE:.2f} s; the file is truncated or damaged" if n else ""
        raise TalkclipError(f"{path}: cannot decode audio{where} ({_short(exc)})") from None
    # a slice would keep the whole buffer alive; copy only when the header overcounted by much
    return (out[:n] if n >= 0.99 * len(out) else out[:n].copy()), decoded


def _check_wav_complete(path: Path) -> None:
    """A WAV whose header promises more sample bytes than the file holds was cut short."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= len(head):
        chunk, length = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if chunk == b"data":
            if length in (0, 0xFFFFFFFF) or head[:4] == b"RF64":
                return  # streamed or 64-bit header: size unknown here
            present = size - (pos + 8)
            if present < length:
                raise TalkclipError(f"{path}: audio file is truncated ({present} of {length} sample bytes "
                                    "present)")
            return
        pos += 8 + length + (length & 1)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:160] or type(exc).__name__


def _db(x: float) -> float:
    return 20.0 * math.log10(max(x, 1e-10))


# --- prosody --------------------------------------------------------------------------------

def frame_blocks(samples: np.ndarray, window: int, hop: int, n_frames: int, step: int):
    """(first frame, (n, window) float32 array) for frames centred at k*hop, ``step`` frames at a
    time; the signal counts as zero beyond both ends. Only one block is ever copied, so an hour
    of audio costs no second copy of the signal."""
    pad = window // 2
    for first in range(0, n_frames, step):
        count = min(step, n_frames - first)
        lo = first * hop - pad
        hi = lo + (count - 1) * hop + window
        span = np.zeros(hi - lo, dtype=np.float32)
        a, b = max(lo, 0), min(hi, len(samples))
        if b > a:
            span[a - lo:b - lo] = samples[a:b]
        yield first, np.lib.stride_tricks.sliding_window_view(span, window)[::hop][:count]


def loudness_db(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, hop_s: float = HOP_SECONDS,
                window_s: float = 0.025) -> np.ndarray:
    """(F,) RMS level in dBFS per hop."""
    hop, window = int(round(hop_s * sample_rate)), int(round(window_s * sample_rate))
    out = np.empty(1 + len(samples) // hop, dtype=np.float32)
    for i, chunk in frame_blocks(samples, window, hop, len(out), step=4096):  # ~6 MB work arrays
        out[i:i + len(chunk)] = 10.0 * np.log10(np.mean(chunk * chunk, axis=1) + 1e-10)
    return out


def pitch_track(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, hop_s: float = HOP_SECONDS,
                window_s: float = WINDOW_SECONDS) -> tuple[np.ndarray, np.ndarray]:
    """(F,) f0 in Hz (0 where unvoiced) and (F,) periodicity 0..1, by normalised autocorrelation.

    Runs at 8 kHz (speech f0 lives far below 4 kHz), which makes it four times cheaper.
    """
    soxr = native.load("soxr")
    rate = PITCH_RATE
    n_out = 1 + len(samples) // int(round(hop_s * sample_rate))
    if sample_rate != rate:
        samples = soxr.resample(samples, sample_rate, rate, quality="LQ")

    hop, window = int(round(hop_s * rate)), int(round(window_s * rate))
    lag_lo = int(rate / PITCH_MAX_HZ)
    lag_hi = min(int(rate / PITCH_MIN_HZ), window - 1)
    nfft = 1 << int(math.ceil(math.log2(window + lag_hi + 2)))
    taper = np.hanning(window).astype(np.float32)
    # Autocorrelation of the taper itself, to undo the window's bias toward short lags.
    wac = np.fft.irfft(np.abs(np.fft.rfft(taper, nfft)) ** 2, nfft)[: lag_hi + 2]
    wac = np.maximum(wac / wac[0], 1e-3).astype(np.float32)
    f0 = np.zeros(n_out, dtype=np.float32)
    periodicity = np.zeros(n_out, dtype=np.float32)
    # 1024 frames per block: the FFT work arrays stay near 30 MB however long the audio
    for i, frames in frame_blocks(samples, window, hop, min(n_out, 1 + len(samples) // hop), step=1024):
        chunk = frames * taper  # (n, window)
        chunk -= chunk.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(chunk, nfft, axis=1)
        ac = np.fft.irfft(spec.real ** 2 + spec.imag ** 2, nfft, axis=1)[:, : lag_hi + 2]  # (n, lags)
        energy = ac[:, :1]
        nac = ac / np.maximum(energy, 1e-9) / wac
        rows = np.arange(len(nac))
        best = np.argmax(nac[:, lag_lo:lag_hi + 1], axis=1) + lag_lo
        peak = nac[rows, best]
        # parabolic interpolation around the peak for a sub-sample lag
        left, right = nac[rows, best - 1], nac[rows, np.minimum(best + 1, nac.shape[1] - 1)]
        denom = left - 2 * peak + right
        shift = np.where(np.abs(denom) > 1e-9, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
        lag = best + np.clip(shift, -0.5, 0.5)
        # a real period is a local peak; a maximum on the search edge is low-frequency noise
        local = (best > lag_lo) & (best < lag_hi) & (peak >= left) & (peak >= right)
        voiced = local & (peak > VOICING_THRESHOLD) & (energy[:, 0] > 1e-6)
        f0[i:i + len(chunk)] = np.where(voiced, rate / lag, 0.0)
        periodicity[i:i + len(chunk)] = np.clip(peak, 0.0, 1.0)
    return f0, periodicity


def prosody(clip: AudioClip) -> Prosody:
    """Loudness, pitch and voicing of a clip at a 10 ms hop."""
    level = loudness_db(clip.samples, clip.sample_rate)
    # pitch every 20 ms (head motion and arousal need no finer), spread back onto the 10 ms hop
    f0_coarse, per_coarse = pitch_track(clip.samples, clip.sample_rate, hop_s=PITCH_HOP_SECONDS)
    n = len(level)
    idx = np.minimum((np.arange(n) * HOP_SECONDS / PITCH_HOP_SECONDS + 0.5).astype(int), len(f0_coarse) - 1)
    f0, periodicity = f0_coarse[idx], per_coarse[idx]
    # Quiet frames cannot be voiced, whatever their periodicity.
    voiced_floor = np.max(level) - 45.0
    f0 = np.where(level[:n] > voiced_floor, f0[:n], 0.0)
    return Prosody(hop=HOP_SECONDS, loudness_db=level[:n], pitch_hz=f0, voicing=periodicity[:n],
                   duration=clip.duration)
