"""fastloss.spark against Spark's own log loss, on the same cached DataFrame.

    python benchmarks/bench_spark.py                       # 2e6 rows x 4 classes, 5 rounds
    python benchmarks/bench_spark.py --rows 1e6 --rounds 3 --json out.json

Builds the data in Spark (no transfer from Python): label in {0..K-1} (double, as Spark ML
wants it), probabilities p (an array<double> column) and the same rows as an ML vector column
``probability``; caches it and counts it. Then, in interleaved rounds (each contender once per
round), times:

  fastloss-array          fastloss.spark.log_loss(df, "label", "p", labels=0..K-1)
  fastloss-array-infer    the same with the labels inferred (one more pass over the label column)
  fastloss-vector         fastloss.spark.log_loss(df, "label", "probability", labels=0..K-1)
  spark-evaluator         MulticlassClassificationEvaluator(metricName="logLoss").evaluate(df)
  arrow-floor             a mapInArrow pass over the same columns that only counts the rows: what
                          the Arrow route costs before any scoring (fastloss.spark's floor)

and prints the median time and rows/s of each, both values and their difference. The values
differ where a probability is clipped: Spark clips to [1e-15, 1 - 1e-15], fastloss (as
scikit-learn) to [eps, 1 - eps] with eps = 2.2e-16 for float64; ``--zeros F`` sets the true
class's probability of that fraction of rows to 0 to show it (default 0: equal to ~1e-15).
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np


def build(spark, rows, k, partitions, zeros, seed=0):
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    df = spark.range(0, rows, numPartitions=partitions)
    u = [F.rand(seed + j) + 1e-3 for j in range(k)]  # > 0: no probability is clipped
    total = u[0]
    for col in u[1:]:
        total = total + col
    df = df.select(F.floor(F.rand(seed + k) * k).cast("double").alias("label"),
                   F.array(*[c / total for c in u]).alias("p"))
    if zeros:
        # the true class gets probability 0 (the row no longer sums to one: fine for both)
        hit = F.rand(seed + k + 1) < zeros
        df = df.withColumn("p", F.when(hit, F.transform("p", lambda x, i: F.when(
            i == F.col("label").cast("int"), F.lit(0.0)).otherwise(x))).otherwise(F.col("p")))
    df = df.withColumn("probability", array_to_vector("p")).withColumn("prediction", F.lit(0.0))
    df = df.cache()
    df.count()
    return df


def _count_rows(batches):
    import pyarrow as pa

    yield pa.RecordBatch.from_pydict({"n": [sum(b.num_rows for b in batches)]})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=float, default=2e6)
    ap.add_argument("--k", type=int, default=4, help="classes")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--master", default="local[*]")
    ap.add_argument("--zeros", type=float, default=0.0,
                    help="fraction of rows whose true class has probability 0")
    ap.add_argument("--json", help="write the results as JSON")
    args = ap.parse_args()
    rows = int(args.rows)
    # with --zeros the rows no longer sum to one: fastloss warns (as scikit-learn), Spark does not
    warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.sql import SparkSession

    import fastloss
    import fastloss.spark as fs

    spark = (SparkSession.builder.master(args.master).appName("bench_spark")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g")
             .config("spark.sql.shuffle.partitions", str(args.partitions))
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    t0 = time.perf_counter()
    df = build(spark, rows, args.k, args.partitions, args.zeros)
    print(f"data: {rows:,} rows x {args.k} classes, {df.rdd.getNumPartitions()} partitions, cached in "
          f"{time.perf_counter() - t0:.1f} s ({spark.version}, fastloss {fastloss.__version__}, "
          f"{args.master}, {os.cpu_count()} cores)")
    labels = list(range(args.k))
    evaluator = MulticlassClassificationEvaluator(metricName="logLoss", labelCol="label",
                                                  probabilityCol="probability",
                                                  predictionCol="prediction")
    contenders = {
        "fastloss-array": lambda: fs.log_loss(df, "label", "p", labels=labels),
        "fastloss-array-infer": lambda: fs.log_loss(df, "label", "p"),
        "fastloss-vector": lambda: fs.log_loss(df, "label", "probability", labels=labels),
        "spark-evaluator": lambda: evaluator.evaluate(df),
        "arrow-floor": lambda: sum(r.n for r in df.select("label", "p")
                                   .mapInArrow(_count_rows, "n long").collect()),
    }
    for func in contenders.values():  # warm-up: Python workers, JIT, kernels
        func()
    times = {name: [] for name in contenders}
    values = {}
    for _ in range(args.rounds):
        for name, func in contenders.items():
            t = time.perf_counter()
            values[name] = func()
            times[name].append(time.perf_counter() - t)
    results = {}
    print(f"\n{'contender':24s} {'median s':>9s} {'rows/s':>14s}  value")
    for name in contenders:
        med = statistics.median(times[name])
        results[name] = {"median_s": med, "rows_per_s": rows / med, "value": values[name],
                         "times": times[name]}
        print(f"{name:24s} {med:9.3f} {rows / med:14,.0f}  {values[name]!r}")
    ours, theirs = values["fastloss-array"], values["spark-evaluator"]
    ratio = results["spark-evaluator"]["median_s"] / results["fastloss-array"]["median_s"]
    print(f"\nfastloss / evaluator speed: {ratio:.2f}x; value difference {ours - theirs:.3e} "
          f"(relative {(ours - theirs) / theirs:.2e})")
    clip = np.log(1e-15 / np.finfo(np.float64).eps)
    print("Spark's logLoss clips probabilities to [1e-15, 1 - 1e-15]; fastloss (as scikit-learn) to "
          "[eps, 1 - eps], eps = 2.2e-16: with no probability below 1e-15 they agree to rounding; "
          f"each row whose true class has p = 0 adds log(1e-15 / eps) / n = {clip:.4f} / n to the "
          "difference")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "k": args.k, "partitions": args.partitions,
                       "master": args.master, "zeros": args.zeros, "spark": spark.version,
                       "results": results}, f, indent=2)
    spark.stop()


if __name__ == "__main__":
    main()
