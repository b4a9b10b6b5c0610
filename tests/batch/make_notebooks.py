"""Writes the tiny notebooks in tests/batch/notebooks/ (run by hand after changing them).

They stand in for the real region notebooks: seconds instead of minutes, and parameters that
make them fail on purpose (``behaviour``) so the batch runner's fault handling can be tested.
Like the real ones they show tables through the presentation layer, draw figures in the report
style (2x PNG) and compute their "Key findings" box last, which the report moves to the top; an
instruction for the notebook's user is tagged ``notebook-only`` and stays out of the report.
"""

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent / "notebooks"
KERNEL = {
    "name": "evaluation",
    "display_name": "Python (evaluation workbench)",
    "language": "python",
}


def region_notebook():
    return new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}},
        cells=[
            new_markdown_cell(
                "# Tiny region report\n\nA stand-in for a region notebook in the batch tests."
            ),
            new_markdown_cell(
                "Change the values in the next cell and run all cells to try another region.",
                metadata={"tags": ["notebook-only"]},
            ),
            new_code_cell(
                'region = "hovedstaden"      # a region slug\n'
                'indicator = "nsaid"         # an indicator key\n'
                'data_dir = "data/synthetic" # a data folder\n'
                'cluster_label = "Klynge Nord"  '
                "# shown in a table and a figure title (escaping tests)\n"
                'behaviour = "ok"            # ok, raise, die, leak (show a small count), sleep\n'
                "sleep_s = 0.0               # seconds to sleep when behaviour is sleep",
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                "import builtins\nimport os\nimport time\n\n"
                "import matplotlib.pyplot as plt\nimport pandas as pd\n\n"
                "from evaluation.batch.record import record, record_estimate\n"
                "from evaluation.reports.disclosure import suppress_count, suppress_small_counts\n"
                "from evaluation.reports.present import (\n"
                "    describe_change, key_findings, reader_table, use_report_style,\n"
                ")\n\n"
                "use_report_style()"
            ),
            new_markdown_cell("## A fresh kernel"),
            new_code_cell(
                "# Nothing from an earlier notebook may be visible here.\n"
                'leaked = globals().get("LEAK_MARKER")\n'
                'assert leaked is None, f"state leaked: LEAK_MARKER={leaked!r}"\n'
                'assert not hasattr(builtins, "leak_marker"), (\n'
                '    f"state leaked: builtins.leak_marker={builtins.leak_marker!r}"\n'
                ")\n"
                'assert "pd" not in dir(builtins)\n'
                "LEAK_MARKER = region\n"
                "builtins.leak_marker = region\n"
                'record("kernel_pid", os.getpid())\n'
                'record("first_execution_count", get_ipython().execution_count)\n'
                'print(f"Region {region}, kernel process {os.getpid()}")'
            ),
            new_markdown_cell("## Patients per cluster"),
            new_code_cell(
                "table = pd.DataFrame({\n"
                '    "cluster": [cluster_label, "Klynge Syd", "Klynge Vest"],\n'
                '    "n_patients": [3, 40, 125],\n'
                '    "ddd_per_1000_per_day": [1.25, 2.5, 3.75],\n'
                "})\n"
                'shown = table if behaviour == "leak" else suppress_small_counts(table)\n'
                'record("table", table)\n'
                "reader_table(shown, "
                'labels={"ddd_per_1000_per_day": "DDD per 1,000 patients per day"})'
            ),
            new_code_cell(
                "fig, ax = plt.subplots(figsize=(4, 3))\n"
                'bars = ax.bar(table["cluster"], table["n_patients"], color="#1b6ca8")\n'
                'ax.bar_label(bars, labels=[suppress_count(n) for n in table["n_patients"]])\n'
                'ax.set_title(f"Patients per cluster in {region} ({cluster_label})")\n'
                'ax.set_ylabel("number of patients")\n'
                "plt.show()"
            ),
            new_markdown_cell("## The estimate"),
            new_code_cell(
                'if behaviour == "raise":\n'
                '    raise ValueError(f"deliberate failure in {region}")\n'
                'if behaviour == "die":\n'
                "    os.kill(os.getpid(), 9)\n"
                'if behaviour == "sleep":\n'
                "    time.sleep(sleep_s)\n"
                'effect = {"hovedstaden": -0.3, "sjaelland": -0.1, "syddanmark": -0.2, '
                '"midtjylland": -0.25, "nordjylland": 0.05}[region]\n'
                'record_estimate("effect", estimate=effect, se=0.1, '
                'label="Change in tiny rate", n=125)\n'
                'print(f"The tiny effect in this region is {effect}.")'
            ),
            new_code_cell(
                "key_findings([\n"
                "    describe_change(effect, effect - 0.196, effect + 0.196,\n"
                '                    what=f"The tiny rate around {cluster_label}", '
                'unit="per 1,000"),\n'
                '    "The table of patients per cluster hides counts below 5.",\n'
                "])"
            ),
        ],
    )


def summary_notebook():
    return new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}},
        cells=[
            new_markdown_cell("# Tiny national summary"),
            new_code_cell(
                'results_dir = "outputs/latest"  # a run folder\ndata_dir = "data/synthetic"',
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                "from evaluation.batch.record import read_estimates, read_jobs, record\n"
                "from evaluation.data.catalogue import REGION_NAMES\n"
                "from evaluation.reports.present import key_findings, reader_table\n"
                "estimates = read_estimates(results_dir, name='effect')\n"
                "jobs = read_jobs(results_dir)\n"
                "record('regions_seen', sorted(estimates['region']))\n"
                "record('statuses', dict(zip(jobs['job_id'], jobs['status'])))\n"
                "shown = estimates.assign(region=estimates['region'].map(REGION_NAMES))\n"
                "reader_table(shown, columns=['region', 'estimate', 'ci_low', 'ci_high'],\n"
                "             estimate='estimate', labels={'estimate': 'Tiny effect'})"
            ),
            new_code_cell("key_findings([f'{len(estimates)} regions recorded a tiny effect.'])"),
        ],
    )


def cluster_notebook():
    """A stand-in for notebooks/05_cluster_feedback.ipynb with the same parameters cell: it
    loads its cluster's row of the data, records numbers from it and shows its GPs as a count
    (a cluster with fewer than 5 GPs is therefore held back by the disclosure check)."""
    return new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}},
        cells=[
            new_markdown_cell(
                "# Tiny cluster report\n\nA stand-in for the cluster feedback notebook."
            ),
            new_code_cell(
                'data_dir = "data/synthetic"  # a data folder\n'
                'region = "hovedstaden"  # the cluster\'s region (slug)\n'
                'cluster_id = "C001"  # the cluster\n'
                "indicators: list | None = None  # None: the cluster's topic indicators\n"
                'lang = "da"  # da or en\n'
                'study_start = "2016-01"\n'
                'study_end = "2023-12"',
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                "import builtins\nimport os\n\n"
                "import pandas as pd\n\n"
                "from evaluation.batch.record import record\n"
                "from evaluation.data import load\n"
                "from evaluation.i18n import check_lang, translate\n"
                "from evaluation.reports.present import key_findings, reader_table"
            ),
            new_code_cell(
                "# Nothing from an earlier report may be visible here.\n"
                'leaked = globals().get("LEAK_MARKER")\n'
                'assert leaked is None, f"state leaked: LEAK_MARKER={leaked!r}"\n'
                'assert not hasattr(builtins, "leak_marker"), "state leaked: builtins"\n'
                "LEAK_MARKER = cluster_id\n"
                "builtins.leak_marker = cluster_id\n"
                'record("kernel_pid", os.getpid())'
            ),
            new_code_cell(
                "check_lang(lang)\n"
                'clusters = load(data_dir, "clusters", region=region)["clusters"]\n'
                'mine = clusters[clusters["cluster_id"] == cluster_id].iloc[0]\n'
                'record("cluster", {"cluster_id": cluster_id, "region": region, "lang": lang,\n'
                '                   "study": [study_start, study_end]})\n'
                'record("n_gps", int(mine["n_gps"]))\n'
                'record("clusters_in_region", len(clusters))\n'
                "reader_table(\n"
                '    pd.DataFrame({"cluster": [mine["cluster_name"]], "n_gps": [mine["n_gps"]]}),\n'
                '    labels={"n_gps": "GPs"},\n'
                ")"
            ),
            new_code_cell(
                "# A region's result: computed by a worker's first report, read by its next ones.\n"
                "from evaluation.memo import RESULT_CACHE_ENV, remembered\n\n"
                "computed_here = []\n"
                'remembered(("tiny_region_result", region), '
                "lambda: computed_here.append(region) or len(clusters))\n"
                'record("result_cache_set", bool(os.environ.get(RESULT_CACHE_ENV)))\n'
                'record("region_result_reused", not computed_here)'
            ),
            new_code_cell(
                "key_findings(\n"
                "    [f\"{mine['cluster_name']}: {mine['n_gps']} GPs, "
                "{translate('Key findings', lang)}.\"]\n"
                ")"
            ),
        ],
    )


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    (HERE / "cluster").mkdir(exist_ok=True)
    written = [
        HERE / "10_tiny_region.ipynb",
        HERE / "00_tiny_summary.ipynb",
        # in a folder of its own: the region runs' tests read HERE as their notebooks folder
        HERE / "cluster" / "05_tiny_cluster.ipynb",
    ]
    nbformat.write(region_notebook(), written[0])
    nbformat.write(summary_notebook(), written[1])
    nbformat.write(cluster_notebook(), written[2])
    # the notebooks' code in the project's style (ruff lints and formats notebooks too)
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", "--fix", "--select", "I", *map(str, written)], check=True)
    subprocess.run([*ruff, "format", *map(str, written)], check=True)
