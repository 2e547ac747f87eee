"""Bit-for-bit check of hand-vectorised kernels against another build of nnfast (issue 16:
moving raw-intrinsic kernels onto the vector vocabulary must not change one bit).

Saves, for every SIMD ISA of this CPU, the outputs of the f32 GEMM (odd shapes, all four
transposes, alpha/beta/bias), conv2d, top_k, image.resize and bilinear resize forward and
backward (channels 1: the permute and gather paths), the int8 depthwise kernel, and three
small CNN fits (direct conv, fused conv + relu + max-pool forward and weight gradient).
Run it once with the old build, then with the new one naming the old file:

    cp -r python/nnfast /tmp/oldpy/ && cp <old>/_core*.so /tmp/oldpy/nnfast/
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/oldpy:. python3 tools/compare_kernel_bits.py /tmp/old.npz
    OMP_NUM_THREADS=1 PYTHONPATH=python:. python3 tools/compare_kernel_bits.py /tmp/new.npz /tmp/old.npz

It prints how many outputs differ (and their names).
"""
import sys

import nnfast
import numpy as np
from nnfast import _core, ops

out = {}
rng = np.random.default_rng(7)
for isa in nnfast.config.available_isas():
    if isa == "ref":
        continue
    nnfast.config.set_max_isa(isa)
    for (m, n, k) in [(1, 301, 1), (211, 67, 401), (97, 331, 173), (30, 10, 900), (15, 33, 17),
                      (37, 16, 300), (5, 47, 1030), (300, 301, 302)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
                b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
                c = rng.standard_normal((m, n)).astype(np.float32)
                bias = rng.standard_normal(n).astype(np.float32)
                _core.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=0.7, beta=1.3, bias=bias)
                out[f"{isa}/gemm/{m},{n},{k},{ta},{tb}"] = c
    for shp, ksz, st in [((2, 13, 11, 5), (3, 3, 5, 7), 1), ((1, 17, 19, 16), (5, 3, 16, 33), 2),
                         ((3, 9, 9, 3), (1, 1, 3, 29), 1), ((1, 30, 31, 37), (3, 3, 37, 64), 1)]:
        x = rng.standard_normal(shp).astype(np.float32)
        w = rng.standard_normal(ksz).astype(np.float32)
        for pad in ("valid", "same"):
            out[f"{isa}/conv/{shp},{ksz},{st},{pad}"] = np.asarray(ops.conv(x, w, strides=st, padding=pad))
    for shp in [(1000,), (3, 517), (7, 33), (2, 4099)]:
        x = rng.standard_normal(shp).astype(np.float32)
        for kk in (1, 5, 32):
            if kk <= shp[-1]:
                v, i = ops.top_k(x, kk)
                out[f"{isa}/topk/{shp},{kk}"] = np.asarray(v)
                out[f"{isa}/topki/{shp},{kk}"] = np.asarray(i)
    for shp, size in [((2, 13, 11, 3), (29, 7)), ((1, 40, 33, 19), (17, 61)), ((3, 8, 8, 1), (8, 13))]:
        x = rng.standard_normal(shp).astype(np.float32)
        for interp in ("bilinear", "nearest", "bicubic"):
            for aa in (False, True):
                out[f"{isa}/resize/{shp},{size},{interp},{aa}"] = np.asarray(
                    ops.image.resize(x, size, interpolation=interp, antialias=aa))
    for shp, size in [((2, 13, 11, 3), (29, 7)), ((1, 40, 33, 19), (17, 61)), ((3, 8, 8, 1), (8, 13)),
                      ((2, 40, 200, 1), (13, 37)), ((1, 9, 50, 1), (20, 23)), ((1, 5, 47, 1), (11, 101)),
                      ((1, 12, 300, 1), (7, 9))]:
        x = rng.standard_normal(shp).astype(np.float32)
        y = np.empty((shp[0],) + size + (shp[3],), np.float32)
        _core.resize_bilinear_forward(x, y)
        out[f"{isa}/rsf/{shp},{size}"] = y
        g = rng.standard_normal(y.shape).astype(np.float32)
        dx = np.empty(shp, np.float32)
        _core.resize_bilinear_backward(g, dx)
        out[f"{isa}/rsb/{shp},{size}"] = dx
    import tests.test_quantize_depthwise as tq
    for s, (bb, h, ww, cc, dm, kern, strides, pads, dil) in enumerate(tq.SHAPES):
        x = rng.standard_normal((bb, h, ww, cc)).astype(np.float32)
        kq = rng.integers(-127, 128, kern + (cc, dm)).astype(np.int8)
        ks = rng.uniform(0.5, 2, cc * dm).astype(np.float32)
        bias = rng.standard_normal(cc * dm).astype(np.float32)
        oh = (h + 2 * pads[0] - dil[0] * (kern[0] - 1) - 1) // strides[0] + 1
        ow = (ww + 2 * pads[1] - dil[1] * (kern[1] - 1) - 1) // strides[1] + 1
        out[f"{isa}/dwq/{s}"] = tq.run_kernel(x, kq, ks, bias, strides, pads, dil, (oh, ow))
    for cin, f, hw in [(1, 32, 28), (3, 40, 17), (5, 20, 12)]:
        nnfast.utils.set_random_seed(1)
        m = nnfast.Sequential([nnfast.Input((hw, hw, cin)),
                               nnfast.layers.Conv2D(f, 3, activation="relu"),
                               nnfast.layers.MaxPooling2D(2),
                               nnfast.layers.Conv2D(17, 3, activation="relu"),
                               nnfast.layers.Flatten(), nnfast.layers.Dense(10)])
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        x = rng.standard_normal((16, hw, hw, cin)).astype(np.float32)
        y = rng.integers(0, 10, 16)
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)
        for i, w in enumerate(m.get_weights()):
            out[f"{isa}/cnn/{cin},{f}/{i}"] = w
        out[f"{isa}/cnn/{cin},{f}/pred"] = m.predict(x, verbose=0)
np.savez(sys.argv[1], **out)
if len(sys.argv) > 2:
    old = np.load(sys.argv[2])
    bad = [k for k in out if k not in old or old[k].tobytes() != out[k].tobytes()]
    print(f"{len(out)} outputs, {len(bad)} differ:", bad[:20])
