"""How ``fastloss score`` reports a problem with its inputs: a ScoreError with a one-line message."""


class ScoreError(ValueError):
    """A problem with the input files or their values, described in one line."""


def one_line(msg):
    """``msg`` with its whitespace (newlines included) collapsed to single spaces."""
    return " ".join(str(msg).split())
