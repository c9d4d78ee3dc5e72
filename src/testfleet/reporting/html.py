"""The report as one self-contained HTML file (pure): its style, its script and its data inline.

The page needs nothing but itself: no network, no fonts, no images from
elsewhere, so that it opens from disk or as a CI artifact.  The script
(``assets/report.js``) draws the JSON document embedded in the page; the
style is ``assets/report.css``.  Both are package files, read once.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Mapping
from typing import Any

#: Collects the page's script errors before anything else runs, and writes their count
#: on ``<body data-errors>`` (and their text into ``#errors``), for tests that read the DOM.
_ERRORS_SCRIPT = """(function () {
  var errors = [];
  function note(message) {
    errors.push(message);
    if (!document.body) return;
    document.body.setAttribute("data-errors", String(errors.length));
    var shown = document.getElementById("errors");
    if (shown) shown.textContent = errors.join("\\n");
  }
  window.testfleetError = note;
  window.onerror = function (message, source, line) {
    note(String(message) + (line ? " (line " + line + ")" : ""));
  };
  window.addEventListener("unhandledrejection", function (event) {
    note("unhandled rejection: " + String(event.reason));
  });
})();"""


@functools.cache
def _asset(name: str) -> str:
    from importlib.resources import files

    assets = files("testfleet.reporting").joinpath("assets")
    return assets.joinpath(name).read_text(encoding="utf-8")


def embed_json(document: Mapping[str, Any]) -> str:
    """The document as JSON that is safe inside ``<script>``: no ``<`` at all.

    ``\\u003c`` is the same character to ``JSON.parse``, and without any ``<`` no
    test id can end the script element (``</script>``) or open a comment.
    """
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c")


def _title(document: Mapping[str, Any]) -> str:
    run = document.get("run", {})
    parts = ["testfleet report"]
    if run.get("id") is not None:
        parts.append(f"run #{run['id']}")
    if run.get("date"):
        parts.append(str(run["date"]))
    return " · ".join(parts)


def render_html(document: Mapping[str, Any]) -> str:
    """The whole page of the report of ``document`` (see ``report.report_document``)."""
    script = _asset("report.js")
    # Our own script and style must not end their elements early either.
    if "</" in script or "</" in _asset("report.css"):
        raise ValueError("the report's assets must not contain '</'")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(_title(document))}</title>\n"
        f"<style>\n{_asset('report.css')}</style>\n"
        f"<script>\n{_ERRORS_SCRIPT}\n</script>\n"
        "</head>\n"
        '<body data-errors="0">\n'
        '<main id="report"><noscript>This report is drawn by JavaScript; '
        "the same data is in the JSON document inside this file.</noscript></main>\n"
        '<pre id="errors"></pre>\n'
        '<script type="application/json" id="testfleet-data">'
        f"{embed_json(document)}</script>\n"
        f"<script>\n{script}</script>\n"
        "</body>\n</html>\n"
    )
