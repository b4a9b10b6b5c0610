"""Everything the interview-themes notebook shows for one region, computed in the package.

The notebook (parameterised by region) stays a page of calls and prose: :func:`region_themes`
reads the store once, and the :class:`RegionThemes` it returns builds the tables a report shows
(:meth:`~RegionThemes.theme_table`, :meth:`~RegionThemes.agreement_summary`,
:meth:`~RegionThemes.top_pairs`, :meth:`~RegionThemes.quotes_markdown`); the figures are in
:mod:`evaluation.qualitative.figures`. Nothing lives only in the notebook.

Example
-------
>>> from evaluation.qualitative.store import Store
>>> store = Store.create(":memory:")
>>> doc = store.add_document("i1", "Coordinator: The portal was slow. We met four times.")
>>> _ = store.add_code("data", "Obtaining data")
>>> _ = store.add_case("C001", attributes={"region": "Nordjylland"}, documents=[doc])
>>> _ = store.add_segment(doc, "data", 13, 33, coder="anna")
>>> _ = store.add_segment(doc, "data", 13, 33, coder="bo")
>>> result = region_themes(store, region="Nordjylland", coder="anna", second_coder="bo")
>>> result.quotes["text"].tolist()
['The portal was slow.']
>>> round(float(result.agreement.iloc[-1]["cohen_kappa"]), 2)
1.0
>>> result.agreement_summary().loc["All themes", "reading"]
'almost perfect'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.data.catalogue import readable_code  # one helper for the whole package
from evaluation.markup import escape_markdown
from evaluation.qualitative.agreement import ALL_CODES, agreement_table
from evaluation.qualitative.cases import interview_numbers
from evaluation.qualitative.queries import code_frequencies, cooccurrence_matrix
from evaluation.qualitative.store import Store, StoreError

#: Landis & Koch (1977) bands for Cohen's kappa: (lower, upper] edges and their readings; the
#: first edge sits just below 0 so that a kappa of 0 (or -0.0 from rounding) reads "slight"
KAPPA_EDGES = [-1.0001, -1e-9, 0.2, 0.4, 0.6, 0.8, 1.0001]
KAPPA_READINGS = ["poor", "slight", "fair", "moderate", "substantial", "almost perfect"]
NOT_USED = "not used by either"
ALL_THEMES = "All themes"
NO_SHARED_QUOTE = "*No passage in this region was marked with the same theme by both researchers.*"


def kappa_reading(kappa: Iterable[float]) -> list[str]:
    """Cohen's kappa in words, by the bands of Landis & Koch (1977): below 0 poor, up to 0.20
    slight, 0.21-0.40 fair, 0.41-0.60 moderate, 0.61-0.80 substantial, above 0.80 almost
    perfect; a missing kappa (a theme neither coder used) reads "not used by either".

    Reference: Landis JR, Koch GG (1977) Biometrics 33:159-174.

    >>> kappa_reading([-0.1, 0.0, 0.35, 0.81, float("nan")])
    ['poor', 'slight', 'fair', 'almost perfect', 'not used by either']
    """
    bands = pd.cut(np.asarray(list(kappa), dtype=float), KAPPA_EDGES, labels=KAPPA_READINGS)
    return [NOT_USED if pd.isna(band) else str(band) for band in bands]


def theme_table(frequencies: pd.DataFrame) -> pd.DataFrame:
    """Coded passages and the interviews that raised them, per theme and per aspect.

    Parameters
    ----------
    frequencies : codes (paths such as "Obtaining data/Challenges") x interviews, counting
        coded passages, as :func:`evaluation.qualitative.queries.code_frequencies` gives.

    Returns
    -------
    One row per theme ("all" its aspects together) followed by one per aspect (challenges,
    enablers, or "(the theme itself)" for passages coded with the theme alone), indexed by
    (theme, aspect) in codebook order, with columns ``coded passages``, ``coordinators who
    raised it`` (interviews with at least one passage: a count of persons, to be suppressed
    below five in a shared report) and ``share of passages %`` (of all coded passages).

    Example
    -------
    >>> frequencies = pd.DataFrame({"i1": [2, 0], "i2": [1, 3]},
    ...     index=["Funding/Challenges", "Funding/Enablers"])
    >>> theme_table(frequencies)["coded passages"].tolist()
    [6, 3, 3]
    """
    parts = frequencies.index.str.split("/", n=1)
    theme_of = parts.str[0]
    aspect_of = parts.str[1].fillna("(the theme itself)").str.lower()  # challenges, enablers
    by_theme = frequencies.groupby(theme_of, sort=False).sum()
    theme_rows = pd.DataFrame(
        {
            "theme": by_theme.index,
            "aspect": "all",
            "coded passages": by_theme.sum(axis=1).to_numpy(),
            "coordinators who raised it": (by_theme > 0).sum(axis=1).to_numpy(),
        }
    )
    aspect_rows = pd.DataFrame(
        {
            "theme": theme_of,
            "aspect": aspect_of,
            "coded passages": frequencies.sum(axis=1).to_numpy(),
            "coordinators who raised it": (frequencies > 0).sum(axis=1).to_numpy(),
        }
    )
    table = pd.concat([theme_rows, aspect_rows], ignore_index=True)
    table["theme"] = pd.Categorical(table["theme"], categories=list(by_theme.index), ordered=True)
    table["aspect"] = pd.Categorical(
        table["aspect"], categories=["all", *dict.fromkeys(aspect_of)], ordered=True
    )
    table = table.sort_values(["theme", "aspect"]).set_index(["theme", "aspect"])
    total = frequencies.to_numpy().sum()
    table["share of passages %"] = (100 * table["coded passages"] / total).round(1)
    return table


def agreement_summary(
    agreement: pd.DataFrame,
    *,
    coder: str,
    second_coder: str,
    code_order: Iterable[str] = (),
) -> pd.DataFrame:
    """The agreement between two coders as a report shows it: one row per theme, then all.

    Parameters
    ----------
    agreement : per code and over all codes, as :func:`~evaluation.qualitative.agreement.
        agreement_table` gives it, with a ``code`` column holding each code's path.
    coder, second_coder : the two coders' names (they head the character counts).
    code_order : code paths in codebook order; rows follow it, "All themes" last.

    Returns
    -------
    Indexed by theme (in words, :func:`readable_code`): characters marked by each coder,
    percent agreement (1 decimal), Cohen's kappa and Krippendorff's alpha (2 decimals) and the
    kappa's reading (:func:`kappa_reading`). Percent agreement = (both + neither) / N; kappa and
    alpha as in :mod:`evaluation.qualitative.agreement`.

    Example
    -------
    >>> agreement = pd.DataFrame({"code": ["Funding", "(all codes)"], "both": [8, 8],
    ...     "only_a": [2, 2], "only_b": [10, 10], "neither": [20, 20],
    ...     "percent_agreement": [70.0, 70.0], "cohen_kappa": [0.3684, 0.3684],
    ...     "krippendorff_alpha": [0.3489, 0.3489]})
    >>> table = agreement_summary(agreement, coder="anna", second_coder="bo")
    >>> table.index.tolist(), table["characters marked by bo"].tolist()
    (['Funding', 'All themes'], [18, 18])
    >>> float(table.loc["Funding", "Cohen's kappa"]), table.loc["Funding", "reading"]
    (0.37, 'fair')
    """
    columns = [
        f"characters marked by {coder}",
        f"characters marked by {second_coder}",
        "percent agreement",
        "Cohen's kappa",
        "Krippendorff's alpha",
        "reading",
    ]
    if agreement.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="theme"))
    order = {path: position for position, path in enumerate(code_order)}
    rows = agreement.assign(order=agreement["code"].map(order).fillna(len(order))).sort_values(
        "order", kind="stable"
    )  # "(all codes)" is in no codebook: it stays last
    table = pd.DataFrame(
        {
            "theme": rows["code"].map(readable_code).replace({ALL_CODES: ALL_THEMES}).to_numpy(),
            columns[0]: (rows["both"] + rows["only_a"]).to_numpy(),
            columns[1]: (rows["both"] + rows["only_b"]).to_numpy(),
            columns[2]: rows["percent_agreement"].round(1).to_numpy(),
            # + 0.0 turns a rounded -0.0 into 0.0, so no table shows "-0.00"
            columns[3]: rows["cohen_kappa"].round(2).to_numpy() + 0.0,
            columns[4]: rows["krippendorff_alpha"].round(2).to_numpy() + 0.0,
            columns[5]: kappa_reading(rows["cohen_kappa"].to_numpy(dtype=float)),
        }
    ).set_index("theme")
    return table


def top_pairs(cooccurrence: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The pairs of themes most often coded close together, each pair once.

    Parameters
    ----------
    cooccurrence : a symmetric code x code matrix of pairs of passages (the diagonal, each
        code with itself, is left out).
    top : how many pairs.

    Returns
    -------
    Columns ``code``, ``other_code`` (paths, as in the matrix) and ``pairs``, most first.

    Example
    -------
    >>> matrix = pd.DataFrame([[5, 2, 0], [2, 4, 1], [0, 1, 3]],
    ...     index=list("abc"), columns=list("abc"))
    >>> top_pairs(matrix, top=2).values.tolist()
    [['a', 'b', 2], ['b', 'c', 1]]
    """
    upper = cooccurrence.where(np.triu(np.ones(cooccurrence.shape, dtype=bool), k=1))
    pairs = upper.stack().sort_values(ascending=False).head(top)
    return pd.DataFrame(
        {
            "code": pairs.index.get_level_values(0),
            "other_code": pairs.index.get_level_values(1),
            "pairs": pairs.to_numpy().astype("int64"),
        }
    )


def quotes_markdown(quotes: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Quotes as Markdown, one section per theme, each attributed to a numbered interview.

    Parameters
    ----------
    quotes : theme, code (path), case and text of each quote, as :class:`RegionThemes` holds.
    labels : each case's label in the report ("Interview 3"): never a cluster's name.

    Returns
    -------
    Markdown: "### theme", then each quote as a block quote ending in "— label (aspect)";
    a line saying so when there is no quote. Themes, quotes and labels come from a coding store
    (perhaps imported from another tool) and are escaped: they show as text, never as markup.

    Example
    -------
    >>> quotes = pd.DataFrame({"theme": ["Funding"], "code": ["Funding/Challenges"],
    ...     "case": ["C001"], "text": ["Money *was* short."]})
    >>> print(quotes_markdown(quotes, {"C001": "Interview 1"}))
    ### Funding
    <BLANKLINE>
    > Money \\*was\\* short\\.
    >
    > — Interview 1 (challenges)
    <BLANKLINE>
    """
    lines = []
    for theme, group in quotes.groupby("theme", sort=False):
        lines.append(f"### {escape_markdown(theme)}")
        for quote in group.itertuples():
            aspect = escape_markdown(readable_code(quote.code).split(": ")[-1])
            label = escape_markdown(labels[quote.case])
            lines.append(f"> {escape_markdown(quote.text)}\n>\n> — {label} ({aspect})\n")
    return "\n\n".join(lines) if lines else NO_SHARED_QUOTE


@dataclass
class RegionThemes:
    """Themes of one region's interviews.

    ``frequencies``: codes x cases (segments); ``cooccurrence``: code x code (within
    ``distance`` characters); ``agreement``: per code and overall at character level with
    uncoded text (empty without a second coder); ``quotes``: illustrative quotes per theme -
    where two coders are given, only passages both coded with the same code; ``coder``,
    ``second_coder``: whose coding; ``code_order``: code paths in codebook order."""

    region: str | None
    cases: pd.DataFrame
    frequencies: pd.DataFrame
    cooccurrence: pd.DataFrame
    agreement: pd.DataFrame
    quotes: pd.DataFrame
    coder: str | None = None
    second_coder: str | None = None
    code_order: list[str] = field(default_factory=list)
    #: each case's interview number in the store (random per project); orders the labels
    case_numbers: dict[str, int] = field(default_factory=dict)

    def interview_labels(self) -> dict[str, str]:
        """Each case as "Interview n", numbered within the region in the order of the store's
        random interview numbers: a shared report names no cluster next to a quote, and the
        numbering does not follow the cluster ids either."""
        order = sorted(
            self.cases["case"], key=lambda case: (self.case_numbers.get(case, 0), str(case))
        )
        return {case: f"Interview {n}" for n, case in enumerate(order, start=1)}

    def theme_table(self) -> pd.DataFrame:
        """:func:`theme_table` of the first coder's frequencies."""
        return theme_table(self.frequencies)

    def agreement_summary(self) -> pd.DataFrame:
        """:func:`agreement_summary` of the two coders, themes in codebook order."""
        return agreement_summary(
            self.agreement,
            coder=str(self.coder),
            second_coder=str(self.second_coder),
            code_order=self.code_order,
        )

    def top_pairs(self, top: int = 3) -> pd.DataFrame:
        """:func:`top_pairs` of the co-occurrence matrix."""
        return top_pairs(self.cooccurrence, top=top)

    def quotes_markdown(self) -> str:
        """:func:`quotes_markdown` of the quotes, labelled by :meth:`interview_labels`."""
        return quotes_markdown(self.quotes, self.interview_labels())


def region_themes(
    store: Store,
    *,
    region: str | None = None,
    coder: str,
    second_coder: str | None = None,
    distance: int = 300,
    quotes_per_theme: int = 3,
) -> RegionThemes:
    """Frequencies, co-occurrence, agreement and quotes for the cases of ``region`` (all cases
    if None), from ``coder``'s coding; agreement and shared quotes need ``second_coder``."""
    cases = store.cases()
    if region is not None:
        if "region" not in cases.columns:
            raise StoreError(
                "no case has a 'region' attribute; link cases first "
                "(`workbench qual cases link-clusters`)"
            )
        if region not in set(cases["region"].dropna()):
            raise StoreError(
                f"no case in region {region!r}; regions with cases: "
                f"{sorted(cases['region'].dropna().unique())}"
            )
        cases = cases[cases["region"] == region]
    links = store.case_documents()
    documents = set(links.loc[links["case"].isin(cases["case"]), "document_id"])
    segments = store.segments(with_text=True)
    segments = segments[segments["document_id"].isin(documents)]
    if coder not in set(segments["coder"]):
        raise StoreError(f"coder {coder!r} has no segments in {region or 'the project'}")
    mine = segments[segments["coder"] == coder]

    frequencies = code_frequencies(store, coder=coder)
    frequencies = frequencies.reindex(
        columns=[c for c in cases["case"] if c in frequencies.columns], fill_value=0
    )
    paths = store.codes().set_index("key")["path"]
    matrix = cooccurrence_matrix(mine, distance=distance)
    order = [key for key in paths.index if key in matrix.index]  # codebook order
    matrix = matrix.loc[order, order]
    matrix.index = matrix.columns = matrix.index.map(paths)

    agreement = pd.DataFrame()
    chosen = mine
    if second_coder is not None:
        pair = segments[segments["coder"].isin([coder, second_coder])]
        agreement = agreement_table(pair, store.documents(), coder, second_coder, level="character")
        agreement["code"] = agreement["code_key"].map(paths).fillna(agreement["code_key"])
        other = segments[segments["coder"] == second_coder]
        agreed = mine.merge(
            other[["document_id", "code_key", "start", "end"]],
            on=["document_id", "code_key"],
            suffixes=("", "_other"),
        )
        agreed = agreed[
            (agreed["start"] < agreed["end_other"]) & (agreed["start_other"] < agreed["end"])
        ]
        chosen = mine[mine["id"].isin(agreed["id"])]
    theme_of = store.code_theme()
    names = dict(store.connection.execute("SELECT id, name FROM codes").fetchall())
    chosen = chosen.assign(
        theme=chosen["code_id"].map(lambda c: names[theme_of[c]]),
        code=chosen["code_key"].map(paths),
        length=chosen["end"] - chosen["start"],
    )
    case_of = links.drop_duplicates("document_id").set_index("document_id")["case"]
    chosen["case"] = chosen["document_id"].map(case_of)
    # medium-length passages read best as illustrations: closest to 200 characters first
    theme_order = {names[i]: n for n, i in enumerate(store.codes().query("depth == 0")["id"])}
    chosen = chosen.assign(
        fit=(chosen["length"] - 200).abs(), order=chosen["theme"].map(theme_order)
    )
    chosen = chosen.sort_values(["order", "fit", "id"])
    chosen = chosen.drop_duplicates(["theme", "text"])  # a passage coded twice is one quote
    quotes = chosen.groupby("theme", sort=False).head(quotes_per_theme)
    quotes = quotes[["theme", "code", "case", "document", "text"]].reset_index(drop=True)
    return RegionThemes(
        region,
        cases,
        frequencies,
        matrix,
        agreement,
        quotes,
        coder=coder,
        second_coder=second_coder,
        code_order=list(paths),
        case_numbers=interview_numbers(store),
    )
