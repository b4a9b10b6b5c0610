"""Sensitivity of an event study to violations of parallel trends (Rambachan & Roth 2023).

A passed pre-trend test does not prove parallel trends. Rambachan & Roth ask instead: how large
may the post-treatment violation of parallel trends be, relative to what the pre-treatment
estimates show, before the conclusion changes? Two ways to bound it:

* **relative magnitudes**, :math:`\\Delta^{RM}(\\bar M)`: no post-treatment change in the trend
  difference between consecutive periods exceeds :math:`\\bar M` times the largest such change
  before treatment (:math:`\\bar M = 1`: no worse than the worst pre-treatment period);
* **smoothness**, :math:`\\Delta^{SD}(M)`: the slope of the trend difference changes by at most
  :math:`M` per period, so post-treatment violations stay within :math:`M` of a linear
  extrapolation of the pre-trend (:math:`M = 0`: exactly linear).

For each bound :func:`honest_did` returns a confidence set for the target (by default the average
of the post-treatment effects) that is valid whatever the violation within the bound, and
:func:`breakdown_value` the largest bound at which the effect stays significant.

How it is computed, and how it is pinned
----------------------------------------
As R ``HonestDiD`` 0.2.8 (MIT; ``createSensitivityResults_relativeMagnitudes`` with its default
conditional-least-favourable hybrid "C-LF", and ``createSensitivityResults`` with its default
fixed-length confidence interval "FLCI"), on numpy/scipy:

* relative magnitudes: the moment-inequality test of Andrews, Roth & Pakes (ARP 2023) with the
  least-favourable first stage (size kappa = alpha / 10), inverted over a grid of target values
  and taken over the union of the polyhedra :math:`\\Delta^{RM}_{s,\\pm}` (Lemma 2.2). The test's
  linear program (:math:`\\min \\eta` s.t. :math:`y - X\\delta \\le \\eta\\,\\sigma`) has, for
  these polyhedra, a dual feasible set with only ``n_post + 2`` vertices, written down here in
  closed form; so its value, the conditioning bounds ``vlo``/``vup`` and the least-favourable
  critical value are matrix products over the whole grid, not one LP per grid point and
  simulation draw (R solves ~ 10,000 LPs per value of Mbar). The grid's outermost accepted
  points are then refined by bisection, so the bounds are not limited to the grid's spacing
  (``refine=False`` reproduces R's grid answer);
* smoothness: the optimal FLCI of Armstrong & Kolesar as set up in R ``findOptimalFLCI``: pre-period
  weights that minimise the half-length :math:`h\\,cv_\\alpha(M\\,b(h)/h)` along the frontier of
  worst-case bias :math:`b(h)` against standard deviation :math:`h` (each point a small convex
  program solved with SLSQP), with the folded-normal quantile computed exactly (R simulates it
  from 10^6 draws).

tests/fixtures/honest_did pins both to R's full-precision results for its README example (the
Medicaid expansion event study): relative-magnitude bounds to R's grid points, FLCI bounds within
R's own simulation error of the folded-normal quantile (a few 1e-5).

Why not diff-diff's implementation (measured): docs/decisions/0012-did-robustness-engines.md.

References
----------
Rambachan, A., & Roth, J. (2023). A More Credible Approach to Parallel Trends. Review of Economic
Studies, 90(5), 2555-2591. doi:10.1093/restud/rdad018
Andrews, I., Roth, J., & Pakes, A. (2023). Inference for Linear Conditional Moment Inequalities.
Review of Economic Studies, 90(6), 2763-2791.
Armstrong, T. B., & Kolesar, M. (2018). Optimal inference in a class of regression models.
Econometrica, 86(2), 655-683.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from evaluation.errors import InputError
from evaluation.methods.event_study import EventStudyEstimates, event_study_estimates

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["honest_did", "breakdown_value", "plot_sensitivity"]

_METHODS = ("relative_magnitude", "smoothness")


def _one_blas_thread(function):
    """Run with one BLAS thread: the analysis is thousands of products of matrices with a few
    dozen rows, for which thread hand-offs cost more than the arithmetic (20 ms against 0.3 ms
    per product on the shared 2-core machine under load)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper


_LF_DRAWS = 10_000  # draws for the least-favourable critical value (R: 1,000 LPs)


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """The event study cut to the window, with the target's weights over post periods."""

    beta: np.ndarray  # n_pre + n_post estimates, pre first (the reference excluded)
    sigma: np.ndarray
    n_pre: int
    n_post: int
    l_vec: np.ndarray  # weights of the target over the post-period estimates
    target: str  # words for it

    @property
    def estimate(self) -> float:
        return float(self.l_vec @ self.beta[self.n_pre :])

    @property
    def se(self) -> float:
        post = self.sigma[self.n_pre :, self.n_pre :]
        return float(np.sqrt(self.l_vec @ post @ self.l_vec))


def _problem(
    result,
    target: str | int | Sequence[float],
    pre_periods: int | None,
    post_periods: int | None,
    method: str,
) -> _Problem:
    if method not in _METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    estimates: EventStudyEstimates = event_study_estimates(result).window(pre_periods, post_periods)
    if estimates.n_pre < 1:
        raise InputError(
            "too few pre-treatment periods for a sensitivity analysis: the event study has no "
            f"estimate before the reference period {estimates.reference}. Relative-magnitude and "
            "smoothness bounds are measured against pre-treatment trends, so at least one is "
            "needed (cohorts treated later than the data's second period provide them)."
        )
    if estimates.n_post < 1:
        raise InputError("the event study has no post-treatment estimate to assess")
    rank = np.linalg.matrix_rank(estimates.covariance, tol=None)
    if rank < estimates.covariance.shape[0]:
        half = max(1, (rank - 1) // 2)
        raise InputError(
            f"the covariance of the {estimates.covariance.shape[0]} event-study estimates has rank "
            f"{rank}: too many event times for the number of independent units or clusters. Use "
            f"fewer, e.g. pre_periods={half}, post_periods={half}."
        )
    n_post = estimates.n_post
    post_times = estimates.event_time[estimates.n_pre :]
    if isinstance(target, str):
        if target != "average":
            raise InputError(f"target must be 'average', an event time or weights, got {target!r}")
        l_vec = np.full(n_post, 1.0 / n_post)
        words = f"average effect over event times {post_times[0]} to {post_times[-1]}"
    elif np.ndim(target) == 0:
        if int(target) not in post_times:
            raise InputError(
                f"target event time {target!r} is not a post-treatment event time of the window "
                f"({post_times.tolist()})"
            )
        l_vec = (post_times == int(target)).astype(float)
        words = f"effect at event time {int(target)}"
    else:
        l_vec = np.asarray(target, dtype=float)
        if l_vec.shape != (n_post,):
            raise InputError(
                f"target weights must have one entry per post-treatment event time ({n_post}), "
                f"got {l_vec.shape[0] if l_vec.ndim else 0}"
            )
        words = "weighted post-treatment effect"
    return _Problem(estimates.estimate, estimates.covariance, estimates.n_pre, n_post, l_vec, words)


# --------------------------------------------------------------------------------------------
# relative magnitudes: the ARP conditional least-favourable hybrid test, inverted
# --------------------------------------------------------------------------------------------


@dataclass
class _RMPieces:
    """The polyhedra Delta^RM_{s,sign}(Mbar), one per s and sign, stacked on the first axis:
    their post-period moments and the vertices of their LPs' dual feasible sets."""

    y: np.ndarray  # P x m: moments A beta at theta = 0
    a: np.ndarray  # P x m: direction of theta (moments are y - a * theta)
    vertices: np.ndarray  # P x k x m
    var_vertices: np.ndarray  # P x k: gamma' Sigma_y gamma
    dual_slack: np.ndarray  # P x k x k: D[g, v] = 1 - v' Sigma_y g / (g' Sigma_y g)
    lf_cv: np.ndarray  # P: least-favourable critical values


def _rm_rows(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """The post-period rows of R HonestDiD's ``.create_A_RM`` (reference column dropped)."""
    width = n_pre + n_post + 1
    first_diff = np.zeros((n_post, width))
    for t in range(n_post):
        first_diff[t, n_pre + t] = -1.0
        first_diff[t, n_pre + t + 1] = 1.0
    biggest = np.zeros(width)  # the pre-period difference s that bounds them (s = 0: the last)
    biggest[n_pre + s - 1] = -1.0
    biggest[n_pre + s] = 1.0
    if not positive:
        biggest = -biggest
    rows = np.vstack([first_diff - mbar * biggest, -first_diff - mbar * biggest])
    return np.delete(rows, n_pre, axis=1)


def _null_draws(p: _Problem, seed: int) -> np.ndarray:
    """Draws of the event-study estimates' noise, N(0, Sigma), shared by every polyhedron."""
    eigval, eigvec = np.linalg.eigh(p.sigma)
    root = eigvec * np.sqrt(np.clip(eigval, 0.0, None))
    rng = np.random.default_rng(seed)
    return rng.standard_normal((_LF_DRAWS, p.sigma.shape[0])) @ root.T


def _rm_pieces(
    p: _Problem, mbar: float, alpha: float, seed: int, draws: np.ndarray | None = None
) -> _RMPieces:
    draws = _null_draws(p, seed) if draws is None else draws
    n = p.n_post
    rows = np.stack(
        [
            _rm_rows(p.n_pre, n, mbar, s, positive)
            for s in range(-(p.n_pre - 1), 1)
            for positive in (True, False)
        ]
    )  # P x m x d
    y = rows @ p.beta
    sigma_y = rows @ p.sigma @ rows.transpose(0, 2, 1)
    sd = np.sqrt(np.clip(np.diagonal(sigma_y, axis1=1, axis2=2), 0.0, None))  # P x m
    # theta = l' tau_post: any g with l'g = 1 gives the direction (the nuisance absorbs the rest)
    g = p.l_vec / (p.l_vec @ p.l_vec)
    a = rows[:, :, p.n_pre :] @ g
    # Dual feasible set {lambda >= 0, sd'lambda = 1, X'lambda = 0}: X'lambda = 0 forces
    # lambda_plus - lambda_minus = kappa * c with P'c = l (P: first differences of the post
    # estimates), so its vertices are the kappa > 0 and kappa < 0 ends and one pair per period.
    first_diff = np.eye(n) - np.eye(n, k=-1)
    c = np.linalg.solve(first_diff.T, p.l_vec)
    c_pos, c_neg = np.clip(c, 0, None), np.clip(-c, 0, None)
    pairs = np.hstack([np.eye(n), np.eye(n)])
    candidates = np.vstack([np.r_[c_pos, c_neg], np.r_[c_neg, c_pos], pairs])  # k x m
    vertices = candidates[None, :, :] / (sd @ candidates.T)[:, :, None]  # P x k x m
    cross = vertices @ sigma_y @ vertices.transpose(0, 2, 1)
    var_vertices = np.diagonal(cross, axis1=1, axis2=2).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        dual_slack = 1.0 - cross / var_vertices[:, :, None]
    # Least-favourable critical value: the 1 - kappa quantile of the LP value under the null
    # with all moments binding, eta(xi) = max_v v'xi for xi = rows @ noise ~ N(0, Sigma_y).
    kappa = alpha / 10
    loadings = rows.transpose(0, 2, 1) @ vertices.transpose(0, 2, 1)  # P x d x k
    n_pieces, width, k = loadings.shape
    flat = loadings.transpose(1, 0, 2).reshape(width, n_pieces * k)
    simulated = (draws @ flat).reshape(len(draws), n_pieces, k).max(axis=2)  # N x P
    lf_cv = np.quantile(simulated, 1 - kappa, axis=0)
    return _RMPieces(y, a, vertices, var_vertices, dual_slack, lf_cv)


def _rm_accepts(pieces: _RMPieces, theta: np.ndarray, alpha: float) -> np.ndarray:
    """ARP conditional test with least-favourable hybrid: P x grid, True where not rejected."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    moments = pieces.y[:, None, :] - theta[None, :, None] * pieces.a[:, None, :]  # P x G x m
    values = moments @ pieces.vertices.transpose(0, 2, 1)  # P x G x k: v'y
    best = values.argmax(axis=2)  # P x G
    eta = np.take_along_axis(values, best[:, :, None], axis=2)[:, :, 0]
    var_b = np.take_along_axis(pieces.var_vertices, best, axis=1)
    slack = pieces.dual_slack[np.arange(best.shape[0])[:, None], best]  # P x G x k
    # Conditioning on the optimal vertex: it stays optimal for y = s + c*z while
    # z (1 - v'c) >= v's for every other vertex v (ARP, appendix D).
    numer = values - (1.0 - slack) * eta[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numer / slack
    tol = 1e-12
    lower = np.where(slack > tol, ratio, -np.inf).max(axis=2)
    upper = np.where(slack < -tol, ratio, np.inf).min(axis=2)
    kappa = alpha / 10
    size = (alpha - kappa) / (1 - kappa)
    lf_cv = pieces.lf_cv[:, None]
    accept = np.ones(eta.shape, dtype=bool)
    degenerate = var_b <= np.finfo(float).eps
    accept[degenerate] = eta[degenerate] <= 0
    ok = ~degenerate
    sd_b = np.sqrt(np.where(ok, var_b, 1.0))
    stat = eta / sd_b
    z_low = lower / sd_b
    z_high = np.minimum(upper, lf_cv) / sd_b
    first_stage = eta > lf_cv
    inside = (z_low <= stat) & (stat <= z_high)
    test = ok & ~first_stage & inside
    if test.any():
        crit = np.maximum(0.0, _truncated_normal_quantile(1 - size, z_low[test], z_high[test]))
        accept[test] = stat[test] <= crit
    accept[ok & first_stage] = False
    accept[ok & ~first_stage & ~inside] = True
    return accept


def _truncated_normal_quantile(p: float, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Quantile p of N(0,1) truncated to [low, high], accurate in the tails (as TruncatedNormal).

    In log space on the side of zero the interval lies: :math:`\\Phi(q) = (1-p)\\Phi(l) +
    p\\,\\Phi(u)` below zero, the same with survival functions above it.
    """
    low, high = np.broadcast_arrays(np.asarray(low, float), np.asarray(high, float))
    out = np.empty(low.shape)
    upper_side = low >= 0
    lower = ~upper_side
    with np.errstate(divide="ignore"):
        log_mass = np.logaddexp(
            np.log1p(-p) + special.log_ndtr(low[lower]), np.log(p) + special.log_ndtr(high[lower])
        )
        out[lower] = special.ndtri_exp(log_mass)
        log_tail = np.logaddexp(
            np.log1p(-p) + special.log_ndtr(-low[upper_side]),
            np.log(p) + special.log_ndtr(-high[upper_side]),
        )
        out[upper_side] = -special.ndtri_exp(log_tail)
    return np.clip(out, low, high)


def _union_accepts(pieces: _RMPieces, theta: np.ndarray, alpha: float) -> np.ndarray:
    """True where any polyhedron's test accepts (the confidence set is their union)."""
    return _rm_accepts(pieces, theta, alpha).any(axis=0)


def _rm_interval(
    p: _Problem,
    mbar: float,
    alpha: float,
    grid_points: int,
    grid_bounds: tuple[float, float] | None,
    refine: bool,
    seed: int,
    draws: np.ndarray | None = None,
) -> tuple[float, float]:
    pieces = _rm_pieces(p, mbar, alpha, seed, draws)
    if grid_bounds is None:
        # R HonestDiD's grid (CRAN 0.2.x): the identified set widened by 20 standard errors
        id_low, id_high = _rm_identified_set(p, mbar)
        low, high = id_low - 20 * p.se, id_high + 20 * p.se
    else:
        low, high = map(float, grid_bounds)
    for _ in range(6):
        grid = np.linspace(low, high, grid_points)
        accepted = grid[_union_accepts(pieces, grid, alpha)]
        if accepted.size == 0:
            return np.nan, np.nan
        open_low, open_high = accepted[0] == grid[0], accepted[-1] == grid[-1]
        if grid_bounds is not None or not (open_low or open_high):
            break
        width = high - low  # the set reaches the grid's edge: widen and look again
        low, high = low - width * open_low, high + width * open_high
    ci_low, ci_high = float(accepted[0]), float(accepted[-1])
    if not refine:
        return ci_low, ci_high
    step = grid[1] - grid[0]

    def edge(inside: float, outside: float) -> float:
        # three rounds of 64-point sub-grids between the last rejected and first accepted point:
        # the edge to 1/262,144 of a grid step (vectorised, unlike a bisection)
        for _ in range(3):
            sub = np.linspace(inside, outside, 65)
            ok = _union_accepts(pieces, sub, alpha)
            last = int(np.flatnonzero(ok).max()) if ok[0] else 0
            inside, outside = sub[last], sub[min(last + 1, 64)]
        return float(inside)

    if ci_low > grid[0]:
        ci_low = edge(ci_low, ci_low - step)
    else:
        ci_low = -np.inf
    if ci_high < grid[-1]:
        ci_high = edge(ci_high, ci_high + step)
    else:
        ci_high = np.inf
    return ci_low, ci_high


def _rm_identified_set(p: _Problem, mbar: float) -> tuple[float, float]:
    """Identified set of the target under Delta^RM(Mbar) at the estimated pre-trends."""
    pre_path = np.r_[p.beta[: p.n_pre], 0.0]  # ..., delta_{-1}, delta_0 = 0 (the reference)
    largest = np.max(np.abs(np.diff(pre_path)))
    # l'delta_post = sum_j (sum_{t >= j} l_t) * (delta_j - delta_{j-1}), each |.| <= Mbar * largest
    reach = mbar * largest * np.abs(np.cumsum(p.l_vec[::-1])[::-1]).sum()
    return p.estimate - reach, p.estimate + reach


# --------------------------------------------------------------------------------------------
# smoothness: the optimal fixed-length confidence interval
# --------------------------------------------------------------------------------------------


def _folded_normal_quantile(q: float, mean: float) -> float:
    """Quantile q of |N(mean, 1)|: c with Phi(c - mean) - Phi(-c - mean) = q."""
    mean = abs(mean)

    def gap(c: float) -> float:
        return special.ndtr(c - mean) - special.ndtr(-c - mean) - q

    high = mean + special.ndtri(0.5 + q / 2) + 10
    return optimize.brentq(gap, 0.0, high, xtol=1e-15, rtol=1e-15)


@dataclass
class _FLCISetup:
    """Pieces of R findOptimalFLCI: the estimator l_pre'b_pre + l'b_post, l_pre = D w."""

    to_l: np.ndarray  # n_pre x n_pre: l_pre = to_l @ w
    quad: np.ndarray  # var(w) = w'Q w + q'w + r
    lin: np.ndarray
    const: float
    bias_const: float  # worst-case bias / M = bias_const + sum |cumsum(w)|
    weight_sum: float  # sum(w) = sum_t t l_t


def _flci_setup(p: _Problem) -> _FLCISetup:
    n, l_vec = p.n_pre, p.l_vec
    to_l = np.eye(n) - np.eye(n, k=-1)
    sigma_pre = p.sigma[:n, :n]
    sigma_cross = p.sigma[:n, n:]
    sigma_post = p.sigma[n:, n:]
    quad = to_l.T @ sigma_pre @ to_l
    lin = 2 * to_l.T @ sigma_cross @ l_vec
    const = float(l_vec @ sigma_post @ l_vec)
    steps = np.arange(1, p.n_post + 1)
    weight_sum = float(steps @ l_vec)
    tail = sum(abs(np.arange(1, k + 1) @ l_vec[p.n_post - k :]) for k in range(1, p.n_post + 1))
    return _FLCISetup(to_l, quad, lin, const, float(tail - weight_sum), weight_sum)


def _variance(setup: _FLCISetup, w: np.ndarray) -> float:
    return float(w @ setup.quad @ w + setup.lin @ w + setup.const)


def _bias(setup: _FLCISetup, w: np.ndarray) -> float:
    return float(setup.bias_const + np.abs(np.cumsum(w)).sum())


def _frontier(setup: _FLCISetup, n_pre: int) -> list[tuple[float, np.ndarray]]:
    """The bias-variance frontier of the pre-period weights, exactly, as a piecewise-linear path.

    R finds, for each standard deviation h, the weights of least worst-case bias (a convex
    program per h). In cumulative-weight space :math:`W = \\mathrm{cumsum}(w)` (last entry fixed
    at :math:`S = \\sum_t t\\,l_t`) the bias is :math:`C + |S| + \\sum_{i<n}|W_i|` and the
    variance a quadratic :math:`\\tfrac12 W'PW + p'W + r`, so the frontier is the lasso path of
    :math:`\\min \\tfrac12 W'PW + p'W + t\\,\\lVert W\\rVert_1` from :math:`t = \\max|p|`
    (least bias, W = 0) down to t = 0 (least variance): piecewise linear in t, followed here knot
    by knot (homotopy). Returns the knots (t, W) from least bias to least variance.
    """
    n = n_pre
    if n == 1:
        return [(0.0, np.zeros(0))]
    diff = np.eye(n) - np.eye(n, k=-1)  # w = diff @ W
    gram = diff.T @ setup.quad @ diff
    lin = diff.T @ setup.lin
    free = np.eye(n)[:, : n - 1]
    last = np.eye(n)[:, n - 1] * setup.weight_sum
    big_p = 2 * free.T @ gram @ free
    small_p = 2 * free.T @ gram @ last + free.T @ lin
    t = float(np.max(np.abs(small_p)))
    w_free = np.zeros(n - 1)
    knots = [(t, w_free.copy())]
    active = np.zeros(n - 1, dtype=bool)
    signs = np.zeros(n - 1)
    while t > 1e-14 * max(1.0, knots[0][0]):
        corr = big_p @ w_free + small_p
        entering = ~active & np.isclose(np.abs(corr), t, rtol=1e-10, atol=1e-300)
        active |= entering
        signs[entering] = -np.sign(corr[entering])
        idx = np.flatnonzero(active)
        direction = np.zeros(n - 1)
        # W_A(t) = -P_AA^{-1} (p_A + t s_A): as t falls by dt, W_A moves by +P_AA^{-1} s_A dt
        direction[idx] = np.linalg.solve(big_p[np.ix_(idx, idx)], signs[idx])
        slope = big_p @ direction  # corr changes by slope * dt
        steps = [t]
        with np.errstate(divide="ignore", invalid="ignore"):
            leave = -w_free[idx] / direction[idx]
            steps += list(leave[leave > 1e-15 * t])
            rest = np.flatnonzero(~active)
            for j in rest:
                for bound in (t - corr[j], t + corr[j]):
                    denominator = 1 + slope[j] if bound == t - corr[j] else 1 - slope[j]
                    if denominator > 1e-15:
                        step = bound / denominator
                        if step > 1e-15 * t:
                            steps.append(step)
        step = min(steps)
        w_free = w_free + step * direction
        t = t - step
        dropped = active & (np.abs(w_free) < 1e-13 * max(1.0, np.abs(w_free).max()))
        dropped &= ~entering | (step > 0)
        w_free[dropped] = 0.0
        active &= ~dropped
        signs[~active] = 0.0
        knots.append((max(t, 0.0), w_free.copy()))
    return knots


def _flci(p: _Problem, m: float, alpha: float, knots=None) -> tuple[float, float, np.ndarray]:
    """Optimal FLCI under Delta^SD(m): (centre, half-length, pre-period weights l_pre).

    Minimises :math:`h\\,cv_\\alpha(M\\,b/h)` along the bias-variance frontier (R
    ``findOptimalFLCI``), with :math:`cv_\\alpha(t)` the :math:`1-\\alpha` quantile of
    :math:`|N(t,1)|`.
    """
    setup = _flci_setup(p)
    n = p.n_pre
    if knots is None:
        knots = _frontier(setup, n)
    q = 1 - alpha

    def weights(cumulative_free: np.ndarray) -> np.ndarray:
        cumulative = np.r_[cumulative_free, setup.weight_sum]
        return np.diff(np.r_[0.0, cumulative])

    def half_length(cumulative_free: np.ndarray) -> float:
        w = weights(cumulative_free)
        h = np.sqrt(max(_variance(setup, w), 1e-300))
        return h * _folded_normal_quantile(q, m * _bias(setup, w) / h)

    values = [half_length(w) for _, w in knots]
    best = int(np.argmin(values))
    best_w, best_value = knots[best][1], values[best]
    # the half-length is unimodal along the frontier: search the segments beside the best knot
    for a, b in ((best - 1, best), (best, best + 1)):
        if a < 0 or b >= len(knots):
            continue
        w_a, w_b = knots[a][1], knots[b][1]
        fit = optimize.minimize_scalar(
            lambda u, w_a=w_a, w_b=w_b: half_length(w_a + u * (w_b - w_a)),
            bounds=(0.0, 1.0),
            method="bounded",
            options={"xatol": 1e-12},
        )
        if fit.fun < best_value:
            best_value, best_w = fit.fun, w_a + fit.x * (w_b - w_a)
    l_pre = setup.to_l @ weights(best_w)
    centre = float(l_pre @ p.beta[:n] + p.l_vec @ p.beta[n:])
    return centre, float(best_value), l_pre


def _sd_identified_set(p: _Problem, m: float) -> tuple[float, float]:
    """Identified set under Delta^SD(M) at the estimated pre-trends (empty: NaN)."""
    pre_path = np.r_[p.beta[: p.n_pre], 0.0]
    if p.n_pre >= 2 and np.max(np.abs(np.diff(pre_path, n=2))) > m + 1e-12:
        return np.nan, np.nan  # the estimated pre-trend itself bends more than M allows
    slope = -pre_path[-2]  # delta_0 - delta_{-1}
    steps = np.arange(1, p.n_post + 1)
    # delta_t = t*slope + sum_{j<=t} (t-j+1) e_j with |e_j| <= M
    reach_per_shock = np.array(
        [abs(((steps[j:] - j) * p.l_vec[j:]).sum()) for j in range(p.n_post)]
    )
    centre = p.estimate - slope * float(steps @ p.l_vec)
    reach = m * reach_per_shock.sum()
    return centre - reach, centre + reach


def _default_m(p: _Problem, method: str, alpha: float) -> np.ndarray:
    if method == "relative_magnitude":
        return np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    if p.n_pre == 1:
        upper = float(np.sqrt(p.sigma[0, 0]))
    else:
        # R DeltaSD_upperBound_Mpre: the largest pre-period second difference plus z * its SE
        pre_path_rows = np.zeros((p.n_pre - 1, p.n_pre))
        for r in range(p.n_pre - 1):
            pre_path_rows[r, r : r + 3] = [1.0, -2.0, 1.0][: p.n_pre - r]
        diffs = pre_path_rows @ p.beta[: p.n_pre]
        se = np.sqrt(np.diag(pre_path_rows @ p.sigma[: p.n_pre, : p.n_pre] @ pre_path_rows.T))
        upper = float(np.max(diffs + stats.norm.ppf(1 - alpha) * se))
    return np.linspace(0.0, max(upper, 0.0), 5)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


@_one_blas_thread
def honest_did(
    result,
    method: Literal["relative_magnitude", "smoothness"] = "relative_magnitude",
    m: Sequence[float] | float | None = None,
    level: float = 0.95,
    target: str | int | Sequence[float] = "average",
    pre_periods: int | None = None,
    post_periods: int | None = None,
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
    refine: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Confidence sets for an event-study effect robust to bounded violations of parallel trends.

    Parameters
    ----------
    result : a ``staggered_did(..., base_period="universal")`` or ``sun_abraham(...)`` result, or
        :class:`~evaluation.methods.event_study.EventStudyEstimates` (estimates and covariance from
        elsewhere). Event time -1 is the reference, zero by construction.
    method : "relative_magnitude" (:math:`\\Delta^{RM}(\\bar M)`, bounds ``m`` are :math:`\\bar M`)
        or "smoothness" (:math:`\\Delta^{SD}(M)`, bounds ``m`` are :math:`M` in outcome units per
        period squared).
    m : bounds to assess. Default: 0, 0.5, 1, 1.5, 2 for relative magnitudes; five values from 0
        to an upper confidence bound on the largest pre-period change in slope for smoothness.
    level : confidence level (0.95).
    target : "average" (mean of the post-treatment effects in the window, the default), one
        post-treatment event time (e.g. 0), or weights over the post-treatment event times.
    pre_periods, post_periods : how many event times before the reference (-2, -3, ...) and from
        0 on to use (all by default). With monthly data and few clusters keep them small enough
        for the covariance to be estimable (e.g. 6 and 6).
    grid_points, grid_bounds, refine : test inversion for relative magnitudes: the grid of target
        values tested (by default, as R, 1,000 points over the identified set widened by 20
        standard errors on each side, widened further if the set reaches its edge) and whether to
        refine its outermost accepted points (``refine=False`` gives R's grid answer).
    seed : seed of the draws for the least-favourable critical value (relative magnitudes).

    Returns
    -------
    DataFrame with one row per bound: ``m``, ``ci_low``, ``ci_high`` (the robust confidence set),
    ``id_low``, ``id_high`` (the identified set at the estimated pre-trends: NaN when the
    pre-trends already violate the bound) and ``method``. ``attrs`` hold ``original`` (estimate,
    se, ci_low, ci_high of the target under exact parallel trends), ``target`` (in words),
    ``level``, ``n_pre``, ``n_post``, ``outcome`` and ``estimator``.

    Formula
    -------
    :math:`\\theta = l'\\tau_{post}`, :math:`\\hat\\beta = \\tau + \\delta + \\varepsilon`,
    :math:`\\delta \\in \\Delta`. :math:`\\Delta^{RM}(\\bar M) = \\{\\delta: |\\delta_{t+1} -
    \\delta_t| \\le \\bar M \\max_{s<0} |\\delta_{s+1}-\\delta_s|,\\ t \\ge 0\\}`;
    :math:`\\Delta^{SD}(M) = \\{\\delta: |(\\delta_{t+1}-\\delta_t) - (\\delta_t - \\delta_{t-1})|
    \\le M\\}`.

    References
    ----------
    Rambachan & Roth (2023), Review of Economic Studies 90(5), 2555-2591; R package HonestDiD.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluation.methods.event_study import EventStudyEstimates
    >>> es = EventStudyEstimates([-3, -2, 0, 1], [0.01, -0.01, 0.30, 0.32], np.eye(4) * 0.01)
    >>> frame = honest_did(es, "relative_magnitude", m=[0, 1])
    >>> frame[["m", "ci_low", "ci_high"]].round(2)
         m  ci_low  ci_high
    0  0.0    0.17     0.45
    1  1.0   -0.09     0.71
    """
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    alpha = 1 - level
    p = _problem(result, target, pre_periods, post_periods, method)
    bounds = _default_m(p, method, alpha) if m is None else np.atleast_1d(np.asarray(m, float))
    if bounds.size == 0 or np.any(~np.isfinite(bounds)) or np.any(bounds < 0):
        raise InputError(f"m must be non-negative numbers, got {np.asarray(m).tolist()!r}")
    if not isinstance(grid_points, (int, np.integer)) or grid_points < 10:
        raise InputError(f"grid_points must be a whole number of at least 10, got {grid_points!r}")
    rows = []
    draws = _null_draws(p, seed) if method == "relative_magnitude" else None
    for bound in bounds:
        if method == "relative_magnitude":
            low, high = _rm_interval(p, bound, alpha, grid_points, grid_bounds, refine, seed, draws)
            id_low, id_high = _rm_identified_set(p, bound)
        else:
            centre, half, _ = _flci(p, bound, alpha)
            low, high = centre - half, centre + half
            id_low, id_high = _sd_identified_set(p, bound)
        rows.append(
            {
                "m": float(bound),
                "ci_low": low,
                "ci_high": high,
                "id_low": id_low,
                "id_high": id_high,
                "method": method,
            }
        )
    frame = pd.DataFrame(rows)
    z = stats.norm.ppf(1 - alpha / 2)
    estimates = event_study_estimates(result)
    frame.attrs = {
        "original": {
            "estimate": p.estimate,
            "se": p.se,
            "ci_low": p.estimate - z * p.se,
            "ci_high": p.estimate + z * p.se,
        },
        "target": p.target,
        "level": level,
        "n_pre": p.n_pre,
        "n_post": p.n_post,
        "outcome": estimates.outcome,
        "estimator": estimates.estimator,
    }
    return frame


@_one_blas_thread
def breakdown_value(
    result,
    method: Literal["relative_magnitude", "smoothness"] = "relative_magnitude",
    level: float = 0.95,
    target: str | int | Sequence[float] = "average",
    pre_periods: int | None = None,
    post_periods: int | None = None,
    tol: float = 1e-3,
    seed: int = 0,
) -> float:
    """The largest bound at which the robust confidence set still excludes zero.

    For relative magnitudes: the largest :math:`\\bar M` - "the effect stays significant as long
    as post-treatment violations of parallel trends are at most :math:`\\bar M` times the worst
    pre-treatment one". For smoothness: the largest :math:`M`. Found by bisection on the bound
    (to relative precision ``tol``) with the test of "no effect" (relative magnitudes) or the
    FLCI's end nearest zero (smoothness), which both widen as the bound grows.

    Returns
    -------
    float; ``nan`` when the effect is not significant even at bound 0, ``inf`` when it stays
    significant for every bound tried (up to 10^6).

    Examples
    --------
    >>> import numpy as np
    >>> from evaluation.methods.event_study import EventStudyEstimates
    >>> es = EventStudyEstimates([-3, -2, 0, 1], [0.01, -0.01, 0.30, 0.32], np.eye(4) * 0.01)
    >>> round(breakdown_value(es, "relative_magnitude"), 2)
    0.74
    """
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    alpha = 1 - level
    p = _problem(result, target, pre_periods, post_periods, method)

    if method == "relative_magnitude":
        draws = _null_draws(p, seed)

        def significant(bound: float) -> bool:
            pieces = _rm_pieces(p, bound, alpha, seed, draws)
            return not _union_accepts(pieces, np.array([0.0]), alpha)[0]

    else:
        knots = _frontier(_flci_setup(p), p.n_pre)  # the same for every M

        def significant(bound: float) -> bool:
            centre, half, _ = _flci(p, bound, alpha, knots)
            return centre - half > 0 or centre + half < 0

    if not significant(0.0):
        return float("nan")
    low, high = 0.0, 1.0
    while significant(high):
        low, high = high, high * 2
        if high > 1e6:
            return float("inf")
    while high - low > tol * max(high, 1e-12):
        mid = 0.5 * (low + high)
        if significant(mid):
            low = mid
        else:
            high = mid
    return low


def plot_sensitivity(frame: pd.DataFrame, ax: Axes | None = None, indicator: str | None = None):
    """The sensitivity plot: the original confidence interval, then the robust one at each bound.

    Intervals that exclude zero are drawn in the workbench's "after" colour, those that include it
    in grey; a dashed line marks zero ("no change"). ``frame`` is what :func:`honest_did` returns.
    """
    from evaluation.methods import _plotting as P

    if not {"m", "ci_low", "ci_high", "method"} <= set(frame.columns) or "original" not in (
        frame.attrs or {}
    ):
        raise InputError("plot_sensitivity needs the frame honest_did returns (with its attrs)")
    ax = P.new_axes(ax)
    method = frame["method"].iloc[0]
    original = frame.attrs["original"]
    ms = frame["m"].to_numpy()
    step = np.min(np.diff(np.unique(ms))) if np.unique(ms).size > 1 else 1.0
    x_original = ms.min() - step
    level = int(round(100 * frame.attrs.get("level", 0.95)))
    ax.errorbar(
        [x_original],
        [original["estimate"]],
        yerr=[
            [original["estimate"] - original["ci_low"]],
            [original["ci_high"] - original["estimate"]],
        ],
        fmt="o",
        color=P.BEFORE_COLOUR,
        capsize=3,
        label=f"Original {level}% CI (exact parallel trends)",
    )
    excludes = (frame["ci_low"] > 0) | (frame["ci_high"] < 0)
    for mask, colour, words in (
        (excludes, P.AFTER_COLOUR, f"Robust {level}% CI, excludes no change"),
        (~excludes, P.REFERENCE_COLOUR, f"Robust {level}% CI, includes no change"),
    ):
        if mask.any():
            sub = frame[mask]
            ax.vlines(
                sub["m"], sub["ci_low"], sub["ci_high"], color=colour, linewidth=2.5, label=words
            )
    P.zero_line(ax)
    ticks = np.r_[x_original, ms]
    ax.set_xticks(ticks, ["Original"] + [f"{v:g}" for v in ms])
    if method == "relative_magnitude":
        ax.set_xlabel(
            "M-bar: largest change in the trend difference allowed after the meeting,\n"
            "as a multiple of the largest one before it"
        )
    else:
        ax.set_xlabel("M: how far the trend difference may bend away from a straight line")
    ax.set_ylabel(P.effect_axis_label(frame.attrs.get("outcome", "outcome"), indicator))
    ax.set_title(f"Sensitivity of the {frame.attrs.get('target', 'effect')} to parallel trends")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax
