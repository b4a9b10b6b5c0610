"""The methods wing: impact-evaluation estimators as functions of tidy DataFrames.

Public names notebooks and scripts rely on:
``its``, ``staggered_did`` (interrupted time series, staggered difference-in-differences),
``funnel``, ``spc`` (practice variation), ``attendance`` (meeting attendance, dose-response) and
``pool`` (random-effects pooling across regions).

Note: ``funnel``, ``spc``, ``attendance`` and ``pool`` are both submodules and the functions
bound here. ``from evaluation.methods.attendance import dose_response`` reaches the module; so that
``evaluation.methods.attendance.dose_response`` works too whichever object the name resolves to,
each of these functions also carries its module's public names as attributes.
"""

# interrupted time series and staggered difference-in-differences
from evaluation.methods.attendance import attendance  # noqa: E402
from evaluation.methods.did import (  # noqa: E402
    DiDInputError,
    StaggeredDiDResult,
    TWFEEventStudy,
    staggered_did,
    twfe_event_study,
)

# practice variation, attendance and pooling
from evaluation.methods.funnel import funnel  # noqa: E402
from evaluation.methods.interrupted_time_series import ITSResult, its  # noqa: E402
from evaluation.methods.pool import pool  # noqa: E402
from evaluation.methods.spc import spc  # noqa: E402


def _carry_module_names(function, module_name: str) -> None:
    import sys

    module = sys.modules[f"evaluation.methods.{module_name}"]
    for name in module.__all__:
        if name != function.__name__:
            setattr(function, name, getattr(module, name))


for _function, _module in (
    (funnel, "funnel"),
    (spc, "spc"),
    (attendance, "attendance"),
    (pool, "pool"),
):
    _carry_module_names(_function, _module)
del _function, _module
