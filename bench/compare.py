#!/usr/bin/env python3
"""Sets the targets of two or more runs side by side (markdown), to show which hold in every run.

    python3 bench/compare.py bench/results/<first>/report.json bench/results/<second>/report.json

A target counts as holding when it is met in every run given; the last column says so. Targets
that name the run's own account count ("… with 152,486") are matched without it.
"""


def key(name: str) -> str:
    return re.sub(r" with [0-9,]+$", " with the first phases' accounts", name)
import json
import re
import sys
from pathlib import Path


def main() -> int:
    paths = [Path(arg) for arg in sys.argv[1:]]
    if len(paths) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [json.loads(path.read_text()) for path in paths]
    names: list[str] = []
    for run in runs:
        for target in run.get("targets", []):
            if key(target["target"]) not in names:
                names.append(key(target["target"]))
    header = "| target | " + " | ".join(f"run {i + 1} ({run['machine']['date']})" for i, run in enumerate(runs))
    lines = [header + " | in every run |", "|---|" + "---|" * len(runs) + "---|"]
    for name in names:
        cells, met = [], []
        for run in runs:
            target = next((t for t in run.get("targets", []) if key(t["target"]) == name), None)
            if target is None:
                cells.append("–")
                met.append(False)
                continue
            detail = target["ratio"] or target["measured"]
            cells.append(f"{detail} {'✓' if target['met'] else '✗'}")
            met.append(target["met"])
        verdict = "holds" if all(met) else ("**no**" if not any(met) else "**not in every run**")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {verdict} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
