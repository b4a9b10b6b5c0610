"""Event-study estimates with their covariance: what sensitivity and power analyses read.

Every event-study estimator in the workbench (Callaway & Sant'Anna with a universal base period,
Sun & Abraham, and raw estimates from elsewhere) hands :func:`honest_did` and
:func:`pretrends_power` the same thing: the estimates at each event time, their covariance, and
the reference event time that is zero by construction. :class:`EventStudyEstimates` is that
thing; :func:`event_study_estimates` gets it from a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.errors import InputError
from evaluation.methods.inference import normal_interval

__all__ = ["EventStudyEstimates", "event_study_estimates", "event_study_frame"]


@dataclass(frozen=True)
class EventStudyEstimates:
    """Event-study estimates, their covariance and the reference period they are measured from.

    Parameters
    ----------
    event_time : integer event times of the estimates (the reference excluded), ascending.
    estimate : the estimates, one per event time.
    covariance : their covariance matrix (square, in the same order).
    reference : the event time normalised to zero (-1: the period before treatment).
    outcome : what was estimated (a column name), for labels.
    estimator : who estimated it, for labels ("Callaway & Sant'Anna", ...).

    Examples
    --------
    >>> import numpy as np
    >>> es = EventStudyEstimates([-3, -2, 0, 1], [0.0, 0.1, 1.0, 1.2], np.eye(4) * 0.01)
    >>> es.n_pre, es.n_post
    (2, 2)
    >>> es.window(pre=1, post=1).event_time.tolist()
    [-2, 0]
    """

    event_time: np.ndarray
    estimate: np.ndarray
    covariance: np.ndarray
    reference: int = -1
    outcome: str = "outcome"
    estimator: str = "event study"

    def __post_init__(self) -> None:
        event_time = np.asarray(self.event_time)
        estimate = np.asarray(self.estimate, dtype=float)
        covariance = np.asarray(self.covariance, dtype=float)
        if event_time.ndim != 1 or estimate.shape != event_time.shape:
            raise InputError(
                f"event_time and estimate must be vectors of the same length, got shapes "
                f"{event_time.shape} and {estimate.shape}"
            )
        if covariance.shape != (event_time.size, event_time.size):
            raise InputError(
                f"covariance must be {event_time.size} x {event_time.size} (one row and column per "
                f"estimate), got {covariance.shape}"
            )
        if not np.all(np.isfinite(estimate)) or not np.all(np.isfinite(covariance)):
            raise InputError("estimates and covariance must be finite (no NaN or infinity)")
        if not np.allclose(covariance, covariance.T, rtol=1e-8, atol=1e-14):
            raise InputError("covariance must be symmetric")
        if not np.all(np.equal(np.mod(event_time, 1), 0)):
            raise InputError(f"event times must be whole numbers, got {event_time.tolist()}")
        event_time = event_time.astype(int)
        if np.any(np.diff(event_time) <= 0):
            raise InputError(f"event times must be ascending and distinct: {event_time.tolist()}")
        if self.reference in event_time:
            raise InputError(
                f"the reference event time {self.reference} is zero by construction and must "
                "not be among the estimates; drop it"
            )
        object.__setattr__(self, "event_time", event_time)
        object.__setattr__(self, "estimate", estimate)
        object.__setattr__(self, "covariance", covariance)

    @property
    def pre(self) -> np.ndarray:
        """Mask of the estimates before the reference period."""
        return self.event_time < self.reference

    @property
    def n_pre(self) -> int:
        return int(self.pre.sum())

    @property
    def n_post(self) -> int:
        return int((self.event_time > self.reference).sum())

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    def window(self, pre: int | None = None, post: int | None = None) -> EventStudyEstimates:
        """The ``pre`` estimates nearest before the reference and the first ``post`` after it.

        Sensitivity analyses need consecutive event times on each side of the reference; this
        keeps the block next to it (all of it with None) and refuses gaps.
        """
        before = np.flatnonzero(self.pre)[::-1]  # nearest first
        after = np.flatnonzero(self.event_time > self.reference)
        for name, count, available in (("pre", pre, before.size), ("post", post, after.size)):
            if count is not None and (not isinstance(count, (int, np.integer)) or count < 0):
                raise InputError(f"{name} must be a non-negative whole number, got {count!r}")
            if count is not None and count > available:
                raise InputError(
                    f"asked for {count} {name}-treatment event times but the event study has "
                    f"{available}; use at most {available}"
                )
        keep = np.sort(np.r_[before[:pre], after[:post]]).astype(int)
        out = EventStudyEstimates(
            self.event_time[keep],
            self.estimate[keep],
            self.covariance[np.ix_(keep, keep)],
            self.reference,
            self.outcome,
            self.estimator,
        )
        expected = np.r_[
            np.arange(self.reference - out.n_pre, self.reference),
            np.arange(self.reference + 1, self.reference + 1 + out.n_post),
        ]
        if not np.array_equal(out.event_time, expected):
            raise InputError(
                f"event times {out.event_time.tolist()} are not consecutive around the reference "
                f"{self.reference}; a sensitivity analysis needs every period (expected "
                f"{expected.tolist()})"
            )
        return out

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame: event_time, att, se, ci_low, ci_high (the reference row at zero)."""
        return event_study_frame(
            np.r_[self.event_time, self.reference],
            np.r_[self.estimate, 0.0],
            np.r_[self.se, np.nan],
            level,
        )


def event_study_frame(
    event_time: Sequence[int] | np.ndarray,
    att: Sequence[float] | np.ndarray,
    se: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> pd.DataFrame:
    """The workbench's event-study table: event_time, att, se, ci_low, ci_high, p_value.

    Pointwise normal intervals :math:`\\hat a \\pm z_{1-(1-level)/2}\\,se`, sorted by event time.
    A reference row (se missing) keeps its zero estimate and gets no interval or p-value.

    Examples
    --------
    >>> event_study_frame([0, -1], [2.0, 0.0], [1.0, float("nan")]).round(2)
       event_time  att   se  ci_low  ci_high  p_value
    0          -1  0.0  NaN     NaN      NaN      NaN
    1           0  2.0  1.0    0.04     3.96     0.05
    """
    frame = pd.DataFrame(
        {
            "event_time": np.asarray(event_time, dtype=int),
            "att": np.asarray(att, dtype=float),
            "se": np.asarray(se, dtype=float),
        }
    )
    frame["ci_low"], frame["ci_high"], frame["p_value"] = normal_interval(
        frame["att"], frame["se"], level
    )
    return frame.sort_values("event_time", kind="stable").reset_index(drop=True)


def event_study_estimates(result) -> EventStudyEstimates:
    """The event-study estimates and covariance of a result, ready for a sensitivity analysis.

    Accepts an :class:`EventStudyEstimates` (returned as is), a ``StaggeredDiDResult`` estimated
    with ``base_period="universal"`` (its dynamic aggregation and influence-function covariance),
    or any result with an ``event_study_estimates()`` method (Sun & Abraham).
    """
    if isinstance(result, EventStudyEstimates):
        return result
    if hasattr(result, "event_study_estimates"):
        return result.event_study_estimates()
    if hasattr(result, "event_study_covariance") and hasattr(result, "aggregate"):
        if getattr(result, "base_period", "varying") != "universal":
            raise InputError(
                "this staggered DiD was estimated with base_period='varying': its pre-treatment "
                "effects are period-on-period changes, not deviations from the period before "
                "treatment. Re-estimate with staggered_did(..., base_period='universal') for a "
                "sensitivity or pre-trend power analysis."
            )
        covariance = result.event_study_covariance()
        dynamic = result.aggregate("dynamic")
        keep = (dynamic["event_time"] != -1).to_numpy()
        event_time = dynamic["event_time"].to_numpy()[keep]
        return EventStudyEstimates(
            event_time,
            dynamic["att"].to_numpy()[keep],
            covariance.loc[event_time, event_time].to_numpy(),
            reference=-1,
            outcome=result.outcome,
            estimator="Callaway & Sant'Anna",
        )
    raise InputError(
        f"cannot read event-study estimates from a {type(result).__name__}; pass a "
        "staggered_did(..., base_period='universal') or sun_abraham(...) result, or an "
        "EventStudyEstimates"
    )
