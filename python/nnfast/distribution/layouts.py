"""Keras 3's device meshes and tensor layouts (``keras.distribution.DeviceMesh``,
``TensorLayout``, ``LayoutMap``, ``distribute_tensor``).

In nnfast a device is one process of the job (``"cpu:<rank>"``), and data parallelism is
the only layout that runs: every variable is replicated, each batch is split along its
first axis. Meshes and layouts are validated and stored so that Keras programs that build
them run; a layout that would shard a tensor across ranks raises ``NotImplementedError``.
"""
import collections.abc
import re

import numpy as np


class DeviceMesh:
    """A grid of devices with named axes.

    Args:
        shape: the mesh's shape, e.g. ``(8,)`` or ``(2, 4)``.
        axis_names: one name per axis, e.g. ``["batch"]`` or ``["batch", "model"]``.
        devices: the devices, ``prod(shape)`` of them (default: ``list_devices()``).

    Example:
        >>> mesh = DeviceMesh(shape=(2,), axis_names=["batch"], devices=["cpu:0", "cpu:1"])
        >>> mesh.devices.shape
        (2,)
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(f"Shape and axis_names cannot be empty. Received: shape={shape}, "
                             f"axis_names={axis_names}")
        shape, axis_names = tuple(int(s) for s in shape), list(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError("Shape and axis_names should have same size. Received: "
                             f"shape={shape}, axis_names={axis_names}")
        if devices is None:
            from nnfast.distribution.api import list_devices

            devices = list_devices()
        devices = np.array(devices)
        if int(np.prod(shape)) != devices.size:
            raise ValueError(f"Shape {shape} does not match the number of devices "
                             f"{devices.size}. Received: devices={devices.tolist()}")
        self._shape, self._axis_names = shape, axis_names
        self._devices = devices.reshape(shape)

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self):
        return self._devices

    @property
    def backend_mesh(self):
        return self

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """How a tensor is laid out on a mesh: one mesh axis name (sharded) or ``None``
    (replicated) per tensor axis.

    Args:
        axes: e.g. ``("batch", None)``.
        device_mesh: the mesh (may be set later through ``.device_mesh``).

    Example:
        >>> layout = TensorLayout(["batch", None])
    """

    def __init__(self, axes, device_mesh=None):
        self._axes = tuple(axes)
        self._device_mesh = None
        if device_mesh is not None:
            self.device_mesh = device_mesh

    @property
    def axes(self):
        return self._axes

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh):
        if self._device_mesh is not None:
            raise ValueError("Cannot override device mesh value. Existing value is "
                             f"{self._device_mesh}")
        unknown = [a for a in self._axes if a is not None and a not in device_mesh.axis_names]
        if unknown:
            raise ValueError(f"Invalid axis names for Layout. Valid axis names: "
                             f"{device_mesh.axis_names}, Got {list(self._axes)}")
        self._device_mesh = device_mesh

    @property
    def backend_layout(self):
        return self

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


class LayoutMap(collections.abc.MutableMapping):
    """A dict from variable-path regular expressions to ``TensorLayout`` (Keras's model
    parallel configuration). Lookup: an exact key first, else the one key whose pattern
    ``re.search``-matches the path (several matching keys are an error).

    Args:
        device_mesh: the mesh that layouts given as tuples of axis names are placed on.

    Example:
        >>> layout_map = LayoutMap(DeviceMesh((1,), ["batch"], ["cpu:0"]))
        >>> layout_map["dense.*kernel"] = (None, None)
    """

    def __init__(self, device_mesh):
        self._layout_map = collections.OrderedDict()
        self._device_mesh = device_mesh

    def __getitem__(self, key):
        if key in self._layout_map:
            return self._layout_map[key]
        matches = [k for k in self._layout_map if re.search(k, key)]
        if len(matches) > 1:
            raise ValueError(f"Path '{key}' matches multiple layout specification keys: "
                             f"{matches}. Please make sure each tensor/variable path only "
                             "matches at most one layout specification key in the LayoutMap.")
        return self._layout_map[matches[0]] if matches else None

    def __setitem__(self, key, layout):
        if key in self._layout_map:
            raise ValueError(f"{key} already exist in the LayoutMap with value "
                             f"{self._layout_map[key]}. Please make sure to not use duplicated "
                             "keys.")
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(axes=layout, device_mesh=None)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"{layout} should be a TensorLayout type, got {type(layout)}")
        if layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        self._layout_map[key] = layout

    def __delitem__(self, key):
        return self._layout_map.pop(key)

    def __len__(self):
        return len(self._layout_map)

    def __iter__(self):
        return iter(self._layout_map)

    @property
    def device_mesh(self):
        return self._device_mesh


def distribute_tensor(tensor, layout):
    """``tensor`` placed as ``layout`` says. Every rank holds whole tensors in nnfast, so a
    replicated layout (every axis ``None``) returns ``tensor`` itself; a sharded one raises
    ``NotImplementedError``.

    Example:
        >>> distribute_tensor(x, TensorLayout([None, None]))  # x itself
    """
    axes = getattr(layout, "axes", None)
    if axes is None:
        raise ValueError(f"`layout` must be a TensorLayout. Received: layout={layout!r}")
    if any(a is not None for a in axes):
        raise NotImplementedError("keras.distribution.distribute_tensor with a sharded layout "
                                  f"(axes={axes}): nnfast replicates every tensor on every "
                                  "rank (data parallelism only).")
    return tensor
