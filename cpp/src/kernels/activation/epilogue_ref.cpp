// Clamped epilogue, scalar reference (loop in epilogue_impl.h compiled without ISA flags).
#include "kernels/activation/epilogue_impl.h"

NNFAST_DEFINE_CLAMP_ROWS(ref)
