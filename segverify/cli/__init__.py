"""Thin click CLI: each module wires one command group to the library; no logic lives here."""

import os

# segverify makes no BLAS calls; numpy's OpenBLAS would otherwise start a thread per core
# on import, and they spin on the second core while the capture reader needs it
# (~0.05 s of start-up and ~0.1 s of CPU per run). A user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
