"""index.html: the page a reader starts from; manifest.json is for machines.

The page groups a run's reports by the question they answer -- prescribing (notebook 01),
attendance (02), interviews (03), mixed methods (04), national (00); any other notebook under its
own title -- and within each question by region (as Danes write the names), each with its
headline finding: the first sentence of the report's "Key findings" box. Each links the HTML
report and, when ``workbench run --format html,pdf`` made one, its PDF. A "synthetic demo data"
banner tops the page when the data are the workbench's synthetic set. The job log (status,
durations, executed notebooks, messages, parameters), the data folder's checksums and the
package versions follow in "Run details". No absolute local path appears: the data folder is
named relative to the project (see :mod:`evaluation.reports.redact`).

A run of cluster reports (``workbench run --per-cluster``) gets a section per region instead:
a table of its clusters (id and name as the data give them) with, per language, the link to the
report and its PDF, or its status; each region folded in a ``<details>`` that says how many
reports are ready, so ~114 clusters in two languages stay one screen long.

The page's own words go through :mod:`evaluation.i18n`: English, or Danish for a run of Danish
cluster reports (the first of ``--lang``). A report held back by the disclosure check is not
linked, and neither is its executed notebook (the runner keeps that outside the run folder, in
``withheld/<run-id>/``); the page says it was withheld, and where in the report (table, column,
row), never the number.

The page is rendered with Jinja2 autoescaping, so names that come from data or parameters
(a cluster called ``<script>``, say) appear as text. It is rewritten atomically after every
finished notebook, so during a run, and after an interrupted one, it shows exactly what is done:
a notebook that never finished is listed as "not finished", never as a report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evaluation.i18n import N_, gettext_for, ngettext_for
from evaluation.reports.html import (
    RAW_VALUES_ATTRIBUTE,
    TEMPLATE_DIR,
    describe_parameters,
    reader_time,
    stylesheet,
)
from evaluation.reports.redact import redact, redact_tree

INDEX_TEMPLATE = "run_index.html.j2"
STATUS_TEXT = {
    "ok": N_("Completed"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked by disclosure check"),
    "pending": N_("Not finished"),
    "running": N_("Not finished"),
}
#: how each language names itself in the cluster tables' column headings
LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}

#: the questions the notebooks answer, in the order the landing page shows them, keyed by the
#: notebook's number (the two digits its file name starts with)
QUESTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "01",
        "prescribing",
        N_("Prescribing"),
        N_("Did a cluster's work on a topic change its clinics' prescribing?"),
    ),
    (
        "02",
        "attendance",
        N_("Attendance"),
        N_(
            "Is attendance at cluster meetings sustained, and do clinics that attend more "
            "change more?"
        ),
    ),
    ("03", "interviews", N_("Interviews"), N_("What do the region's cluster coordinators say?")),
    (
        "04",
        "mixed-methods",
        N_("Mixed methods"),
        N_("Do clusters whose coordinators raise a theme show different effects or attendance?"),
    ),
    (
        "00",
        "national",
        N_("National"),
        N_("How do the regions compare, and what is the effect across Denmark?"),
    ),
)

_NO_HEADLINE = {
    "failed": N_("The notebook failed before it finished; the report shows where."),
    "blocked": N_(
        "Withheld: the report would show a count of persons below the disclosure threshold; "
        "neither the report nor its executed notebook is in this folder."
    ),
    "pending": N_("Not finished yet."),
    "running": N_("Not finished yet."),
}


def index_language(manifest: dict[str, Any]) -> str:
    """The language of the index page: the first of ``--lang`` for a run of cluster reports
    (Danish by default: coordinators read Danish first), else English.

    >>> index_language({"settings": {"per_cluster": True, "langs": ["da", "en"]}})
    'da'
    >>> index_language({"settings": {}})
    'en'
    """
    settings = manifest.get("settings") or {}
    langs = settings.get("langs") or []
    if settings.get("per_cluster") and langs and langs[0] in LANGUAGE_NAMES:
        return langs[0]
    return "en"


def _question_of(notebook: str) -> tuple[str, str, str] | None:
    number = re.match(r"^(\d{2})_", Path(notebook).name)
    if number:
        for key, slug, name, question in QUESTIONS:
            if key == number.group(1):
                return slug, name, question
    return None


def _cards(jobs: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """One card per job of a group; the heading names only what differs between them."""
    from evaluation.data.catalogue import REGIONS

    order = {r.slug: i for i, r in enumerate(REGIONS)}
    described = [describe_parameters(job.get("parameters")) for job in jobs]
    rests = {" · ".join(d.split(" · ")[1:]) for d in described}
    cards = []
    for job, description in zip(jobs, described):
        parameters = job.get("parameters") or {}
        if parameters.get("region") and len(rests) == 1:
            heading = description.split(" · ")[0]
        else:
            heading = description or ("All regions" if job.get("kind") == "summary" else "")
        heading = heading or job.get("label") or job["job_id"]
        status = job.get("status", "pending")
        shown = status in ("ok", "failed")
        cards.append(
            {
                "job_id": job["job_id"],
                "heading": heading,
                "status": status,
                "headline": redact(job.get("headline") or "", names) if shown else "",
                "note": _NO_HEADLINE.get(status, ""),
                "report": job.get("report") if shown else None,
                "pdf": job.get("pdf") if shown else None,
                "region": parameters.get("region"),
                "order": order.get(parameters.get("region"), len(order)),
            }
        )
    return sorted(cards, key=lambda c: c["order"])


def _groups(jobs: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    known: dict[str, dict[str, Any]] = {}
    other: dict[str, dict[str, Any]] = {}
    for job in jobs:
        question = _question_of(job["notebook"])
        if question is not None:
            slug, name, text = question
            group = known.setdefault(slug, {"id": slug, "name": name, "question": text, "jobs": []})
        else:
            stem = Path(job["notebook"]).stem
            group = other.setdefault(
                stem,
                {
                    "id": "notebook-" + re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-"),
                    "name": job.get("title") or stem,
                    "question": None,
                    "jobs": [],
                },
            )
        group["jobs"].append(job)
    ordered = [known[slug] for _, slug, _, _ in QUESTIONS if slug in known]
    ordered += [other[stem] for stem in sorted(other)]
    for group in ordered:
        group["cards"] = _cards(group["jobs"], names)
        titles = [job.get("title") for job in group["jobs"] if job.get("title")]
        unique = list(dict.fromkeys(titles))
        group["notebook_titles"] = [t for t in unique if t != group["name"]]
    return ordered


def _cluster_regions(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """The cluster reports by region: for each region (in the catalogue's order) a row per
    cluster with one cell per language (link, PDF and status), and how many are ready."""
    from evaluation.data.catalogue import REGIONS

    clustered = [job for job in jobs if job.get("kind") == "cluster" and job.get("cluster")]
    langs = list(dict.fromkeys(job["cluster"]["lang"] for job in clustered))
    langs.sort(key=lambda lang: list(LANGUAGE_NAMES).index(lang) if lang in LANGUAGE_NAMES else 9)
    names = {region.slug: region.name for region in REGIONS}
    order = [region.slug for region in REGIONS]
    by_region: dict[str, dict[str, dict[str, Any]]] = {}
    for job in clustered:
        cluster = job["cluster"]
        row = by_region.setdefault(cluster["region"], {}).setdefault(
            cluster["id"], {"id": cluster["id"], "name": cluster.get("name") or "", "cells": {}}
        )
        status = job.get("status", "pending")
        shown = status in ("ok", "failed")
        row["cells"][cluster["lang"]] = {
            "job_id": job["job_id"],
            "status": status,
            "report": job.get("report") if shown else None,
            "pdf": job.get("pdf") if shown else None,
        }
    regions = []
    for slug in sorted(by_region, key=lambda r: (order.index(r) if r in order else 99, r)):
        rows = [by_region[slug][cid] for cid in sorted(by_region[slug])]
        for row in rows:
            row["cells"] = [row["cells"].get(lang) for lang in langs]
        cells = [cell for row in rows for cell in row["cells"] if cell]
        regions.append(
            {
                "slug": slug,
                "name": names.get(slug, slug),
                "rows": rows,
                "n_clusters": len(rows),
                "n_reports": len(cells),
                "n_ok": sum(cell["status"] == "ok" for cell in cells),
            }
        )
    return {
        "langs": [(lang, LANGUAGE_NAMES.get(lang, lang)) for lang in langs],
        "regions": regions,
    }


def _by_region(groups: list[dict[str, Any]], _=lambda text: text) -> dict[str, Any]:
    """Regions down, questions across: each region's reports in one row (``_`` translates
    the words the cells add)."""
    from evaluation.data.catalogue import REGIONS

    regional = [g for g in groups if any(card["region"] for card in g["cards"])]
    seen = {card["region"] for g in regional for card in g["cards"] if card["region"]}
    regions = []
    for region in REGIONS:
        if region.slug not in seen:
            continue
        cells = []
        for group in regional:
            cards = [c for c in group["cards"] if c["region"] == region.slug]
            cells.append(
                [
                    {
                        **c,
                        "short": (
                            _("report")
                            if c["heading"] == region.name
                            else c["heading"].removeprefix(region.name + " · ")
                        )
                        if c["status"] in ("ok", "failed")
                        else _(STATUS_TEXT.get(c["status"], c["status"])).lower(),
                    }
                    for c in cards
                ]
            )
        regions.append({"name": region.name, "cells": cells})
    return {"groups": regional, "regions": regions}


def render_index(manifest: dict[str, Any]) -> str:
    """The index page for a manifest (see :mod:`evaluation.batch.runner` for its fields).

    Besides the job entries it reads ``data_name`` (the data folder as the page names it),
    ``synthetic`` (None, or {seed, scale} of the synthetic set) and ``path_names`` ({absolute
    path: shown name}) when the runner put them there.
    """
    import jinja2

    from evaluation.reports.redact import shown_path

    names = manifest.get("path_names") or {}
    lang = index_language(manifest)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR / "evaluation")),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    _ = gettext_for(lang)
    # newstyle: _("... %(n)s", n=...) formats after translating, escaping the values
    env.install_gettext_callables(_, ngettext_for(lang), newstyle=True)
    jobs = []
    for job in manifest.get("jobs", []):
        shown = [(k, redact(str(v), names)) for k, v in (job.get("parameters") or {}).items()]
        title = job.get("title") or Path(job["notebook"]).stem
        jobs.append(
            {
                **job,
                "title": title,
                "shown_parameters": shown,
                "duration_s": job.get("duration_s"),
                "message": redact(job.get("error") or "", names),
                # a blocked report's executed notebook holds the unsuppressed table
                "notebook_link": job.get("notebook_out")
                if job.get("status") != "blocked"
                else None,
                "report": job.get("report") if job.get("status") != "blocked" else None,
            }
        )
    # cluster reports are listed by region in their own section, not as cards
    groups = _groups([job for job in jobs if job.get("kind") != "cluster"], names)
    for group in groups:
        group["name"], group["question"] = (
            _(group["name"]),
            group["question"] and _(group["question"]),
        )
        for card in group["cards"]:
            card["note"] = card["note"] and _(card["note"])
    data_name = manifest.get("data_name")
    if not data_name and manifest.get("data_dir"):
        data_name = shown_path(manifest["data_dir"])
    checksums = [
        (redact(name, names), digest)
        for name, digest in sorted((manifest.get("data_checksums") or {}).items())
    ]
    page = {
        **manifest,
        "data_name": data_name,
        "started_text": reader_time(manifest.get("started")),
        "finished_text": reader_time(manifest.get("finished")),
        "checksums": checksums,
        "versions_list": sorted((manifest.get("versions") or {}).items()),
        "git": manifest.get("git") or {},
        "counts": manifest.get("counts") or {},
    }
    html = env.get_template(INDEX_TEMPLATE).render(
        m=page,
        jobs=jobs,
        groups=groups,
        by_region=_by_region(groups, _),
        clusters=_cluster_regions(jobs),
        lang=lang,
        status_text={status: _(text) for status, text in STATUS_TEXT.items()},
        css=stylesheet(),
        raw_attr=RAW_VALUES_ATTRIBUTE,
    )
    # a safety net over everything shown: no local path from a message or a name gets through
    from lxml import html as lh

    document = lh.document_fromstring(html)
    redact_tree(document, names)
    return "<!DOCTYPE html>\n" + lh.tostring(document, encoding="unicode", method="html")
