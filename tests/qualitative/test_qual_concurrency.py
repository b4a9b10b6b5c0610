"""Two processes coding the same store at the same time for 30 s lose no segment."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from evaluation.qualitative.store import Store

WORKER = textwrap.dedent("""
    import json, pathlib, random, sys, time
    from evaluation.qualitative.store import Store, new_guid

    store_path, coder, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    store = Store.open(store_path)
    documents = store.documents()["id"].tolist()
    codes = store.codes()["id"].tolist()
    rng = random.Random(coder)
    written = []
    # start together: announce readiness, wait for the parent's go, then code for `seconds`
    folder = pathlib.Path(out).parent
    (folder / f"ready-{coder}").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = []
        for _ in range(rng.randint(1, 5)):
            start = rng.randint(0, 900)
            end = start + rng.randint(1, 99)
            batch.append((rng.choice(documents), rng.choice(codes), start, end, None, new_guid()))
        store.add_segments(batch, coder=coder)  # returns only after COMMIT
        written += [row[5] for row in batch]
        if rng.random() < 0.2:  # readers interleave with writers, as in a real session
            store.segments(coders=[coder])
    json.dump(written, open(out, "w"))
""")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_processes_coding_at_once_lose_no_segment(tmp_path):
    path = tmp_path / "coding.sqlite"
    with Store.create(path) as store:
        for index in range(3):
            store.add_document(f"d{index}", "x" * 1000)
        for key in ("a", "b", "c"):
            store.add_code(key)
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    processes = [
        subprocess.Popen(
            [sys.executable, str(worker), str(path), coder, "30", str(tmp_path / f"{coder}.json")]
        )
        for coder in ("anna", "bo")
    ]
    import time

    waited = time.monotonic()
    while not all((tmp_path / f"ready-{coder}").exists() for coder in ("anna", "bo")):
        assert time.monotonic() - waited < 60, "workers did not start"
        assert all(p.poll() is None for p in processes), "a worker died at start-up"
        time.sleep(0.05)
    (tmp_path / "go").touch()  # both code for the same 30 s
    for process in processes:
        assert process.wait(timeout=100) == 0
    written = {
        coder: json.loads((tmp_path / f"{coder}.json").read_text()) for coder in ("anna", "bo")
    }
    with Store.open(path) as store:
        segments = store.segments()
        integrity = store.connection.execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
    for coder, guids in written.items():
        assert len(guids) > 100, f"{coder} hardly wrote anything in 30 s"
        stored = set(segments.loc[segments["coder"] == coder, "guid"])
        assert stored == set(guids), f"{coder}: {len(set(guids) - stored)} segment(s) lost"
    assert len(segments) == sum(len(g) for g in written.values())
