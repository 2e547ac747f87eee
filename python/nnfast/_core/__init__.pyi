"""
nnfast compiled kernels (internal; use nnfast.ops)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
from . import cuda
__all__: list[str] = ['Activation', 'Int8PackedKernel', 'Program', 'RnnCell', 'activation_backward', 'activation_forward', 'activation_needs_input', 'active_isa', 'adadelta_update', 'adagrad_update', 'adam_update', 'adam_update_token_rows', 'adamax_update', 'avg_pool2d_backward', 'avg_pool2d_forward', 'batch_norm_backward', 'batch_norm_forward_inference', 'batch_norm_forward_training', 'bias_activation_inplace', 'binary_crossentropy_backward', 'binary_crossentropy_forward', 'buffer_cache_clear', 'buffer_cache_set_limit', 'buffer_cache_stats', 'categorical_crossentropy_backward', 'categorical_crossentropy_forward', 'conv2d_backward_data', 'conv2d_backward_data_bf16', 'conv2d_backward_weights', 'conv2d_backward_weights_bf16', 'conv2d_bf16_route', 'conv2d_forward', 'conv2d_forward_bf16', 'conv2d_relu_maxpool_backward_data', 'conv2d_relu_maxpool_backward_weights', 'conv2d_relu_maxpool_forward', 'conv2d_relu_maxpool_supported', 'conv3d_backward_data', 'conv3d_backward_weights', 'conv3d_forward', 'conv3d_variant_name', 'conv_lstm_gates_backward', 'conv_lstm_gates_forward', 'conv_lstm_gates_kernel_name', 'conv_output_size', 'conv_same_padding', 'counter_uniform', 'cpu_best_isa', 'csr_from_dense', 'csr_matmul', 'csr_matmul_t', 'cuda', 'depthwise_conv2d_backward_data', 'depthwise_conv2d_backward_weights', 'depthwise_conv2d_forward', 'depthwise_pointwise_forward', 'dropout_apply', 'dropout_backward_mask', 'dropout_forward_mask', 'ema_update', 'embedding_backward', 'embedding_forward', 'embedding_shift_square_rows', 'extract_patches_2d', 'ftrl_update', 'gemm', 'gemm_batched', 'gemm_bf16_kernel_name', 'gemm_bf16_variants', 'gemm_broadcast', 'gemm_int8', 'gemm_int8_kernel_name', 'gemm_int8_variants', 'gemm_kernel_name', 'gemm_small_kernel_name', 'global_avg_pool_backward', 'global_avg_pool_forward', 'global_max_pool_backward', 'global_max_pool_forward', 'int8_conv2d_forward', 'int8_dense', 'int8_depthwise_allow_vnni', 'int8_depthwise_conv2d_forward', 'int8_depthwise_kernel_name', 'int8_depthwise_pointwise_forward', 'int8_inverted_residual_band_rows', 'int8_inverted_residual_forward', 'int8_pack_kernel', 'int8_stem_block_forward', 'int8_stem_conv2d_forward', 'int8_stem_kernel_name', 'kernel_registry', 'layer_norm_backward', 'layer_norm_forward', 'lion_update', 'logsumexp_rows', 'max_pool2d_backward', 'max_pool2d_forward', 'mean_absolute_error_backward', 'mean_absolute_error_forward', 'mean_squared_error_backward', 'mean_squared_error_forward', 'nadam_update', 'num_threads', 'numpy_buffer_cache_enter', 'numpy_buffer_cache_exit', 'relu_backward_from_output', 'resize_bilinear_backward', 'resize_bilinear_forward', 'rmsprop_update', 'rnn_activation_supported', 'rnn_backward', 'rnn_embedded_workspace_size', 'rnn_forward', 'rnn_kernel_name', 'rnn_workspace_size', 'round_to_bfloat16', 'selected_kernels', 'set_max_isa', 'set_num_threads', 'sgd_update', 'softmax_along_axis', 'softmax_backward', 'softmax_cross_entropy_backward', 'softmax_cross_entropy_forward', 'softmax_forward', 'sum_over_rows', 'sum_squares', 'take', 'take_new_array', 'top_k']
class Activation:
    """
    Ids of the activations the kernels fuse (nnfast::Activation); int(Activation.relu) is what the bindings take.
    
    Members:
    
      linear
    
      relu
    
      sigmoid
    
      tanh
    
      elu
    
      selu
    
      softplus
    
      softsign
    
      swish
    
      gelu
    
      gelu_tanh
    
      exponential
    
      hard_sigmoid
    
      relu6
    
      leaky_relu
    
      hard_silu
    
      mish
    """
    __members__: typing.ClassVar[dict[str, Activation]]
    elu: typing.ClassVar[Activation]
    exponential: typing.ClassVar[Activation]
    gelu: typing.ClassVar[Activation]
    gelu_tanh: typing.ClassVar[Activation]
    hard_sigmoid: typing.ClassVar[Activation]
    hard_silu: typing.ClassVar[Activation]
    leaky_relu: typing.ClassVar[Activation]
    linear: typing.ClassVar[Activation]
    mish: typing.ClassVar[Activation]
    relu: typing.ClassVar[Activation]
    relu6: typing.ClassVar[Activation]
    selu: typing.ClassVar[Activation]
    sigmoid: typing.ClassVar[Activation]
    softplus: typing.ClassVar[Activation]
    softsign: typing.ClassVar[Activation]
    swish: typing.ClassVar[Activation]
    tanh: typing.ClassVar[Activation]
    @typing.overload
    def __eq__(self, other: Activation) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    @typing.overload
    def __ge__(self, other: Activation) -> bool:
        ...
    @typing.overload
    def __ge__(self, other: typing.Any) -> None:
        ...
    def __getstate__(self) -> int:
        ...
    @typing.overload
    def __gt__(self, other: Activation) -> bool:
        ...
    @typing.overload
    def __gt__(self, other: typing.Any) -> None:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __le__(self, other: Activation) -> bool:
        ...
    @typing.overload
    def __le__(self, other: typing.Any) -> None:
        ...
    @typing.overload
    def __lt__(self, other: Activation) -> bool:
        ...
    @typing.overload
    def __lt__(self, other: typing.Any) -> None:
        ...
    @typing.overload
    def __ne__(self, other: Activation) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class RnnCell:
    """
    Ids of the recurrent cells rnn_forward takes (nnfast::RnnCell).
    
    Members:
    
      lstm
    
      gru
    
      simple
    """
    __members__: typing.ClassVar[dict[str, RnnCell]]
    gru: typing.ClassVar[RnnCell]
    lstm: typing.ClassVar[RnnCell]
    simple: typing.ClassVar[RnnCell]
    @typing.overload
    def __eq__(self, other: RnnCell) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    @typing.overload
    def __ge__(self, other: RnnCell) -> bool:
        ...
    @typing.overload
    def __ge__(self, other: typing.Any) -> None:
        ...
    def __getstate__(self) -> int:
        ...
    @typing.overload
    def __gt__(self, other: RnnCell) -> bool:
        ...
    @typing.overload
    def __gt__(self, other: typing.Any) -> None:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __le__(self, other: RnnCell) -> bool:
        ...
    @typing.overload
    def __le__(self, other: typing.Any) -> None:
        ...
    @typing.overload
    def __lt__(self, other: RnnCell) -> bool:
        ...
    @typing.overload
    def __lt__(self, other: typing.Any) -> None:
        ...
    @typing.overload
    def __ne__(self, other: RnnCell) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Int8PackedKernel:
    """
    An int8 (k, n) kernel packed for the int8 GEMM (made by int8_pack_kernel).
    """
    @property
    def k(self) -> int:
        """
        Depth (rows).
        """
    @property
    def n(self) -> int:
        """
        Output columns.
        """
class Program:
    """
    A lowered training program: kernel calls over a buffer arena planned once, run for many steps per call with the GIL released. Built by nnfast.models.lowered.
    """
    def __init__(self, buffers: numpy.ndarray, instructions: numpy.ndarray, floats: numpy.ndarray, arena_size: typing.SupportsInt | typing.SupportsIndex, max_rows: typing.SupportsInt | typing.SupportsIndex, input_per_row: typing.SupportsInt | typing.SupportsIndex, target_per_row: typing.SupportsInt | typing.SupportsIndex, label_classes: typing.SupportsInt | typing.SupportsIndex, geometries: typing.Any = None, recurrences: typing.Any = None, ids_per_row: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def run(self, inputs: list, targets: typing.Any, labels: typing.Any, externals: list, learning_rates: numpy.ndarray, first_step: typing.SupportsInt | typing.SupportsIndex, counters: numpy.ndarray, losses: numpy.ndarray, counts: numpy.ndarray, source: typing.Any = None) -> int:
        """
        Runs one step per input batch; weights, slots and counters change in place. Returns the number of steps run (fewer when a step would take the sparse Dense product). With source (float32 rows), inputs are int64 row indices into it: the program gathers each batch itself.
        """
    def set_timing(self, on: bool) -> None:
        """
        Time each kernel call (and reset the total).
        """
    @property
    def arena_bytes(self) -> int:
        ...
    @property
    def instruction_count(self) -> int:
        ...
    @property
    def instruction_seconds(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        Seconds in each instruction's kernel calls since set_timing (one per instruction).
        """
    @property
    def kernel_seconds(self) -> float:
        ...
    @property
    def max_rows(self) -> int:
        ...
def activation_backward(activation: typing.SupportsInt | typing.SupportsIndex, x: typing.Any, y: typing.Any, dy: numpy.ndarray, out: numpy.ndarray, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def activation_forward(activation: typing.SupportsInt | typing.SupportsIndex, x: numpy.ndarray, out: numpy.ndarray, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_value: typing.SupportsFloat | typing.SupportsIndex = ..., threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def activation_needs_input(activation: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> bool:
    ...
def active_isa() -> str:
    """
    Instruction set the kernels use now (the CPU's best, capped by set_max_isa).
    """
def adadelta_update(w: numpy.ndarray, g: numpy.ndarray, accumulated_grad: typing.Any, accumulated_delta_var: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, rho: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def adagrad_update(w: numpy.ndarray, g: numpy.ndarray, accumulator: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def adam_update(w: numpy.ndarray, g: numpy.ndarray, m: typing.Any, v: typing.Any, vhat: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def adam_update_token_rows(w: numpy.ndarray, m: numpy.ndarray, v: numpy.ndarray, ids: numpy.ndarray, g_rows: numpy.ndarray, sq_rows: numpy.ndarray, lr: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, *, decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    Adam on a (vocab, dim) table whose gradient is zero but on the distinct rows ids, which take g_rows with the per-token sums of squares sq_rows for v (Keras's rule).
    """
def adamax_update(w: numpy.ndarray, g: numpy.ndarray, m: typing.Any, u: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def avg_pool2d_backward(ddst: numpy.ndarray, dsrc: numpy.ndarray, pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    ...
def avg_pool2d_forward(src: numpy.ndarray, dst: numpy.ndarray, pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    """
    Average pooling; each window divides by its number of valid (unpadded) positions.
    """
def batch_norm_backward(x: numpy.ndarray, dy: numpy.ndarray, gamma: typing.Any, mean: numpy.ndarray, var: numpy.ndarray, epsilon: typing.SupportsFloat | typing.SupportsIndex, training: bool, dx: typing.Any, dgamma: typing.Any, dbeta: typing.Any) -> None:
    ...
def batch_norm_forward_inference(x: numpy.ndarray, gamma: typing.Any, beta: typing.Any, mean: numpy.ndarray, var: numpy.ndarray, epsilon: typing.SupportsFloat | typing.SupportsIndex, y: numpy.ndarray) -> None:
    ...
def batch_norm_forward_training(x: numpy.ndarray, gamma: typing.Any, beta: typing.Any, epsilon: typing.SupportsFloat | typing.SupportsIndex, y: numpy.ndarray, mean: numpy.ndarray, var: numpy.ndarray) -> None:
    """
    Batch norm over all rows of x viewed as (rows, channels); writes y and the batch mean and biased variance.
    """
def bias_activation_inplace(x: numpy.ndarray, bias: typing.Any, activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    x = activation(x + bias) in place over the last axis.
    """
def binary_crossentropy_backward(pred: numpy.ndarray, target: numpy.ndarray, drow: numpy.ndarray, from_logits: bool, eps: typing.SupportsFloat | typing.SupportsIndex, out: numpy.ndarray) -> None:
    ...
def binary_crossentropy_forward(pred: numpy.ndarray, target: numpy.ndarray, from_logits: bool, eps: typing.SupportsFloat | typing.SupportsIndex, loss: numpy.ndarray) -> None:
    ...
def buffer_cache_clear() -> None:
    ...
def buffer_cache_set_limit(bytes: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def buffer_cache_stats() -> dict:
    ...
def categorical_crossentropy_backward(probs: numpy.ndarray, target: typing.Any, labels: typing.Any, drow: numpy.ndarray, eps: typing.SupportsFloat | typing.SupportsIndex, out: numpy.ndarray) -> None:
    ...
def categorical_crossentropy_forward(probs: numpy.ndarray, target: typing.Any, labels: typing.Any, eps: typing.SupportsFloat | typing.SupportsIndex, loss: numpy.ndarray) -> None:
    ...
def conv2d_backward_data(ddst: numpy.ndarray, kernel: numpy.ndarray, dsrc: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
    """
    dsrc = gradient of the convolution's input (overwritten); dsrc's shape gives the input's.
    """
def conv2d_backward_data_bf16(ddst: numpy.ndarray, kernel: numpy.ndarray, dsrc: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, bf16_variant: str = 'best') -> None:
    """
    conv2d_backward_data with ddst and kernel rounded to bfloat16, float32 accumulation.
    """
def conv2d_backward_weights(src: numpy.ndarray, ddst: numpy.ndarray, dkernel: numpy.ndarray, dbias: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, relu_y: typing.Any = None) -> None:
    """
    dkernel (and dbias unless None) = gradients of the convolution's weights (overwritten); with relu_y, ddst is masked by relu_y > 0 first (a fused relu).
    """
def conv2d_backward_weights_bf16(src: numpy.ndarray, ddst: numpy.ndarray, dkernel: numpy.ndarray, dbias: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, bf16_variant: str = 'best') -> None:
    """
    conv2d_backward_weights with src and ddst rounded to bfloat16 (float32 accumulation); dbias (unless None) is the float32 sum of ddst.
    """
def conv2d_bf16_route(src: numpy.ndarray, kernel: numpy.ndarray, dst: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, bf16_variant: str = 'best') -> str:
    """
    The route a bf16 convolution of these arrays takes: 'amx', 'avx512bf16' or 'via_f32'.
    """
def conv2d_forward(src: numpy.ndarray, kernel: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, scale: typing.Any = None, residual: typing.Any = None) -> None:
    """
    dst = activation(scale * conv(src, kernel) + bias + residual) on NHWC arrays (scale: per output channel, None for 1; residual: dst's shape, None for 0); dst's shape gives out_h/out_w.
    """
def conv2d_forward_bf16(src: numpy.ndarray, kernel: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, bf16_variant: str = 'best') -> None:
    """
    conv2d_forward with src and kernel rounded to bfloat16, float32 accumulation; bf16_variant: 'best', 'amx', 'avx512bf16' or 'via_f32'.
    """
def conv2d_relu_maxpool_backward_data(dpooled: numpy.ndarray, pooled: numpy.ndarray, argidx: numpy.ndarray, kernel: numpy.ndarray, dsrc: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], conv_out: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pool_pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    """
    dsrc = input gradient of the fused block (overwritten).
    """
def conv2d_relu_maxpool_backward_weights(src: numpy.ndarray, dpooled: numpy.ndarray, pooled: numpy.ndarray, argidx: numpy.ndarray, dkernel: numpy.ndarray, dbias: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], conv_out: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pool_pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    """
    dkernel (and dbias unless None) = weight gradients of the fused block (overwritten).
    """
def conv2d_relu_maxpool_forward(src: numpy.ndarray, kernel: numpy.ndarray, bias: typing.Any, pooled: numpy.ndarray, argidx: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], conv_out: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pool_pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    """
    pooled = max_pool(relu(conv(src, kernel) + bias)) without the full-size conv output; argidx (uint8, pooled's shape, or None) receives each window's argmax offset.
    """
def conv2d_relu_maxpool_supported(in_c: typing.SupportsInt | typing.SupportsIndex, out_c: typing.SupportsInt | typing.SupportsIndex, kernel: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex, pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> bool:
    """
    Whether conv2d_relu_maxpool_* handle these channels, kernel size, groups and pool size.
    """
def conv3d_backward_data(ddst: numpy.ndarray, kernel: numpy.ndarray, dsrc: numpy.ndarray, strides: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], pads: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], dilation: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], groups: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
    """
    dsrc = gradient of the 3-D convolution's input (overwritten); dsrc's shape gives the input's.
    """
def conv3d_backward_weights(src: numpy.ndarray, ddst: numpy.ndarray, dkernel: numpy.ndarray, dbias: typing.Any, strides: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], pads: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], dilation: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], groups: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
    """
    dkernel (and dbias unless None) = gradients of the 3-D convolution's weights (overwritten).
    """
def conv3d_forward(src: numpy.ndarray, kernel: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, strides: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], pads: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], dilation: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"], groups: typing.SupportsInt | typing.SupportsIndex = 1, activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    dst = activation(conv3d(src, kernel) + bias) on NDHWC arrays; dst's shape gives the output size; pads are (front, top, left).
    """
def conv3d_variant_name() -> str:
    """
    The conv3d implementation the active ISA selects (reference under max ISA 'ref').
    """
def conv_lstm_gates_backward(gates: numpy.ndarray, c_t: numpy.ndarray, c_prev: typing.Any, dh_out: typing.Any, dh: numpy.ndarray, dc: numpy.ndarray, dgates: numpy.ndarray, activation: typing.SupportsInt | typing.SupportsIndex, recurrent_activation: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Backward of one ConvLSTM step: dh (in dL/dh_t from the next step, out 0), dc (in dL/dc_t, out dL/dc_{t-1}), dgates <- d(pre-activations); dh_out/c_prev may be None.
    """
def conv_lstm_gates_forward(gates: numpy.ndarray, c: numpy.ndarray, h: numpy.ndarray, activation: typing.SupportsInt | typing.SupportsIndex, recurrent_activation: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    One ConvLSTM step's gates: gates (..., 4u) pre-activations -> activations in place; c (..., u) c_{t-1} -> c_t in place; h (..., u) <- h_t.
    """
def conv_lstm_gates_kernel_name() -> str:
    """
    The LSTM gate kernel set the ConvLSTM steps run on (active ISA).
    """
def conv_output_size(n: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, stride: typing.SupportsInt | typing.SupportsIndex, dilation: typing.SupportsInt | typing.SupportsIndex, same: bool) -> int:
    ...
def conv_same_padding(n: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, stride: typing.SupportsInt | typing.SupportsIndex, dilation: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def counter_uniform(seed: typing.SupportsInt | typing.SupportsIndex, i: typing.SupportsInt | typing.SupportsIndex) -> float:
    ...
def cpu_best_isa() -> str:
    """
    Best instruction set this CPU supports: 'avx512', 'avx2' or 'ref'.
    """
def csr_from_dense(x: numpy.ndarray, max_nnz: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    (indptr, indices, values) of the 2-D float32 x in CSR form (int64 indices), or None once more than max_nnz nonzeros are found (the scan stops there).
    """
def csr_matmul(indptr: numpy.ndarray, indices: numpy.ndarray, values: numpy.ndarray, kernel: numpy.ndarray, out: numpy.ndarray, bias: typing.Any = None) -> None:
    """
    out (rows, units) = csr (rows, in) @ kernel (in, units) [+ bias], a gather-sum of kernel rows over each row's nonzeros (the CSR is checked first).
    """
def csr_matmul_t(indptr: numpy.ndarray, indices: numpy.ndarray, values: numpy.ndarray, dy: numpy.ndarray, dw: numpy.ndarray, accumulate: bool = False) -> None:
    """
    dw (in, units) = csr^T @ dy (or += with accumulate): a scatter-add of dy's rows, deterministic for any thread count.
    """
def depthwise_conv2d_backward_data(ddst: numpy.ndarray, kernel: numpy.ndarray, dsrc: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
    """
    dsrc = gradient of the convolution's input (overwritten); dsrc's shape gives the input's.
    """
def depthwise_conv2d_backward_weights(src: numpy.ndarray, ddst: numpy.ndarray, dkernel: numpy.ndarray, dbias: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, relu_y: typing.Any = None) -> None:
    """
    dkernel (and dbias unless None) = gradients of the convolution's weights (overwritten); with relu_y, ddst is masked by relu_y > 0 first (a fused relu).
    """
def depthwise_conv2d_forward(src: numpy.ndarray, kernel: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], groups: typing.SupportsInt | typing.SupportsIndex = 1, activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, scale: typing.Any = None, residual: typing.Any = None) -> None:
    """
    dst = activation(scale * conv(src, kernel) + bias + residual) on NHWC arrays (scale: per output channel, None for 1; residual: dst's shape, None for 0); dst's shape gives out_h/out_w.
    """
def depthwise_pointwise_forward(src: numpy.ndarray, dw_kernel: numpy.ndarray, dw_bias: typing.Any, dw_scale: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dw_activation: typing.SupportsInt | typing.SupportsIndex, dw_alpha: typing.SupportsFloat | typing.SupportsIndex, dw_max: typing.SupportsFloat | typing.SupportsIndex, dw_threshold: typing.SupportsFloat | typing.SupportsIndex, pw_kernel: numpy.ndarray, pw_bias: typing.Any, pw_scale: typing.Any, residual: typing.Any, pw_activation: typing.SupportsInt | typing.SupportsIndex, pw_alpha: typing.SupportsFloat | typing.SupportsIndex, pw_max: typing.SupportsFloat | typing.SupportsIndex, pw_threshold: typing.SupportsFloat | typing.SupportsIndex, dst: numpy.ndarray) -> None:
    """
    dst = pw_act(pw_scale * (dw_out @ pw_kernel) + pw_bias + residual) with dw_out = dw_act(dw_scale * depthwise(src) + dw_bias): an inference separable block in one pass.
    """
def dropout_apply(x: numpy.ndarray, out: numpy.ndarray, rate: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, offset: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Inverted dropout with a counter-based mask; the same (seed, offset) gives the same mask.
    """
def dropout_backward_mask(g: numpy.ndarray, mask: numpy.ndarray, out: numpy.ndarray, rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    out = g / (1 - rate) where the stored mask bit is set, else 0 (dropout_forward_mask's gradient).
    """
def dropout_forward_mask(x: numpy.ndarray, out: numpy.ndarray, mask: numpy.ndarray, rate: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, offset: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    dropout_apply, also storing the keep mask as bits in mask (uint8, (x.size + 7) // 8 bytes; element i is bit i % 8 of mask[i // 8]).
    """
def ema_update(average: numpy.ndarray, w: numpy.ndarray, momentum: typing.SupportsFloat | typing.SupportsIndex) -> None:
    ...
def embedding_backward(grad: numpy.ndarray, ids: numpy.ndarray, dtable: numpy.ndarray, clear_ids: typing.Any = None) -> None:
    """
    dtable[ids[i]] += grad[i], touching only the named rows; rows named by clear_ids are zeroed first.
    """
def embedding_forward(table: numpy.ndarray, ids: numpy.ndarray, out: numpy.ndarray) -> None:
    """
    out[i] = table[ids[i]] (ids int64, checked against the table's rows).
    """
def embedding_shift_square_rows(slot: numpy.ndarray, ids: numpy.ndarray, g: numpy.ndarray, squares: numpy.ndarray, factor: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    slot[ids[i]] += (squares[i] - g[i]**2) * factor, touching only the named rows: shifts a squaring optimizer's slot so that its dense kernel, run next on the summed gradient, accumulates per-token squares as Keras does.
    """
def extract_patches_2d(x: numpy.ndarray, size: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], strides: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], dilation: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], pad_before: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], out: numpy.ndarray) -> None:
    """
    Patches of channels_last (N, H, W, C) float32 images into out (N, OH, OW, KH*KW*C); window pixels outside the image read 0.
    """
def ftrl_update(w: numpy.ndarray, g: numpy.ndarray, accumulator: typing.Any, linear: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, learning_rate_power: typing.SupportsFloat | typing.SupportsIndex, l1: typing.SupportsFloat | typing.SupportsIndex, l2_total: typing.SupportsFloat | typing.SupportsIndex, l2_shrinkage: typing.SupportsFloat | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def gemm(a: numpy.ndarray, b: numpy.ndarray, c: numpy.ndarray, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, precision: str = 'float32', bf16_variant: str = 'best') -> None:
    """
    c = activation(alpha * op(a) @ op(b) + beta * c + bias), in place. precision 'bfloat16' rounds op(a) and op(b) to bfloat16 and accumulates in float32; bf16_variant picks its implementation ('best', 'amx', 'avx512bf16', 'via_f32').
    """
def gemm_batched(a: numpy.ndarray, b: numpy.ndarray, c: numpy.ndarray, trans_a: bool = False, trans_b: bool = False) -> None:
    """
    c[i] = op(a[i]) @ op(b[i]) for 3-D arrays (batch, rows, cols), in place.
    """
def gemm_bf16_kernel_name() -> str:
    """
    The bfloat16 GEMM implementation 'best' runs now: AMX tiles, the AVX512_BF16 micro-kernel, or rounding to bf16 and the float32 GEMM.
    """
def gemm_bf16_variants() -> list[str]:
    """
    The bfloat16 GEMM implementations this CPU runs under the current ISA cap, best first.
    """
def gemm_broadcast(a: numpy.ndarray, b: numpy.ndarray, a_index: numpy.ndarray, b_index: numpy.ndarray, c: numpy.ndarray) -> None:
    """
    c[i] = a[a_index[i]] @ b[b_index[i]] for float32 stacks a (na, m, k), b (nb, k, n), c (batch, m, n) and int64 indices (batch,): the products of a broadcast matmul. Small products run on the unpacked gemm_small kernel, larger ones on the packed SGEMM.
    """
def gemm_int8(a: numpy.ndarray, packed: Int8PackedKernel, out: numpy.ndarray, variant: str = 'best') -> None:
    """
    out (int32, (m, n)) = a (int8, (m, k)) @ kernel, exact; variant picks the implementation ('best', 'amx', 'avx512vnni', 'avxvnni', 'ref').
    """
def gemm_int8_kernel_name() -> str:
    """
    The int8 GEMM implementation 'best' runs now: AMX-INT8 tiles, the AVX512_VNNI micro-kernel, or the scalar reference.
    """
def gemm_int8_variants() -> list[str]:
    """
    The int8 GEMM implementations this CPU runs under the current ISA cap, best first.
    """
def gemm_kernel_name() -> str:
    ...
def gemm_small_kernel_name() -> str:
    """
    The small-GEMM kernel gemm_broadcast uses now (follows set_max_isa).
    """
def global_avg_pool_backward(ddst: numpy.ndarray, dsrc: numpy.ndarray) -> None:
    ...
def global_avg_pool_forward(src: numpy.ndarray, dst: numpy.ndarray) -> None:
    """
    Mean over axis 1 of (batch, spatial, channels).
    """
def global_max_pool_backward(ddst: numpy.ndarray, argmax: numpy.ndarray, dsrc: numpy.ndarray) -> None:
    ...
def global_max_pool_forward(src: numpy.ndarray, dst: numpy.ndarray, argmax: typing.Any) -> None:
    """
    Max over axis 1 of (batch, spatial, channels); argmax receives the spatial index.
    """
def int8_conv2d_forward(src: numpy.ndarray, packed: Int8PackedKernel, kernel_scale: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, kernel_size: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, residual: typing.Any = None, epsilon: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, variant: str = 'best', channel_absmax: typing.Any = None) -> None:
    """
    A quantized Conv2D for inference on NHWC arrays (groups 1): each output pixel's window (kh, kw, in order, zeros outside the image) quantized as an int8_dense row straight from src, multiplied by the packed (kh*kw*in, out) kernel, dequantized with kernel_scale and bias, then dst = activation(dst + residual); dst's shape gives out_h/out_w and pads the zeros before the first row/column. channel_absmax (int32 (batch, out), zeroed by the caller) receives the bit pattern of max |dst| per sample and channel, for an int8 depthwise convolution reading dst next.
    """
def int8_dense(x: numpy.ndarray, packed: Int8PackedKernel, kernel_scale: numpy.ndarray, bias: typing.Any, out: numpy.ndarray, epsilon: typing.SupportsFloat | typing.SupportsIndex, variant: str = 'best') -> None:
    """
    Keras's int8 Dense product: rows of x (float32, (m, k)) quantized to int8 with scale 127 / (max|row| + epsilon) (round half to even, clip to 127), multiplied exactly by the packed kernel, then out = acc / (x_scale * kernel_scale) (+ bias when not None).
    """
def int8_depthwise_allow_vnni(allowed: bool) -> bool:
    """
    Whether the int8 depthwise registry may pick its AVX512_VNNI kernel (True by default; tests switch it off to run the plain AVX-512 kernel on a VNNI CPU). Returns the previous setting.
    """
def int8_depthwise_conv2d_forward(src: numpy.ndarray, kernel: numpy.ndarray, kernel_scale: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, scale: typing.Any = None, epsilon: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, input_absmax: typing.Any = None) -> None:
    """
    int8 depthwise convolution for inference on NHWC arrays: src (float32) quantized per sample and channel with scale 127 / (max|src[b, :, :, c]| + epsilon), kernel int8 (kh, kw, in_c, depth_multiplier) with kernel_scale (out_c,), exact int32 sums, then dst = activation(acc * scale / (x_scale * kernel_scale) + bias); dst's shape gives out_h/out_w. input_absmax (int32 (batch, in_c), the bit patterns of those maxima, as int8_conv2d_forward's channel_absmax gathers them) skips the pass that finds them.
    """
def int8_depthwise_kernel_name() -> str:
    """
    The int8 depthwise kernel the registry picks now.
    """
def int8_depthwise_pointwise_forward(src: numpy.ndarray, dw_kernel: numpy.ndarray, dw_kernel_scale: numpy.ndarray, dw_bias: typing.Any, dw_scale: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dw_activation: typing.SupportsInt | typing.SupportsIndex, dw_alpha: typing.SupportsFloat | typing.SupportsIndex, dw_max: typing.SupportsFloat | typing.SupportsIndex, dw_threshold: typing.SupportsFloat | typing.SupportsIndex, input_absmax: typing.Any, pw_packed: Int8PackedKernel, pw_kernel_scale: numpy.ndarray, pw_bias: typing.Any, residual: typing.Any, pw_activation: typing.SupportsInt | typing.SupportsIndex, pw_alpha: typing.SupportsFloat | typing.SupportsIndex, pw_max: typing.SupportsFloat | typing.SupportsIndex, pw_threshold: typing.SupportsFloat | typing.SupportsIndex, dst: numpy.ndarray, epsilon: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, variant: str = 'best') -> None:
    """
    A quantized depthwise convolution (as int8_depthwise_conv2d_forward) whose output feeds a quantized 1x1 stride-1 convolution (as int8_conv2d_forward with the packed (in*depth_multiplier, out) kernel), in one call over blocks of output pixels: the depthwise output never leaves the cache; the same bits as the two calls. dst (batch, out_h, out_w, out) gives out_h/out_w; residual has dst's shape.
    """
def int8_inverted_residual_band_rows(in_hw: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], channels: typing.SupportsInt | typing.SupportsIndex, kernel_hw: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], out_h: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Output rows per band of int8_inverted_residual_forward (its depthwise scales are per band): for tests and the docs.
    """
def int8_inverted_residual_forward(src: numpy.ndarray, expand_packed: Int8PackedKernel, expand_kernel_scale: numpy.ndarray, expand_bias: typing.Any, expand_activation: typing.SupportsInt | typing.SupportsIndex, expand_alpha: typing.SupportsFloat | typing.SupportsIndex, expand_max: typing.SupportsFloat | typing.SupportsIndex, expand_threshold: typing.SupportsFloat | typing.SupportsIndex, dw_kernel: numpy.ndarray, dw_kernel_scale: numpy.ndarray, dw_bias: typing.Any, dw_scale: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dw_activation: typing.SupportsInt | typing.SupportsIndex, dw_alpha: typing.SupportsFloat | typing.SupportsIndex, dw_max: typing.SupportsFloat | typing.SupportsIndex, dw_threshold: typing.SupportsFloat | typing.SupportsIndex, project_packed: Int8PackedKernel, project_kernel_scale: numpy.ndarray, project_bias: typing.Any, residual: typing.Any, project_activation: typing.SupportsInt | typing.SupportsIndex, project_alpha: typing.SupportsFloat | typing.SupportsIndex, project_max: typing.SupportsFloat | typing.SupportsIndex, project_threshold: typing.SupportsFloat | typing.SupportsIndex, dst: numpy.ndarray, epsilon: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, variant: str = 'best') -> None:
    """
    An int8 inverted residual block for inference: expand (a quantized 1x1 conv of src, as int8_conv2d_forward), a quantized depthwise conv (strides/pads/dilation; its input quantized per sample, band of rows and channel), project (a quantized 1x1 conv, residual added before its activation), over bands of output rows so neither intermediate feature map is written to memory. dst (batch, out_h, out_w, out) gives out_h/out_w.
    """
def int8_pack_kernel(kernel: numpy.ndarray) -> Int8PackedKernel:
    """
    Packs a C-contiguous int8 (k, n) kernel once for gemm_int8 and int8_dense.
    """
def int8_stem_block_forward(src: numpy.ndarray, stem_kernel: numpy.ndarray, stem_kernel_scale: numpy.ndarray, stem_bias: typing.Any, stem_strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stem_pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stem_out_hw: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], stem_activation: typing.SupportsInt | typing.SupportsIndex, stem_alpha: typing.SupportsFloat | typing.SupportsIndex, stem_max: typing.SupportsFloat | typing.SupportsIndex, stem_threshold: typing.SupportsFloat | typing.SupportsIndex, dw_kernel: numpy.ndarray, dw_kernel_scale: numpy.ndarray, dw_bias: typing.Any, dw_scale: typing.Any, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dw_activation: typing.SupportsInt | typing.SupportsIndex, dw_alpha: typing.SupportsFloat | typing.SupportsIndex, dw_max: typing.SupportsFloat | typing.SupportsIndex, dw_threshold: typing.SupportsFloat | typing.SupportsIndex, project_packed: Int8PackedKernel, project_kernel_scale: numpy.ndarray, project_bias: typing.Any, project_activation: typing.SupportsInt | typing.SupportsIndex, project_alpha: typing.SupportsFloat | typing.SupportsIndex, project_max: typing.SupportsFloat | typing.SupportsIndex, project_threshold: typing.SupportsFloat | typing.SupportsIndex, dst: numpy.ndarray, epsilon: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, variant: str = 'best') -> None:
    """
    A quantized stem (as int8_stem_conv2d_forward, output (stem_out_hw, out)) feeding only a quantized depthwise conv (strides/pads, dilation 1; its input quantized per sample, band of rows and channel) feeding only a quantized 1x1 project conv (no residual), over bands of output rows so neither the stem's nor the depthwise output is written to memory. dst (batch, out_h, out_w, project out) gives out_h/out_w.
    """
def int8_stem_conv2d_forward(src: numpy.ndarray, kernel: numpy.ndarray, kernel_scale: numpy.ndarray, bias: typing.Any, dst: numpy.ndarray, strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], dilation: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex = 0, act_alpha: typing.SupportsFloat | typing.SupportsIndex = 0.0, act_max: typing.SupportsFloat | typing.SupportsIndex = ..., act_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, epsilon: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, channel_absmax: typing.Any = None) -> None:
    """
    int8 convolution of a shallow first layer (groups 1, kh * ceil(kw * in / 4) <= 64) for inference on NHWC arrays: each sample quantized once with scale 127 / (max|src[b]| + epsilon), kernel int8 (kh, kw, in, out) with kernel_scale (out,), exact int32 sums, then dst = activation(fma(acc, 1 / x_scale * (1 / kernel_scale), bias)); dst's shape gives out_h/out_w and pads the zeros before the first row/column. channel_absmax (int32 (batch, out), zeroed by the caller) receives the bit pattern of max |dst| per sample and channel.
    """
def int8_stem_kernel_name() -> str:
    """
    The int8 stem kernel the registry picks now (s8_stem_avx512vnni, s8_stem_avxvnni, s8_stem_ref).
    """
def kernel_registry() -> dict:
    """
    Each kernel family's implementations as [(name, isa)], in the order select() tries
    them: fastest first, the reference last.
    """
def layer_norm_backward(x: numpy.ndarray, dy: numpy.ndarray, gamma: typing.Any, mean: numpy.ndarray, rstd: numpy.ndarray, dx: typing.Any, dgamma: typing.Any, dbeta: typing.Any) -> None:
    ...
def layer_norm_forward(x: numpy.ndarray, gamma: typing.Any, beta: typing.Any, epsilon: typing.SupportsFloat | typing.SupportsIndex, y: numpy.ndarray, mean: numpy.ndarray, rstd: numpy.ndarray) -> None:
    """
    Normalizes each row of x (rows, features).
    """
def lion_update(w: numpy.ndarray, g: numpy.ndarray, m: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def logsumexp_rows(x: numpy.ndarray, out: numpy.ndarray) -> None:
    """
    out[i] = log(sum(exp(x[..., :]))) of each row of the last axis (out: one per row).
    """
def max_pool2d_backward(ddst: numpy.ndarray, argmax: numpy.ndarray, dsrc: numpy.ndarray, pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], relu_y: typing.Any = None) -> None:
    """
    dsrc = the input gradient of max pooling (overwritten): ddst at each window's argmax; with relu_y (the pooled output of a relu'd input), ddst only where relu_y > 0.
    """
def max_pool2d_forward(src: numpy.ndarray, dst: numpy.ndarray, argmax: typing.Any, pool: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], strides: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex], pads: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]) -> None:
    """
    Max pooling of NHWC src into dst (its shape gives out_h/out_w); argmax (int32, dst's shape) receives each maximum's position ih*in_w + iw.
    """
def mean_absolute_error_backward(pred: numpy.ndarray, target: numpy.ndarray, drow: numpy.ndarray, out: numpy.ndarray) -> None:
    ...
def mean_absolute_error_forward(pred: numpy.ndarray, target: numpy.ndarray, loss: numpy.ndarray) -> None:
    ...
def mean_squared_error_backward(pred: numpy.ndarray, target: numpy.ndarray, drow: numpy.ndarray, out: numpy.ndarray) -> None:
    ...
def mean_squared_error_forward(pred: numpy.ndarray, target: numpy.ndarray, loss: numpy.ndarray) -> None:
    ...
def nadam_update(w: numpy.ndarray, g: numpy.ndarray, m: typing.Any, v: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, u_product: typing.SupportsFloat | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def num_threads() -> int:
    ...
def numpy_buffer_cache_enter() -> typing.Any:
    """
    Makes NumPy take large arrays (>= 1 MiB) created in this context from nnfast's buffer cache. Returns the handler it replaced (give it to numpy_buffer_cache_exit), or None when the cache's handler was already in use.
    """
def numpy_buffer_cache_exit(previous: typing.Any) -> None:
    """
    Puts back the NumPy allocation handler numpy_buffer_cache_enter replaced.
    """
def relu_backward_from_output(y: numpy.ndarray, g: numpy.ndarray, dz: numpy.ndarray) -> None:
    """
    dz = g where y > 0, else 0.
    """
def resize_bilinear_backward(ddst: numpy.ndarray, dsrc: numpy.ndarray) -> None:
    """
    dsrc (b, h, w, c) = adjoint of resize_bilinear_forward applied to ddst (b, out_h, out_w, c); dsrc is overwritten.
    """
def resize_bilinear_forward(src: numpy.ndarray, dst: numpy.ndarray) -> None:
    """
    dst (b, out_h, out_w, c) = tf.image.resize(src (b, h, w, c), bilinear, half-pixel centres, no antialias); float32 NHWC, C-contiguous.
    """
def rmsprop_update(w: numpy.ndarray, g: numpy.ndarray, velocity: typing.Any, momentum_buf: typing.Any, average_grad: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, rho: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def rnn_activation_supported(activation: typing.SupportsInt | typing.SupportsIndex) -> bool:
    """
    Whether the recurrent gate kernels implement this activation id (an Activation value).
    """
def rnn_backward(cell: typing.SupportsInt | typing.SupportsIndex, x: numpy.ndarray, kernel: numpy.ndarray, recurrent_kernel: numpy.ndarray, h0: typing.Any, c0: typing.Any, mask: typing.Any, recurrent_mask: typing.Any, h_seq: numpy.ndarray, workspace: numpy.ndarray, dh_seq: typing.Any, dh_last: typing.Any, dc_last: typing.Any, dx: typing.Any, dkernel: typing.Any, drecurrent_kernel: typing.Any, dbias: typing.Any, dh0: typing.Any, dc0: typing.Any, activation: typing.SupportsInt | typing.SupportsIndex = 3, recurrent_activation: typing.SupportsInt | typing.SupportsIndex = 2, go_backwards: bool = False, reset_after: bool = True, ids: typing.Any = None, distinct_ids: typing.Any = None, d_rows: typing.Any = None, d_rows_sq: typing.Any = None, precision: str = 'float32', bf16_variant: str = 'best') -> int:
    """
    Backward through time of rnn_forward(training=True); the same workspace and precision. With ids (x then the embedding table), writes the distinct ids and their rows' gradients instead of dx and returns how many there are (else 0); with d_rows_sq also each distinct row's per-token sum of squared gradients.
    """
def rnn_embedded_workspace_size(cell: typing.SupportsInt | typing.SupportsIndex, table: numpy.ndarray, ids: numpy.ndarray, units: typing.SupportsInt | typing.SupportsIndex, reset_after: bool, training: bool) -> int:
    """
    Floats of workspace rnn_forward / rnn_backward need with ids= given.
    """
def rnn_forward(cell: typing.SupportsInt | typing.SupportsIndex, x: numpy.ndarray, kernel: numpy.ndarray, recurrent_kernel: numpy.ndarray, bias: typing.Any, h0: typing.Any, c0: typing.Any, mask: typing.Any, recurrent_mask: typing.Any, h_seq: typing.Any, h_last: numpy.ndarray, c_last: typing.Any, workspace: numpy.ndarray, training: bool, activation: typing.SupportsInt | typing.SupportsIndex = 3, recurrent_activation: typing.SupportsInt | typing.SupportsIndex = 2, go_backwards: bool = False, reset_after: bool = True, ids: typing.Any = None, precision: str = 'float32', bf16_variant: str = 'best') -> None:
    """
    Runs an LSTM (cell 0), GRU (1) or SimpleRNN (2) over x (batch, steps, features), or with ids (batch, steps) int64 over rows of the embedding table x (vocab, features). precision='bfloat16' rounds every matrix product's operands to bf16 (fp32 sums, fp32 gates); bf16_variant picks its implementation ('best', 'amx', 'avx512bf16', 'via_f32').
    """
def rnn_kernel_name() -> str:
    """
    The recurrent kernel variant the active ISA selects.
    """
def rnn_workspace_size(cell: typing.SupportsInt | typing.SupportsIndex, x: numpy.ndarray, units: typing.SupportsInt | typing.SupportsIndex, reset_after: bool, training: bool) -> int:
    """
    Floats of workspace rnn_forward / rnn_backward need for x.
    """
def round_to_bfloat16(x: numpy.ndarray, out: numpy.ndarray) -> None:
    """
    out = x rounded to bfloat16 precision (ties to even, NaN kept), float32 arrays; out may be x itself.
    """
def selected_kernels() -> dict:
    """
    The implementation each kernel family chose when it last ran ({family: name}, None for
    a family that has not run). Set NNFAST_VERBOSE=1 to see why better ones were skipped.
    """
def set_max_isa(name: str) -> None:
    ...
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def sgd_update(w: numpy.ndarray, g: numpy.ndarray, momentum_buf: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, *, grad_scale: typing.SupportsFloat | typing.SupportsIndex = 1.0, clip_lo: typing.SupportsFloat | typing.SupportsIndex = ..., clip_hi: typing.SupportsFloat | typing.SupportsIndex = ..., decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    ...
def softmax_along_axis(x: numpy.ndarray, axis: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray, log: bool = False) -> None:
    """
    Softmax (or log-softmax) over any axis of a C-contiguous float32 array.
    """
def softmax_backward(y: numpy.ndarray, dy: numpy.ndarray, out: numpy.ndarray, log: bool = False) -> None:
    ...
def softmax_cross_entropy_backward(probs: numpy.ndarray, target: typing.Any, labels: typing.Any, drow: numpy.ndarray, out: numpy.ndarray) -> None:
    ...
def softmax_cross_entropy_forward(logits: numpy.ndarray, target: typing.Any, labels: typing.Any, probs: numpy.ndarray, loss: numpy.ndarray) -> None:
    ...
def softmax_forward(x: numpy.ndarray, out: numpy.ndarray, log: bool = False) -> None:
    """
    Softmax (or log-softmax) over the last axis.
    """
def sum_over_rows(x: numpy.ndarray, out: numpy.ndarray, accumulate: bool = False) -> None:
    """
    out[j] (+)= sum of x[..., j] over every leading index.
    """
def sum_squares(x: numpy.ndarray) -> float:
    """
    sum(x**2) of a float32 array, accumulated in double.
    """
def take(x: numpy.ndarray, indices: numpy.ndarray, axis: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray) -> None:
    """
    out = x.take(indices, axis) for C-contiguous arrays of any dtype; negative indices count from the end; IndexError naming the first index outside [-n, n).
    """
def take_new_array(x: numpy.ndarray, indices: numpy.ndarray, axis: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    A new array x.take(indices, axis) (negative axis counted from the end), or None when x is an object array, x or indices is not C-contiguous, or indices are not native int32/int64 (the caller converts those). IndexError naming the first index outside [-n, n).
    """
def top_k(x: numpy.ndarray, k: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.int32]]:
    """
    (values, int32 indices) of the k largest entries along the last axis of a float32 array: largest first, ties by lower index, NaN below every number.
    """
