"""fastloss.spark: exact reductions over Spark DataFrame columns, on one local[2] session.

Every value is compared with fastloss on the collected NumPy arrays (<= 1e-12 relative) and with
scikit-learn (the independent reference); log loss also with Spark's own evaluator. One session
per test process (module scope): its JVM start is most of this file's time.

Skipped without pyspark or Java, unless FASTLOSS_REQUIRE_SPARK=1 (CI's Spark job), which turns
the skip into a failure.
"""
import os
import shutil
import sys

import numpy as np
import pytest


def _unavailable(reason):
    if os.environ.get("FASTLOSS_REQUIRE_SPARK") == "1":
        pytest.fail(f"FASTLOSS_REQUIRE_SPARK=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    import pyspark  # noqa: F401
except ImportError:
    _unavailable("pyspark is not installed: pip install 'fastloss[spark]'")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    _unavailable("Spark needs Java (17+): no `java` on PATH and no JAVA_HOME")

from pyspark.ml.evaluation import MulticlassClassificationEvaluator  # noqa: E402
from pyspark.ml.functions import array_to_vector  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from sklearn.metrics import log_loss as sk_log_loss  # noqa: E402

import fastloss  # noqa: E402
import fastloss.spark as fs  # noqa: E402
from fastloss.losses import CATALOGUE, Huber  # noqa: E402

pytestmark = [
    # one pytest-xdist worker runs them all (addopts: --dist loadgroup): one JVM per suite run
    pytest.mark.xdist_group("spark"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

RTOL = 1e-12
N = 6_000
BATCH = 1_000  # Arrow batch rows: several batches per partition
SIZES_FOUR = [0, N // 3, N // 3, N // 3]  # data()["four"]: its partitions' rows

CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": str(BATCH),
    "spark.sql.adaptive.enabled": "false",  # keep the partitions as made (an empty one included)
    "spark.driver.memory": "1g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # the JVM's start is mostly JIT work: C1 only and the serial GC halve it on 2 cores (20 -> 10 s)
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    # the Python workers run this interpreter and import this fastloss, from any folder
    "spark.pyspark.python": sys.executable,
    "spark.executorEnv.PYTHONPATH": os.path.dirname(os.path.dirname(fastloss.__file__)),
}


def _rel(a, b):
    return abs(float(a) - float(b)) / max(abs(float(b)), 1e-300)


@pytest.fixture(scope="module")
def spark():
    builder = SparkSession.builder.master("local[2]").appName("fastloss-tests")
    for key, value in CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _collected(df):
    """``df`` cached, and its rows as collected: the order the row numbers of messages count."""
    df = df.cache()
    got = df.drop("pv").toPandas()
    return df, {c: np.stack(got[c].to_numpy()) if c in ("p", "z") else got[c].to_numpy() for c in got}


@pytest.fixture(scope="module")
def data(spark):
    import pandas as pd

    rng = np.random.default_rng(11)
    p = rng.dirichlet([1.0, 2.0, 3.0], N)
    z = rng.normal(scale=3, size=(N, 3))
    y = rng.integers(0, 3, N)
    cols = {
        # g: 0, 2 and 6 hash to partitions 3, 2 and 1 of 4 (Spark's Murmur3): partition 0 is empty
        "idx": np.arange(N), "g": np.repeat([0, 2, 6], N // 3),
        "y": y, "ystr": np.array(["ant", "bee", "cat"])[y], "y2": (y > 0).astype(np.int64),
        "s": p[:, 1] + p[:, 2], "s32": (p[:, 1] + p[:, 2]).astype(np.float32),
        "p": list(p), "p0": p[:, 0], "p1": p[:, 1], "p2": p[:, 2],
        "z": list(z), "z0": z[:, 0], "z1": z[:, 1], "z2": z[:, 2],
        "w": rng.random(N), "t": rng.normal(size=N),
    }
    schema = ("idx long, g int, y long, ystr string, y2 long, s double, s32 float, p array<double>, "
              "p0 double, p1 double, p2 double, z array<double>, z0 double, z1 double, z2 double, "
              "w double, t double")
    df = spark.createDataFrame(pd.DataFrame(cols), schema).withColumn("pv", array_to_vector("p"))
    return {"three": _collected(df.repartition(3)), "four": _collected(df.repartition(4, "g"))}


def _partition_sizes(df, parts):
    counts = dict(df.groupBy(F.spark_partition_id()).count().collect())
    return [counts.get(i, 0) for i in range(parts)]


def test_log_loss_matches_in_memory_and_sklearn(data):
    df, a = data["three"]
    cases = [  # (label, prediction column(s), y, p, weighted, labels: None = inferred)
        ("y2", "s", a["y2"], a["s"], False, None),
        ("y2", "s32", a["y2"], a["s32"], True, [0, 1]),
        ("y", "p", a["y"], a["p"], False, None),
        ("y", "pv", a["y"], a["p"], True, [0, 1, 2]),
        ("y", ["p0", "p1", "p2"], a["y"], a["p"], True, [0, 1, 2]),
        ("ystr", "p", a["ystr"], a["p"], True, None),
    ]
    values = []
    for label, pred, y, p, weighted, labels in cases:
        w = a["w"] if weighted else None
        got = fs.log_loss(df, label, pred, weight_col="w" if weighted else None, labels=labels)
        values.append(got)
        assert isinstance(got, float)
        assert _rel(got, fastloss.log_loss(y, p, sample_weight=w)) < RTOL, (label, pred)
        # scikit-learn computes float32 scores in float32: ~1e-7 apart (see README, Numerics)
        assert _rel(got, sk_log_loss(y, p, sample_weight=w)) < (1e-6 if pred == "s32" else 1e-10)
    dotted = df.withColumnRenamed("s", "score.v1")  # a name Spark would parse as a field path
    assert fs.log_loss(dotted, "y2", "score.v1", labels=[0, 1]) == values[0]
    got = fs.log_loss(df, "y", "p", weight_col="w", normalize=False, labels=[0, 1, 2])
    assert _rel(got, fastloss.log_loss(a["y"], a["p"], sample_weight=a["w"], normalize=False)) < RTOL
    assert _rel(got, sk_log_loss(a["y"], a["p"], sample_weight=a["w"], normalize=False)) < 1e-10


def test_labels_given(data):
    """A class absent from y: labels= gives the column order; unknown labels name their rows."""
    df, a = data["three"]
    keep = a["y"] < 2
    sub = df.where("y < 2")
    got = fs.log_loss(sub, "y", "p", labels=[0, 1, 2])
    assert _rel(got, fastloss.log_loss(a["y"][keep], a["p"][keep], labels=[0, 1, 2])) < RTOL
    assert _rel(got, sk_log_loss(a["y"][keep], a["p"][keep], labels=[0, 1, 2])) < 1e-10
    got = fs.log_loss(df, "ystr", "pv", labels=["ant", "bee", "cat"])
    assert _rel(got, sk_log_loss(a["ystr"], a["p"])) < 1e-10
    with pytest.raises(ValueError, match="different number of classes"):
        fs.log_loss(sub, "y", "p")  # inferred {0, 1}: 2 classes for 3 columns
    with pytest.raises(ValueError, match="number of classes in labels is different"):
        fs.log_loss(df, "y", "p", labels=[0, 1])
    with pytest.raises(ValueError, match=r"values \[2\] not belonging to the passed labels "
                                         r"\[0, 1, 5\] \(rows \d+-\d+\)"):
        fs.log_loss(df, "y", "p", labels=[0, 1, 5])


def test_from_logits(data):
    df, a = data["three"]
    z, y, w = a["z"], a["y"], a["w"]
    got = fs.log_loss_from_logits(df, "y", "z", weight_col="w", labels=[0, 1, 2])
    assert _rel(got, fastloss.log_loss_from_logits(y, z, sample_weight=w)) < RTOL
    assert _rel(got, sk_log_loss(y, fastloss.softmax(z, axis=1), sample_weight=w)) < 1e-10
    got = fs.log_loss_from_logits(df, "y2", "z1", normalize=False)
    assert _rel(got, fastloss.log_loss_from_logits(a["y2"], a["z1"], normalize=False)) < RTOL
    assert _rel(got, sk_log_loss(a["y2"], fastloss.expit(a["z1"]), normalize=False)) < 1e-10


def test_catalogue_losses(data):
    df, a = data["three"]
    got = fs.loss("huber", df, "t", "z1", weight_col="w", delta=0.5)
    assert _rel(got, Huber(delta=0.5).loss(a["t"], a["z1"], sample_weight=a["w"])) < RTOL
    d = a["z1"] - a["t"]
    huber = np.where(np.abs(d) <= 0.5, d * d / 2, 0.5 * (np.abs(d) - 0.25))  # its definition
    assert _rel(got, np.average(huber, weights=a["w"])) < 1e-10
    ce = CATALOGUE["cross_entropy"]
    for pred in (["z0", "z1", "z2"], "z"):
        got = fs.loss("cross_entropy", df, "y", pred, reduction="sum")
        assert _rel(got, ce.loss(a["y"], a["z"], reduction="sum")) < RTOL
        assert _rel(got, sk_log_loss(a["y"], fastloss.softmax(a["z"], axis=1), normalize=False)) < 1e-10
    got = fs.loss("binary_cross_entropy", df, "y2", "z1", weight_col="w")
    y2 = a["y2"].astype(np.float64)
    assert _rel(got, CATALOGUE["binary_cross_entropy"].loss(y2, a["z1"], sample_weight=a["w"])) < RTOL
    assert _rel(got, sk_log_loss(y2, fastloss.expit(a["z1"]), sample_weight=a["w"])) < 1e-10
    assert _rel(fs.loss("log_loss", df, "y", "p"), sk_log_loss(a["y"], a["p"])) < 1e-10
    with pytest.raises(ValueError, match="unknown loss"):
        fs.loss("nope", df, "y", "p")
    with pytest.raises(ValueError, match="reduction"):
        fs.loss("huber", df, "t", "z1", reduction="none")


def test_partitions_with_an_empty_one(data):
    df, a = data["four"]
    assert _partition_sizes(df, 4) == SIZES_FOUR
    got = fs.log_loss(df, "ystr", "pv", weight_col="w")
    assert _rel(got, fastloss.log_loss(a["ystr"], a["p"], sample_weight=a["w"])) < RTOL
    three, _ = data["three"]
    assert _rel(got, fs.log_loss(three, "ystr", "pv", weight_col="w")) < RTOL  # other rows order
    with pytest.raises(ValueError, match="0 sample"):
        fs.log_loss(df.limit(0), "y", "p")


def _expected_rows(a, idx):
    """``(position, "(rows a-b)")``: where the row with this ``idx`` is in the whole frame, and the
    rows of the Arrow batch that holds it, counted over the whole frame."""
    pos = int(np.flatnonzero(a["idx"] == idx)[0])
    starts = np.concatenate([[0], np.cumsum(SIZES_FOUR)])
    part = int(np.searchsorted(starts, pos, side="right") - 1)
    first = starts[part] + (pos - starts[part]) // BATCH * BATCH
    last = min(first + BATCH, starts[part + 1]) - 1
    return pos, rf"\(rows {first}-{last}\)"


def test_errors_name_global_rows(data):
    df, a = data["four"]
    later, earlier = int(a["idx"][-10]), int(a["idx"][N // 2 + 17])
    pos, rows = _expected_rows(a, later)
    assert pos >= BATCH  # past the first partition's first batch: row numbers must be global
    bad = df.withColumn("p", F.when(F.col("idx") == later, F.array(F.lit(float("nan")), "p1", "p2"))
                        .otherwise(F.col("p")))
    with pytest.raises(ValueError, match=rf"^Input contains NaN {rows}\.$"):
        fs.log_loss(bad, "y", "p", labels=[0, 1, 2])
    # two bad rows: the first in row order is reported
    bad2 = bad.withColumn("s", F.when(F.col("idx").isin(later, earlier), 1.5).otherwise(F.col("s")))
    _, rows = min(_expected_rows(a, later), _expected_rows(a, earlier))
    with pytest.raises(ValueError, match=rf"^y_prob contains values greater than 1: 1.5 {rows}$"):
        fs.log_loss(bad2, "y2", "s", labels=[0, 1])
    nan_label = df.withColumn("yf", F.when(F.col("idx") == later, float("nan")).otherwise(F.col("y")))
    with pytest.raises(ValueError, match=rf"^y_true contains NaN {_expected_rows(a, later)[1]}$"):
        fs.log_loss(nan_label, "yf", "p")  # found by the label pass over the partitions
    nulls = df.withColumn("w", F.when(F.col("idx") == later, None).otherwise(F.col("w")))
    with pytest.raises(ValueError, match=r"column 'w' contains null values \(rows"):
        fs.log_loss(nulls, "y", "p", weight_col="w", labels=[0, 1, 2])
    with pytest.raises(ValueError, match="no column 'nope'"):
        fs.log_loss(df, "y", "nope")
    with pytest.raises(TypeError, match="must be numeric"):
        fs.log_loss(df, "y", "ystr")


def test_spark_evaluator(spark, data):
    """Spark's logLoss clips at eps = 1e-15, fastloss (as scikit-learn) at float64's 2.2e-16:
    equal where no probability is clipped, apart by exactly the clip where one is 0."""
    df, a = data["three"]
    df = df.withColumn("label", F.col("y").cast("double")).withColumn("prediction", F.lit(0.0))
    evaluator = MulticlassClassificationEvaluator(metricName="logLoss", labelCol="label",
                                                  probabilityCol="pv", predictionCol="prediction")
    assert _rel(fs.log_loss(df, "y", "pv", labels=[0, 1, 2]), evaluator.evaluate(df)) < RTOL
    weighted = evaluator.copy({evaluator.weightCol: "w"})
    assert _rel(fs.log_loss(df, "y", "pv", weight_col="w", labels=[0, 1, 2]),
                weighted.evaluate(df)) < RTOL
    # one row whose true class gets probability 0
    zero = df.withColumn("pv", F.when(F.col("idx") == 5, array_to_vector(F.array(
        F.when(F.col("y") == 0, 0.0).otherwise(0.5), F.when(F.col("y") == 1, 0.0).otherwise(0.5),
        F.when(F.col("y") == 2, 0.0).otherwise(0.5)))).otherwise(F.col("pv")))
    ours, theirs = fs.log_loss(zero, "y", "pv", labels=[0, 1, 2]), evaluator.evaluate(zero)
    clip = np.log(1e-15) - np.log(np.finfo(np.float64).eps)  # -log(eps) - -log(1e-15) = 1.505
    assert abs((ours - theirs) * N - clip) < 1e-8
