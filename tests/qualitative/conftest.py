"""Fixtures for the qualitative module: stores, the demo project, files in every format."""

from __future__ import annotations

from pathlib import Path

import pytest

REFI_DATA = Path(__file__).resolve().parents[1] / "data" / "refi"


@pytest.fixture
def refi_data() -> Path:
    return REFI_DATA


@pytest.fixture
def store(tmp_path):
    from evaluation.qualitative.store import Store

    opened = Store.create(tmp_path / "coding.sqlite", name="test project")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def demo_project(synthetic_national, tmp_path_factory) -> Path:
    """The 25-interview demo, generated once per session from the national synthetic data."""
    from evaluation.qualitative.demo import build_demo

    out = tmp_path_factory.mktemp("qualitative") / "demo"
    build_demo(synthetic_national, out, seed=2026, progress=False)
    return out


def make_pdf(path: Path, lines: list[str]) -> Path:
    """A minimal one-page PDF with a real text layer (Helvetica, WinAnsi so æøå survive)."""

    def escape(text: str) -> str:
        out = []
        for byte in text.encode("cp1252"):
            char = chr(byte)
            if char in "()\\":
                out.append("\\" + char)
            elif byte > 126:
                out.append(f"\\{byte:03o}")
            else:
                out.append(char)
        return "".join(out)

    content = "BT /F1 11 Tf 14 TL 50 780 Td " + " ".join(f"({escape(line)}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(body)
    return path
