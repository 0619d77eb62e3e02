#!/usr/bin/python3
"""Derives the polynomial and rational coefficients of the vectorisable exp and GELU in
model/pl-ops.c, and checks their f32 accuracy (Python 3, numpy, mpmath; takes ~15 s).

glibc's erff costs about 15 ns a call, which would make GELU a quarter of a ViT-B/16 forward
pass; these branch-free forms vectorise.

  exp(x):   x = k ln2 + r, |r| <= ln2/2;  exp(r) ~ degree-6 polynomial;  exp(x) = 2^k exp(r).
  GELU(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, computed through the normal tail
            h = erfc(a) / 2 = exp(-a^2) G(a) / 2, a = |x| / sqrt 2, G ~ erfc(a) exp(a^2) (degrees
            5/5 on [0, 9], a clamped to 9): GELU = x (1 - h) for x >= 0, x h below. A two-branch
            erf (a polynomial below 1, exp times a rational above) is ~1.4x slower, and 1 + erf
            cancels for negative x.

Coefficients are near-minimax for relative error (Lawson's iteratively reweighted least squares on
Chebyshev nodes). Run: /usr/bin/python3 tools/fit-gelu-exp-constants.py
"""
import math

import mpmath
import numpy as np

mpmath.mp.dps = 40
f32 = np.float32


def chebyshev_nodes(a, b, n):
    return a + (b - a) * (1 - np.cos(np.pi * (np.arange(n) + 0.5) / n)) / 2


def fit_polynomial(s, f, degree, iterations=200):
    weights = np.ones_like(s)
    basis = np.vstack([s ** i for i in range(degree + 1)]).T
    for _ in range(iterations):
        scale = np.sqrt(weights) / np.abs(f)
        coefs, *_ = np.linalg.lstsq(basis * scale[:, None], f * scale, rcond=None)
        error = (basis @ coefs - f) / f
        weights = weights * np.abs(error)
        weights /= weights.sum()
    return coefs, np.abs(error).max()


def fit_rational(s, f, p_degree, q_degree, iterations=200):
    weights = np.ones_like(s)
    q_previous = np.ones_like(s)
    p_basis = np.vstack([s ** i for i in range(p_degree + 1)]).T
    q_basis = np.vstack([s ** j for j in range(1, q_degree + 1)]).T
    for _ in range(iterations):
        a = np.hstack([p_basis, -(f[:, None] * q_basis)])
        scale = np.sqrt(weights) / np.abs(f * q_previous)
        coefs, *_ = np.linalg.lstsq(a * scale[:, None], f * scale, rcond=None)
        p = coefs[:p_degree + 1]
        q = np.concatenate([[1.0], coefs[p_degree + 1:]])
        q_previous = np.polyval(q[::-1], s)
        error = (np.polyval(p[::-1], s) / q_previous - f) / f
        weights = weights * np.abs(error)
        weights /= weights.sum()
    return p, q, np.abs(error).max()


def horner(coefs, v):
    acc = np.full_like(v, coefs[-1])
    for c in coefs[-2::-1]:
        acc = acc * v + c
    return acc


# exp(r) on [-ln2/2, ln2/2]
half_ln2 = math.log(2) / 2
r = chebyshev_nodes(-half_ln2, half_ln2, 2000)
exp_coefs, exp_fit = fit_polynomial(r, np.array([float(mpmath.exp(v)) for v in r]), 6)
EXP = [f32(c) for c in exp_coefs]

# erfc(a) exp(a^2) on [0, 9] as a rational function of a, for GELU
GELU_CLAMP = 9.0
x = chebyshev_nodes(0, GELU_CLAMP, 3000)
p, q, gelu_fit = fit_rational(x, np.array([float(mpmath.erfc(v) * mpmath.exp(v * v)) for v in x]), 5, 5, 300)
GELU_P = [f32(c) for c in p]
GELU_Q = [f32(c) for c in q]

LN2_HI = f32(0.693145751953125)      # 16 significant bits: k * LN2_HI is exact for |k| < 256
LN2_LO = f32(math.log(2) - 0.693145751953125)
LOG2E = f32(1 / math.log(2))
ROUND_MAGIC = f32(12582912.0)         # 1.5 * 2^23: adding and subtracting rounds to an integer


def exp_f32(v):
    v = np.minimum(np.maximum(v.astype(f32), f32(-87.0)), f32(88.0))
    k = (v * LOG2E + ROUND_MAGIC) - ROUND_MAGIC
    red = (v - k * LN2_HI) - k * LN2_LO
    scale = ((k.astype(np.int32) + 127) << 23).astype(np.int32).view(np.float32)
    return horner(EXP, red) * scale


def gelu_f32(v):
    v = v.astype(f32)
    a = np.minimum(np.abs(v) * f32(1 / math.sqrt(2)), f32(GELU_CLAMP))
    h = f32(0.5) * exp_f32(-(a * a)) * (horner(GELU_P, a) / horner(GELU_Q, a))
    return v * np.where(v >= 0, f32(1) - h, h)


def max_ulp(approx, exact):
    ulp = np.spacing(np.abs(exact).astype(f32)).astype(np.float64)
    return (np.abs(approx.astype(np.float64) - exact) / ulp).max()


def show(name, coefs):
    print(f"{name} = {{ " + ", ".join(f"{float(c):.9e}f" for c in coefs) + " }")


print(f"fit relative errors (double): exp {exp_fit:.2e}, gelu tail {gelu_fit:.2e}")
show("EXP_POLY", EXP)
show("GELU_P", GELU_P)
show("GELU_Q", GELU_Q)
print(f"LN2_LO = {float(LN2_LO):.9e}f, LOG2E = {float(LOG2E):.9e}f")

v = np.linspace(-87, 88, 1000001).astype(f32)
print("exp max ulp on [-87, 88]:", max_ulp(exp_f32(v), np.array([math.exp(float(s)) for s in v])))
v = np.concatenate([np.linspace(-12.5, 12.5, 250001), -np.logspace(-30, 1.09, 5000), np.logspace(-30, 1.09, 5000)]).astype(f32)
exact = np.array([0.5 * float(s) * float(mpmath.erfc(-float(s) / mpmath.sqrt(2))) for s in v])
approx = gelu_f32(v)
for lo, hi in ((0, 12.5), (-1, 0), (-2, -1), (-4, -2), (-12.5, -4)):
    sel = (v >= lo) & (v <= hi)
    print(f"gelu on [{lo}, {hi}]: max {max_ulp(approx[sel], exact[sel]):.1f} ulp")
print("(below 0 the error grows with x^2 / 2 times the rounding of x^2, as exp(-x^2 / 2) amplifies it;"
      " 1 + erf(x / sqrt 2) in f32 loses far more there)")
