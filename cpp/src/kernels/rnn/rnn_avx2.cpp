// AVX2 + FMA recurrent kernels: the shared body (rnn_simd_body.h) over the 8-lane vocabulary
// (kernels/simd_avx2.h). GEMM tile 6 rows x 2 vectors (12 accumulators of 16 ymm).
#include "kernels/simd_avx2.h"
#include "kernels/rnn/rnn_kernels.h"

namespace nnfast::kernels {
namespace {
constexpr int kMR = 6;
constexpr int kNV = 2;
}  // namespace

#include "kernels/rnn/rnn_simd_body.h"

const RnnKernelSet rnn_kernels_avx2 = NNFAST_RNN_KERNEL_SET("f32_rnn_avx2");

}  // namespace nnfast::kernels
