// top_k: a partial selection per row instead of a sort. Each entry becomes one 64-bit rank
// key (value order in the high half, inverted index in the low half), so TF's order --
// larger value first, ties and NaNs by lower index, NaN below every number -- is one integer
// comparison. Small k keeps a k-key min-heap whose worst entry is a threshold: blocks of 32
// inputs none of which beats it are skipped after one vector compare; long rows first bound
// the k-th largest by the k-th largest block maximum, so only a few blocks are looked at.
// Large k selects with nth_element and sorts the k chosen. Rows are split across threads.
#include "nnfast/topk.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

// The larger key ranks first. Floats map to unsigned integers in their order (negative
// numbers bit-flipped, positive ones with the sign bit set); -0.0 counts as 0.0 (a tie);
// NaN maps to 0, below -inf (0x007fffff). The low half holds ~index: the lower index wins.
inline uint64_t rank_key(float v, int64_t i) {
  uint32_t key = 0;
  if (v == v) {
    if (v == 0.0f) v = 0.0f;
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    key = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  }
  return (static_cast<uint64_t>(key) << 32) | (0xffffffffu - static_cast<uint32_t>(i));
}
inline int64_t key_index(uint64_t key) { return 0xffffffffu - static_cast<uint32_t>(key); }

constexpr int64_t kBlock = 32;

// Bit j set when x[j] > t, for j < kBlock (NaN never is). SSE2 is part of x86-64, so this
// needs no ISA-specific file; elsewhere the plain loop.
inline uint32_t greater_mask(const float* __restrict x, float t) {
#if defined(__SSE2__)
  const __m128 vt = _mm_set1_ps(t);
  uint32_t mask = 0;
  for (int64_t j = 0; j < kBlock; j += 4)
    mask |= static_cast<uint32_t>(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + j), vt))) << j;
  return mask;
#else
  uint32_t mask = 0;
  for (int64_t j = 0; j < kBlock; ++j) mask |= static_cast<uint32_t>(x[j] > t) << j;
  return mask;
#endif
}

// Bit j set when x[j] >= t, for j < kBlock.
inline uint32_t not_less_mask(const float* __restrict x, float t) {
#if defined(__SSE2__)
  const __m128 vt = _mm_set1_ps(t);
  uint32_t mask = 0;
  for (int64_t j = 0; j < kBlock; j += 4)
    mask |= static_cast<uint32_t>(_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(x + j), vt))) << j;
  return mask;
#else
  uint32_t mask = 0;
  for (int64_t j = 0; j < kBlock; ++j) mask |= static_cast<uint32_t>(x[j] >= t) << j;
  return mask;
#endif
}

// The largest number of x[0..kBlock) (NaNs skipped; -inf when there is none).
inline float block_max(const float* __restrict x) {
#if defined(__SSE2__)
  // max(v, -inf) turns NaN lanes into -inf (maxps returns its second operand on NaN); the
  // rest is a tree, not a chain, so the eight loads do not wait on each other.
  const __m128 ninf = _mm_set1_ps(-__builtin_inff());
  __m128 v[kBlock / 4];
  for (int64_t j = 0; j < kBlock / 4; ++j) v[j] = _mm_max_ps(_mm_loadu_ps(x + 4 * j), ninf);
  for (int64_t w = kBlock / 8; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; ++j) v[j] = _mm_max_ps(v[j], v[j + w]);
  __m128 m = v[0];
  m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
  m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtss_f32(m);
#else
  float m = -__builtin_inff();
  for (int64_t j = 0; j < kBlock; ++j) m = x[j] > m ? x[j] : m;
  return m;
#endif
}

// A min-heap of at most k keys: its top is the worst key kept.
struct WorstHeap {
  uint64_t* keys;
  int64_t k;
  int64_t size = 0;

  void offer(uint64_t key) {
    if (size < k) {
      keys[size++] = key;
      std::push_heap(keys, keys + size, std::greater<uint64_t>());
    } else if (key > keys[0]) {
      replace_top(key);
    }
  }
  // Replaces the worst key with a better one and sifts it down to its place.
  void replace_top(uint64_t key) {
    int64_t i = 0;
    for (;;) {
      const int64_t l = 2 * i + 1;
      if (l >= k) break;
      const int64_t c = (l + 1 < k && keys[l + 1] < keys[l]) ? l + 1 : l;
      if (key <= keys[c]) break;
      keys[i] = keys[c];
      i = c;
    }
    keys[i] = key;
  }
  bool full() const { return size == k; }
  // The worst kept value as a float (the heap holds numbers only when this is called).
  float worst(const float* row) const { return row[key_index(keys[0])]; }
  void sort_best_first() { std::sort(keys, keys + size, std::greater<uint64_t>()); }
};

// Offers every entry to the heap; the worst kept value screens whole blocks once the heap is
// full of numbers. Entries come in index order, so a value equal to the worst never enters.
void select_heap(const float* row, int64_t n, WorstHeap& heap) {
  int64_t i = 0;
  // Until the heap is full and free of NaN (a NaN ranks last, so it would be the top).
  for (; i < n && (!heap.full() || heap.worst(row) != heap.worst(row)); ++i)
    heap.offer(rank_key(row[i], i));
  for (; i + kBlock <= n; i += kBlock) {
    uint32_t mask = greater_mask(row + i, heap.worst(row));
    while (mask) {
      const int64_t j = i + __builtin_ctz(mask);
      mask &= mask - 1;
      if (row[j] > heap.worst(row)) heap.replace_top(rank_key(row[j], j));
    }
  }
  for (; i < n; ++i)
    if (row[i] > heap.worst(row)) heap.replace_top(rank_key(row[i], i));
}

// Rows of many whole blocks: the k-th largest block maximum t is a lower bound of the k-th
// largest number (k blocks hold a number >= t), so only entries >= t are offered. Returns
// false, doing nothing, when t is -inf (too few numbers: NaNs or -infs decide).
bool select_prefiltered(const float* row, int64_t n, WorstHeap& heap, float* maxima) {
  const int64_t k = heap.k, blocks = n / kBlock;
  float t;
  if (k <= 16) {
    // The k largest maxima in a small descending array: after the first few blocks most
    // maxima fall below its last entry (one predictable branch).
    float best[16];
    for (int64_t j = 0; j < k; ++j) best[j] = -__builtin_inff();
    for (int64_t b = 0; b < blocks; ++b) {
      const float m = block_max(row + b * kBlock);
      if (m <= best[k - 1]) continue;
      int64_t j = k - 1;
      for (; j > 0 && best[j - 1] < m; --j) best[j] = best[j - 1];
      best[j] = m;
    }
    t = best[k - 1];
  } else {
    for (int64_t b = 0; b < blocks; ++b) maxima[b] = block_max(row + b * kBlock);
    // block_max never returns NaN, so this comparison is a strict weak order.
    std::nth_element(maxima, maxima + k - 1, maxima + blocks, std::greater<float>());
    t = maxima[k - 1];
  }
  if (t == -__builtin_inff()) return false;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i0 = b * kBlock;
    // Until the heap is full every entry >= t is a candidate; then only those beating the
    // worst kept (itself >= t).
    uint32_t mask = heap.full() ? greater_mask(row + i0, heap.worst(row))
                                : not_less_mask(row + i0, t);
    while (mask) {
      const int64_t i = i0 + __builtin_ctz(mask);
      mask &= mask - 1;
      if (row[i] >= t) heap.offer(rank_key(row[i], i));
    }
  }
  for (int64_t i = blocks * kBlock; i < n; ++i)
    if (row[i] >= t) heap.offer(rank_key(row[i], i));
  return true;
}

void select_nth(const float* row, int64_t n, int64_t k, uint64_t* keys) {
  for (int64_t i = 0; i < n; ++i) keys[i] = rank_key(row[i], i);
  if (k < n) std::nth_element(keys, keys + k - 1, keys + n, std::greater<uint64_t>());
  std::sort(keys, keys + k, std::greater<uint64_t>());
}

// The selection strategies, chosen by k and the row length. The heap pays log k per
// replacement; past a few hundred (or a sizeable share of the row) selecting over all keys
// is cheaper; long rows first skip the 32-value blocks whose maximum cannot enter.
enum class TopKRoute { prefilter, heap, nth_element };
const TopKRoute kPrefilter = TopKRoute::prefilter;
const TopKRoute kHeap = TopKRoute::heap;
const TopKRoute kNth = TopKRoute::nth_element;
struct TopKProblem {
  int64_t n = 0, k = 0;
};
bool heap_fits(const TopKProblem& p) { return p.k <= 256 && p.k * 8 <= p.n; }
bool prefilter_fits(const TopKProblem& p) { return heap_fits(p) && p.n / kBlock >= 4 * p.k; }
const dispatch::Registry<TopKRoute, TopKProblem> kTopK{
    "top_k",
    {{Isa::ref, "block_max_prefilter", &kPrefilter, prefilter_fits,
      "k <= 256, 8k <= n and n/32 >= 4k"},
     {Isa::ref, "heap", &kHeap, heap_fits, "k <= 256 and 8k <= n"},
     {Isa::ref, "nth_element", &kNth}}};

}  // namespace

void top_k_rows(const float* x, int64_t rows, int64_t n, int64_t k, float* values,
                int32_t* indices) {
  if (rows < 0 || n < 0 || k < 0 || k > n)
    throw std::invalid_argument("top_k: expected rows >= 0 and 0 <= k <= n, received rows=" +
                                std::to_string(rows) + ", n=" + std::to_string(n) +
                                ", k=" + std::to_string(k));
  if (n > INT32_MAX)
    throw std::invalid_argument("top_k: rows longer than 2^31 - 1 entries do not fit int32 "
                                "indices, received n=" + std::to_string(n));
  if (k == 0 || rows == 0) return;
  const TopKRoute route = *kTopK.select({n, k}).fns;
  const bool use_heap = route != TopKRoute::nth_element;
  const bool prefilter = route == TopKRoute::prefilter;
  parallel_for_rows(rows, n, 1 << 16, [&](int64_t r0, int64_t r1) {
    std::vector<uint64_t> keys(use_heap ? k : n);
    std::vector<float> maxima(prefilter ? n / kBlock : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * n;
      if (use_heap) {
        WorstHeap heap{keys.data(), k};
        if (!(prefilter && select_prefiltered(row, n, heap, maxima.data())))
          select_heap(row, n, heap);
        heap.sort_best_first();
      } else {
        select_nth(row, n, k, keys.data());
      }
      for (int64_t j = 0; j < k; ++j) {
        const int64_t i = key_index(keys[j]);
        values[r * k + j] = row[i];  // the input's own bits (-0.0, NaN payloads kept)
        indices[r * k + j] = static_cast<int32_t>(i);
      }
    }
  });
}

}  // namespace nnfast
