"""When the study happens and when, and in which format, each site sends its transfers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

ENROLMENT_START = date(2020, 3, 2)
ENROLMENT_END = date(2022, 6, 30)
FIRST_TRANSFER = date(2020, 12, 15)
LAST_TRANSFER = date(2023, 3, 15)  # after every subject's month-6 visit has been entered
EXTRACT_HOUR = 2


@dataclass(frozen=True)
class TransferFormat:
    index: int
    extract_id: str
    extracted_at: str
    cutoff: int  # ordinal of the extract's date: a record shows when it is entered before it
    encoding: str
    delimiter: str
    decimal_separator: str
    bom: bool
    line_terminator: str
    extra_column_file: str | None  # file that carries a non-DTS column in this transfer
    mixed_case_header_file: str | None  # file whose header names are written in mixed case


def site_ids(sites: int) -> list[str]:
    width = max(2, len(str(sites)))
    return [f"KZ{i:0{width}d}" for i in range(1, sites + 1)]


def transfer_dates(transfers: int) -> list[date]:
    if transfers < 1:
        raise ValueError("transfers must be 1 or more")
    if transfers == 1:
        return [LAST_TRANSFER]
    months = (LAST_TRANSFER.year - FIRST_TRANSFER.year) * 12 + LAST_TRANSFER.month - FIRST_TRANSFER.month
    if transfers <= months + 1:
        # Monthly grid, always on the 15th like a scheduled export.
        out = []
        for k in range(transfers):
            m = FIRST_TRANSFER.month - 1 + round(months * k / (transfers - 1))
            out.append(date(FIRST_TRANSFER.year + m // 12, m % 12 + 1, 15))
        return out
    span = (LAST_TRANSFER - FIRST_TRANSFER).days
    if transfers > span + 1:
        raise ValueError(f"at most {span + 1} transfers fit in the study period")
    return [FIRST_TRANSFER + timedelta(days=round(span * k / (transfers - 1))) for k in range(transfers)]


def cp1251_index(transfers: int) -> int | None:
    return transfers - 2 if transfers >= 2 else None


def bom_index(transfers: int) -> int | None:
    if transfers >= 3:
        return transfers - 3
    return 1 if transfers == 2 else None


def transfer_formats(site_number: int, transfers: int) -> list[TransferFormat]:
    """The transfers of the site numbered `site_number` (1-based), oldest first."""
    # Sites export a few minutes apart; the date (and so every record's visibility) is the same.
    offset = timedelta(seconds=((site_number - 1) * 437) % (4 * 3600))
    windows = cp1251_index(transfers)
    bom = bom_index(transfers)
    out = []
    for k, day in enumerate(transfer_dates(transfers)):
        at = datetime(day.year, day.month, day.day, EXTRACT_HOUR) + offset
        win = k == windows
        out.append(
            TransferFormat(
                index=k,
                extract_id=at.strftime("%Y%m%dT%H%M%SZ"),
                extracted_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                cutoff=at.date().toordinal(),
                encoding="cp1251" if win else "utf-8",
                delimiter=";" if win else ",",
                decimal_separator="," if win else ".",
                bom=k == bom,
                line_terminator="\r\n" if win else "\n",
                extra_column_file="dm" if k == 0 else None,
                mixed_case_header_file="fs" if win else None,
            )
        )
    return out
