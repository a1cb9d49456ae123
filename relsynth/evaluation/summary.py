"""The evaluation on one terminal screen. It leads with detection (how many tables a classifier tells
from the source, and what gives each away), then quality as sdmetrics scores it beside relsynth's
own, then integrity, privacy and the worst columns and links: a summary that says no more than the
data does."""

from __future__ import annotations

from typing import Any


def _fmt(value: float | None, digits: int = 3) -> str:
    """A score as text; one that rounds to zero from below is 0, not -0 ('-0.00')."""
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


# A table whose cross-validated detection AUC reaches this is "told apart": the classifier ranks a
# real row above a synthetic one three times in four. The summary and the report lead with these.
TOLD_APART_AUC = 0.75
# relsynth's quality and sdmetrics' on the same data further apart than this are called out.
QUALITY_GAP = 0.05
SHOWN_TABLES = 3  # told-apart tables named on the terminal, worst first, with their top features
PROPERTIES = (
    ("column shapes", "column_shapes", "Column Shapes"),
    ("column pairs", "column_pairs", "Column Pair Trends"),
    ("cardinality", "cardinality", "Cardinality"),
    ("parent-child", "parent_child", "Intertable Trends"),
)


def given_away_by(detect: dict[str, Any], k: int = 3) -> str:
    """The features a table's classifier leans on, with their share of the AUC lost when each is
    shuffled: column names (and child tables), never values."""
    top = [f for f in detect.get("top_features") or [] if f.get("share", 0) > 0][:k]
    return ", ".join(f"{f['feature']} ({100 * f['share']:.0f}%)" for f in top) or "no single feature"


def detection_lines(result: dict[str, Any]) -> list[str]:
    """The headline: tables a classifier tells apart (AUC at or above the threshold), the worst
    ones with what gives them away."""
    judged = {
        n: t["detectability"]
        for n, t in result["tables"].items()
        if (t.get("detectability") or {}).get("available")
    }
    if not judged:
        return ["detection: no table could be judged (too few rows, or nothing to compare)"]
    d = result["scores"].get("detection") or {}
    threshold = d.get("threshold_auc", TOLD_APART_AUC)
    apart = sorted((n for n, x in judged.items() if x["auc"] >= threshold), key=lambda n: -judged[n]["auc"])
    worst = max(judged, key=lambda n: judged[n]["auc"])
    mean = _fmt(result["scores"].get("detectability_auc"), 2)
    if not apart:
        return [
            f"detection: a classifier tells none of {len(judged)} tables from the source (ROC AUC under "
            f"{threshold:g} in all; worst {worst} {judged[worst]['auc']:.2f}, mean {mean}; "
            "0.5 = indistinguishable)"
        ]
    out = [
        f"detection: a classifier tells {len(apart)} of {len(judged)} tables from the source (ROC AUC "
        f">= {threshold:g}; worst {judged[worst]['auc']:.2f}, mean {mean}; 0.5 = indistinguishable): "
        "do not trust what gives them away"
    ]
    for n in apart[:SHOWN_TABLES]:
        out.append(f"  {n}: AUC {judged[n]['auc']:.2f}, given away by {given_away_by(judged[n])}")
    if len(apart) > SHOWN_TABLES:
        out.append(f"  and {len(apart) - SHOWN_TABLES} more: " + ", ".join(apart[SHOWN_TABLES:]))
    return out


def quality_lines(result: dict[str, Any]) -> list[str]:
    """sdmetrics' QualityReport (an independent scorer, same rows, same columns) beside relsynth's
    own score, property by property; a gap wider than QUALITY_GAP is said."""
    s = result["scores"]
    sd = result.get("sdmetrics") or {}
    q = sd.get("quality")
    if not q:
        why = sd.get("error") or "sdmetrics not run"
        return [
            f"quality: relsynth's own {_fmt(s['overall'])}, not reproduced by an independent scorer ({why})",
            "  relsynth: " + ", ".join(f"{label} {_fmt(s[key])}" for label, key, _ in PROPERTIES),
        ]
    props = q.get("properties") or {}
    line = f"quality: sdmetrics QualityReport {_fmt(q.get('score'))}, relsynth's own {_fmt(s['overall'])}"
    gap = None if s["overall"] is None or q.get("score") is None else s["overall"] - q["score"]
    if gap is not None and abs(gap) > QUALITY_GAP:
        line += (
            f" (ours {abs(gap):.2f} {'above' if gap > 0 else 'below'} sdmetrics' on the same rows and "
            "columns: quote sdmetrics')"
        )
    out = [
        line,
        "  sdmetrics / relsynth: "
        + ", ".join(
            f"{label} {_fmt(props.get(sd_key))} / {_fmt(s[key])}" for label, key, sd_key in PROPERTIES
        ),
    ]
    notes = sd.get("notes") or []  # what sdmetrics was not given, by name (never a value)
    if notes:
        more = f" (+{len(notes) - 3} more in the JSON)" if len(notes) > 3 else ""
        out.append("  not given to sdmetrics: " + "; ".join(notes[:3]) + more)
    return out


ATTACKS = (("singling_out", "singling out"), ("linkability", "linkability"), ("inference", "inference"))


def _interval(risk: dict[str, Any]) -> str:
    lo, hi = risk["ci"]
    return f"{risk['value']:.2f} [{lo:.2f}, {hi:.2f}]"


def attack_lines(result: dict[str, Any]) -> list[str]:
    """One line per table: each attack's risk with its interval and the held-out success rate.
    Rates and column names only: a summary that can be shared reveals no value."""
    out, missing = [], []
    for name, t in result["tables"].items():
        a = t["privacy"].get("attacks")
        if not a:
            continue
        if not a.get("available"):
            missing.append(str(a.get("reason")))
            continue
        parts, exposed = [], False
        for key, label in ATTACKS:
            x = a.get(key) or {}
            if not x.get("available"):
                parts.append(f"{label} n/a")
                continue
            if key == "inference":
                worst = next(s for s in x["secrets"] if s["column"] == x["worst_column"])
                control, label = worst["control"]["rate"], f"inference of {x['worst_column']}"
            else:
                control = x["control"]["rate"]
            exposed = exposed or x["risk"]["ci"][0] > 0
            parts.append(f"{label} {_interval(x['risk'])} (held-out {_fmt(control, 2)})")
        out.append(
            f"attacks on {name}, risk [95% CI]: " + "; ".join(parts) + ("  <- above 0" if exposed else "")
        )
    if missing:
        reasons = sorted(set(missing))
        out.append(f"attacks: not run on {len(missing)} tables: " + "; ".join(reasons[:3]))
    return out


def membership_lines(result: dict[str, Any]) -> list[str]:
    """One verdict per table on membership inference by the model file's holder: the AUC with its
    interval (0.5: training rows are no nearer to what the file samples than held-out rows)."""
    from relsynth.evaluation.membership import FLAG_AUC

    out, missing = [], []
    for name, t in result["tables"].items():
        m = t["privacy"].get("model_membership")
        if not m:
            continue
        if not m.get("available"):
            missing.append(str(m.get("reason")))
            continue
        lo, hi = m["ci"]
        line = (
            f"membership from the model file, {name}: AUC {m['auc']:.3f} [{lo:.3f}, {hi:.3f}] "
            f"({m['sampled_rows']} rows drawn, scale {m['scale']:.2g}; 0.5 = no signal)"
        )
        if m.get("flagged"):
            line += f"  <- above {FLAG_AUC:g}"
        elif m.get("inconclusive"):
            line += "; too many ties to tell"
        elif lo > 0.5:
            line += f"; above 0.5, under the {FLAG_AUC:g} flag"
        out.append(line)
    if missing:
        reasons = sorted(set(missing))
        where = "" if not out else f" on {len(missing)} tables"
        out.append(f"membership from the model file: not run{where}: " + "; ".join(reasons[:3]))
    return out


def rare_people_lines(result: dict[str, Any]) -> list[str]:
    """Synthetic values held by fewer than rare_k people in the source: how many, and where (the
    columns, never the values)."""
    p = result["scores"]["privacy"]
    where = p.get("rare_people")
    if where is None:  # a result from before this check
        return []
    k = p.get("rare_k") or 5
    if not where:
        return [f"privacy: no synthetic value is held by fewer than {k} people in the source"]
    columns = [f"{n}.{c}" for n, cols in where.items() for c in cols]
    shown = ", ".join(columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
    return [
        f"privacy: {p['rare_people_found']} synthetic values (or code prefixes) held by fewer than {k} "
        f"people in the source, however many rows they fill: {shown}  <- each can single a person out"
    ]


def personal_copies_lines(result: dict[str, Any]) -> list[str]:
    """Synthetic personal data equal to the source's (privacy.personal_copies): how many rows,
    and where (columns and what was found, never the values)."""
    p = result["scores"]["privacy"]
    where = p.get("personal_copies")
    if where is None:  # a result from before this check
        return []
    if not where:
        return [
            "privacy: no synthetic personal value (e-mail, id, rare name, name with birth date), "
            "source identifier in another column, source name in free text or rare JSON key is the source's"
        ]
    found = [f"{n}.{f['column']} ({f['kind']}: {f['synthetic_rows']})" for n, fs in where.items() for f in fs]
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    return [
        f"privacy: {p['personal_copies_found']} synthetic rows hold a source person's personal data: "
        f"{shown}  <- the generator never writes these: the output was altered or leaks"
    ]


def summary_lines(result: dict[str, Any]) -> list[str]:
    """Detection first, quality (sdmetrics beside ours) second: a high quality score says nothing
    about a table a classifier tells apart."""
    s = result["scores"]
    out = [
        *detection_lines(result),
        *quality_lines(result),
        f"integrity: {s['integrity_problems']} problems (orphans, duplicate keys, NULLs, CHECKs)",
    ]
    p = s["privacy"]
    flagged = ", ".join(p["flagged_tables"]) or "none"
    copies = f"privacy: {s['exact_copies']} copies of unique source records (whole records, keys aside)"
    single = [n for n, t in result["tables"].items() if t["privacy"].get("assessed") is False]
    if single:
        copies += f"; not assessed in {len(single)} tables whose records have under 2 columns"
    if s.get("near_copies"):
        where = "; ".join(
            f"{n}: " + ", ".join(f"{c} ({k})" for c, k in sorted(cols.items()))
            for n, cols in sorted((p.get("near_copies") or {}).items())
        )
        copies += f"; {s['near_copies']} near copies (equal but for the column named: {where})"
    undecided = ", ".join(p.get("inconclusive_tables") or [])
    out.append(
        f"{copies}; tables closer to training than holdout: {flagged}"
        + (f"; too many ties to tell in: {undecided}" if undecided else "")
        if p["holdout"]
        else f"{copies}; {p['note']}"
    )
    out += personal_copies_lines(result)
    out += rare_people_lines(result)
    out += attack_lines(result)
    out += membership_lines(result)
    if "utility" in result:
        u = result["utility"]
        if u.get("available"):
            out.append(
                f"utility ({u['target']}, {u['metric']}): train real/test real {u['trtr']:.3f}, "
                f"train synthetic/test real {u['tstr']:.3f}"
            )
        else:
            out.append(f"utility: not computed ({u.get('reason')})")
    diagnostic = (result.get("sdmetrics") or {}).get("diagnostic")
    if diagnostic:
        out.append(f"sdmetrics DiagnosticReport {diagnostic['score']:.3f}")
    worst = result["worst"]["columns"][:3]
    if worst:
        out.append(
            "weakest columns: "
            + "; ".join(f"{w['table']}.{w['column']} {_fmt(w['score'], 2)}" for w in worst)
        )
    rels = result["worst"]["relationships"][:3]
    if rels:
        out.append(
            "weakest links: "
            + "; ".join(
                f"{r['fk']} (counts {r['cardinality']:.2f}, trends {_fmt(r['trend_score'], 2)})" for r in rels
            )
        )
    return out
