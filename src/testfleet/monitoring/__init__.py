"""What the recorded runs say about the suite: flaky scores, trends, regressions.

Pure: the history's records in, scores and figures out; no store, no clock of
its own.  Resource sampling during a run (psutil) will live here too.
"""
