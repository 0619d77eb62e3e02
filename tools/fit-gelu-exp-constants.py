#!/usr/bin/python3
"""Derives the polynomial and rational coefficients of the vectorisable expf and erff in
model/pl-ops.c, and checks their f32 accuracy (Python 3, numpy, mpmath).

glibc's erff costs about 15 ns a call, which would make GELU a quarter of a ViT-B/16 forward
pass; these branch-free forms vectorise and stay within about 2 ulp of the exact values.

  exp(x):  x = k ln2 + r, |r| <= ln2/2;  exp(r) ~ degree-6 polynomial;  exp(x) = 2^k exp(r).
  erf(x):  |x| <  1:  x + x * S(x^2)                     (S ~ erf(x)/x - 1, degree 6)
           |x| >= 1:  1 - exp(-x^2) * P(|x|) / Q(|x|)   (P/Q ~ erfc(x) exp(x^2), degrees 3/3)
           |x| clamped to 4, where erf(x) rounds to 1 in f32.

Coefficients are near-minimax for relative error (Lawson's iteratively reweighted least squares on
Chebyshev nodes). Run: /usr/bin/python3 tools/fit-gelu-exp-constants.py
"""
import math

import mpmath
import numpy as np

mpmath.mp.dps = 40
f32 = np.float32
ERF_SPLIT = 1.0
ERF_CLAMP = 4.0


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

# erf(x)/x - 1 on [0, 1] as a polynomial in t = x^2
x = chebyshev_nodes(0, ERF_SPLIT, 2000)
small_coefs, small_fit = fit_polynomial(x * x, np.array([float(mpmath.erf(v) / v) for v in x]), 6)
small_coefs[0] -= 1.0
SMALL = [f32(c) for c in small_coefs]

# erfc(x) exp(x^2) on [1, 4] as a rational function of x
x = chebyshev_nodes(ERF_SPLIT, ERF_CLAMP, 2000)
p, q, large_fit = fit_rational(x, np.array([float(mpmath.erfc(v) * mpmath.exp(v * v)) for v in x]), 3, 3)
LARGE_P = [f32(c) for c in p]
LARGE_Q = [f32(c) for c in q]

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


def erf_f32(v):
    v = v.astype(f32)
    a = np.minimum(np.abs(v), f32(ERF_CLAMP))
    t = a * a
    small = a + a * horner(SMALL, t)
    large = f32(1) - exp_f32(-t) * (horner(LARGE_P, a) / horner(LARGE_Q, a))
    return np.copysign(np.where(a < f32(ERF_SPLIT), small, large), v)


def max_ulp(approx, exact):
    ulp = np.spacing(np.abs(exact).astype(f32)).astype(np.float64)
    return (np.abs(approx.astype(np.float64) - exact) / ulp).max()


def show(name, coefs):
    print(f"{name} = {{ " + ", ".join(f"{float(c):.9e}f" for c in coefs) + " }")


print(f"fit relative errors (double): exp {exp_fit:.2e}, erf small {small_fit:.2e}, erfc large {large_fit:.2e}")
show("EXP_POLY", EXP)
show("ERF_SMALL", SMALL)
show("ERFC_P", LARGE_P)
show("ERFC_Q", LARGE_Q)
print(f"LN2_LO = {float(LN2_LO):.9e}f, LOG2E = {float(LOG2E):.9e}f")

v = np.linspace(-87, 88, 1000001).astype(f32)
print("exp max ulp on [-87, 88]:", max_ulp(exp_f32(v), np.array([math.exp(float(s)) for s in v])))
v = np.concatenate([np.linspace(-6, 6, 1200001), np.logspace(-38, 0.7, 20000)]).astype(f32)
print("erf max ulp on [-6, 6]:", max_ulp(erf_f32(v), np.array([math.erf(float(s)) for s in v])))
