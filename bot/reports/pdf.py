"""A Word file printed to PDF with LibreOffice, for offices that print from a PDF (optional: needs ``soffice``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from bot.reports.report_files import FILE_MODE

TIMEOUT_S = 180


def pdf_available() -> bool:
    return shutil.which("soffice") is not None


def to_pdf(document: Path) -> Path | None:
    """``document`` with ``.pdf`` beside it (owner-only), or None when LibreOffice is not installed. A private
    LibreOffice profile per call: a desktop LibreOffice left open by the same user does not block the conversion."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(document.parent), str(document)],
                       check=True, capture_output=True, timeout=TIMEOUT_S)
    pdf = document.with_suffix(".pdf")
    pdf.chmod(FILE_MODE)
    return pdf
