"""Keras layers: ``from nnfast.layers import Dense, Dropout, Flatten``."""
from nnfast.layers.activations import ELU, LeakyReLU, ReLU, Softmax
from nnfast.layers.core import Activation, Dense
from nnfast.layers.input_layer import Input, InputLayer
from nnfast.layers.layer import Layer
from nnfast.layers.regularization import Dropout
from nnfast.layers.reshaping import Flatten, Reshape
from nnfast.layers.embedding import Embedding
from nnfast.layers.recurrent import GRU, LSTM, SimpleRNN
from nnfast.layers.masking import Masking
from nnfast.layers.wrappers import Bidirectional, TimeDistributed
