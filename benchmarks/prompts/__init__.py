"""Style prompt sets written independently of the style model.

Each set was written by a separate helper session that saw none of the project's code, corpus or
vocabulary, from general English knowledge, on 2026-11-21. Each defines EMOTION
[(prompt, "accepted families")], ACTIONS [(prompt, [active channels], [quiet channels])] with
"A|B" meaning either side, and PAIRS [(weaker, stronger)].

How each was used (so the scores can be read for what they are):
- set_1: its first half was looked at while tuning the lexicon; its second half's emotion
  prompts only once, for the score.
- set_2: looked at (failures) while tuning; a development set since.
- set_3: its emotion prompts and pairs were scored but never looked at; its action failures
  were looked at once and fixed.
"""

SETS = {
    "set_1": "half looked at while tuning",
    "set_2": "looked at while tuning",
    "set_3": "emotion prompts and pairs never looked at; action failures looked at once",
}
