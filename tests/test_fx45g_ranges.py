"""Attack round 45, f9: MIMIC-IV's patients.anchor_year_group ('2008 - 2010') was taken for phone
numbers, so the CHECK's four values kept in the output set off "synthetic rows hold a source
person's personal data ... the output was altered or leaks". A range of years or numbers is no
phone; phones stay phones."""

from __future__ import annotations

import pandas as pd

from relsynth import pii_detect as d


def test_a_year_group_is_no_phone() -> None:
    groups = ["2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019"]
    assert d.detect(pd.Series(groups * 75)) == (None, "")
    assert d.detect(pd.Series(["2008-2010", "2011-2013", "1998-1999"] * 40)) == (None, "")
    assert d.detect(pd.Series(["10000 - 24999", "25000 - 49999", "50000 - 74999"] * 40)) == (None, "")


def test_phones_with_two_groups_are_still_phones() -> None:
    assert d.detect(pd.Series([f"{2000 + i * 37}-{5000 + i * 11}" for i in range(120)]))[0] == "phone"
    assert d.phone("555-1234") and d.phone("+1 (555) 010-0199") and d.phone("2345-6789")
