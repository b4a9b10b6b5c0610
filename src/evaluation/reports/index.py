"""index.html: every report of a run with its status, for people; manifest.json is for machines.

The page is rendered with Jinja2 autoescaping, so names that come from data or parameters
(a cluster called ``<script>``, say) appear as text. It is rewritten atomically after every
finished notebook, so during a run, and after an interrupted one, it shows exactly what is done:
a notebook that never finished is listed as "not finished", never as a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATUS_TEXT = {
    "ok": "Completed",
    "failed": "Failed",
    "blocked": "Blocked by disclosure check",
    "pending": "Not finished",
    "running": "Not finished",
}

#: the page's Jinja2 template, an HTML file beside the report template
TEMPLATE = Path(__file__).resolve().parent / "templates" / "run_index.html"


def render_index(manifest: dict[str, Any]) -> str:
    """The index page for a manifest (see :mod:`evaluation.batch.runner` for its fields)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    jobs = []
    for job in manifest.get("jobs", []):
        shown = [
            (k, v)
            for k, v in job.get("parameters", {}).items()
            if k not in ("data_dir", "results_dir")
        ]
        jobs.append(
            {
                **job,
                "notebook_name": Path(job["notebook"]).name,
                "shown_parameters": shown,
                "duration_s": job.get("duration_s"),
            }
        )
    return env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        m={**manifest, "jobs": jobs}, status_text=STATUS_TEXT
    )
