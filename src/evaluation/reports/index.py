"""index.html: every report of a run with its status, for people; manifest.json is for machines.

The page is rendered with Jinja2 autoescaping, so names that come from data or parameters
(a cluster called ``<script>``, say) appear as text. It is rewritten atomically after every
finished notebook, so during a run, and after an interrupted one, it shows exactly what is done:
a notebook that never finished is listed as "not finished", never as a report.
"""

from __future__ import annotations

from typing import Any

STATUS_TEXT = {
    "ok": "Completed",
    "failed": "Failed",
    "blocked": "Blocked by disclosure check",
    "pending": "Not finished",
    "running": "Not finished",
}

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Reports of run {{ m.run_id }}</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
 table { border-collapse: collapse; width: 100%; }
 th, td { border-bottom: 1px solid #ddd; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
 th { background: #f3f5f7; }
 .status { font-weight: 600; padding: 0.1em 0.5em; border-radius: 0.3em; white-space: nowrap; }
 .status-ok { background: #dff0d8; color: #1e5b1e; }
 .status-failed, .status-blocked { background: #f8d7da; color: #7a1c24; }
 .status-pending, .status-running { background: #fff3cd; color: #6b5200; }
 .message { white-space: pre-wrap; font-size: 0.9em; max-width: 40em; }
 .params { font-size: 0.85em; color: #444; }
 .banner { background: #fff3cd; padding: 0.6em 1em; border-radius: 0.3em; }
</style>
</head>
<body>
<main>
<h1>Reports of run {{ m.run_id }}</h1>
<p>Started {{ m.started }}{% if m.finished %}, finished {{ m.finished }}{% endif %}.
 Data: <code>{{ m.data_dir }}</code>. Git commit: <code>{{ m.git.commit or "unknown" }}</code>{% if m.git.dirty %} (with uncommitted changes){% endif %}.</p>
<p id="counts">{% for status, n in m.counts.items() if n %}<span class="status status-{{ status }}">{{ n }} {{ status_text[status] | lower }}</span> {% endfor %}</p>
{% if m.status != "finished" %}
<p class="banner" role="status">This run is still in progress, or it was interrupted. Reports listed as
 "Not finished" do not exist yet; <code>workbench run --resume</code> finishes them.</p>
{% endif %}
<table>
<thead><tr><th scope="col">Notebook</th><th scope="col">Run</th><th scope="col">Status</th>
<th scope="col">Duration</th><th scope="col">Report</th><th scope="col">Executed notebook</th><th scope="col">Message</th></tr></thead>
<tbody>
{% for job in m.jobs %}
<tr id="job-{{ job.job_id }}" data-status="{{ job.status }}">
 <td>{{ job.notebook_name }}</td>
 <td>{{ job.label }}<div class="params">{% for k, v in job.shown_parameters %}{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</div></td>
 <td><span class="status status-{{ job.status }}">{{ status_text.get(job.status, job.status) }}</span>{% if job.reused %}<div class="params">unchanged, kept from before</div>{% endif %}</td>
 <td>{% if job.duration_s is not none %}{{ "%.1f" | format(job.duration_s) }} s{% endif %}</td>
 <td>{% if job.report %}<a href="{{ job.report }}">report</a>{% endif %}</td>
 <td>{% if job.notebook_out %}<a href="{{ job.notebook_out }}">{{ job.job_id }}.ipynb</a>{% endif %}</td>
 <td><div class="message">{{ job.error or "" }}</div></td>
</tr>
{% endfor %}
</tbody>
</table>
</main>
</body>
</html>
"""


def render_index(manifest: dict[str, Any]) -> str:
    """The index page for a manifest (see :mod:`evaluation.batch.runner` for its fields)."""
    from pathlib import Path

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
    return env.from_string(_TEMPLATE).render(m={**manifest, "jobs": jobs}, status_text=STATUS_TEXT)
