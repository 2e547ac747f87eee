// Reference optimizer loops: always compiled, no ISA flags, last in the dispatch list.
// The loop source is shared with the AVX2/AVX-512 variants: optimizer_impl.h.
#include "kernels/optimizer/optimizer_impl.h"

NNFAST_DEFINE_OPTIMIZER(ref)
