"""Qualitative coding of interviews: a free, scriptable replacement for the NVivo-and-Word routine.

Modules (each usable alone; the CLI is ``workbench qual``):

- :mod:`~evaluation.qualitative.store`      the SQLite coding store (documents, codebook,
  segments in code points, coders, memos, cases with attributes)
- :mod:`~evaluation.qualitative.codebook`   codebook.yml synced into the store
  (rename/merge/split)
- :mod:`~evaluation.qualitative.importers`  .txt .md .docx .odt .pdf .html with speaker turns
- :mod:`~evaluation.qualitative.pseudonyms` pseudonymisation through a reviewed mapping file
- :mod:`~evaluation.qualitative.coding`     spans, patterns, keyword lists, classifier suggestions
- :mod:`~evaluation.qualitative.queries`    retrieval, frequencies, co-occurrence, framework matrix
- :mod:`~evaluation.qualitative.agreement`  Cohen's kappa, Krippendorff's alpha, disagreements,
  consensus
- :mod:`~evaluation.qualitative.refi`       REFI-QDA .qdpx/.qdc import and export (NVivo, ATLAS.ti)
- :mod:`~evaluation.qualitative.exports`    codebook and quotes as .docx, .xlsx, Markdown, HTML
- :mod:`~evaluation.qualitative.figures`    plots for the interview-themes notebook
- :mod:`~evaluation.qualitative.summary`    one region's themes, co-occurrence, agreement and
  quotes
- :mod:`~evaluation.qualitative.cases`      one case per cluster, linked to the quantitative data
- :mod:`~evaluation.qualitative.demo`       the 25-interview demo project from the synthetic data
- :mod:`~evaluation.qualitative.taguette`   the Taguette client (push, pull, offline import)

The names below are the public API; they are imported on first use, so that ``workbench --help``
does not pay for pandas, lxml and the document readers.

>>> from evaluation.qualitative import Store
>>> Store.create(":memory:").summary()["documents"]
0
"""

from __future__ import annotations

import importlib

# The public API: each name and the module it lives in. Modules are imported on first use.
_PUBLIC = {
    "store": ["Store", "StoreError"],
    "codebook": [
        "CodeSpec",
        "CodebookError",
        "codebook_to_yaml",
        "merge_codes",
        "parse_codebook",
        "read_codebook",
        "rename_code",
        "split_code",
        "sync_codebook",
        "sync_codebook_file",
    ],
    "importers": ["Transcript", "TranscriptImportError", "import_transcripts", "read_transcript"],
    "pseudonyms": [
        "PseudonymError",
        "PseudonymMapping",
        "propose_mapping",
        "read_mapping",
        "write_mapping",
    ],
    "coding": [
        "Suggestions",
        "accept_suggestions",
        "code_pattern",
        "code_quote",
        "code_span",
        "suggest_codes",
    ],
    "queries": [
        "code_frequencies",
        "cooccurrence",
        "cooccurrence_matrix",
        "framework_matrix",
        "retrieve",
    ],
    "agreement": [
        "agreement_report",
        "agreement_table",
        "cohen_kappa_from_table",
        "consensus_segments",
        "disagreements",
        "krippendorff_alpha_from_table",
        "merge_consensus",
    ],
    "refi": ["RefiError", "export_qdc", "export_qdpx", "import_qdc", "import_qdpx"],
    "exports": [
        "codebook_table",
        "export_docx",
        "export_odt",
        "export_report",
        "export_xlsx",
        "quotes_table",
    ],
    "summary": [
        "RegionThemes",
        "agreement_summary",
        "kappa_reading",
        "quotes_markdown",
        "region_themes",
        "theme_table",
        "top_pairs",
    ],
    "figures": ["cooccurrence_heatmap", "theme_frequency_plot"],
    "cases": ["cluster_attributes", "interview_label", "interview_numbers", "link_cluster_cases"],
    "demo": ["DemoDataMissing", "DemoError", "build_demo", "open_store"],
}
_MODULE_OF = {
    name: f"evaluation.qualitative.{module}" for module, names in _PUBLIC.items() for name in names
}

__all__ = [
    "CodeSpec",
    "CodebookError",
    "DemoDataMissing",
    "DemoError",
    "PseudonymError",
    "PseudonymMapping",
    "RefiError",
    "RegionThemes",
    "Store",
    "StoreError",
    "Suggestions",
    "Transcript",
    "TranscriptImportError",
    "accept_suggestions",
    "agreement_report",
    "agreement_summary",
    "agreement_table",
    "build_demo",
    "cluster_attributes",
    "code_frequencies",
    "code_pattern",
    "code_quote",
    "code_span",
    "codebook_table",
    "codebook_to_yaml",
    "cohen_kappa_from_table",
    "consensus_segments",
    "cooccurrence",
    "cooccurrence_heatmap",
    "cooccurrence_matrix",
    "disagreements",
    "export_docx",
    "export_odt",
    "export_qdc",
    "export_qdpx",
    "export_report",
    "export_xlsx",
    "framework_matrix",
    "import_qdc",
    "import_qdpx",
    "import_transcripts",
    "interview_label",
    "interview_numbers",
    "kappa_reading",
    "krippendorff_alpha_from_table",
    "link_cluster_cases",
    "merge_codes",
    "merge_consensus",
    "open_store",
    "parse_codebook",
    "propose_mapping",
    "quotes_markdown",
    "quotes_table",
    "read_codebook",
    "read_mapping",
    "read_transcript",
    "region_themes",
    "rename_code",
    "retrieve",
    "split_code",
    "suggest_codes",
    "sync_codebook",
    "sync_codebook_file",
    "theme_frequency_plot",
    "theme_table",
    "top_pairs",
    "write_mapping",
]


def __getattr__(name: str):
    try:
        module = _MODULE_OF[name]
    except KeyError:
        raise AttributeError(f"module 'evaluation.qualitative' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
