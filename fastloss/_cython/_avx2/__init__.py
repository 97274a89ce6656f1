"""The Cython modules compiled a second time for CPUs with AVX2 and FMA (setup.py copies the
.pyx files here and builds them with -mavx2 -mfma and fastmath.h's vectorisable exp/log/log1p;
fastloss/_cython/__init__.py imports this variant when the CPU has both)."""
