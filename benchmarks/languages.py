"""Lip sync in other languages with a transcript: ``python -m benchmarks.languages [--full] [--json PATH]``.

Ten game-dialogue lines per language (rich in p/b/m, f/v, open and rounded vowels), read by
espeak-ng + an mbrola voice (the ``.pho`` gives exact phone timings; ``talkclip_model.evaluation.
mbrola``), animated with their transcript and ``--language``, and scored against the ``.pho``
truth mapped through the same visual table:

- lips: share of reference phones with the right mouth shape (``score_lips``), and the same for
  the truth phones animated directly (oracle: the ceiling the articulation allows);
- phone starts: |start difference| of the phones an edit-distance alignment pairs with a truth
  phone of the same label (median, p90, share within 20 ms) and the share of truth phones paired;
- the transcript check: right lines refused (must be none) or noted; each line with another
  line's text: refused, noted, or accepted;
- CPU seconds per audio second of ``Pipeline.generate`` (this process's CPU time).

The quick set reads every line with one voice per language; ``--full`` adds a second voice where
Debian has one. Voices that are not installed are skipped (and listed). The mbrola voices are
non-free: test and benchmark time only. Results: docs/languages.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkclip_model.animate import decoder
from talkclip_model.errors import TalkclipError
from talkclip_model.evaluation import mbrola
from talkclip_model.evaluation.lips import score_lips
from talkclip_model.pipeline import GenerateOptions, Pipeline, audio_seed
from talkclip_model.speech import audio as audio_mod
from talkclip_model.types import ExpressionTrack, SpeakingStyle

from . import Section, pct

LINES: dict[str, tuple[str, ...]] = {
    "de": ("Wir müssen sofort zur Burg, bevor die Sonne untergeht.", "Pass auf, der Wolf kommt aus dem Wald!",
           "Meine Mutter hat mir ein Boot gebaut.", "Öffne die Tür und hol das Schwert.",
           "Bleib hier und warte auf mich, bitte.", "Das Feuer brennt, wir brauchen mehr Wasser.",
           "Hast du den König gesehen? Er war am Brunnen.", "Fünf Männer folgen uns über die Brücke.",
           "Vielleicht finden wir morgen den Schatz.", "Mach schnell, die Wachen kommen zurück!"),
    "fr": ("Bonjour, mon ami, tu veux du pain?", "Le bateau part demain matin à Marseille.",
           "Fais vite, les gardes arrivent par la porte!", "Je vois un loup au bord du bois.",
           "Ma mère m'a donné une belle pomme rouge.", "Nous devons partir avant la tombée de la nuit.",
           "Prends ton épée et suis-moi.", "Il fait beau, allons boire un verre au port.",
           "Pourquoi as-tu peur du feu?", "Le vieux bonhomme a perdu sa montre."),
    "es": ("¿Dónde está el perro? Mañana vamos a la playa.", "Busca el mapa y vámonos pronto.",
           "Mi padre me compró un barco nuevo.", "Abre la puerta, por favor, hace frío.",
           "No podemos volver sin el tesoro.", "El fuego está muy cerca del bosque.",
           "Buenos días, mi amigo, ¿cómo estás?", "Vamos a buscar agua en el pozo.",
           "Prepara las armas, vienen por el puente.", "Mira, la luna brilla sobre el mar."),
    "it": ("Buongiorno, amico mio, vuoi del pane?", "Il mio babbo mi ha comprato una barca.",
           "Apri la porta, per favore, fa freddo.", "Dobbiamo partire prima della notte.",
           "Il fuoco brucia vicino al bosco.", "Guarda, la luna brilla sopra il mare.",
           "Prendi la spada e vieni con me.", "Non possiamo tornare senza il tesoro.",
           "Presto, le guardie arrivano dal ponte!", "Mamma mia, che bella giornata."),
    "pt-BR": ("Bom dia, meu amigo, você quer pão?", "Meu pai me comprou um barco novo.",
              "Abra a porta, por favor, faz frio.", "Precisamos partir antes da noite.",
              "O fogo está perto da floresta.", "Olha, a lua brilha sobre o mar.", "Pegue a espada e venha comigo.",
              "Não podemos voltar sem o tesouro.", "Depressa, os guardas vêm pela ponte!",
              "Minha mãe fez um bolo muito bom."),
    "pl": ("Dzień dobry, mój przyjacielu, chcesz chleba?", "Mój ojciec kupił mi nową łódź.",
           "Otwórz drzwi, proszę, jest zimno.", "Musimy wyruszyć przed nocą.", "Ogień płonie blisko lasu.",
           "Popatrz, księżyc świeci nad morzem.", "Weź miecz i chodź ze mną.", "Nie możemy wrócić bez skarbu.",
           "Szybko, strażnicy biegną przez most!", "Mama upiekła bardzo dobre ciasto."),
    "nl": ("Goedemorgen, mijn vriend, wil je brood?", "Mijn vader kocht een nieuwe boot voor mij.",
           "Open de deur, alsjeblieft, het is koud.", "We moeten vertrekken voor de nacht.",
           "Het vuur brandt vlak bij het bos.", "Kijk, de maan schijnt boven de zee.", "Pak het zwaard en volg mij.",
           "We kunnen niet zonder de schat terug.", "Snel, de bewakers komen over de brug!",
           "Mama bakte een heerlijke taart."),
    "ja": ("おはよう、ともだち。パンはいかが？", "ぼくのちちは、ふねをかってくれた。", "ドアをあけて、さむいから。",
           "よるになるまえに、でかけよう。", "もりのちかくで、ひがもえている。", "みて、つきがうみのうえでひかっている。",
           "かたなをもって、ついてきて。", "たからものなしでは、かえれない。", "はやく、みはりがはしをわたってくる。",
           "ははは、おいしいもちをつくった。"),
    "sv": ("God morgon, min vän, vill du ha bröd?", "Min far köpte en ny båt åt mig.",
           "Öppna dörren, snälla, det är kallt.", "Vi måste åka före natten.", "Elden brinner nära skogen.",
           "Titta, månen lyser över havet.", "Ta svärdet och följ mig.", "Vi kan inte åka hem utan skatten.",
           "Snabbt, vakterna kommer över bron!", "Mamma bakade en mycket god paj."),
    "en": ("Bob and Mary bought five big brown boxes of fresh fruit.",
           "Would you move the blue boat over to the old harbour, please?",
           "We were playing ball by the pool when the phone rang.",
           "Peter picked a bunch of purple flowers for his mother.",
           "Five very vivid velvet vests were found in the van.", "The cool blue moon rose over the quiet harbour.",
           "My father often walks along the long dark path at night.",
           "Please bring me a cup of hot coffee before the meeting.", "Who knew the old wolf would go home so soon?",
           "Maybe the baby will be happy with a big bubble bath."),
}
# the voices read per language: the quick set uses the first; --full all of them
VOICES = {"de": ("de2", "de1"), "fr": ("fr1", "fr4"), "es": ("es2", "es1"), "it": ("it3", "it4"),
          "pt-BR": ("br1", "br3"), "pl": ("pl1",), "nl": ("nl2",), "ja": ("jp3", "jp1"), "sv": ("sw2", "sw1"),
          "en": ("us1", "us2")}
WRONG_SHIFT = 3  # the wrong-text check gives line i the text of line i + 3


@dataclass
class LanguageResult:
    voices: list[str] = field(default_factory=list)
    lines: int = 0
    correct: int = 0
    checked: int = 0
    oracle_correct: int = 0
    oracle_checked: int = 0
    refused: list[str] = field(default_factory=list)  # right lines refused (must stay empty)
    noted: int = 0
    starts: list[float] = field(default_factory=list)  # seconds
    paired: int = 0
    truth_phones: int = 0
    cpu: float = 0.0
    audio_s: float = 0.0
    wrong: dict[str, int] = field(default_factory=lambda: {"refused": 0, "noted": 0, "accepted": 0})
    missing_diphones: int = 0


def _doubted(track) -> bool:
    """Whether the take's notes doubt the transcript (its words' fit, or words not found)."""
    return any("may not match" in n or "not found in the audio" in n for n in track.meta["notes"])


def _counts(track, truth) -> tuple[int, int]:
    scores = score_lips(track, truth)
    return sum(s.correct for s in scores.values()), sum(s.checked for s in scores.values())


def _oracle(wav: Path, truth) -> ExpressionTrack:
    """The truth phones animated as the pipeline animates aligned ones (neutral style)."""
    clip = audio_mod.load_audio(wav)
    result = decoder.decode(truth, audio_mod.prosody(clip), SpeakingStyle.neutral(), fps=30.0,
                            seed=audio_seed(clip))
    return ExpressionTrack(fps=result.fps, arkit=result.arkit, head=result.head, phones=truth,
                           layers=result.layers, meta={})


def _line(pipeline: Pipeline, res: LanguageResult, code: str, voice: str, i: int, folder: Path) -> None:
    text = LINES[code][i]
    syn = mbrola.synthesize(text, voice, folder / f"{voice}_{i}.wav")
    res.lines += 1
    res.missing_diphones += len(syn.missing)
    t0 = time.process_time()
    try:
        track = pipeline.generate(syn.wav, GenerateOptions(transcript=text, language=code))
    except TalkclipError as exc:
        res.refused.append(f"{voice} {i}: {exc}")
        return
    res.cpu += time.process_time() - t0
    res.audio_s += syn.truth.duration
    res.noted += _doubted(track)
    c, k = _counts(track, syn.truth)
    res.correct, res.checked = res.correct + c, res.checked + k
    c, k = _counts(_oracle(syn.wav, syn.truth), syn.truth)
    res.oracle_correct, res.oracle_checked = res.oracle_correct + c, res.oracle_checked + k
    errors, n_truth = mbrola.start_errors(track.phones, syn.truth)
    res.starts += errors
    res.paired += len(errors)
    res.truth_phones += n_truth
    wrong = LINES[code][(i + WRONG_SHIFT) % len(LINES[code])]
    try:
        other = pipeline.generate(syn.wav, GenerateOptions(transcript=wrong, language=code))
        res.wrong["noted" if _doubted(other) else "accepted"] += 1
    except TalkclipError:
        res.wrong["refused"] += 1


def measure(full: bool = False, progress=print, languages: list[str] | None = None) -> tuple[dict, list[str]]:
    """Per language: a LanguageResult; and the voices that are not installed."""
    pipeline = Pipeline()
    results: dict[str, LanguageResult] = {}
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="talkclip-languages-") as tmp:
        for code in languages or list(LINES):
            res = results.setdefault(code, LanguageResult())
            for voice in VOICES[code][: None if full else 1]:
                if not mbrola.available(voice):
                    missing.append(voice)
                    continue
                res.voices.append(voice)
                progress(f"languages: {code} ({voice})")
                for i in range(len(LINES[code])):
                    _line(pipeline, res, code, voice, i, Path(tmp))
    return results, missing


def _ms(values: list[float], q: float) -> str:
    return f"{1000 * np.percentile(values, q):.0f}" if values else "n/a"


def section(results: dict[str, LanguageResult], missing: list[str]) -> Section:
    sec = Section(title="Lip sync in other languages (mbrola speech, with the transcript)",
                  header=["language", "voices", "lines", "lips", "oracle", "right lines refused / noted",
                          "phone starts: median / p90 ms, within 20 ms, paired", "CPU s per audio s",
                          "wrong text: refused / noted / accepted"])
    for code, r in results.items():
        if not r.lines:
            continue
        within = np.mean(np.asarray(r.starts) <= 0.02) if r.starts else float("nan")
        sec.rows.append([
            code, " ".join(r.voices), r.lines, pct(r.correct / r.checked if r.checked else None),
            pct(r.oracle_correct / r.oracle_checked if r.oracle_checked else None),
            f"{len(r.refused)} / {r.noted}",
            f"{_ms(r.starts, 50)} / {_ms(r.starts, 90)}, {pct(within)}, "
            f"{pct(r.paired / r.truth_phones if r.truth_phones else None)}",
            f"{r.cpu / r.audio_s:.3f}" if r.audio_s else "n/a",
            f"{r.wrong['refused']} / {r.wrong['noted']} / {r.wrong['accepted']}"])
        sec.data[code] = {"voices": r.voices, "lines": r.lines, "correct": r.correct, "checked": r.checked,
                          "oracle_correct": r.oracle_correct, "oracle_checked": r.oracle_checked,
                          "refused": r.refused, "noted": r.noted, "start_errors_s": r.starts,
                          "paired": r.paired, "truth_phones": r.truth_phones, "cpu_s": r.cpu, "audio_s": r.audio_s,
                          "wrong": r.wrong, "missing_diphones": r.missing_diphones}
    if missing:
        sec.notes.append(f"mbrola voices not installed, skipped: {', '.join(missing)}")
    refused = [x for r in results.values() for x in r.refused]
    sec.notes.append(f"right lines refused: {len(refused)}" + (f" ({'; '.join(refused)})" if refused else ""))
    return sec


def run(full: bool = False, out_dir: Path | None = None, progress=print, **_) -> Section:
    t0 = time.perf_counter()
    sec = section(*measure(full, progress))
    sec.seconds = time.perf_counter() - t0
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "languages.json").write_text(json.dumps(sec.data, indent=1))
    return sec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.languages", description=__doc__.split("\n\n")[0])
    p.add_argument("--full", action="store_true", help="a second voice per language where Debian has one")
    p.add_argument("--only", metavar="CODES", help="comma-separated language codes (default: all)")
    p.add_argument("--json", metavar="PATH", help="also write the raw numbers here")
    args = p.parse_args(argv)
    only = [c.strip() for c in args.only.split(",")] if args.only else None
    results, missing = measure(args.full, lambda m: print(f"  .. {m}", file=sys.stderr, flush=True), only)
    sec = section(results, missing)
    print(sec.markdown())
    if args.json:
        Path(args.json).write_text(json.dumps(sec.data, indent=1))
    return 1 if any(r.refused for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
