"""Command line: ``fastloss bench | info`` (and ``score`` when that module is present)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_info(args: argparse.Namespace) -> int:
    import fastloss

    fastloss.show_config()
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import os

    # Round-robin timing on few cores: an OpenMP pool that keeps spinning after a peer's call
    # (torch, sklearn's prange loops) would steal the cores from whoever runs next. Passive
    # waiting makes each contender pay only for its own work. Set before those libraries load.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    import fastloss
    from fastloss import bench

    if args.threads:
        fastloss.set_num_threads(args.threads)
    info = bench.machine()
    print(f"fastloss bench on {info['cpu']} ({info['cores']} cores), backend {info['backend']}, "
          f"{info['threads']} threads{' [quick]' if args.quick else ''}")
    print("ratios are peer time / fastloss time, medians of interleaved repeats in this run; floor = "
          "a parallel read of the input and write of the output (the memory traffic no kernel avoids)")
    results = bench.run(quick=args.quick, repeats=args.repeats, only=args.only)
    print()
    print(bench.markdown_table(results))
    if args.json:
        bench.save_json(results, args.json)
        print(f"\nwrote {args.json}")
    if args.plot:
        try:
            bench.plot(results, args.plot)
            print(f"wrote {args.plot}")
        except ImportError:
            print("matplotlib is not installed: no plot (pip install 'fastloss[bench]')", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="fastloss", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fastloss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_bench = sub.add_parser("bench", help="benchmark fastloss against NumPy/SciPy/scikit-learn/PyTorch")
    p_bench.add_argument("--quick", action="store_true", help="10x smaller inputs, fewer repeats")
    p_bench.add_argument("--json", metavar="PATH", help="write all timings as JSON")
    p_bench.add_argument("--plot", metavar="PATH", default="fastloss-bench.png",
                         help="write a PNG bar chart of the ratios (default: %(default)s)")
    p_bench.add_argument("--no-plot", dest="plot", action="store_const", const=None)
    p_bench.add_argument("--repeats", type=int, default=None, help="timed repeats per contender")
    p_bench.add_argument("--threads", type=int, default=None, help="threads for fastloss and sklearn")
    p_bench.add_argument("--only", metavar="TEXT", help="run only workloads whose name contains TEXT")
    p_bench.set_defaults(func=_cmd_bench)
    p_info = sub.add_parser("info", help="versions, backend, threading layer, threads, cache state")
    p_info.set_defaults(func=_cmd_info)
    try:
        from .cli_score import add_score_parser
    except ImportError:
        pass
    else:
        add_score_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
