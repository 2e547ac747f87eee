"""``keras.export``: inference artifacts. nnfast writes ONNX (``Model.export(path,
format="onnx")`` and ``ExportArchive(format="onnx")``), checked against ONNX Runtime.

The graph builder is ``export.onnx_graph``; the per-layer converters are in
``export.onnx_layers`` (core, conv, pooling, normalization, merging, reshaping),
``export.onnx_more_layers``, ``export.onnx_recurrent``, ``export.onnx_conv_lstm``,
``export.onnx_attention``, ``export.onnx_preprocessing`` and ``export.onnx_operations`` (ops
recorded in functional graphs). Needs the ``onnx`` package (``pip install nnfast[onnx]``).
"""
from nnfast.export.export_archive import ExportArchive
from nnfast.export.model_export import export_model
from nnfast.export.onnx_graph import ExportError

__all__ = ["ExportArchive", "ExportError", "export_model"]
