"""Dictionaries the simulated site uses: adverse events (verbatims, MedDRA names) and lab tests."""

from __future__ import annotations

from typing import NamedTuple

CARDIAC = "Cardiac disorders"
GENERAL = "General disorders and administration site conditions"
INVESTIGATIONS = "Investigations"
NERVOUS = "Nervous system disorders"
VASCULAR = "Vascular disorders"
INFECTIONS = "Infections and infestations"
GASTRO = "Gastrointestinal disorders"


class AeTerm(NamedTuple):
    english: str  # verbatim as an English-writing investigator types it
    russian: str  # verbatim as a Russian-writing investigator types it
    decod: str  # MedDRA preferred term
    bodsys: str  # MedDRA system organ class


ATRIAL_FIBRILLATION = AeTerm("Paroxysmal atrial fibrillation", "Пароксизм фибрилляции предсердий",
                             "Atrial fibrillation", CARDIAC)
VENTRICULAR_EXTRASYSTOLES = AeTerm("Ventricular extrasystoles", "Желудочковая экстрасистолия",
                                   "Ventricular extrasystoles", CARDIAC)
CHEST_PAIN = AeTerm("Chest pain", "Боль в груди", "Chest pain", GENERAL)
PUNCTURE_HAEMATOMA = AeTerm("Puncture site hematoma", "Гематома в месте пункции",
                            "Puncture site haematoma", GENERAL)
TROPONIN_INCREASED = AeTerm("Troponin I increased", "Повышение тропонина", "Troponin increased",
                            INVESTIGATIONS)
PYREXIA = AeTerm("Fever", "Повышение температуры тела", "Pyrexia", GENERAL)
HEADACHE = AeTerm("Headache", "Головная боль", "Headache", NERVOUS)
HYPOTENSION = AeTerm("Hypotension", "Артериальная гипотензия", "Hypotension", VASCULAR)
CARDIAC_FAILURE = AeTerm("Worsening heart failure", "Декомпенсация сердечной недостаточности",
                         "Cardiac failure", CARDIAC)
VENTRICULAR_TACHYCARDIA = AeTerm("Ventricular tachycardia", "Пароксизм желудочковой тахикардии",
                                 "Ventricular tachycardia", CARDIAC)
COVID19 = AeTerm("COVID-19", "Новая коронавирусная инфекция COVID-19", "COVID-19", INFECTIONS)
URTI = AeTerm("Upper respiratory tract infection", "ОРВИ", "Viral upper respiratory tract infection",
              INFECTIONS)
DIZZINESS = AeTerm("Dizziness", "Головокружение", "Dizziness", NERVOUS)
NAUSEA = AeTerm("Nausea", "Тошнота", "Nausea", GASTRO)
# A verbatim with a comma and double quotes: written with standard CSV quoting.
PALPITATIONS_QUOTED = AeTerm('Palpitations, "skipped beats"', 'Перебои в работе сердца, "замирания"',
                             "Palpitations", CARDIAC)


class PeriAe(NamedTuple):
    term: AeTerm
    probability: float
    onset_hours: tuple[float, float]  # after the start of the infusion
    duration_hours: tuple[float, float]


# Events of the catheterisation and the first hospital days.
PERI_PROCEDURAL = (
    PeriAe(ATRIAL_FIBRILLATION, 0.15, (2, 48), (1, 20)),
    PeriAe(VENTRICULAR_EXTRASYSTOLES, 0.20, (0.2, 24), (12, 72)),
    PeriAe(CHEST_PAIN, 0.15, (0.1, 12), (0.5, 6)),
    PeriAe(PUNCTURE_HAEMATOMA, 0.15, (1, 24), (72, 336)),
    PeriAe(PYREXIA, 0.08, (4, 36), (6, 48)),
    PeriAe(HEADACHE, 0.06, (1, 24), (2, 12)),
    PeriAe(HYPOTENSION, 0.05, (0.1, 6), (0.5, 4)),
)


class LateAe(NamedTuple):
    term: AeTerm
    probability: float
    onset_days: tuple[int, int]  # study days
    duration_days: tuple[int, int]
    serious_probability: float


LATE = (
    LateAe(CARDIAC_FAILURE, 0.22, (20, 175), (5, 20), 0.5),
    LateAe(VENTRICULAR_TACHYCARDIA, 0.06, (10, 170), (1, 2), 0.5),
    LateAe(COVID19, 0.10, (15, 175), (10, 25), 0.2),
    LateAe(URTI, 0.12, (10, 175), (5, 10), 0.0),
    LateAe(DIZZINESS, 0.08, (10, 175), (1, 5), 0.0),
)

TROPONIN_AE_THRESHOLD = 100  # ng/L after the infusion: reported as an AE

# Normal ranges by test and unit (low, high); creatinine and haemoglobin depend on sex.
NTPROBNP_RANGE = {"pg/mL": ("0", "125"), "ng/L": ("0", "125"), "pmol/L": ("0", "14.8")}
PMOL_PER_PG = 8.457
TROPI_UNIT, TROPI_RANGE = "ng/L", ("0", "26")
CKMB_UNIT, CKMB_RANGE = "ng/mL", ("0.6", "6.3")
CREAT_UNIT, CREAT_RANGE = "umol/L", {"M": ("62", "106"), "F": ("44", "80")}
HGB_UNIT, HGB_RANGE = "g/L", {"M": ("130", "170"), "F": ("120", "150")}

NYHA_ROMAN = ("I", "II", "III", "IV")

# KCCQ-12 item -> highest code on the form; the physical and social items also have code 6.
KCCQ_MAX = {1: 5, 2: 5, 3: 5, 4: 5, 5: 7, 6: 7, 7: 5, 8: 5, 9: 5, 10: 5, 11: 5, 12: 5}
KCCQ_WITH_SIX = (1, 2, 3, 10, 11, 12)
# MLHFQ items that tend to score above (physical) or below (emotional) a patient's average.
MLHFQ_BIAS = {i: 0.35 for i in (2, 3, 4, 5, 6, 7, 12, 13)} | {i: -0.3 for i in (17, 18, 19, 20, 21)}
