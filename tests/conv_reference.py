"""Float64 NumPy references of Keras's convolution, pooling and normalization definitions,
plus the small helpers the conv/pool/norm tests share (ISA fixture, finite differences)."""
import math

import numpy as np
import pytest

import nnfast


def same_pads(n, k, s, d=1):
    """Keras/TF 'same': (before, after)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def conv2d(x, k, strides=(1, 1), padding="valid", dilation=(1, 1), groups=1, bias=None):
    """NHWC cross-correlation, kernel (kh, kw, in/groups, out)."""
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    B, H, W, C = x.shape
    KH, KW, cin_g, O = k.shape
    (sh, sw), (dh, dw) = strides, dilation
    if padding == "same":
        (pt, pb), (pl, pr) = same_pads(H, KH, sh, dh), same_pads(W, KW, sw, dw)
    else:
        pt = pb = pl = pr = 0
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh = (xp.shape[1] - dh * (KH - 1) - 1) // sh + 1
    ow = (xp.shape[2] - dw * (KW - 1) - 1) // sw + 1
    out = np.zeros((B, oh, ow, O))
    cout_g = O // groups
    for g in range(groups):
        for i in range(KH):
            for j in range(KW):
                patch = xp[:, i * dh: i * dh + (oh - 1) * sh + 1: sh,
                           j * dw: j * dw + (ow - 1) * sw + 1: sw, g * cin_g:(g + 1) * cin_g]
                out[..., g * cout_g:(g + 1) * cout_g] += patch @ k[i, j, :, g * cout_g:(g + 1) * cout_g]
    if bias is not None:
        out += np.asarray(bias, np.float64)
    return out


def depthwise_conv2d(x, k, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """Kernel (kh, kw, in, dm) -> channel c*dm + m reads input channel c."""
    KH, KW, C, dm = k.shape
    return conv2d(x, np.asarray(k).reshape(KH, KW, 1, C * dm), strides, padding, dilation,
                  groups=C)


def conv2d_transpose(x, k, strides=(1, 1), padding="valid", output_padding=None,
                     dilation=(1, 1)):
    """Keras Conv2DTranspose by definition: scatter every input pixel times the kernel
    (kh, kw, out, in) onto the output, then crop TF-style."""
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    B, H, W, C = x.shape
    KH, KW, O, _ = k.shape
    sizes, pads = [], []
    for n, kk, s, d, op in zip((H, W), (KH, KW), strides, dilation,
                               output_padding or (None, None)):
        ke = (kk - 1) * d + 1
        if op is None:
            out = (n - 1) * s + max(ke, s) if padding == "valid" else n * s
        else:
            out = (n - 1) * s + ke + op if padding == "valid" else (n - 1) * s + ke % 2 + op
        pad = max((n - 1) * s + ke - out, 0) // 2 if padding == "same" else 0
        sizes.append(out)
        pads.append(pad)
    full_h = max((H - 1) * strides[0] + (KH - 1) * dilation[0] + 1, sizes[0] + pads[0])
    full_w = max((W - 1) * strides[1] + (KW - 1) * dilation[1] + 1, sizes[1] + pads[1])
    full = np.zeros((B, full_h, full_w, O))
    for ih in range(H):
        for iw in range(W):
            for i in range(KH):
                for j in range(KW):
                    full[:, ih * strides[0] + i * dilation[0], iw * strides[1] + j * dilation[1]] += \
                        x[:, ih, iw] @ k[i, j].T
    return full[:, pads[0]:pads[0] + sizes[0], pads[1]:pads[1] + sizes[1]]


def pool2d(x, pool, strides, padding, kind):
    x = np.asarray(x, np.float64)
    B, H, W, C = x.shape
    if padding == "same":
        (pt, pb), (pl, pr) = same_pads(H, pool[0], strides[0]), same_pads(W, pool[1], strides[1])
    else:
        pt = pb = pl = pr = 0
    oh = (H + pt + pb - pool[0]) // strides[0] + 1
    ow = (W + pl + pr - pool[1]) // strides[1] + 1
    out = np.zeros((B, oh, ow, C))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * strides[0] - pt, j * strides[1] - pl
            win = x[:, max(h0, 0):min(h0 + pool[0], H), max(w0, 0):min(w0 + pool[1], W)]
            out[:, i, j] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


def numeric_grad(f, x, eps=1e-3):
    """Central differences of scalar f (evaluated in float64) at x."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def tape_grads(op, inputs, weight):
    """Gradients of sum(op(*inputs) * weight) w.r.t. each input, from nnfast's tape."""
    variables = [nnfast.Variable(np.asarray(a, np.float32)) for a in inputs]
    with nnfast.GradientTape() as tape:
        loss = nnfast.ops.sum(nnfast.ops.multiply(op(*variables), weight))
    return tape.gradient(loss, variables)


def check_grads(op, ref, inputs, rtol=1e-2, atol=1e-3, eps=1e-4):
    """nnfast's tape gradients of op vs float64 central differences of the reference ref."""
    rng = np.random.default_rng(7)
    out = np.asarray(ref(*inputs))
    w = rng.standard_normal(out.shape)
    grads = tape_grads(op, inputs, w.astype(np.float32))
    for i, x in enumerate(inputs):
        def f(xi, i=i):
            args = list(inputs)
            args[i] = xi
            return float(np.sum(ref(*args) * w))

        np.testing.assert_allclose(grads[i], numeric_grad(f, x, eps), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


@pytest.fixture(params=nnfast.config.available_isas())
def isa(request):
    """Runs a test once per instruction set this CPU supports, restoring the cap it found after."""
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(request.param)
    yield request.param
    nnfast.config.set_max_isa(previous)
