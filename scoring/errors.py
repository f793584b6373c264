"""The one exception the scoring core raises for input a user can fix."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(Exception):
    """Bad user input: an invalid CSV, a file that does not match the ground truth, a bad option.

    ``problems`` holds one human-readable line per problem, all found at once, so a participant
    can fix every one before uploading again. The lines name case ids or row numbers, never a
    ground-truth label (labels are secret; participants read these messages).
    """

    def __init__(self, problems: str | Iterable[str]):
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))
