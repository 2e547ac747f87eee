// Optimizer update loops compiled for the avx2 instruction set (flags from cpp/CMakeLists.txt
// by file name); the loop source is shared: optimizer_loops.inc.
#define NNFAST_OPT_ISA avx2
#include "kernels/optimizer/optimizer_loops.inc"
