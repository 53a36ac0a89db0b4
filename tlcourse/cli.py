"""The ``tlcourse`` command. Each subcommand is one small function; ``tlcourse --help`` lists them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
