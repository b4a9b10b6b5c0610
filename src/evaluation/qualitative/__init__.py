"""Qualitative coding of interviews: a free, scriptable replacement for the NVivo-and-Word routine.

Modules (each usable alone; the CLI is ``workbench qual``):

- :mod:`~evaluation.qualitative.store`      the SQLite coding store (documents, codebook, segments in
  code points, coders, memos, cases with attributes)
- :mod:`~evaluation.qualitative.codebook`   codebook.yml synced into the store (rename/merge/split)
- :mod:`~evaluation.qualitative.importers`  .txt .md .docx .odt .pdf .html with speaker turns
- :mod:`~evaluation.qualitative.pseudonyms` pseudonymisation through a reviewed mapping file
- :mod:`~evaluation.qualitative.coding`     spans, patterns, keyword lists, classifier suggestions
- :mod:`~evaluation.qualitative.queries`    retrieval, frequencies, co-occurrence, framework matrix
- :mod:`~evaluation.qualitative.agreement`  Cohen's kappa, Krippendorff's alpha, disagreements, consensus
- :mod:`~evaluation.qualitative.refi`       REFI-QDA .qdpx/.qdc import and export (NVivo, ATLAS.ti)
- :mod:`~evaluation.qualitative.exports`    codebook and quotes as .docx, .xlsx, Markdown, HTML
- :mod:`~evaluation.qualitative.figures`    plots for the interview-themes notebook
- :mod:`~evaluation.qualitative.summary`    one region's themes, co-occurrence, agreement and quotes
- :mod:`~evaluation.qualitative.cases`      one case per cluster, linked to the quantitative data
- :mod:`~evaluation.qualitative.demo`       the 25-interview demo project from the synthetic data
"""
