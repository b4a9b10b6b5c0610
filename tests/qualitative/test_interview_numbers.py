"""Interview numbers (issue 14): drawn at random once per project, kept in the coding store, so
that a shared report's "Interview 07" says nothing about which cluster it is."""

from __future__ import annotations

import pytest

from evaluation.qualitative.cases import interview_numbers
from evaluation.qualitative.store import Store, StoreError


def _store(path, n: int) -> None:
    with Store.create(path) as store:
        for i in range(1, n + 1):
            store.add_case(f"C{i:03d}", attributes={"cluster_id": f"C{i:03d}"})


def test_numbers_are_a_random_permutation_kept_across_runs(tmp_path):
    path = tmp_path / "coding.sqlite"
    _store(path, 30)
    with Store.open(path) as store:
        first = interview_numbers(store)
    with Store.open(path) as store:  # another run of the same store
        assert interview_numbers(store) == first
    assert sorted(first.values()) == list(range(1, 31))
    in_id_order = sum(first[f"C{i:03d}"] == i for i in range(1, 31))
    assert in_id_order <= 6, "numbers do not follow the cluster ids"  # ~1 expected by chance
    other = tmp_path / "other.sqlite"
    _store(other, 30)
    with Store.open(other) as store:
        assert interview_numbers(store) != first, "each project draws its own"


def test_a_new_case_gets_a_free_number_and_a_renamed_case_keeps_its_own(tmp_path):
    path = tmp_path / "coding.sqlite"
    _store(path, 5)
    with Store.open(path) as store:
        before = interview_numbers(store)
        store.add_case("C006")
        store.connection.execute("UPDATE cases SET name = 'renamed' WHERE name = 'C001'")
        after = interview_numbers(store)
    assert after["renamed"] == before["C001"]
    assert after["C006"] == 6 and all(after[c] == n for c, n in before.items() if c != "C001")


def test_a_read_only_store_is_read_if_numbered_and_refused_clearly_if_not(tmp_path):
    numbered, fresh = tmp_path / "numbered.sqlite", tmp_path / "fresh.sqlite"
    _store(numbered, 3)
    _store(fresh, 3)
    with Store.open(numbered) as store:
        expected = interview_numbers(store)
    # a store nobody may write to (shared read-only storage): SQLite refuses every write
    with Store.open(numbered) as store:
        store.connection.execute("PRAGMA query_only = ON")
        assert interview_numbers(store) == expected
    with Store.open(fresh) as store:
        store.connection.execute("PRAGMA query_only = ON")
        with pytest.raises(StoreError, match="must be writable once"):
            interview_numbers(store)
