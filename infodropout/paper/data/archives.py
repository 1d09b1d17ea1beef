"""Unpacking the CIFAR-10 tarball safely: every member checked before anything is written, then extracted into a
temporary folder moved into place, so that a crafted or torn archive never leaves files outside the data folder or a
half-extracted one under the real name."""

from __future__ import annotations

import os
import shutil
import tarfile
import uuid
from pathlib import Path, PurePosixPath
from typing import TextIO

from infodropout.paper.data.checksums import CIFAR_FOLDER
from infodropout.paper.errors import STDERR, DataError, remove_stale_partials


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be extracted, or None if it is a plain file or folder inside the archive."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or member.name.startswith(("/", "\\")) or (path.parts and ":" in path.parts[0]):
        return "an absolute path"
    if ".." in path.parts or "\\" in member.name:
        return "a path leaving the archive's folder ('..')"
    if not (member.isfile() or member.isdir()):
        return "a link or special file"
    if path.parts[:1] != (CIFAR_FOLDER,):
        return f"a path outside {CIFAR_FOLDER}/"
    return None


def extract_cifar(tarball: str | os.PathLike, folder: str | os.PathLike,
                  progress: TextIO | None = STDERR) -> Path:
    """Extract the CIFAR-10 python tarball into ``folder/cifar-10-batches-py`` safely and atomically.

    Every member is checked BEFORE anything is written: absolute paths, '..' components, links,
    devices and anything outside ``cifar-10-batches-py/`` make the whole archive a DataError, since
    the official archive holds none of them and a crafted one could write outside the data folder.
    The files are extracted into a temporary folder that is renamed into place at the end, so an
    interrupted extraction never leaves a half-filled ``cifar-10-batches-py`` behind.
    """
    tarball, folder = Path(tarball), Path(folder)
    target = folder / CIFAR_FOLDER
    remove_stale_partials(folder, CIFAR_FOLDER, ".part")  # a killed extraction's half-filled folder
    staging = folder / f".{CIFAR_FOLDER}.{os.getpid()}.{uuid.uuid4().hex}.part"
    try:
        with tarfile.open(tarball, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                reason = _unsafe_reason(member)
                if reason:
                    raise DataError(f"{tarball}: refusing to extract member {member.name!r}, {reason}; "
                                    f"this is not the official CIFAR-10 archive")
            if progress is not None:
                print(f"extracting {tarball} into {target}", file=progress, flush=True)
            staging.mkdir(parents=True)
            # The 'data' filter (Python >= 3.11.4) repeats the checks above and drops odd permissions.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(staging, members=members, **extra)
        if not (staging / CIFAR_FOLDER).is_dir():
            raise DataError(f"{tarball}: the archive holds no {CIFAR_FOLDER}/ folder; "
                            "this is not the CIFAR-10 python version")
        if not target.is_dir():  # else another process finished first: keep its copy
            os.replace(staging / CIFAR_FOLDER, target)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{tarball}: truncated or corrupt archive ({type(error).__name__}: {error}); "
                        "delete it and run again to download it") from error
    finally:
        # rmtree does not follow links, and the members were checked to hold none anyway.
        shutil.rmtree(staging, ignore_errors=True)
    return target
