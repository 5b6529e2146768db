"""Receiving an uploaded table file: streamed to disk while it is hashed, refused early and leaving nothing
behind when it is too large, binary junk, unreadable or has no data rows. Shared by the screening list import
and the venue check-in import (`venues.importing`), which differ only in where the file goes and how an
earlier upload of the same content is found.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from fangkong.screening.imports.reading import (
    MAX_LIST_BYTES,
    SAMPLE_BYTES,
    ListFileError,
    check_size,
    read_list,
    sniff_kind,
)

CHUNK_BYTES = 4 * 1024 * 1024
Earlier = TypeVar("Earlier")


@dataclass(frozen=True)
class StoredUpload(Generic[Earlier]):
    path: Path  # <directory>/<sha256>.<kind>
    sha256: str
    size: int
    earlier: Earlier | None  # the same content uploaded before and never imported, to be reused


def store_upload(
    chunks: Iterable[bytes],
    *,
    size: int,
    directory: Path,
    find_earlier: Callable[[str], Earlier | None],
) -> StoredUpload[Earlier]:
    """Stream `chunks` into `directory` as `<sha256>.<kind>` and check that it is a readable table.

    The announced `size` is checked before anything is read, and the running size while reading (a client
    may lie); the kind comes from the first bytes (junk is refused as soon as they arrive). `find_earlier`
    gets the content hash: it raises (a ConflictError naming the first import) when this content was already
    imported, and otherwise returns the earlier upload of the same content, or None. A refused file leaves
    no file behind, except the stored copy of an earlier upload that is kept for it."""
    check_size(size)
    digest = hashlib.sha256()
    temporary = directory / f"upload-{uuid.uuid4().hex}.part"
    written = 0
    head = b""
    try:
        with temporary.open("wb") as handle:
            for chunk in chunks:
                if len(head) < SAMPLE_BYTES:
                    head += chunk[: SAMPLE_BYTES - len(head)]
                    if len(head) >= SAMPLE_BYTES:
                        sniff_kind(head)
                written += len(chunk)
                if written > MAX_LIST_BYTES:
                    check_size(written)
                digest.update(chunk)
                handle.write(chunk)
        check_size(written)
        kind = sniff_kind(head)
        sha256 = digest.hexdigest()
        earlier = find_earlier(sha256)
        path = directory / f"{sha256}.{kind}"
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    try:
        read_list(path)  # refuse an empty or unreadable table now, not in the job
    except ListFileError:
        if earlier is None:
            path.unlink(missing_ok=True)
        raise
    return StoredUpload(path=path, sha256=sha256, size=written, earlier=earlier)


def file_chunks(path: Path) -> Iterator[bytes]:
    """A file on the server (the command line, tests) as the chunks an upload arrives in."""
    with path.open("rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            yield block
