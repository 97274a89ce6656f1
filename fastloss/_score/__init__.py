"""The parts of ``fastloss score`` (the driver is fastloss/score.py), one job per module:

errors.py    ScoreError, the one-line error users read
readers.py   .npy and Parquet sources, read by rows into reused buffers
chunks.py    iter_chunks: consecutive chunks of several sources, with read-ahead, errors in row order
labels.py    classes of label chunks, user labels, codes of a chunk's labels
partials.py  Partials (mergeable sums) and ChunkScorer (one chunk -> partials; partials -> loss)
"""
