"""Keras layers: ``from nnfast.layers import Dense, Dropout, Flatten``."""
from nnfast.layers.activations import ELU, LeakyReLU, ReLU, Softmax
from nnfast.layers.core import Activation, Dense
from nnfast.layers.input_layer import Input, InputLayer
from nnfast.layers.lambda_layer import Lambda
from nnfast.layers.layer import Layer
from nnfast.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)
from nnfast.layers.regularization import Dropout
from nnfast.layers.embedding import Embedding
from nnfast.layers.masking import Masking
from nnfast.layers.preprocessing import (
    CenterCrop, Normalization, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
    RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing,
)
from nnfast.layers.recurrent import GRU, LSTM, SimpleRNN
from nnfast.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from nnfast.layers.wrappers import Bidirectional, TimeDistributed
