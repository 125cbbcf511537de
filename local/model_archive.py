"""Unpack model.tar.gz as SageMaker does into /opt/ml/model, within a size limit.

A gzip stream can hold far more than it weighs (a 1 MB archive can unpack to a 1 GiB file), so the
sizes the tar headers announce are added up before anything is written, and an archive that would
unpack to more than the limit, or to more files than any model needs, is refused. tarfile's "data"
filter refuses absolute paths, paths leaving the target, links out of it and device files.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

# A serverless endpoint has at most 6 GB of memory for the model and the server; our models
# weigh about a megabyte. Tar headers are exact, so this bounds what reaches the disk.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 10_000


class ModelArchiveError(ValueError):
    """The artifact cannot be unpacked; the message says why."""


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def extract_model(archive: Path, target: Path, max_bytes: int = MAX_UNPACKED_BYTES) -> int:
    """Unpack `archive` into `target`; return the bytes written. Raises ModelArchiveError."""
    total = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = []
            # Iterating reads one header at a time: a huge member is refused before its data is read.
            for member in tar:
                total += member.size
                if total > max_bytes:
                    raise ModelArchiveError(
                        f"{archive} unpacks to more than {_size(max_bytes)} ({member.name!r} alone is "
                        f"{_size(member.size)}): refusing to unpack it"
                    )
                members.append(member)
                if len(members) > MAX_MEMBERS:
                    raise ModelArchiveError(f"{archive} holds more than {MAX_MEMBERS} files: refusing to unpack it")
            tar.extractall(target, members=members, filter="data")
    except ModelArchiveError:
        raise
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ModelArchiveError(f"cannot read model artifact {archive}: {exc}") from None
    return total
