"""Agreement figures equal an independent computation: sklearn's cohen_kappa_score and the
krippendorff package on explicit unit-by-unit ratings."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from evaluation.qualitative.agreement import (
    ALL_CODES,
    agreement_report,
    agreement_table,
    consensus_segments,
    disagreements,
    merge_consensus,
)

CODES = ["a", "b", "c", "d"]


def random_project(seed: int):
    rng = np.random.default_rng(seed)
    texts, rows = {}, []
    for document_id in (1, 2, 3):
        length = int(rng.integers(300, 600))
        texts[document_id] = "".join(rng.choice(list("abcdefgh  \n"), size=length))
        for _ in range(int(rng.integers(8, 16))):
            start = int(rng.integers(0, length - 20))
            end = int(min(length, start + rng.integers(5, 60)))
            code = str(rng.choice(CODES))
            rows.append((document_id, code, "anna", start, end))
            if rng.random() < 0.7:  # bo often codes the same passage, a little differently
                jitter = rng.integers(-5, 6, size=2)
                s2 = int(np.clip(start + jitter[0], 0, length - 2))
                e2 = int(np.clip(end + jitter[1], s2 + 1, length))
                rows.append(
                    (
                        document_id,
                        code if rng.random() < 0.8 else str(rng.choice(CODES)),
                        "bo",
                        s2,
                        e2,
                    )
                )
        for _ in range(int(rng.integers(1, 4))):  # bo's own extra codings
            start = int(rng.integers(0, length - 20))
            rows.append(
                (document_id, str(rng.choice(CODES)), "bo", start, start + int(rng.integers(5, 30)))
            )
    segments = pd.DataFrame(rows, columns=["document_id", "code_key", "coder", "start", "end"])
    documents = pd.DataFrame({"id": list(texts), "n_chars": [len(t) for t in texts.values()]})
    return segments, documents, texts


def character_ratings(segments, texts, uncoded):
    """Per code: (anna's 0/1 per character, bo's 0/1 per character), built explicitly."""
    ratings = {}
    for code in CODES:
        a_all, b_all = [], []
        for document_id, text in texts.items():
            mine = segments[segments["document_id"] == document_id]
            a = np.zeros(len(text), int)
            b = np.zeros(len(text), int)
            anything = np.zeros(len(text), bool)
            for row in mine.itertuples():
                anything[row.start : row.end] = True
                if row.code_key == code:
                    (a if row.coder == "anna" else b)[row.start : row.end] = 1
            keep = np.ones(len(text), bool) if uncoded else anything
            a_all.append(a[keep])
            b_all.append(b[keep])
        ratings[code] = (np.concatenate(a_all), np.concatenate(b_all))
    return ratings


def segment_ratings(segments, texts, uncoded):
    """Units = connected groups of overlapping segments (union-find), plus non-blank gaps."""
    ratings = {code: ([], []) for code in CODES}
    for document_id, text in texts.items():
        mine = segments[segments["document_id"] == document_id].reset_index(drop=True)
        parent = list(range(len(mine)))

        def find(i, parent=parent):  # bound now: each document has its own forest
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(mine)):
            for j in range(i + 1, len(mine)):
                if mine.start[j] < mine.end[i] and mine.start[i] < mine.end[j]:
                    parent[find(i)] = find(j)
        groups = {}
        for i in range(len(mine)):
            groups.setdefault(find(i), []).append(i)
        for members in groups.values():
            for code in CODES:
                ratings[code][0].append(
                    int(any(mine.code_key[i] == code and mine.coder[i] == "anna" for i in members))
                )
                ratings[code][1].append(
                    int(any(mine.code_key[i] == code and mine.coder[i] == "bo" for i in members))
                )
        if uncoded:
            covered = np.zeros(len(text), bool)
            for row in mine.itertuples():
                covered[row.start : row.end] = True
            gaps = 0
            position = 0
            while position < len(text):
                if covered[position]:
                    position += 1
                    continue
                end = position
                while end < len(text) and not covered[end]:
                    end += 1
                gaps += int(bool(text[position:end].strip()))
                position = end
            for code in CODES:
                ratings[code][0].extend([0] * gaps)
                ratings[code][1].extend([0] * gaps)
    return {code: (np.array(a), np.array(b)) for code, (a, b) in ratings.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("level", ["character", "segment"])
@pytest.mark.parametrize("uncoded", [True, False])
def test_agreement_equals_sklearn_and_krippendorff(seed, level, uncoded):
    segments, documents, texts = random_project(seed)
    table = agreement_table(
        segments, documents, "anna", "bo", level=level, uncoded=uncoded, document_texts=texts
    ).set_index("code_key")
    ratings = (character_ratings if level == "character" else segment_ratings)(
        segments, texts, uncoded
    )
    pooled_a = np.concatenate([ratings[c][0] for c in CODES])
    pooled_b = np.concatenate([ratings[c][1] for c in CODES])
    for code, (a, b) in [*ratings.items(), (ALL_CODES, (pooled_a, pooled_b))]:
        row = table.loc[code]
        assert row["n_units"] == len(a)
        assert row["both"] == int(((a == 1) & (b == 1)).sum())
        assert row["percent_agreement"] == pytest.approx(100 * (a == b).mean())
        assert row["cohen_kappa"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        expected_alpha = krippendorff.alpha(
            reliability_data=np.vstack([a, b]), level_of_measurement="nominal"
        )
        assert row["krippendorff_alpha"] == pytest.approx(expected_alpha, abs=1e-9)


def test_perfect_and_absent_agreement():
    segments = pd.DataFrame(
        {
            "document_id": [1, 1, 1, 1],
            "code_key": ["a", "a", "b", "b"],
            "coder": ["anna", "bo", "anna", "bo"],
            "start": [0, 0, 50, 70],
            "end": [10, 10, 60, 80],
        }
    )
    documents = pd.DataFrame({"id": [1], "n_chars": [100]})
    table = agreement_table(segments, documents, "anna", "bo").set_index("code_key")
    assert table.loc["a", "cohen_kappa"] == pytest.approx(1.0)
    assert table.loc["a", "krippendorff_alpha"] == pytest.approx(1.0)
    assert table.loc["b", "both"] == 0 and table.loc["b", "cohen_kappa"] < 0
    with pytest.raises(ValueError, match="coder 'cleo' has no segments"):
        agreement_table(segments, documents, "anna", "cleo")


def test_disagreements_and_consensus(store):
    text = "0123456789" * 10
    document = store.add_document("d", text)
    for key in ("a", "b"):
        store.add_code(key)
    store.add_segments(
        [(document, store.code_id("a"), 0, 20), (document, store.code_id("b"), 50, 60)],
        coder="anna",
    )
    store.add_segments(
        [(document, store.code_id("a"), 10, 30), (document, store.code_id("b"), 80, 90)], coder="bo"
    )
    found = disagreements(store.segments(), "anna", "bo", {document: text})
    assert found[["code_key", "start", "end", "coded_by"]].values.tolist() == [
        ["a", 0, 10, "anna"],
        ["a", 20, 30, "bo"],
        ["b", 50, 60, "anna"],
        ["b", 80, 90, "bo"],
    ]
    assert found["text"].tolist()[0] == text[0:10]
    agreed = consensus_segments(store.segments(), "anna", "bo")
    assert agreed[["code_key", "start", "end"]].values.tolist() == [["a", 0, 30]]
    assert consensus_segments(store.segments(), "anna", "bo", strategy="intersection")[
        ["start", "end"]
    ].values.tolist() == [[10, 20]]
    assert len(consensus_segments(store.segments(), "anna", "bo", strategy="union")) == 3
    keep = found[found["code_key"] == "b"].head(1)
    assert merge_consensus(store, "anna", "bo", into="consensus", keep=keep) == 2
    with pytest.raises(Exception, match="already has segments"):
        merge_consensus(store, "anna", "bo", into="consensus")
    result = store.segments(coders=["consensus"])
    assert result[["code_key", "start", "end"]].values.tolist() == [["a", 0, 30], ["b", 50, 60]]


def test_agreement_report_on_demo(demo_project):
    from evaluation.qualitative.store import Store

    with Store.open(demo_project / "coding.sqlite") as store:
        report = agreement_report(store, "anna", "bo")
    overall = report[report["code_key"] == ALL_CODES]
    assert len(overall) == 4
    # realistic disagreement: clearly better than chance, clearly short of perfect
    assert overall["cohen_kappa"].between(0.4, 0.9).all()
    included = overall.set_index(["level", "uncoded"])["percent_agreement"]
    assert included[("character", "included")] > included[("character", "excluded")]
