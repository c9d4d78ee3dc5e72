"""Exporting the published site as static HTML files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from webbly.cms import CMS
from webbly.site import SiteRenderer
from webbly.templating import Templates


@dataclass(frozen=True)
class BuildReport:
    """What a static build wrote."""

    pages: int
    tags: int
    media: int
    files: int
    bytes: int


def build_site(cms: CMS, out_dir: Path, *, templates: Templates | None = None,
               clean: bool = True) -> BuildReport:
    """Write every published page, tag page, the home page, sitemap and media to ``out_dir``.

    Pages go to ``pages/<slug>/index.html`` so a static file server can serve
    the same URLs as the WSGI app.
    """
    templates = templates or Templates(site_title=cms.settings.site_title,
                                       base_url=cms.settings.base_url)
    renderer = SiteRenderer(cms, templates)
    if clean and out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    size = 0

    def write(relative: str, text: str) -> None:
        nonlocal written, size
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        target.write_bytes(data)
        written += 1
        size += len(data)

    pages = cms.pages.all_published()
    write("index.html", renderer.index(1, per_page=max(1, len(pages))))
    for page in pages:
        write(f"pages/{page.slug}/index.html", renderer.page(page))
    tags = cms.pages.tag_counts()
    for tag in tags:
        html, _ = renderer.tag(tag.name, 1, per_page=max(1, tag.count))
        write(f"tags/{tag.name}/index.html", html)
    write("sitemap.xml", renderer.sitemap())
    media_count = 0
    for media in cms.media.recent(limit=1_000_000):
        data = cms.media.read(media)
        target = out_dir / "media" / media.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        media_count += 1
        written += 1
        size += len(data)
    return BuildReport(pages=len(pages), tags=len(tags), media=media_count, files=written,
                       bytes=size)
