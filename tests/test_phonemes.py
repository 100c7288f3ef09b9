"""Phone timing with PocketSphinx on real speech: alignment, recognition, long audio, odd words."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, shared

from talkclip_model.errors import TalkclipError
from talkclip_model.evaluation.references import (
    read_pho,
    read_phone_json,
    read_textgrid,
    textgrid_transcript,
)
from talkclip_model.phones import SILENCE
from talkclip_model.speech import audio, check, phonemes, segments
from talkclip_model.speech.align import (
    ALIGN_STRATEGIES,
    FailedSpan,
    SegmentAlignment,
    TakeAlignment,
)
from talkclip_model.speech.cmudict import Cmudict, cmudict, dictionary_path
from talkclip_model.speech.g2p import guess_pronunciation, normalise_transcript
from talkclip_model.speech.sphinx import Timed

SPEECH = ROOT / "tests" / "data" / "speech"


def frame_agreement(track, ref, hop=audio.HOP_SECONDS) -> float:
    """Share of 10 ms frames where two phone tracks name the same phone."""
    n = int(ref.duration / hop)
    def labels(t):
        out = np.array([SILENCE] * n, dtype=object)
        for p, s, e in zip(t.phones, t.starts, t.ends):
            out[int(round(s / hop)):int(round(e / hop))] = p
        return out
    return float(np.mean(labels(track) == labels(ref)))


def boundary_error(track, ref) -> float:
    """Median distance (s) from each reference phone onset to the nearest onset of the same phone."""
    errs = []
    for p, s in zip(ref.phones, ref.starts):
        if p == SILENCE:
            continue
        same = [t for q, t in zip(track.phones, track.starts) if q == p]
        if same:
            errs.append(min(abs(t - s) for t in same))
    return float(np.median(errs))


@pytest.mark.parametrize("name", ["line1_us1", "line2_us2", "line3_us1"])
def test_alignment_matches_exact_synthetic_timings(name):
    clip = audio.load_audio(SPEECH / f"{name}.wav")
    track = phonemes.phone_track(clip, (SPEECH / f"{name}.txt").read_text())
    ref = read_pho(SPEECH / f"{name}.pho")
    assert track.source == "alignment" and not track.notes
    assert boundary_error(track, ref) <= 0.03
    assert frame_agreement(track, ref) > 0.7
    assert track.words[:2] == ("bob", "and") if name.startswith("line1") else True
    assert np.all(np.diff(track.starts) >= 0) and track.ends[-1] == pytest.approx(clip.duration)


def test_alignment_on_librivox_agrees_with_reference():
    base = shared("pocketsphinx_test", "librivox")
    agree = []
    for wav in sorted(base.glob("*.wav")):
        clip = audio.load_audio(wav)
        track = phonemes.phone_track(clip, wav.with_suffix(".txt").read_text())
        agree.append(frame_agreement(track, read_phone_json(wav.with_suffix(".phone.json"))))
    assert min(agree) > 0.9


def test_alignment_on_spontaneous_speech_against_mfa():
    clip = audio.load_audio(shared("mfa_test_corpus", "audio", "acoustic_corpus.wav"))
    ref = read_textgrid(shared("mfa_test_corpus", "textgrid", "acoustic_corpus.TextGrid"))
    transcript = textgrid_transcript(shared("mfa_test_corpus", "textgrid", "acoustic_corpus.TextGrid"))
    assert transcript.startswith("this is the acoustic corpus")
    track = phonemes.phone_track(clip, transcript)
    assert track.source == "alignment"
    assert boundary_error(track, ref) <= 0.04


@pytest.mark.parametrize("recognizer,floor", [("words", 0.6), ("phones", 0.45)])
def test_recognition_without_transcript(recognizer, floor):
    clip = audio.load_audio(SPEECH / "line1_us2.wav")
    track = phonemes.phone_track(clip, recognizer=recognizer)
    ref = read_pho(SPEECH / "line1_us2.pho")
    assert track.source == "recognition" and not track.words
    assert frame_agreement(track, ref) > floor
    assert len(track.spoken()) > 15


def test_unknown_recognizer_is_refused():
    clip = audio.load_audio(SPEECH / "line1_us2.wav")
    with pytest.raises(TalkclipError, match="unknown recognizer"):
        phonemes.phone_track(clip, recognizer="kaldi")


def test_words_missing_from_the_dictionary_do_not_break_alignment():
    clip = audio.load_audio(SPEECH / "line1_us1.wav")
    # "Bob and Mary bought five big brown boxes of fresh fruit." with two made-up spellings
    text = "Bob and Maryzza bought 5 big brown boxes of fresh fruitqu."
    track = phonemes.phone_track(clip, text)
    assert track.source == "alignment"
    assert any("pronounced from spelling" in n and "maryzza" in n and "fruitqu" in n for n in track.notes)
    assert "maryzza" in track.words and "five" in track.words


def test_transcript_that_does_not_match_the_audio_is_an_error():
    clip = audio.load_audio(SPEECH / "line2_us1.wav")
    with pytest.raises(TalkclipError, match="does not match"):
        phonemes.phone_track(clip, "the stock market fell sharply in early trading today after the announcement")


def test_mismatch_check_reads_how_each_word_fits(monkeypatch):
    """Each aligned word's score per frame is compared with free phone recognition of the same
    frames: text whose words mostly fit far worse is refused, text with many poorly fitting words
    is noted (and animated), a take that scores well is not checked at all. Other languages than
    English are aligned with the English acoustic model, so refusing them takes more."""
    clip = audio.load_audio(SPEECH / "line1_us2.wav")
    n = len(clip.samples)
    words = [Timed(f"w{i}", 0.2 + 0.3 * i, 0.45 + 0.3 * i) for i in range(8)]  # 25 frames each

    def aligned(gaps, score=-30.0):  # each word ``gap`` per frame worse than free recognition
        return [SegmentAlignment(phones=[], words=words, score_per_frame=score, frames=n // audio.HOP_SAMPLES,
                                 start=0, end=n, word_scores=tuple((-5.0 + g) * 25 for g in gaps))]

    assert -20.0 < check.recognition_score_per_frame(clip.int16()) < -3.0
    monkeypatch.setattr(check, "free_scores", lambda pcm: np.full(len(pcm) // audio.HOP_SAMPLES + 2, -5.0))
    assert check.transcript_doubt(clip, aligned([-10] * 8)) is None
    note = check.transcript_doubt(clip, aligned([-10] * 5 + [-45] * 3))  # 3 of 8 words fit poorly
    assert note and "may not match" in note and "38% of the 8 words" in note
    with pytest.raises(TalkclipError, match="does not match"):
        check.transcript_doubt(clip, aligned([-10] * 3 + [-60] * 5))  # most words, median -60
    assert "may not match" in check.transcript_doubt(clip, aligned([-10] * 3 + [-60] * 5), "fr")
    with pytest.raises(TalkclipError, match="does not match"):
        check.transcript_doubt(clip, aligned([-10] + [-60] * 7), "fr")
    assert check.transcript_doubt(clip, aligned([-60] * 8, score=-20.0)) is None  # scores well: not checked
    assert "may not match" in check.transcript_doubt(clip, aligned([-60] * 3))  # too few words to refuse


def test_failed_spans_are_data_and_refuse_a_transcript_past_half_the_take():
    """Failed spans travel as FailedSpan records: the notes and the failed total read the same
    0.1 s figures, and more than half the take failed (or too few words found) is an error."""
    clip = audio.AudioClip(samples=np.zeros(10 * 16000, np.float32), source="take", original_rate=16000,
                           original_channels=1)
    word = Timed("hello", 0.1, 0.5)
    ok = SegmentAlignment([Timed("HH", 0.1, 0.2)], [word], -10.0, 100, 0, 16000)
    failed = FailedSpan([Timed("AH", 1.0, 1.2)], start=16000, end=int(5.04 * 16000))
    assert failed.seconds == (1.0, 5.0)
    take = TakeAlignment([ok, failed], used=1)
    assert take.aligned == [ok] and take.failed == [failed] and take.words == [word]
    assert [p.label for p in take.phones] == ["HH", "AH"]  # in time order
    check.refuse_unmatched(clip, take, n_words=2)  # 4.0 of 10 s failed, 1 of 2 words found
    with pytest.raises(TalkclipError, match="only 1 of its 3 words"):
        check.refuse_unmatched(clip, take, n_words=3)
    longer = FailedSpan([], start=16000, end=int(6.2 * 16000))
    with pytest.raises(TalkclipError, match=r"failed on 5\.2 of 10\.0 s"):
        check.refuse_unmatched(clip, TakeAlignment([ok, longer], used=1), n_words=1)


def test_alignment_strategies_are_one_list_ending_in_recognition():
    names = [s.name for s in ALIGN_STRATEGIES]
    assert len(names) == len(set(names)) == 5
    assert "grammar search" in names[1] and "split" in names[2] and "leave out" in names[3]
    assert "phone recognition" in names[-1]


def test_long_audio_is_split_at_pauses_and_still_aligned():
    base = shared("pocketsphinx_test", "librivox")
    wavs = sorted(base.glob("*.wav"))
    pieces, texts, refs, offset = [], [], [], 0.0
    pause = np.zeros(int(0.8 * 16000), np.float32)
    for _ in range(2):
        for wav in wavs:
            clip = audio.load_audio(wav)
            pieces += [clip.samples, pause]
            texts.append(wav.with_suffix(".txt").read_text().strip())
            refs.append((read_phone_json(wav.with_suffix(".phone.json")), offset))
            offset += clip.duration + len(pause) / 16000
    long_clip = audio.AudioClip(samples=np.concatenate(pieces), source="long", original_rate=16000,
                                original_channels=1)
    assert long_clip.duration > 2 * segments.SEGMENT_TARGET_S
    pieces = segments.split_at_pauses(long_clip)
    assert len(pieces) >= 2
    assert all((s.end - s.start) / 16000 <= segments.SEGMENT_MAX_S for s in pieces)
    # a piece that fails to align is cut into two contiguous halves
    halves = segments.split_in_two(long_clip, pieces[0])
    assert halves[0].start == pieces[0].start and halves[0].end == halves[1].start and halves[1].end == pieces[0].end
    progress = []
    track = phonemes.phone_track(long_clip, " ".join(texts), progress=progress.append)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    # every utterance's words are found near where they were spoken
    first_words = [t.split()[0].lower() for t in texts]
    for (ref, off), word in zip(refs, first_words):
        near = [s for w, s in zip(track.words, track.word_starts) if w == word and abs(s - off) < 1.0]
        assert near, f"{word!r} not aligned near {off:.1f} s"


def test_numbers_and_punctuation_are_normalised():
    assert normalise_transcript("It's 42 -- really!") == ["it's", "forty", "two", "really"]
    assert normalise_transcript("1999 café") == ["one", "thousand", "nine", "hundred", "ninety", "nine", "cafe"]
    assert normalise_transcript("   ") == []
    assert normalise_transcript("so [laughter] <unk> yes {cough}") == ["so", "yes"]


def test_spelling_pronunciation_guess():
    assert guess_pronunciation("zorbax") == ["Z", "AO", "R", "B", "AE", "K", "S"]
    assert guess_pronunciation("shine")[:2] == ["SH", "IH"]
    assert guess_pronunciation("123") == []


def test_hoarse_speaker_with_the_right_transcript_aligns():
    """The MFA 'cold' take (a speaker with a cold, another room) needs the wide-beam aligner."""
    wav = shared("mfa_test_corpus", "audio", "cold_corpus3.wav")
    transcript = textgrid_transcript(shared("mfa_test_corpus", "textgrid", "cold_corpus3.TextGrid"))
    track = phonemes.phone_track(audio.load_audio(wav), transcript)
    assert track.source == "alignment"
    assert not any(n.startswith("alignment failed") for n in track.notes)
    ref = read_textgrid(shared("mfa_test_corpus", "textgrid", "cold_corpus3.TextGrid"))
    assert boundary_error(track, ref) <= 0.05


def _mixed_take():
    """Spontaneous fast and slow speech, a hoarse speaker, then read speech: about 60 s."""
    mfa = shared("mfa_test_corpus")
    pieces, texts = [], []
    pause = np.zeros(int(0.3 * 16000), np.float32)
    for name in ("acoustic_corpus", "cold_corpus"):
        pieces += [audio.load_audio(mfa / "audio" / f"{name}.wav").samples, pause]
        texts.append(textgrid_transcript(mfa / "textgrid" / f"{name}.TextGrid"))
    for wav in sorted(shared("pocketsphinx_test", "librivox").glob("*.wav")):
        pieces += [audio.load_audio(wav).samples, pause]
        texts.append(wav.with_suffix(".txt").read_text().strip())
    clip = audio.AudioClip(samples=np.concatenate(pieces), source="mixed", original_rate=16000,
                           original_channels=1)
    return clip, " ".join(texts)


@pytest.mark.slow  # a 40 s take (4 s); test_long_audio_is_split_at_pauses_and_still_aligned stays fast
def test_long_mixed_take_finds_every_segments_words():
    """Word counts per segment are not guessable here (slow and fast speech, a hoarse speaker):
    the grammar search must still place every word, with no piece left to phone recognition."""
    clip, text = _mixed_take()
    assert len(segments.split_at_pauses(clip)) >= 3
    track = phonemes.phone_track(clip, text)
    assert not any(n.startswith("alignment failed") for n in track.notes), track.notes
    assert len(track.words) >= 0.95 * len(normalise_transcript(text))
    # the hoarse take starts 27.0 s in: its "sick corpus" is found there, not elsewhere
    sick = [s for w, s in zip(track.words, track.word_starts) if w == "sick"]
    assert sick and 27.0 < sick[0] < 32.0


@pytest.mark.slow  # a 40 s take (6 s); the short mismatch cases stay fast (test_generate_cli)
def test_long_take_with_a_scrambled_transcript_is_an_error():
    clip, text = _mixed_take()
    with pytest.raises(TalkclipError, match="does not match"):
        phonemes.phone_track(clip, " ".join(reversed(text.split())))


def test_cmudict_lookup_by_binary_search_matches_the_whole_file():
    """The aligners start with an empty dictionary and get each transcript word from a binary
    search over cmudict; that needs the file sorted by word, which is checked here in full."""
    entries: dict[str, list[str]] = {}
    keys = []
    with open(dictionary_path(), encoding="utf-8") as fh:
        for line in fh:
            word, _, pron = line.strip().partition(" ")
            base = word.split("(")[0] if word.endswith(")") else word
            entries.setdefault(base, []).append(pron.strip())
            keys.append(base.encode())
    assert keys == sorted(keys), "cmudict is no longer sorted by word: the binary search would miss words"
    lookup = cmudict()
    for word in ("the", "a", "'bout", "zywicki", "bought", "read", "aaa", "zzzz", keys[-1].decode()):
        assert lookup.lookup(word) == entries.get(word, []), word
    assert lookup.lookup("the") == ["DH AH", "DH IY"]
    assert lookup.lookup("maryzza") == [] and lookup.lookup("") == []
    sample = list(entries)[::997]
    assert all(lookup.lookup(w) == entries[w] for w in sample)


def test_cmudict_lookup_on_a_small_file(tmp_path):
    path = tmp_path / "tiny.dict"
    path.write_text("apple AE P AH L\nbob B AA B\nbob(2) B AO B\nzed Z EH D")  # no final newline
    d = Cmudict(str(path))
    assert d.lookup("bob") == ["B AA B", "B AO B"]
    assert d.lookup("zed") == ["Z EH D"] and d.lookup("apple") == ["AE P AH L"]
    assert d.lookup("carrot") == [] and d.lookup("zzz") == [] and d.lookup("aardvark") == []
    empty = tmp_path / "empty.dict"
    empty.write_text("")
    assert Cmudict(str(empty)).lookup("bob") == []


@pytest.mark.parametrize("recognizer", ["phones", pytest.param("words", marks=pytest.mark.slow)])
def test_recognition_does_not_depend_on_what_was_decoded_before(recognizer):
    """PocketSphinx carries its cepstral mean and noise estimate from one utterance into the
    next; each take starts afresh (SphinxPool.start_take), so a take comes out the same whatever
    the process did before (a golden take once changed with the order the tests ran in)."""
    line = audio.load_audio(SPEECH / "line1_us1.wav")
    t = np.arange(1120) / 16000
    tone = audio.AudioClip((0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), "tone", 16000, 1)
    first = phonemes.phone_track(line, recognizer=recognizer)
    phonemes.phone_track(tone, recognizer=recognizer)
    again = phonemes.phone_track(line, recognizer=recognizer)
    assert first.phones == again.phones and np.array_equal(first.starts, again.starts)
