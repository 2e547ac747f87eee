"""``keras.export.ExportArchive`` on the ONNX format: named serving endpoints of tracked
layers and models, one ONNX model per endpoint.

``write_out(filepath)`` writes a single endpoint to the file ``filepath``; with several
endpoints ``filepath`` is a folder holding ``<endpoint name>.onnx`` for each (ONNX has one
graph per model). Keras's SavedModel-only parts (variable collections, TensorFlow
trackables) raise ``NotImplementedError``.
"""
import os

from nnfast.export.model_export import (
    check_format,
    flatten_signature,
    model_to_onnx,
    save_proto,
    trace_function,
)
from nnfast.layers.layer import Layer
from nnfast.models.functional import Functional
from nnfast.models.sequential import Sequential


class ExportArchive:
    """Writes inference artifacts with chosen endpoints (ONNX files).

    Args:
        format: ``"onnx"``. Keras's default ``"saved_model"`` (TensorFlow) raises
            ``NotImplementedError``: nnfast writes ONNX.

    Example:
        >>> archive = keras.export.ExportArchive(format="onnx")
        >>> archive.track(model)
        >>> archive.add_endpoint("serve", model.__call__,
        ...                      input_signature=[keras.InputSpec(shape=(None, 3))])
        >>> archive.write_out("serve.onnx")
    """

    def __init__(self, format="saved_model", **kwargs):
        check_format(format, "ExportArchive")
        if kwargs:
            raise TypeError(f"ExportArchive got unexpected arguments {sorted(kwargs)}.")
        self.format = format
        self._tracked = []
        self._endpoints = {}  # name -> onnx.ModelProto
        self._endpoint_names = []

    def track(self, resource):
        """Registers a built layer or model whose weights the endpoints use.

        Args:
            resource: a built ``Layer`` or ``Model``.
        """
        if not isinstance(resource, Layer):  # ValueError, as Keras raises
            raise ValueError(  # noqa: TRY004
                "Invalid resource type. Expected a Keras `Layer` or `Model`. "
                f"Received object {resource} of type '{type(resource)}'.")
        if not resource.built:
            raise ValueError("The layer provided has not yet been built. It must be built "
                             "before export.")
        if all(resource is not r for r in self._tracked):
            self._tracked.append(resource)

    def add_endpoint(self, name, fn, input_signature=None, **kwargs):
        """Registers the endpoint ``name`` computing ``fn`` on inputs of ``input_signature``.

        Args:
            name: the endpoint's name (the ONNX graph's name; the file name with several).
            fn: a tracked model or layer, its ``__call__`` or ``call``, or a function of
                symbolic tensors computing with nnfast layers and ops.
            input_signature: a list with one ``keras.InputSpec`` (or shape tuple or
                KerasTensor) per argument of ``fn``; required.
            **kwargs: ``opset_version`` (int, default 17).

        Returns:
            The ``onnx.ModelProto`` of the endpoint.
        """
        if name in self._endpoints:
            raise ValueError(f"Endpoint name '{name}' is already taken.")
        if input_signature is None:
            raise ValueError("You must provide an `input_signature` argument in "
                             "`add_endpoint()` to specify the shape and dtype of the function "
                             "arguments. Example: input_signature=[keras.InputSpec(shape=(None, "
                             "224, 224, 3), dtype='float32')]")
        opset_version = kwargs.pop("opset_version", None)
        if kwargs:
            raise TypeError(f"add_endpoint got unexpected arguments {sorted(kwargs)}.")
        target = getattr(fn, "__self__", None)
        if self._tracked and target is not None and getattr(fn, "__name__", "") in (
                "__call__", "call") and all(target is not r for r in self._tracked):
            raise ValueError(f"Endpoint '{name}' calls '{getattr(target, 'name', target)}', "
                             "which is not tracked: call `track()` on it first.")
        if target is not None and getattr(fn, "__name__", "") in ("__call__", "call"):
            fn = target  # the layer itself: its graph exports directly when it has one

        signature = flatten_signature(input_signature)
        if isinstance(fn, (Functional, Sequential)):
            proto = model_to_onnx(fn, input_signature, opset_version)
            proto.graph.name = name
        else:
            proto = model_to_onnx(trace_function(fn, signature, name), None, opset_version)
            proto.graph.name = name
        self._endpoints[name] = proto
        self._endpoint_names.append(name)
        return proto

    def track_and_add_endpoint(self, name, resource, input_signature, **kwargs):
        """``track(resource)`` then ``add_endpoint(name, resource.__call__, ...)``."""
        self.track(resource)
        return self.add_endpoint(name, resource.__call__, input_signature, **kwargs)

    def add_variable_collection(self, name, variables):
        """Not available: variable collections are part of TensorFlow SavedModels, which
        nnfast does not write (ONNX files hold the endpoints' weights as constants)."""
        raise NotImplementedError(
            "ExportArchive.add_variable_collection is a SavedModel feature; nnfast's ONNX "
            "archives hold only the endpoints' graphs.")

    def write_out(self, filepath, options=None, verbose=True):
        """Writes the endpoints: one endpoint to the ONNX file ``filepath``; several to the
        folder ``filepath`` as ``<name>.onnx`` each.

        Args:
            filepath: file path (one endpoint) or folder path (several).
            options: unused (SavedModel options in Keras); must be None.
            verbose: print each endpoint's inputs and outputs.
        """
        if not self._endpoints:
            raise ValueError("No endpoints have been set yet. Call add_endpoint().")
        if options is not None:
            raise ValueError("`options` are tf.saved_model.SaveOptions; the ONNX format takes "
                             "none.")
        path = os.fspath(filepath)
        if len(self._endpoints) == 1:
            targets = {self._endpoint_names[0]: path}
        else:
            os.makedirs(path, exist_ok=True)
            targets = {n: os.path.join(path, f"{n}.onnx") for n in self._endpoint_names}
        for name, target in targets.items():
            proto = self._endpoints[name]
            save_proto(proto, target)
            if verbose:
                ins = [(i.name, _dims(i)) for i in proto.graph.input]
                outs = [(o.name, _dims(o)) for o in proto.graph.output]
                print(f"Endpoint '{name}' -> {target}\n  inputs: {ins}\n  outputs: {outs}")
        return list(targets.values())


def _dims(value_info):
    return tuple(d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim)
