"""The one exception type users see. Its message is a single line naming the input and the problem."""


class TalkclipError(Exception):
    """A user-facing failure: bad input, missing model file, unwritable output."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line


def one_line(exc: BaseException) -> str:
    """A failure as one line: our own errors as they are, anything else with its type name."""
    if isinstance(exc, TalkclipError):
        return str(exc)
    return f"{type(exc).__name__}: {' '.join(str(exc).split()) or '(no message)'}"
