// The embedding row kernels the active ISA selects (the "embedding" registry family of
// ops/embedding.cpp), for other drivers that add rows into tables (rnn.cpp's token rows).
#pragma once
#include "kernels/embedding/embedding_kernels.h"

namespace nnfast {
const kernels::EmbeddingKernels& embedding_row_kernels();
}  // namespace nnfast
