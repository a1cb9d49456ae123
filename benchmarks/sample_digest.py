"""The sample stage's CPU seconds and a digest of everything it draws, to compare two checkouts
(issue 12: the sample stage made cheaper with byte-identical output).

Run from the repository root; PostgreSQL on 127.0.0.1:5432 (user postgres, trust):

    # once: a model per source database, fitted by either checkout
    .venv/bin/python benchmarks/sample_digest.py fit postgresql://postgres@127.0.0.1:5432/DB DB.model.json
    # one run: the tables of one seed and scale sampled from the model (the model's guards rebuilt
    # from the source first, as a model just fitted has them), printed as JSON: CPU seconds of the
    # sample stage, CPU seconds of the COPY text (relsynth.copy_text, the writer's Python side) and
    # a SHA-256 per table of its columns, dtypes, values' Python types, pandas' hash of each value
    # and the COPY text
    .venv/bin/python benchmarks/sample_digest.py run DB.model.json URL --seed 0 --scale 1
    # both checkouts over seeds and scales, each run in its own process, one at a time, old and new
    # alternating; the digests must be equal; CPU seconds are the minimum over --repeat runs of
    # each checkout for the first seed at the first scale, one run each for the others
    .venv/bin/python benchmarks/sample_digest.py compare --old OLD_CHECKOUT --new . \\
        --case DB.model.json=URL [--case ...] --seeds 0,1 --scales 1,0.3,2 --repeat 3

Exit code 1 when a digest differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from typing import Any


def _fit(url: str, out: str) -> None:
    from relsynth import api

    api.fit(url, seed=0).save(out)


def _digest_frame(frame: Any) -> str:
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr(list(frame.columns)).encode())
    h.update(repr([str(t) for t in frame.dtypes]).encode())
    h.update(repr(frame.index[:5].tolist()).encode() + str(len(frame)).encode())
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object:
            h.update(repr(sorted({type(v).__name__ for v in col.tolist()})).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def _copy_text(frame: Any, table: Any) -> bytes:
    """What the writer sends PostgreSQL for these rows: copy_text's block, else the rows it would
    give write_row (repr'd)."""
    from relsynth import copy_text, writer

    columns = [c.name for c in table.columns if c.name in frame.columns]
    data = copy_text.block(frame, table, columns, writer._python_column, writer._fifteen_digits)
    if data is not None:
        return data
    return repr(writer._rows(frame, table, columns, "postgresql")).encode()


def _run(model_path: str, url: str, seed: int, scale: float) -> dict[str, Any]:
    from relsynth import api
    from relsynth.model.spec import Model

    model = Model.load(model_path)
    api._guard_from(model, url, None)
    cpu = 0.0
    copy_cpu = 0.0
    digests: dict[str, list[str]] = {}
    t0 = time.process_time()
    batches = api.sample_batches(model, scale=scale, seed=seed)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            cpu += time.process_time() - t0
            break
        cpu += time.process_time() - t0
        for name, frame in batch.items():
            table = model.schema.table(name)
            c0 = time.process_time()
            text = _copy_text(frame, table)
            copy_cpu += time.process_time() - c0
            digest = _digest_frame(frame) + hashlib.sha256(text).hexdigest()
            digests.setdefault(name, []).append(digest)
        del batch
        t0 = time.process_time()
    return {
        "sample_cpu": cpu,
        "copy_cpu": copy_cpu,
        "digests": {n: hashlib.sha256("".join(d).encode()).hexdigest() for n, d in sorted(digests.items())},
    }


def _child(checkout: str, model: str, url: str, seed: int, scale: float) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    out = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "run",
            model,
            url,
            "--seed",
            str(seed),
            "--scale",
            str(scale),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd="/tmp",
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _compare(args: argparse.Namespace) -> int:
    seeds = [int(s) for s in args.seeds.split(",")]
    scales = [float(s) for s in args.scales.split(",")]
    differ = 0
    for case in args.case:
        model, url = case.split("=", 1)
        for scale in scales:
            for seed in seeds:
                runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
                repeat = args.repeat if (seed, scale) == (seeds[0], scales[0]) else 1
                for _ in range(repeat):
                    for which in ("old", "new"):
                        runs[which].append(_child(getattr(args, which), model, url, seed, scale))
                old, new = runs["old"], runs["new"]
                digests = {json.dumps(r["digests"], sort_keys=True) for r in old + new}
                same = len(digests) == 1
                differ += not same
                if not same:
                    a, b = old[0]["digests"], new[0]["digests"]
                    bad = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
                    print(f"  tables that differ: {bad}")
                print(
                    f"{os.path.basename(model):32} scale {scale:<4} seed {seed}: "
                    f"sample cpu old {min(r['sample_cpu'] for r in old):7.2f} s "
                    f"new {min(r['sample_cpu'] for r in new):7.2f} s | copy text cpu old "
                    f"{min(r['copy_cpu'] for r in old):6.2f} s new {min(r['copy_cpu'] for r in new):6.2f} s "
                    f"| {len(old[0]['digests'])} tables {'SAME' if same else 'DIFFERENT'} "
                    f"(runs {len(old)}+{len(new)})",
                    flush=True,
                )
    print("all digests equal" if not differ else f"{differ} cases differ")
    return 1 if differ else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("url")
    f.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("model")
    r.add_argument("url")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--scale", type=float, default=1.0)
    c = sub.add_parser("compare")
    c.add_argument("--old", required=True)
    c.add_argument("--new", required=True)
    c.add_argument("--case", action="append", required=True, help="MODEL=URL")
    c.add_argument("--seeds", default="0,1")
    c.add_argument("--scales", default="1,0.3,2")
    c.add_argument("--repeat", type=int, default=3, help="runs of each checkout: first seed and scale")
    args = p.parse_args()
    if args.cmd == "fit":
        _fit(args.url, args.out)
    elif args.cmd == "run":
        print(json.dumps(_run(args.model, args.url, args.seed, args.scale)))
    else:
        return _compare(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
