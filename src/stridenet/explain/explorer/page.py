"""One self-contained HTML page: the CSS and the script inline, the numbers embedded as a
JSON description plus a base64 blob. Nothing is fetched; it opens from disk."""

from __future__ import annotations

import json
from html import escape
from importlib import resources

_ASSETS = resources.files(__package__) / "assets"


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


# nothing may be loaded from anywhere: inline script and styles only
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; connect-src data: blob:")


def _script_safe(text: str) -> str:
    """Text that cannot end its <script> element early."""
    return text.replace("</", "<\\/")


def script() -> str:
    """The page's script: the asset files in one function scope, then ``start()``."""
    parts = [_asset(name) for name in ("numbers.js", "panels.js", "draw.js")]
    return '(function () {\n"use strict";\n' + "\n".join(parts) + "start();\n})();\n"


def render_page(meta: dict, blob: str) -> str:
    title = f"stridenet explorer: {meta['model']}"
    n = meta["images"]
    notes = meta.get("notes") or []
    notes_html = ""
    if notes:
        items = "".join(f"<li>{escape(t)}</li>" for t in notes)
        notes_html = (f'<details id="notes"><summary>{len(notes)} note(s): what this page '
                      f"leaves out</summary><ul>{items}</ul></details>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{escape(title)}</title>
<style>{_asset("explore.css")}</style>
</head><body>
<header>
<h1>{escape(meta["model"])} <small>{len(meta["nodes"]) - 1} layers, {n} image(s): hover over or
click a cell of any feature map to see how it was computed (Esc releases a click)</small></h1>
<div id="status">Loading the numbers...</div>
<div id="images"></div>
{notes_html}
</header>
<div id="layout"><div id="net"></div>
<aside id="panel"><p>Hover over a cell of a feature map: its receptive field lights up in the
layer below and this panel shows the computation. Click to keep it.</p></aside></div>
<script id="sn-meta" type="application/json">{_script_safe(json.dumps(meta))}</script>
<script id="sn-blob" type="text/plain">{blob}</script>
<script>{_script_safe(script())}</script>
</body></html>
"""


__all__ = ["render_page"]
