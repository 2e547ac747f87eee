"""``keras.distribution``'s entry points: ``initialize``, ``list_devices``,
``get_device_count``, ``set_distribution``/``distribution`` and the ``DataParallel``
distribution, on MPI (one rank per process).

    import nnfast as keras
    keras.distribution.initialize()      # rank and size from MPI; size 1 without mpirun
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=256)      # batch_size is the global batch

Started with ``mpirun -np 4 python train.py``; the same file runs unchanged as
``python train.py`` (with or without mpi4py installed).
"""
import contextlib
import os
import weakref

from nnfast import config
from nnfast.distribution import communicator as comm_lib
from nnfast.distribution.layouts import DeviceMesh, TensorLayout
from nnfast.distribution.watchdog import StepWatchdog, abort_job, step_timeout_from_env

_state = {"communicator": None, "distribution": None, "strategy": None}


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Joins the job: under an MPI launcher (``mpirun``, ``mpiexec``, ``srun``) this
    process becomes one rank of ``MPI.COMM_WORLD``; otherwise it is the only rank. Also sets
    OpenMP threads per rank to the machine's cores divided by the ranks on it, unless
    ``OMP_NUM_THREADS`` is set.

    Args:
        job_addresses: accepted for Keras compatibility; MPI's launcher knows the hosts.
        num_processes: if given, checked against the job's size.
        process_id: if given, checked against this process's rank.

    Example:
        >>> nnfast.distribution.initialize()
        >>> nnfast.distribution.process_id(), nnfast.distribution.num_processes()
        (0, 1)
    """
    if comm_lib.launched_by_mpi() or (num_processes is not None and int(num_processes) > 1):
        comm = comm_lib.MPICommunicator()
    else:
        comm = comm_lib.SingleProcessCommunicator()
    if num_processes is not None and int(num_processes) != comm.size:
        raise ValueError(f"initialize(num_processes={num_processes}) but the MPI job has "
                         f"{comm.size} ranks. Start it with `mpirun -np {num_processes} ...`.")
    if process_id is not None and int(process_id) != comm.rank:
        raise ValueError(f"initialize(process_id={process_id}) but MPI gave this process rank "
                         f"{comm.rank}.")
    _state["communicator"] = comm
    if comm.size > 1 and "OMP_NUM_THREADS" not in os.environ:
        config.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, comm.local_size())))
    return comm


def _communicator():
    if _state["communicator"] is None:
        initialize()
    return _state["communicator"]


def process_id():
    """This process's rank (0 for a single process). The chief is rank 0."""
    return _communicator().rank


def num_processes():
    """The number of processes (ranks) in the job."""
    return _communicator().size


def is_chief():
    """True on the process that should print and write files (rank 0)."""
    return _communicator().is_chief


def list_devices(device_type=None):
    """The job's devices, one per rank: ``["cpu:0", "cpu:1", ...]``.

    Args:
        device_type: ``None`` or ``"cpu"`` (nnfast's ranks compute on CPUs).
    """
    if device_type is not None and str(device_type).lower() != "cpu":
        raise ValueError(f"nnfast.distribution runs one rank per CPU process. Received: "
                         f"device_type={device_type!r}")
    return [f"cpu:{r}" for r in range(_communicator().size)]


def get_device_count(device_type=None):
    """The number of devices (ranks) in the job."""
    return len(list_devices(device_type))


def set_distribution(value):
    """Makes ``value`` (a ``DataParallel``, or None) the distribution that ``fit``,
    ``evaluate`` and ``predict`` use."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"Expected a Distribution instance or None. Received: value={value!r}")
    _state["distribution"] = value


def strategy_distribution():
    """The ``DataParallel`` of the ``nnfast.distribute`` strategy whose ``scope()`` is
    open, else None (``compile`` records it so ``fit`` runs under it later)."""
    return _state["strategy"]


def distribution():
    """The distribution set by ``set_distribution`` (or the innermost ``scope()``), else
    None."""
    return _state["distribution"]


class Distribution:
    """Base of the distributions: a device mesh and a ``scope()``."""

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset

    @property
    def device_mesh(self):
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self):
        return self._auto_shard_dataset

    @contextlib.contextmanager
    def scope(self):
        """Makes this the current distribution inside the ``with`` block."""
        previous = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(previous)


class DataParallel(Distribution):
    """Data parallelism: every rank holds all the weights; ``fit`` splits each global batch
    across the ranks, sums the gradients with one allreduce per step and applies the same
    update everywhere, so the weights stay bit-identical on all ranks.

    Args:
        device_mesh: a 1-D ``DeviceMesh`` over the job's devices (optional).
        devices: the devices (default: ``list_devices()``, one per rank).
        auto_shard_dataset: accepted for Keras compatibility; every rank reads the global
            batch and takes its rows.
        communicator: nnfast only: the communicator to use (default: the job's, from
            ``initialize()``); ``InProcessCommunicator(W)`` emulates W ranks in one process.
        step_timeout: nnfast only: seconds a step may take before the job is aborted
            (default ``NNFAST_STEP_TIMEOUT`` or 1800; ``0`` switches the watchdog off).

    Example:
        >>> nnfast.distribution.set_distribution(nnfast.distribution.DataParallel())
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True, *,
                 communicator=None, step_timeout=None):
        self.communicator = communicator if communicator is not None else _communicator()
        size = self.communicator.size
        if device_mesh is None:
            if devices is None:
                devices = [f"cpu:{r}" for r in range(size)]
            device_mesh = DeviceMesh((len(devices),), ["batch"], devices)
        if len(device_mesh.shape) != 1:
            raise ValueError("DataParallel takes a 1-D device mesh (the batch axis). Received: "
                             f"device_mesh.shape={device_mesh.shape}")
        if device_mesh.devices.size != size:
            raise ValueError(f"DataParallel's mesh has {device_mesh.devices.size} devices but the "
                             f"job has {size} ranks; nnfast runs one device per rank.")
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
        if step_timeout is None:
            step_timeout = step_timeout_from_env()
        elif step_timeout <= 0:
            step_timeout = None
        self.step_timeout = step_timeout
        self._watchdog = None
        self._synced_models = weakref.WeakSet()
        self._step_layout = None  # (key, data_parallel._Layout) of the last step

    @property
    def num_replicas(self):
        """The number of ranks the batch is split across."""
        return self.communicator.size

    def get_data_layout(self, data_shape):
        """Batches are split along their first axis."""
        return TensorLayout([self.batch_dim_name] + [None] * (len(data_shape) - 1),
                            self.device_mesh)

    def get_variable_layout(self, variable):
        """Variables are replicated on every rank."""
        return TensorLayout([None] * len(getattr(variable, "shape", ())), self.device_mesh)

    def get_tensor_layout(self, path):
        """Intermediate tensors get no layout constraint: always None."""
        del path
        return None

    def watchdog(self):
        """The step watchdog (started on first use; None when switched off)."""
        if self._watchdog is None and self.step_timeout is not None:
            self._watchdog = StepWatchdog(self.step_timeout, abort_job(self.communicator))
        return self._watchdog

    def __repr__(self):
        return f"<DataParallel ranks={self.num_replicas} communicator={self.communicator!r}>"


class ModelParallel(Distribution):
    """Keras's model parallelism (variables sharded by a ``LayoutMap``): not available in
    nnfast; constructing one raises ``NotImplementedError``."""

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True,
                 **kwargs):
        raise NotImplementedError("keras.distribution.ModelParallel: nnfast distributes "
                                  "training by data parallelism only (DataParallel).")
