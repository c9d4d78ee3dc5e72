"""Media files on disk: safe names, content types, and a content-addressed blob store."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath

ALLOWED_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".zip": "application/zip",
}
MAX_FILENAME_LENGTH = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}


class MediaError(ValueError):
    """An upload's name, type or content is not acceptable."""


def safe_filename(name: str) -> str:
    """Reduce an uploaded file's name to ``[A-Za-z0-9._-]`` without any directory part.

    The extension is kept (lowercased); a name that is only an extension,
    like ``.bashrc``, becomes ``bashrc``. Raises :class:`MediaError` when no
    usable character remains.
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    elif not stem.strip("."):
        stem, ext = ext, ""
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[-.]{2,}", "-", _UNSAFE.sub("-", stem)).strip(".-_")
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()
    if not stem:
        raise MediaError(f"file name {name!r} has no usable characters")
    stem = stem[: MAX_FILENAME_LENGTH - len(ext) - 1]
    return f"{stem}.{ext}" if ext else stem


def content_type_for(filename: str) -> str:
    """The content type served for ``filename``; raises :class:`MediaError` if not allowed."""
    suffix = PurePosixPath(filename).suffix.lower()
    try:
        return ALLOWED_TYPES[suffix]
    except KeyError:
        allowed = ", ".join(sorted(ALLOWED_TYPES))
        raise MediaError(f"files of type {suffix or '(none)'} are not accepted; use {allowed}")\
            from None


def check_signature(content_type: str, data: bytes) -> None:
    """Refuse data whose magic bytes contradict its declared binary type."""
    signatures = _SIGNATURES.get(content_type)
    if signatures and not data.startswith(signatures):
        raise MediaError(f"content does not look like {content_type}")


def numbered_name(filename: str, number: int) -> str:
    """``photo.png`` -> ``photo-2.png`` for ``number`` 2."""
    path = PurePosixPath(filename)
    return f"{path.stem}-{number}{path.suffix}"


class BlobStore:
    """Bytes stored under ``root/ab/cd/<sha256>``; equal content is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this hash lives."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise MediaError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` atomically; return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes of a blob; FileNotFoundError if it is missing."""
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        """Whether the blob is on disk."""
        return self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        """Remove a blob; return whether it existed."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        for parent in (path.parent, path.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break
        return True

    def total_bytes(self) -> int:
        """Disk space used by all blobs."""
        if not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
