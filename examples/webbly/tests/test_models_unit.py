"""Model records, their JSON forms, clocks and search result helpers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from webbly.clock import FixedClock, StepClock, parse_timestamp, to_timestamp
from webbly.models import MediaFile, Page, PublishState, Revision, Role, User
from webbly.search import SearchHit, highlight_to_html

UTC = timezone.utc


def test_user_json_never_contains_the_hash() -> None:
    user = User(1, "ann", "ann@example.org", Role.EDITOR, "secret-hash", True, "t")
    data = user.to_dict()
    assert data == {"id": 1, "username": "ann", "email": "ann@example.org", "role": "editor",
                    "active": True, "created_at": "t"}
    assert "secret-hash" not in repr(user)


def test_page_json_and_url() -> None:
    page = Page(3, "slug", "T", "body", PublishState.DRAFT, 1, 2, ("x",), "c", "u", None)
    assert page.url == "/pages/slug"
    assert page.to_dict()["body"] == "body"
    assert "body" not in page.to_dict(include_body=False)
    assert page.to_dict()["state"] == "draft"
    assert page.to_dict()["tags"] == ["x"]


def test_revision_and_media_json() -> None:
    assert Revision(1, 2, "T", "B", 3, "m", "c").to_dict() == {
        "number": 2, "title": "T", "body": "B", "author_id": 3, "message": "m", "created_at": "c"}
    media = MediaFile(1, "a.png", "image/png", 10, "f" * 64, 2, "c")
    assert media.url == "/media/a.png"
    assert media.to_dict()["url"] == "/media/a.png"


def test_enums_compare_to_strings() -> None:
    assert PublishState("published") is PublishState.PUBLISHED
    assert Role.ADMIN == "admin"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 5, 1, 9, 30, tzinfo=UTC), "2024-05-01T09:30:00Z"),
        (datetime(2024, 5, 1, 11, 30, tzinfo=timezone(timedelta(hours=2))),
         "2024-05-01T09:30:00Z"),
        (datetime(2024, 5, 1, 9, 30, 15, 999, tzinfo=UTC), "2024-05-01T09:30:15Z"),
    ],
)
def test_timestamps(moment: datetime, text: str) -> None:
    assert to_timestamp(moment) == text
    assert parse_timestamp(text) == moment.replace(microsecond=0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_timestamp(datetime(2024, 1, 1))


def test_timestamps_sort_chronologically_as_text() -> None:
    times = [datetime(2024, month, 1, tzinfo=UTC) for month in (11, 2, 7)]
    assert sorted(to_timestamp(t) for t in times) == [to_timestamp(t) for t in sorted(times)]


def test_fixed_clock() -> None:
    clock = FixedClock(datetime(2024, 1, 1, tzinfo=UTC))
    assert clock() == clock()
    clock.advance(90)
    assert clock() == datetime(2024, 1, 1, 0, 1, 30, tzinfo=UTC)


def test_step_clock() -> None:
    clock = StepClock(datetime(2024, 1, 1, tzinfo=UTC), step=2.5)
    assert [clock().second for _ in range(3)] == [0, 2, 5]


@pytest.mark.parametrize("factory", [FixedClock, StepClock])
def test_clocks_need_aware_start(factory: type) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        factory(datetime(2024, 1, 1))


def test_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        StepClock(datetime(2024, 1, 1, tzinfo=UTC), step=0)


def test_highlight_escapes_text_and_marks_matches() -> None:
    assert highlight_to_html("a < b \x02match\x03 & c") == "a &lt; b <mark>match</mark> &amp; c"


def test_search_hit_json() -> None:
    hit = SearchHit(1, "s", "T", "x", 1.234567)
    assert hit.to_dict() == {"slug": "s", "title": "T", "snippet": "x", "score": 1.2346,
                             "url": "/pages/s"}
