"""Benchmark the Taguette client: offset mapping, and push/pull against a real local server.

Prints medians (seconds) and ratios against named baselines measured in the same run:

1. Mapping 5,000 highlights (UTF-8 byte offsets) to code points in a 100,000-character CRLF
   transcript with æøå and emoji: :class:`OffsetMap` (built once, bisect per offset) against
   the naive baseline that decodes the byte prefix for every offset.
2. The alignment fallback (Taguette's text differs from the store's in a few characters)
   against the exact path.
3. A real Taguette 1.5.2 server on 127.0.0.1 (from .venv-taguette/, as the tests build it):
   push 25 transcripts and the codebook, a coder places 250 highlights, then pull. Baseline: the
   bare HTTP reads of the project (fetch_snapshot), i.e. what any client must pay; the ratio
   shows what mapping and the store transaction add. A second pull (nothing changed) too.

Run: .venv/bin/python benchmarks/bench_taguette.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "qualitative" / "taguette"))  # the server launcher

from evaluation.qualitative.store import Store  # noqa: E402
from evaluation.qualitative.taguette import (  # noqa: E402
    Credentials,
    OffsetMap,
    TaguetteClient,
    apply_snapshot,
    fetch_snapshot,
    html_text,
    push,
    taguette_form,
)

WORDS = (
    "klyngen møde data portalen fremmøde økonomi antibiotika NSAID koordinator region 📊 😀 👩‍⚕️ "
    "praksis"
).split()


def transcript(rng: random.Random, n_chars: int) -> str:
    lines, size = [], 0
    while size < n_chars:
        speaker = rng.choice(["Interviewer", "Koordinator"])
        line = f"{speaker}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))) + "."
        lines.append(line)
        size += len(line) + 2
    return "\r\n".join(lines)


def median_time(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_mapping() -> None:
    rng = random.Random(1)
    text = transcript(rng, 100_000)
    shown = taguette_form(text)
    encoded = shown.encode()
    boundaries = sorted({len(shown[:i].encode()) for i in rng.sample(range(len(shown)), 10_000)})
    spans = [(boundaries[i], boundaries[i + 1]) for i in range(0, 10_000 - 1, 2)][:5_000]

    def offset_map():
        offsets = OffsetMap(shown, text)
        return [offsets.to_store(s, e) for s, e in spans]

    # baseline: decode the prefix for each offset (ignoring the CRLF mapping it would still need)
    def naive():
        return [(len(encoded[:s].decode()), len(encoded[:e].decode())) for s, e in spans]

    fast, slow = median_time(offset_map), median_time(naive, repeats=3)
    print(
        f"map 5,000 highlights in a {len(text):,}-character transcript: OffsetMap {fast:.3f} s, "
        f"naive prefix decoding {slow:.3f} s (x{slow / fast:.1f} faster)"
    )

    damaged = shown.replace("NSAID", "NSA?D", 20)

    exact = median_time(lambda: OffsetMap(shown, text))
    aligned = median_time(lambda: OffsetMap(damaged, text))
    print(
        f"build the map: exact {exact:.3f} s, with 20 differing characters (difflib alignment) "
        f"{aligned:.3f} s (x{aligned / exact:.1f})"
    )


def bench_server() -> None:
    from conftest import TaguetteServer

    rng = random.Random(2)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        server = TaguetteServer(folder / "server").start()
        try:
            store = Store.create(folder / "coding.sqlite")
            for index in range(25):
                store.add_document(f"Interview {index + 1:02d}", transcript(rng, 20_000))
            for theme in ("data", "attendance", "facilitation", "funding", "support"):
                theme_id = store.add_code(theme, theme.capitalize())
                for sub in ("challenges", "enablers"):
                    store.add_code(f"{theme}.{sub}", sub.capitalize(), parent=theme_id)
            client = TaguetteClient(server.url, Credentials(token=server.token))
            start = time.perf_counter()
            project_id = push(client, store, project_name="Benchmark").project_id
            push_time = time.perf_counter() - start

            listing = client.project(project_id)
            tag_ids = [t for t, tag in listing.tags.items() if tag["path"] != "interesting"]
            start = time.perf_counter()
            for document_id in listing.documents:
                shown = html_text(client.document_html(project_id, document_id)).encode()
                for _ in range(10):
                    a = rng.randrange(0, len(shown) - 200)
                    while 0x80 <= shown[a] <= 0xBF:
                        a += 1
                    b = a + rng.randint(20, 180)
                    while b < len(shown) and 0x80 <= shown[b] <= 0xBF:
                        b += 1
                    client.add_highlight(project_id, document_id, a, b, [rng.choice(tag_ids)])
            coding_time = time.perf_counter() - start

            fetch = median_time(lambda: fetch_snapshot(client, project_id), repeats=3)
            snapshot = fetch_snapshot(client, project_id)
            start = time.perf_counter()
            report = apply_snapshot(store, snapshot, coder="anna")
            first_apply = time.perf_counter() - start
            again = median_time(lambda: apply_snapshot(store, snapshot, coder="anna"), repeats=3)
            store.close()
        finally:
            server.stop()
    print(
        f"push 25 transcripts (~20,000 characters each) and 15 codes: {push_time:.2f} s "
        f"(placing 250 highlights over HTTP took {coding_time:.2f} s)"
    )
    print(
        f"pull 250 highlights: HTTP reads (baseline) {fetch:.2f} s; store side first pull "
        f"{first_apply:.3f} s (x{first_apply / fetch:.2f} of the reads), unchanged re-pull "
        f"{again:.3f} s (x{again / fetch:.2f}); {report.segments_added} segments added"
    )


if __name__ == "__main__":
    bench_mapping()
    bench_server()
