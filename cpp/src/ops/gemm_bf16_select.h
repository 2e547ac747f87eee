// Internal: the bf16 GEMM micro-kernel a variant stands for, for drivers that pack an operand
// once and call the micro-kernel themselves (the recurrent step products, ops/rnn_bf16.cpp).
#pragma once
#include "kernels/gemm/gemm_bf16_kernels.h"
#include "nnfast/gemm.h"

namespace nnfast {

// `best` resolved through gemm_bf16's registry (recorded as gemm_bf16's choice), a named
// variant checked as gemm_bf16 checks it (throws if it cannot run); null for via_f32.
const kernels::Bf16GemmKernelInfo* gemm_bf16_micro_kernel(Bf16GemmVariant variant);

}  // namespace nnfast
