"""Mixed methods: interview themes joined with the registers' effects, per cluster.

One module per step, each a set of functions of DataFrames:

- :mod:`~evaluation.mixed.link`        interview cases -> clusters; mismatches and clusters
  without interviews reported, never dropped;
- :mod:`~evaluation.mixed.quantitize`  per cluster and theme: presence, frequency, share,
  coverage (one coder or the consensus of two);
- :mod:`~evaluation.mixed.effects`     each cluster's prescribing effect (ITS or staggered DiD)
  and attendance rate;
- :mod:`~evaluation.mixed.compare`     clusters with and without a theme compared (Mann-Whitney,
  Welch), theme frequency correlated with the effect, a typology by effect x engagement;
- :mod:`~evaluation.mixed.display`     joint displays (tables, escaped HTML, plots);
- :mod:`~evaluation.mixed.join`        :func:`mixed_methods`: all of it in one call, as
  notebooks/04_mixed_methods.ipynb uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public API, imported lazily so that `workbench mixed --help` does not pay for pandas and scipy.
_EXPORTS = {
    "compare_by_theme": "evaluation.mixed.compare",
    "correlate_frequency": "evaluation.mixed.compare",
    "typology": "evaluation.mixed.compare",
    "ClusterEffects": "evaluation.mixed.effects",
    "cluster_attendance": "evaluation.mixed.effects",
    "cluster_effects": "evaluation.mixed.effects",
    "MixedMethods": "evaluation.mixed.join",
    "interview_labels": "evaluation.mixed.join",
    "mixed_methods": "evaluation.mixed.join",
    "CaseLinks": "evaluation.mixed.link",
    "link_cases": "evaluation.mixed.link",
    "choose_segments": "evaluation.mixed.quantitize",
    "quantitize": "evaluation.mixed.quantitize",
    "quantitize_store": "evaluation.mixed.quantitize",
    "theme_matrix": "evaluation.mixed.quantitize",
}

__all__ = [
    "CaseLinks",
    "ClusterEffects",
    "MixedMethods",
    "choose_segments",
    "cluster_attendance",
    "cluster_effects",
    "compare_by_theme",
    "correlate_frequency",
    "interview_labels",
    "link_cases",
    "mixed_methods",
    "quantitize",
    "quantitize_store",
    "theme_matrix",
    "typology",
]

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.mixed.compare import compare_by_theme, correlate_frequency, typology
    from evaluation.mixed.effects import ClusterEffects, cluster_attendance, cluster_effects
    from evaluation.mixed.join import MixedMethods, interview_labels, mixed_methods
    from evaluation.mixed.link import CaseLinks, link_cases
    from evaluation.mixed.quantitize import (
        choose_segments,
        quantitize,
        quantitize_store,
        theme_matrix,
    )


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'evaluation.mixed' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
