"""tf.keras's ``tf.distribute`` strategies as thin wrappers over
``nnfast.distribution.DataParallel``, so ported scripts run unchanged:

    strategy = nnfast.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = make_model()
        model.compile(...)
    model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync)

A model compiled inside ``scope()`` trains data-parallel across the MPI job's ranks
(one replica per process; ``mpirun -np 4 python train.py``); started without MPI, there is
one replica and training is unchanged.
"""
import contextlib

from nnfast.distribution import api
from nnfast.distribution.communicator import SingleProcessCommunicator

_current_strategy = None


class Strategy:
    """A data-parallel strategy over the job's ranks (one replica per process).

    Args:
        communicator: nnfast only: the communicator (default: the MPI job's, or one process).
    """

    def __init__(self, communicator=None):
        self._distribution = api.DataParallel(communicator=communicator)

    @property
    def num_replicas_in_sync(self):
        """The number of replicas (processes) a global batch is split across."""
        return self._distribution.num_replicas

    @property
    def distribution(self):
        """The ``nnfast.distribution.DataParallel`` behind this strategy."""
        return self._distribution

    @contextlib.contextmanager
    def scope(self):
        """Models compiled inside the ``with`` block train under this strategy."""
        global _current_strategy
        previous = api._state["strategy"], _current_strategy
        api._state["strategy"], _current_strategy = self._distribution, self
        try:
            yield self
        finally:
            api._state["strategy"], _current_strategy = previous


class MirroredStrategy(Strategy):
    """tf.distribute.MirroredStrategy: here one replica per MPI process (run several
    processes on one machine with ``mpirun -np N``).

    Args:
        devices: accepted for compatibility; must be None or one device per rank.
        cross_device_ops: accepted for compatibility (the reduction is MPI's).
    """

    def __init__(self, devices=None, cross_device_ops=None, *, communicator=None):
        super().__init__(communicator)
        if devices is not None and len(devices) != self.num_replicas_in_sync:
            raise ValueError(f"MirroredStrategy(devices=...) lists {len(devices)} devices but the "
                             f"job has {self.num_replicas_in_sync} ranks (one device per rank).")


class MultiWorkerMirroredStrategy(Strategy):
    """tf.distribute.MultiWorkerMirroredStrategy: one replica per MPI process, on one or
    several machines (``mpirun -H a:4,b:4 -np 8``, or ``srun``).

    Args:
        communication_options: accepted for compatibility.
        cluster_resolver: accepted for compatibility (MPI's launcher knows the hosts).
    """

    def __init__(self, communication_options=None, cluster_resolver=None, *,
                 communicator=None):
        super().__init__(communicator)


class OneDeviceStrategy(Strategy):
    """tf.distribute.OneDeviceStrategy: one replica, this process alone (even under MPI).

    Args:
        device: accepted for compatibility (``"/cpu:0"``, ``"/gpu:0"``).
    """

    def __init__(self, device=None):
        super().__init__(SingleProcessCommunicator())
        self.device = device


def get_strategy():
    """The strategy whose scope is open, else a one-replica default strategy."""
    return _current_strategy or Strategy(SingleProcessCommunicator())
