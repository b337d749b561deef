"""The blob store: generated files by key (``<job id>/song.mp3``, ``<job id>/stems/vocals.wav``, ...).

Writes are atomic: data goes to a temporary file in the destination folder, is fsynced and then
renamed over the key's path, so a reader sees the old file or the new one, never a partial one;
a crash mid-write leaves the old file (and at worst a hidden ``.tmp-*`` file the janitor removes).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from songforge.errors import InvalidRequest, NotFound
from songforge.storage.atomic import atomic_write

__all__ = ["BlobStore", "FileBlobStore", "S3BlobStore", "BlobSource", "TEMP_PREFIX", "blob_spec", "open_blob_store"]

TEMP_PREFIX = ".tmp-"
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$")
_COPY_CHUNK_BYTES = 1 << 20

BlobSource = bytes | bytearray | memoryview | os.PathLike[str] | BinaryIO


class BlobStore(Protocol):
    """Where generated files live; keys are relative, slash-separated names."""

    def put(self, key: str, data: BlobSource) -> int: ...
    def open(self, key: str) -> BinaryIO: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def iter_older_than(self, age_s: float, *, now_s: float | None = None) -> Iterator[str]: ...


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key.split("/"):
        raise InvalidRequest(f"invalid file key {key!r}", field="key", limit="[A-Za-z0-9._-] segments")
    return key


class FileBlobStore:
    """:class:`BlobStore` on a local folder.

    Parameters
    ----------
    root : folder holding the files (created on first write).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """Local path of ``key`` (whether or not it exists)."""
        return self.root / _check_key(key)

    def put(self, key: str, data: BlobSource) -> int:
        """Store ``data`` (bytes, a file path or a binary file object) at ``key``; returns its size."""
        target = atomic_write(self.path_for(key), lambda out: _copy_into(data, out), prefix=TEMP_PREFIX, suffix="")
        _fsync_dir(target.parent)
        return target.stat().st_size

    def open(self, key: str) -> BinaryIO:
        """Open ``key`` for reading; raises :class:`NotFound`."""
        try:
            return self.path_for(key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no file {key!r}") from None

    def read(self, key: str) -> bytes:
        """The whole content of ``key``; raises :class:`NotFound`."""
        with self.open(key) as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        """Size of ``key`` in bytes; raises :class:`NotFound`."""
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no file {key!r}") from None

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self.path_for(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        """Remove the folder ``prefix`` (e.g. a job id) and everything under it; returns files removed."""
        folder = self.path_for(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def iter_older_than(self, age_s: float, *, now_s: float | None = None) -> Iterator[str]:
        """Keys (and leftover temporary files) last modified more than ``age_s`` seconds ago."""
        if not self.root.is_dir():
            return
        cutoff = (time.time() if now_s is None else now_s) - age_s
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.stat().st_mtime < cutoff:
                yield path.relative_to(self.root).as_posix()

    def remove_path(self, relative: str) -> None:
        """Remove a file found by :meth:`iter_older_than`, temporary files included."""
        path = (self.root / relative).resolve()
        if self.root.resolve() in path.parents:
            path.unlink(missing_ok=True)


def _copy_into(data: BlobSource, out: BinaryIO) -> None:
    if isinstance(data, bytes | bytearray | memoryview):
        out.write(data)
    elif isinstance(data, os.PathLike):
        with open(data, "rb") as src:
            shutil.copyfileobj(src, out, _COPY_CHUNK_BYTES)
    else:
        shutil.copyfileobj(data, out, _COPY_CHUNK_BYTES)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class S3BlobStore:
    """:class:`BlobStore` on any S3-compatible object store (AWS S3, MinIO, Ceph, moto ...), by boto3.

    The objects are the truth; ``cache_root`` is this machine's scratch folder. :meth:`path_for`
    returns the key's local file there, fetching the object first when it is in the store and
    not yet cached, so code that needs a real file (``Range`` downloads, the engine reading a
    reference) works unchanged. Files written straight to such a path (a running job's growing
    ``stream.part``) stay on the machine that writes them; everything written by :meth:`put`
    goes to the store. Deletes remove the object and the cached copy.

    Parameters
    ----------
    bucket : the bucket (created when missing).
    cache_root : local scratch folder.
    endpoint_url : e.g. ``http://127.0.0.1:9000``; ``None`` for AWS itself.
    access_key, secret_key, region : credentials and region (``None``: boto3's own lookup).
    """

    def __init__(
        self, bucket: str, cache_root: str | os.PathLike[str], *, endpoint_url: str | None = None,
        access_key: str | None = None, secret_key: str | None = None, region: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.root = Path(cache_root)
        self.config = {"bucket": bucket, "cache_root": str(cache_root), "endpoint_url": endpoint_url,
                       "access_key": access_key, "secret_key": secret_key, "region": region}
        self._client = boto3.client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            with contextlib.suppress(ClientError):  # another process created it meanwhile
                self._client.create_bucket(Bucket=self.bucket)

    def path_for(self, key: str) -> Path:
        """The key's file in the local cache, fetched from the store if it is there and not cached."""
        path = self.root / _check_key(key)
        if not path.is_file():
            with contextlib.suppress(NotFound):
                self._download(key, path)
        return path

    def _download(self, key: str, path: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise _not_found(key, exc) from None
        body = response["Body"]
        atomic_write(path, lambda out: shutil.copyfileobj(body, out, _COPY_CHUNK_BYTES), prefix=TEMP_PREFIX, suffix="")

    def put(self, key: str, data: BlobSource) -> int:
        """Upload ``data`` (bytes, a file path or a binary file object) to ``key``; returns its size."""
        _check_key(key)
        if isinstance(data, bytes | bytearray | memoryview):
            payload: Any = io.BytesIO(bytes(data))
        elif isinstance(data, os.PathLike):
            payload = open(data, "rb")  # noqa: SIM115  (closed below)
        else:
            payload = data
        try:
            self._client.upload_fileobj(payload, self.bucket, key)
        finally:
            if isinstance(data, os.PathLike):
                payload.close()
        self._drop_cached(key)
        return self.size(key)

    def open(self, key: str) -> BinaryIO:
        """The key's content as a local binary file; raises :class:`NotFound`."""
        path = self.path_for(key)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"no file {key!r}") from None

    def read(self, key: str) -> bytes:
        """The whole content of ``key``; raises :class:`NotFound`."""
        from botocore.exceptions import ClientError

        try:
            return bytes(self._client.get_object(Bucket=self.bucket, Key=_check_key(key))["Body"].read())
        except ClientError as exc:
            raise _not_found(key, exc) from None

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        """Size of ``key`` in bytes; raises :class:`NotFound`."""
        from botocore.exceptions import ClientError

        try:
            return int(self._client.head_object(Bucket=self.bucket, Key=_check_key(key))["ContentLength"])
        except ClientError as exc:
            raise _not_found(key, exc) from None

    def delete(self, key: str) -> None:
        """Remove ``key`` (object and cached copy) if present."""
        self._client.delete_object(Bucket=self.bucket, Key=_check_key(key))
        self._drop_cached(key)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder ``prefix`` (and the cached copies); returns the count."""
        folder = _check_key(prefix.rstrip("/")) + "/"
        keys = [item["Key"] for item in self._list(folder)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start:start + 1000]]
            self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        shutil.rmtree(self.root / folder, ignore_errors=True)
        return len(keys)

    def iter_older_than(self, age_s: float, *, now_s: float | None = None) -> Iterator[str]:
        """Keys whose object was last written more than ``age_s`` seconds ago."""
        cutoff = (time.time() if now_s is None else now_s) - age_s
        for item in self._list(""):
            if item["LastModified"].timestamp() < cutoff:
                yield str(item["Key"])

    def remove_path(self, relative: str) -> None:
        """Remove a key found by :meth:`iter_older_than`."""
        self.delete(relative)

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def _drop_cached(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


def _not_found(key: str, exc: Exception) -> Exception:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    if code in ("404", "NoSuchKey", "NotFound"):
        return NotFound(f"no file {key!r}")
    return exc


def blob_spec(blobs: Any) -> str:
    """A string that :func:`open_blob_store` turns back into an equal store (for worker processes)."""
    if isinstance(blobs, S3BlobStore):
        return _S3_SPEC + json.dumps(blobs.config, sort_keys=True)
    return str(blobs.root)


def open_blob_store(spec: str) -> Any:
    """The store described by :func:`blob_spec` (a folder path, or an S3 description)."""
    if spec.startswith(_S3_SPEC):
        config = json.loads(spec.removeprefix(_S3_SPEC))
        bucket, cache_root = config.pop("bucket"), config.pop("cache_root")
        return S3BlobStore(bucket, cache_root, **config)
    return FileBlobStore(spec)


_S3_SPEC = "s3:"
