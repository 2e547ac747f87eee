// Bilinear resize, scalar reference (loops in resize_impl.h compiled without ISA flags:
// the definition the other variants are tested against).
#include "kernels/resize/resize_impl.h"

NNFAST_DEFINE_RESIZE(ref)
