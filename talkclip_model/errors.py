"""The one exception type users see. Its message is a single line naming the input and the problem."""


def escape_unprintable(text: str) -> str:
    """``text`` with control characters (a terminal's escape sequences, line breaks) and lone
    surrogates shown escaped (``\\x1b``, ``\\n``) instead of acting on the terminal or failing to print."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _safe(text: str) -> str:
    """One line of printable text: runs of white space (line breaks included) become one space,
    the rest escaped as in ``escape_unprintable``."""
    return escape_unprintable(" ".join(str(text).split()))


class TalkclipError(Exception):
    """A user-facing failure: bad input, missing model file, unwritable output."""

    def __init__(self, message: str):
        super().__init__(_safe(message))  # always one line


def one_line(exc: BaseException) -> str:
    """A failure as one line: our own errors as they are, anything else with its type name."""
    if isinstance(exc, TalkclipError):
        return str(exc)
    return f"{type(exc).__name__}: {_safe(str(exc)) or '(no message)'}"
