"""Fixed vocabularies shared by every wing: regions, meeting topics, prescribing indicators.

Kept as plain data so notebooks, parameters files and the CLI can validate against them and
label figures in words a GP understands.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.errors import InputError

STUDY_START = "2016-01"
STUDY_END = "2023-12"
CLUSTERS_START_MEETING = 2019  # first year with cluster meetings in the synthetic data


@dataclass(frozen=True)
class Region:
    slug: str  # ASCII, used in file names and parameters
    name: str  # as Danes write it


REGIONS: tuple[Region, ...] = (
    Region("hovedstaden", "Hovedstaden"),
    Region("sjaelland", "Sjælland"),
    Region("syddanmark", "Syddanmark"),
    Region("midtjylland", "Midtjylland"),
    Region("nordjylland", "Nordjylland"),
)
REGION_NAMES = {r.slug: r.name for r in REGIONS}
REGION_SLUGS = {r.name: r.slug for r in REGIONS}


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str  # short noun phrase for axis labels
    atc_prefixes: tuple[str, ...]  # an ATC code belongs to the indicator if it starts with one
    topic: str | None  # the cluster-meeting topic meant to change it


INDICATORS: tuple[Indicator, ...] = (
    Indicator("nsaid", "NSAID", ("M01A",), "nsaid"),
    Indicator("antibiotics", "antibiotic", ("J01",), "antibiotics_respiratory"),
    Indicator("eye_antibiotics", "eye antibiotic", ("S01AA",), "conjunctivitis"),
    Indicator(
        "dependence_producing",
        "dependence-producing drug",
        ("N05BA", "N05CD", "N05CF", "N02A"),
        "dependence_producing",
    ),
)
INDICATOR_BY_KEY = {i.key: i for i in INDICATORS}

# Topics of cluster meetings ("cluster packages"). Diabetes and COPD have no prescribing
# indicator here: clusters meet on them, but the registers we measure do not move with them.
TOPICS: dict[str, str] = {
    "nsaid": "NSAIDs",
    "antibiotics_respiratory": "Antibiotics for respiratory infections",
    "conjunctivitis": "Conjunctivitis",
    "dependence_producing": "Dependence-producing drugs",
    "diabetes": "Diabetes",
    "copd": "COPD",
    "organisation": "Cluster organisation and local priorities",
}
TOPIC_INDICATOR = {i.topic: i.key for i in INDICATORS if i.topic}

# Outcome columns that `evaluation.data.aggregate` derives, with the words used on figures.
OUTCOMES: dict[str, str] = {
    "ddd_per_1000_per_day": "DDD per 1,000 patients per day",
    "prescriptions_per_1000": "prescriptions per 1,000 patients per month",
    "users_per_1000": "patients treated per 1,000 patients per month",
}


def outcome_label(indicator: str, outcome: str) -> str:
    """'NSAID DDD per 1,000 patients per day' — the label a GP reads on an axis."""
    try:
        ind = INDICATOR_BY_KEY[indicator]
    except KeyError:
        raise InputError(
            f"unknown indicator {indicator!r}; expected one of {sorted(INDICATOR_BY_KEY)}"
        ) from None
    try:
        words = OUTCOMES[outcome]
    except KeyError:
        raise InputError(
            f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOMES)}"
        ) from None
    return f"{ind.label[0].upper()}{ind.label[1:]} {words}"


def indicator_for_atc(atc: str) -> str | None:
    """The indicator an ATC code counts towards, or None."""
    for ind in INDICATORS:
        if atc.startswith(ind.atc_prefixes):
            return ind.key
    return None


def readable_code(path: str) -> str:
    """A codebook path in the words of a report: the theme, then each sub-code after a colon
    with its first letter in lower case (an acronym such as "ICPC" keeps its capitals).

    Parameters
    ----------
    path : a code's path in the coding store, parts separated by "/".

    Returns
    -------
    The path as a label for tables and axes.

    Examples
    --------
    >>> readable_code("Obtaining data/Challenges")
    'Obtaining data: challenges'
    >>> readable_code("Funding")
    'Funding'
    >>> readable_code("Data/ICPC codes/Missing")
    'Data: ICPC codes: missing'
    """
    theme, *aspects = str(path).split("/")

    def lowered(part: str) -> str:
        if not part or part[:2].isupper():
            return part
        return part[0].lower() + part[1:]

    return theme + "".join(f": {lowered(part)}" for part in aspects)
