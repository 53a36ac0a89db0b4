"""The ``tlcourse`` command. Each subcommand is one small function; ``tlcourse --help`` lists them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tlcourse.workspace import COURSE_NOTEBOOKS


def _doctor(args: argparse.Namespace) -> int:
    from tlcourse.doctor import run_doctor

    return 0 if run_doctor() else 1


def _pretrain(args: argparse.Namespace) -> int:
    from tlcourse import zoo

    net, report = zoo.pretrain(out=args.out, epochs=args.epochs, seed=args.seed)
    print(f"source ({report['recipe']['domain']}, {len(report['classes'])} classes): "
          f"val accuracy {report['val_acc']:.4f}, test accuracy {report['test_acc']:.4f}, "
          f"trained in {report['train_seconds']:.0f} s")
    print(f"saved {args.out or zoo.CHECKPOINT} (sha256 {report['sha256'][:16]}...)")
    return 0


def _release(args: argparse.Namespace) -> int:
    from tlcourse.grading.release import release

    for path in release(args.notebooks, args.out):
        print(f"released {path}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from tlcourse.grading.grade import grade
    from tlcourse.grading.limits import Limits

    from tlcourse.grading.cluster import ClusterUnavailable
    from tlcourse.grading.grade import IsolationUnavailable

    limits = Limits(cell_timeout=args.timeout, max_time=args.max_time, memory_mb=args.memory)
    try:
        grade(args.submissions, [args.source], args.out, args.feedback, args.jobs, limits, args.keep,
              weak_isolation=args.weak_isolation, dask=args.dask)
    except (IsolationUnavailable, ClusterUnavailable) as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def _workspace(args: argparse.Namespace) -> int:
    from tlcourse import workspace

    from tlcourse.i18n import language, tr

    folder = args.dir or workspace.find_workspace() or workspace.workspace_dir()
    source = args.source or (COURSE_NOTEBOOKS / "zh" if language() == "zh" else COURSE_NOTEBOOKS)
    try:
        done = workspace.sync(folder, source)
    except (FileNotFoundError, ValueError) as err:
        print(err.args[0], file=sys.stderr)
        return 1
    workspace.jupyter_config(folder)
    for line in done:
        print(line)
    lessons = len(workspace.lessons(source))
    print(tr("your workspace: {folder} ({lessons} lessons)" if done else
             "your workspace: {folder} ({lessons} lessons, up to date)", folder=folder, lessons=lessons))
    return 0


def _solution(args: argparse.Namespace) -> int:
    from tlcourse.solutions import solution

    try:
        print(solution(args.exercise, args.source))
    except (KeyError, PermissionError, FileNotFoundError) as err:
        print(err.args[0], file=sys.stderr)
        return 1
    return 0


def _progress(args: argparse.Namespace) -> int:
    from tlcourse.progress import report

    print(report(args.dir, args.source))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tlcourse", description="Tools of the transfer learning course.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("doctor", help="check that this machine is ready for the course")
    p.set_defaults(func=_doctor)

    p = sub.add_parser("pretrain", help="retrain the course checkpoint data/coursenet.pt from scratch")
    p.add_argument("--out", type=Path, default=None, help="where to save (default: the course checkpoint)")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--seed", type=int, default=None, help="override the recipe's seed")
    p.set_defaults(func=_pretrain)

    p = sub.add_parser("release", help="write student copies of the notebooks (no solutions, no hidden tests)")
    p.add_argument("notebooks", nargs="*", type=Path, default=[Path("notebooks")],
                   help="notebook files or folders (default: notebooks/)")
    p.add_argument("--out", type=Path, default=Path("release"), help="output folder (default: release/)")
    p.set_defaults(func=_release)

    from tlcourse.grading.limits import Limits

    d = Limits()
    p = sub.add_parser("grade", help="autograde submissions in sandboxed kernels; write a CSV and feedback",
                       description="SUBMISSIONS: notebook files (student = file name), folders of one student's "
                       "notebooks (student = folder name), or folders of those. See 'For instructors' in README.md.")
    p.add_argument("submissions", nargs="+", type=Path, help="submission files or folders")
    p.add_argument("--source", type=Path, default=Path("notebooks"),
                   help="the instructor notebooks, with solutions and hidden tests (default: notebooks/)")
    p.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write (default: grades.csv)")
    p.add_argument("--feedback", type=Path, default=None, help="folder for one feedback file per student "
                   "(default: feedback/ beside the CSV)")
    p.add_argument("--jobs", type=int, default=None, help="notebooks graded in parallel (default: CPU count)")
    p.add_argument("--timeout", type=float, default=d.cell_timeout, help=f"seconds per cell (default {d.cell_timeout:.0f})")
    p.add_argument("--max-time", type=float, default=d.max_time,
                   help=f"seconds per notebook, restarts included (default {d.max_time:.0f})")
    p.add_argument("--memory", type=int, default=d.memory_mb,
                   help=f"address-space limit of each kernel in MB (default {d.memory_mb}; torch alone maps ~3500)")
    p.add_argument("--preload", default="", help="ignored (kept so that older command lines still work)")
    p.add_argument("--keep", action="store_true", help="keep each kernel's log (for debugging the grader)")
    p.add_argument("--weak-isolation", action="store_true", help="grade even where no OS sandbox (bubblewrap) "
                   "works here, e.g. macOS: only for submissions you trust; the CSV records it")
    p.add_argument("--dask", metavar="ADDRESS", default=None, help="run the jobs on the workers of a Dask cluster "
                   "whose scheduler is at ADDRESS, e.g. tcp://HOST:8786 (pip install 'tlcourse[cluster]'; README: "
                   "'A big class')")
    p.set_defaults(func=_grade)

    course = {"type": Path, "default": COURSE_NOTEBOOKS, "help": "the course's notebooks (default: notebooks/)"}
    mine = {"type": Path, "default": None, "help": "the workspace (default: $TLCOURSE_WORKSPACE or workspace/)"}
    p = sub.add_parser("workspace", help="make or update your workspace: your own copies of the lessons "
                       "(new lessons added, a changed lesson put beside your copy, never over it)")
    p.add_argument("--dir", **mine)
    p.add_argument("--source", type=Path, default=None,
                   help="the course's notebooks (default: notebooks/, or notebooks/zh/ when TLCOURSE_LANG=zh)")
    p.set_defaults(func=_workspace)

    p = sub.add_parser("solution", help="print the instructor's solution of an exercise (after you tried)")
    p.add_argument("exercise", help="the id that check(...) uses, e.g. lesson04.freeze_up_to")
    p.add_argument("--source", **course)
    p.set_defaults(func=_solution)

    p = sub.add_parser("progress", help="which exercises pass in your workspace")
    p.add_argument("--dir", **mine)
    p.add_argument("--source", **course)
    p.set_defaults(func=_progress)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
