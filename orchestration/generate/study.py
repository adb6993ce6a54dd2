"""Simulates one RegenHeart subject: timeline, measurements and the EDC records they become."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import terms
from .features import MAX_ENTRY_LAG, FeaturePlanner, Schedule
from .layout import IE_CRITERIA, VISITS_DAYS
from .records import RecordBook
from .schedule import ENROLMENT_END, ENROLMENT_START

ONE_DAY = timedelta(days=1)


@dataclass
class Timeline:
    consent: date
    infusion: date
    infusion_at: datetime
    baseline: date
    month_days: dict[str, int]  # nominal visit -> study day
    unscheduled_day: int | None = None
    end: date | None = None  # last day in the study
    end_reason: str = "COMPLETED"
    visits: list[tuple[str, date]] = field(default_factory=list)

    def on_day(self, study_day: int) -> date:
        return self.infusion + timedelta(days=study_day - 1)


@dataclass(frozen=True)
class SiteContext:
    seed: int
    siteid: str
    n_subjects: int
    subjid_width: int
    schedule: Schedule
    planner: FeaturePlanner

    def subjid(self, index: int) -> str:
        return str(index).zfill(self.subjid_width)


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _progress(study_day: int) -> float:
    """Share of the 6-month treatment effect reached by a study day."""
    return (min(max(study_day, 0), 180) / 180) ** 0.7


def _draw_timeline(rng: random.Random, index: int, n: int) -> Timeline:
    span = (ENROLMENT_END - ENROLMENT_START).days
    consent = ENROLMENT_START + timedelta(days=int((index - 1 + rng.random()) / n * span))
    if consent.weekday() >= 5:
        consent -= timedelta(days=consent.weekday() - 4)  # back to Friday
    infusion = consent + timedelta(days=rng.randint(9, 30))
    if infusion.weekday() >= 5:
        infusion -= timedelta(days=infusion.weekday() - 4)
    hour, minute = rng.randint(9, 14), rng.choice((0, 10, 20, 30, 40, 50))
    infusion_at = datetime(infusion.year, infusion.month, infusion.day, hour, minute)
    if rng.random() < 0.15:
        baseline = infusion  # assessed on the infusion day, before the infusion
    else:
        first = max(consent, infusion - timedelta(days=30))
        baseline = first + timedelta(days=rng.randint(0, (infusion - first).days - 1))
    month_days = {
        "MONTH 1": 30 + rng.randint(-4, 6),
        "MONTH 3": 90 + rng.randint(-7, 10),
        "MONTH 6": 180 + rng.randint(-10, 14),
    }
    return Timeline(consent, infusion, infusion_at, baseline, month_days)


def _finish_timeline(rng: random.Random, tl: Timeline, feats: frozenset[str]) -> None:
    if "month1_out_of_window" in feats:
        tl.month_days["MONTH 1"] = rng.randint(68, 72)
        tl.month_days["MONTH 3"] = rng.randint(100, 106)
    if "month6_out_of_window" in feats:
        tl.month_days["MONTH 6"] = rng.randint(282, 288)
    if "baseline_on_infusion_day" in feats:
        tl.baseline = tl.infusion  # labs drawn that morning, before the infusion
    if "unscheduled_visit" in feats:
        tl.unscheduled_day = rng.randint(40, 50)
    if "death" in feats:
        tl.end, tl.end_reason = tl.on_day(rng.randint(125, 160)), "DEATH"
    elif "withdrawal" in feats:
        tl.end, tl.end_reason = tl.on_day(rng.randint(105, 140)), "WITHDRAWAL BY SUBJECT"
    else:
        tl.end = tl.on_day(tl.month_days["MONTH 6"])
    visits = [("SCREENING", tl.consent), ("BASELINE", tl.baseline)]
    visits += [(v, tl.infusion + timedelta(days=i)) for i, v in enumerate(VISITS_DAYS)]
    visits += [("MONTH 1", tl.on_day(tl.month_days["MONTH 1"]))]
    if tl.unscheduled_day is not None:
        visits.append(("UNSCHEDULED", tl.on_day(tl.unscheduled_day)))
    visits += [("MONTH 3", tl.on_day(tl.month_days["MONTH 3"])),
               ("MONTH 6", tl.on_day(tl.month_days["MONTH 6"]))]
    if tl.end_reason == "COMPLETED":
        tl.visits = visits
    else:  # nothing happens on or after death / withdrawal
        tl.visits = [(v, d) for v, d in visits if d < tl.end]


@dataclass
class Profile:
    """The subject's baseline state and how strongly they respond to the cells."""

    sex: str
    response: float
    lvef: int
    lvedv: float
    lvedd: float
    ntprobnp: float
    smwd: float
    nyha: int
    mlhfq: float
    kccq: float
    pcs: float
    mcs: float
    creat: float
    hgb: float
    tropi: float
    ckmb: float
    ivs: float
    lvpw: float
    ntprobnp_unit: str


def _draw_profile(rng: random.Random, feats: frozenset[str]) -> Profile:
    g = rng.gauss
    sex = "M" if rng.random() < 0.7 else "F"
    response = g(1.0, 0.8)
    if "death" in feats:
        response = -1.2 - abs(g(0, 0.3))
    if "ntprobnp_ng_l" in feats:
        unit = "ng/L"
    elif "ntprobnp_pmol_l" in feats:
        unit = "pmol/L"
    elif "ntprobnp_below_limit" in feats:
        unit = "pg/mL"
    else:
        u = rng.random()
        unit = "ng/L" if u < 0.12 else "pmol/L" if u < 0.2 else "pg/mL"
    return Profile(
        sex=sex,
        response=response,
        lvef=round(_clip(g(27, 5), 12, 35)),
        lvedv=_clip(g(230, 45), 140, 380),
        lvedd=_clip(g(70, 6), 58, 86),
        ntprobnp=_clip(math.exp(g(math.log(2500), 0.75)), 300, 25000),
        smwd=_clip(g(280, 70), 60, 480),
        nyha=4 if rng.random() < 0.2 else 3,
        mlhfq=_clip(g(50, 14), 15, 95),
        kccq=_clip(g(40, 14), 5, 85),
        pcs=_clip(g(32, 6), 15, 50),
        mcs=_clip(g(42, 8), 20, 60),
        creat=_clip(g(95, 20), 55, 180),
        hgb=_clip(g(140, 12) if sex == "M" else g(128, 10), 95, 175),
        tropi=_clip(math.exp(g(math.log(14), 0.5)), 3, 60),
        ckmb=_clip(math.exp(g(math.log(1.8), 0.35)), 0.5, 6),
        ivs=_clip(g(9.2, 1.3), 6, 13),
        lvpw=_clip(g(8.8, 1.2), 6, 13),
        ntprobnp_unit=unit,
    )


def _dm_values(rng: random.Random, sex: str, consent: date) -> list[str]:
    """dm.csv values after RECID and SUBJID: SEX, BRTHYR, CONSDT, ICDIND, ICDIMP, ETIOLCONF."""
    birth_year = consent.year - round(_clip(rng.gauss(50, 11), 22, 74))
    return [sex, str(birth_year), consent.isoformat(), "Y",
            "Y" if rng.random() < 0.35 else "N", "ANGIO" if rng.random() < 0.7 else "CT"]


def _minutes(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


def _morning(rng: random.Random, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 7, 0) + timedelta(minutes=rng.randint(0, 110))


class _Subject:
    """Writes one subject's records into a RecordBook; one method per DTS file."""

    def __init__(self, ctx: SiteContext, index: int):
        self.ctx = ctx
        self.subjid = ctx.subjid(index)
        self.rng = rng = random.Random(f"{ctx.seed}:{ctx.siteid}:{self.subjid}")
        self.tl = _draw_timeline(rng, index, ctx.n_subjects)
        self.feats = ctx.planner.assign(self.tl)
        _finish_timeline(rng, self.tl, self.feats)
        self.p = _draw_profile(rng, self.feats)
        self.book = RecordBook(self.subjid)
        # One entry lag per visit: the whole visit is typed in at once.
        self.lag = {v: rng.randint(0, MAX_ENTRY_LAG) for v, _ in self.tl.visits}
        self.visit_date = dict(self.tl.visits)

    def visible(self, visit: str, day: date | None = None) -> int:
        return (day or self.visit_date[visit]).toordinal() + self.lag[visit]

    def post_visits(self) -> list[tuple[str, date, int]]:
        """Follow-up visits with their study day, in date order."""
        out = []
        for visit, day in self.tl.visits:
            if visit.startswith("MONTH") or visit == "UNSCHEDULED":
                out.append((visit, day, (day - self.tl.infusion).days + 1))
        return out

    def build(self) -> RecordBook:
        self.dm()
        self.ie()
        self.ex()
        self.sv()
        self.echo()
        self.ct()
        tropi_post = self.lb()
        self.fs()
        self.qs()
        self.ae(tropi_post)
        self.ds()
        return self.book

    # -- dm, ie, ex, sv --------------------------------------------------------------------

    def dm(self) -> None:
        p, tl = self.p, self.tl
        values = _dm_values(self.rng, p.sex, tl.consent)
        changes = ()
        if "sex_corrected" in self.feats:
            values[0] = "F" if p.sex == "M" else "M"
            changes = ((self.ctx.schedule.edit_time(0), "SEX", p.sex),)
        recid = self.book.add("dm", tl.consent.toordinal(), values, changes=changes)
        if changes:
            self.book.note("sex_corrected", "dm", recid, "SEX", f"{values[0]} -> {p.sex}")

    def ie(self) -> None:
        seen = self.tl.consent.toordinal()
        for code in IE_CRITERIA:
            self.book.add("ie", seen, [code, "Y" if code.startswith("IN") else "N"])

    def ex(self) -> None:
        tl = self.tl
        lot = f"UCMSC-{tl.infusion:%y%m}-{self.rng.randint(1, 4):02d}"
        start = _minutes(tl.infusion_at)
        if "infusion_without_time" in self.feats:
            start = tl.infusion.isoformat()
        recid = self.book.add("ex", self.visible("DAY 1"),
                              [start, "1.0E7", "INTRACORONARY", "LEFT CORONARY ARTERY", lot])
        if "infusion_without_time" in self.feats:
            self.book.note("infusion_without_time", "ex", recid, "EXSTDTC", start)

    def sv(self) -> None:
        for visit, day in self.tl.visits:
            recid = self.book.add("sv", self.visible(visit), [visit, day.isoformat()])
            if visit == "UNSCHEDULED":
                self.book.note("unscheduled_visit", "sv", recid, "SVSTDTC", day.isoformat())
            elif visit == "MONTH 1" and "month1_out_of_window" in self.feats:
                self.book.note("month1_out_of_window", "sv", recid, "SVSTDTC",
                               f"{day.isoformat()} (study day {self.tl.month_days['MONTH 1']})")
            elif visit == "MONTH 6" and "month6_out_of_window" in self.feats:
                self.book.note("month6_out_of_window", "sv", recid, "SVSTDTC",
                               f"{day.isoformat()} (study day {self.tl.month_days['MONTH 6']})")

    # -- imaging ---------------------------------------------------------------------------

    def _echo_values(self, lvef: float, share: float) -> list[str]:
        g, p = self.rng.gauss, self.p
        ef = round(_clip(lvef, 10, 65))
        edv = round(_clip(p.lvedv - 18 * p.response * share + g(0, 8), 120, 420))
        esv = round(edv * (1 - ef / 100))
        edd = round(_clip(p.lvedd - 2.5 * p.response * share + g(0, 1.2), 50, 90))
        esd = round(min(edd * (1 - ef / 220) + g(0, 1), edd - 2))
        return [str(ef), str(edv), str(esv), str(edd), str(esd)]

    def echo(self) -> None:
        rng, p, tl, book = self.rng, self.p, self.tl, self.book
        g = rng.gauss
        if "lvef_typo_corrected" in self.feats:
            p.lvef = 27
        values = self._echo_values(p.lvef, 0)
        changes = ()
        if "lvef_typo_corrected" in self.feats:
            values[0] = "72"
            changes = ((self.ctx.schedule.edit_time(0), "LVEF", "27"),)
        recid = book.add("echo", self.visible("SCREENING"), ["SCREENING", tl.consent.isoformat(), *values],
                         changes=changes)
        if changes:
            book.note("lvef_typo_corrected", "echo", recid, "LVEF", "72 -> 27")
        if tl.baseline != tl.consent and rng.random() < 0.4 and not changes:
            book.add("echo", self.visible("BASELINE"),
                     ["BASELINE", tl.baseline.isoformat(), *self._echo_values(p.lvef + g(0, 1.5), 0)])
        if rng.random() < 0.5:
            day5 = self.visit_date["DAY 5"]
            book.add("echo", self.visible("DAY 5"),
                     ["DAY 5", day5.isoformat(), *self._echo_values(p.lvef + g(0.5, 2), 0)])
        for visit, day, study_day in self.post_visits():
            share = _progress(study_day)
            values = self._echo_values(p.lvef + 5 * p.response * share + g(0, 2.5), share)
            feature = None
            if visit == "MONTH 1" and "lvesv_above_lvedv" in self.feats:
                values[1], values[2] = values[2], values[1]  # volumes typed in each other's box
                feature = ("lvesv_above_lvedv", "LVESV", f"{values[2]} (LVEDV {values[1]})")
            elif visit == "MONTH 3" and "lvef_implausible" in self.feats:
                values[0] = "270"
                feature = ("lvef_implausible", "LVEF", "270")
            recid = book.add("echo", self.visible(visit), [visit, day.isoformat(), *values])
            if feature:
                book.note(feature[0], "echo", recid, feature[1], feature[2])
            elif visit == "UNSCHEDULED":
                book.note("unscheduled_visit", "echo", recid, "ECHODTC", day.isoformat())
            elif visit == "MONTH 1" and "month1_out_of_window" in self.feats:
                book.note("month1_out_of_window", "echo", recid, "ECHODTC", day.isoformat())

    def _ct_values(self, share: float, lvef: float) -> list[str]:
        g, p = self.rng.gauss, self.p
        ef = _clip(lvef + g(0, 2.5), 8, 70)
        edv = _clip(p.lvedv * 1.08 - 20 * p.response * share + g(0, 12), 120, 460)
        esv = edv * (1 - ef / 100)
        ivs = _clip(p.ivs + 0.4 * p.response * share + g(0, 0.4), 5, 15)
        lvpw = _clip(p.lvpw + 0.4 * p.response * share + g(0, 0.4), 5, 15)
        return [f"{ef:.1f}", str(round(edv)), str(round(esv)), f"{ivs:.1f}", f"{lvpw:.1f}"]

    def ct(self) -> None:
        p, tl = self.p, self.tl
        self.book.add("ct", self.visible("BASELINE"),
                      ["BASELINE", tl.baseline.isoformat(), *self._ct_values(0, p.lvef)])
        if "MONTH 6" in self.visit_date:
            day = self.visit_date["MONTH 6"] - timedelta(days=self.rng.randint(0, 3))
            share = _progress(tl.month_days["MONTH 6"])
            self.book.add("ct", self.visible("MONTH 6", day),
                          ["MONTH 6", day.isoformat(), *self._ct_values(share, p.lvef + 5 * p.response * share)])

    # -- labs ------------------------------------------------------------------------------

    def _ntprobnp(self, pg_ml: float) -> list[str]:
        unit = self.p.ntprobnp_unit
        value = str(round(pg_ml)) if unit != "pmol/L" else f"{pg_ml / terms.PMOL_PER_PG:.1f}"
        return ["NTPROBNP", value, unit, *terms.NTPROBNP_RANGE[unit]]

    def _sex_range(self, ranges: dict[str, tuple[str, str]]) -> tuple[str, str]:
        return ranges[self.p.sex]

    def lb(self) -> float:
        """Writes the lab results; returns the highest troponin I after the infusion (ng/L)."""
        rng, p, tl, book = self.rng, self.p, self.tl, self.book
        g = rng.gauss
        add = book.add

        def chemistry(visit: str, at: datetime, creat: float, hgb: float) -> None:
            seen, when = self.visible(visit), _minutes(at)
            add("lb", seen, [visit, when, "CREAT", str(round(creat)), terms.CREAT_UNIT,
                             *self._sex_range(terms.CREAT_RANGE)])
            add("lb", seen, [visit, when, "HGB", str(round(hgb)), terms.HGB_UNIT,
                             *self._sex_range(terms.HGB_RANGE)])

        def cardiac(visit: str, at: datetime, tropi: float, ckmb: float) -> None:
            seen, when = self.visible(visit), _minutes(at)
            add("lb", seen, [visit, when, "TROPI", str(round(tropi)), terms.TROPI_UNIT, *terms.TROPI_RANGE])
            add("lb", seen, [visit, when, "CKMB", f"{ckmb:.1f}", terms.CKMB_UNIT, *terms.CKMB_RANGE])

        at = _morning(rng, tl.baseline)
        recid = add("lb", self.visible("BASELINE"), ["BASELINE", _minutes(at), *self._ntprobnp(p.ntprobnp)])
        if "baseline_on_infusion_day" in self.feats:
            book.note("baseline_on_infusion_day", "lb", recid, "LBDTC",
                      f"{_minutes(at)} (EXSTDTC {_minutes(tl.infusion_at)})")
        chemistry("BASELINE", at, p.creat, p.hgb)

        pre = tl.infusion_at - timedelta(minutes=rng.randint(40, 150))
        cardiac("DAY 1", pre, p.tropi * math.exp(g(0, 0.1)), p.ckmb * math.exp(g(0, 0.1)))
        post = tl.infusion_at + timedelta(minutes=rng.randint(330, 390))
        tropi_post = p.tropi * math.exp(abs(g(1.0, 0.9)))
        ckmb_post = p.ckmb * math.exp(g(0.4, 0.4))
        add("lb", self.visible("DAY 1"),
            ["DAY 1", _minutes(post), *self._ntprobnp(p.ntprobnp * math.exp(g(0.05, 0.12)))])
        cardiac("DAY 1", post, tropi_post, ckmb_post)
        for n, visit in ((1, "DAY 2"), (2, "DAY 3")):
            fade = 0.55 ** n
            cardiac(visit, _morning(rng, self.visit_date[visit]),
                    p.tropi + (tropi_post - p.tropi) * fade * math.exp(g(0, 0.15)),
                    p.ckmb + (ckmb_post - p.ckmb) * fade * math.exp(g(0, 0.15)))
        day5 = _morning(rng, self.visit_date["DAY 5"])
        add("lb", self.visible("DAY 5"),
            ["DAY 5", _minutes(day5), *self._ntprobnp(p.ntprobnp * math.exp(g(-0.08, 0.18)))])

        for visit, day, study_day in self.post_visits():
            share = _progress(study_day)
            at = _morning(rng, day)
            values = self._ntprobnp(p.ntprobnp * math.exp(-0.36 * p.response * share + g(0, 0.2)))
            if visit == "MONTH 6" and "ntprobnp_below_limit" in self.feats:
                values[1] = "<50"
            recid = add("lb", self.visible(visit), [visit, _minutes(at), *values])
            if values[1] == "<50":
                book.note("ntprobnp_below_limit", "lb", recid, "LBORRES", "<50")
            elif visit == "UNSCHEDULED":
                book.note("unscheduled_visit", "lb", recid, "LBDTC", _minutes(at))
            elif p.ntprobnp_unit != "pg/mL" and visit == "MONTH 1" and (
                    "ntprobnp_ng_l" in self.feats or "ntprobnp_pmol_l" in self.feats):
                book.note(f"ntprobnp_{'ng_l' if p.ntprobnp_unit == 'ng/L' else 'pmol_l'}", "lb", recid,
                          "LBORRESU", f"{values[1]} {p.ntprobnp_unit}")
            if visit == "UNSCHEDULED":
                continue
            creat = p.creat * math.exp(g(0, 0.06))
            hgb = p.hgb + g(0, 4)
            chemistry(visit, at, creat, hgb)
            if visit == "MONTH 1" and "duplicate_lab_row" in self.feats:
                first = book.entries["lb"][-2].row
                recid = add("lb", self.visible(visit), first[2:])  # the same result entered twice
                book.note("duplicate_lab_row", "lb", recid, "RECID", f"duplicate of {first[0]}")
        return tropi_post

    # -- functional and questionnaires ----------------------------------------------------

    def _assessments(self):
        yield "BASELINE", self.tl.baseline, 0
        for visit, day, study_day in self.post_visits():
            if visit != "UNSCHEDULED":
                yield visit, day, study_day

    def fs(self) -> None:
        rng, p, book = self.rng, self.p, self.book
        g = rng.gauss
        for visit, day, study_day in self._assessments():
            share = _progress(study_day)
            nyha = p.nyha  # III or IV at baseline, as the protocol requires
            if study_day:
                nyha = int(_clip(round(p.nyha - (0.9 * p.response * share + g(0, 0.45))), 1, 4))
            nyha_text = str(nyha) if "nyha_arabic" in self.feats else terms.NYHA_ROMAN[nyha - 1]
            walk = _clip(p.smwd + 40 * p.response * share + g(0, 25), 0, 700)
            smwd = "" if (study_day and rng.random() < 0.03) else str(round(walk))
            if visit == "MONTH 3" and "smwd_implausible" in self.feats:
                smwd = "2800"
            recid = book.add("fs", self.visible(visit), [visit, day.isoformat(), nyha_text, smwd])
            if smwd == "2800":
                book.note("smwd_implausible", "fs", recid, "SMWD", "2800")
            if visit == "BASELINE" and "nyha_arabic" in self.feats:
                book.note("nyha_arabic", "fs", recid, "NYHA", nyha_text)

    def qs(self) -> None:
        rng, p, book = self.rng, self.p, self.book
        g, rand = rng.gauss, rng.random
        add = book.add
        for visit, day, study_day in self._assessments():
            share = _progress(study_day)
            seen, dtc = self.visible(visit), day.isoformat()
            mlhfq = _clip(p.mlhfq - 10 * p.response * share + g(0, 5), 0, 105) / 21
            for item in range(1, 22):
                score = round(_clip(mlhfq + terms.MLHFQ_BIAS.get(item, -0.1) + g(0, 0.8), 0, 5))
                add("qs", seen, [visit, dtc, "MLHFQ", f"MLHFQ{item:02d}", "" if rand() < 0.012 else str(score)])
            kccq = _clip(p.kccq + 12 * p.response * share + g(0, 5), 0, 100)
            for item in range(1, 13):
                top = terms.KCCQ_MAX[item]
                code = str(1 + round((top - 1) * _clip(kccq + g(0, 14), 0, 100) / 100))
                if item in terms.KCCQ_WITH_SIX and rand() < 0.04:
                    code = "6"
                elif rand() < 0.012:
                    code = ""
                add("qs", seen, [visit, dtc, "KCCQ12", f"KCCQ{item:02d}", code])
            pcs = _clip(p.pcs + 4 * p.response * share + g(0, 3), 5, 70)
            mcs = _clip(p.mcs + 3 * p.response * share + g(0, 4), 5, 75)
            add("qs", seen, [visit, dtc, "SF12", "SF12PCS", f"{pcs:.1f}"])
            add("qs", seen, [visit, dtc, "SF12", "SF12MCS", f"{mcs:.1f}"])

    # -- adverse events and disposition ---------------------------------------------------

    def ae(self, tropi_post: float) -> None:
        rng, tl, feats = self.rng, self.tl, self.feats
        uniform, rand = rng.uniform, rng.random
        events: list[_Ae] = []

        def verbatim(term: terms.AeTerm) -> str:
            return term.russian if rand() < 0.6 else term.english

        def related() -> str:
            return rng.choices(("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED"),
                               weights=(1, 2, 4, 2, 1))[0]

        def peri(term: terms.AeTerm, onset_h: tuple[float, float], dur_h: tuple[float, float], **kw) -> _Ae:
            start = tl.infusion_at + timedelta(minutes=5 * round(uniform(*onset_h) * 12))
            end = start + timedelta(minutes=5 * round(uniform(*dur_h) * 12))
            ae = _Ae(term, kw.pop("text", None) or verbatim(term), start, _minutes(start),
                     end, _minutes(end) if end - start < ONE_DAY else end.date().isoformat(),
                     "MILD" if rand() < 0.7 else "MODERATE", "N", related(), "RECOVERED", **kw)
            events.append(ae)
            return ae

        for kind in terms.PERI_PROCEDURAL:
            if rand() < kind.probability:
                peri(kind.term, kind.onset_hours, kind.duration_hours)
        if tropi_post > terms.TROPONIN_AE_THRESHOLD:
            post_day3 = datetime.combine(self.visit_date["DAY 3"], datetime.min.time())
            at = tl.infusion_at + timedelta(hours=6)
            events.append(_Ae(terms.TROPONIN_INCREASED, verbatim(terms.TROPONIN_INCREASED), at, _minutes(at),
                              post_day3, post_day3.date().isoformat(), "MILD", "N",
                              rng.choice(("POSSIBLY RELATED", "PROBABLY RELATED")), "RECOVERED"))
        last_day = tl.end
        for kind in terms.LATE:
            if rand() >= kind.probability:
                continue
            onset = tl.on_day(rng.randint(*kind.onset_days))
            if onset >= last_day or (kind.term is terms.COVID19 and onset < date(2020, 4, 1)):
                continue
            end = onset + timedelta(days=rng.randint(*kind.duration_days))
            serious = rand() < kind.serious_probability
            severity = "SEVERE" if serious and rand() < 0.5 else "MODERATE" if serious or rand() < 0.3 else "MILD"
            outcome = "RECOVERED"
            if end > last_day:
                end, outcome = None, rng.choice(("NOT RECOVERED", "RECOVERING"))
            events.append(_Ae(kind.term, verbatim(kind.term), _at(onset), onset.isoformat(),
                              _at(end) if end else None, end.isoformat() if end else "", severity,
                              "Y" if serious else "N",
                              rng.choice(("NOT RELATED", "NOT RELATED", "UNLIKELY RELATED")), outcome))

        if "death" in feats:
            onset = tl.end - timedelta(days=rng.randint(8, 20))
            events.append(_Ae(terms.CARDIAC_FAILURE, verbatim(terms.CARDIAC_FAILURE), _at(onset),
                              onset.isoformat(), _at(tl.end), tl.end.isoformat(), "SEVERE", "Y",
                              "NOT RELATED", "FATAL", feature="death"))
        if "ae_deleted" in feats:
            peri(terms.NAUSEA, (2, 30), (1, 6), feature="ae_deleted",
                 deleted=self.ctx.schedule.edit_time(self.ctx.schedule.middle))
        if "aesev_corrected" in feats:
            ae = peri(terms.CHEST_PAIN, (0.2, 6), (0.5, 4), feature="aesev_corrected",
                      edit=(self.ctx.schedule.edit_time(self.ctx.schedule.middle), "AESEV", "MODERATE"))
            ae.severity = "MILD"
        if "ae_quoted_verbatim" in feats:
            peri(terms.PALPITATIONS_QUOTED, (3, 20), (1, 10), feature="ae_quoted_verbatim",
                 text=terms.PALPITATIONS_QUOTED.russian)
        if "ae_infusion_date_no_time" in feats:
            ae = peri(terms.HYPOTENSION, (0.2, 1), (0.5, 2), feature="ae_infusion_date_no_time")
            ae.start_text = ae.end_text = tl.infusion.isoformat()
        if "ae_partial_month_infusion" in feats:
            month_end = (tl.infusion.replace(day=28) + timedelta(days=4)).replace(day=1) - ONE_DAY
            onset = tl.infusion + timedelta(days=rng.randint(1, min(4, (month_end - tl.infusion).days)))
            events.append(_Ae(terms.HEADACHE, verbatim(terms.HEADACHE), _at(onset), f"{onset:%Y-%m}",
                              _at(onset + ONE_DAY), (onset + ONE_DAY).isoformat(), "MILD", "N",
                              "UNLIKELY RELATED", "RECOVERED", feature="ae_partial_month_infusion"))
        if "ae_partial_month_later" in feats:
            onset = tl.on_day(rng.randint(45, 60))
            end = onset + timedelta(days=7)
            events.append(_Ae(terms.URTI, verbatim(terms.URTI), _at(onset), f"{onset:%Y-%m}", _at(end),
                              end.isoformat(), "MILD", "N", "NOT RELATED", "RECOVERED",
                              feature="ae_partial_month_later"))
        if "ae_partial_year" in feats:
            onset = tl.on_day(rng.randint(95, 120))
            end = onset + timedelta(days=3)
            events.append(_Ae(terms.DIZZINESS, verbatim(terms.DIZZINESS), _at(onset), f"{onset:%Y}", _at(end),
                              end.isoformat(), "MILD", "N", "UNLIKELY RELATED", "RECOVERED",
                              feature="ae_partial_year"))

        events.sort(key=lambda e: (e.start, e.term.decod))
        for n, ae in enumerate(events, 1):
            self._write_ae(f"{n:02d}", ae)

    def _write_ae(self, spid: str, ae: "_Ae") -> None:
        rng = self.rng
        values = [spid, ae.text, ae.term.decod, ae.term.bodsys, ae.start_text, ae.end_text,
                  ae.severity, ae.serious, ae.related, ae.outcome]
        seen = ae.start.date().toordinal() + rng.randint(0, MAX_ENTRY_LAG)
        changes = []
        if ae.end is not None:
            # Entered while ongoing; end date and outcome are filled in once it resolves.
            resolved = ae.end.date().toordinal() + rng.randint(0, MAX_ENTRY_LAG)
            if resolved > seen:
                changes = [(resolved, "AEENDTC", ae.end_text), (resolved, "AEOUT", ae.outcome)]
                values[5], values[9] = "", "NOT RECOVERED"
        if ae.edit:
            changes.append(ae.edit)
        recid = self.book.add("ae", seen, values, changes=tuple(changes), deleted_from=ae.deleted)
        if ae.feature:
            field_, value = {
                "death": ("AEOUT", f"FATAL (AESER Y, AEENDTC {ae.end_text})"),
                "ae_deleted": ("RECID", f"{ae.text} (deleted)"),
                "aesev_corrected": ("AESEV", "MILD -> MODERATE"),
                "ae_quoted_verbatim": ("AETERM", ae.text),
            }.get(ae.feature, ("AESTDTC", ae.start_text))
            self.book.note(ae.feature, "ae", recid, field_, value)

    def ds(self) -> None:
        tl = self.tl
        end_visit = "MONTH 6" if tl.end_reason == "COMPLETED" else None
        seen = tl.end.toordinal() + (self.lag[end_visit] if end_visit else self.rng.randint(0, MAX_ENTRY_LAG))
        recid = self.book.add("ds", seen, [tl.end_reason, tl.end.isoformat()])
        if tl.end_reason == "DEATH":
            self.book.note("death", "ds", recid, "DSDECOD", f"DEATH {tl.end.isoformat()}")
        elif tl.end_reason != "COMPLETED":
            self.book.note("withdrawal", "ds", recid, "DSDECOD", f"{tl.end_reason} {tl.end.isoformat()}")
        elif "month6_out_of_window" in self.feats:
            self.book.note("month6_out_of_window", "ds", recid, "DSSTDTC", tl.end.isoformat())


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


@dataclass
class _Ae:
    term: terms.AeTerm
    text: str
    start: datetime  # true onset, for ordering and entry time
    start_text: str  # AESTDTC as recorded
    end: datetime | None
    end_text: str
    severity: str
    serious: str
    related: str
    outcome: str
    feature: str | None = None
    deleted: int | None = None
    edit: tuple[int, str, str] | None = None


def simulate_subject(ctx: SiteContext, index: int) -> RecordBook:
    return _Subject(ctx, index).build()


SCREEN_FAILURE_CRITERION = "IN05"  # LVEF <= 35 % by echo or CT


def simulate_screen_failure(ctx: SiteContext, index: int, after: date) -> RecordBook:
    """A patient screened 5 to 14 days after `after` (the consent of the site's last enrolled subject)
    who is not eligible and never infused.

    The screening echo, on the consent date like every subject's, shows an LVEF of 38 to 44 %, so
    inclusion criterion IN05 (LVEF <= 35 %) is answered N; every other criterion is as required.
    The records: dm, the 24 ie rows, the SCREENING visit in sv and its echo. Nothing else: no
    infusion, no baseline or later assessment, no AE, and no ds record (the DTS's DSDECOD list has
    no screen-failure term). The subject takes none of the site's deliberate features.
    """
    subjid = ctx.subjid(index)
    rng = random.Random(f"{ctx.seed}:{ctx.siteid}:{subjid}")
    consent = after + timedelta(days=rng.randint(5, 14))
    if consent.weekday() >= 5:
        consent -= timedelta(days=consent.weekday() - 4)  # back to Friday
    sex = "M" if rng.random() < 0.7 else "F"
    book = RecordBook(subjid)
    seen = consent.toordinal()
    book.add("dm", seen, _dm_values(rng, sex, consent))
    failed = None
    for code in IE_CRITERIA:
        answer = "Y" if code.startswith("IN") else "N"
        if code == SCREEN_FAILURE_CRITERION:
            answer = "N"
        recid = book.add("ie", seen, [code, answer])
        if code == SCREEN_FAILURE_CRITERION:
            failed = recid
    entered = seen + rng.randint(0, MAX_ENTRY_LAG)  # the screening visit is typed in at once
    book.add("sv", entered, ["SCREENING", consent.isoformat()])
    lvef = rng.randint(38, 44)
    edv = round(_clip(rng.gauss(190, 30), 130, 300))
    edd = round(_clip(rng.gauss(63, 4), 55, 75))
    esd = round(min(edd * (1 - lvef / 220) + rng.gauss(0, 1), edd - 2))
    echo = book.add("echo", entered, ["SCREENING", consent.isoformat(), str(lvef), str(edv),
                                      str(round(edv * (1 - lvef / 100))), str(edd), str(esd)])
    book.note("screen_failure", "ie", failed, "IEORRES", f"N ({SCREEN_FAILURE_CRITERION})")
    book.note("screen_failure", "echo", echo, "LVEF", f"{lvef} (SCREENING, {consent.isoformat()})")
    return book
