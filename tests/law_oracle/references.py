"""Independent references for tests/test_law_oracle.py: closed forms, adaptive
quadrature of convolutions, series, the continuous Bromwich integral with
``M`` by Gauss-Legendre, and Monte Carlo draws of ``S``. Nothing here uses
normsafe_init."""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import integrate, optimize, special, stats

ERF2 = special.erf(math.sqrt(2.0))


def u_law1(x):
    """(cdf, sf) of U^2, U ~ U(0, 1)."""
    if x <= 0:
        return 0.0, 1.0
    if x >= 1:
        return 1.0, 0.0
    return math.sqrt(x), (1.0 - x) / (1.0 + math.sqrt(x))


def u_law2(x):
    """(cdf, sf) of U_1^2 + U_2^2 (docs 5.2), sf without cancellation."""
    if x <= 0:
        return 0.0, 1.0
    if x >= 2:
        return 1.0, 0.0
    if x <= 1:
        return math.pi * x / 4.0, 1.0 - math.pi * x / 4.0
    a = math.sqrt(x - 1.0)
    cdf = a + x / 2.0 * (math.asin(1.0 / math.sqrt(x))
                         - math.asin(a / math.sqrt(x)))
    sf = integrate.quad(lambda u: (u - a) * (u + a) / (1.0 + math.sqrt(x - u * u)),
                        a, 1.0, epsabs=0.0, epsrel=1e-13)[0]
    return cdf, sf


def pieces_quad(func, lo, hi, points, rel=1e-11):
    edges = [lo] + sorted(p for p in set(points) if lo < p < hi) + [hi]
    return sum(integrate.quad(func, a, b, epsabs=0.0, epsrel=rel, limit=200)[0]
               for a, b in zip(edges[:-1], edges[1:]) if b > a)


def u_conv(x, n, which):
    """F_n(x) = int_0^1 F_{n-1}(x - u^2) du, n = 3, 4, 5 (nested)."""
    idx = 0 if which == 'cdf' else 1
    if n == 2:
        return u_law2(x)[idx]
    if x <= 0:
        return 1.0 - idx if which == 'sf' else 0.0
    points = [math.sqrt(x - j) for j in range(n) if 0 < x - j < 1]
    return pieces_quad(lambda u: u_conv(x - u * u, n - 1, which)
                        if x - u * u > 0 else float(idx), 0.0, 1.0, points,
                        rel=1e-11 if n == 3 else 1e-9)


def u_ball(x, n):
    """P(S <= x) = (pi x / 4)^(n/2) / Gamma(n/2 + 1), 0 < x <= 1."""
    return math.exp(0.5 * n * math.log(math.pi * x / 4.0)
                    - math.lgamma(0.5 * n + 1))


def u_top(y, n, kmax=120):
    """P(S > n - y) = P(sum V_i < y), V = 1 - U^2, y <= 0.7, by direct
    convolution of the coefficients of (sum_k a_k k! t^k)^n."""
    coef = np.array([math.exp(math.lgamma(2 * k + 1) - math.lgamma(k + 1)
                              - k * math.log(4.0)) / 2.0
                     for k in range(kmax + 1)])
    series = np.zeros(kmax + 1)
    series[0] = 1.0
    for _ in range(n):
        series = np.convolve(series, coef)[:kmax + 1]
    k = np.arange(kmax + 1)
    logs = (np.log(series) + (n + k) * math.log(y)
            - np.array([math.lgamma(n + i + 1) for i in k]))
    return float(np.exp(logs).sum())


def tn_law1(y):
    """(cdf, sf) of Z^2, Z ~ N(0, 1) given |Z| <= 2."""
    if y <= 0:
        return 0.0, 1.0
    if y >= 4:
        return 1.0, 0.0
    r = math.sqrt(y / 2.0)
    return (special.erf(r) / ERF2,
            (special.erfc(r) - special.erfc(math.sqrt(2.0))) / ERF2)


def tn_conv(x, n, which):
    """n = 2, 3 by quadrature over one entry: 2 int_0^2 phi(u) F(x - u^2)."""
    idx = 0 if which == 'cdf' else 1
    if n == 1:
        return tn_law1(x)[idx]
    if x <= 0:
        return float(idx)
    points = [math.sqrt(x - 4 * j) for j in range(n) if 0 < x - 4 * j < 4]
    dens = 2.0 / (math.sqrt(2 * math.pi) * ERF2)
    return pieces_quad(lambda u: dens * math.exp(-u * u / 2) * (
        tn_conv(x - u * u, n - 1, which) if x - u * u > 0 else float(idx)),
        0.0, 2.0, points, rel=1e-11 if n == 2 else 1e-9)


def tn_chi2(x, n, p=1.0):
    """P(S <= x) for x <= 4: sum_j Binom(j) chi2_j.cdf(x) / erf(sqrt 2)^j."""
    j = np.arange(n + 1)
    pure = np.array([1.0] + [stats.chi2.cdf(x, k) / ERF2 ** k
                             for k in range(1, n + 1)])
    return float(np.dot(stats.binom.pmf(j, n, p), pure))


GL_X, GL_W = np.polynomial.legendre.leggauss(400)


def ref_log_m(z, lam, B):
    """log M(z), M(z) = E exp(z X^2), X with density ~ exp(-lam u^2) on
    [0, B], by 400-point Gauss-Legendre (|z| B^2 <= ~300)."""
    z = np.atleast_1d(np.asarray(z, dtype=complex))
    u = 0.5 * B * (GL_X + 1.0)
    w = 0.5 * B * GL_W * np.exp(-lam * u * u)
    shift = np.maximum(z.real, 0.0) * B * B
    return (np.log(np.exp(np.outer(z, u * u) - shift[:, None]).dot(w)
                   / w.sum()) + shift)


def ref_m(z, lam, B):
    return np.exp(ref_log_m(z, lam, B))


def ref_bromwich(x, n, p, upper, lam, B):
    """P(S > x) (upper) or P(S <= x): (1/pi) int_0^inf Re[Lambda_c(z)
    e^{-zx} / (+-z)] d omega + atom, at a numerically found saddlepoint."""
    log_atom = n * math.log1p(-p) if p < 1 else -np.inf

    def log_lc(z):
        log_psi = np.log(1 - p + p * ref_m(z, lam, B)) if p < 1 else \
            ref_log_m(z, lam, B)
        return n * log_psi + np.log1p(-np.exp(log_atom - n * log_psi))

    def slope(theta, h=1e-5):
        return (log_lc(theta + h) - log_lc(theta - h)).real[0] / (2 * h)
    theta = optimize.brentq(lambda t: slope(t) - 1.0 / t - x,
                            *((1e-4, 100.0) if upper else (-100.0, -1e-4)))
    norm = log_lc(theta).real[0]
    nodes, weights = np.polynomial.legendre.leggauss(20)
    total, lo, width, panels = 0.0, 0.0, 0.1, 25
    offsets = (width * np.arange(panels)[:, None]
               + 0.5 * width * (nodes[None, :] + 1.0)).ravel()
    while lo < 300.0 / B ** 2:
        omega = lo + offsets
        z = theta + 1j * omega
        vals = (np.exp(log_lc(z) - norm - 1j * omega * x) / z).real
        total += 0.5 * width * np.tile(weights, panels).dot(vals)
        if lo > 1 and np.abs(vals).max() < 1e-11 * abs(total):
            break
        lo += width * panels
    value = math.exp(norm - theta * x) * total / math.pi
    return value if upper else math.exp(log_atom) - value


def mc_s(entry, n, p, size, seed):
    """Seeded draws of S for ``entry`` 'uniform' or 'truncnormal'."""
    rng = np.random.RandomState(seed)
    out, left, chunk = [], size, max(1, 2000000 // n)
    while left > 0:
        rows = min(chunk, left)
        if entry == 'uniform':
            x = rng.uniform(0.0, 1.0, (rows, n))
        else:
            x = stats.truncnorm.rvs(-2, 2, size=(rows, n), random_state=rng)
        if p < 1:
            x = x * (rng.uniform(0.0, 1.0, (rows, n)) < p)
        out.append(np.einsum('ij,ij->i', x, x))
        left -= rows
    return np.concatenate(out)
