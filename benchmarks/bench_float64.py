"""float64 training speed: nnfast float32, nnfast float64 and Keras 3 (TensorFlow) float64.

Trains a 784-128(relu)-10(softmax) MLP with Adam on 4096 random samples, batch 32 (128 steps
per epoch), after one warm-up epoch; prints the median seconds per epoch of ``--repeats``
epochs per setting. Each setting runs in a fresh process (floatx is process-wide) with
``--threads`` OpenMP/TensorFlow threads, one setting after the other (on a shared machine,
rerun to see the drift). Keras runs when ``--keras-python`` names a Python with Keras 3.

nnfast's float64 path is NumPy float64 (its C++ kernels are float32-only): it is for
precision, not speed.

Usage: python benchmarks/bench_float64.py [--repeats 5] [--threads 1]
       [--keras-python /work/kerasvenv/bin/python]
"""
import argparse
import os
import statistics
import subprocess
import sys

_WORKER = r"""
import sys, time
import numpy as np
lib, dtype, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
if lib == "keras":
    import keras
else:
    import nnfast as keras
keras.config.set_floatx(dtype)
rng = np.random.RandomState(0)
x = rng.rand(4096, 784).astype(dtype)
y = rng.randint(0, 10, 4096)
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, y, batch_size=32, epochs=1, verbose=0)
for _ in range(repeats):
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    print(time.perf_counter() - start, flush=True)
"""


def run(python, lib, dtype, repeats, threads, here):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    if lib == "nnfast":
        env["PYTHONPATH"] = os.path.join(here, "python") + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([python, "-c", _WORKER, lib, dtype, str(repeats)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [float(v) for v in out.split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--keras-python", default=None)
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    settings = [(sys.executable, "nnfast", "float32"), (sys.executable, "nnfast", "float64")]
    if args.keras_python:
        settings.append((args.keras_python, "keras", "float64"))
    print(f"threads: {args.threads}; median seconds per epoch (128 steps of batch 32) of "
          f"{args.repeats} epochs")
    for python, lib, dtype in settings:
        times = run(python, lib, dtype, args.repeats, args.threads, here)
        print(f"{lib:7s} {dtype}: {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
