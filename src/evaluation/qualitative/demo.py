"""The demo project: 25 coordinator interviews generated from the synthetic national data.

Five clusters per region are drawn (seeded); for each, an interview is composed from the sentence
banks in :mod:`evaluation.qualitative.demo_text`. What the coordinator stresses follows the
cluster's synthetic truth (truth.json of ``workbench data synth``):

- ``data_access_trouble`` -> several passages on trouble obtaining data (these clusters had
  weaker prescribing effects, x0.35 in the generator);
- ``engaged_gps`` -> attendance and engagement enablers; a low ``attendance_target`` or a fading
  attendance (``fade_logit_per_year < 0``) -> attendance challenges;
- ``funding_concerns`` -> funding challenges, a theme deliberately unrelated to the effects.

The transcripts are written in several formats (.txt, .md, .docx, .html, .odt) with fictional
names, imported through a reviewed pseudonym mapping, linked to one case per cluster (region,
size, urban share, cluster_id) and coded by two coders whose coding departs from the generated
truth in realistic ways (missed passages, neighbouring codes, shorter or longer spans). The
generator's truth is written to ``truth.json`` next to the store, so the mixed-methods join has
something true to find.

Example (command line)::

    workbench data synth --out data/synthetic
    workbench qual demo --data data/synthetic --out qualitative/demo --seed 2026

Notebooks open their coding store with :func:`open_store`, which builds this demo in a
temporary folder when there is no store yet (a fresh clone), and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.errors import EvaluationError
from evaluation.files import atomic_write, atomic_write_text
from evaluation.paths import project_path
from evaluation.qualitative import demo_text
from evaluation.qualitative.cases import link_cluster_cases
from evaluation.qualitative.codebook import sync_codebook_file
from evaluation.qualitative.importers import import_transcripts
from evaluation.qualitative.pseudonyms import PseudonymMapping, read_mapping, write_mapping
from evaluation.qualitative.store import Store

REGION_ORDER = ["Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"]
FORMATS = [".txt", ".docx", ".md", ".html", ".odt"]
CODERS = ("anna", "bo")


def codebook_yaml() -> str:
    """The study codebook (themes with challenges and enablers) as codebook.yml text."""
    import yaml

    codes = []
    for key, theme in demo_text.THEMES.items():
        codes.append(
            {
                "key": key,
                "name": theme["name"],
                "description": theme["description"],
                "colour": theme["colour"],
                "children": [
                    {
                        "key": f"{key}.challenges",
                        "name": "Challenges",
                        "description": f"What made this harder: {theme['name'].lower()}.",
                    },
                    {
                        "key": f"{key}.enablers",
                        "name": "Enablers",
                        "description": f"What helped: {theme['name'].lower()}.",
                    },
                ],
            }
        )
    header = (
        "# Codebook of the coordinator interviews: themes, each with challenges and enablers.\n"
        "# Reviewed in git; apply with `workbench qual codebook sync`. "
        "Keys are stable identities:\n"
        "# rename with `name`, restructure with merged_from / split_from "
        "(see evaluation.qualitative.codebook).\n"
    )
    return header + yaml.safe_dump({"codes": codes}, sort_keys=False, allow_unicode=True, width=100)


@dataclass
class Passage:
    speaker: str
    text: str
    code: str | None  # the generator's truth (subtheme key) for coordinator answers


def _plan(cluster: dict, rng: np.random.Generator, low_attendance: float) -> dict[str, int]:
    """How many answers each subtheme gets in this interview, from the cluster's truth."""
    plan: dict[str, int] = {}
    for key in demo_text.THEMES:
        # every theme comes up; polarity at random, 1-2 answers
        polarity = "challenges" if rng.random() < 0.5 else "enablers"
        plan[f"{key}.{polarity}"] = int(rng.integers(1, 3))
    if cluster["data_access_trouble"]:
        plan["obtaining_data.challenges"] = int(rng.integers(3, 5))
        plan.pop("obtaining_data.enablers", None)
    else:
        plan["obtaining_data.enablers"] = int(rng.integers(1, 3))
        plan.pop("obtaining_data.challenges", None)
    attendance_trouble = (
        cluster["attendance_target"] < low_attendance or cluster["fade_logit_per_year"] < 0
    )
    if cluster["engaged_gps"]:
        plan["attendance.enablers"] = int(rng.integers(2, 4))
    else:
        plan.pop("attendance.enablers", None)
    if attendance_trouble:
        plan["attendance.challenges"] = int(rng.integers(2, 4))
    elif cluster["engaged_gps"]:
        plan.pop("attendance.challenges", None)
    if cluster["funding_concerns"]:
        plan["funding.challenges"] = int(rng.integers(2, 4))
        plan.pop("funding.enablers", None)
    else:
        plan.pop("funding.challenges", None)
        plan["funding.enablers"] = 1
    return plan


def _in_sentence(label: str) -> str:
    """A catalogue label inside a sentence: 'Diabetes' -> 'diabetes', but 'COPD' stays."""
    first = label.split()[0]
    return label if any(ch.isupper() for ch in first[1:]) else label[0].lower() + label[1:]


def compose_interview(
    cluster: dict, rng: np.random.Generator, names: dict[str, str], low_attendance: float
) -> list[Passage]:
    """One interview as passages (speaker, text, true code)."""
    plan = _plan(cluster, rng, low_attendance)
    fill = dict(names, n_clinics=cluster["n_clinics"], n_gps=cluster["n_gps"])
    passages = [Passage(s, t.format(**fill), None) for s, t in demo_text.OPENING]
    topics = cluster.get("topics") or []
    if topics:
        # the topics the cluster really took up in the synthetic meetings table
        labels = list(dict.fromkeys(_in_sentence(t["label"]) for t in topics))
        clinical = [t for t in topics if t["topic"] != "organisation"]
        first = clinical[0] if clinical else topics[0]
        topic_list = (
            labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        )
        passages.append(Passage("Interviewer", demo_text.TOPICS_QUESTION, None))
        passages.append(
            Passage(
                "Coordinator",
                demo_text.TOPICS_ANSWER.format(
                    n_meetings=cluster["n_meetings"],
                    topic_list=topic_list,
                    first_topic=_in_sentence(first["label"]),
                    first_year=first["year"],
                ),
                None,
            )
        )
    order = list(demo_text.THEMES)
    rng.shuffle(order)
    for theme in order:
        keys = [k for k in plan if k.startswith(theme + ".")]
        if not keys:
            continue
        bank = demo_text.THEMES[theme]
        passages.append(Passage("Interviewer", str(rng.choice(bank["questions"])), None))
        for position, key in enumerate(keys):
            sentences = list(bank[key.split(".")[1]])
            rng.shuffle(sentences)
            used = 0
            for answer in range(plan[key]):
                if answer > 0 or position > 0:
                    passages.append(
                        Passage(
                            "Interviewer",
                            str(
                                rng.choice(
                                    [
                                        "Could you say a bit more about that?",
                                        "Can you give me an example?",
                                        "How did that work out in practice?",
                                        "And what about the other side of it?",
                                    ]
                                )
                            ),
                            None,
                        )
                    )
                take = int(rng.integers(2, 4))
                chosen = sentences[used : used + take] or [str(rng.choice(bank[key.split(".")[1]]))]
                used += take
                text = " ".join(s.format(**fill) for s in chosen)
                clinical = [t for t in topics if t["topic"] != "organisation"]
                if clinical and rng.random() < 0.4:
                    topic = _in_sentence(clinical[int(rng.integers(len(clinical)))]["label"])
                    text += " " + str(rng.choice(demo_text.ANECDOTES)).format(topic=topic)
                if rng.random() < 0.25:
                    passages.append(Passage("Coordinator", str(rng.choice(demo_text.FILLER)), None))
                    passages.append(Passage("Interviewer", "Take your time.", None))
                passages.append(Passage("Coordinator", text, key))
    passages += [Passage(s, t.format(**fill), None) for s, t in demo_text.CLOSING]
    return passages


def _write_transcript(path: Path, title: str, passages: list[Passage]) -> None:
    lines = [f"{p.speaker}: {p.text}" for p in passages]
    suffix = path.suffix
    if suffix == ".txt":
        atomic_write_text(path, title + "\n\n" + "\n\n".join(lines) + "\n")
    elif suffix == ".md":
        body = "\n\n".join(f"**{p.speaker}:** {p.text}" for p in passages)
        atomic_write_text(path, f"# {title}\n\n{body}\n")
    elif suffix == ".html":
        from html import escape

        body = "\n".join(f"<p><b>{escape(p.speaker)}:</b> {escape(p.text)}</p>" for p in passages)
        atomic_write_text(
            path,
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head>"
            f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n",
        )
    elif suffix == ".docx":
        import docx

        document = docx.Document()
        document.add_heading(title, level=1)
        for line in lines:
            document.add_paragraph(line)
        atomic_write(path, document.save)
    elif suffix == ".odt":
        from odf.opendocument import OpenDocumentText
        from odf.text import H, P

        document = OpenDocumentText()
        document.text.addElement(H(outlinelevel=1, text=title))
        for line in lines:
            document.text.addElement(P(text=line))
        atomic_write(path, lambda temporary: document.save(str(temporary)))
    else:  # pragma: no cover - FORMATS lists the suffixes above
        raise ValueError(suffix)


def _code_like_a_person(
    store: Store,
    document_id: int,
    text: str,
    truths: list[tuple[int, int, str]],
    coder: str,
    rng: np.random.Generator,
    profile: dict,
) -> int:
    """Code the true passages with realistic departures: misses, neighbouring codes, partial
    spans (a sentence or two), spans that run into the question, extra codes on a passage."""
    keys = [k for k in (f"{t}.{p}" for t in demo_text.THEMES for p in ("challenges", "enablers"))]
    rows = []
    for start, end, key in truths:
        if rng.random() < profile["miss"]:
            continue
        code = key
        draw = rng.random()
        if draw < profile["sibling"]:
            theme, polarity = key.split(".")
            code = f"{theme}.{'enablers' if polarity == 'challenges' else 'challenges'}"
        elif draw < profile["sibling"] + profile["other_theme"]:
            code = str(
                rng.choice([k for k in keys if k.split(".")[1] == key.split(".")[1] and k != key])
            )
        s, e = start, end
        if rng.random() < profile["partial"]:
            sentence_ends = [start + i + 1 for i, ch in enumerate(text[start:end]) if ch in ".?!"]
            if len(sentence_ends) > 1:
                cut = int(rng.integers(0, len(sentence_ends) - 1))
                if rng.random() < 0.5:
                    e = sentence_ends[cut]
                else:
                    s = sentence_ends[cut] + 1
        elif rng.random() < profile["extend"]:
            s = max(0, text.rfind("\n", 0, max(0, start - 2)) + 1)  # include the question
        rows.append((document_id, store.code_id(code), s, e))
        if rng.random() < profile["extra"]:
            rows.append((document_id, store.code_id(str(rng.choice(keys))), s, e))
    store.add_segments(rows, coder=coder)
    return len(rows)


PROFILES = {
    "anna": dict(miss=0.07, sibling=0.05, other_theme=0.04, partial=0.20, extend=0.05, extra=0.05),
    "bo": dict(miss=0.12, sibling=0.07, other_theme=0.05, partial=0.30, extend=0.08, extra=0.07),
}


class DemoError(EvaluationError, ValueError):
    """The demo cannot be built from this data or into this folder; the message says why."""


class DemoDataMissing(DemoError, FileNotFoundError):
    """A file the demo is built from is missing from the data folder; the message names it."""


def _is_demo_folder(folder: Path) -> bool:
    try:
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return truth.get("generator") == "evaluation.qualitative.demo"


def build_demo(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 2026,
    per_region: int = 5,
    progress: bool = True,
) -> dict:
    """Generate the demo project in ``out_dir`` (codebook.yml, transcripts/, pseudonyms.yml,
    coding.sqlite, truth.json) from the synthetic data in ``data_dir``. Returns a summary.

    The folder is built next to ``out_dir`` and renamed into place, replacing an old demo."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    for name in ("clusters.parquet", "clinics.parquet", "truth.json"):
        if not (data_dir / name).is_file():
            raise DemoDataMissing(
                f"{data_dir / name} is missing: generate the data with `workbench data synth "
                f"--out {data_dir}`"
            )
    if out_dir.exists() and any(out_dir.iterdir()) and not _is_demo_folder(out_dir):
        raise DemoError(
            f"{out_dir} exists and is not a demo folder made by `workbench qual demo`; refusing to "
            "replace it (it may hold real transcripts). Choose a new or empty folder, e.g. "
            "qualitative/demo."
        )
    clusters = pd.read_parquet(data_dir / "clusters.parquet")
    meetings = (
        pd.read_parquet(data_dir / "meetings.parquet")
        if (data_dir / "meetings.parquet").is_file()
        else None
    )
    truth = json.loads((data_dir / "truth.json").read_text(encoding="utf-8"))
    flags = pd.DataFrame(truth["clusters"]).set_index("cluster_id")
    rng = np.random.default_rng(seed)
    low_attendance = float(flags["attendance_target"].quantile(0.3))

    sampled = []
    for region in REGION_ORDER:
        mine = clusters[clusters["region"] == region].sort_values("cluster_id")
        if len(mine) < per_region:
            raise DemoError(
                f"region {region} has only {len(mine)} clusters in {data_dir}; the demo interviews "
                f"{per_region} per region: use the national synthetic data (`workbench data synth "
                "--scale national`) or --per-region"
            )
        picks = rng.choice(len(mine), size=per_region, replace=False)
        sampled += mine.iloc[sorted(picks)].to_dict("records")

    staging = out_dir.parent / f".{out_dir.name}.building"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        (staging / "transcripts").mkdir(parents=True)
        atomic_write_text(staging / "codebook.yml", codebook_yaml())

        # fictional names -> pseudonyms: the reviewed mapping the import goes through
        towns = list(rng.permutation(demo_text.TOWN_NAMES))
        pairs, kinds = [], []
        for index, name in enumerate(demo_text.COORDINATOR_NAMES, start=1):
            pairs.append((name, f"[Coordinator {index}]"))
            kinds.append("person")
        for index, name in enumerate(demo_text.COLLEAGUE_NAMES, start=1):
            pairs.append((name, f"[GP {index}]"))
            kinds.append("person")
        for index, name in enumerate(demo_text.CONSULTANT_NAMES, start=1):
            pairs.append((name, f"[Consultant {index}]"))
            kinds.append("person")
        for index, name in enumerate(demo_text.TOWN_NAMES, start=1):
            pairs.append((name, f"[Town {index}]"))
            kinds.append("place")
        for index, name in enumerate(demo_text.CLINIC_NAMES, start=1):
            pairs.append((name, f"[Clinic {index}]"))
            kinds.append("clinic")
        mapping = PseudonymMapping(
            pairs, reviewed_by="demo generator (all names are fictional)", kinds=kinds
        )
        write_mapping(staging / "pseudonyms.yml", mapping)
        mapping = read_mapping(staging / "pseudonyms.yml")

        interviews, interview_topics = [], []
        for index, cluster in enumerate(sampled):
            cluster_truth = flags.loc[cluster["cluster_id"]].to_dict()
            names = {
                "town": towns[index % len(towns)],
                "colleague": demo_text.COLLEAGUE_NAMES[
                    int(rng.integers(len(demo_text.COLLEAGUE_NAMES)))
                ],
                "consultant": demo_text.CONSULTANT_NAMES[REGION_ORDER.index(cluster["region"])],
                "clinic": demo_text.CLINIC_NAMES[int(rng.integers(len(demo_text.CLINIC_NAMES)))],
            }
            topics, n_meetings = [], 0
            if meetings is not None:
                from evaluation.data.catalogue import TOPICS

                mine = meetings[meetings["cluster_id"] == cluster["cluster_id"]].sort_values("date")
                n_meetings = len(mine)
                first_meetings = mine.drop_duplicates("topic")
                topics = [
                    {"topic": t, "label": TOPICS.get(t, t), "year": pd.Timestamp(d).year}
                    for t, d in zip(first_meetings["topic"], first_meetings["date"])
                ]
            passages = compose_interview(
                {**cluster, **cluster_truth, "topics": topics, "n_meetings": n_meetings},
                rng,
                names,
                low_attendance,
            )
            document = f"interview_{index + 1:02d}_{cluster['cluster_id']}"
            path = staging / "transcripts" / f"{document}{FORMATS[index % len(FORMATS)]}"
            title = (
                f"Interview {index + 1:02d} with the coordinator, "
                f"{demo_text.COORDINATOR_NAMES[index]}"
            )
            _write_transcript(path, title, passages)
            interviews.append((cluster, cluster_truth, document, path, passages))
            interview_topics.append((document, topics))

        store = Store.create(staging / "coding.sqlite", name="Coordinator interviews (demo)")
        sync_codebook_file(store, staging / "codebook.yml")
        import_transcripts(store, [i[3] for i in interviews], pseudonyms=mapping, progress=progress)
        link_cluster_cases(
            store, data_dir
        )  # one case per cluster: region, size, urban share, cluster_id
        cases_truth = []
        for cluster, cluster_truth, document, path, passages in interviews:
            document_id = store.document_id(document)
            text = store.document_text(document_id)
            cursor, truths = 0, []
            for passage in passages:
                masked = mapping.apply(passage.text, source=document)
                position = text.find(masked, cursor)
                if position < 0:  # pragma: no cover - the importer keeps every passage verbatim
                    raise RuntimeError(
                        f"{document}: passage not found after import: {masked[:60]!r}"
                    )
                cursor = position + len(masked)
                if passage.code:
                    truths.append((position, cursor, passage.code))
            for coder in CODERS:
                _code_like_a_person(store, document_id, text, truths, coder, rng, PROFILES[coder])
            counts: dict[str, int] = {}
            for _, _, key in truths:
                counts[key] = counts.get(key, 0) + 1
            attendance_trouble = bool(
                cluster_truth["attendance_target"] < low_attendance
                or cluster_truth["fade_logit_per_year"] < 0
            )
            cases_truth.append(
                {
                    "cluster_id": cluster["cluster_id"],
                    "region": cluster["region"],
                    "document": document,
                    "source_file": path.name,
                    "topics_mentioned": [
                        t["topic"] for t in next(i for i in interview_topics if i[0] == document)[1]
                    ],
                    "synthetic_truth": {
                        k: (
                            bool(v)
                            if isinstance(v, (bool, np.bool_))
                            else float(v)
                            if isinstance(v, (float, np.floating))
                            else v
                        )
                        for k, v in cluster_truth.items()
                    },
                    "stresses": {
                        "obtaining_data.challenges": bool(cluster_truth["data_access_trouble"]),
                        "attendance.enablers": bool(cluster_truth["engaged_gps"]),
                        "attendance.challenges": attendance_trouble,
                        "funding.challenges": bool(cluster_truth["funding_concerns"]),
                    },
                    "true_passages": counts,
                    "true_spans": [{"start": s, "end": e, "code": k} for s, e, k in truths],
                }
            )
        store.add_memo(
            "Demo project generated from the synthetic national data. Coders 'anna' and 'bo' coded "
            "blind; see truth.json for what each interview was generated to stress.",
            target="project",
            title="About this project",
        )
        store.close()
        demo_truth = {
            "generator": "evaluation.qualitative.demo",
            "seed": seed,
            "synthetic_data_seed": truth.get("seed"),
            "coders": list(CODERS),
            "low_attendance_threshold": low_attendance,
            "relations": {
                "obtaining_data.challenges": (
                    "stressed (3-4 answers) in clusters with data_access_trouble, whose "
                    "prescribing effects were weaker (x0.35) in the synthetic data"
                ),
                "attendance.enablers": "stressed (2-3 answers) in clusters with engaged_gps",
                "attendance.challenges": (
                    "stressed (2-3 answers) where attendance_target is in the lowest 30% "
                    "or attendance fades (fade_logit_per_year < 0)"
                ),
                "funding.challenges": (
                    "stressed (2-3 answers) in clusters with funding_concerns; deliberately "
                    "unrelated to the prescribing effects"
                ),
            },
            "cases": cases_truth,
        }
        atomic_write_text(
            staging / "truth.json", json.dumps(demo_truth, indent=2, ensure_ascii=False) + "\n"
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # no half-built demo left behind
        raise
    # A whole folder is swapped in, not a file written: evaluation.files replaces single files, so
    # the folder is built aside and renamed; the old demo is moved aside first and removed last,
    # so a crash in between leaves a complete demo (old or new) under one of the two names.
    replaced = out_dir.parent / f".{out_dir.name}.replaced"
    if replaced.exists():
        shutil.rmtree(replaced)
    if out_dir.exists():
        out_dir.rename(replaced)
    staging.rename(out_dir)
    shutil.rmtree(replaced, ignore_errors=True)
    return {
        "folder": str(out_dir),
        "interviews": len(interviews),
        "store": str(out_dir / "coding.sqlite"),
    }


@contextlib.contextmanager
def open_store(
    store_path: str | os.PathLike,
    data_dir: str | os.PathLike,
    *,
    seed: int = 2026,
    per_region: int = 5,
) -> Iterator[Store]:
    """The coding store at ``store_path``, opened for the ``with`` block; if there is none (a
    fresh clone), the demo project built from ``data_dir`` instead, in a temporary folder of
    this call's own that is removed when the block ends.

    Parameters
    ----------
    store_path : the coding store (SQLite) to open, e.g. a notebook's ``qualitative_store``.
    data_dir : the synthetic data (``workbench data synth``) to build the demo from if needed.
    seed, per_region : passed to :func:`build_demo`.

    Relative paths are found from the project folder too (:func:`evaluation.paths.project_path`),
    so a notebook running in notebooks/ finds ``qualitative/demo/coding.sqlite``. When the demo
    is built, one printed line says so. Parallel runs never share the temporary folder, and it
    is removed as the block ends (not by a finaliser, which a stopped batch kernel may skip).

    Raises
    ------
    DemoDataMissing : no store, and ``data_dir`` lacks what the demo is built from.

    Example
    -------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> Store.create(folder / "coding.sqlite").close()
    >>> with open_store(folder / "coding.sqlite", data_dir=folder / "synthetic") as store:
    ...     store.summary()["documents"]
    0
    >>> with open_store(folder / "none.sqlite", data_dir=folder / "synthetic") as store:
    ...     pass
    Traceback (most recent call last):
    ...
    evaluation.qualitative.demo.DemoDataMissing: no coding store at ...none.sqlite, and the demo ...
    """
    found = project_path(store_path)
    if found.is_file():
        with Store.open(found) as store:
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="interview-demo-") as folder:
        try:
            built = build_demo(
                project_path(data_dir),
                Path(folder) / "demo",
                seed=seed,
                per_region=per_region,
                progress=False,
            )
        except DemoDataMissing as error:
            raise DemoDataMissing(
                f"no coding store at {store_path}, and the demo cannot be built instead: {error}"
            ) from None
        print(
            f"No coding store at {store_path}: built the demo project (invented interviews) "
            f"from {data_dir}."
        )
        with Store.open(built["store"]) as store:
            yield store
