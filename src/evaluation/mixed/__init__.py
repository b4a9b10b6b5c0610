"""Mixed methods: interview themes joined with the registers' effects, per cluster.

One module per step, each a set of functions of DataFrames:

- :mod:`~evaluation.mixed.link`          interview cases -> clusters; mismatches and clusters
  without interviews reported, never dropped;
- :mod:`~evaluation.mixed.quantitizing`  per cluster and theme: presence, frequency, share,
  coverage (one coder or the consensus of two);
- :mod:`~evaluation.mixed.effects`       each cluster's prescribing effect (ITS or staggered
  DiD) and attendance rate;
- :mod:`~evaluation.mixed.compare`       clusters with and without a theme compared
  (Mann-Whitney, Welch), theme frequency correlated with the effect, a typology by effect x
  engagement;
- :mod:`~evaluation.mixed.display`       joint displays and the join's tables in a report's
  words (tables, escaped HTML, plots);
- :mod:`~evaluation.mixed.join`          :func:`mixed_methods`: all of it in one call, as
  notebooks/04_mixed_methods.ipynb uses it.

Results are ``...Result`` objects with ``.to_frame()``, ``.summary()`` and ``.plot()``, as in
:mod:`evaluation.methods`; a missing column is always
:class:`evaluation.errors.MissingColumnsError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public API, imported lazily so that `workbench mixed --help` does not pay for pandas and scipy.
_EXPORTS = {
    "QuantitizeError": "evaluation.mixed.quantitizing",
    "choose_segments": "evaluation.mixed.quantitizing",
    "quantitize": "evaluation.mixed.quantitizing",
    "quantitize_store": "evaluation.mixed.quantitizing",
    "theme_matrix": "evaluation.mixed.quantitizing",
    "CompareError": "evaluation.mixed.compare",
    "compare_by_theme": "evaluation.mixed.compare",
    "correlate_frequency": "evaluation.mixed.compare",
    "typology": "evaluation.mixed.compare",
    "comparison_table": "evaluation.mixed.display",
    "correlation_table": "evaluation.mixed.display",
    "html_table": "evaluation.mixed.display",
    "joint_display": "evaluation.mixed.display",
    "pick_quotes": "evaluation.mixed.display",
    "side_by_side": "evaluation.mixed.display",
    "significant_relations": "evaluation.mixed.display",
    "theme_effect_plot": "evaluation.mixed.display",
    "theme_overview": "evaluation.mixed.display",
    "theme_share_plot": "evaluation.mixed.display",
    "typology_plot": "evaluation.mixed.display",
    "typology_table": "evaluation.mixed.display",
    "ClusterEffectsResult": "evaluation.mixed.effects",
    "EffectsError": "evaluation.mixed.effects",
    "cluster_attendance": "evaluation.mixed.effects",
    "cluster_effects": "evaluation.mixed.effects",
    "MixedMethodsResult": "evaluation.mixed.join",
    "interview_labels": "evaluation.mixed.join",
    "mixed_methods": "evaluation.mixed.join",
    "CaseLinksResult": "evaluation.mixed.link",
    "LinkError": "evaluation.mixed.link",
    "link_cases": "evaluation.mixed.link",
}

__all__ = [
    # link and quantitize
    "link_cases",
    "CaseLinksResult",
    "LinkError",
    "interview_labels",
    "choose_segments",
    "quantitize",
    "quantitize_store",
    "theme_matrix",
    "QuantitizeError",
    # effects
    "cluster_effects",
    "ClusterEffectsResult",
    "cluster_attendance",
    "EffectsError",
    # compare
    "compare_by_theme",
    "correlate_frequency",
    "typology",
    "CompareError",
    # display
    "pick_quotes",
    "joint_display",
    "side_by_side",
    "html_table",
    "theme_overview",
    "comparison_table",
    "correlation_table",
    "typology_table",
    "significant_relations",
    "theme_share_plot",
    "theme_effect_plot",
    "typology_plot",
    # all of it
    "mixed_methods",
    "MixedMethodsResult",
]

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.mixed.compare import (
        CompareError,
        compare_by_theme,
        correlate_frequency,
        typology,
    )
    from evaluation.mixed.display import (
        comparison_table,
        correlation_table,
        html_table,
        joint_display,
        pick_quotes,
        side_by_side,
        significant_relations,
        theme_effect_plot,
        theme_overview,
        theme_share_plot,
        typology_plot,
        typology_table,
    )
    from evaluation.mixed.effects import (
        ClusterEffectsResult,
        EffectsError,
        cluster_attendance,
        cluster_effects,
    )
    from evaluation.mixed.join import MixedMethodsResult, interview_labels, mixed_methods
    from evaluation.mixed.link import CaseLinksResult, LinkError, link_cases
    from evaluation.mixed.quantitizing import (
        QuantitizeError,
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
