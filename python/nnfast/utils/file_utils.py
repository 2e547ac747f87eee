"""``get_file``: download a file once into Keras's cache folder (``~/.keras/datasets`` by
default, or ``$KERAS_HOME``), check its hash, show a progress bar, extract archives."""
import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from nnfast.utils import io_utils
from nnfast.utils.progbar import Progbar


def keras_home():
    """Keras's home folder: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the
    home folder is not writable) — the same folder Keras uses, so downloads are shared."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def resolve_hasher(algorithm, file_hash=None):
    """sha256 for ``"sha256"`` or an ``"auto"`` 64-character hash, else md5 (Keras's rule)."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """The hex digest of a file (``"sha256"``, ``"md5"`` or ``"auto"`` = sha256)."""
    hasher = resolve_hasher("sha256" if algorithm == "auto" else algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """True when the file's hash (algorithm chosen as ``resolve_hasher``) is ``file_hash``."""
    hasher = resolve_hasher(algorithm, file_hash)
    name = "sha256" if hasher.name == "sha256" else "md5"
    return str(hash_file(fpath, name, chunk_size)) == str(file_hash)


def _safe_members(names, path):
    root = os.path.realpath(path)
    for name in names:
        target = os.path.realpath(os.path.join(path, name))
        if os.path.commonpath([root, target]) != root:
            raise ValueError(f"Archive member {name!r} would be written outside {path!r}.")


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar (``.tar``, ``.tar.gz``, ``.tar.bz2``) or zip archive into ``path``.
    Returns True when the file matched a format and was extracted. Members that would land
    outside ``path`` raise ``ValueError``."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                _safe_members(archive.getnames(), path)
                archive.extractall(path)
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _safe_members(archive.namelist(), path)
                archive.extractall(path)
            return True
    return False


class _DownloadProgress:
    """``urlretrieve``'s report hook drawing a Progbar of bytes."""

    def __init__(self):
        self.bar, self.finished = None, False

    def __call__(self, block_num, block_size, total_size):
        total = None if total_size == -1 else total_size
        if self.bar is None:
            self.bar = Progbar(total)
        current = block_num * block_size
        if total is None:
            self.bar.update(current)
        elif current < total:
            self.bar.update(current)
        elif not self.finished:
            self.bar.update(total)
            self.finished = True


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads ``origin`` into ``cache_dir/cache_subdir`` unless it is already there
    (with the right hash), and returns its path (or the extraction folder with
    ``extract``/``untar``). Keras's rules: the cache is ``~/.keras/datasets`` (shared with
    Keras), ``fname`` defaults to the URL's file name, a cached file whose hash differs
    is downloaded again, a downloaded file whose hash differs raises ``ValueError``.

    Args:
        fname: file name in the cache (no folders).
        origin: URL (``http(s)://``, ``file://``, ...).
        file_hash: expected sha256 or md5 hex digest of the file.
        md5_hash: Keras's older name of ``file_hash``.
        hash_algorithm: ``"auto"`` (by length), ``"sha256"`` or ``"md5"``.
        extract: extract the archive; the returned path is the extraction folder.
        untar: Keras's older name of ``extract`` for tar files.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"`` or None.
        cache_dir: base folder (default: Keras's home, ``~/.keras``).
        force_download: download even when cached.
        cache_subdir: sub-folder of the cache folder the file is stored in. Defaults to
            ``"datasets"``.

    Example:
        >>> path = get_file(origin="https://storage.googleapis.com/.../mnist.npz")
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if cache_dir is None:
        cache_dir = keras_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir)
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    provided = fname
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'."
                             "Please specify the `fname` argument.")
    elif os.sep in fname:
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the "
                         f"file's parent directory, use the `cache_dir` argument. Received: "
                         f"fname={fname}")
    extraction_dir = None
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash,
                                                                     hash_algorithm):
        io_utils.print_msg("A local file was found, but it seems to be incomplete or outdated "
                           f"because the {hash_algorithm} file hash does not match the original "
                           f"value of {file_hash} so we will re-download the data.")
        download = True
    if download:
        io_utils.print_msg(f"Downloading data from {origin}")
        try:
            try:
                urllib.request.urlretrieve(origin, target, _DownloadProgress())
            except urllib.error.HTTPError as e:
                raise Exception(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from e
            except urllib.error.URLError as e:
                raise Exception(f"URL fetch failure on {origin}: {e.errno} -- {e.reason}") from e
        except (Exception, KeyboardInterrupt):
            if os.path.exists(target):
                os.remove(target)
            raise
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file "
                             f"hash does not match the provided value of {file_hash}.")
    if extraction_dir is not None:
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return target
