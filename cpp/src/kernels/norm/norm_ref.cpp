// Normalization kernels, scalar reference (loops in norm_impl.h compiled without ISA
// flags: the definition the other variants are tested against).
#include "kernels/norm/norm_impl.h"

NNFAST_DEFINE_NORM(ref)
