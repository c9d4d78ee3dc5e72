"""Media uploads: records in SQLite, bytes on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from webbly.cms import CMS
from webbly.errors import NotFound, PermissionDenied, ValidationFailed
from webbly.media import BlobStore, MediaError
from webbly.models import User
from webbly.seed import seed_users

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def test_upload_stores_bytes_under_their_hash(cms: CMS, users: dict[str, User]) -> None:
    media = cms.media.upload(users["author"], "Holiday Photo.PNG", PNG)
    assert media.filename == "Holiday-Photo.png"
    assert media.content_type == "image/png"
    assert media.size == len(PNG)
    assert media.sha256 == hashlib.sha256(PNG).hexdigest()
    path = cms.media.store.path_for(media.sha256)
    assert path.is_relative_to(cms.settings.media_dir)
    assert path.read_bytes() == PNG
    assert cms.media.read(cms.media.get("Holiday-Photo.png")) == PNG


def test_same_name_gets_a_number(cms: CMS, users: dict[str, User]) -> None:
    names = [cms.media.upload(users["author"], "x.txt", f"v{n}".encode()).filename
             for n in range(3)]
    assert names == ["x.txt", "x-2.txt", "x-3.txt"]


def test_identical_content_is_stored_once(cms: CMS, users: dict[str, User]) -> None:
    first = cms.media.upload(users["author"], "a.txt", b"same bytes")
    second = cms.media.upload(users["author"], "b.txt", b"same bytes")
    assert first.sha256 == second.sha256
    blobs = [p for p in cms.settings.media_dir.rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_delete_keeps_shared_blob_until_last_reference(cms: CMS, users: dict[str, User]) -> None:
    first = cms.media.upload(users["author"], "a.txt", b"shared")
    cms.media.upload(users["author"], "b.txt", b"shared")
    cms.media.delete(users["editor"], "a.txt")
    assert cms.media.store.exists(first.sha256)
    cms.media.delete(users["editor"], "b.txt")
    assert not cms.media.store.exists(first.sha256)
    assert list(cms.settings.media_dir.rglob("*")) == []


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("evil.exe", b"MZ", "not accepted"),
        ("fake.png", b"GIF89a", "does not look like image/png"),
        ("empty.txt", b"", "is empty"),
        ("../../../", b"x", "no usable characters"),
        ("big.txt", b"x" * 2048, "larger than 1024 bytes"),
    ],
)
def test_rejected_uploads(site_factory, filename: str, data: bytes, fragment: str) -> None:
    cms = site_factory("small-uploads", max_upload_bytes=1024)
    users = seed_users(cms)
    with pytest.raises(ValidationFailed) as caught:
        cms.media.upload(users["author"], filename, data)
    assert fragment in caught.value.errors["file"]
    assert cms.media.recent() == []


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("author", True)])
def test_upload_permission(cms: CMS, users: dict[str, User], role: str, allowed: bool) -> None:
    if allowed:
        assert cms.media.upload(users[role], "ok.txt", b"fine").filename == "ok.txt"
    else:
        with pytest.raises(PermissionDenied):
            cms.media.upload(users[role], "no.txt", b"nope")


def test_authors_cannot_delete_media(cms: CMS, users: dict[str, User]) -> None:
    cms.media.upload(users["author"], "keep.txt", b"k")
    with pytest.raises(PermissionDenied):
        cms.media.delete(users["author"], "keep.txt")


def test_missing_media(cms: CMS) -> None:
    with pytest.raises(NotFound):
        cms.media.get("nothing.png")


def test_missing_blob_is_reported(cms: CMS, users: dict[str, User]) -> None:
    media = cms.media.upload(users["author"], "gone.txt", b"soon gone")
    cms.media.store.path_for(media.sha256).unlink()
    with pytest.raises(NotFound, match="missing"):
        cms.media.read(media)


def test_list_is_newest_first(cms: CMS, users: dict[str, User]) -> None:
    for n in range(5):
        cms.media.upload(users["author"], f"f{n}.txt", f"{n}".encode())
    assert [m.filename for m in cms.media.recent(limit=3)] == ["f4.txt", "f3.txt", "f2.txt"]


def test_blob_store_total_bytes_and_bad_digest(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    assert store.total_bytes() == 0
    store.put(b"12345")
    store.put(b"abc")
    assert store.total_bytes() == 8
    with pytest.raises(MediaError, match="not a sha256"):
        store.path_for("../../etc/passwd")
    assert store.delete("0" * 64) is False
