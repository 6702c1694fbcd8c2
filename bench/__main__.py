"""Run every benchmark module (bench/*_bench.py); each writes bench/results/<name>.json.

`python -m bench` runs them all; `python -m bench letters` runs the ones whose name contains it.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    modules = sorted(p.stem for p in HERE.glob("*_bench.py"))
    if wanted:
        modules = [m for m in modules if any(w in m for w in wanted)]
    if not modules:
        print("no benchmark matches", wanted or "")
        return 1
    from app import hooks

    hooks.install()  # as every entry point does: the benchmarks open sessions without the app
    for name in modules:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
        print(f"== {name} done in {time.perf_counter() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
