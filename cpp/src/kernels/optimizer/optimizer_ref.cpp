// Reference optimizer loops: always compiled, no ISA flags, last in the dispatch list.
// The loop source is shared with the AVX2/AVX-512 variants: optimizer_loops.inc.
#define NNFAST_OPT_ISA ref
#include "kernels/optimizer/optimizer_loops.inc"
