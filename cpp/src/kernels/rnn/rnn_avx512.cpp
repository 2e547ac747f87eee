// AVX-512 recurrent kernels: the shared body (rnn_simd_body.h) over the 16-lane vocabulary
// (kernels/simd_avx512.h). GEMM tile 6 rows x 4 vectors (24 accumulators).
#include "kernels/simd_avx512.h"
#include "kernels/rnn/rnn_kernels.h"

namespace nnfast::kernels {
namespace {
constexpr int kMR = 6;
constexpr int kNV = 4;
}  // namespace

#include "kernels/rnn/rnn_simd_body.h"

const RnnKernelSet rnn_kernels_avx512 = NNFAST_RNN_KERNEL_SET("f32_rnn_avx512");

}  // namespace nnfast::kernels
