"""TalkCLIP model side: audio front-end, phonemes, text-to-style encoder, decoder.

Run time needs numpy, onnxruntime and pocketsphinx only; torch is used for training and export.
"""

from ._version import __version__
from .arkit import ARKIT_NAMES, HEAD_CHANNELS
from .errors import TalkclipError
from .types import ExpressionTrack, PhoneTrack, Prosody, SpeakingStyle

__all__ = [
    "__version__", "ARKIT_NAMES", "HEAD_CHANNELS", "TalkclipError",
    "ExpressionTrack", "PhoneTrack", "Prosody", "SpeakingStyle",
]
