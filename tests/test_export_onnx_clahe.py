"""ONNX export of ContrastLimitedAdaptiveHistogramEqualization (CLAHE): ONNX Runtime's output
equals nnfast's ``predict`` within test_export_onnx's tolerance (1e-5 of the largest value)
on odd image sizes, several tile grids and clip limits, both data formats, a dynamic batch
and integer inputs. Skips when ``onnx``/``onnxruntime`` are absent."""
import numpy as np
import pytest
from nnfast import layers

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from nnfast.export import ExportError  # noqa: E402
from nnfast.export.model_export import model_to_onnx  # noqa: E402
from test_export_onnx import _assert_close, _one_layer, _session, check_model  # noqa: E402

CLAHE = layers.ContrastLimitedAdaptiveHistogramEqualization


def _images(batch, shape, value_range=(0, 255), seed=0):
    low, high = value_range
    return np.random.default_rng(seed).uniform(low, high, (batch,) + shape).astype(np.float32)


@pytest.mark.parametrize("shape,kwargs", [
    ((13, 11, 3), dict(tile_grid_size=(4, 3), clip_limit=2.0)),   # padded to whole tiles
    ((16, 16, 1), dict()),                                        # Keras's defaults, 8x8 grid
    ((5, 3, 2), dict(tile_grid_size=(8, 8), clip_limit=1.5)),     # more tiles than pixels
    ((9, 17, 2), dict(tile_grid_size=(2, 5), clip_limit=0.0)),    # no clipping
    ((7, 12, 3), dict(tile_grid_size=(1, 1), clip_limit=40.0)),   # one tile, limit never hit
])
def test_clahe_matches_nnfast(shape, kwargs):
    check_model(_one_layer(CLAHE(**kwargs), shape), _images(3, shape))


def test_clahe_value_range_and_channels_first():
    check_model(_one_layer(CLAHE(value_range=(-1, 1), tile_grid_size=(3, 2)), (10, 7, 3)),
                _images(2, (10, 7, 3), (-1, 1)))
    check_model(_one_layer(CLAHE(tile_grid_size=(3, 2), data_format="channels_first"),
                           (3, 10, 7)), _images(2, (3, 10, 7), seed=1))


def test_clahe_dynamic_batch_and_integer_images():
    """One exported file serves batches of 1 and 5, and images holding whole levels (uint8
    photographs, flat regions that hit the clip limit, out-of-range values clipped)."""
    model = _one_layer(CLAHE(tile_grid_size=(4, 4), clip_limit=3.0), (21, 19, 3))
    sess = _session(model_to_onnx(model))
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(2)
    for batch in (1, 5):
        x = rng.integers(0, 256, (batch, 21, 19, 3)).astype(np.float32)
        x[:, :8, :8] = 77.0                      # a flat corner: one bin far over the limit
        x[0, 0, :3, 0] = (-20.0, 300.0, 254.9)   # outside the range / a fractional level
        _assert_close(sess.run(None, {name: x})[0], model.predict(x, verbose=0), "clahe")
    check_model(_one_layer(CLAHE(tile_grid_size=(2, 3)), (9, 9, 1), dtype="uint8"),
                rng.integers(0, 256, (2, 9, 9, 1)).astype(np.uint8))


def test_clahe_needs_a_static_image_size():
    model = _one_layer(CLAHE(name="eq"), (None, None, 3))
    with pytest.raises(ExportError, match="eq.*static image size"):
        model_to_onnx(model)
