"""Keras's MobileNetV2 and ResNet50 written by hand in torch.nn (torchvision is not needed):
the same layer sizes, the stride-2 convolutions padded as Keras pads them, so the work is
identical to ``nnfast.applications``'s. Also: copying an nnfast model's weights into them, and
PyTorch's int8 static quantization (``torch.ao.quantization`` FX graph mode on the x86/fbgemm
engine, calibrated on a few batches). Shared by ``bench_inference.py`` and
``bench_precision.py``; import it only where torch is installed.
"""
import numpy as np
import torch
from nnfast.applications.mobilenet_v2 import _BLOCKS
from torch import nn


class _ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride=1, groups=1, act=None, bias=False, eps=1e-3,
                 pad=None):
        # pad=None: "same" for stride 1; for stride 2 Keras pads (k//2 - 1, k//2) on
        # even inputs, done with an explicit ZeroPad2d as in the Keras models.
        mods = []
        if pad is not None:
            mods.append(nn.ZeroPad2d(pad))
            padding = 0
        else:
            padding = k // 2
        mods += [nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=bias),
                 nn.BatchNorm2d(cout, eps=eps)]
        if act is not None:
            mods.append(act())
        super().__init__(*mods)


class TorchInvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        mods = []
        if expansion != 1:
            mods.append(_ConvBN(cin, hidden, 1, act=nn.ReLU6))
        # Keras's correct_pad for even sizes: (0, 1) rows/cols before/after.
        pad = (0, 1, 0, 1) if stride == 2 else None
        mods.append(_ConvBN(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6, pad=pad))
        mods.append(_ConvBN(hidden, cout, 1))
        self.body = nn.Sequential(*mods)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class TorchMobileNetV2(nn.Module):
    """MobileNetV2 (alpha=1) with Keras's layer sizes and padding."""

    def __init__(self, classes=1000):
        super().__init__()
        mods = [_ConvBN(3, 32, 3, 2, act=nn.ReLU6, pad=(0, 1, 0, 1))]
        cin = 32
        for filters, stride, expansion in _BLOCKS:
            mods.append(TorchInvertedResidual(cin, filters, stride, expansion))
            cin = filters
        mods.append(_ConvBN(cin, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*mods)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        x = self.features(x).mean(dim=(2, 3))
        return torch.softmax(self.classifier(x), dim=1)


class TorchBottleneck(nn.Module):
    def __init__(self, cin, filters, stride, conv_shortcut):
        super().__init__()
        eps = 1.001e-5
        self.shortcut = (_ConvBN(cin, 4 * filters, 1, stride, bias=True, eps=eps)
                         if conv_shortcut else None)
        self.body = nn.Sequential(
            _ConvBN(cin, filters, 1, stride, act=nn.ReLU, bias=True, eps=eps),
            _ConvBN(filters, filters, 3, act=nn.ReLU, bias=True, eps=eps),
            _ConvBN(filters, 4 * filters, 1, bias=True, eps=eps))
        self.relu = nn.ReLU()

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return self.relu(s + self.body(x))


class TorchResNet50(nn.Module):
    """Keras's ResNet50 (v1, stride on the first 1x1 conv, conv biases)."""

    def __init__(self, classes=1000):
        super().__init__()
        eps = 1.001e-5
        mods = [_ConvBN(3, 64, 7, 2, act=nn.ReLU, bias=True, eps=eps, pad=(3, 3, 3, 3)),
                nn.ZeroPad2d(1), nn.MaxPool2d(3, 2)]
        cin = 64
        for filters, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(blocks):
                mods.append(TorchBottleneck(cin, filters, stride if i == 0 else 1, i == 0))
                cin = 4 * filters
        self.features = nn.Sequential(*mods)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.features(x).mean(dim=(2, 3))
        return torch.softmax(self.fc(x), dim=1)


def copy_weights(model, tmodel):
    """Copies an nnfast MobileNetV2/ResNet50's weights (Keras layouts) into the torch module
    built with the same architecture. Each nnfast layer (in the model's order) takes the first
    unused torch module of its kind and weight shape: the model lists a block's shortcut conv
    between its body's convs, while torch registers it first, and the queues keep both in
    block order."""
    from collections import defaultdict, deque

    from nnfast import layers

    queues = defaultdict(deque)
    for mod in tmodel.modules():
        if isinstance(mod, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            queues[(type(mod), tuple(mod.weight.shape))].append(mod)
    kinds = {layers.Conv2D: nn.Conv2d, layers.DepthwiseConv2D: nn.Conv2d,
             layers.BatchNormalization: nn.BatchNorm2d, layers.Dense: nn.Linear}
    with torch.no_grad():
        for layer in model.layers:
            kind = kinds.get(type(layer))
            if kind is None:
                continue
            w = [np.asarray(v) for v in layer.get_weights()]
            if kind is nn.BatchNorm2d:
                kernel = w[0]
            elif isinstance(layer, layers.DepthwiseConv2D):  # (kh, kw, c, 1) -> (c, 1, kh, kw)
                kernel = w[0].transpose(2, 3, 0, 1)
            elif kind is nn.Linear:                          # (in, out) -> (out, in)
                kernel = w[0].T
            else:                                            # -> (out, in, kh, kw)
                kernel = w[0].transpose(3, 2, 0, 1)
            queue = queues[(kind, tuple(kernel.shape))]
            if not queue:
                raise ValueError(f"copy_weights: no torch {kind.__name__} of shape "
                                 f"{kernel.shape} left for {layer.name}")
            mod = queue.popleft()
            if kind is nn.BatchNorm2d:
                for dst, src in zip((mod.weight, mod.bias, mod.running_mean, mod.running_var),
                                    w):
                    dst.copy_(torch.from_numpy(src))
                continue
            mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            if len(w) > 1:
                mod.bias.copy_(torch.from_numpy(w[1]))
    left = sum(len(q) for q in queues.values())
    if left:
        raise ValueError(f"copy_weights: {left} torch modules got no weights")


def quantize_int8(tmodel, calibration, engine="x86"):
    """PyTorch's int8 static post-training quantization of ``tmodel`` (eval mode): FX graph
    mode with the engine's default qconfig (per-channel int8 weights, uint8 activations with
    observed ranges), calibrated on ``calibration`` (a list of NCHW float tensors), converted
    to the quantized engine's kernels. Returns the quantized module."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = engine
    prepared = prepare_fx(tmodel.eval(), get_default_qconfig_mapping(engine),
                          example_inputs=(calibration[0],))
    with torch.inference_mode():
        for x in calibration:
            prepared(x)
    return convert_fx(prepared)
