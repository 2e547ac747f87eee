"""Reading HDF5 weight files without reaching outside them.

HDF5 can make a dataset read another file of the machine (external storage, external links,
virtual datasets) and can declare a huge dataset in a tiny file. A weights file is untrusted
input, so every group and dataset nnfast reads goes through here: only hard links, only
datasets stored in the file itself, and nothing larger than what the model can hold.
"""
import numpy as np


def _h5py():
    import h5py

    return h5py


def _refuse(what, name):
    raise ValueError(f"Refusing to read '{name}' from the weights file: it is {what}. Weight "
                     "files may only hold their own data (HDF5 external links, external "
                     "storage and virtual datasets could read other files of this machine).")


def child(group, key):
    """``group[key]`` through a hard link only (no soft or external link)."""
    h5py = _h5py()
    link = group.get(key, getlink=True)
    if link is None:
        return None
    if isinstance(link, h5py.ExternalLink):
        _refuse(f"an external link to {link.filename}:{link.path}", f"{group.name}/{key}")
    if isinstance(link, h5py.SoftLink):
        _refuse(f"a soft link to {link.path}", f"{group.name}/{key}")
    return group[key]


def at(root, path):
    """The object at ``path`` (a/b/c) under ``root``, every step a hard link; None if absent."""
    obj = root
    for part in [p for p in path.split("/") if p]:
        if not isinstance(obj, _h5py().Group):
            return None
        obj = child(obj, part)
        if obj is None:
            return None
    return obj


def dataset(group, key):
    """A dataset of ``group`` whose data lives in the file itself."""
    ds = child(group, key)
    if not isinstance(ds, _h5py().Dataset):
        raise ValueError(f"'{group.name}/{key}' in the weights file is not a dataset.")
    if ds.is_virtual:
        _refuse("a virtual dataset", ds.name)
    if ds.external:
        _refuse(f"stored in external files {[e[0] for e in ds.external]}", ds.name)
    return ds


def read(ds, max_elements):
    """The dataset's values, refused before allocating when it declares more elements than
    ``max_elements`` (what the model could possibly need)."""
    if ds.size > max_elements:
        raise ValueError(f"Dataset '{ds.name}' declares shape {ds.shape} ({ds.size} values), "
                         f"more than any weight of this model ({max_elements} values): the file "
                         "does not belong to this model or is damaged.")
    return np.asarray(ds[()])


def max_elements(model):
    """The largest number of values one weight of ``model`` (or a scalar) holds."""
    sizes = [int(np.prod(v.shape)) for v in getattr(model, "weights", [])]
    return max(sizes + [1])


def dataset_at(root, path):
    """``dataset`` for a path of several steps (legacy weight names such as
    ``dense/kernel:0``); None when a step is missing."""
    parts = [p for p in path.split("/") if p]
    parent = at(root, "/".join(parts[:-1])) if len(parts) > 1 else root
    if parent is None or not isinstance(parent, _h5py().Group) or parts[-1] not in parent:
        return None
    return dataset(parent, parts[-1])
