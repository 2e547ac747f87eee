// Optimizer update loops compiled for the avx512 instruction set (flags from cpp/CMakeLists.txt
// by file name); the loop source is shared: optimizer_impl.h.
#include "kernels/optimizer/optimizer_impl.h"

NNFAST_DEFINE_OPTIMIZER(avx512)
