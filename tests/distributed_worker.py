"""One rank of the MPI integration tests (tests/test_distribution.py starts it with
``mpiexec -n W``). Trains a small model under DataParallel and writes, per rank,
``rank<r>.npz`` with the final weights, the per-step weight digests and the history.

    python3 tests/distributed_worker.py OUT_DIR MODE [EXTRA]

MODE: ``train`` (fit + evaluate + predict), ``hang`` (rank 1 hangs in step 2: the step
watchdog must abort the job), ``resume`` (fit with BackupAndRestore; EXTRA=epoch at which
rank 1 dies, or -1 to run to the end).
"""
import os
import sys

import numpy as np

import nnfast as keras

WORLD_DATA_SEED = 0


def data():
    rs = np.random.RandomState(WORLD_DATA_SEED)
    x = rs.randn(70, 6).astype("float32")
    y = rs.randint(0, 3, size=70)
    return x, y


def make_model(dropout=True):
    """Dropout off for the resume test: BackupAndRestore does not save dropout streams."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dropout(0.25 if dropout else 0.0),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Digests(keras.callbacks.Callback):
    """The weights after every step (to check that ranks agree bit for bit)."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(np.concatenate([w.ravel() for w in self.model.get_weights()]))


class DieAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch and keras.distribution.process_id() == 1:
            os._exit(3)


class HangAtStep(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if batch == 2 and keras.distribution.process_id() == 1:
            import time

            time.sleep(120)


def main():
    out_dir, mode = sys.argv[1], sys.argv[2]
    keras.distribution.initialize()
    rank = keras.distribution.process_id()
    x, y = data()
    if mode == "hang":
        keras.distribution.set_distribution(keras.distribution.DataParallel(step_timeout=2))
        model = make_model()
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[HangAtStep()])
        return
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model = make_model(dropout=mode != "resume")
    if mode == "resume":
        die_at = int(sys.argv[3])
        callbacks = [keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"))]
        if die_at >= 0:
            callbacks.append(DieAtEpoch(die_at))
        model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=callbacks)
        np.savez(os.path.join(out_dir, f"rank{rank}.npz"), *model.get_weights())
        return
    digests = Digests()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[digests])
    evaluation = model.evaluate(x, y, batch_size=32, verbose=0)
    prediction = model.predict(x, batch_size=32, verbose=0)
    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), *model.get_weights(),
             steps=np.stack(digests.steps), loss=np.array(history.history["loss"]),
             accuracy=np.array(history.history["accuracy"]), evaluation=np.array(evaluation),
             prediction=prediction)


if __name__ == "__main__":
    main()
