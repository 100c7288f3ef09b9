"""Beyond the lips: blinks, gaze, brow emphasis, head motion and audio arousal for a take.

``layers.nonverbal_layers`` is what the decoder calls; ``cues`` reads the audio, ``eyes``,
``head`` and ``emphasis`` each simulate one part, ``schedule`` blends styles over time. Everything is simulated on a fixed 100 Hz grid
in seconds and only then sampled at the frame times, so 24, 29.97 and 60 fps give the same
motion; random choices come from ``numpy.random.Generator(PCG64(seed))`` split into one stream
per part (blinks, gaze, head noise, beats, brows), so a take is reproducible for a seed and a
change to one part's settings does not reshuffle the others. Without a seed a take seeds itself
(the pipeline from its audio samples, ``nonverbal_layers`` from its prosody), so different lines
never share one canned performance. See docs/nonverbal.md.
"""
