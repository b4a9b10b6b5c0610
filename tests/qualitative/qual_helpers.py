"""Helpers for the qualitative tests (a module with a unique name: several test folders have a
conftest.py, so `from conftest import ...` would be ambiguous in a full run)."""

from __future__ import annotations

from pathlib import Path


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

    content = (
        "BT /F1 11 Tf 14 TL 50 780 Td "
        + " ".join(f"({escape(line)}) Tj T*" for line in lines)
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << "
            "/Font << /F1 5 0 R >> >> >>"
        ),
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
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(body)
    return path
