"""Helpers shared by the ImageNet applications: ``preprocess_input``, ``decode_predictions``,
input-shape checks, and finding Keras's published weight files.

Weight and class-index files are looked up, in order, in ``$NNFAST_MODELS`` (a read-only
folder of pre-downloaded files), in the cache ``$NNFAST_HOME/models`` (default
``~/.nnfast/models``), in Keras's own cache ``$KERAS_HOME/models`` (default
``~/.keras/models``), and otherwise downloaded from Keras's public URL into the nnfast
cache, with Keras's hash checked. Offline and absent, the error names the file and the
folder to put it in.
"""
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request

import numpy as np

from nnfast import activations
from nnfast.backend.global_state import image_data_format
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor
from nnfast.layers import Input
from nnfast.layers.input_layer import InputLayer
from nnfast.models.functional import Functional

CLASS_INDEX_PATH = ("https://storage.googleapis.com/download.tensorflow.org/"
                    "data/imagenet_class_index.json")
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
_CLASS_INDEX = None

_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


# --- weight files ---------------------------------------------------------------------------
def models_cache_dir():
    """The folder nnfast downloads model files into: ``$NNFAST_HOME/models``."""
    home = os.environ.get("NNFAST_HOME") or os.path.join(os.path.expanduser("~"), ".nnfast")
    return os.path.join(home, "models")


def _keras_cache_dir():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def _file_hash(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _hash_matches(path, file_hash):
    # Keras's rule: a 64-character hash is sha256, anything else md5.
    algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return _file_hash(path, algorithm) == file_hash


def get_model_file(fname, origin, file_hash=None):
    """The local path of the model file ``fname`` (a Keras weight file or the ImageNet class
    index), downloading it from ``origin`` into ``$NNFAST_HOME/models`` if no copy exists.

    Args:
        fname: Keras's file name, e.g. ``"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"``.
        origin: Keras's public URL for it.
        file_hash: Keras's md5 (32 hex digits) or sha256 (64) of the file, checked after a
            download.

    Raises:
        FileNotFoundError: offline and no local copy; the message names the file and folders.
        ValueError: the downloaded file does not match ``file_hash``.
    """
    shared = os.environ.get("NNFAST_MODELS")
    folders = ([shared] if shared else []) + [models_cache_dir(), _keras_cache_dir()]
    for folder in folders:
        path = os.path.join(folder, fname)
        if os.path.isfile(path):
            return path
    cache = models_cache_dir()
    os.makedirs(cache, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=fname + ".", suffix=".part")
    os.close(fd)
    try:
        with urllib.request.urlopen(origin, timeout=30) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
        if file_hash and not _hash_matches(tmp, file_hash):
            raise ValueError(f"Downloaded '{fname}' from {origin}, but its hash does not match "
                             f"{file_hash}; the file was discarded.")
        final = os.path.join(cache, fname)
        os.replace(tmp, final)
        return final
    except (OSError, ValueError) as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, ValueError):
            raise
        raise FileNotFoundError(
            f"Model file '{fname}' is not available offline and could not be downloaded from "
            f"{origin} ({err}). Download it elsewhere and put it in {cache} (or in the folder "
            f"named by $NNFAST_MODELS), or pass weights=<path to the file>.") from None


# --- argument checks ------------------------------------------------------------------------
def check_weights_argument(weights, include_top, classes):
    """Keras's checks on ``weights``: None, "imagenet" or an existing file."""
    if not (weights in ("imagenet", None) or
            (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the path "
                         f"to the weights file to be loaded. Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` "
                         f"should be 1000. Received: classes={classes}")


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights=None):
    """The model's input shape (without the batch axis), checked as Keras checks it.

    ``input_shape=None`` gives ``(default_size, default_size, 3)`` with a top and
    ``(None, None, 3)`` without. With ImageNet weights and a top, only the default shape is
    accepted; otherwise images must be at least ``min_size`` on each side.
    """
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default_shape}. Received: "
                             f"input_shape={input_shape}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers. Received: "
                             f"input_shape={input_shape}")
        if input_shape[-1] != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received: "
                             f"input_shape={input_shape}")
        if any(d is not None and d < min_size for d in input_shape[:2]):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def validate_activation(classifier_activation, weights):
    """Pretrained tops allow only ``None`` or ``"softmax"`` as the classifier activation."""
    if weights is None:
        return

    act = activations.get(classifier_activation)
    if act not in (activations.get("softmax"), activations.get(None)):
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, with "
                         f"`include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")


def correct_pad(inputs, kernel_size):
    """The ``((top, bottom), (left, right))`` zero padding before a stride-2 'valid' conv that
    reproduces TensorFlow's 'same' output (one pixel less on the top/left for even sizes)."""
    rows, cols = inputs.shape[1:3]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def model_input(input_tensor, input_shape):
    """The image input: ``input_tensor`` when given (a KerasTensor), else a new ``Input``."""
    if input_tensor is None:
        return Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError("input_tensor must be a symbolic tensor from `nnfast.Input` or a layer "
                         f"call; Received: input_tensor of type {type(input_tensor)}")
    return input_tensor


def get_source_inputs(tensor):
    """The ``Input`` tensors that ``tensor`` is computed from, in first-visit order."""
    found, seen = [], set()

    def visit(t):
        history = t._keras_history
        if history is None:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            return
        layer, node_index, _ = history
        node = layer._inbound_nodes[node_index]
        if isinstance(layer, InputLayer) or not node.input_tensors:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            return
        for parent in node.input_tensors:
            visit(parent)

    visit(tensor)
    return found


def finish_model(img_input, input_tensor, outputs, name):
    """The ``Functional`` model from the image input (or ``input_tensor``'s sources)."""
    inputs = get_source_inputs(input_tensor) if input_tensor is not None else img_input
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    return Functional(inputs, outputs, name=name)


def load_pretrained(model, weights, fname, origin, file_hash=None):
    """Loads ``weights``: Keras's ImageNet file ``fname`` for "imagenet", or a local path."""
    if weights == "imagenet":
        model.load_weights(get_model_file(fname, origin, file_hash))
    elif weights is not None:
        model.load_weights(os.fspath(weights))


# --- preprocess_input / decode_predictions --------------------------------------------------
def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocesses a batch of images (or one image) with values in [0, 255].

    Args:
        x: array of shape (..., H, W, 3) (channels_last) or (..., 3, H, W) (channels_first).
            A float NumPy array is modified in place and returned, as in Keras; integer
            arrays are converted to float32 first.
        data_format: "channels_last" (default) or "channels_first".
        mode: "caffe" (RGB->BGR, then subtract the ImageNet BGR means
            [103.939, 116.779, 123.68]), "tf" (scale to [-1, 1]: x / 127.5 - 1) or "torch"
            (x / 255, then subtract [0.485, 0.456, 0.406] and divide by [0.229, 0.224, 0.225]).

    Returns:
        The preprocessed float array.

    Example:
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0]
        array([1., 1., 1.])
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: "
                         f"mode={mode}")
    if data_format is None:
        data_format = image_data_format()
    elif data_format not in ("channels_first", "channels_last"):
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format}")

    if isinstance(x, Tensor):
        x = np.array(x.numpy())
    elif not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype("float32")
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    channel_axis = -1
    if data_format == "channels_first":
        channel_axis = 0 if x.ndim == 3 else 1
    if x.shape[channel_axis] != 3:
        raise ValueError(f"preprocess_input mode '{mode}' expects 3 color channels on axis "
                         f"{channel_axis}; Received an array of shape {x.shape}")
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        # A flipped view, as Keras's [..., ::-1]: the caller's float array is written over.
        x = np.flip(x, axis=channel_axis)
        mean, std = _IMAGENET_MEAN_BGR, None
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    x -= np.asarray(mean, dtype=x.dtype).reshape(shape)
    if std is not None:
        x /= np.asarray(std, dtype=x.dtype).reshape(shape)
    return x


def _class_index():
    global _CLASS_INDEX
    if _CLASS_INDEX is None:
        path = get_model_file("imagenet_class_index.json", CLASS_INDEX_PATH, CLASS_INDEX_HASH)
        with open(path) as f:
            _CLASS_INDEX = json.load(f)
    return _CLASS_INDEX


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each prediction, best first.

    Args:
        preds: array of shape (samples, 1000).
        top: how many classes per sample.

    Returns:
        One list per sample of ``(class_name, class_description, score)`` tuples, e.g.
        ``("n02504458", "African_elephant", 0.92)``. Class names come from
        ``imagenet_class_index.json`` (found like the weight files).
    """
    preds = np.asarray(preds.numpy() if hasattr(preds, "numpy") else preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Received array with shape: {preds.shape}")
    index = _class_index()
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(index[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results
