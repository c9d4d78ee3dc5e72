"""The deterministic content generator."""

from __future__ import annotations

from collections import Counter

import pytest

from webbly.forms import validate_page
from webbly.markup import MarkdownRenderer
from webbly.models import PublishState
from webbly.seed import TAGS, WORDS, ContentGenerator, generate_pages


def test_same_seed_same_pages() -> None:
    assert generate_pages(20, seed=3) == generate_pages(20, seed=3)


def test_different_seeds_differ() -> None:
    assert generate_pages(5, seed=1) != generate_pages(5, seed=2)


def test_vocabulary_has_no_duplicates() -> None:
    assert len(set(WORDS)) == len(WORDS)
    assert len(set(TAGS)) == len(TAGS)


def test_common_words_are_more_frequent_than_rare_ones() -> None:
    generator = ContentGenerator(11)
    counts = Counter(generator.word() for _ in range(5000))
    assert counts[WORDS[0]] > 10 * max(1, counts[WORDS[-1]])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_generated_pages_validate(seed: int) -> None:
    for page in generate_pages(30, seed=seed):
        fields = validate_page({"title": page.title, "body": page.body,
                                "tags": list(page.tags)})
        assert fields.title == page.title
        assert 1 <= len(fields.tags) <= 3


def test_state_mix_is_mostly_published() -> None:
    states = Counter(page.state for page in generate_pages(400, seed=9))
    assert states[PublishState.PUBLISHED] > states[PublishState.DRAFT]
    assert states[PublishState.DRAFT] > 0
    assert states[PublishState.ARCHIVED] > 0


def test_bodies_have_sections_and_render() -> None:
    renderer = MarkdownRenderer()
    for page in generate_pages(10, seed=4):
        rendered = renderer.render(page.body)
        assert len(rendered.headings) >= 2
        assert rendered.text


def test_later_pages_link_to_earlier_titles() -> None:
    pages = generate_pages(60, seed=8)
    titles = {page.title for page in pages}
    linked = [page for page in pages if "[[" in page.body]
    assert linked
    for page in linked:
        target = page.body.split("[[", 1)[1].split("]]", 1)[0]
        assert target in titles
