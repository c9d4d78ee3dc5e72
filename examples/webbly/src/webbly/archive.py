"""Moving pages in and out as Markdown files with front matter (bulk import and export)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from webbly import frontmatter
from webbly.cms import CMS
from webbly.errors import WebblyError
from webbly.forms import validate_page
from webbly.models import Page, PageInput, PublishState, User
from webbly.workflow import Action


@dataclass(frozen=True)
class ImportRecord:
    """One page to import, as read from a file or built in code."""

    source: str
    title: str
    body: str
    slug: str | None = None
    tags: tuple[str, ...] = ()
    state: PublishState = PublishState.DRAFT


@dataclass
class ImportReport:
    """What an import did, by slug, and what it could not do, by source."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Records processed, failed ones included."""
        return len(self.created) + len(self.updated) + len(self.unchanged) + len(self.failed)


def record_from_text(text: str, source: str) -> ImportRecord:
    """Read one Markdown file: title from front matter, else the first ``# `` heading,
    else the file name."""
    document = frontmatter.parse(text)
    body = document.body
    title = document.get_text("title")
    if not title:
        first, _, rest = body.lstrip().partition("\n")
        if first.startswith("# "):
            title, body = first[2:].strip(), rest.lstrip("\n")
        else:
            title = Path(source).stem.replace("-", " ").replace("_", " ").title()
    state_text = document.get_text("state", PublishState.DRAFT.value).lower()
    try:
        state = PublishState(state_text)
    except ValueError:
        raise frontmatter.FrontMatterError(f"unknown state {state_text!r}") from None
    slug = document.get_text("slug") or None
    return ImportRecord(source, title, body, slug, tuple(document.get_list("tags")), state)


def read_directory(path: Path) -> tuple[list[ImportRecord], list[tuple[str, str]]]:
    """Every ``*.md`` file under ``path`` (sorted), plus the ones that could not be read."""
    records: list[ImportRecord] = []
    failures: list[tuple[str, str]] = []
    for file in sorted(path.rglob("*.md")):
        source = str(file.relative_to(path))
        try:
            records.append(record_from_text(file.read_text(encoding="utf-8"), source))
        except (UnicodeDecodeError, frontmatter.FrontMatterError) as exc:
            failures.append((source, str(exc)))
    return records, failures


def _steps(current: PublishState, desired: PublishState) -> list[Action]:
    if current is desired:
        return []
    if desired is PublishState.ARCHIVED:
        return [Action.ARCHIVE]
    steps = [Action.RESTORE] if current is PublishState.ARCHIVED else []
    if desired is PublishState.PUBLISHED:
        steps.append(Action.PUBLISH)
    elif current is PublishState.PUBLISHED:
        steps.append(Action.UNPUBLISH)
    return steps


def _reach(cms: CMS, actor: User, page: Page, desired: PublishState) -> Page:
    for action in _steps(page.state, desired):
        page = cms.pages.transition(actor, page.slug, action)
    return page


def import_records(cms: CMS, actor: User, records: Iterable[ImportRecord]) -> ImportReport:
    """Create or update one page per record in a single transaction.

    A record whose slug exists updates that page (a new revision only if
    something changed). Invalid records are reported and skipped.
    """
    report = ImportReport()
    with cms.db.transaction(), cms.index.batch():
        for record in records:
            try:
                fields = validate_page({"title": record.title, "body": record.body,
                                        "slug": record.slug or "", "tags": list(record.tags)})
                existing = cms.pages.repo.by_slug(fields.slug) if fields.slug else None
                if existing is None:
                    page = cms.pages.create(actor, fields)
                    report.created.append(page.slug)
                else:
                    page = cms.pages.update(
                        actor, existing.slug,
                        PageInput(fields.title, fields.body, None, fields.tags,
                                  f"Imported from {record.source}"),
                    )
                    changed = page.updated_at != existing.updated_at or page != existing
                    (report.updated if changed else report.unchanged).append(page.slug)
                _reach(cms, actor, page, record.state)
            except WebblyError as exc:
                report.failed.append((record.source, str(exc)))
    return report


def import_directory(cms: CMS, actor: User, path: Path) -> ImportReport:
    """Import every Markdown file under ``path``."""
    records, failures = read_directory(path)
    report = import_records(cms, actor, records)
    report.failed[:0] = failures
    return report


def export_markdown(cms: CMS, out_dir: Path) -> int:
    """Write every page (any state) as ``<slug>.md`` with front matter; return how many."""
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for page in cms.pages.repo.iter_all():
        meta: dict[str, str | list[str]] = {
            "title": page.title,
            "slug": page.slug,
            "state": page.state.value,
            "tags": list(page.tags),
        }
        (out_dir / f"{page.slug}.md").write_text(frontmatter.dump(meta, page.body),
                                                 encoding="utf-8")
        count += 1
    return count
