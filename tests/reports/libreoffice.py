"""Print a workbook the way a marketer would: LibreOffice Calc (headless, German locale) → PDF.

`to_pdf(xlsx, folder)` converts with a throw-away LibreOffice profile whose locale is de-DE, so number
formats render as German Excel shows them (1.234,56; 9,8 %). `pages(pdf)` counts pages with pypdf.
`SOFFICE` is None when LibreOffice is not installed; tests then skip with `NO_SOFFICE` as the reason.

    .venv/bin/python tests/reports/libreoffice.py FILE.xlsx ...   # prints pages per file
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pypdf import PdfReader

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
NO_SOFFICE = "LibreOffice is not installed (apt-get install libreoffice-calc): cannot print the workbook to PDF"
TIMEOUT_S = 300

PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>de-DE</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooLocale" oor:op="fuse"><value>de-DE</value></prop></item>
</oor:items>
"""


def to_pdf(xlsx: Path, folder: Path) -> Path:
    """Convert `xlsx` to `folder/<stem>.pdf` with LibreOffice in a German locale; returns the PDF's path."""
    if SOFFICE is None:
        raise RuntimeError(NO_SOFFICE)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(PROFILE, encoding="utf-8")
        subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(folder), str(xlsx)], check=True, capture_output=True, timeout=TIMEOUT_S)
    pdf = folder / (xlsx.stem + ".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice wrote no {pdf.name} for {xlsx}")
    return pdf


def pages(pdf: Path) -> int:
    return len(PdfReader(str(pdf)).pages)


def page_texts(pdf: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(str(pdf)).pages]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for name in sys.argv[1:]:
            path = Path(name)
            sys.stdout.write(f"{pages(to_pdf(path, Path(tmp))):4d} pages  {path}\n")
