"""The evaluation on one terminal screen: scores, the worst columns and links, integrity, privacy."""

from __future__ import annotations

from typing import Any


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


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


def summary_lines(result: dict[str, Any]) -> list[str]:
    s = result["scores"]
    out = [
        f"quality {_fmt(s['overall'])}  (column shapes {_fmt(s['column_shapes'])}, "
        f"column pairs {_fmt(s['column_pairs'])}, cardinality {_fmt(s['cardinality'])}, "
        f"parent-child {_fmt(s['parent_child'])})",
        f"detectability: ROC AUC {_fmt(s['detectability_auc'])} (0.5 = indistinguishable)",
        f"integrity: {s['integrity_problems']} problems (orphans, duplicate keys, NULLs, CHECKs)",
    ]
    p = s["privacy"]
    flagged = ", ".join(p["flagged_tables"]) or "none"
    copies = f"privacy: {s['exact_copies']} copies of unique source records (whole records, keys aside)"
    single = [n for n, t in result["tables"].items() if t["privacy"].get("assessed") is False]
    if single:
        copies += f"; not assessed in {len(single)} tables whose records have under 2 columns"
    undecided = ", ".join(p.get("inconclusive_tables") or [])
    out.append(
        f"{copies}; tables closer to training than holdout: {flagged}"
        + (f"; too many ties to tell in: {undecided}" if undecided else "")
        if p["holdout"]
        else f"{copies}; {p['note']}"
    )
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
    if result.get("sdmetrics"):
        q = result["sdmetrics"].get("quality")
        if q:
            out.append(
                f"sdmetrics QualityReport {q['score']:.3f}; DiagnosticReport "
                f"{result['sdmetrics']['diagnostic']['score']:.3f}"
            )
        else:
            out.append(f"sdmetrics: {result['sdmetrics'].get('error')}")
    worst = result["worst"]["columns"][:3]
    if worst:
        out.append(
            "weakest columns: " + "; ".join(f"{w['table']}.{w['column']} {w['score']:.2f}" for w in worst)
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
