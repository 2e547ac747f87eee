"""The MNIST classifier trained data-parallel across processes with nnfast.distribution.

One machine, 2 processes:      mpirun -np 2 python examples/distributed_mnist.py
Several machines (4 each):     mpirun -H node1:4,node2:4 -np 8 python examples/distributed_mnist.py
Slurm:                         srun --mpi=pmix -N 2 --ntasks-per-node=4 python examples/distributed_mnist.py
One process, no MPI at all:    python examples/distributed_mnist.py

(As root inside a container Open MPI also wants OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, and --oversubscribe for more ranks than cores.)

batch_size is the global batch: each of W ranks computes batch_size / W rows per step, the
gradients are summed with one MPI allreduce, and every rank applies the same update. Only
rank 0 prints and writes files: the backup folder and the trained model
(distributed_mnist.keras) go under the output folder, the first argument (default:
nnfast_examples/ under the system's temporary folder, never the current directory). Stop it
(or lose a machine) and run the same command again: training resumes from the last epoch's
backup.

Needs mnist.npz: found in $NNFAST_DATASETS, in ~/.nnfast/datasets, or downloaded.
"""
import argparse
import os
import tempfile

import nnfast as keras

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch-size", type=int, default=256, help="global batch")
parser.add_argument("output", nargs="?",
                    default=os.path.join(tempfile.gettempdir(), "nnfast_examples"),
                    help="folder for the backup and the trained model")
parser.add_argument("--backup-dir", default=None,
                    help="BackupAndRestore folder (default: <output>/distributed_mnist_backup)")
args = parser.parse_args()
backup_dir = args.backup_dir or os.path.join(args.output, "distributed_mnist_backup")

keras.distribution.initialize()  # rank and size from MPI; one rank without mpirun
keras.distribution.set_distribution(keras.distribution.DataParallel())
chief = keras.distribution.is_chief()

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, x_test = x_train.astype("float32") / 255.0, x_test.astype("float32") / 255.0

keras.utils.set_random_seed(0)  # rank 0's initial weights are broadcast anyway
model = keras.Sequential([
    keras.Input((28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
if chief:
    print(f"{keras.distribution.num_processes()} rank(s), "
          f"{keras.config.get_num_threads()} OpenMP thread(s) per rank")

model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
          validation_split=0.1, verbose=2 if chief else 0,
          callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])
test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
if chief:  # every rank holds the same numbers; one prints them
    print(f"Test accuracy: {test_acc:.4f}")
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "distributed_mnist.keras")
    model.save(path)
    print(f"Saved {path}")
