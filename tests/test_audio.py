"""Audio front-end on real speech: formats, rates, channels, and every bad-input case."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import EXAMPLES, shared

from talkclip_model.errors import TalkclipError
from talkclip_model.speech import audio

HELLO = EXAMPLES / "hello.wav"


@pytest.fixture(scope="module")
def speech():
    x, sr = sf.read(HELLO, dtype="float32")
    assert sr == 16000
    return x


def _resample_ref(x: np.ndarray, rate: int) -> np.ndarray:
    import soxr
    return soxr.resample(x, 16000, rate)


@pytest.mark.parametrize("rate,channels,subtype,fmt,suffix", [
    (16000, 1, "PCM_16", "WAV", ".wav"),
    (8000, 1, "PCM_U8", "WAV", ".wav"),        # 8-bit
    (96000, 6, "PCM_24", "WAV", ".wav"),       # 96 kHz, 5.1
    (44100, 2, "PCM_16", "FLAC", ".flac"),
    (48000, 2, "VORBIS", "OGG", ".ogg"),
    (22050, 1, "FLOAT", "WAV", ".wav"),
])
def test_any_rate_and_channel_count_becomes_mono_16k(tmp_path, speech, rate, channels, subtype, fmt, suffix):
    x = _resample_ref(speech, rate) if rate != 16000 else speech
    data = np.repeat(x[:, None], channels, axis=1) * 0.8
    path = tmp_path / f"in{suffix}"
    sf.write(path, data, rate, subtype=subtype, format=fmt)
    clip = audio.load_audio(path)
    assert clip.sample_rate == 16000
    assert clip.samples.ndim == 1 and clip.samples.dtype == np.float32
    assert abs(clip.duration - len(speech) / 16000) < 0.02
    assert clip.original_rate == rate and clip.original_channels == channels
    # the content survives: correlation with the original over the overlapping part
    n = min(len(clip.samples), len(speech))
    r = np.corrcoef(clip.samples[:n], speech[:n])[0, 1]
    assert r > (0.8 if rate == 8000 else 0.95)


def test_mp3_when_libsndfile_supports_it(tmp_path, speech):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    path = tmp_path / "in.mp3"
    sf.write(path, speech, 16000, format="MP3")
    clip = audio.load_audio(path)
    assert abs(clip.duration - len(speech) / 16000) < 0.1


def test_streaming_long_multichannel_file(tmp_path, speech):
    """Several minutes at 48 kHz stereo decode block by block to the right length."""
    x = _resample_ref(speech, 48000)
    reps = int(np.ceil(180 * 48000 / len(x)))
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", 48000, 2, subtype="PCM_16") as fh:
        for _ in range(reps):
            fh.write(np.stack([x, x], axis=1) * 0.5)
    clip = audio.load_audio(path)
    assert abs(clip.duration - reps * len(x) / 48000) < 0.01
    assert np.max(np.abs(clip.samples)) > 0.1


@pytest.mark.parametrize("make,problem", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("this is not audio at all\n" * 50), "not a readable audio file"),
    (lambda p: sf.write(p, np.zeros(16000, np.float32), 16000), "silent"),
    (lambda p: sf.write(p, np.zeros((0,), np.float32), 16000), "no samples"),
])
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, make, problem):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(TalkclipError) as err:
        audio.load_audio(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and problem in msg


def test_truncated_wav_is_reported(tmp_path):
    data = HELLO.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 4])  # header promises 4x more audio than present
    with pytest.raises(TalkclipError, match="truncated"):
        audio.load_audio(path)


def test_folder_is_not_audio(tmp_path):
    with pytest.raises(TalkclipError, match="folder"):
        audio.load_audio(tmp_path)


def test_prosody_on_real_speech():
    clip = audio.load_audio(shared("mfa_test_corpus", "audio", "acoustic_corpus.wav"))
    pros = audio.prosody(clip)
    assert pros.hop == audio.HOP_SECONDS and audio.HOP_SAMPLES == 160  # 10 ms, PocketSphinx's frame
    assert len(pros.loudness_db) == 1 + len(clip.samples) // audio.HOP_SAMPLES
    f0 = pros.pitch_hz[pros.pitch_hz > 0]
    # one adult male speaker: median f0 in the male range, plenty of voiced frames
    assert 85 < np.median(f0) < 160
    assert 0.3 < np.mean(pros.pitch_hz > 0) < 0.9
    # speech frames are far louder than the quietest frames
    assert np.percentile(pros.loudness_db, 90) - np.percentile(pros.loudness_db, 5) > 12


def test_prosody_pitch_of_a_tone():
    t = np.arange(16000) / 16000
    clip = audio.AudioClip(samples=(0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), source="tone",
                           original_rate=16000, original_channels=1)
    pros = audio.prosody(clip)
    voiced = pros.pitch_hz[10:-10]
    assert np.all(np.abs(voiced - 200) < 4)


def test_decoder_regrows_when_the_header_undercounts(tmp_path, speech):
    """The decode buffer is sized from the header's frame count (MP3/OGG counts are estimates);
    a count far too small still gives every sample, in order."""
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([speech, speech], axis=1) * 0.5, 16000, subtype="PCM_16")
    full = audio.load_audio(path).samples
    short, decoded = audio._read_mono_16k(path, 16000, frames=100)
    assert np.array_equal(full, short) and decoded == len(speech)
    x = _resample_ref(speech, 44100)
    sf.write(path, x, 44100, subtype="PCM_16")
    assert np.array_equal(audio._read_mono_16k(path, 44100, frames=10)[0], audio.load_audio(path).samples)


@pytest.mark.parametrize("n", [1, 159, 160, 161, 4095, 9001])
def test_frame_blocks_match_plain_zero_padded_frames(n):
    """Frames cut block by block (no padded copy of the whole signal) equal the plain framing."""
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    window, hop = 400, 160
    padded = np.concatenate([np.zeros(window // 2, np.float32), x, np.zeros(window, np.float32)])
    n_frames = 1 + n // hop
    plain = np.stack([padded[k * hop:k * hop + window] for k in range(n_frames)])
    got = np.zeros_like(plain)
    for first, block in audio.frame_blocks(x, window, hop, n_frames, step=7):
        assert len(block) <= 7
        got[first:first + len(block)] = block
    assert np.array_equal(got, plain)


def _cut(path, out, fraction=0.5):
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


@pytest.mark.parametrize("fmt, subtype, suffix", [("OGG", "VORBIS", ".ogg"), ("OGG", "OPUS", ".opus"),
                                                  ("MP3", "MPEG_LAYER_III", ".mp3")])
def test_truncated_compressed_audio_warns_with_the_missing_part(tmp_path, speech, fmt, subtype, suffix, recwarn):
    whole = tmp_path / f"whole{suffix}"
    rate = 48000 if subtype == "OPUS" else 16000
    x = _resample_ref(speech, rate) if rate != 16000 else speech
    try:
        sf.write(whole, x, rate, format=fmt, subtype=subtype)
    except Exception as exc:  # a libsndfile built without this codec
        pytest.skip(f"libsndfile cannot write {subtype}: {exc}")
    audio.load_audio(whole)
    assert not [w for w in recwarn if "truncated" in str(w.message)]  # a whole file is not flagged
    cut = _cut(whole, tmp_path / f"cut{suffix}")
    with pytest.warns(UserWarning, match=r"cut\.\w+: .*truncated"):
        clip = audio.load_audio(cut)
    assert 0 < clip.duration < audio.load_audio(whole).duration


def test_mp3_decoder_chatter_stays_off_stderr(tmp_path, speech, capfd):
    whole = tmp_path / "whole.mp3"
    sf.write(whole, speech, 16000, format="MP3")
    with pytest.warns(UserWarning):
        audio.load_audio(_cut(whole, tmp_path / "cut.mp3"))
    assert "Xing" not in capfd.readouterr().err


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_are_refused_by_time(tmp_path, speech, bad):
    x = speech.astype(np.float32).copy()
    x[16000 * 1 + 5] = bad
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(TalkclipError, match=r"nan\.wav: holds non-finite samples .* from 1\.00 s"):
        audio.load_audio(path)


@pytest.mark.parametrize("rate", [100, 2000, 1_000_000])
def test_implausible_header_rates_are_refused(tmp_path, speech, rate):
    path = tmp_path / "rate.wav"
    sf.write(path, speech[:4000], 16000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[24:28] = rate.to_bytes(4, "little")  # the fmt chunk's sample rate
    data[28:32] = (rate * 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(TalkclipError, match=rf"rate\.wav: sample rate {rate} Hz .* damaged"):
        audio.load_audio(path)
