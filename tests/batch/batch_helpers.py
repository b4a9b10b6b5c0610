"""Plain helpers for the batch tests (importable; conftest.py holds the fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

REGIONS = ("hovedstaden", "sjaelland", "syddanmark", "midtjylland", "nordjylland")
# a name from the data with markup in it: reports must show it as text
EVIL_LABEL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
# the tiny notebooks need only these; preloading statsmodels etc. would cost seconds per kernel
FAST_PRELOAD = ("pandas", "matplotlib.pyplot", "evaluation.batch.record")
# the index's job log (in "Run details"): one row per job, id job-<job_id>, data-status
JOB_ROWS = "//table[contains(@class, 'wb-job-log')]/tbody/tr"


def write_parameters(folder: Path, regions=REGIONS[:3], **per_region: dict) -> Path:
    """One YAML file per region; ``per_region[slug]`` adds or overrides values."""
    folder.mkdir(parents=True, exist_ok=True)
    for slug in regions:
        values = {"region": slug, "indicator": "nsaid", **per_region.get(slug, {})}
        (folder / f"{slug}.yml").write_text(
            yaml.safe_dump(values, allow_unicode=True), encoding="utf-8"
        )
    return folder


def read_manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def jobs_by_id(manifest: dict) -> dict:
    return {job["job_id"]: job for job in manifest["jobs"]}
