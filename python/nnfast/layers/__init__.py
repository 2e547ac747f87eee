"""Keras layers: ``from nnfast.layers import Dense, Dropout, Flatten``."""
from nnfast.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from nnfast.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from nnfast.layers.core import Activation, Dense, Identity
from nnfast.layers.input_layer import Input, InputLayer
from nnfast.layers.input_spec import InputSpec
from nnfast.layers.lambda_layer import Lambda
from nnfast.layers.layer import Layer
from nnfast.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)
from nnfast.layers.regularization import (ActivityRegularization, AlphaDropout, Dropout,
                                          GaussianDropout, GaussianNoise)
from nnfast.layers.convolutional import (
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D, Convolution1DTranspose,
    Convolution2D, Convolution2DTranspose, DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
    SeparableConv2D, SeparableConvolution1D, SeparableConvolution2D,
)
from nnfast.layers.embedding import Embedding
from nnfast.layers.masking import Masking
from nnfast.layers.normalization import (BatchNormalization, GroupNormalization,
                                         LayerNormalization, RMSNormalization,
                                         UnitNormalization)
from nnfast.layers.pooling import (
    AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
    GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D,
)
from nnfast.layers.preprocessing import (
    CenterCrop, Normalization, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
    RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing,
)
from nnfast.layers.augmentation import (
    AugMix, AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, CutMix, Equalization,
    MaxNumBoundingBoxes, MixUp, Pipeline, RandAugment, RandomColorDegeneration, RandomColorJitter, RandomElasticTransform,
    RandomErasing, RandomGaussianBlur, RandomGrayscale, RandomHue, RandomInvert,
    RandomPerspective, RandomPosterization, RandomSaturation, RandomSharpness, RandomShear,
    Solarization,
)
from nnfast.layers.categorical import CategoryEncoding, HashedCrossing, Hashing
from nnfast.layers.discretization import Discretization
from nnfast.layers.lookup import IntegerLookup, StringLookup
from nnfast.layers.text_vectorization import TextVectorization
from nnfast.layers.recurrent import GRU, LSTM, SimpleRNN
from nnfast.layers.rnn import RNN
from nnfast.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from nnfast.layers.reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape,
                                     UpSampling1D, ZeroPadding1D)
from nnfast.layers.reshaping_image import Cropping2D, UpSampling2D, ZeroPadding2D
from nnfast.layers.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from nnfast.layers.wrappers import Bidirectional, TimeDistributed, Wrapper
from nnfast.layers.convolutional3d import (Conv3D, Conv3DTranspose, Convolution3D,
                                           Convolution3DTranspose)
from nnfast.layers.pooling3d import (
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D, AveragePooling3D,
    AvgPool3D, GlobalAveragePooling3D, GlobalAvgPool3D, GlobalMaxPool3D, GlobalMaxPooling3D,
    MaxPool3D, MaxPooling3D,
)
from nnfast.layers.reshaping3d import Cropping3D, UpSampling3D, ZeroPadding3D
from nnfast.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from nnfast.layers.einsum_dense import EinsumDense
from nnfast.layers.group_query_attention import GroupedQueryAttention, GroupQueryAttention
from nnfast.layers.reversible_embedding import ReversibleEmbedding
from nnfast.layers.spectral_normalization import SpectralNormalization
from nnfast.layers.spectrogram import MelSpectrogram, STFTSpectrogram
from nnfast.layers.serialization import deserialize, serialize
from nnfast.layers import merge  # noqa: E402,F401  (Keras 2 module path keras.layers.merge)
from nnfast.layers.cudnn_recurrent import CuDNNGRU, CuDNNLSTM  # noqa: E402,F401  (Keras 2 names)
from nnfast.layers.thresholded_relu import ThresholdedReLU  # noqa: E402,F401  (Keras 2 name)
import sys as _sys  # noqa: E402
from nnfast import keras1_arguments as _keras1_arguments  # noqa: E402
_keras1_arguments.install_layer_arguments(_sys.modules[__name__])  # Keras 1 keywords (Keras 2 era)
