"""Finding dataset files: ``$NNFAST_DATASETS`` (read-only, pre-downloaded), then the cache
``$NNFAST_HOME/datasets`` (default ``~/.nnfast/datasets``), then a download into the cache
with a sha256 check. Offline and absent, an error says which file to put where."""
import hashlib
import os
import shutil
import tarfile
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


_VERIFIED = {}  # (path, size, mtime_ns) -> sha256, so repeated loads hash a file once


def _check_local(path, fname, file_hash):
    """A file found on disk is checked against its known sha256 before anything reads it
    (imdb/reuters are unpickled: a tampered file must never reach np.load)."""
    if not file_hash:
        return path
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    digest = _VERIFIED.get(key)
    if digest is None:
        digest = _VERIFIED[key] = _sha256(path)
    if digest != file_hash:
        raise ValueError(f"Dataset file '{path}' does not match the known sha256 of {fname} "
                         f"({file_hash}; the file's is {digest}). It is damaged or not the "
                         "original: replace it with Keras's download.")
    return path


def get_file(fname, origin, file_hash=None):
    """The local path of dataset file ``fname``, downloading it from ``origin`` if needed.

    Args:
        fname: Keras's file name (``"mnist.npz"``), possibly inside a subfolder
            (``"fashion-mnist/train-images-idx3-ubyte.gz"``).
        origin: public URL to download from.
        file_hash: expected sha256 of the file, checked for a file found on disk as for a
            download.
    """
    shared = os.environ.get("NNFAST_DATASETS")
    if shared:
        path = os.path.join(shared, fname)
        if os.path.exists(path):
            return _check_local(path, fname, file_hash)
    cached = os.path.join(cache_dir(), fname)
    if os.path.exists(cached):
        return _check_local(cached, fname, file_hash)
    # ``fname`` may name a subfolder ("fashion-mnist/t10k-labels-idx1-ubyte.gz").
    folder = os.path.dirname(cached)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(fname) + ".", suffix=".part")
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


def _safe_members(tar, dest):
    """The archive's members, refusing any that would land outside ``dest`` or are links."""
    root = os.path.realpath(dest)
    for member in tar.getmembers():
        target = os.path.realpath(os.path.join(dest, member.name))
        if os.path.commonpath([root, target]) != root or member.issym() or member.islnk():
            raise ValueError(f"Refusing to extract {member.name!r}: it points outside the "
                             f"destination folder or is a link.")
        if member.isfile() or member.isdir():
            yield member


def _extract(archive, folder_name, dest_root):
    """Extracts ``folder_name`` from the tar archive into ``dest_root`` atomically (into a
    temporary folder first, then renamed), so an interrupted extraction leaves nothing
    half-written under the final name."""
    os.makedirs(dest_root, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=dest_root, prefix=folder_name + ".", suffix=".part")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = list(_safe_members(tar, tmp))
            tar.extractall(tmp, members=members)
        src = os.path.join(tmp, folder_name)
        if not os.path.isdir(src):
            raise ValueError(f"Archive {archive} does not contain the folder '{folder_name}'.")
        final = os.path.join(dest_root, folder_name)
        if not os.path.isdir(final):
            os.replace(src, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def get_extracted_folder(folder_name, archive_names, origin, file_hash=None):
    """The local path of folder ``folder_name`` that a dataset's ``.tar.gz`` archive holds.

    Looks in ``$NNFAST_DATASETS`` then in the cache, for the extracted folder itself or for
    one of ``archive_names`` (extracted into the cache on first use); otherwise downloads
    ``archive_names[0]`` from ``origin`` into the cache (checking ``file_hash``) and
    extracts it.
    """
    shared = os.environ.get("NNFAST_DATASETS")
    for base in ([shared] if shared else []) + [cache_dir()]:
        folder = os.path.join(base, folder_name)
        if os.path.isdir(folder):
            return folder
        for name in archive_names:
            archive = os.path.join(base, name)
            if os.path.isfile(archive):
                return _extract(_check_local(archive, name, file_hash), folder_name, cache_dir())
    archive = get_file(archive_names[0], origin, file_hash)
    return _extract(archive, folder_name, cache_dir())
