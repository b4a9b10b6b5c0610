"""Pseudonymisation of transcripts through a reviewed mapping file.

Interview transcripts are personal data. Before import, names of people, clinics and places are
replaced by pseudonyms listed in a mapping file (YAML) that a person has reviewed. The store
keeps only the pseudonymised text (and the mapping's SHA-256, to tell which mapping was used);
going back to the real names needs the mapping file itself, which stays outside git
(qualitative/.gitignore) with the team's other personal data.

Mapping file::

    reviewed_by: "A. Researcher"       # empty until someone has checked every line
    reviewed_on: 2026-11-26
    replacements:
      - real: Mette Holm
        pseudonym: "[Coordinator 7]"
        kind: person
      - real: Skovby
        pseudonym: "[Town 3]"
        kind: place

Replacement is whole-word, longest name first (so "Mette Holm" wins over "Mette"); a pseudonym
must not already occur in the text, or the way back would be ambiguous.

Example
-------
>>> pairs = [("Mette Holm", "[Coordinator 7]"), ("Skovby", "[Town 3]")]
>>> mapping = PseudonymMapping(pairs, reviewed_by="me")
>>> masked = mapping.apply("Mette Holm chairs the meetings in Skovby.")
>>> masked
'[Coordinator 7] chairs the meetings in [Town 3].'
>>> mapping.reverse(masked)
'Mette Holm chairs the meetings in Skovby.'
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from evaluation.errors import EvaluationError
from evaluation.files import atomic_path

#: file mode of files that hold real names (the mapping, a re-identified text): owner only
PERSONAL_DATA_MODE = 0o600


class PseudonymError(EvaluationError, ValueError):
    """The mapping file is missing, unreviewed or ambiguous; the message says which line."""


@dataclass
class PseudonymMapping:
    pairs: list[tuple[str, str]]
    reviewed_by: str | None = None
    kinds: list[str] | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        reals = [r for r, _ in self.pairs]
        pseudonyms = [p for _, p in self.pairs]
        for label, values in (("real name", reals), ("pseudonym", pseudonyms)):
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise PseudonymError(
                    f"{self.source or 'mapping'}: {label}(s) listed twice: {duplicates}"
                )
        for real, pseudonym in self.pairs:
            if not real.strip() or not pseudonym.strip():
                raise PseudonymError(
                    f"{self.source or 'mapping'}: empty real name or pseudonym in {real!r} -> "
                    f"{pseudonym!r}"
                )
        self._forward = _pattern(reals)
        self._backward = _pattern(pseudonyms)
        self._to_pseudonym = dict(self.pairs)
        self._to_real = {p: r for r, p in self.pairs}

    @property
    def sha256(self) -> str:
        payload = "\n".join(f"{r}\t{p}" for r, p in sorted(self.pairs))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def apply(self, text: str, *, source: str = "text") -> str:
        """Replace every real name by its pseudonym (refused unless the mapping was reviewed)."""
        if not self.reviewed_by:
            raise PseudonymError(
                f"{self.source or 'the mapping'} has not been reviewed: check every line, then "
                "fill in 'reviewed_by:' with your name"
            )
        clashes = [p for p in self._to_real if p in text]
        if clashes:
            raise PseudonymError(
                f"{source}: already contains the pseudonym(s) {clashes}; choose pseudonyms that do "
                "not occur in the transcripts, or the way back would be ambiguous"
            )
        if self._forward is None:
            return text
        return self._forward.sub(lambda m: self._to_pseudonym[m.group(0)], text)

    def reverse(self, text: str) -> str:
        """Put the real names back (needs this mapping; the store cannot do it alone)."""
        if self._backward is None:
            return text
        return self._backward.sub(lambda m: self._to_real[m.group(0)], text)


def _pattern(words: list[str]) -> re.Pattern | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # \w-boundaries that also work for pseudonyms starting or ending with brackets
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def read_mapping(path: str | os.PathLike) -> PseudonymMapping:
    """Read a mapping file; errors name the file and the line's index."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PseudonymError(
            f"{path}: no such mapping file; draft one with `workbench qual pseudonyms propose`"
        ) from None
    except yaml.YAMLError as error:
        raise PseudonymError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("replacements"), list):
        raise PseudonymError(f"{path}: expected 'reviewed_by:' and a list under 'replacements:'")
    pairs, kinds = [], []
    for index, item in enumerate(raw["replacements"]):
        if not isinstance(item, dict) or "real" not in item or "pseudonym" not in item:
            raise PseudonymError(f"{path}: replacements[{index}] needs 'real' and 'pseudonym'")
        pairs.append((str(item["real"]), str(item["pseudonym"])))
        kinds.append(str(item.get("kind", "")))
    reviewed = raw.get("reviewed_by")
    return PseudonymMapping(
        pairs, reviewed_by=str(reviewed) if reviewed else None, kinds=kinds, source=str(path)
    )


def write_mapping(path: str | os.PathLike, mapping: PseudonymMapping) -> None:
    """Write ``mapping`` as a reviewable YAML file, readable by its owner only (it holds the real
    names: personal data)."""
    kinds = mapping.kinds or [""] * len(mapping.pairs)
    document = {
        "reviewed_by": mapping.reviewed_by or "",
        "replacements": [
            {"real": r, "pseudonym": p, **({"kind": k} if k else {})}
            for (r, p), k in zip(mapping.pairs, kinds)
        ],
    }
    header = (
        "# Pseudonym mapping: PERSONAL DATA, never commit. Check every line, then set "
        "reviewed_by.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    with atomic_path(path, mode=PERSONAL_DATA_MODE) as temporary:
        temporary.write_text(text, encoding="utf-8")


_NOT_NAMES = {
    "I",
    "We",
    "The",
    "A",
    "An",
    "And",
    "But",
    "So",
    "Then",
    "It",
    "In",
    "On",
    "At",
    "Of",
    "Yes",
    "No",
    "Interviewer",
    "Coordinator",
    "GP",
    "GPs",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Danish",
    "Denmark",
    "Well",
    "That",
    "This",
    "They",
    "There",
    "What",
    "When",
    "How",
    "If",
    "Our",
    "My",
    "You",
    "He",
    "She",
    "Oh",
    "OK",
    "Okay",
}


def propose_mapping(texts: list[str], *, min_count: int = 1) -> PseudonymMapping:
    """Draft a mapping from capitalised words that do not start a sentence (a person reviews it:
    the draft has no ``reviewed_by`` and cannot be applied until someone signs it)."""
    candidates: Counter = Counter()
    name = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-ZÆØÅ][a-zæøåé]+(?:\s[A-ZÆØÅ][a-zæøåé]+)*)")
    for text in texts:
        for match in name.finditer(text):
            words = [w for w in match.group(1).split() if w not in _NOT_NAMES]
            if words:
                candidates[" ".join(words)] += 1
    pairs = [
        (word, f"[Name {index}]")
        for index, (word, count) in enumerate(sorted(candidates.items()), start=1)
        if count >= min_count
    ]
    return PseudonymMapping(pairs, reviewed_by=None, kinds=["unchecked"] * len(pairs))
