"""Deterministic sample transfers of the RegenHeart trial, as a site's EDC would export them.

`generate(out_dir)` writes the sample the repository ships in seeds/landing; bigger arguments
give as many sites, subjects and transfers as wanted, written as they are simulated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .schedule import site_ids
from .sites import generate_site

DEFAULT_SEED = 4325595  # the trial's NCT number + 1: the first seed whose sample shows every example verbatim

__all__ = ["DEFAULT_SEED", "generate"]


def generate(out_dir: Path, *, sites: int = 1, subjects_per_site: int = 30, transfers: int = 4,
             seed: int = DEFAULT_SEED, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write `<out_dir>/<SITEID>/<EXTRACT_ID>/` transfer folders and return them in (site, extract id) order.

    Same arguments, same bytes. `out_dir` is assumed empty or absent.
    """
    if sites < 1 or subjects_per_site < 1 or transfers < 1:
        raise ValueError("sites, subjects_per_site and transfers must each be 1 or more")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, site_id in enumerate(site_ids(sites), 1):
        written += generate_site(out_dir, site_id, number, subjects=subjects_per_site,
                                 transfers=transfers, seed=seed, progress=progress)
    return written
