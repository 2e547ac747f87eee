// The gate step of a convolutional LSTM (Keras's ConvLSTM1D/2D/3D): every pixel of every
// sample is one row of 4*units gate pre-activations (i, f, c, o, Keras's order), exactly an
// LSTM step's layout, so these run the LSTM gate kernels of the rnn family over
// rows = batch * pixels, split across threads.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"

namespace nnfast {

// gates (rows, 4u): pre-activations in, activations out. c (rows, u): c_{t-1} in, c_t out.
// h (rows, u): h_t out. act/rec_act among tanh, sigmoid, hard_sigmoid, relu, linear.
void conv_lstm_gates_forward(int64_t rows, int64_t units, Activation act, Activation rec_act,
                             float* gates, float* c, float* h);

// Backward of one step. gates: the forward's activations; c_t, c_prev (may be nullptr: zero
// state); dh_out (may be nullptr): dL/dh_t from the step's output; dh (rows, u): in dL/dh_t
// from the next step, out 0 (the recurrent convolution's backward adds dL/dh_{t-1});
// dc: in dL/dc_t, out dL/dc_{t-1}; dgates (rows, 4u) out: d(pre-activations).
void conv_lstm_gates_backward(int64_t rows, int64_t units, Activation act, Activation rec_act,
                              const float* gates, const float* c_t, const float* c_prev,
                              const float* dh_out, float* dh, float* dc, float* dgates);

// Throws std::invalid_argument unless the activation has a fused gate implementation.
void conv_lstm_check_activation(Activation act, const char* what);

const char* conv_lstm_gates_kernel_name();

}  // namespace nnfast
