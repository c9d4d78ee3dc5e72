"""Upload names, content types and file signatures."""

from __future__ import annotations

import pytest

from webbly.media import (
    ALLOWED_TYPES,
    MAX_FILENAME_LENGTH,
    MediaError,
    check_signature,
    content_type_for,
    numbered_name,
    safe_filename,
)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("photo.png", "photo.png"),
        ("My Photo (1).PNG", "My-Photo-1.png"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("résumé.pdf", "resume.pdf"),
        (".hidden.txt", "hidden.txt"),
        ("archive.tar.gz", "archive.tar.gz"),
        ("spaces   everywhere .csv", "spaces-everywhere.csv"),
        ("no-extension", "no-extension"),
        ("dots....png", "dots.png"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.mark.parametrize("name", ["", "...", "../", "日本.png", "///"])
def test_unusable_names(name: str) -> None:
    with pytest.raises(MediaError):
        safe_filename(name)


def test_long_names_keep_their_extension() -> None:
    name = safe_filename("x" * 300 + ".png")
    assert len(name) <= MAX_FILENAME_LENGTH
    assert name.endswith(".png")


@pytest.mark.parametrize(("name", "content_type"), sorted(ALLOWED_TYPES.items()))
def test_content_types(name: str, content_type: str) -> None:
    assert content_type_for(f"file{name}") == content_type
    assert content_type_for(f"FILE{name.upper()}") == content_type


@pytest.mark.parametrize("name", ["script.exe", "page.html", "noext", "shell.sh", "x.php"])
def test_disallowed_types(name: str) -> None:
    with pytest.raises(MediaError, match="not accepted"):
        content_type_for(name)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\nrest"),
        ("image/jpeg", b"\xff\xd8\xff\xe0rest"),
        ("image/gif", b"GIF89a..."),
        ("application/pdf", b"%PDF-1.7"),
        ("application/zip", b"PK\x03\x04"),
        ("text/plain; charset=utf-8", b"anything goes"),
    ],
)
def test_matching_signatures_pass(content_type: str, data: bytes) -> None:
    check_signature(content_type, data)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("image/png", b"GIF89a"), ("image/jpeg", b"<svg/>"), ("application/pdf", b"MZ\x90\x00")],
)
def test_mismatched_signatures_fail(content_type: str, data: bytes) -> None:
    with pytest.raises(MediaError, match="does not look like"):
        check_signature(content_type, data)


def test_numbered_name() -> None:
    assert numbered_name("photo.png", 2) == "photo-2.png"
    assert numbered_name("archive.tar.gz", 3) == "archive.tar-3.gz"
    assert numbered_name("plain", 4) == "plain-4"
