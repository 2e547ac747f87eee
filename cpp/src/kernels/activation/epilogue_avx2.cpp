// Clamped epilogue built for avx2 (loop in epilogue_impl.h, vectorised by the compiler for
// this file's instruction set).
#include "kernels/activation/epilogue_impl.h"

NNFAST_DEFINE_CLAMP_ROWS(avx2)
