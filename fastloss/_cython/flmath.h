/*
 * flmath.h -- which exp/log/log1p the Cython kernels call (fastloss).
 *
 * Each Cython module is compiled twice by setup.py (on x86-64):
 *   - the baseline build (any x86-64 CPU, SSE2): libm's exp/log/log1p. Measured there, the
 *     polynomials of fastmath.h, vectorised only 2-wide, run 1.0-2.8x slower than libm;
 *   - the AVX2 build (-mavx2 -mfma, FASTLOSS_VECMATH=1), imported by fastloss/_cython/__init__.py
 *     only on a CPU that has AVX2 and FMA: fastmath.h's branch-free fl_exp/fl_log/fl_log1p, which
 *     GCC vectorises 4-wide inside the loops (what Numba's _math does), <= 1 ulp like libm.
 */
#ifndef FASTLOSS_FLMATH_H
#define FASTLOSS_FLMATH_H
#include <math.h>
#if defined(FASTLOSS_VECMATH) && FASTLOSS_VECMATH
#include "fastmath.h"
#define FL_EXP fl_exp
#define FL_EXP_IN_RANGE fl_exp_in_range
#define FL_HAVE_EXP_IN_RANGE 1
#define FL_EXP_SUMMAND fl_exp_summand
#define FL_EXPF fl_expf
#define FL_EXPF_IN_RANGE fl_expf_in_range
#define FL_EXPM1 fl_expm1
#define FL_LOG fl_log
#define FL_LOG_NORMAL fl_log_normal
#define FL_LOG1P fl_log1p
#define FL_LOG1P_UNIT fl_log1p_unit
#define FL_MATH_NAME "fastmath.h (vectorised)"
#else
#define FL_EXP exp
#define FL_EXP_IN_RANGE exp
#define FL_HAVE_EXP_IN_RANGE 0 /* libm's exp has no cheaper form within the range */
#define FL_EXP_SUMMAND exp
#define FL_EXP_RANGE 708.0
#define FL_EXPF expf
#define FL_EXPF_IN_RANGE expf
#define FL_EXPF_RANGE 87.0f
#define FL_EXPM1 expm1
#define FL_LOG log
#define FL_LOG_NORMAL log
#define FL_LOG1P log1p
#define FL_LOG1P_UNIT log1p
#define FL_MATH_NAME "libm"
#endif
#endif
