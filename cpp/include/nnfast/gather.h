// Gathers along one axis of a C-contiguous array of any element type (ops.take), and the
// sliding-window patches of channels_last images (ops.image.extract_patches).
#pragma once
#include <cstdint>

namespace nnfast {

// Viewing x as (outer, n, row_bytes bytes): out[p, j] = x[p, idx[j]] for p < outer, j < count,
// a negative index counting from the end. Returns -1 after the copy, or the position of the
// first index outside [-n, n) (out is then partly written; nothing outside it or x is
// touched).
int64_t gather_rows(const void* x, int64_t outer, int64_t n, int64_t row_bytes,
                    const int64_t* idx, int64_t count, void* out);
int64_t gather_rows(const void* x, int64_t outer, int64_t n, int64_t row_bytes,
                    const int32_t* idx, int64_t count, void* out);

// Geometry of a 2-D patch extraction: input (batch, h, w, c), output (batch, oh, ow,
// kh * kw * c); output pixel (i, j) reads rows i * sh + a * dh - pad_top and columns
// j * sw + b * dw - pad_left for a < kh, b < kw; reads outside the image give 0.
struct Patches2D {
  int64_t batch, h, w, c;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t pad_top, pad_left;
  int64_t oh, ow;
};

// Throws std::invalid_argument on a negative size, a zero stride/dilation or a zero patch.
void extract_patches_2d(const float* x, const Patches2D& g, float* out);

}  // namespace nnfast
