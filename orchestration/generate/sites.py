"""Generates one site: its subjects one at a time, streamed into all of its transfers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Callable

from .features import FeaturePlanner, Schedule
from .layout import COL
from .records import FeatureNote, RecordBook
from .schedule import transfer_formats
from .study import SiteContext, simulate_screen_failure, simulate_subject
from .terms import NTPROBNP_RANGE
from .transfer_writer import TransferWriter


def generate_site(out_dir: Path, site_id: str, site_number: int, *, subjects: int, transfers: int,
                  seed: int, progress: Callable[[str], None] | None = None,
                  on_feature: Callable[[str, FeatureNote], None] | None = None) -> list[Path]:
    formats = transfer_formats(site_number, transfers)
    schedule = Schedule(tuple(f.cutoff for f in formats))
    ctx = SiteContext(seed=seed, siteid=site_id, n_subjects=subjects,
                      subjid_width=max(3, len(str(subjects))), schedule=schedule,
                      planner=FeaturePlanner(schedule))
    writers = [TransferWriter(out_dir / site_id / f.extract_id, site_id, f) for f in formats]
    step = -(-subjects // 20)  # progress about every 5 %
    last_consent = None
    for index in range(1, subjects + 1):
        book = simulate_subject(ctx, index)
        last_consent = book.entries["dm"][0].row[COL["dm"]["CONSDT"]]
        _deliver(writers, book, site_id, on_feature)
        if progress and index % step == 0 and index < subjects:
            progress(f"{site_id}: {index}/{subjects} subjects")
    # one more patient screened, not eligible, never infused: numbered after the enrolled subjects
    _deliver(writers, simulate_screen_failure(ctx, subjects + 1, date.fromisoformat(last_consent)), site_id,
             on_feature)
    _deliver(writers, _unknown_subject_row(ctx), site_id, on_feature)
    written = [writer.finish() for writer in writers]
    if progress:
        progress(f"{site_id}: done, {subjects} subjects in {transfers} transfers")
    return written


def _deliver(writers: list[TransferWriter], book: RecordBook, site_id: str,
             on_feature: Callable[[str, FeatureNote], None] | None) -> None:
    for writer in writers:
        writer.add(book.entries)
    if on_feature:
        for note in book.notes:
            on_feature(site_id, note)


def _unknown_subject_row(ctx: SiteContext) -> RecordBook:
    """A lab result keyed to a subject number the site never used (a typo in the EDC): the number
    after the screen failure's, so it is in no dm.csv."""
    book = RecordBook(ctx.subjid(ctx.n_subjects + 2))
    cutoff = ctx.schedule.cutoffs[ctx.schedule.middle]
    day = date.fromordinal(cutoff - 40)
    recid = book.add("lb", cutoff - 25, ["MONTH 1", f"{day.isoformat()}T08:40", "NTPROBNP", "1830", "pg/mL",
                                         *NTPROBNP_RANGE["pg/mL"]])
    book.note("unknown_subject", "lb", recid, "SUBJID", book.subjid)
    return book
