"""Deterministic demo content: users and a few hundred pages with revisions and tags."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from webbly.cms import CMS
from webbly.models import PageInput, PublishState, Role, User
from webbly.workflow import Action

WORDS = (
    "garden", "soil", "compost", "tomato", "basil", "seed", "harvest", "rain", "winter", "summer",
    "river", "mountain", "trail", "bridge", "harbor", "lantern", "market", "bakery", "bread",
    "cheese", "coffee", "kettle", "recipe", "oven", "flour", "butter", "python", "parser",
    "server", "socket", "thread", "module", "package", "compiler", "kernel", "cache", "index",
    "query", "table", "schema", "cursor", "database", "search", "token", "vector", "render",
    "template", "layout", "column", "widget", "bicycle", "engine", "gear", "valve", "piston",
    "sail", "anchor", "compass", "map", "atlas", "journey", "station", "ticket", "violin", "piano",
    "rhythm", "melody", "chorus", "poem", "novel", "chapter", "library", "archive", "museum",
    "canvas", "pigment", "sculpture", "camera", "lens", "shutter", "aperture", "glacier", "desert",
    "canyon", "forest", "meadow", "orchard", "alder", "almond", "amber", "apricot", "arch", "ash",
    "aspen", "attic", "autumn", "avalanche", "badger", "balcony", "ballad", "barley", "barrel",
    "basin", "beacon", "beech", "beetle", "bellows", "birch", "biscuit", "blossom", "bonfire",
    "boulder", "bramble", "brook", "buckle", "bunker", "cabin", "cactus", "canal", "candle",
    "canopy", "cardamom", "carriage", "cedar", "cellar", "chalk", "chestnut", "chimney", "cider",
    "cinnamon", "citadel", "clover", "cobble", "comet", "copper", "coral", "cottage", "crater",
    "cricket", "crystal", "cypress", "dahlia", "delta", "dune", "dynamo", "ember", "estuary",
    "falcon", "fennel", "fern", "ferry", "fiddle", "fjord", "flint", "fountain", "foxglove",
    "gable", "garnet", "geyser", "ginger", "granite", "gravel", "greenhouse", "gull", "hammock",
    "hazel", "heather", "hedge", "heron", "hickory", "hollow", "honey", "horizon", "iris", "ivy",
    "jasmine", "juniper", "kayak", "kiln", "lagoon", "larch", "lattice", "lavender", "ledger",
    "lichen", "lighthouse", "lilac", "linen", "loom", "lupin", "magnolia", "maple", "marble",
    "marsh", "meteor", "millstone", "mint", "monsoon", "moss", "nettle", "nutmeg", "oak", "oasis",
    "obsidian", "olive", "onyx", "orchid", "otter", "paddle", "pantry", "paprika", "parsley",
    "pebble", "pelican", "pepper", "pine", "plateau", "plum", "pollen", "poppy", "porch",
    "prairie", "quarry", "quartz", "quince", "radish", "raft", "rapids", "raven", "reed", "ridge",
    "rosemary", "rowan", "saffron", "sage", "salmon", "sandstone", "sapling", "sequoia", "shale",
    "shingle", "silo", "slate", "sorrel", "sparrow", "spruce", "squall", "starling", "stencil",
    "sundial", "swallow", "sycamore", "tamarind", "tapestry", "teak", "thistle", "thyme", "tide",
    "timber", "topaz", "trellis", "tulip", "tundra", "turnip", "twine", "umber", "valley",
    "vanilla", "velvet", "verbena", "vineyard", "walnut", "wax", "willow", "windmill", "wren",
    "yarrow", "yew", "zephyr", "zinnia", "abacus", "algorithm", "bandwidth", "bitmap", "boolean",
    "buffer", "bytecode", "checksum", "closure", "coroutine", "daemon", "debugger", "decorator",
    "endpoint", "enum", "firmware", "framework", "generator", "hashmap", "heap", "iterator",
    "lambda", "latency", "linker", "mutex", "namespace", "opcode", "payload", "pipeline",
    "pointer", "protocol", "recursion", "refactor", "registry", "runtime", "sandbox", "scheduler",
    "semaphore", "serializer", "shader", "snapshot", "stack", "subprocess", "syntax", "terminal",
    "throughput", "tuple", "unicode", "variable", "webhook", "workload",
)
TAGS = (
    "gardening", "cooking", "travel", "programming", "databases", "music", "photography",
    "history", "science", "howto", "review", "news", "opinion", "tutorial", "reference", "design",
    "hardware", "outdoors", "books", "art",
)
SEED_PASSWORD = "webbly-demo-password"
# Zipf-like weights: early words are common, late ones rare, as in real text.
_CUMULATIVE = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(WORDS))))


@dataclass(frozen=True)
class GeneratedPage:
    """One page of generated content and the edits made after creating it."""

    title: str
    body: str
    tags: tuple[str, ...]
    edits: tuple[str, ...]
    state: PublishState


@dataclass
class SeedReport:
    """What :func:`seed_site` created."""

    users: dict[str, User] = field(default_factory=dict)
    slugs: list[str] = field(default_factory=list)
    states: dict[str, PublishState] = field(default_factory=dict)
    password: str = SEED_PASSWORD

    def slugs_in(self, state: PublishState) -> list[str]:
        """Slugs of the seeded pages that ended in ``state``."""
        return [slug for slug in self.slugs if self.states[slug] is state]


class ContentGenerator:
    """Produces plausible Markdown from a fixed vocabulary; same seed, same text."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def word(self) -> str:
        """One random word, common words more often."""
        return self.random.choices(WORDS, cum_weights=_CUMULATIVE)[0]

    def words(self, low: int, high: int) -> list[str]:
        """Between ``low`` and ``high`` random words."""
        return self.random.choices(WORDS, cum_weights=_CUMULATIVE,
                                   k=self.random.randint(low, high))

    def title(self) -> str:
        """A title-cased phrase of three to six words."""
        return " ".join(self.words(3, 6)).title()

    def sentence(self) -> str:
        """A sentence of six to sixteen words."""
        words = self.words(6, 16)
        return " ".join(words).capitalize() + self.random.choice(".....?!")

    def paragraph(self) -> str:
        """Two to six sentences, sometimes with emphasis or a link."""
        sentences = [self.sentence() for _ in range(self.random.randint(2, 6))]
        if self.random.random() < 0.3:
            word = self.word()
            sentences.append(f"See *{word}* and **{self.word()}** notes.")
        if self.random.random() < 0.2:
            sentences.append(f"More at [the {self.word()} guide]"
                             f"(https://example.org/{self.word()}).")
        return " ".join(sentences)

    def block(self) -> str:
        """A paragraph, list, code sample or table."""
        roll = self.random.random()
        if roll < 0.6:
            return self.paragraph()
        if roll < 0.8:
            return "\n".join(f"- {' '.join(self.words(2, 6))}"
                             for _ in range(self.random.randint(2, 6)))
        if roll < 0.9:
            name = self.word()
            factor = self.random.randint(2, 9)
            return f"```python\ndef {name}(value):\n    return value * {factor}\n```"
        header = "| item | amount |\n| --- | ---: |"
        rows = [f"| {self.word()} | {self.random.randint(1, 500)} |"
                for _ in range(self.random.randint(2, 5))]
        return "\n".join([header, *rows])

    def body(self, titles: list[str]) -> str:
        """A document of two to five sections, possibly linking to earlier titles."""
        parts = [self.paragraph()]
        for _ in range(self.random.randint(2, 5)):
            parts.append(f"## {' '.join(self.words(2, 4)).capitalize()}")
            parts.extend(self.block() for _ in range(self.random.randint(1, 3)))
        if titles and self.random.random() < 0.4:
            parts.append(f"Related: [[{self.random.choice(titles)}]].")
        return "\n\n".join(parts) + "\n"

    def page(self, titles: list[str]) -> GeneratedPage:
        """A page with one to three tags, zero to three later edits and a final state."""
        title = self.title()
        tags = tuple(dict.fromkeys(self.random.sample(TAGS, self.random.randint(1, 3))))
        edits = tuple(self.paragraph() for _ in range(self.random.choice((0, 0, 1, 1, 2, 3))))
        roll = self.random.random()
        state = (PublishState.PUBLISHED if roll < 0.75
                 else PublishState.ARCHIVED if roll < 0.83 else PublishState.DRAFT)
        return GeneratedPage(title, self.body(titles), tags, edits, state)


def generate_pages(count: int, seed: int = 7) -> list[GeneratedPage]:
    """``count`` generated pages; the same arguments always give the same pages."""
    generator = ContentGenerator(seed)
    pages: list[GeneratedPage] = []
    titles: list[str] = []
    for _ in range(count):
        page = generator.page(titles)
        pages.append(page)
        titles.append(page.title)
    return pages


def seed_users(cms: CMS, password: str = SEED_PASSWORD) -> dict[str, User]:
    """One user per role, named after the role; existing accounts are reused as they are."""
    users: dict[str, User] = {}
    for role in (Role.ADMIN, Role.EDITOR, Role.AUTHOR, Role.VIEWER):
        existing = cms.users.repo.by_username(role.value)
        users[role.value] = existing or cms.users.create_user(
            role.value, f"{role.value}@example.org", password, role)
    return users


def seed_site(cms: CMS, *, pages: int = 300, seed: int = 7,
              password: str = SEED_PASSWORD) -> SeedReport:
    """Fill an empty site with users and ``pages`` generated pages (in one transaction)."""
    report = SeedReport(password=password)
    with cms.db.transaction(), cms.index.batch():
        report.users = seed_users(cms, password)
        writers = [report.users["admin"], report.users["editor"], report.users["author"]]
        editor = report.users["editor"]
        for number, generated in enumerate(generate_pages(pages, seed)):
            author = writers[number % len(writers)]
            page = cms.pages.create(author, PageInput(generated.title, generated.body,
                                                      tags=generated.tags))
            body = generated.body
            for edit_number, paragraph in enumerate(generated.edits, start=1):
                body = f"{body}\n{paragraph}\n"
                page = cms.pages.update(author, page.slug, PageInput(
                    generated.title, body, tags=generated.tags, message=f"Edit {edit_number}"))
            if generated.state is PublishState.PUBLISHED:
                cms.pages.transition(editor, page.slug, Action.PUBLISH)
            elif generated.state is PublishState.ARCHIVED:
                cms.pages.transition(editor, page.slug, Action.ARCHIVE)
            report.slugs.append(page.slug)
            report.states[page.slug] = generated.state
    return report
