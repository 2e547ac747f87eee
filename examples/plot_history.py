"""Plot the training history the way the Keras tutorials do ("Visualizing the learning
curves"), on the handwritten digits that ship with nnfast (no download).

    python examples/plot_history.py [output_folder]

Writes history.png (loss and accuracy per epoch, training and validation) into the output
folder (default: nnfast_examples/ under the system's temporary folder). Needs matplotlib
(`pip install matplotlib`); without it, the history is printed as a table instead.
"""
import os
import sys
import tempfile

import nnfast
from nnfast.layers import Dense, Dropout, Flatten

(x_train, y_train), _ = nnfast.datasets.digits.load_data()
x_train = x_train / 16.0

nnfast.utils.set_random_seed(0)
model = nnfast.Sequential([
    Flatten(input_shape=(8, 8)),
    Dense(64, activation="relu"),
    Dropout(0.2),
    Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=15, batch_size=32, validation_split=0.2, verbose=0)

output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "nnfast_examples")
os.makedirs(output, exist_ok=True)
try:
    import matplotlib
    matplotlib.use("Agg")  # write a file; no display needed
    import matplotlib.pyplot as plt
except ImportError:
    plt = None

if plt is None:
    print("epoch  " + "  ".join(f"{k:>12}" for k in history.history))
    for epoch in history.epoch:
        print(f"{epoch + 1:5d}  " + "  ".join(f"{v[epoch]:12.4f}" for v in history.history.values()))
else:
    epochs = [e + 1 for e in history.epoch]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.plot(epochs, history.history[metric], "bo", label=f"Training {metric}")
        ax.plot(epochs, history.history[f"val_{metric}"], "b", label=f"Validation {metric}")
        ax.set_title(f"Training and validation {metric}")
        ax.set_xlabel("Epochs")
        ax.set_ylabel(metric.capitalize())
        ax.legend()
    fig.tight_layout()
    path = os.path.join(output, "history.png")
    fig.savefig(path, dpi=100)
    print(f"Wrote {path}")
