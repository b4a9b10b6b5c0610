"""Coding by hand and by script: spans, quotes, patterns and keyword lists, and code suggestions
from a text classifier trained on what has been coded so far.

Example
-------
>>> from evaluation.qualitative.store import Store
>>> store = Store.create(":memory:")
>>> text = "Coordinator: We could not get the data. The data portal was slow."
>>> doc = store.add_document("i1", text)
>>> _ = store.add_code("data", "Obtaining data")
>>> code_pattern(store, "data", keywords=["portal"], coder="script", unit="sentence")
1
>>> store.segments(with_text=True)["text"].tolist()
['The data portal was slow.']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.qualitative.store import Store, StoreError

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)


def code_span(
    store: Store,
    document: int | str,
    code: int | str,
    start: int,
    end: int,
    *,
    coder: str,
    memo: str | None = None,
) -> int:
    """Code ``text[start:end]`` (code points, end exclusive). Returns the segment id."""
    return store.add_segment(document, code, start, end, coder=coder, memo=memo)


def code_quote(
    store: Store,
    document: int | str,
    code: int | str,
    quote: str,
    *,
    coder: str,
    occurrence: int = 1,
    memo: str | None = None,
) -> int:
    """Code the ``occurrence``-th appearance of ``quote`` in the document (handy in notebooks)."""
    text = store.document_text(document)
    position = -1
    for _ in range(occurrence):
        position = text.find(quote, position + 1)
        if position < 0:
            raise StoreError(
                f"document {document!r} does not contain {quote!r} {occurrence} time(s)"
            )
    return store.add_segment(
        document, code, position, position + len(quote), coder=coder, memo=memo
    )


def text_units(
    store: Store, unit: str = "sentence", documents: Iterable[int] | None = None
) -> pd.DataFrame:
    """Split documents into units: 'sentence', 'turn' (speaker turns; paragraphs where none were
    recognised) or 'paragraph'. Columns: document_id, start, end, text."""
    if unit not in ("sentence", "turn", "paragraph"):
        raise StoreError(f"unit {unit!r}: expected sentence, turn or paragraph")
    frame = store.documents(with_text=True)
    if documents is not None:
        frame = frame[frame["id"].isin(list(documents))]
    turns = store.speaker_turns() if unit in ("turn", "sentence") else None
    rows = []
    for document_id, text in zip(frame["id"], frame["text"]):
        spans: list[tuple[int, int]] = []
        if unit == "turn":
            mine = turns[turns["document_id"] == document_id]
            spans = list(zip(mine["start"], mine["end"]))
        if unit == "paragraph" or (unit == "turn" and not spans):
            spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
        if unit == "sentence":
            mine = turns[turns["document_id"] == document_id]
            # sentences inside speaker turns leave out the "Coordinator:" labels
            regions = list(zip(mine["start"], mine["end"])) or [(0, len(text))]
            spans = [
                (region_start + m.start(), region_start + m.end())
                for region_start, region_end in regions
                for m in _SENTENCE.finditer(text[region_start:region_end])
            ]
        for start, end in spans:
            # trim surrounding whitespace so units start and end on text
            piece = text[start:end]
            left = len(piece) - len(piece.lstrip())
            right = len(piece.rstrip())
            if right > left:
                rows.append(
                    (int(document_id), int(start + left), int(start + right), piece[left:right])
                )
    return pd.DataFrame(rows, columns=["document_id", "start", "end", "text"])


def code_pattern(
    store: Store,
    code: int | str,
    *,
    pattern: str | None = None,
    keywords: Iterable[str] | None = None,
    coder: str,
    unit: str = "match",
    case_sensitive: bool = False,
    documents: Iterable[int | str] | None = None,
) -> int:
    """Code every match of a regular expression or keyword list (whole words).

    ``unit='match'`` codes the matched words; 'sentence', 'turn' or 'paragraph' code the whole
    unit containing a match. Spans this coder already coded with this code are skipped, so
    running a script twice adds nothing. Returns the number of segments added.
    """
    if (pattern is None) == (keywords is None):
        raise StoreError("give either a pattern or a keyword list")
    if keywords is not None:
        words = [k.strip() for k in keywords if k.strip()]
        if not words:
            raise StoreError("the keyword list is empty")
        pattern = (
            r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b"
        )
    try:
        regex = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    except re.error as error:
        raise StoreError(
            f"pattern {pattern!r} is not a valid regular expression ({error})"
        ) from None
    code_id = store.code_id(code)
    document_ids = None if documents is None else [store.document_id(d) for d in documents]
    existing = store.segments(coders=[coder]) if coder in store.coders() else None
    done = set()
    if existing is not None:
        mine = existing[existing["code_id"] == code_id]
        done = set(zip(mine["document_id"], mine["start"], mine["end"]))
    new: set[tuple[int, int, int]] = set()
    if unit == "match":
        frame = store.documents(with_text=True)
        if document_ids is not None:
            frame = frame[frame["id"].isin(document_ids)]
        for document_id, text in zip(frame["id"], frame["text"]):
            for match in regex.finditer(text):
                if match.end() > match.start():
                    new.add((int(document_id), match.start(), match.end()))
    else:
        units = text_units(store, unit, document_ids)
        for row in units.itertuples():
            if regex.search(row.text):
                new.add((row.document_id, row.start, row.end))
    rows = [(d, code_id, s, e) for d, s, e in sorted(new - done)]
    store.add_segments(rows, coder=coder)
    return len(rows)


# ---------------------------------------------------------------------- suggestions
@dataclass
class Suggestions:
    """Classifier suggestions for uncoded passages and how far to trust them.

    ``suggestions``: document_id, start, end, text, code_key, probability (one row per suggested
    code and passage). ``precision``: per code, the held-out precision and recall at the
    threshold, with the numbers of training and test passages; a code with few examples gets
    no suggestions (``reason`` says why)."""

    suggestions: pd.DataFrame
    precision: pd.DataFrame
    threshold: float
    unit: str


def suggest_codes(
    store: Store,
    *,
    coder: str | None = None,
    unit: str = "sentence",
    threshold: float = 0.5,
    min_examples: int = 8,
    test_share: float = 0.3,
    seed: int = 0,
) -> Suggestions:
    """Suggest codes for uncoded passages from the coded ones.

    A TF-IDF bag of words and bigrams feeds one logistic regression per code (scikit-learn).
    Passages (``unit``) in coded documents are labelled with every code covering at least half
    of them. The documents are split into training and held-out sets (``test_share``, by
    document so that no interview leaks into both); precision on the held-out passages at the
    ``threshold`` tells users how often a suggestion is right. The final model is refitted on
    all labelled passages and applied to passages nobody has coded.

    Precision = true suggestions / all suggestions on held-out passages (scikit-learn's
    ``precision_score``); ``nan`` if the model suggested nothing there.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import precision_score, recall_score

    segments = store.segments(coders=None if coder is None else [coder])
    units = text_units(store, unit)
    if segments.empty or units.empty:
        raise StoreError("nothing is coded yet: code some passages before asking for suggestions")
    units = units.reset_index(drop=True)
    coverage = _unit_coverage(units, segments)
    coded_documents = set(segments["document_id"])
    any_code = coverage.groupby("unit")["code_key"].size().reindex(units.index, fill_value=0) > 0
    labelled = units["document_id"].isin(coded_documents)
    keys = sorted(segments["code_key"].unique())
    labels = pd.DataFrame(False, index=units.index, columns=keys)
    for key, group in coverage.groupby("code_key"):
        labels.loc[group["unit"].to_numpy(), key] = True

    rng = np.random.default_rng(seed)
    docs = np.array(sorted(coded_documents))
    rng.shuffle(docs)
    n_test = max(1, int(round(len(docs) * test_share))) if len(docs) > 1 else 0
    test_docs = set(docs[:n_test])
    is_test = units["document_id"].isin(test_docs) & labelled
    is_train = labelled & ~is_test

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    vectoriser.fit(units.loc[labelled, "text"])
    features = vectoriser.transform(units["text"])
    # passages nobody coded, in any document
    target_rows = units.index[~any_code]
    report, suggestions = [], []
    for key in keys:
        y = labels[key].to_numpy()
        n_positive_train = int(y[is_train].sum())
        row = dict(
            code_key=key,
            n_train=int(is_train.sum()),
            n_test=int(is_test.sum()),
            n_positive_train=n_positive_train,
            n_positive_test=int(y[is_test].sum()),
            held_out_precision=np.nan,
            held_out_recall=np.nan,
            reason="",
        )
        if n_positive_train < min_examples or n_positive_train == is_train.sum():
            row["reason"] = f"fewer than {min_examples} coded examples in training documents"
            report.append(row)
            continue
        model = LogisticRegression(max_iter=1000, class_weight="balanced")
        model.fit(features[is_train.to_numpy()], y[is_train])
        if is_test.any():
            predicted = model.predict_proba(features[is_test.to_numpy()])[:, 1] >= threshold
            truth = y[is_test]
            if predicted.any():
                row["held_out_precision"] = float(
                    precision_score(truth, predicted, zero_division=0)
                )
            if truth.any():
                row["held_out_recall"] = float(recall_score(truth, predicted, zero_division=0))
        final = LogisticRegression(max_iter=1000, class_weight="balanced")
        final.fit(features[labelled.to_numpy()], y[labelled.to_numpy()])
        if len(target_rows):
            probability = final.predict_proba(features[target_rows.to_numpy()])[:, 1]
            keep = probability >= threshold
            chosen = units.loc[target_rows[keep]].copy()
            chosen["code_key"] = key
            chosen["probability"] = probability[keep]
            suggestions.append(chosen)
        report.append(row)
    columns = ["document_id", "start", "end", "text", "code_key", "probability"]
    frame = (
        pd.concat(suggestions).sort_values(
            ["document_id", "start", "probability"], ascending=[True, True, False]
        )
        if suggestions
        else pd.DataFrame(columns=columns)
    )
    return Suggestions(frame[columns].reset_index(drop=True), pd.DataFrame(report), threshold, unit)


def _unit_coverage(
    units: pd.DataFrame, segments: pd.DataFrame, min_share: float = 0.5
) -> pd.DataFrame:
    """(unit, code_key) pairs where the code's segments cover at least ``min_share`` of the unit."""
    rows = []
    by_document = {d: g for d, g in segments.groupby("document_id")}
    for document_id, group in units.groupby("document_id"):
        mine = by_document.get(document_id)
        if mine is None:
            continue
        starts = group["start"].to_numpy()
        ends = group["end"].to_numpy()
        for key, code_segments in mine.groupby("code_key"):
            covered = np.zeros(len(group))
            for s, e in zip(code_segments["start"], code_segments["end"]):
                covered += np.clip(np.minimum(ends, e) - np.maximum(starts, s), 0, None)
            share = covered / (ends - starts)
            for unit_index in group.index[share >= min_share]:
                rows.append((unit_index, key))
    return pd.DataFrame(rows, columns=["unit", "code_key"])


def accept_suggestions(store: Store, suggestions: pd.DataFrame, *, coder: str) -> int:
    """Store accepted suggestions as segments of ``coder`` (e.g. after filtering the frame)."""
    code_ids = {key: store.code_id(key) for key in suggestions["code_key"].unique()}
    rows = [
        (int(r.document_id), code_ids[r.code_key], int(r.start), int(r.end))
        for r in suggestions.itertuples()
    ]
    store.add_segments(rows, coder=coder)
    return len(rows)
