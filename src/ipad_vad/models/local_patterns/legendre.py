"""The Legendre state-space matrices of seed 003's State Machine Module (§3.3, eq. 3), derived.

Seed 003 takes A = A_Legendre(O, L) and B = B_Legendre(O, L) "according to [31]" (HiPPO): the state
c(t) in R^O holds the coefficients of the last L steps of the input on O Legendre polynomials, and
"c(t-1) encodes u(t-L..t-1) while c(t) encodes u(t-L+1..t)": a window that *slides* with length
theta = L - HiPPO's translated Legendre measure (LegT), not the scaled one (LegS, whose window grows
from 0 to t). Both are here; the SMM uses LegT.

Derivation (LegT, window [t - theta, t], x(s) = 2 (s - t) / theta + 1 in [-1, 1], orthonormal
coefficients c_n(t) = sqrt(2n+1) / theta * int u(s) P_n(x(s)) ds, so that u(s) ~ sum_n c_n
sqrt(2n+1) P_n(x(s)) on the window). Differentiating under the integral (Leibniz):

    dc_n/dt = sqrt(2n+1)/theta * [u(t) P_n(1) - u(t-theta) P_n(-1)] - 2/theta * sqrt(2n+1)/theta int u P_n'(x) ds,

with P_n(1) = 1, P_n(-1) = (-1)^n, P_n' = sum_k D_nk P_k (Legendre derivative coefficients) and
u(t - theta) ~ sum_k c_k sqrt(2k+1) (-1)^k (the reconstruction at the window's old end). Hence
dc/dt = A c + B u with

    A_nk = -sqrt(2n+1)/theta * [(-1)^(n+k) sqrt(2k+1) + 2 D_nk / sqrt(2k+1)],   B_n = sqrt(2n+1)/theta.

``legt`` computes exactly this from numpy's Legendre module (``legder`` for D, ``legval`` for the end
values); the known closed form it must equal (HiPPO, LegT) is

    A_nk = -sqrt(2n+1) sqrt(2k+1) / theta * (1 if n > k else (-1)^(n-k)),   B_n = sqrt(2n+1) / theta

(tests/test_local_patterns.py checks both against hand values for O = 2, 3). LegS (HiPPO's closed
form, for comparison): A_nk = -sqrt(2n+1) sqrt(2k+1) if n > k, -(n+1) if n = k, 0 if n < k; B_n = sqrt(2n+1).

Discretisation (one frame per step): bilinear (Tustin), A_d = (I - A/2)^-1 (I + A/2),
B_d = (I - A/2)^-1 B - stable for every step size and second-order accurate.

Motion components g_o (eq. 2, 6): the basis of the window, g_o(s) = sqrt(2o+1) P_o(2 s / L - 1) at
s = 1..L (s = L the newest step); s = L + dt extrapolates the polynomial dt steps past the window.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import legendre as npleg


def legt(order: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """(A (O, O), B (O,)) of the translated Legendre measure of window length `theta`, derived (module docstring)."""
    n = np.arange(order)
    D = np.zeros((order, order))
    for i in range(order):  # D[i, k]: coefficient of P_k in P_i'
        e = np.zeros(order)
        e[i] = 1.0
        d = npleg.legder(e)
        D[i, : len(d)] = d
    end_old = np.array([npleg.legval(-1.0, np.eye(order)[k]) for k in range(order)])  # P_k(-1)
    end_new = np.array([npleg.legval(1.0, np.eye(order)[k]) for k in range(order)])  # P_k(1)
    s = np.sqrt(2 * n + 1)
    A = -(s[:, None] / theta) * (np.outer(end_old, end_old * s) + 2 * D / s[None, :])
    B = s * end_new / theta
    return A, B


def legt_closed_form(order: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """HiPPO's closed form of LegT (orthonormal), to check ``legt``."""
    n = np.arange(order)
    sign = np.where(n[:, None] > n[None, :], 1.0, (-1.0) ** (n[:, None] - n[None, :]))
    s = np.sqrt(2 * n + 1)
    return -np.outer(s, s) * sign / theta, s / theta


def legs(order: int) -> tuple[np.ndarray, np.ndarray]:
    """HiPPO's scaled Legendre (LegS) closed form, for comparison (unused by the SMM)."""
    n = np.arange(order)
    s = np.sqrt(2 * n + 1)
    A = np.where(n[:, None] > n[None, :], np.outer(s, s), 0.0) + np.diag(n + 1.0)
    return -A, s


def bilinear(A: np.ndarray, B: np.ndarray, dt: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Tustin discretisation of dc/dt = A c + B u with step `dt`."""
    eye = np.eye(len(A))
    inv = np.linalg.inv(eye - dt / 2 * A)
    return inv @ (eye + dt / 2 * A), inv @ B * dt


def motion_components(order: int, length: int, positions) -> np.ndarray:
    """g_o(s) = sqrt(2o+1) P_o(2 s / L - 1) (O, len(positions)) at window positions s (1..L; > L: ahead)."""
    x = 2 * np.asarray(positions, np.float64) / length - 1
    return np.stack([np.sqrt(2 * o + 1) * npleg.legval(x, np.eye(order)[o]) for o in range(order)])
