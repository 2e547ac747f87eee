"""Sentiment classification of IMDB reviews with an LSTM (the Keras tutorial, nnfast imports).

    NNFAST_DATASETS=/path/to/datasets python examples/imdb_lstm.py
"""
import nnfast
from nnfast import layers
from nnfast.datasets import imdb
from nnfast.utils import pad_sequences

max_features = 10000  # vocabulary size
maxlen = 100  # words per review

(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features)
print(len(x_train), "train sequences,", len(x_test), "test sequences")
x_train = pad_sequences(x_train, maxlen=maxlen)
x_test = pad_sequences(x_test, maxlen=maxlen)
print("x_train shape:", x_train.shape)

model = nnfast.Sequential([
    layers.Embedding(max_features, 128),
    layers.LSTM(64),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_test, y_test))
score, acc = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
print(f"Test loss: {score:.4f}  test accuracy: {acc:.4f}")
