"""The vocabulary loader (talkclip_model/style/vocabulary.py) on the shipped data files and on
broken copies of them in a temporary folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from talkclip_model.errors import TalkclipError
from talkclip_model.style import vocabulary as vocab_mod
from talkclip_model.style.facs import PROTOTYPES
from talkclip_model.style.vocabulary import DATA_DIR, load, phrase_key, vocabulary


@pytest.fixture()
def data(tmp_path):
    """A writable copy of the shipped data folder."""
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder)
    return folder


def _edit(path, change):
    content = json.loads(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(json.dumps(content, indent=1), encoding="utf-8")


def _refused(folder, *expected):
    with pytest.raises(TalkclipError) as err:
        load(folder)
    message = str(err.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, message
    return message


def test_the_shipped_vocabulary_loads_and_is_consistent():
    vocab = vocabulary()
    assert vocab is vocabulary()  # read once
    assert len(vocab.words) > 700 and len(vocab.phrases) > 600
    assert all(p in PROTOTYPES for p, _ in [*vocab.words.values(), *vocab.phrases.values(), *vocab.gestures.values()])
    assert all(w in vocab.words for w in [*vocab.adverbs.values(), *vocab.nouns.values()])
    assert vocab.words["furious"] == ("angry", 1.0) and vocab.phrases["over the moon"] == ("happy", 1.0)
    assert vocab.phrases["hot under the collar"] == ("angry", 0.7)
    assert vocab.derived_forms()["gloomily"] == "gloomy" and "madly" not in vocab.derived_forms()
    keys = [phrase_key(e) for e in [*vocab.words, *vocab.adverbs, *vocab.nouns, *vocab.phrases]]
    assert len(keys) == len(set(keys))


def test_a_copy_of_the_data_loads_the_same(data):
    assert load(data) == vocabulary()


def test_a_key_written_twice_in_one_file_is_refused(data):
    path = data / "emotion_nouns.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"anger": "angry",', '"anger": "angry",\n  "anger": "furious",'), encoding="utf-8")
    _refused(data, "emotion_nouns.json", "'anger'")


def test_an_entry_under_two_prototypes_is_refused(data):
    _edit(data / "emotion_words.json", lambda d: d["sad"].update({"furious": 0.5}))
    _refused(data, "emotion_words.json", "'furious'", "already listed")


def test_an_entry_in_two_files_is_refused(data):
    _edit(data / "situations.json", lambda d: d["angry"].update({"furious": 0.9}))
    _refused(data, "situations.json", "'furious'", "emotion_words.json")


def test_the_same_words_spelled_differently_are_one_entry(data):
    _edit(data / "idioms.json", lambda d: d["sad"].update({"Crying HER eyes-out": 0.9}))
    _refused(data, "idioms.json", "'Crying HER eyes-out'", "'crying his eyes out'")


def test_an_unknown_prototype_is_refused(data):
    _edit(data / "idioms.json", lambda d: d.update({"gleeful_ish": {"tickled silly": 0.8}}))
    _refused(data, "idioms.json", "'tickled silly'", "'gleeful_ish'")
    shutil.copy(DATA_DIR / "idioms.json", data / "idioms.json")
    _edit(data / "gestures.json", lambda d: d.update({r"hiss\w*": ["snake", 0.5]}))
    _refused(data, "gestures.json", "'snake'")


def test_a_noun_for_an_unlisted_word_is_refused(data):
    _edit(data / "emotion_nouns.json", lambda d: d.update({"gloominess": "gloomful"}))
    _refused(data, "emotion_nouns.json", "'gloominess'", "'gloomful'")


@pytest.mark.parametrize("grade", [0, 1.5, "high", True])
def test_a_grade_outside_0_to_1_is_refused(data, grade):
    _edit(data / "emotion_words.json", lambda d: d["happy"].update({"content": grade}))
    _refused(data, "emotion_words.json", "'content'", "grade")


def test_an_ambiguous_word_must_be_listed(data):
    _edit(data / "ambiguous_words.json", lambda d: d.append("kumquat"))
    _refused(data, "ambiguous_words.json", "'kumquat'")


def test_an_intensifier_is_not_an_emotion_word(data):
    _edit(data / "emotion_words.json", lambda d: d["happy"].update({"very": 0.5}))
    _refused(data, "emotion_words.json", "'very'", "intensifier")


def test_a_missing_or_broken_file_is_named(data):
    (data / "gestures.json").write_text("{", encoding="utf-8")
    _refused(data, "gestures.json", "unreadable")
    (data / "gestures.json").unlink()
    _refused(data, "gestures.json", "missing")


def test_importing_the_style_package_reads_no_vocabulary():
    code = ("import talkclip_model.style, talkclip_model.style.phrases, talkclip_cli.style; "
            "from talkclip_model.style import vocabulary, lexicon; "
            "print(vocabulary.vocabulary.cache_info().currsize, lexicon.default_lexicon.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]
    assert vocab_mod.vocabulary.cache_info().maxsize is None  # functools.cache: once per process
