"""TalkCLIP model side: audio front-end, phonemes, text-to-style encoder, decoder.

Run time needs numpy, onnxruntime and pocketsphinx only; torch is used for training and export.
"""

from talkclip_model._version import __version__
from talkclip_model.arkit import ARKIT_NAMES, HEAD_CHANNELS
from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack, PhoneTrack, Prosody, SpeakingStyle

__all__ = [
    "__version__", "ARKIT_NAMES", "HEAD_CHANNELS", "TalkclipError",
    "ExpressionTrack", "PhoneTrack", "Prosody", "SpeakingStyle",
]
