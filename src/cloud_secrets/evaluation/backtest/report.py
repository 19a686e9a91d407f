"""A self-contained HTML report (one file: inline CSS, figures as PNG data URIs, no scripts).

Sections are added in order, so other modules can contribute their own (e.g. dashboard previews):

    report = Report("Backtest")
    report.add_section("Alerts per identity", "<p>...</p>")
    report.add_figure("Timeline", figure)          # a matplotlib Figure
    report.add_image("Dashboard", png_bytes, alt="...")
    report.write(path)
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...errors import UserError

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#1a1a1a}
h1{font-size:1.6em;border-bottom:3px solid #0b64dd;padding-bottom:.3em}
h2{font-size:1.25em;margin-top:2em;color:#0b3d91}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #c8c8c8;padding:.3em .6em;text-align:left}
th{background:#eef3fb}
td.ok{background:#d9f2d9;text-align:center}
td.miss{background:#f9d6d5;text-align:center}
td.num{text-align:right}
img{max-width:100%;border:1px solid #ddd}
.meta{color:#555;font-size:.9em}
"""


@dataclass
class Section:
    title: str
    body: str  # HTML


@dataclass
class Report:
    title: str
    intro: str = ""
    sections: list[Section] = field(default_factory=list)

    def add_section(self, title: str, body_html: str) -> None:
        self.sections.append(Section(title, body_html))

    def add_image(self, title: str, png: bytes, alt: str = "", caption: str = "") -> None:
        data = base64.b64encode(png).decode("ascii")
        body = f'<img alt="{html.escape(alt or title)}" src="data:image/png;base64,{data}">'
        if caption:
            body += f"<p class=meta>{html.escape(caption)}</p>"
        self.add_section(title, body)

    def add_figure(self, title: str, figure: Any, caption: str = "") -> None:
        self.add_image(title, figure_png(figure), alt=title, caption=caption)

    def render(self) -> str:
        made = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        parts = [
            "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1><p class=meta>generated {made}</p>", self.intro,
        ]
        for s in self.sections:
            parts.append(f"<section><h2>{html.escape(s.title)}</h2>{s.body}</section>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, path: Path) -> Path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.render(), encoding="utf-8")
        except OSError as err:
            raise UserError(f"cannot write report {path}: {err.strerror}") from None
        return path


def figure_png(figure: Any, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buf.getvalue()


def table(header: list[str], rows: list[list[Any]], classes: list[list[str]] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = classes[i][j] if classes else ""
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<td{attr}>{html.escape(str(cell))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)
