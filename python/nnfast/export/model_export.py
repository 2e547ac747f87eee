"""``Model.export(filepath, format=...)``: Keras 3's export entry point, writing ONNX.

Keras 3 writes ``"tf_saved_model"`` (its default), ``"onnx"``, ``"openvino"``,
``"litert"`` and ``"torch"`` artifacts. nnfast writes ONNX, the format every other runtime
reads (ONNX Runtime, OpenVINO, TensorRT, onnx2tf); the other formats raise
``NotImplementedError`` saying so.
"""
import os

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.export.onnx_graph import MAX_OPSET, OPSET, ExportError, build_onnx_model, onnx_module
from nnfast.layers.input_layer import Input
from nnfast.layers.input_spec import InputSpec
from nnfast.models.functional import Functional, flatten_struct
from nnfast.models.sequential import Sequential

KERAS_FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")


def check_format(format, where="export"):
    """Raises for a format other than ``"onnx"``: ValueError for one Keras does not know,
    NotImplementedError naming a Keras format nnfast does not write."""
    if format == "onnx":
        return
    if format not in KERAS_FORMATS and format != "saved_model":
        raise ValueError(f"Unrecognized format={format}. Supported formats are: "
                         f"{list(KERAS_FORMATS)}.")
    raise NotImplementedError(
        f"{where}(format={format!r}) is not available in nnfast: it writes ONNX only. Use "
        f"format=\"onnx\" (ONNX Runtime, OpenVINO and TensorRT read ONNX; onnx2tf converts "
        "it to TensorFlow/LiteRT).")


def _spec_shape_dtype(spec):
    """(shape, dtype) of an input-signature entry: a ``keras.InputSpec``, a
    ``KerasTensor``, an array, or a shape tuple (float32)."""
    import numpy as np


    if isinstance(spec, InputSpec):
        if spec.shape is None:
            raise ValueError(f"An InputSpec in `input_signature` needs a shape. Received: "
                             f"{spec}")
        return tuple(spec.shape), spec.dtype or "float32", getattr(spec, "name", None)
    if isinstance(spec, KerasTensor):
        return tuple(spec.shape), spec.dtype or "float32", None
    if isinstance(spec, (tuple, list)) and all(d is None or isinstance(d, int) for d in spec):
        return tuple(spec), "float32", None
    if hasattr(spec, "shape") and hasattr(spec, "dtype"):
        return tuple(np.shape(spec)), str(np.dtype(spec.dtype)), None
    raise ValueError("Each `input_signature` entry must be a keras.InputSpec, a KerasTensor, "
                     f"an array or a shape tuple. Received: {spec!r}")


def flatten_signature(input_signature):
    """The list of ``(shape, dtype, name)`` entries of an input signature (one entry, a list
    or a dict of them)."""
    if input_signature is None:
        return None
    if isinstance(input_signature, dict):
        return [_spec_shape_dtype(input_signature[k]) for k in sorted(input_signature)]
    if isinstance(input_signature, (list, tuple)) and input_signature and \
            not all(d is None or isinstance(d, int) for d in input_signature):
        out = []
        for s in input_signature:
            if isinstance(s, (list, tuple)) and s and not all(
                    d is None or isinstance(d, int) for d in s):
                out.extend(flatten_signature(s))
            else:
                out.append(_spec_shape_dtype(s))
        return out
    return [_spec_shape_dtype(input_signature)]


def trace_function(fn, signature, name):
    """A Functional model of ``fn`` called on symbolic inputs of ``signature`` (a list of
    (shape, dtype, name)): ``fn`` must compute with nnfast layers and ops."""
    inputs = [Input(batch_shape=shape, dtype=dtype, name=n or None)
              for shape, dtype, n in signature]
    try:
        outputs = fn(*inputs)
    except Exception as e:
        raise ExportError(f"Endpoint '{name}': calling it on symbolic inputs of shapes "
                          f"{[s for s, _, _ in signature]} failed ({type(e).__name__}: {e}); "
                          "an ONNX endpoint must compute with nnfast layers and ops.") from e
    flat = flatten_struct(outputs)
    if not flat or not all(isinstance(t, KerasTensor) for t in flat):
        raise ExportError(f"Endpoint '{name}' returned {outputs!r}; an ONNX endpoint must "
                          "return symbolic tensors computed from its inputs.")
    return Functional(inputs if len(inputs) > 1 else inputs[0], outputs, name=name)


def model_to_onnx(model, input_signature=None, opset_version=None):
    """The ``onnx.ModelProto`` of ``model`` with inputs as ``input_signature`` says (default:
    the model's own inputs), for opset ``opset_version`` (17 to 21, default 17).

    Example:
        >>> proto = model_to_onnx(model, [keras.InputSpec(shape=(1, 28, 28))])
        >>> onnxruntime.InferenceSession(proto.SerializeToString())
    """
    opset = OPSET if opset_version is None else int(opset_version)
    if not OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"nnfast writes ONNX opsets {OPSET} to {MAX_OPSET}. Received: "
                         f"opset_version={opset_version}")
    signature = flatten_signature(input_signature)
    if signature is None:
        return build_onnx_model(model, opset=opset)

    if isinstance(model, (Functional, Sequential)):
        n_inputs = len(model.inputs)
        if len(signature) != n_inputs:
            raise ValueError(f"Model '{model.name}' takes {n_inputs} input(s); "
                             f"`input_signature` has {len(signature)}.")
        return build_onnx_model(model, [(s, d) for s, d, _ in signature], opset=opset)
    return build_onnx_model(trace_function(model, signature, model.name), opset=opset)


def save_proto(proto, filepath):
    """Writes an ONNX model to ``filepath`` (creating its folder)."""
    onnx = onnx_module()
    folder = os.path.dirname(os.fspath(filepath))
    if folder:
        os.makedirs(folder, exist_ok=True)
    onnx.save(proto, os.fspath(filepath))


def export_model(model, filepath, format="tf_saved_model", verbose=None, input_signature=None,
                 **kwargs):
    """``Model.export``: writes ``model`` for inference as an ONNX file at ``filepath``.

    Args:
        model: a Sequential or Functional model, or a subclassed model whose ``call`` computes
            with nnfast layers and ops (traced on symbolic inputs).
        filepath: path of the ``.onnx`` file to write.
        format: ``"onnx"``; Keras's other formats raise ``NotImplementedError``.
        verbose: print where the file went (default True).
        input_signature: optional ``keras.InputSpec``, shape tuple or KerasTensor per
            model input, overriding the model's input shapes (``None`` = dynamic).
        **kwargs: ``opset_version`` (int, 17 to 21, default 17).

    Example:
        >>> model.export("model.onnx", format="onnx")
        >>> session = onnxruntime.InferenceSession("model.onnx")
        >>> session.run(None, {session.get_inputs()[0].name: x})
    """
    check_format(format, "Model.export")
    opset_version = kwargs.pop("opset_version", None)
    if kwargs:
        raise TypeError(f"Model.export(format='onnx') got unexpected arguments "
                        f"{sorted(kwargs)}; it takes `opset_version`.")
    proto = model_to_onnx(model, input_signature, opset_version)
    save_proto(proto, filepath)
    if verbose is None or verbose:
        print(f"Saved artifact at '{os.fspath(filepath)}'.")
