"""What the non-verbal layers listen to: speech activity, pauses, pitch accents and arousal.

Everything here lives on one internal time grid (``GRID_HZ``, independent of the output fps) so
that a take rendered at 24 or 60 fps moves the same way in physical time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from talkclip_model.phones import SILENCE, VOWELS
from talkclip_model.types import DYNAMICS, PhoneTrack, Prosody

GRID_HZ = 100.0  # internal simulation rate (the prosody hop is 10 ms too)
GRID_DT = 1.0 / GRID_HZ

MIN_PAUSE_S = 0.15  # a SIL at least this long is a phrase boundary
ACCENT_MIN_GAP_S = 0.22  # two accents are at least this far apart (about one syllable)
ACCENT_THRESHOLD = 0.45  # prominence (z-like units) a peak needs to count as an accent
ACCENT_SNAP_S = 0.12  # an accent moves to the centre of a vowel this close
BASELINE_SIGMA_S = 0.6  # running baseline that loudness and pitch excursions are measured from
AROUSAL_SIGMA_S = 0.5  # arousal is smoothed over about 1 s (2 sigma)
AROUSAL_GAIN = 0.32  # multiplier = exp(AROUSAL_GAIN * tanh(score)): about 0.73 .. 1.38



@dataclass(frozen=True)
class Cues:
    """Signals on the internal grid (N,) plus timed events derived from the audio."""

    t: np.ndarray  # (N,) seconds
    activity: np.ndarray  # (N,) 0..1 speech activity (smoothed)
    energy: np.ndarray  # (N,) 0..1 loudness above the noise floor, relative to the take's speech level
    prominence: np.ndarray  # (N,) accent prominence signal (>= 0)
    accents: np.ndarray  # (A,) accent times, seconds
    accent_strength: np.ndarray  # (A,) 0..1
    accent_pitch: np.ndarray  # (A,) 0..1 share of the accent's prominence from pitch (the rest: loudness)
    pauses: np.ndarray  # (P,) pause onset times (phrase boundaries), seconds
    arousal_score: np.ndarray  # (N,) signed arousal score (0 = the take's own median)


# --- small signal helpers ---------------------------------------------------------------------

def grid_for(duration: float) -> np.ndarray:
    """Grid times covering ``duration`` seconds, rounded up to whole seconds (fps-independent)."""
    n = int(np.ceil(max(duration, 0.0) + 1e-9)) * int(GRID_HZ) + 1
    return np.arange(n) * GRID_DT


def gaussian_smooth(x: np.ndarray, sigma_s: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Zero-phase Gaussian smoothing on the grid; normalised at the edges (and by ``weights``)."""
    x = np.asarray(x, dtype=np.float64)
    if sigma_s <= 0 or len(x) == 0:
        return x.copy()
    sigma = sigma_s * GRID_HZ
    half = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    num = np.convolve(x * w, k, mode="same") if len(x) >= len(k) else _conv_full_same(x * w, k)
    den = np.convolve(w, k, mode="same") if len(x) >= len(k) else _conv_full_same(w, k)
    return num / np.maximum(den, 1e-9)


def _conv_full_same(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    full = np.convolve(x, k, mode="full")
    start = (len(k) - 1) // 2
    return full[start:start + len(x)]


def one_pole(x: np.ndarray, tau_up: float, tau_down: float | None = None, reverse: bool = False) -> np.ndarray:
    """Causal first-order smoother with separate rise and fall time constants (seconds)."""
    tau_down = tau_up if tau_down is None else tau_down
    a_up = 1.0 - np.exp(-GRID_DT / max(tau_up, 1e-6))
    a_dn = 1.0 - np.exp(-GRID_DT / max(tau_down, 1e-6))
    src = (x[::-1] if reverse else x).tolist()  # plain floats: fast in a Python loop
    out = []
    y = float(src[0]) if len(src) else 0.0
    for v in src:
        y += (a_up if v > y else a_dn) * (v - y)
        out.append(y)
    arr = np.array(out, dtype=np.float64)
    return arr[::-1] if reverse else arr


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def dynamics_on(dynamics: Mapping[str, np.ndarray], fps: float, t: np.ndarray) -> dict[str, np.ndarray]:
    """Every DYNAMICS key as an array on the grid ``t``; scalars and missing keys are accepted."""
    out = {}
    for key, (default, lo, hi, _) in DYNAMICS.items():
        value = dynamics.get(key, default) if dynamics is not None else default
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        if arr.size == 0:
            arr = np.array([default])
        arr = np.where(np.isfinite(arr), arr, default)
        arr = np.clip(arr, lo, hi)
        if arr.size == 1:
            out[key] = np.full(len(t), float(arr[0]))
        else:  # per-frame values; frame i is at i / fps
            out[key] = np.interp(t, np.arange(arr.size) / fps, arr)
    return out


# --- cue extraction ---------------------------------------------------------------------------

def extract_cues(phones: PhoneTrack | None, prosody: Prosody, t: np.ndarray) -> Cues:
    loud = _prosody_on(prosody, "loudness_db", t, fill=None)
    pitch = _prosody_on(prosody, "pitch_hz", t, fill=0.0, nearest=True)
    voicing = _prosody_on(prosody, "voicing", t, fill=0.0)
    floor = float(np.nanpercentile(loud, 10)) if np.any(np.isfinite(loud)) else -90.0
    loud = np.where(np.isfinite(loud), loud, min(floor, -90.0))
    level = float(np.percentile(loud, 95))
    span = max(level - floor, 6.0)
    # Speech activity: loudness well above the floor, held across short gaps between syllables.
    raw_act = smoothstep((loud - floor - 0.25 * span) / (0.3 * span))
    speech = _phone_speech(phones, t)
    if speech is not None:
        raw_act = 0.5 * raw_act + 0.5 * speech
    activity = np.clip(gaussian_smooth(raw_act, 0.08), 0.0, 1.0)
    energy = np.clip((gaussian_smooth(loud, 0.15) - floor) / span, 0.0, 1.2) * activity

    prominence, semitones, voiced, pitch_share = _prominence(loud, pitch, voicing, activity)
    accents, strength, share = _accents_on_vowels(t, prominence, pitch_share, phones)
    pauses = _pause_onsets(phones, t, activity)
    arousal = _arousal_score(loud, semitones, voiced, activity)
    return Cues(t=t, activity=activity, energy=energy, prominence=prominence, accents=accents,
                accent_strength=strength, accent_pitch=share, pauses=pauses, arousal_score=arousal)


def _accents_on_vowels(t, prominence, pitch_share, phones):
    """Accent times, strengths and pitch shares, moved onto vowels; two peaks on one vowel keep
    the stronger's time and the larger strength."""
    accents, strength = _pick_accents(t, prominence)
    share = pitch_share[np.clip(np.rint(accents / GRID_DT).astype(int), 0, len(t) - 1)] if len(accents) else accents
    snapped = _snap_to_vowels(accents, phones)
    keep = np.isfinite(snapped)
    snapped, strength, share = snapped[keep], strength[keep], share[keep]
    first = np.ones(len(snapped), bool)
    for k in range(1, len(snapped)):
        if snapped[k] == snapped[k - 1]:
            first[k] = False
            strength[k - 1] = max(strength[k - 1], strength[k])
    return snapped[first], strength[first], share[first]


def _prosody_on(prosody: Prosody, which: str, t: np.ndarray, fill: float | None, nearest: bool = False) -> np.ndarray:
    values = np.asarray(getattr(prosody, which), dtype=np.float64)
    if len(values) == 0:
        return np.full(len(t), np.nan if fill is None else fill)
    src_t = np.arange(len(values)) * prosody.hop
    if nearest:  # pitch: do not blend a voiced value with an unvoiced zero
        idx = np.clip(np.rint(t / prosody.hop).astype(int), 0, len(values) - 1)
        out = values[idx]
    else:
        out = np.interp(t, src_t, values)
    out[t > src_t[-1] + prosody.hop] = np.nan if fill is None else fill
    return out


def _phone_speech(phones: PhoneTrack | None, t: np.ndarray) -> np.ndarray | None:
    if phones is None or len(phones) == 0 or all(p == SILENCE for p in phones.phones):
        return None
    return phones.covering(t).astype(np.float64)


def _prominence(loud, pitch, voicing, activity):
    """Excursion of loudness (dB / 6) and pitch (semitones / 3) over their running baselines; also
    the share of it that comes from pitch (N,)."""
    speech_w = activity + 1e-3
    loud_s = gaussian_smooth(loud, 0.04)
    loud_base = gaussian_smooth(loud, BASELINE_SIGMA_S, weights=speech_w)
    loud_prom = (loud_s - loud_base) / 6.0

    voiced = (pitch > 40.0) & (voicing > 0.3) & (activity > 0.3)
    semitones = np.zeros(len(pitch))
    if voiced.sum() >= 10:
        ref = float(np.median(pitch[voiced]))
        semitones[voiced] = 12.0 * np.log2(pitch[voiced] / ref)
        semitones[voiced] = _median5(np.clip(semitones[voiced], -12.0, 12.0))  # octave errors, spikes
        st_s = gaussian_smooth(semitones, 0.04, weights=voiced.astype(float) + 1e-6)
        st_base = gaussian_smooth(semitones, BASELINE_SIGMA_S, weights=voiced.astype(float) + 1e-6)
        pitch_prom = np.where(voiced, np.clip(st_s - st_base, 0.0, 6.0) / 3.0, 0.0)
    else:
        pitch_prom = np.zeros(len(pitch))
    loud_part, pitch_part = 0.6 * np.maximum(loud_prom, 0.0), 0.4 * pitch_prom
    prom = (loud_part + pitch_part) * activity
    share = gaussian_smooth(pitch_part, 0.05) / np.maximum(gaussian_smooth(loud_part + pitch_part, 0.05), 1e-6)
    return gaussian_smooth(prom, 0.05) * 2.0, semitones, voiced, np.clip(share, 0.0, 1.0)


def _median5(x: np.ndarray) -> np.ndarray:
    """Running median over 5 values (edges padded): removes single-frame pitch-tracker errors."""
    if len(x) < 5:
        return x
    padded = np.concatenate([x[:1].repeat(2), x, x[-1:].repeat(2)])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)


def _pick_accents(t: np.ndarray, prom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(prom) < 3:
        return np.zeros(0), np.zeros(0)
    peak = (prom[1:-1] > prom[:-2]) & (prom[1:-1] >= prom[2:]) & (prom[1:-1] > ACCENT_THRESHOLD)
    idx = np.flatnonzero(peak) + 1
    keep: list[int] = []
    for i in sorted(idx, key=lambda i: -prom[i]):  # strongest first, then enforce the gap
        if all(abs(t[i] - t[j]) >= ACCENT_MIN_GAP_S for j in keep):
            keep.append(i)
    keep.sort()
    times = t[keep] if keep else np.zeros(0)
    strength = np.clip((prom[keep] - ACCENT_THRESHOLD) / 1.2 + 0.25, 0.0, 1.0) if keep else np.zeros(0)
    return np.asarray(times, dtype=np.float64), np.asarray(strength, dtype=np.float64)


def _snap_to_vowels(times: np.ndarray, phones: PhoneTrack | None) -> np.ndarray:
    """Move each accent to the centre of the nearest vowel (NaN when none is close)."""
    if phones is None or len(phones) == 0 or len(times) == 0:
        return times
    names = [p.rstrip("012") for p in phones.phones]
    centres = np.array([(s + e) / 2 for p, s, e in zip(names, phones.starts, phones.ends) if p in VOWELS])
    if len(centres) == 0:  # no phones to go by (e.g. recognition failed): keep the prosodic peaks
        return times
    out = np.full(len(times), np.nan)
    j = np.clip(np.searchsorted(centres, times), 1, len(centres)) - 1
    for k, tk in enumerate(times):
        cands = centres[max(j[k] - 1, 0):j[k] + 2]
        best = cands[np.argmin(np.abs(cands - tk))]
        if abs(best - tk) <= ACCENT_SNAP_S:
            out[k] = best
    return out  # NaN: no vowel near this peak (a breath, a noise): not an accent


def _pause_onsets(phones: PhoneTrack | None, t: np.ndarray, activity: np.ndarray) -> np.ndarray:
    """Phrase boundaries: the start of a pause that follows speech (SIL >= MIN_PAUSE_S)."""
    if phones is not None and len(phones) and any(p != SILENCE for p in phones.phones):
        out, spoken = [], False
        for p, s, e in zip(phones.phones, phones.starts, phones.ends):
            if p == SILENCE:
                if spoken and e - s >= MIN_PAUSE_S:
                    out.append(float(s))
            else:
                spoken = True
        return np.array(out)
    quiet = activity < 0.5
    out, i, n = [], 0, len(t)
    min_len = int(round(MIN_PAUSE_S * GRID_HZ))
    while i < n:
        if quiet[i] and i > 0 and not quiet[i - 1]:
            j = i
            while j < n and quiet[j]:
                j += 1
            if j - i >= min_len:
                out.append(float(t[i]))
            i = j
        else:
            i += 1
    return np.array(out)


def _arousal_score(loud, semitones, voiced, activity) -> np.ndarray:
    """Loudness level, loudness variability and pitch level as z-scores against the take itself."""
    speech = activity > 0.5
    if speech.sum() < 20:
        return np.zeros(len(loud))
    loud_s = gaussian_smooth(loud, 0.1, weights=activity + 1e-3)
    z_loud = (loud_s - np.median(loud_s[speech])) / max(float(np.std(loud_s[speech])), 3.0)
    var = np.sqrt(np.maximum(gaussian_smooth((loud - loud_s) ** 2, 0.5, weights=activity + 1e-3), 0.0))
    z_var = (var - np.median(var[speech])) / max(float(np.std(var[speech])), 1.0)
    if voiced.sum() >= 20:
        st = gaussian_smooth(semitones, 0.1, weights=voiced.astype(float) + 1e-6)
        z_pitch = st / max(float(np.std(semitones[voiced])), 1.5)
    else:
        z_pitch = np.zeros(len(loud))
    score = 0.5 * z_loud + 0.2 * z_var + 0.3 * z_pitch
    score = gaussian_smooth(score, AROUSAL_SIGMA_S, weights=activity + 1e-3)
    return score * gaussian_smooth(activity, AROUSAL_SIGMA_S)


def arousal_multiplier(score: np.ndarray) -> np.ndarray:
    return np.exp(AROUSAL_GAIN * np.tanh(score))


def bump(t: np.ndarray, centres: np.ndarray, weights: np.ndarray | float, rise: float, decay: float) -> np.ndarray:
    """Sum of smooth asymmetric bumps (peak 1 at each centre): Gaussian flanks of the given widths."""
    out = np.zeros(len(t))
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), np.shape(centres))
    for c, wk in zip(np.asarray(centres, dtype=np.float64), w):
        lo, hi = np.searchsorted(t, [c - 4 * rise, c + 4 * decay])
        seg = t[lo:hi] - c
        out[lo:hi] += wk * np.exp(-0.5 * (seg / np.where(seg < 0, rise, decay)) ** 2)
    return out
