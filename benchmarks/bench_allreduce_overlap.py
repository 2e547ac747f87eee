"""Whether a gradient allreduce can overlap with the backward pass here (the premise of
DDP-style gradient buckets): each rank times, after a barrier, (a) a stand-in for the
backward pass (single-thread float32 matmuls), (b) that compute followed by a blocking
``Allreduce`` of the tutorial models' gradient sizes, and (c) a nonblocking ``Iallreduce``
started before the same compute and waited for after it. If (c) is no faster than (b), MPI
does not progress the reduction while the rank computes, and buckets cannot save time.

    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1 \\
        mpiexec --oversubscribe -n 2 python3 benchmarks/bench_allreduce_overlap.py

Sizes: the tutorial MLP's gradients (0.41 MB) and CNN's (2.78 MB); medians of 25 rounds.
"""
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads its BLAS

import numpy as np  # noqa: E402
from mpi4py import MPI  # noqa: E402

comm = MPI.COMM_WORLD
matrix = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)


def backward_stand_in():
    for _ in range(12):
        matrix @ matrix


def main():
    if comm.rank == 0:
        print(f"ranks {comm.size}, cores {os.cpu_count()}, BLAS threads "
              f"{os.environ['OPENBLAS_NUM_THREADS']}, MPI {MPI.Get_library_version().split(',')[0]}")
    for mbytes in (0.41, 2.78):
        grads = np.ones(int(mbytes * 1e6 // 4), np.float32)
        summed = np.empty_like(grads)
        times = {"compute": [], "compute + Allreduce": [], "Iallreduce | compute": []}
        for _ in range(25):
            comm.Barrier()
            t = time.perf_counter()
            backward_stand_in()
            times["compute"].append(time.perf_counter() - t)
            comm.Barrier()
            t = time.perf_counter()
            backward_stand_in()
            comm.Allreduce(grads, summed)
            times["compute + Allreduce"].append(time.perf_counter() - t)
            comm.Barrier()
            t = time.perf_counter()
            request = comm.Iallreduce(grads, summed)
            backward_stand_in()
            request.Wait()
            times["Iallreduce | compute"].append(time.perf_counter() - t)
        if comm.rank == 0:
            print(f"{mbytes:.2f} MB: " + "   ".join(
                f"{name} {1e3 * statistics.median(v):.2f} ms" for name, v in times.items()))


if __name__ == "__main__":
    main()
