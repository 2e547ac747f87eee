"""Finding dataset files: ``$NNFAST_DATASETS`` (read-only, pre-downloaded), then the cache
``$NNFAST_HOME/datasets`` (default ``~/.nnfast/datasets``), then a download into the cache
with a sha256 check. Offline and absent, an error says which file to put where."""
import hashlib
import os
import shutil
import tempfile
import urllib.request


def cache_dir():
    home = os.environ.get("NNFAST_HOME") or os.path.join(os.path.expanduser("~"), ".nnfast")
    return os.path.join(home, "datasets")


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def get_file(fname, origin, file_hash=None):
    """The local path of dataset file ``fname``, downloading it from ``origin`` if needed.

    Args:
        fname: Keras's file name (``"mnist.npz"``).
        origin: public URL to download from.
        file_hash: expected sha256 of the file (checked after a download).
    """
    shared = os.environ.get("NNFAST_DATASETS")
    if shared:
        path = os.path.join(shared, fname)
        if os.path.exists(path):
            return path
    cached = os.path.join(cache_dir(), fname)
    if os.path.exists(cached):
        return cached
    os.makedirs(cache_dir(), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir(), prefix=fname + ".", suffix=".part")
    os.close(fd)
    try:
        with urllib.request.urlopen(origin, timeout=30) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
        if file_hash and _sha256(tmp) != file_hash:
            raise ValueError(f"Downloaded {fname} from {origin} but its sha256 does not match "
                             f"{file_hash}; the file was discarded.")
        os.replace(tmp, cached)
        return cached
    except (OSError, ValueError) as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, ValueError):
            raise
        where = f"$NNFAST_DATASETS ({shared})" if shared else "a folder named by $NNFAST_DATASETS"
        raise FileNotFoundError(
            f"Dataset file '{fname}' is not available offline and could not be downloaded from "
            f"{origin} ({err}). Put a copy of '{fname}' in {where} or in {cache_dir()}.") from None
