"""``fastloss score``: the log loss (or a catalogue loss) of prediction files too big for memory.

    fastloss score --y-true labels.npy --y-pred proba.npy [--logits] [--sample-weight w.npy]
                   [--loss NAME] [--labels A B ...] [--chunk-rows N] [--json out.json]

Inputs are .npy or Parquet files, streamed in fixed chunks (see fastloss.score). Problems with the
inputs are reported as one line on stderr with exit status 1 (2 for bad command-line usage).
"""
import argparse
import json
import sys
import warnings

EXIT_DATA_ERROR = 1


def add_score_parser(subparsers):
    """Add the ``score`` subcommand to an argparse ``subparsers`` object; returns its parser."""
    p = subparsers.add_parser(
        "score", help="stream .npy/Parquet files through the loss kernels (out of core)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(func=run_score)
    return p


def _add_arguments(p):
    p.add_argument("--y-true", required=True, metavar="PATH", help="labels (.npy or .parquet)")
    p.add_argument("--y-pred", required=True, metavar="PATH",
                   help="probabilities, or logits with --logits: (n,) or (n, K) (.npy or .parquet)")
    p.add_argument("--logits", action="store_true", help="y-pred holds logits (raw scores)")
    p.add_argument("--sample-weight", metavar="PATH", help="per-row weights (.npy or .parquet)")
    p.add_argument("--loss", default="log_loss", metavar="NAME",
                   help="log_loss (default) or a name from fastloss.losses.CATALOGUE")
    p.add_argument("--labels", nargs="+", metavar="LABEL",
                   help="all class labels (skips the label pass over y-true)")
    p.add_argument("--sum", action="store_true", help="report the (weighted) sum, not the mean")
    p.add_argument("--chunk-rows", type=int, metavar="N",
                   help="rows per chunk (default: about 32 MiB of y-pred)")
    p.add_argument("--y-true-col", metavar="NAME", help="Parquet column of the labels")
    p.add_argument("--y-pred-col", metavar="NAME[,NAME...]",
                   help="Parquet column(s) of the scores: one, several (comma-separated), or a list column")
    p.add_argument("--weight-col", metavar="NAME", help="Parquet column of the weights")
    p.add_argument("--threads", type=int, metavar="N", help="kernel threads (fastloss.set_num_threads)")
    p.add_argument("--backend", choices=("numba", "cython", "numpy"), help="kernel backend")
    p.add_argument("--json", metavar="PATH", help="also write the result as JSON ('-' for stdout)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the loss")


def _progress_bar(total, disable):
    """A callable(rows_done) updating a tqdm bar on a TTY, or None."""
    if disable or not sys.stderr.isatty():
        return None, None
    try:
        from tqdm import tqdm
    except ImportError:
        return None, None
    bar = tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr, leave=False,
               dynamic_ncols=True, desc="scoring")
    state = {"done": 0}

    def update(done):
        bar.update(done - state["done"])
        state["done"] = done

    return update, bar


def _fail(msg):
    print(f"fastloss score: error: {' '.join(str(msg).split())}", file=sys.stderr)
    return EXIT_DATA_ERROR


def run_score(args):
    """Run ``fastloss score`` for parsed ``args``; returns the exit status (never raises for
    problems with the inputs). Warnings raised while scoring (from fastloss, NumPy or Numba)
    are printed as one line each after a successful run and dropped after a failed one, so a
    failure is always exactly one line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        return _run_score(args, caught)


def _run_score(args, caught):
    try:
        import fastloss
        from fastloss import score as engine

        if args.backend:
            fastloss.set_backend(args.backend)
        if args.threads is not None:
            fastloss.set_num_threads(args.threads)
        y_pred_cols = args.y_pred_col.split(",") if args.y_pred_col else None
        total = None
        update, bar = None, None
        if not args.no_progress and sys.stderr.isatty():
            try:
                total = engine.open_source(args.y_pred, "y_pred", y_pred_cols).n_rows
            except engine.ScoreError:
                total = None  # reported properly by score_files
            update, bar = _progress_bar(total, total is None)
        try:
            result = engine.score_files(
                args.y_true, args.y_pred, sample_weight=args.sample_weight, logits=args.logits,
                loss=args.loss, labels=args.labels, normalize=not args.sum,
                chunk_rows=args.chunk_rows, y_true_col=args.y_true_col, y_pred_cols=y_pred_cols,
                weight_col=args.weight_col, progress=update)
        finally:
            if bar is not None:
                bar.close()
        notes = [str(w.message) for w in caught] + list(result.warnings)
        for note in dict.fromkeys(notes):
            print(f"fastloss score: warning: {' '.join(note.split())}", file=sys.stderr)
        if args.quiet:
            print(repr(result.loss))
        else:
            kind = "sum" if args.sum else "mean"
            print(f"loss ({result.loss_name}, {kind}): {result.loss!r}")
            print(f"rows: {result.rows}")
            print(f"weight sum: {result.weight_sum!r}")
            if result.classes is not None:
                how = "inferred from y-true" if result.labels_inferred else "given"
                shown = result.classes if len(result.classes) <= 20 else result.classes[:20] + ["..."]
                print(f"labels ({how}): {shown}")
            print(f"time: {result.seconds:.3f} s ({result.rows_per_s:,.0f} rows/s, "
                  f"{result.chunks} chunks of {result.chunk_rows} rows)")
        if args.json:
            text = json.dumps(result.to_dict(), indent=2)
            if args.json == "-":
                print(text)
            else:
                with open(args.json, "w") as f:
                    f.write(text + "\n")
        return 0
    except KeyboardInterrupt:
        print("fastloss score: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, MemoryError) as exc:  # ScoreError is a ValueError
        return _fail(exc)
    except Exception as exc:  # never a traceback: one line naming the failure
        return _fail(f"{type(exc).__name__}: {exc}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastloss score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run_score(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
