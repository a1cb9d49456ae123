"""What a column that may name a flat table's people holds that is no person.

A MySQL application writes "none" in a NOT NULL key as 0 (WordPress' ``post_parent`` on 3,000 of
3,647 posts), and a column naming another row of the same table (a parent post) names a row, not
whom the row is about. Taken for a person, the 3,000 top-level posts were one person, and every
post type only they held (2,500 orders) was withheld as rare: attack a45b.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from relsynth.infer import SELF_WORDS
from relsynth.schema import Table

# Values that say "none" in a key column that cannot be NULL: 0, -1, the empty string.
_NONE_VALUES = frozenset({"0", "-1", "", "0.0", "-1.0"})

# Short spellings of the patient's (or member's) number that name the row's person wherever they
# stand as the whole name: OpenEMR's pid in every table, CPRD's patid, an MRN, a hospital number
# (HN), a trial's USUBJID.
PERSON_KEY = re.compile(
    r"^(pid|pat|patid|pat_?id|pt_?id|pat_?(no|num|nbr)|hn|hosp_?(no|num|nbr)|mrn|med_?rec_?(no|num|nbr)?|u?subj_?id|"
    r"enrol_?id|enrolee_?id|bene_?id|desynpuf_id|person_?(no|num|nbr)|mbr_?id|memb_?id)$"
)


# A column named after whom the row is about, however its value is spelled: patient_id, an MRN's
# record_no, and the opaque stand-ins a pseudonymised export gives them (patient_ref, person_hash,
# member_guid, customer_token, subject_identifier).
_SUBJECT_SUFFIX = r"_?(id|num|no|nr|key|code|ref|hash|guid|uuid|uid|pid|oid|token|identifier)?$"
# A name that is the row's person wherever it stands (visit_patient_id), or only as the name's
# first word: created_by_user_id or approver_employee_id name who edited the row, not whom it is about.
_SUBJECT_COLUMN = re.compile(
    r"(^|_)(record|subject|participant|patient|person|member|client|customer)"
    + _SUBJECT_SUFFIX
    + r"|^(user|employee|owner|account|student|enrollee|beneficiary|insured|resident|donor)"
    + _SUBJECT_SUFFIX
)


# Named after the patient (or member, subject) in any spelling: goes before any other column.
_PATIENT_COLUMN = re.compile(
    r"(^|_)(record|subject|participant|patient|person|member|client|customer)" + _SUBJECT_SUFFIX
)


def subject_named(name: str) -> bool:
    """Named after whom the row is about: patient_id, member_hash, or a short spelling (pid)."""
    return bool(_SUBJECT_COLUMN.search(name.lower()) or PERSON_KEY.match(name.lower()))


def patient_named(name: str) -> bool:
    """Named after the patient, member or subject (pid, patient_id, member_hash): not a bare
    ``user`` or ``owner``, which in a clinical table is often who entered the row."""
    return bool(_PATIENT_COLUMN.search(name.lower()) or PERSON_KEY.match(name.lower()))


def _words(name: str) -> list[str]:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return [w for w in re.split(r"[^a-z0-9]+", snake) if w]


def as_people(values: pd.Series) -> pd.Series:
    """``values`` with what names no person read as NULL: a "none" value (0, -1, '') that is the
    column's most common one. Those rows are each their own person, as NULL's are. Any other value,
    however many rows hold it, is one person's: a patient with most of a table's rows is still one
    person, whose codes K rows of theirs do not make common."""
    known = values.dropna()
    if not len(known):
        return values
    text = known.astype(str).str.strip()
    counts = text.value_counts()
    top = str(counts.index[0])
    drop = {top} if top in _NONE_VALUES else set()
    if not drop:
        return values
    out = values.astype(object)  # not float: 108 stays '108', as the table's own key spells it
    out.loc[known.index[text.isin(drop).to_numpy()]] = None
    return out


def names_own_rows(table: Table, frame: pd.DataFrame, column: str, values: pd.Series) -> bool:
    """Whether ``column`` is an undeclared self-reference: named like one (parent, manager,
    post_parent, previous_id) and (95% of) its values are the table's own single-column key."""
    words = _words(column)
    if not any(w in SELF_WORDS for w in words) and "_".join(words) not in SELF_WORDS:
        return False
    known = values.dropna().astype(str).str.strip()
    if not len(known):
        return False
    for key in _own_keys(table, frame, column):
        own = set(frame[key].dropna().astype(str).str.strip())
        if float(np.mean(known.isin(own).to_numpy())) >= 0.95:
            return True
    return False


def _own_keys(table: Table, frame: pd.DataFrame, column: str) -> list[str]:
    """The table's single-column keys; with none declared (a table from DataFrames, a MyISAM
    export), an ``id`` column whose values are unique."""
    keys = [cols[0] for cols in table.keysets() if len(cols) == 1 and cols[0] != column]
    if not keys:
        keys = [c for c in frame.columns if str(c).lower() == "id" and frame[c].is_unique]
    return [k for k in keys if k in frame]
