"""Command line, help that quotes a threshold: written with placeholders (`{pdq}`,
`{phash}`, `{similar}`...) and filled, when the help is shown, from where each number
lives: `HASHERS` (osintkit/match/hashing.py) for the hash kinds' near-match distances,
osintkit/match/compare.py for the verdicts of `compare`. So a threshold is written once,
and importing the command line loads neither the match stage nor Pillow.
"""

from __future__ import annotations

from typing import Any

import click


def thresholds() -> dict[str, int]:
    """The placeholders' values: each hash kind's near threshold by its name, PDQ's
    quality floor (`pdq_min_quality`) and compare's "similar" PDQ distance (`similar`)."""
    from osintkit.match.compare import SIMILAR_PDQ
    from osintkit.match.hashing import HASHERS

    return {**{name: h.threshold for name, h in HASHERS.items()},
            "pdq_min_quality": HASHERS["pdq"].min_quality, "similar": SIMILAR_PDQ}


class _FilledHelp:
    """`help` is kept as written (a template) and filled each time it is read, which
    click does only to show help."""

    _template: str | None = None

    @property
    def help(self) -> str | None:
        return None if self._template is None else self._template.format(**thresholds())

    @help.setter
    def help(self, value: str | None) -> None:
        self._template = value


class ThresholdOption(_FilledHelp, click.Option):
    """An option whose help quotes thresholds (`cls=ThresholdOption`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class ThresholdCommand(_FilledHelp, click.Command):
    """A command whose help (its docstring) quotes thresholds (`cls=ThresholdCommand`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The line of `osintkit --help`, made by click from the first paragraph: filled
        only when that paragraph quotes a threshold, so the listing loads nothing."""
        head = (self._template or "").partition("\n\n")[0]
        if "{" in head:
            return super().get_short_help_str(limit)
        plain = click.Command(self.name, help=head, short_help=self.short_help,
                              deprecated=self.deprecated)
        return plain.get_short_help_str(limit)
