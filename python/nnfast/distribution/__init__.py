"""``keras.distribution`` for nnfast: data-parallel training across processes and machines
on MPI (``mpi4py``, imported only when a job is started by an MPI launcher).

    import nnfast as keras
    keras.distribution.initialize()
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=256)   # run as `mpirun -np 4 python train.py`

``InProcessCommunicator(W)`` emulates W ranks in one process (bit-identical to W MPI
ranks), for tests and debugging.
"""
from nnfast.distribution.api import (DataParallel, Distribution, ModelParallel, distribution,
                                     get_device_count, initialize, is_chief, list_devices,
                                     num_processes, process_id, set_distribution)
from nnfast.distribution.communicator import (Communicator, InProcessCommunicator,
                                              MPICommunicator, SingleProcessCommunicator)
from nnfast.distribution.layouts import DeviceMesh, LayoutMap, TensorLayout, distribute_tensor

__all__ = ["DataParallel", "DeviceMesh", "LayoutMap", "ModelParallel", "TensorLayout",
           "distribute_tensor", "distribution", "get_device_count", "initialize",
           "list_devices", "set_distribution", "process_id", "num_processes", "is_chief",
           "Distribution", "Communicator", "InProcessCommunicator", "MPICommunicator",
           "SingleProcessCommunicator"]
