// SGEMM benchmark: GFLOP/s of every ISA variant this CPU runs, on large squares and on the
// Dense shapes of the tutorial MLP (forward, dW = X^T dY, dX = dY W^T), with the fraction of
// the FMA peak measured here by a register-only FMA loop.
//   bench_gemm [--quick] [--threads=1,2] [--isa=avx512,avx2,ref] [--peak-only]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "nnfast/gemm.h"
#include "nnfast/runtime.h"

#ifdef NNFAST_HAVE_OPENMP
#include <omp.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// 12 independent accumulator chains hide the FMA latency on any current core.
__attribute__((target("avx512f,fma"), noinline)) float fma_loop_avx512(long iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.9999f), y = _mm512_set1_ps(1e-6f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  float buf[16];
  _mm512_storeu_ps(buf, s);
  return buf[0];
}

__attribute__((target("avx2,fma"), noinline)) float fma_loop_avx2(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 x = _mm256_set1_ps(0.9999f), y = _mm256_set1_ps(1e-6f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  float buf[8];
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  _mm256_storeu_ps(buf, s);
  return buf[0];
}

// Peak GFLOP/s of `threads` cores running FMAs of the given ISA (best of a few tries).
double fma_peak(nnfast::Isa isa, int threads) {
  if (isa == nnfast::Isa::ref) return 0.0;
  const long iters = 5'000'000;
  const double flops_per_iter = 12.0 * 2.0 * (isa == nnfast::Isa::avx512 ? 16 : 8);
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
#ifdef NNFAST_HAVE_OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
      float s = isa == nnfast::Isa::avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
      sink = sink + s;
    }
    best = std::max(best, flops_per_iter * iters * threads / seconds_since(t0) / 1e9);
  }
  return best;
}

struct Shape {
  const char* label;
  int64_t m, n, k;
  bool trans_a, trans_b;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median GFLOP/s over `runs` timed runs, each long enough (>= ~20 ms) to time reliably.
double bench(const Shape& s, int runs, double min_seconds) {
  std::mt19937 gen(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)),
      c(static_cast<size_t>(s.m * s.n));
  for (float& x : a) x = dist(gen);
  for (float& x : b) x = dist(gen);
  const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
  auto call = [&] {
    nnfast::sgemm(s.trans_a ? nnfast::Trans::T : nnfast::Trans::N,
                  s.trans_b ? nnfast::Trans::T : nnfast::Trans::N, s.m, s.n, s.k, 1.0f,
                  a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
  };
  call();
  auto t0 = Clock::now();
  call();
  const double once = std::max(seconds_since(t0), 1e-7);
  const int reps = std::max(1, static_cast<int>(min_seconds / once));
  std::vector<double> gflops;
  for (int r = 0; r < runs; ++r) {
    t0 = Clock::now();
    for (int i = 0; i < reps; ++i) call();
    gflops.push_back(2.0 * s.m * s.n * s.k * reps / seconds_since(t0) / 1e9);
  }
  return median(gflops);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  bool peak_only = false;
  std::vector<int> thread_counts = {1, 2};
  std::vector<nnfast::Isa> isas;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--peak-only") {
      peak_only = true;
    } else if (arg.rfind("--threads=", 0) == 0) {
      thread_counts.clear();
      for (const std::string& t : split(arg.substr(10))) thread_counts.push_back(std::stoi(t));
    } else if (arg.rfind("--isa=", 0) == 0) {
      for (const std::string& t : split(arg.substr(6))) isas.push_back(nnfast::parse_isa(t));
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--threads=1,2] [--isa=avx512,avx2,ref]\n",
                   argv[0]);
      return 2;
    }
  }
  const nnfast::Isa best = nnfast::cpu_best_isa();
  if (peak_only) {
    for (int threads : thread_counts)
      std::printf("# %s, %d thread(s): measured FMA peak %.1f GFLOP/s\n", nnfast::isa_name(best),
                  threads, fma_peak(best, threads));
    return 0;
  }
  if (isas.empty())
    for (int i = static_cast<int>(best); i >= 0; --i) isas.push_back(static_cast<nnfast::Isa>(i));

  std::vector<Shape> shapes = {
      {"square 1024", 1024, 1024, 1024, false, false},
      {"square 2048", 2048, 2048, 2048, false, false},
  };
  for (int64_t batch : {32, 128}) {
    for (auto layer : {std::pair<int64_t, int64_t>{784, 128}, {128, 10}}) {
      const int64_t in = layer.first, out = layer.second;
      shapes.push_back({"fwd  X W", batch, out, in, false, false});
      shapes.push_back({"dW   X^T dY", in, out, batch, true, false});
      shapes.push_back({"dX   dY W^T", batch, in, out, false, true});
    }
  }
  const int runs = quick ? 3 : 7;
  const double min_seconds = quick ? 0.01 : 0.03;

  std::printf("%-12s %16s %-24s %3s %9s %7s\n", "shape", "m x n x k", "kernel", "thr",
              "GFLOP/s", "%peak");
  for (int threads : thread_counts) {
    nnfast::set_num_threads(threads);
    for (nnfast::Isa isa : isas) {
      nnfast::set_max_isa(isa);
      const double peak = fma_peak(isa, threads);
      std::printf("# %s, %d thread(s): measured FMA peak %.1f GFLOP/s\n", nnfast::isa_name(isa),
                  threads, peak);
      for (const Shape& s : shapes) {
        // The scalar reference is too slow for the big squares to be worth the wait.
        if (isa == nnfast::Isa::ref && s.m >= 1024) continue;
        if (quick && s.m >= 2048) continue;
        const double g = bench(s, runs, min_seconds);
        char dimbuf[48];
        std::snprintf(dimbuf, sizeof dimbuf, "%ldx%ldx%ld", static_cast<long>(s.m),
                      static_cast<long>(s.n), static_cast<long>(s.k));
        std::printf("%-12s %16s %-24s %3d %9.1f %6.1f%%\n", s.label, dimbuf,
                    nnfast::sgemm_kernel_name(), threads, g, peak > 0 ? 100.0 * g / peak : 0.0);
        std::fflush(stdout);
      }
    }
  }
  nnfast::set_max_isa(best);
  return 0;
}
