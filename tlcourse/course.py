"""Run the course's notebooks headless with papermill and time them (``make course``).

    python -m tlcourse.course --out build                 # every notebook, timing table
    python -m tlcourse.course --only 03 -p sizes=[5,20]    # one notebook, other parameters
"""
from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def lesson_paths(only: list[str] | None = None) -> list[Path]:
    """The course's notebooks in order; ``only`` keeps those whose name starts with one of them."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
    return paths


def parse_param(text: str) -> tuple[str, object]:
    """``name=value``, the value read as a Python literal when it is one (else a string)."""
    name, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    try:
        return name, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return name, raw


def run(paths: list[Path], out: Path, parameters: dict, timeout: int = 600) -> list[tuple[str, float, str]]:
    """Execute each notebook into ``out``; return (name, seconds, status) rows."""
    import papermill as pm

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(path), str(out / path.name), parameters=parameters,
                                cwd=str(path.parent), kernel_name="python3", progress_bar=False,
                                execution_timeout=timeout)
            status = "ok"
        except Exception as err:  # report every notebook, then fail at the end
            status = f"FAILED: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
        rows.append((path.name, time.perf_counter() - start, status))
        print(f"{path.name:<45} {rows[-1][1]:7.1f} s  {status}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build"), help="folder for executed notebooks")
    parser.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 03")
    parser.add_argument("-p", "--param", action="append", type=parse_param, default=[],
                        help="papermill parameter name=value (repeatable)")
    args = parser.parse_args(argv)
    paths = lesson_paths(args.only)
    if not paths:
        print(f"no notebooks match {args.only} in {NOTEBOOKS}", file=sys.stderr)
        return 2
    rows = run(paths, args.out, dict(args.param))
    total = sum(seconds for _, seconds, _ in rows)
    print("\n| notebook | wall time (s) | status |\n|---|---:|---|")
    for name, seconds, status in rows:
        print(f"| {name} | {seconds:.1f} | {status} |")
    print(f"| **total** | {total:.1f} | {sum(s == 'ok' for *_, s in rows)}/{len(rows)} ok |")
    return 0 if all(status == "ok" for *_, status in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
