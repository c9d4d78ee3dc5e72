"""The library's tests: every one uses the database.

Each test writes the name of the database it ran against into
``$LIBRARY_SEEN_DIR`` (when set), so that a run can be checked for one test
database per worker.
"""

import os
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from library.books.models import Author, Book


@pytest.fixture(autouse=True)
def _record_database(request: pytest.FixtureRequest, db: None) -> None:
    seen = os.environ.get("LIBRARY_SEEN_DIR")
    if seen:
        name = connection.settings_dict["NAME"]
        worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
        path = Path(seen) / request.node.name
        path.write_text(f"{worker} {name}\n")


@pytest.fixture
def tolkien() -> Author:
    author = Author.objects.create(name="J. R. R. Tolkien")
    Book.objects.create(title="The Hobbit", author=author, year=1937)
    Book.objects.create(title="The Fellowship of the Ring", author=author, year=1954)
    return author


def test_starts_empty() -> None:
    assert Author.objects.count() == 0
    assert Book.objects.count() == 0


def test_books_of_an_author(tolkien: Author) -> None:
    assert [b.title for b in tolkien.books.all()] == ["The Hobbit", "The Fellowship of the Ring"]


def test_books_are_ordered_by_year(tolkien: Author) -> None:
    Book.objects.create(title="Farmer Giles of Ham", author=tolkien, year=1949)
    assert [b.year for b in Book.objects.all()] == [1937, 1949, 1954]


def test_deleting_an_author_deletes_the_books(tolkien: Author) -> None:
    tolkien.delete()
    assert Book.objects.count() == 0


def test_author_names_are_unique(tolkien: Author) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Author.objects.create(name=tolkien.name)
    assert Author.objects.count() == 1


@pytest.mark.parametrize("year", [1900, 1950, 2000, 2020])
def test_filter_by_year(year: int) -> None:
    author = Author.objects.create(name=f"Writer of {year}")
    Book.objects.create(title="Before", author=author, year=year - 1)
    Book.objects.create(title="After", author=author, year=year + 1)
    assert Book.objects.filter(year__gt=year).get().title == "After"


@pytest.mark.django_db(transaction=True)
def test_transactional_test_sees_committed_rows() -> None:
    with transaction.atomic():
        Author.objects.create(name="Ursula K. Le Guin")
    assert Author.objects.filter(name__startswith="Ursula").exists()


def test_str() -> None:
    author = Author.objects.create(name="Mary Shelley")
    book = Book.objects.create(title="Frankenstein", author=author, year=1818)
    assert (str(author), str(book)) == ("Mary Shelley", "Frankenstein (1818)")
