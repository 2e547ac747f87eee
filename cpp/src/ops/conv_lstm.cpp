// ConvLSTM gate steps on the rnn family's LSTM gate kernels (see nnfast/conv_lstm.h): the
// kernel set for the active ISA (reference last), rows split across threads.
#include <stdexcept>
#include <string>

#include "kernels/rnn/rnn_kernels.h"
#include "nnfast/conv_lstm.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<kernels::RnnKernelSet> kConvLstmGates{
    "conv_lstm_gates",
    {{Isa::avx512, "f32_rnn_avx512", &kernels::rnn_kernels_avx512},
     {Isa::avx2, "f32_rnn_avx2", &kernels::rnn_kernels_avx2},
     {Isa::ref, "f32_rnn_ref", &kernels::rnn_kernels_ref}}};

const kernels::RnnKernelSet& pick_gates() { return *kConvLstmGates.select().fns; }

// Rows of 4u gates cost about 40u flops; keep at least ~32k flops per thread.
constexpr int64_t kGrain = 1 << 15;

}  // namespace

void conv_lstm_check_activation(Activation act, const char* what) {
  switch (act) {
    case Activation::tanh:
    case Activation::sigmoid:
    case Activation::hard_sigmoid:
    case Activation::relu:
    case Activation::linear:
      return;
    default:
      throw std::invalid_argument(std::string("conv_lstm: ") + what +
                                  " must be tanh, sigmoid, hard_sigmoid, relu or linear; "
                                  "received activation id " +
                                  std::to_string(static_cast<int>(act)));
  }
}

const char* conv_lstm_gates_kernel_name() { return kConvLstmGates.peek().name; }

void conv_lstm_gates_forward(int64_t rows, int64_t units, Activation act, Activation rec_act,
                             float* gates, float* c, float* h) {
  conv_lstm_check_activation(act, "activation");
  conv_lstm_check_activation(rec_act, "recurrent_activation");
  if (rows < 0 || units <= 0)
    throw std::invalid_argument("conv_lstm: rows must be >= 0 and units > 0, received rows=" +
                                std::to_string(rows) + " units=" + std::to_string(units));
  const kernels::RnnKernelSet& K = pick_gates();
  const int a = static_cast<int>(act), ra = static_cast<int>(rec_act);
  parallel_for_rows(rows, 40 * units, kGrain, [&](int64_t r0, int64_t r1) {
    K.lstm_forward(r1 - r0, units, a, ra, gates + r0 * 4 * units, 4 * units, c + r0 * units,
                   h + r0 * units, nullptr, 0, nullptr, 0, nullptr, 0);
  });
}

void conv_lstm_gates_backward(int64_t rows, int64_t units, Activation act, Activation rec_act,
                              const float* gates, const float* c_t, const float* c_prev,
                              const float* dh_out, float* dh, float* dc, float* dgates) {
  conv_lstm_check_activation(act, "activation");
  conv_lstm_check_activation(rec_act, "recurrent_activation");
  if (rows < 0 || units <= 0)
    throw std::invalid_argument("conv_lstm: rows must be >= 0 and units > 0, received rows=" +
                                std::to_string(rows) + " units=" + std::to_string(units));
  const kernels::RnnKernelSet& K = pick_gates();
  const int a = static_cast<int>(act), ra = static_cast<int>(rec_act);
  const int64_t u = units, g = 4 * units;
  parallel_for_rows(rows, 60 * units, kGrain, [&](int64_t r0, int64_t r1) {
    K.lstm_backward(r1 - r0, u, a, ra, gates + r0 * g, g, c_t + r0 * u, u,
                    c_prev ? c_prev + r0 * u : nullptr, u, dh_out ? dh_out + r0 * u : nullptr,
                    u, dh + r0 * u, dc + r0 * u, dgates + r0 * g, g, nullptr, 0);
  });
}

}  // namespace nnfast
