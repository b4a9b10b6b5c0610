"""Benchmark of the qualitative module at the scale of a large interview study.

1,000 transcripts (~10 M characters; mostly .txt, some .docx and .html) and 200,000 segments
(two coders, 16 codes). Targets from issue 5: import < 60 s; co-occurrence matrix and agreement
for every code < 2 s; REFI-QDA export < 10 s. Each figure is the median of repeated runs where
cheap, with a ratio against a named baseline measured in the same run:

- import        vs reading the same files' bytes (pathlib) - the floor for any importer;
- co-occurrence vs a pandas self-merge on (document, coder) filtered to overlaps, on 10 % of
  the documents (the full self-merge needs tens of GB);
- agreement     vs explicit per-character vectors + sklearn.metrics.cohen_kappa_score for one
  code (the independent computation the tests compare with), scaled by the number of codes.

Run: .venv/bin/python benchmarks/bench_qualitative.py [--transcripts 1000] [--segments 200000]
What the figures decided: docs/decisions/0020-0023.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def timed(function, repeats: int = 1):
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def write_transcripts(folder: Path, count: int, chars: int, rng: np.random.Generator) -> list[Path]:
    import docx

    from evaluation.qualitative import demo_text

    sentences = [
        s.format(
            town="Bakkerup", colleague="[GP 1]", consultant="[Consultant 1]", clinic="[Clinic 1]"
        )
        for theme in demo_text.THEMES.values()
        for key in ("challenges", "enablers")
        for s in theme[key]
    ]
    questions = [q for theme in demo_text.THEMES.values() for q in theme["questions"]]
    paths = []
    for index in range(count):
        lines, size = [], 0
        while size < chars:
            question = f"Interviewer: {questions[int(rng.integers(len(questions)))]}"
            answer = "Coordinator: " + " ".join(
                sentences[int(i)] for i in rng.integers(len(sentences), size=3)
            )
            lines += [question, answer]
            size += len(question) + len(answer) + 2
        kind = "docx" if index % 10 == 0 else "html" if index % 10 == 1 else "txt"
        path = folder / f"interview_{index:04d}.{kind}"
        if kind == "txt":
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        elif kind == "html":
            path.write_text(
                "<html><body>" + "".join(f"<p>{line}</p>" for line in lines) + "</body></html>",
                encoding="utf-8",
            )
        else:
            document = docx.Document()
            for line in lines:
                document.add_paragraph(line)
            document.save(str(path))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--chars", type=int, default=10_000, help="characters per transcript")
    parser.add_argument("--segments", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from sklearn.metrics import cohen_kappa_score

    from evaluation.qualitative import refi
    from evaluation.qualitative.agreement import agreement_table
    from evaluation.qualitative.importers import import_transcripts
    from evaluation.qualitative.queries import cooccurrence_matrix
    from evaluation.qualitative.store import Store

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-qual-") as folder:
        folder = Path(folder)
        (folder / "in").mkdir()
        started = time.perf_counter()
        paths = write_transcripts(folder / "in", args.transcripts, args.chars, rng)
        print(
            f"wrote {len(paths)} transcripts in {time.perf_counter() - started:.1f} s (setup, "
            "not timed)"
        )

        baseline_read, _ = timed(lambda: sum(len(p.read_bytes()) for p in paths))
        store = Store.create(folder / "coding.sqlite")
        import_seconds, ids = timed(lambda: import_transcripts(store, paths, progress=False))
        documents = store.documents()
        print(
            f"import: {len(ids)} transcripts, {documents['n_chars'].sum() / 1e6:.1f} M characters, "
            f"{len(store.speaker_turns()):,} speaker turns in {import_seconds:.1f} s "
            f"(target < 60 s; {import_seconds / baseline_read:.0f}x reading the bytes, "
            f"{baseline_read:.2f} s)"
        )

        codes = [f"theme{t}.{p}" for t in range(8) for p in ("challenges", "enablers")]
        code_ids = [store.add_code(key) for key in codes]
        lengths = documents.set_index("id")["n_chars"]
        per_coder = args.segments // 2
        document_ids = rng.choice(documents["id"].to_numpy(), size=per_coder)
        starts = (rng.random(per_coder) * (lengths.loc[document_ids].to_numpy() - 400)).astype(int)
        spans = rng.integers(40, 400, per_coder)
        code_choice = rng.integers(len(codes), size=per_coder)
        rows_a = [
            (int(d), code_ids[c], int(s), int(s + w))
            for d, c, s, w in zip(document_ids, code_choice, starts, spans)
        ]
        # the second coder agrees most of the time, with shifted boundaries and some other codes
        jitter = rng.integers(-30, 31, size=(per_coder, 2))
        other = np.where(
            rng.random(per_coder) < 0.2, rng.integers(len(codes), size=per_coder), code_choice
        )
        rows_b = []
        for (d, _, s, e), (j1, j2), c in zip(rows_a, jitter, other):
            s2 = max(0, s + int(j1))
            e2 = min(int(lengths.loc[d]), max(s2 + 1, e + int(j2)))
            rows_b.append((d, code_ids[int(c)], s2, e2))
        insert_seconds, _ = timed(
            lambda: (
                store.add_segments(rows_a, coder="anna"),
                store.add_segments(rows_b, coder="bo"),
            )
        )
        print(f"segments: {args.segments:,} stored in {insert_seconds:.1f} s")

        load_seconds, segments = timed(lambda: store.segments(details=False), repeats=3)
        load_all, _ = timed(lambda: store.segments(), repeats=3)
        print(
            f"load segments from the store: {load_seconds:.2f} s for positions, codes and coders; "
            f"{load_all:.2f} s with GUIDs, times and memos (median of 3)"
        )
        # the store builds its frame column by column; baseline: a frame from the row tuples
        columns = ["id", "document_id", "code_id", "coder_id", "start", "end"]
        rows = store.connection.execute(
            'SELECT id, document_id, code_id, coder_id, start, "end" FROM segments'
        ).fetchall()
        by_rows, _ = timed(lambda: pd.DataFrame(rows, columns=columns), repeats=3)
        by_columns, _ = timed(
            lambda: pd.DataFrame(
                {n: np.asarray(v, dtype=np.int64) for n, v in zip(columns, zip(*rows))}
            ),
            repeats=3,
        )
        print(
            f"frame of {len(rows):,} segment rows: column by column {by_columns:.3f} s, "
            f"from row tuples {by_rows:.3f} s (x{by_rows / by_columns:.1f})"
        )

        co_seconds, matrix = timed(lambda: cooccurrence_matrix(segments), repeats=3)
        co_distance, _ = timed(lambda: cooccurrence_matrix(segments, distance=200), repeats=3)
        subset_docs = set(documents["id"].iloc[: max(1, len(documents) // 10)])
        subset = segments[segments["document_id"].isin(subset_docs)]

        def naive_cooccurrence():
            pairs = subset.merge(subset, on=["document_id", "coder"], suffixes=("_x", "_y"))
            pairs = pairs[
                (pairs["id_x"] < pairs["id_y"])
                & (pairs["start_y"] < pairs["end_x"])
                & (pairs["start_x"] < pairs["end_y"])
                & (pairs["code_key_x"] != pairs["code_key_y"])
            ]
            return pd.crosstab(pairs["code_key_x"], pairs["code_key_y"])

        naive_seconds, _ = timed(naive_cooccurrence)
        ours_subset, _ = timed(lambda: cooccurrence_matrix(subset), repeats=3)
        print(
            f"co-occurrence matrix ({len(matrix)} codes, {len(segments):,} segments): overlap "
            f"{co_seconds:.2f} s, within 200 characters {co_distance:.2f} s (target < 2 s); "
            f"on 10 % of documents {ours_subset:.3f} s vs pandas self-merge {naive_seconds:.2f} s "
            f"({naive_seconds / ours_subset:.0f}x faster)"
        )

        documents_text = store.documents(with_text=True)
        texts = dict(zip(documents_text["id"], documents_text["text"]))
        character_seconds, table = timed(
            lambda: agreement_table(segments, documents, "anna", "bo", level="character"), repeats=3
        )
        segment_seconds, _ = timed(
            lambda: agreement_table(
                segments, documents, "anna", "bo", level="segment", document_texts=texts
            ),
            repeats=3,
        )
        excluded_seconds, _ = timed(
            lambda: agreement_table(
                segments, documents, "anna", "bo", level="character", uncoded=False
            ),
            repeats=3,
        )

        def explicit_one_code():
            code = codes[0]
            mine = segments[segments["code_key"] == code]
            a_parts, b_parts = [], []
            for document_id, length in lengths.items():
                a = np.zeros(int(length), np.int8)
                b = np.zeros(int(length), np.int8)
                for row in mine[mine["document_id"] == document_id].itertuples():
                    (a if row.coder == "anna" else b)[row.start : row.end] = 1
                a_parts.append(a)
                b_parts.append(b)
            return cohen_kappa_score(np.concatenate(a_parts), np.concatenate(b_parts))

        explicit_seconds, explicit_kappa = timed(explicit_one_code)
        ours_kappa = table.set_index("code_key").loc[codes[0], "cohen_kappa"]
        print(
            f"agreement for every code ({len(codes)} codes + overall): character level "
            f"{character_seconds:.2f} s, without uncoded text {excluded_seconds:.2f} s, segment "
            f"level {segment_seconds:.2f} s (target < 2 s); explicit vectors + sklearn for ONE "
            f"code {explicit_seconds:.1f} s "
            f"(~{explicit_seconds * len(codes) / character_seconds:.0f}x slower for all codes); "
            f"kappa {ours_kappa:.6f} vs sklearn {explicit_kappa:.6f}"
        )

        export_seconds, _ = timed(
            lambda: refi.export_qdpx(store, folder / "project.qdpx", target="standard")
        )
        export_nvivo, _ = timed(
            lambda: refi.export_qdpx(store, folder / "project-nvivo.qdpx", target="nvivo")
        )
        size = (folder / "project.qdpx").stat().st_size / 1e6
        # export validates while parsing (one pass); baseline: parse, then validate the tree
        from lxml import etree

        xml, _ = refi.build_project_xml(store, target="standard")
        one_pass, _ = timed(lambda: refi._check_valid(xml, "project", folder / "x.qdpx"), repeats=3)
        schema = refi._schema("project")
        parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
        two_passes, _ = timed(lambda: schema.assertValid(etree.fromstring(xml, parser)), repeats=3)
        print(
            f"schema check of the {len(xml) / 1e6:.0f} MB project.qde: validating while parsing "
            f"{one_pass:.2f} s, parse then validate {two_passes:.2f} s "
            f"(x{two_passes / one_pass:.1f})"
        )
        print(
            f"REFI-QDA export ({args.segments:,} selections, validated against the schema): "
            f"standard {export_seconds:.1f} s, NVivo flavour {export_nvivo:.1f} s, {size:.1f} MB "
            "(target < 10 s)"
        )
        store.close()


if __name__ == "__main__":
    main()
