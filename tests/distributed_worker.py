"""One rank of the MPI integration tests (tests/test_distribution.py starts it with
``mpiexec -n W``). Trains a small model under DataParallel and writes, per rank,
``rank<r>.npz`` with the final weights, the per-step weight digests and the history.

    python3 tests/distributed_worker.py OUT_DIR MODE [EXTRA]

MODE: ``train`` (fit + evaluate + predict; EXTRA ``wide``: ``make_model(wide=True)`` at
batch 70), ``hang`` (rank 1 hangs in step 2: the step
watchdog must abort the job), ``resume`` (fit with BackupAndRestore; EXTRA=epoch at which
rank 1 dies, or -1 to run to the end), ``syncbn`` (fit of ``make_sync_bn_model`` with
batch size EXTRA; the weights after every step, as ``train``).
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


def make_model(dropout=True, wide=False):
    """Dropout off for the resume test: BackupAndRestore does not save dropout streams.
    ``wide``: two 256-unit hidden layers, whose products at 35 rows per rank are large
    enough for the GEMM and the optimizer to split across threads."""
    keras.utils.set_random_seed(1)
    hidden = [keras.layers.Dense(256, activation="relu") for _ in range(2)] if wide else \
        [keras.layers.Dense(12, activation="relu")]
    model = keras.Sequential([keras.Input((6,)), *hidden,
                              keras.layers.Dropout(0.25 if dropout else 0.0),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def make_sync_bn_model():
    """Conv -> BatchNormalization(synchronized=True) -> Dense, with random flips and
    rotations in front (their per-image draws are made for the global batch)."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4, 4, 2)),
                              keras.layers.RandomFlip(seed=5),
                              keras.layers.RandomRotation(0.2, seed=6),
                              keras.layers.Conv2D(5, 3, padding="same"),
                              keras.layers.BatchNormalization(synchronized=True),
                              keras.layers.Activation("relu"),
                              keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


def image_data():
    x, y = data()
    return np.tile(x[:, :4], (1, 8)).reshape(-1, 4, 4, 2) * np.float32(1.5) + 0.5, y


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
    if mode == "syncbn":
        model, digests = make_sync_bn_model(), Digests()
        model.fit(*image_data(), batch_size=int(sys.argv[3]), epochs=1, verbose=0,
                  shuffle=False, callbacks=[digests])
        np.savez(os.path.join(out_dir, f"rank{rank}.npz"), *model.get_weights(),
                 steps=np.stack(digests.steps))
        return
    wide = len(sys.argv) > 3 and sys.argv[3] == "wide"
    model = make_model(dropout=mode != "resume", wide=wide)
    if mode == "resume":
        die_at = int(sys.argv[3])
        callbacks = [keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"))]
        if die_at >= 0:
            callbacks.append(DieAtEpoch(die_at))
        model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=callbacks)
        np.savez(os.path.join(out_dir, f"rank{rank}.npz"), *model.get_weights())
        return
    digests = Digests()
    history = model.fit(x, y, batch_size=70 if wide else 16, epochs=2, verbose=0,
                        callbacks=[digests])
    evaluation = model.evaluate(x, y, batch_size=32, verbose=0)
    prediction = model.predict(x, batch_size=32, verbose=0)
    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), *model.get_weights(),
             steps=np.stack(digests.steps), loss=np.array(history.history["loss"]),
             accuracy=np.array(history.history["accuracy"]), evaluation=np.array(evaluation),
             prediction=prediction)


if __name__ == "__main__":
    main()
