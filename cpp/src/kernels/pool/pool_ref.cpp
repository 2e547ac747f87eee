// Pooling kernels scalar reference (loops in pool_impl.h, compiled without ISA flags; the
// definition the other variants are tested against).
#include "kernels/pool/pool_impl.h"

NNFAST_DEFINE_POOL(ref)
