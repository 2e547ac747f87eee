"""The quantization modes Keras 3 names (``QuantizedDTypePolicy`` and ``quantize`` accept
these; nnfast computes ``"int8"``, the others raise ``NotImplementedError`` when a layer is
quantized or built with them)."""

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
