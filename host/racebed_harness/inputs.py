"""What the harness's input files share: the error they raise and the
comment syntax of the line-based ones (matrix, expectations)."""

from typing import List


class HarnessError(Exception):
    """A problem with the harness's inputs (matrix, expectations, files)."""


def strip_comment(line: str) -> List[str]:
    """Splits a line into words, dropping everything from a word that starts
    with `#`."""
    words = []
    for word in line.split():
        if word.startswith("#"):
            break
        words.append(word)
    return words
