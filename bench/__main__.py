"""Run every benchmark in turn: `python -m bench` (full sizes) or `python -m bench --quick`.

Each prints its figures and the machine; `--json FILE` also writes them all to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from bench import burst, fanout, interactive, peak, scale
from bench.harness import machine

SUITES = {
    "interactive": interactive,
    "fanout": fanout,
    "burst": burst,
    "scale": scale,
    "peak": peak,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, about a minute")
    parser.add_argument("--only", nargs="+", choices=list(SUITES), default=list(SUITES))
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    for name in args.only:
        module = SUITES[name]
        sub = argparse.ArgumentParser()
        module.add_arguments(sub, args.quick)
        sub_args = sub.parse_args([])
        sub_args.quick = args.quick
        print(f"\n######## {name}", flush=True)
        results[name] = asyncio.run(module.main_async(sub_args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
