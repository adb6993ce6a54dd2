"""One subject's EDC records, each with the span of transfers in which it is visible."""

from __future__ import annotations

from typing import NamedTuple

from .layout import COL, FILES

FOREVER = 10**7  # a date ordinal later than any extract


class Entry(NamedTuple):
    """A version of a record: shown by a transfer whose cutoff c has visible_from < c <= visible_until."""

    visible_from: int
    visible_until: int
    row: list[str]


class FeatureNote(NamedTuple):
    feature: str
    file: str
    recid: str
    subjid: str
    field: str
    value: str


class RecordBook:
    __slots__ = ("subjid", "entries", "notes", "_seq")

    def __init__(self, subjid: str):
        self.subjid = subjid
        self.entries: dict[str, list[Entry]] = {name: [] for name in FILES}
        self.notes: list[FeatureNote] = []
        self._seq = dict.fromkeys(FILES, 0)

    def add(self, file: str, visible_from: int, values: list[str], *,
            changes: tuple[tuple[int, str, str], ...] = (), deleted_from: int | None = None) -> str:
        """Add a record and return its RECID.

        `changes` are (date ordinal, column, new value): edits made in the EDC after the record was
        first entered; `deleted_from` is when the record is deleted from the EDC.
        """
        self._seq[file] += 1
        recid = f"{self.subjid}-{self._seq[file]:03d}"
        row = [recid, self.subjid, *values]
        entries = self.entries[file]
        if not changes and deleted_from is None:
            entries.append(Entry(visible_from, FOREVER, row))
            return recid
        versions: list[Entry] = []
        start, current = visible_from, row
        for when, column, value in sorted(changes, key=lambda c: c[0]):
            if when > start:
                versions.append(Entry(start, when, current))
                start, current = when, list(current)
            current[COL[file][column]] = value
        versions.append(Entry(start, FOREVER, current))
        end = FOREVER if deleted_from is None else deleted_from
        entries.extend(Entry(v.visible_from, min(v.visible_until, end), v.row)
                       for v in versions if v.visible_from < end)
        return recid

    def note(self, feature: str, file: str, recid: str, field: str, value: str) -> None:
        self.notes.append(FeatureNote(feature, file, recid, self.subjid, field, value))
