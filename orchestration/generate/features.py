"""Deliberate oddities of the sample, and which subject of a site carries each one.

Subjects are generated in enrolment order; each takes the first feature still unplaced whose
condition its timeline meets (one feature per subject). The conditions make sure the records a
feature touches are entered in time for the transfers that must show them, so placement is
deterministic and needs no look-ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

MAX_ENTRY_LAG = 20  # days between an assessment and its entry into the EDC


def settled(day: date, cutoff: int) -> bool:
    """Whatever happened on `day` is entered before an extract with this cutoff, whatever the lag."""
    return day.toordinal() + MAX_ENTRY_LAG < cutoff


@dataclass(frozen=True)
class Feature:
    name: str
    needs_two_transfers: bool
    fits: Callable[..., bool]  # (timeline, schedule) -> may this subject carry it?


@dataclass(frozen=True)
class Schedule:
    cutoffs: tuple[int, ...]

    @property
    def last(self) -> int:
        return self.cutoffs[-1]

    @property
    def middle(self) -> int:
        """Index of the transfer after which the mid-study correction and deletion happen."""
        return max(0, min(1, len(self.cutoffs) - 2))

    def edit_time(self, k: int) -> int:
        """A date ordinal between transfer k and k + 1: an EDC edit made then shows from k + 1 on."""
        return (self.cutoffs[k] + self.cutoffs[k + 1]) // 2


def _after(days: int, *, by_middle: bool = False) -> Callable:
    """Study day `days` is entered by the last transfer (or by the middle one)."""
    def fits(tl, sched: Schedule) -> bool:
        cutoff = sched.cutoffs[sched.middle] if by_middle else sched.last
        return settled(tl.infusion + timedelta(days=days), cutoff)
    return fits


def _always(tl, sched) -> bool:
    return True


FEATURES: tuple[Feature, ...] = (
    Feature("lvef_typo_corrected", True, lambda tl, s: settled(tl.consent, s.cutoffs[0])),
    Feature("sex_corrected", True, lambda tl, s: tl.consent.toordinal() < s.cutoffs[0]),
    Feature("ae_deleted", True, _after(3, by_middle=True)),
    Feature("aesev_corrected", True, _after(3, by_middle=True)),
    Feature("month6_out_of_window", False, _after(290)),
    Feature("death", False, _after(165)),
    Feature("withdrawal", False, _after(145)),
    Feature("month1_out_of_window", False, _after(110)),
    Feature("unscheduled_visit", False, _after(50)),
    Feature("lvef_implausible", False, _after(100)),
    Feature("lvesv_above_lvedv", False, _after(40)),
    Feature("smwd_implausible", False, _after(100)),
    Feature("duplicate_lab_row", False, _after(40)),
    Feature("infusion_without_time", False, _always),
    Feature("ae_infusion_date_no_time", False, _always),
    Feature("ae_partial_month_infusion", False, lambda tl, s: tl.infusion.day <= 25),
    Feature("ae_partial_month_later", False, _after(60)),
    Feature("ae_partial_year", False, _after(120)),
    Feature("ntprobnp_below_limit", False, _after(195)),
    Feature("ntprobnp_ng_l", False, _always),
    Feature("ntprobnp_pmol_l", False, _always),
    Feature("ae_quoted_verbatim", False, _always),
    Feature("nyha_arabic", False, _always),
    Feature("baseline_on_infusion_day", False, _always),
)


class FeaturePlanner:
    """Hands out the features of one site, in order, to the subjects as they are generated."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        two = len(schedule.cutoffs) >= 2
        self._open = [f for f in FEATURES if two or not f.needs_two_transfers]

    def assign(self, timeline) -> frozenset[str]:
        for i, feature in enumerate(self._open):
            if feature.fits(timeline, self.schedule):
                del self._open[i]
                return frozenset((feature.name,))
        return frozenset()
