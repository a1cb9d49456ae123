"""St. Mary's Hospital: a small, deterministic demo database for relsynth.

The schema (``hospital.sql``) plants the structures a reflector and synthesizer must cope with: a lookup
table, a FK cycle broken by a nullable column, a self-reference, a composite PK referenced by a composite
FK, two FKs to one parent, a link table and an empty table. The data plants correlations a good synthetic
copy should keep (age drives admissions, diagnoses and stay length; diagnoses drive lab values; ward drives
procedures and length of stay).

All randomness comes from one ``numpy.random.default_rng(seed)`` stream of uniform doubles; every other
distribution is derived here with the ``math`` module, so the rows do not depend on NumPy's non-uniform
samplers (which NumPy does not promise to keep stable across versions).

Usage: ``python -m relsynth.demos.hospital OUT.db [--seed 7] [--scale 1.0]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np

__all__ = ["build", "main"]

T = TypeVar("T")

SQL_FILE = "hospital.sql"
START = datetime(2019, 1, 1)
END = datetime(2024, 12, 31, 23, 59, 59)  # the snapshot: stays still running then have status 'admitted'
SPAN_SECONDS = int((END - START).total_seconds())
BASE_PATIENTS = 1000
HOSPITAL_DOMAIN = "stmarys-hospital.org"

# --------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------

CHAPTERS = (
    "circulatory",
    "endocrine",
    "respiratory",
    "renal",
    "infectious",
    "injury",
    "pregnancy",
    "mental",
    "neoplasm",
    "musculoskeletal",
    "digestive",
    "blood",
)

# code, description, chapter, base weight within its chapter (0 = in the code list but never used).
DIAGNOSIS_CODES: tuple[tuple[str, str, str, float], ...] = (
    ("I10", "Essential (primary) hypertension", "circulatory", 3.0),
    ("I21.9", "Acute myocardial infarction, unspecified", "circulatory", 4.0),
    ("I25.10", "Atherosclerotic heart disease of native coronary artery", "circulatory", 3.0),
    ("I48.91", "Unspecified atrial fibrillation", "circulatory", 4.0),
    ("I50.9", "Heart failure, unspecified", "circulatory", 5.0),
    ("I63.9", "Cerebral infarction, unspecified", "circulatory", 3.0),
    ("I46.9", "Cardiac arrest, cause unspecified", "circulatory", 0.6),
    ("E11.9", "Type 2 diabetes mellitus without complications", "endocrine", 2.0),
    ("E11.65", "Type 2 diabetes mellitus with hyperglycemia", "endocrine", 5.0),
    ("E10.9", "Type 1 diabetes mellitus without complications", "endocrine", 0.7),
    ("E10.10", "Type 1 diabetes mellitus with ketoacidosis without coma", "endocrine", 2.0),
    ("E66.9", "Obesity, unspecified", "endocrine", 0.5),
    ("E86.0", "Dehydration", "endocrine", 4.0),
    ("J18.9", "Pneumonia, unspecified organism", "respiratory", 6.0),
    ("J44.1", "Chronic obstructive pulmonary disease with acute exacerbation", "respiratory", 4.0),
    ("J44.9", "Chronic obstructive pulmonary disease, unspecified", "respiratory", 0.8),
    ("J45.901", "Unspecified asthma with acute exacerbation", "respiratory", 2.0),
    ("J96.0", "Acute respiratory failure", "respiratory", 1.5),
    ("N17.9", "Acute kidney failure, unspecified", "renal", 4.0),
    ("N18.3", "Chronic kidney disease, stage 3", "renal", 2.0),
    ("N18.6", "End stage renal disease", "renal", 1.5),
    ("N39.0", "Urinary tract infection, site not specified", "renal", 5.0),
    ("A41.9", "Sepsis, unspecified organism", "infectious", 5.0),
    ("A09", "Infectious gastroenteritis and colitis, unspecified", "infectious", 4.0),
    ("A04.7", "Enterocolitis due to Clostridium difficile", "infectious", 1.5),
    ("U07.1", "COVID-19", "infectious", 5.0),
    ("A15.0", "Tuberculosis of lung", "infectious", 0.0),
    ("S72.0", "Fracture of neck of femur", "injury", 3.0),
    ("S06.0", "Concussion", "injury", 3.0),
    ("S82.2", "Fracture of shaft of tibia", "injury", 2.0),
    ("S52.5", "Fracture of lower end of radius", "injury", 2.5),
    ("T07", "Unspecified multiple injuries", "injury", 1.0),
    ("T75.1", "Unspecified effects of drowning and nonfatal submersion", "injury", 0.0),
    ("O80", "Encounter for full-term uncomplicated delivery", "pregnancy", 10.0),
    ("O82", "Encounter for cesarean delivery without indication", "pregnancy", 4.0),
    ("O13", "Gestational hypertension without significant proteinuria", "pregnancy", 1.2),
    ("O14.1", "Severe pre-eclampsia", "pregnancy", 0.6),
    ("O24.4", "Gestational diabetes mellitus", "pregnancy", 1.0),
    ("F32.9", "Major depressive disorder, single episode, unspecified", "mental", 4.0),
    ("F20.9", "Schizophrenia, unspecified", "mental", 2.0),
    ("F31.9", "Bipolar disorder, unspecified", "mental", 2.0),
    ("F10.20", "Alcohol dependence, uncomplicated", "mental", 2.5),
    ("F05", "Delirium due to known physiological condition", "mental", 1.0),
    ("C34.9", "Malignant neoplasm of bronchus or lung, unspecified", "neoplasm", 4.0),
    ("C50.9", "Malignant neoplasm of breast, unspecified", "neoplasm", 3.0),
    ("C18.9", "Malignant neoplasm of colon, unspecified", "neoplasm", 3.0),
    ("C61", "Malignant neoplasm of prostate", "neoplasm", 2.5),
    ("C85.9", "Non-Hodgkin lymphoma, unspecified", "neoplasm", 1.5),
    ("C91.0", "Acute lymphoblastic leukemia", "neoplasm", 0.0),
    ("M17.1", "Unilateral primary osteoarthritis of knee", "musculoskeletal", 4.0),
    ("M16.1", "Unilateral primary osteoarthritis of hip", "musculoskeletal", 3.5),
    ("M54.5", "Low back pain", "musculoskeletal", 2.0),
    ("M06.9", "Rheumatoid arthritis, unspecified", "musculoskeletal", 0.0),
    ("K35.80", "Unspecified acute appendicitis", "digestive", 4.0),
    ("K80.20", "Calculus of gallbladder without cholecystitis", "digestive", 3.5),
    ("K40.90", "Unilateral inguinal hernia, without obstruction or gangrene", "digestive", 2.5),
    ("K92.2", "Gastrointestinal hemorrhage, unspecified", "digestive", 2.5),
    ("D50.9", "Iron deficiency anemia, unspecified", "blood", 2.0),
    ("D64.9", "Anemia, unspecified", "blood", 2.0),
)
CODE_CHAPTER = {code: chapter for code, _, chapter, _ in DIAGNOSIS_CODES}
CODES_BY_CHAPTER: dict[str, list[tuple[str, float]]] = {c: [] for c in CHAPTERS}
for _code, _, _chapter, _weight in DIAGNOSIS_CODES:
    CODES_BY_CHAPTER[_chapter].append((_code, _weight))

CHAPTER_SPECIALTY = {
    "circulatory": "cardiology",
    "endocrine": "general_medicine",
    "respiratory": "general_medicine",
    "renal": "general_medicine",
    "infectious": "general_medicine",
    "injury": "orthopedics",
    "pregnancy": "maternity",
    "mental": "psychiatry",
    "neoplasm": "oncology",
    "musculoskeletal": "orthopedics",
    "digestive": "surgery",
    "blood": "general_medicine",
}
CODE_SPECIALTY = {
    "S06.0": "general_medicine",
    "T07": "surgery",
    "K92.2": "general_medicine",
    "F05": "general_medicine",
    "M54.5": "general_medicine",
    "I63.9": "general_medicine",
}
ICU_PROBABILITY = {
    "I21.9": 0.2,
    "I46.9": 0.85,
    "I50.9": 0.05,
    "I63.9": 0.15,
    "A41.9": 0.45,
    "J96.0": 0.6,
    "J18.9": 0.05,
    "J44.1": 0.05,
    "T07": 0.4,
    "E10.10": 0.3,
    "N17.9": 0.05,
    "K92.2": 0.1,
    "U07.1": 0.2,
}
ELECTIVE_CODES = ("M16.1", "M17.1", "K40.90", "K80.20", "C18.9", "O82")
EMERGENCY_CODES = ("K35.80", "S72.0", "I21.9", "I46.9", "A41.9", "T07", "J96.0", "I63.9", "E10.10")
ADMISSION_TYPE_BY_SPECIALTY = {  # (emergency, urgent, elective)
    "cardiology": (0.6, 0.25, 0.15),
    "general_medicine": (0.7, 0.25, 0.05),
    "surgery": (0.45, 0.2, 0.35),
    "orthopedics": (0.5, 0.15, 0.35),
    "maternity": (0.3, 0.5, 0.2),
    "icu": (0.85, 0.15, 0.0),
    "psychiatry": (0.4, 0.5, 0.1),
    "oncology": (0.25, 0.35, 0.4),
}
# Median length of stay in days and its log-scale spread.
LOS_BY_SPECIALTY = {
    "cardiology": (2.8, 0.55),
    "general_medicine": (3.2, 0.6),
    "surgery": (2.6, 0.6),
    "orthopedics": (3.5, 0.5),
    "maternity": (1.9, 0.3),
    "icu": (5.0, 0.6),
    "psychiatry": (8.0, 0.55),
    "oncology": (5.5, 0.6),
}
DAY_RATE = {
    "cardiology": 2900.0,
    "general_medicine": 2100.0,
    "surgery": 2700.0,
    "orthopedics": 2600.0,
    "maternity": 2300.0,
    "icu": 5200.0,
    "psychiatry": 1400.0,
    "oncology": 2800.0,
}

# Chronic conditions a patient carries into every stay; probability rises with age.
# code, base probability, extra probability, age midpoint of the rise.
COMORBIDITIES: tuple[tuple[str, float, float, float], ...] = (
    ("I10", 0.08, 0.50, 58.0),
    ("E11.9", 0.03, 0.25, 58.0),
    ("I25.10", 0.01, 0.20, 66.0),
    ("N18.3", 0.01, 0.15, 70.0),
    ("J44.9", 0.01, 0.12, 65.0),
    ("I48.91", 0.005, 0.15, 72.0),
    ("I50.9", 0.003, 0.12, 75.0),
    ("D64.9", 0.03, 0.08, 70.0),
    ("F32.9", 0.08, 0.0, 50.0),
    ("E66.9", 0.15, 0.05, 50.0),
)
ACUTE_EXTRAS = {
    "circulatory": ("N17.9", "E86.0", "I48.91", "I50.9"),
    "endocrine": ("E86.0", "N17.9", "N39.0"),
    "respiratory": ("J96.0", "E86.0", "A41.9"),
    "renal": ("E86.0", "D64.9", "N17.9"),
    "infectious": ("E86.0", "N17.9", "J96.0"),
    "injury": ("D64.9", "S06.0", "S52.5"),
    "pregnancy": ("O24.4", "O13", "O14.1", "D64.9"),
    "mental": ("F10.20", "F32.9", "E86.0"),
    "neoplasm": ("D64.9", "E86.0", "A41.9"),
    "musculoskeletal": ("E66.9", "D64.9"),
    "digestive": ("D50.9", "E86.0", "N17.9"),
    "blood": ("N18.3", "K92.2"),
}

# ward_id, name, specialty, floor, beds, physicians, surgeons, nurses, therapists, has a head nurse
WARDS: tuple[tuple[int, str, str, int, int, int, int, int, int, bool], ...] = (
    (1, "Cardiology 3 East", "cardiology", 3, 28, 4, 0, 6, 0, True),
    (2, "Cardiac Step-Down Unit", "cardiology", 3, 16, 2, 0, 5, 1, True),
    (3, "General Medicine 4 West", "general_medicine", 4, 32, 4, 0, 6, 1, True),
    (4, "General Medicine 4 East", "general_medicine", 4, 30, 3, 0, 6, 1, True),
    (5, "Acute Medical Unit", "general_medicine", 1, 20, 3, 0, 5, 0, False),
    (6, "Surgical Ward 5", "surgery", 5, 30, 1, 4, 6, 1, True),
    (7, "Day Surgery Unit", "surgery", 0, 12, 0, 2, 3, 0, False),
    (8, "Orthopedics & Trauma", "orthopedics", 6, 26, 0, 3, 5, 3, True),
    (9, "Maternity & Birthing Center", "maternity", 2, 24, 2, 2, 6, 0, True),
    (10, "Intensive Care Unit", "icu", 1, 14, 4, 0, 9, 1, True),
    (11, "Behavioral Health Unit", "psychiatry", 7, 20, 3, 0, 4, 3, True),
    (12, "Oncology 8 North", "oncology", 8, 24, 3, 0, 7, 1, True),
)

# procedure code (CPT-like), typical minutes, typical price; by the ward specialty that performs it.
PROCEDURES: dict[str, tuple[tuple[str, int, float], ...]] = {
    "cardiology": (
        ("93306", 45, 1800.0),
        ("93458", 60, 6500.0),
        ("92928", 95, 14500.0),
        ("33208", 120, 21000.0),
    ),
    "surgery": (
        ("44970", 75, 9800.0),
        ("47562", 90, 11200.0),
        ("49505", 70, 7400.0),
        ("44140", 185, 26500.0),
    ),
    "orthopedics": (
        ("27130", 125, 24500.0),
        ("27447", 120, 23800.0),
        ("27236", 110, 19800.0),
        ("29881", 55, 6200.0),
    ),
    "maternity": (("59409", 240, 4200.0), ("59514", 65, 8900.0), ("59025", 30, 350.0)),
    "icu": (("31500", 20, 1400.0), ("36556", 35, 1100.0), ("94002", 60, 900.0), ("32551", 30, 1600.0)),
    "oncology": (("96413", 120, 5200.0), ("38221", 45, 2600.0), ("36561", 60, 3900.0)),
    "general_medicine": (
        ("43235", 30, 2100.0),
        ("31624", 45, 2900.0),
        ("49083", 30, 1300.0),
        ("62270", 25, 900.0),
    ),
    "psychiatry": (("90870", 25, 1200.0), ("90792", 60, 450.0)),
}
PROCEDURE_INFO = {code: (minutes, price) for items in PROCEDURES.values() for code, minutes, price in items}
MAIN_PROCEDURE = {
    "O80": "59409",
    "O82": "59514",
    "S72.0": "27236",
    "M17.1": "27447",
    "M16.1": "27130",
    "K35.80": "44970",
    "K80.20": "47562",
    "K40.90": "49505",
    "C18.9": "44140",
    "I21.9": "92928",
    "S82.2": "27236",
}
PROCEDURE_RATE = {
    "cardiology": 0.8,
    "general_medicine": 0.35,
    "surgery": 0.5,
    "orthopedics": 0.4,
    "maternity": 0.2,
    "icu": 1.4,
    "psychiatry": 0.3,
    "oncology": 0.9,
}

# test name: unit, low, high (normal range), decimals
LAB_TESTS: dict[str, tuple[str, float, float, int]] = {
    "glucose": ("mg/dL", 70.0, 140.0, 1),
    "hba1c": ("%", 4.0, 5.6, 1),
    "creatinine": ("mg/dL", 0.6, 1.3, 2),
    "hemoglobin": ("g/dL", 12.0, 17.5, 1),
    "wbc": ("10^9/L", 4.0, 11.0, 1),
    "potassium": ("mmol/L", 3.5, 5.1, 1),
    "sodium": ("mmol/L", 135.0, 145.0, 1),
}
BASIC_PANEL = ("glucose", "creatinine", "potassium", "sodium")
BLOOD_COUNT = ("hemoglobin", "wbc")
INFECTION_CODES = ("A41.9", "A09", "A04.7", "U07.1", "J18.9", "N39.0")


def _tests_for(code: str) -> tuple[str, ...]:
    """Which labs a clinician orders to follow a diagnosis (the planted diagnosis -> lab link)."""
    if code.startswith(("E10", "E11")) or code == "O24.4":
        return ("glucose", "hba1c")
    if code.startswith(("N17", "N18")):
        return ("creatinine", "potassium")
    if code.startswith(("D50", "D64", "C")) or code == "K92.2":
        return ("hemoglobin",)
    if code in INFECTION_CODES:
        return ("wbc",)
    if code == "E86.0":
        return ("sodium", "potassium")
    return ()


FEMALE_NAMES = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
    "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia",
    "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen",
    "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Janet", "Catherine", "Maria",
    "Heather", "Olivia", "Sophia", "Isabella", "Mia", "Ava",
)  # fmt: skip
MALE_NAMES = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
    "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward", "Jason", "Jeffrey", "Ryan",
    "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
    "Benjamin", "Samuel", "Gregory", "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry",
    "Tyler", "Aaron", "Jose", "Adam", "Nathan",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
    "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Hamilton", "Graham", "Reynolds",
    "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran",
    "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez",
    "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman", "O'Brien",
)  # fmt: skip

# city, state, area code, zip codes, weight (the hospital is in Columbus, Ohio; city -> state is exact)
CITIES: tuple[tuple[str, str, str, tuple[str, ...], float], ...] = (
    ("Columbus", "OH", "614", ("43201", "43204", "43206", "43209", "43214", "43215", "43220", "43229"), 30.0),
    ("Dublin", "OH", "614", ("43016", "43017"), 6.0),
    ("Westerville", "OH", "614", ("43081", "43082"), 6.0),
    ("Grove City", "OH", "614", ("43123",), 5.0),
    ("Hilliard", "OH", "614", ("43026",), 4.0),
    ("Reynoldsburg", "OH", "614", ("43068",), 4.0),
    ("Gahanna", "OH", "614", ("43230",), 3.5),
    ("Upper Arlington", "OH", "614", ("43221",), 3.0),
    ("Delaware", "OH", "740", ("43015",), 3.0),
    ("Newark", "OH", "740", ("43055",), 3.0),
    ("Lancaster", "OH", "740", ("43130",), 3.0),
    ("Marysville", "OH", "937", ("43040",), 2.0),
    ("Chillicothe", "OH", "740", ("45601",), 2.0),
    ("Zanesville", "OH", "740", ("43701",), 2.0),
    ("Mansfield", "OH", "419", ("44902", "44903"), 1.5),
    ("Springfield", "OH", "937", ("45502", "45503", "45505"), 1.5),
    ("Dayton", "OH", "937", ("45402", "45405", "45419"), 1.5),
    ("Cincinnati", "OH", "513", ("45202", "45206", "45219"), 1.0),
    ("Huntington", "WV", "304", ("25701", "25705"), 0.8),
    ("Parkersburg", "WV", "304", ("26101",), 0.8),
    ("Wheeling", "WV", "304", ("26003",), 0.5),
    ("Fort Wayne", "IN", "260", ("46802", "46805"), 0.5),
    ("Richmond", "IN", "765", ("47374",), 0.5),
    ("Lexington", "KY", "859", ("40502", "40508"), 0.5),
    ("Ashland", "KY", "606", ("41101",), 0.6),
    ("Pittsburgh", "PA", "412", ("15213", "15217"), 0.3),
)
STREET_NAMES = (
    "Maple", "Oak", "Main", "High", "Broad", "Elm", "Cedar", "Park", "Walnut", "Lincoln", "Washington",
    "Hickory", "Sycamore", "Cherry", "Church", "Mill", "Spring", "Ridge", "Lake", "Hillcrest", "Meadow",
    "Forest", "Sunset", "River", "Willow", "Chestnut", "Franklin", "Jefferson", "Madison", "Summit",
)  # fmt: skip
STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl")
# Reserved domains and the 555-01xx fictional numbers: a demo must never hold a real person's contact.
EMAIL_DOMAINS_YOUNG = (
    "example.com",
    "example.com",
    "example.com",
    "example.net",
    "example.net",
    "example.org",
)
EMAIL_DOMAINS_OLD = ("example.org", "example.org", "example.com", "example.net", "example.net", "example.edu")

COMPLAINTS = {
    "circulatory": (
        "chest pain radiating to the left arm",
        "worsening dyspnea and bilateral leg swelling",
        "palpitations and lightheadedness",
        "sudden left-sided weakness and slurred speech",
        "headache with markedly elevated blood pressure",
    ),
    "endocrine": (
        "polyuria, polydipsia and fatigue",
        "vomiting and abdominal pain with high blood sugar",
        "poor oral intake and dizziness",
    ),
    "respiratory": ("productive cough and fever", "increasing dyspnea and wheezing", "hypoxia on room air"),
    "renal": (
        "decreased urine output and fatigue",
        "dysuria and flank pain",
        "rising creatinine on outpatient labs",
    ),
    "infectious": (
        "fever, rigors and hypotension",
        "diarrhea and abdominal cramping",
        "fever, dry cough and loss of taste",
    ),
    "injury": (
        "hip pain and inability to bear weight after a fall at home",
        "injuries from a motor vehicle collision",
        "wrist pain after a fall on an outstretched hand",
        "head injury with brief loss of consciousness",
    ),
    "pregnancy": (
        "regular contractions at term",
        "elevated blood pressure in the third trimester",
        "leakage of fluid",
    ),
    "mental": (
        "worsening low mood and passive suicidal ideation",
        "acute agitation and auditory hallucinations",
        "confusion and disorientation",
        "alcohol withdrawal symptoms",
    ),
    "neoplasm": (
        "weight loss and fatigue on chemotherapy",
        "uncontrolled pain related to known malignancy",
        "neutropenic fever",
    ),
    "musculoskeletal": (
        "acute low back pain limiting mobility",
        "a swollen, painful knee and inability to walk",
    ),
    "digestive": (
        "right lower quadrant pain and fever",
        "right upper quadrant pain after meals",
        "a painful groin bulge",
        "black tarry stools and dizziness",
    ),
    "blood": ("fatigue and exertional dyspnea with low hemoglobin", "easy bruising and fatigue"),
}
# Elective stays are booked for something rather than brought in by a complaint.
PLANNED = {
    "circulatory": ("a planned cardiac catheterization", "elective pacemaker placement"),
    "endocrine": ("glycemic control and insulin titration",),
    "respiratory": ("a planned bronchoscopy", "pulmonary rehabilitation assessment"),
    "renal": ("dialysis access evaluation",),
    "infectious": ("a course of IV antibiotics",),
    "injury": ("planned fracture fixation", "hardware removal"),
    "pregnancy": ("a scheduled delivery", "a scheduled cesarean delivery"),
    "mental": ("planned medication adjustment", "electroconvulsive therapy"),
    "neoplasm": ("a planned cycle of chemotherapy", "staging workup"),
    "musculoskeletal": ("a planned joint replacement", "chronic joint pain for planned arthroplasty"),
    "digestive": ("a planned laparoscopic procedure", "elective hernia repair"),
    "blood": ("an iron infusion and transfusion",),
}
COURSES = {
    "circulatory": (
        "Troponin trended; started on heparin and a beta blocker.",
        "Diuresed with IV furosemide.",
        "Rate control achieved with metoprolol.",
        "Echo showed reduced ejection fraction.",
        "CT head negative for bleed; neurology consulted.",
    ),
    "endocrine": (
        "Insulin drip started, then switched to subcutaneous insulin.",
        "IV fluids given; electrolytes repleted.",
        "Diabetes educator consulted.",
    ),
    "respiratory": (
        "Started on IV antibiotics and nebulizers.",
        "Required BiPAP overnight, then nasal cannula.",
        "Steroid taper started.",
    ),
    "renal": (
        "Nephrology consulted; medications renally dosed.",
        "IV fluids given; creatinine improving.",
        "Urine culture sent; started on ceftriaxone.",
    ),
    "infectious": (
        "Blood cultures drawn; broad-spectrum antibiotics started.",
        "Fluid resuscitation given; lactate cleared.",
        "Placed on contact isolation.",
    ),
    "injury": (
        "Underwent operative fixation; PT started POD1.",
        "CT head negative; observed overnight.",
        "Splinted; orthopedic follow-up arranged.",
    ),
    "pregnancy": (
        "Delivered a healthy infant; mother and baby stable.",
        "Magnesium started for seizure prophylaxis.",
        "BP monitored closely; labs stable.",
    ),
    "mental": (
        "Started on an SSRI; safety plan reviewed.",
        "Antipsychotic adjusted; symptoms improving.",
        "CIWA protocol followed without complications.",
    ),
    "neoplasm": (
        "Chemotherapy given without reaction.",
        "Pain regimen optimized; palliative care consulted.",
        "Blood cultures drawn; started on cefepime.",
    ),
    "musculoskeletal": (
        "Underwent arthroplasty; PT started POD1.",
        "Pain controlled with multimodal analgesia.",
        "Weight bearing as tolerated with walker.",
    ),
    "digestive": (
        "Taken to the OR; procedure uncomplicated.",
        "Managed nonoperatively with bowel rest.",
        "GI consulted; EGD performed.",
    ),
    "blood": ("Transfused 1 unit PRBC.", "Started on IV iron.", "Hematology consulted."),
}
ICU_COURSES = (
    "Intubated for airway protection; on vasopressors.",
    "Central line placed; required pressors.",
    "Extubated on day 3; weaned off pressors.",
)
DISPOSITIONS = {
    "discharged": (
        "Discharged home in stable condition.",
        "Discharged home with follow-up in 1 week.",
        "Discharged with home health services.",
    ),
    "transferred": (
        "Transferred to a skilled nursing facility.",
        "Transferred to inpatient rehabilitation.",
        "Transferred to a tertiary center for a higher level of care.",
    ),
    "deceased": ("Patient expired; family at bedside.", "Transitioned to comfort care; patient expired."),
    "admitted": ("Remains inpatient; plan reassessed daily.", "Ongoing inpatient management."),
}
ADMIT_VERBS = {
    "emergency": "presented to the ED with",
    "urgent": "was admitted from clinic with",
    "elective": "was admitted electively for",
}


# --------------------------------------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------------------------------------


class _Rand:
    """Uniform doubles from one seeded PCG64 stream, buffered; every distribution is derived from them so
    the output depends only on the bit generator, which NumPy keeps stable."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._buf: list[float] = []
        self._i = 0

    def u(self) -> float:
        """A uniform double in [0, 1)."""
        if self._i >= len(self._buf):
            self._buf = self._rng.random(8192).tolist()
            self._i = 0
        x = self._buf[self._i]
        self._i += 1
        return x

    def chance(self, p: float) -> bool:
        """Always consumes one draw, even for p = 0, so later draws do not shift when p changes."""
        return self.u() < p

    def randint(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi]."""
        return min(hi, lo + int(self.u() * (hi - lo + 1)))

    def normal(self, mu: float = 0.0, sd: float = 1.0) -> float:
        """Box-Muller; one uniform pair per value keeps the stream position easy to reason about."""
        u1 = 1.0 - self.u()
        u2 = self.u()
        return mu + sd * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def lognormal(self, median: float, sigma: float) -> float:
        """Parameterised by the median, which is how stays, costs and lab values are easiest to tune."""
        return median * math.exp(sigma * self.normal())

    def poisson(self, lam: float) -> int:
        """Knuth's product method; lam stays small here."""
        if lam <= 0:
            return 0
        limit = math.exp(-lam)
        k, p = 0, self.u()
        while p > limit:
            k += 1
            p *= self.u()
        return k

    def pick(self, items: Sequence[T]) -> T:
        """Uniform choice; the min() guards the (theoretical) u == 1.0 edge."""
        return items[min(len(items) - 1, int(self.u() * len(items)))]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        """Choice by unnormalised weights; zero weights can never be drawn (unused codes stay unused)."""
        total = sum(weights)
        r = self.u() * total
        acc = 0.0
        last = 0
        for i, w in enumerate(weights):
            if w <= 0:
                continue
            acc += w
            last = i
            if r < acc:
                return items[i]
        return items[last]

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        """k distinct items, in draw order (partial Fisher-Yates)."""
        pool = list(items)
        k = min(k, len(pool))
        for i in range(k):
            j = i + int(self.u() * (len(pool) - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]


def _sig(x: float, mid: float, width: float) -> float:
    """Logistic rise, used for every age effect."""
    return 1.0 / (1.0 + math.exp(-(x - mid) / width))


def _ts(moment: datetime) -> str:
    """Second precision, the text form SQLAlchemy reads back as a datetime from SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _age(birth: date, on: date) -> float:
    """Fractional years: smooth age effects need more than whole birthdays."""
    return (on - birth).days / 365.25


# --------------------------------------------------------------------------------------------------------
# Model objects
# --------------------------------------------------------------------------------------------------------


@dataclass
class _Provider:
    """A providers row; kept in column order so it can be inserted as a tuple."""

    provider_id: int
    first_name: str
    last_name: str
    role: str
    ward_id: int
    supervisor_id: int | None
    license_no: str
    email: str | None
    hired_on: date


@dataclass
class _Patient:
    """What later stays need to know about a patient (chronic conditions drive secondary diagnoses)."""

    patient_id: int
    sex: str
    birth: date
    comorbidities: list[str]
    death: date | None = None


@dataclass
class _Admission:
    """One stay with everything hanging off it, filled in stages and given its id after sorting by time."""

    patient: _Patient
    ward_id: int
    specialty: str
    admitted: datetime
    planned_end: datetime
    admission_type: str
    primary: str
    age: float
    admission_id: int = 0
    status: str = "discharged"
    discharged: datetime | None = None
    attending_id: int = 0
    codes: list[str] = field(default_factory=list)
    diagnosed: list[datetime] = field(default_factory=list)
    labs: list[tuple[int | None, str, float, str]] = field(default_factory=list)  # seq, test, value, ts
    procedures: list[tuple[int, int | None, str, str, int]] = field(default_factory=list)
    care_team: list[tuple[int, str]] = field(default_factory=list)
    charge: float = 0.0
    notes: str | None = None

    @property
    def end(self) -> datetime:
        """Where the stay's events must stop: discharge, or the snapshot for open stays."""
        return self.discharged if self.discharged is not None else END


# --------------------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------------------


def _make_providers(rnd: _Rand) -> tuple[list[_Provider], dict[int, int]]:
    """Staff each ward as a tree: lead doctor (root) -> head nurse -> nurses; returns head nurse by ward."""
    providers: list[_Provider] = []
    head_nurses: dict[int, int] = {}
    used_emails: set[str] = set()
    used_licenses: set[int] = set()

    def add(role: str, ward_id: int, supervisor: int | None, senior: bool) -> int:
        sex = rnd.pick(("F", "M"))
        first = rnd.pick(FEMALE_NAMES if sex == "F" else MALE_NAMES)
        last = rnd.pick(LAST_NAMES)
        lic = rnd.randint(0, 9_999_999)
        while lic in used_licenses:
            lic = rnd.randint(0, 9_999_999)
        used_licenses.add(lic)
        email: str | None = None
        if not rnd.chance(0.08):
            stem = f"{first}.{last}".lower().replace("'", "")
            email, n = f"{stem}@{HOSPITAL_DOMAIN}", 2
            while email in used_emails:
                email, n = f"{stem}{n}@{HOSPITAL_DOMAIN}", n + 1
            used_emails.add(email)
        first_year, last_year = (1992, 2008) if senior else (1998, 2018)
        hired = date(first_year, 1, 1) + timedelta(
            days=rnd.randint(0, (date(last_year, 12, 31) - date(first_year, 1, 1)).days)
        )
        pid = len(providers) + 1
        providers.append(
            _Provider(pid, first, last, role, ward_id, supervisor, f"LIC-{lic:07d}", email, hired)
        )
        return pid

    for ward_id, _, _, _, _, n_phys, n_surg, n_nurse, n_ther, has_head in WARDS:
        doctors = ["surgeon"] * n_surg + ["physician"] * n_phys
        if n_phys > n_surg:
            doctors.reverse()
        lead = add(doctors[0], ward_id, None, senior=True)
        nurse_boss = lead
        remaining_nurses = n_nurse
        if has_head:
            nurse_boss = head_nurses[ward_id] = add("nurse", ward_id, lead, senior=True)
            remaining_nurses -= 1
        for role in doctors[1:]:
            add(role, ward_id, lead, senior=False)
        for _ in range(remaining_nurses):
            add("nurse", ward_id, nurse_boss, senior=False)
        for _ in range(n_ther):
            add("therapist", ward_id, lead, senior=False)
    return providers, head_nurses


def _make_patient_rows(rnd: _Rand, n: int) -> tuple[list[_Patient], list[list[object]]]:
    """Demographics; the row keeps a placeholder for death_date, filled once the stays are known."""
    patients: list[_Patient] = []
    rows: list[list[object]] = []
    used_mrns: set[int] = set()
    city_weights = [c[4] for c in CITIES]
    for pid in range(1, n + 1):
        r = rnd.u()
        sex = "F" if r < 0.51 else ("M" if r < 0.985 else "X")
        # a young-adult block (births, injuries, psychiatry) and an older bulk around 63
        young = rnd.chance(0.4)
        age0 = 18.0 + 27.0 * rnd.u() if young else min(93.0, max(18.0, rnd.normal(63.0, 15.0)))
        birth = START.date() - timedelta(days=int(age0 * 365.25))
        age_now = _age(birth, END.date())
        comorbid = [
            code
            for code, base, extra, mid in COMORBIDITIES
            if rnd.chance(base + extra * _sig(age0, mid, 9.0))
        ]
        if "E11.9" not in comorbid and rnd.chance(0.006):
            comorbid.insert(1, "E10.9")
        patients.append(_Patient(pid, sex, birth, comorbid))

        mrn = rnd.randint(0, 9_999_999)
        while mrn in used_mrns:
            mrn = rnd.randint(0, 9_999_999)
        used_mrns.add(mrn)
        name_sex = sex if sex != "X" else rnd.pick(("F", "M"))
        first = rnd.pick(FEMALE_NAMES if name_sex == "F" else MALE_NAMES)
        last = rnd.pick(LAST_NAMES)
        city, state, area, zips, _ = rnd.weighted(CITIES, city_weights)
        phone = None if rnd.chance(0.08) else f"({area}) 555-{rnd.randint(100, 199):04d}"
        email = None
        if not rnd.chance(0.15 + 0.45 * _sig(age_now, 75.0, 8.0)):
            domains = EMAIL_DOMAINS_OLD if age_now > 55 else EMAIL_DOMAINS_YOUNG
            suffix = "" if rnd.chance(0.5) else str(rnd.randint(1, 99))
            email = f"{first}.{last}{suffix}@{rnd.pick(domains)}".lower().replace("'", "")
        street = (
            None
            if rnd.chance(0.03)
            else (f"{rnd.randint(10, 9899)} {rnd.pick(STREET_NAMES)} {rnd.pick(STREET_SUFFIXES)}")
        )
        zip_code = None if rnd.chance(0.02) else rnd.pick(zips)
        if age_now >= 65:
            insurance = rnd.weighted(
                ("medicare", "private", "medicaid", "self_pay"), (0.85, 0.09, 0.04, 0.02)
            )
        else:
            insurance = rnd.weighted(("private", "medicaid", "self_pay", "medicare"), (0.6, 0.25, 0.1, 0.05))
        rows.append(
            [
                pid,
                f"MRN{mrn:07d}",
                first,
                last,
                sex,
                birth.isoformat(),
                None,
                phone,
                email,
                street,
                city,
                state,
                zip_code,
                insurance,
            ]
        )
    return patients, rows


def _chapter_weights(age: float, sex: str) -> list[float]:
    """Age and sex drive what brings a patient in (the planted age -> diagnosis link)."""
    young_male = sex == "M" and age < 35
    fertile = sex == "F" and 16.0 <= age <= 45.0
    weights = {
        "circulatory": 1.5 + 34.0 * _sig(age, 63.0, 8.0),
        "endocrine": 4.0 + 4.0 * _sig(age, 50.0, 10.0),
        "respiratory": 7.0 + 9.0 * _sig(age, 65.0, 10.0),
        "renal": 1.5 + 7.0 * _sig(age, 65.0, 8.0),
        "infectious": 6.0 + 5.0 * _sig(age, 70.0, 8.0),
        "injury": (14.0 if young_male else 5.0) + 7.0 * _sig(age, 78.0, 5.0),
        "pregnancy": 90.0 * math.exp(-(((age - 30.0) / 8.0) ** 2)) if fertile else 0.0,
        "mental": 9.0 * (1.0 - 0.6 * _sig(age, 60.0, 8.0)),
        "neoplasm": 1.0 + 14.0 * _sig(age, 60.0, 9.0),
        "musculoskeletal": 2.0 + 6.0 * _sig(age, 55.0, 10.0),
        "digestive": 8.0,
        "blood": 1.5 + 2.0 * _sig(age, 70.0, 10.0),
    }
    return [weights[c] for c in CHAPTERS]


def _code_weight(code: str, base: float, age: float, sex: str, when: datetime) -> float:
    """Within-chapter adjustments: sex-specific cancers, hip fractures in the old, COVID only from 2020."""
    if base <= 0:
        return 0.0
    if code == "C61":
        return 0.0 if sex == "F" else base
    if code == "C50.9":
        return base * 0.02 if sex == "M" else base
    if code == "S72.0":
        return base * (0.1 + 6.0 * _sig(age, 75.0, 6.0))
    if code in ("S82.2", "T07", "S06.0") and sex == "M" and age < 35:
        return base * 2.5
    if code == "U07.1":
        return 0.0 if when < datetime(2020, 3, 1) else (base if when < datetime(2023, 1, 1) else base * 0.3)
    if code in ("E10.10", "J45.901"):
        return base * (2.0 if age < 40 else 0.5)
    if code == "F05":
        return base * 4.0 * _sig(age, 75.0, 6.0)
    if code == "O82":
        return base * (1.0 + 0.5 * _sig(age, 35.0, 3.0))
    return base


def _pick_specialty(rnd: _Rand, code: str, chapter: str) -> str:
    """Ward specialty follows the primary diagnosis most of the time (planted chapter -> ward link)."""
    if chapter == "pregnancy":
        return "maternity"
    if rnd.chance(ICU_PROBABILITY.get(code, 0.0)):
        return "icu"
    if rnd.chance(0.08):  # overflow / boarding on an unrelated ward; never maternity
        return rnd.pick(
            ("cardiology", "general_medicine", "surgery", "orthopedics", "icu", "psychiatry", "oncology")
        )
    return CODE_SPECIALTY.get(code, CHAPTER_SPECIALTY[chapter])


def _plan_admissions(
    rnd: _Rand, patient: _Patient, wards_by_specialty: dict[str, list[int]]
) -> list[_Admission]:
    """One patient's stays in time order, never overlapping; older patients come more often."""
    age0 = _age(patient.birth, START.date())
    frailty = rnd.lognormal(math.exp(-0.18), 0.6)  # some people are in and out of hospital
    if rnd.chance(0.12):  # registered (outpatient, ED visit) but never admitted
        n = 0
    else:
        n = min(30, 1 + rnd.poisson(1.45 * math.exp(0.65 * (age0 - 50.0) / 18.0) * frailty))
    offsets = sorted(rnd.u() for _ in range(n))
    stays: list[_Admission] = []
    prev_end: datetime | None = None
    for off in offsets:
        day = START + timedelta(days=int(off * SPAN_SECONDS / 86400))
        if prev_end is not None and day < prev_end + timedelta(hours=12):
            day = datetime.combine(prev_end.date(), datetime.min.time()) + timedelta(days=rnd.randint(1, 30))
        if day > END:
            break
        age = _age(patient.birth, day.date())
        chapter = rnd.weighted(CHAPTERS, _chapter_weights(age, patient.sex))
        codes = CODES_BY_CHAPTER[chapter]
        primary = rnd.weighted(
            [c for c, _ in codes], [_code_weight(c, w, age, patient.sex, day) for c, w in codes]
        )
        specialty = _pick_specialty(rnd, primary, chapter)
        ward_id = rnd.pick(wards_by_specialty[specialty])
        if primary in ELECTIVE_CODES:
            probs = (0.05, 0.1, 0.85)
        elif primary in EMERGENCY_CODES:
            probs = (0.9, 0.1, 0.0)
        else:
            probs = ADMISSION_TYPE_BY_SPECIALTY[specialty]
        adm_type = rnd.weighted(("emergency", "urgent", "elective"), probs)
        if adm_type == "elective":
            hour = rnd.randint(6, 10)
        elif adm_type == "urgent":
            hour = rnd.randint(8, 19)
        else:
            hour = rnd.randint(10, 23) if rnd.chance(0.7) else rnd.randint(0, 23)
        admitted = day.replace(hour=hour, minute=rnd.randint(0, 59), second=rnd.randint(0, 59))
        if prev_end is not None and admitted <= prev_end:
            admitted = prev_end + timedelta(hours=12 + rnd.randint(0, 240))
        if admitted > END:
            break
        median, sigma = LOS_BY_SPECIALTY[specialty]
        days = rnd.lognormal(median * math.exp(0.012 * (age - 50.0)), sigma)
        if adm_type == "elective":
            days *= 0.85
        hours = max(3.0, days * 24.0)
        end = admitted + timedelta(seconds=int(hours * 3600))
        if hours >= 24.0:  # discharges happen in the daytime
            moved = end.replace(hour=rnd.randint(9, 17), minute=rnd.randint(0, 59), second=rnd.randint(0, 59))
            if moved > admitted + timedelta(hours=12):
                end = moved
        stays.append(_Admission(patient, ward_id, specialty, admitted, end, adm_type, primary, age))
        prev_end = end
    return stays


def _settle_outcomes(rnd: _Rand, patient: _Patient, stays: list[_Admission]) -> None:
    """Status and death: only a patient's last stay can end in death, and nothing follows a death."""
    for i, adm in enumerate(stays):
        last = i == len(stays) - 1
        if adm.planned_end > END:
            adm.status, adm.discharged = "admitted", None
            continue
        adm.discharged = adm.planned_end
        base = {"icu": 0.2, "oncology": 0.08, "cardiology": 0.035, "general_medicine": 0.03}.get(
            adm.specialty, 0.006
        )
        if adm.specialty == "maternity":
            base = 0.0
        p_die = min(0.6, base * math.exp(0.045 * (adm.age - 70.0)))
        if last and rnd.chance(p_die):
            adm.status = "deceased"
            adm.discharged = adm.admitted + (adm.planned_end - adm.admitted) * (0.3 + 0.7 * rnd.u())
            adm.discharged = adm.discharged.replace(microsecond=0)
            patient.death = adm.discharged.date()
        elif rnd.chance(0.02 + 0.12 * _sig(adm.age, 80.0, 5.0)):
            adm.status = "transferred"
    if patient.death is None:
        last_end = stays[-1].discharged if stays else START - timedelta(days=1)
        if last_end is None:  # still in hospital at the snapshot
            return
        age_end = _age(patient.birth, END.date())
        if rnd.chance(0.01 + 0.15 * _sig(age_end, 85.0, 5.0)):
            room = (END.date() - last_end.date()).days
            if room > 1:
                patient.death = last_end.date() + timedelta(days=rnd.randint(1, room))


def _fill_diagnoses(rnd: _Rand, adm: _Admission) -> None:
    """Primary first, then the patient's chronic conditions and complications; seq is 1..n."""
    codes = [adm.primary]
    family = adm.primary[:3]
    for code in adm.patient.comorbidities:
        if code in codes or (code[:1] == "E" and code[:3] in ("E10", "E11") and family in ("E10", "E11")):
            continue
        if rnd.chance(0.75):
            codes.append(code)
    chapter = CODE_CHAPTER[adm.primary]
    extras = ACUTE_EXTRAS[chapter]
    for code in rnd.sample(extras, rnd.poisson(0.5 + 0.015 * max(adm.age - 50.0, 0.0))):
        if code not in codes:
            codes.append(code)
    adm.codes = codes[:6]
    stay = (adm.end - adm.admitted).total_seconds()
    adm.diagnosed = [adm.admitted + timedelta(seconds=int(min(stay, 6 * 3600) * rnd.u()))]
    for _ in adm.codes[1:]:
        adm.diagnosed.append(adm.admitted + timedelta(seconds=int(stay * rnd.u())))


def _lab_value(rnd: _Rand, test: str, codes: list[str], sex: str, icu: bool) -> float:
    """Diagnoses shift lab values (the planted diagnosis -> lab link)."""
    diabetic = any(c.startswith(("E10", "E11")) or c == "O24.4" for c in codes)
    if test == "glucose":
        if "E10.10" in codes:
            v = rnd.lognormal(420.0, 0.25)
        elif diabetic:
            v = rnd.lognormal(178.0, 0.3)
        else:
            v = rnd.normal(103.0 + (15.0 if icu else 0.0), 16.0)
    elif test == "hba1c":
        v = max(5.7, rnd.normal(8.3, 1.4)) if diabetic else rnd.normal(5.3, 0.35)
    elif test == "creatinine":
        if "N18.6" in codes:
            v = rnd.lognormal(5.5, 0.3)
        elif "N17.9" in codes:
            v = rnd.lognormal(2.4, 0.35)
        elif "N18.3" in codes:
            v = rnd.lognormal(1.8, 0.2)
        else:
            v = rnd.lognormal(0.95 if sex == "M" else 0.78, 0.18)
    elif test == "potassium":
        if any(c.startswith(("N17", "N18")) for c in codes):
            v = rnd.normal(5.3, 0.5)
        elif "E86.0" in codes:
            v = rnd.normal(4.6, 0.5)
        else:
            v = rnd.normal(4.2, 0.35)
    elif test == "sodium":
        v = rnd.normal(144.0, 4.0) if "E86.0" in codes else rnd.normal(139.5, 2.5)
    elif test == "hemoglobin":
        if any(c.startswith(("D50", "D64", "C")) or c == "K92.2" for c in codes):
            v = rnd.normal(9.4, 1.3)
        elif CODE_CHAPTER[codes[0]] == "pregnancy":
            v = rnd.normal(11.8, 1.0)
        else:
            v = rnd.normal({"F": 13.2, "M": 14.9}.get(sex, 14.0), 1.1)
    else:  # wbc
        v = (
            rnd.lognormal(14.5, 0.25)
            if any(c in INFECTION_CODES for c in codes)
            else rnd.lognormal(7.0, 0.22)
        )
    return round(max(v, 0.1), LAB_TESTS[test][3])


def _fill_labs(rnd: _Rand, adm: _Admission) -> None:
    """Routine panels (no diagnosis) on arrival, tests ordered for diagnoses, and repeats on long stays."""
    start, end = adm.admitted, adm.end
    stay = (end - start).total_seconds()
    stay_days = stay / 86400.0
    icu = adm.specialty == "icu"

    def at(offset_seconds: float) -> str:
        return _ts(start + timedelta(seconds=int(max(0.0, min(stay, offset_seconds)))))

    labs: list[tuple[int | None, str, float, str]] = []
    arrival = rnd.u() * 3 * 3600
    if rnd.chance(0.4):
        for test in BASIC_PANEL:
            labs.append((None, test, _lab_value(rnd, test, adm.codes, adm.patient.sex, icu), at(arrival)))
    if rnd.chance(0.45):
        for test in BLOOD_COUNT:
            labs.append((None, test, _lab_value(rnd, test, adm.codes, adm.patient.sex, icu), at(arrival)))
    ordered: list[str] = []
    for seq, (code, when) in enumerate(zip(adm.codes, adm.diagnosed, strict=True), start=1):
        base = (when - start).total_seconds()
        for test in _tests_for(code):
            if test in ordered or not rnd.chance(0.8):
                continue
            ordered.append(test)
            value = _lab_value(rnd, test, adm.codes, adm.patient.sex, icu)
            labs.append((seq, test, value, at(base + rnd.u() * 6 * 3600)))
            if test == "hba1c":
                continue
            for _ in range(min(5, rnd.poisson(0.1 * min(stay_days, 25.0)))):
                value = _lab_value(rnd, test, adm.codes, adm.patient.sex, icu)
                labs.append((seq, test, value, at(rnd.u() * stay)))
    labs.sort(key=lambda lab: (lab[3], lab[1]))
    adm.labs = labs


def _fill_staff(
    rnd: _Rand, adm: _Admission, staff: dict[int, dict[str, list[int]]], all_doctors: list[int]
) -> None:
    """Attending from the ward's doctors (usually), a care team around them, and procedures."""
    ward = staff[adm.ward_id]
    own_doctors = ward["doctors"]
    adm.attending_id = rnd.pick(own_doctors) if rnd.chance(0.92) else rnd.pick(all_doctors)
    team = [(adm.attending_id, "attending")]
    members = [adm.attending_id]
    for nurse in rnd.sample(ward["nurses"], rnd.weighted((0, 1, 2), (0.2, 0.5, 0.3))):
        team.append((nurse, "nursing"))
        members.append(nurse)
    n_consult = min(
        2, rnd.poisson(0.3 + 0.01 * max(adm.age - 60.0, 0.0) + (0.5 if adm.specialty == "icu" else 0))
    )
    for _ in range(n_consult):
        doc = rnd.pick(all_doctors)
        if doc not in members and len(team) < 5:
            team.append((doc, "consulting"))
            members.append(doc)
    adm.care_team = team

    stay = (adm.end - adm.admitted).total_seconds()
    options = PROCEDURES[adm.specialty]
    chosen: list[str] = []
    main_code = MAIN_PROCEDURE.get(adm.primary)
    if main_code is not None and main_code in PROCEDURE_INFO and rnd.chance(0.9):
        chosen.append(main_code)
    elif adm.specialty in ("surgery", "orthopedics") and rnd.chance(0.6):
        chosen.append(rnd.pick(options)[0])
    extra_rate = PROCEDURE_RATE[adm.specialty] * (1.0 + 0.3 * min(stay / 86400.0, 10.0) / 10.0)
    for _ in range(rnd.poisson(extra_rate)):
        chosen.append(rnd.pick(options)[0])
    everyone = ward["doctors"] + ward["nurses"] + ward["others"]
    procedures: list[tuple[int, int | None, str, str, int]] = []
    for i, code in enumerate(chosen[:4]):
        performer = adm.attending_id if rnd.chance(0.5) else rnd.pick(own_doctors)
        assistant = None
        if rnd.chance(0.5):
            candidates = [p for p in everyone if p != performer]
            assistant = rnd.pick(candidates)
        if i == 0 and code == main_code:
            delay = (1.0 + 4.0 * rnd.u()) * 3600 if adm.admission_type == "elective" else rnd.u() * 24 * 3600
        else:
            delay = rnd.u() * stay
        if delay > stay:
            delay = stay * rnd.u()
        moment = adm.admitted + timedelta(seconds=int(delay))
        minutes, _ = PROCEDURE_INFO[code]
        duration = max(5, round(rnd.lognormal(float(minutes), 0.25)))
        procedures.append((performer, assistant, code, _ts(moment), duration))
    procedures.sort(key=lambda p: p[3])
    adm.procedures = procedures


def _fill_charge_and_notes(rnd: _Rand, adm: _Admission) -> None:
    """Charge grows with stay and procedures; notes come from templates and never carry a name."""
    stay_days = (adm.end - adm.admitted).total_seconds() / 86400.0
    charge = 450.0 + DAY_RATE[adm.specialty] * max(stay_days, 0.5) + 38.0 * len(adm.labs)
    for _, _, code, _, _ in adm.procedures:
        charge += PROCEDURE_INFO[code][1] * rnd.lognormal(1.0, 0.1)
    adm.charge = round(charge * rnd.lognormal(1.0, 0.08), 2)
    if rnd.chance(0.2):
        adm.notes = None
        return
    sex_word = {"F": "female", "M": "male"}.get(adm.patient.sex, "patient")
    reasons = PLANNED if adm.admission_type == "elective" else COMPLAINTS
    complaint = rnd.pick(reasons[CODE_CHAPTER[adm.primary]])
    parts = [f"{int(adm.age)}yo {sex_word} {ADMIT_VERBS[adm.admission_type]} {complaint}."]
    if adm.specialty == "icu":
        parts.append(rnd.pick(ICU_COURSES))
    if rnd.chance(0.8):
        parts.append(rnd.pick(COURSES[CODE_CHAPTER[adm.primary]]))
    parts.append(rnd.pick(DISPOSITIONS[adm.status]))
    adm.notes = " ".join(parts)


# --------------------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------------------


def _read_ddl() -> str:
    """Read the DDL next to this module, whether installed as relsynth.demos or run from a checkout."""
    if __package__:
        return resources.files(__package__).joinpath(SQL_FILE).read_text(encoding="utf-8")
    return Path(__file__).with_name(SQL_FILE).read_text(encoding="utf-8")


def _insert(con: sqlite3.Connection, table: str, columns: str, rows: Sequence[Sequence[object]]) -> None:
    """One executemany per table keeps the build well under a second."""
    marks = ", ".join("?" * len(columns.split(",")))
    con.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def build(path: str | os.PathLike[str], *, seed: int = 7, scale: float = 1.0) -> Path:
    """Create (or overwrite) the SQLite demo database at ``path``; same seed and scale give the same rows."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (
        out,
        out.with_name(out.name + "-journal"),
        out.with_name(out.name + "-wal"),
        out.with_name(out.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)

    rnd = _Rand(seed)
    providers, head_nurses = _make_providers(rnd)
    staff: dict[int, dict[str, list[int]]] = {
        w[0]: {"doctors": [], "nurses": [], "others": []} for w in WARDS
    }
    for p in providers:
        bucket = (
            "doctors" if p.role in ("physician", "surgeon") else ("nurses" if p.role == "nurse" else "others")
        )
        staff[p.ward_id][bucket].append(p.provider_id)
    all_doctors = [p.provider_id for p in providers if p.role in ("physician", "surgeon")]
    wards_by_specialty: dict[str, list[int]] = {}
    for ward in WARDS:
        wards_by_specialty.setdefault(ward[2], []).append(ward[0])

    n_patients = max(1, round(BASE_PATIENTS * scale))
    patients, patient_rows = _make_patient_rows(rnd, n_patients)
    admissions: list[_Admission] = []
    for patient in patients:
        stays = _plan_admissions(rnd, patient, wards_by_specialty)
        _settle_outcomes(rnd, patient, stays)
        for adm in stays:
            _fill_diagnoses(rnd, adm)
            _fill_labs(rnd, adm)
            _fill_staff(rnd, adm, staff, all_doctors)
            _fill_charge_and_notes(rnd, adm)
        admissions.extend(stays)
    for patient, row in zip(patients, patient_rows, strict=True):
        row[6] = patient.death.isoformat() if patient.death else None
    admissions.sort(key=lambda a: (a.admitted, a.patient.patient_id))
    for i, adm in enumerate(admissions, start=1):
        adm.admission_id = i

    con = sqlite3.connect(out, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA synchronous = OFF")  # a throwaway build: a crash just means rebuilding
        con.executescript(_read_ddl())
        con.execute("BEGIN")
        _insert(con, "diagnosis_codes", "code, description, chapter", [c[:3] for c in DIAGNOSIS_CODES])
        # wards <-> providers is a cycle: wards first without head nurses, then staff, then the head nurses
        _insert(con, "wards", "ward_id, name, specialty, floor, beds", [w[:5] for w in WARDS])
        _insert(
            con,
            "providers",
            "provider_id, first_name, last_name, role, ward_id, supervisor_id, license_no, email, hired_on",
            [(*astuple(p)[:-1], p.hired_on.isoformat()) for p in providers],
        )
        con.executemany(
            "UPDATE wards SET head_nurse_id = ? WHERE ward_id = ?",
            [(nurse, ward_id) for ward_id, nurse in head_nurses.items()],
        )
        _insert(
            con,
            "patients",
            "patient_id, mrn, first_name, last_name, sex, birth_date, death_date, phone, email, street, "
            "city, state, zip, insurance",
            patient_rows,
        )
        _insert(
            con,
            "admissions",
            "admission_id, patient_id, ward_id, attending_id, admitted_at, discharged_at, status, "
            "admission_type, total_charge, notes",
            [
                (
                    a.admission_id,
                    a.patient.patient_id,
                    a.ward_id,
                    a.attending_id,
                    _ts(a.admitted),
                    _ts(a.discharged) if a.discharged else None,
                    a.status,
                    a.admission_type,
                    a.charge,
                    a.notes,
                )
                for a in admissions
            ],
        )
        _insert(
            con,
            "diagnoses",
            "admission_id, seq, code, is_primary, diagnosed_at",
            [
                (a.admission_id, seq, code, int(seq == 1), _ts(when))
                for a in admissions
                for seq, (code, when) in enumerate(zip(a.codes, a.diagnosed, strict=True), start=1)
            ],
        )
        lab_rows = []
        for a in admissions:
            for seq, test, value, collected in a.labs:
                unit, low, high, _ = LAB_TESTS[test]
                flag = "L" if value < low else ("H" if value > high else "N")
                lab_rows.append((len(lab_rows) + 1, a.admission_id, seq, test, value, unit, flag, collected))
        _insert(
            con,
            "lab_results",
            "lab_id, admission_id, diagnosis_seq, test_name, value, unit, flag, collected_at",
            lab_rows,
        )
        procedure_rows = [(a.admission_id, *p) for a in admissions for p in a.procedures]
        _insert(
            con,
            "procedures",
            "procedure_id, admission_id, performed_by, assisted_by, procedure_code, performed_at, "
            "duration_min",
            [(i, *row) for i, row in enumerate(procedure_rows, start=1)],
        )
        _insert(
            con,
            "care_team",
            "admission_id, provider_id, care_role",
            [(a.admission_id, pid, role) for a in admissions for pid, role in a.care_team],
        )
        con.execute("COMMIT")
        problems = con.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign key violations in the built database: {problems[:5]}")
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            raise RuntimeError(f"integrity check failed: {integrity}")
    except BaseException:
        con.close()
        out.unlink(missing_ok=True)  # never leave a half-built demo behind
        raise
    con.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: build the demo database and print its row counts."""
    parser = argparse.ArgumentParser(
        prog="python -m relsynth.demos.hospital", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out", help="SQLite file to create (overwritten if it exists)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplies the number of patients (default 1)"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out = build(args.out, seed=args.seed, scale=args.scale)
    elapsed = time.perf_counter() - t0
    con = sqlite3.connect(out)
    try:
        tables = [
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
        ]
        for table in tables:
            print(f"{table:16s} {con.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]:>7d}")
    finally:
        con.close()
    print(f"built {out} in {elapsed:.2f}s (seed={args.seed}, scale={args.scale})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
