"""Every reader, and the Danish CSV dialect, read into the canonical tables correctly."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.data import load, read_table, sniff_csv
from evaluation.data.io import read_canonical
from evaluation.data.readers import EmptyFileError, ReadError

# The clusters table as a Danish Excel user would save it: `;` between fields, `,` decimal,
# `.` grouping thousands, cp1252, æøå in names, regions written the Danish way.
DANISH_CLUSTERS = (
    "Cluster ID;Cluster name;Region;n_clinics;n_gps;listed_patients;share_rural\r\n"
    "C001;Ærø og Svendborg;Region Syddanmark;12;29;48.213;0,25\r\n"
    "C002;Frederikshavn/Læsø;Region Nordjylland;9;17;27.004;0,5\r\n"
    "C003;Køge Bugt Syd;Sjælland;20;31;1.052.116;0\r\n"
)


def test_danish_csv_cp1252_is_detected_and_parsed(tmp_path):
    path = tmp_path / "clusters.csv"
    path.write_bytes(DANISH_CLUSTERS.encode("cp1252"))

    dialect = sniff_csv(path)
    assert (dialect.encoding, dialect.sep, dialect.decimal, dialect.thousands) == (
        "cp1252",
        ";",
        ",",
        ".",
    )

    frame, problems = read_canonical(path, "clusters")
    assert problems == []
    assert list(frame["cluster_name"]) == [
        "Ærø og Svendborg",
        "Frederikshavn/Læsø",
        "Køge Bugt Syd",
    ]
    assert list(frame["region"]) == ["Syddanmark", "Nordjylland", "Sjælland"]
    assert list(frame["listed_patients"]) == [48213, 27004, 1052116]
    assert frame["listed_patients"].dtype == "int64"
    # an extra column is kept, with the Danish decimal comma read as a decimal point
    assert list(frame["share_rural"]) == [0.25, 0.5, 0.0]


def test_danish_csv_decimal_ddd_and_dates_are_not_mistaken_for_numbers(tmp_path):
    path = tmp_path / "prescribing.csv"
    text = (
        "clinic_id;month;indicator;ddd;prescriptions;users;listed_patients\n"
        "K0001;01.02.2019;nsaid;1.234,5;40;31;2.150\n"
        "K0001;01.03.2019;nsaid;987,25;35;30;2.151\n"
    )
    path.write_bytes(text.encode("cp1252"))
    frame, problems = read_canonical(path, "prescribing")
    assert problems == []
    assert list(frame["ddd"]) == [1234.5, 987.25]
    assert list(frame["month"]) == [pd.Timestamp("2019-02-01"), pd.Timestamp("2019-03-01")]
    assert list(frame["listed_patients"]) == [2150, 2151]


def test_csv_utf8_with_and_without_bom(tmp_path, small_tables):
    clinics = small_tables["clinics"].head(20)
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    clinics.to_csv(plain, index=False, encoding="utf-8")
    clinics.to_csv(bom, index=False, encoding="utf-8-sig")
    assert sniff_csv(plain).encoding == "utf-8"
    assert sniff_csv(bom).encoding == "utf-8-sig"
    for path in (plain, bom):
        frame, problems = read_canonical(path, "clinics")
        assert problems == []
        pd.testing.assert_frame_equal(frame, clinics.reset_index(drop=True))


def test_csv_utf8_with_danish_letters_and_comma_separator(tmp_path):
    path = tmp_path / "clusters.csv"
    text = (
        "cluster_id,cluster_name,region,n_clinics,n_gps,listed_patients\n"
        "C001,Ærø og Svendborg,Syddanmark,12,29,48213\n"
    )
    path.write_text(text, encoding="utf-8")
    frame = read_table(path)
    assert frame.loc[0, "cluster_name"] == "Ærø og Svendborg"
    assert frame.loc[0, "listed_patients"] == 48213


def test_csv_dialect_can_be_overridden(tmp_path):
    path = tmp_path / "t.csv"
    # latin-1 bytes that happen to be valid UTF-8 nowhere; separator given explicitly
    path.write_bytes("a|b\n1|Søren\n".encode("latin-1"))
    frame = read_table(path, encoding="latin-1", sep="|")
    assert frame.loc[0, "b"] == "Søren"
    assert frame.loc[0, "a"] == 1


def test_parquet(tmp_path, small_tables):
    meetings = small_tables["meetings"]
    path = tmp_path / "meetings.parquet"
    meetings.to_parquet(path, index=False)
    frame, problems = read_canonical(path, "meetings")
    assert problems == []
    assert frame["date"].dtype == "datetime64[ns]"
    assert list(frame["date"].dt.date) == list(meetings["date"])
    assert list(frame["meeting_id"]) == list(meetings["meeting_id"])


def test_sas7bdat(tmp_path, small_tables):
    """The .sas7bdat file is written at test time by ReadStat's sas7bdat writer (the C
    library bundled in pyreadstat), driven through ctypes by tests/data/sas_writer.py;
    no SAS file is copied from elsewhere. It carries a DATE9.-formatted date and æøå."""
    from sas_writer import write_sas7bdat

    meetings = small_tables["meetings"].head(30).copy()
    meetings["date"] = pd.to_datetime(meetings["date"])
    meetings["note"] = "Mødet i Ærøskøbing"
    path = write_sas7bdat(meetings, tmp_path / "meetings.sas7bdat")

    frame, problems = read_canonical(path, "meetings")
    assert problems == []
    assert list(frame["meeting_id"]) == list(meetings["meeting_id"])
    assert list(frame["date"]) == list(meetings["date"])
    assert set(frame["note"]) == {"Mødet i Ærøskøbing"}


def test_sas7bdat_numbers_become_integers(tmp_path, small_tables):
    from sas_writer import write_sas7bdat

    clinics = small_tables["clinics"].head(10)
    path = write_sas7bdat(clinics, tmp_path / "clinics.sas7bdat")
    frame, problems = read_canonical(path, "clinics")
    assert problems == []
    pd.testing.assert_frame_equal(frame, clinics.reset_index(drop=True))


def test_stata(tmp_path, small_tables):
    prescribing = small_tables["prescribing"].head(200).copy()
    prescribing["month"] = pd.to_datetime(prescribing["month"])
    path = tmp_path / "prescribing.dta"
    prescribing.to_stata(path, write_index=False, convert_dates={"month": "td"}, version=118)
    frame, problems = read_canonical(path, "prescribing")
    assert problems == []
    expected = prescribing.reset_index(drop=True).astype({"month": "datetime64[ns]"})
    pd.testing.assert_frame_equal(frame, expected, check_dtype=True)


def test_excel(tmp_path, small_tables):
    attendance = small_tables["attendance"].head(50)
    path = tmp_path / "attendance.xlsx"
    attendance.to_excel(path, index=False, sheet_name="attendance")
    frame, problems = read_canonical(path, "attendance")
    assert problems == []
    pd.testing.assert_frame_equal(frame, attendance.reset_index(drop=True))


def test_load_reads_a_folder_of_mixed_formats(tmp_path, small_tables):
    """One folder, six tables, five formats: load() finds each by name whatever its suffix."""
    from sas_writer import write_sas7bdat

    t = small_tables
    t["clusters"].to_csv(
        tmp_path / "clusters.csv", sep=";", decimal=",", index=False, encoding="cp1252"
    )
    write_sas7bdat(t["clinics"], tmp_path / "clinics.sas7bdat")
    t["gps"].to_stata(tmp_path / "gps.dta", write_index=False, version=118)
    meetings = t["meetings"].assign(date=pd.to_datetime(t["meetings"]["date"]))
    meetings.to_excel(tmp_path / "meetings.xlsx", index=False)
    t["attendance"].to_parquet(tmp_path / "attendance.parquet", index=False)
    t["prescribing"].to_parquet(tmp_path / "prescribing.parquet", index=False)

    tables = load(tmp_path)
    assert sorted(tables) == sorted(t)
    for name, frame in tables.items():
        assert len(frame) == len(t[name]), name
    pd.testing.assert_frame_equal(tables["clinics"], t["clinics"])
    pd.testing.assert_frame_equal(tables["clusters"], t["clusters"])


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "clinics.csv"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"clinics\.csv: the file is empty"):
        read_table(path)
    frame, problems = read_canonical(path, "clinics")
    assert frame is None
    assert len(problems) == 1 and "empty" in problems[0].message and problems[0].file == str(path)


def test_header_only_file_has_no_rows(tmp_path):
    path = tmp_path / "clinics.csv"
    path.write_text("clinic_id,cluster_id,region,n_gps,listed_patients,urbanicity,practice_type\n")
    _, problems = read_canonical(path, "clinics")
    assert [p.message for p in problems] == [
        "no data rows: expected one row per general-practice clinic"
    ]


def test_unknown_suffix_and_missing_file(tmp_path):
    odd = tmp_path / "clinics.sav"
    odd.write_bytes(b"x")
    with pytest.raises(ReadError, match=r"unknown file type '\.sav'; expected one of .parquet"):
        read_table(odd)
    with pytest.raises(ReadError, match="no such file"):
        read_table(tmp_path / "absent.csv")


def test_ragged_csv_names_the_file(tmp_path):
    path = tmp_path / "gps.csv"
    path.write_text("gp_id,clinic_id,cluster_id\nG1,K1,C1\nG2,K2,C2,extra,fields\n")
    with pytest.raises(ReadError, match=r"gps\.csv: not a valid CSV"):
        read_table(path)


def test_csv_identifiers_keep_leading_zeros(tmp_path):
    path = tmp_path / "gps.csv"
    path.write_text("gp_id;clinic_id;cluster_id;birth_year\n0042;0101;007;1970\n")
    frame, problems = read_canonical(path, "gps")
    assert problems == []
    assert frame.loc[0, ["gp_id", "clinic_id", "cluster_id"]].tolist() == ["0042", "0101", "007"]
    assert frame.loc[0, "birth_year"] == 1970


def test_stata_and_excel_with_danish_letters(tmp_path):
    clusters = pd.DataFrame(
        {
            "cluster_id": ["C001", "C002"],
            "cluster_name": ["Ærø og Svendborg", "Frederikshavn/Læsø"],
            "region": ["Syddanmark", "Nordjylland"],
            "n_clinics": [12, 9],
            "n_gps": [29, 17],
            "listed_patients": [48213, 27004],
        }
    )
    clusters.to_stata(tmp_path / "clusters.dta", write_index=False, version=118)
    clusters.to_excel(tmp_path / "clusters.xlsx", index=False)
    for name in ("clusters.dta", "clusters.xlsx"):
        frame, problems = read_canonical(tmp_path / name, "clusters")
        assert problems == [], name
        pd.testing.assert_frame_equal(frame, clusters, check_dtype=True)


def test_sas_transport_xpt(tmp_path, small_tables):
    import pyreadstat

    clinics = small_tables["clinics"].head(10)
    path = tmp_path / "clinics.xpt"
    pyreadstat.write_xport(clinics, str(path), file_format_version=8)
    frame, problems = read_canonical(path, "clinics")
    assert problems == []
    pd.testing.assert_frame_equal(frame, clinics.reset_index(drop=True))


def test_danish_words_for_booleans_and_dates(tmp_path):
    meetings = tmp_path / "meetings.csv"
    meetings.write_bytes(
        "meeting_id;cluster_id;date;topic\nM1;C1;14-03-2019;nsaid\nM2;C1;02.10.2019;kol\n".encode(
            "cp1252"
        )
    )
    frame, problems = read_canonical(meetings, "meetings")
    assert list(frame["date"]) == [pd.Timestamp("2019-03-14"), pd.Timestamp("2019-10-02")]
    assert [str(p) for p in problems] == [
        "column 'topic', row 2: expected one of nsaid, antibiotics_respiratory, conjunctivitis, "
        "dependence_producing, diabetes, copd, organisation, found 'kol'"
    ]
    attendance = tmp_path / "attendance.csv"
    attendance.write_text("meeting_id;gp_id;attended\nM1;G1;Sand\nM1;G2;Falsk\nM1;G3;ja\nM1;G4;0\n")
    frame, problems = read_canonical(attendance, "attendance")
    assert problems == []
    assert list(frame["attended"]) == [True, False, True, False]


def test_write_csv_danish_round_trip(tmp_path, small_tables):
    from evaluation.data.readers import write_csv_danish

    clusters = small_tables["clusters"].assign(cluster_name=lambda f: f["cluster_name"] + " Ærø")
    path = write_csv_danish(clusters, tmp_path / "clusters.csv")
    raw = path.read_bytes()
    assert "Ærø".encode("cp1252") in raw and b";" in raw.splitlines()[0]
    frame, problems = read_canonical(path, "clusters")
    assert problems == []
    pd.testing.assert_frame_equal(frame, clusters)
    with pytest.raises(UnicodeEncodeError):
        write_csv_danish(clusters.assign(cluster_name="🙂"), tmp_path / "emoji.csv")
    assert not (tmp_path / "emoji.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clusters.csv"]
