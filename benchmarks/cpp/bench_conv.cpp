// Convolution, pooling and batch-norm kernels: GFLOP/s (conv) or GB/s (pool, batch norm) of
// every ISA variant this CPU runs, with the fraction of this CPU's FMA peak measured by a
// register-only FMA loop.
//   bench_conv [--quick] [--threads=N]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "nnfast/conv.h"
#include "nnfast/norm.h"
#include "nnfast/pool.h"
#include "nnfast/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename Fn>
double median_seconds(Fn&& fn, int repeats) {
  fn();
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

__attribute__((target("avx512f,fma"), noinline)) float fma_loop_avx512(long iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.9999f), y = _mm512_set1_ps(1e-6f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  float buf[16];
  _mm512_storeu_ps(buf, s);
  return buf[0];
}

// Single-core FMA peak in GFLOP/s (AVX-512 when available, else reported as 0).
double fma_peak_gflops() {
  if (nnfast::cpu_best_isa() != nnfast::Isa::avx512) return 0.0;
  const long iters = 20000000;
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    volatile float sink = fma_loop_avx512(iters);
    (void)sink;
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return 12.0 * 16 * 2 * iters / best / 1e9;
}

std::vector<float> random_vec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void bench_conv(const char* name, nnfast::Conv2DShape s, int repeats, double peak) {
  s.groups = 1;
  auto x = random_vec(s.batch * s.in_h * s.in_w * s.in_c, 1);
  auto k = random_vec(s.kernel_h * s.kernel_w * s.in_c * s.out_c, 2);
  auto b = random_vec(s.out_c, 3);
  std::vector<float> y(s.batch * s.out_h * s.out_w * s.out_c), dx(x.size()), dk(k.size()),
      db(b.size());
  auto g = random_vec(y.size(), 4);
  const double flops = 2.0 * s.batch * s.out_h * s.out_w * s.out_c * s.kernel_h * s.kernel_w *
                       s.in_c;
  nnfast::ActivationParams p;
  double tf = median_seconds([&] {
    nnfast::conv2d_forward(s, x.data(), k.data(), b.data(), nnfast::Activation::relu, p,
                           y.data());
  }, repeats);
  double td = median_seconds([&] { nnfast::conv2d_backward_data(s, g.data(), k.data(), dx.data()); },
                             repeats);
  double tw = median_seconds([&] {
    nnfast::conv2d_backward_weights(s, x.data(), g.data(), dk.data(), db.data());
  }, repeats);
  const double cores_peak = peak * nnfast::num_threads();
  auto show = [&](const char* pass, double t) {
    const double gf = flops / t / 1e9;
    std::printf("  %-40s %-14s %8.1f GFLOP/s", name, pass, gf);
    if (cores_peak > 0) std::printf("  (%4.1f%% of peak)", 100.0 * gf / cores_peak);
    std::printf("\n");
  };
  show("forward+relu", tf);
  show("backward-data", td);
  show("backward-weights", tw);
}

// The fused Conv2D(relu) -> MaxPooling2D block (non-overlapping 2x2 windows).
void bench_conv_pool(const char* name, nnfast::Conv2DShape s, int repeats, double peak) {
  nnfast::ConvPoolShape ps;
  ps.conv = s;
  ps.pool_h = ps.pool_w = 2;
  ps.pooled_h = s.out_h / 2;
  ps.pooled_w = s.out_w / 2;
  auto x = random_vec(s.batch * s.in_h * s.in_w * s.in_c, 1);
  auto k = random_vec(s.kernel_h * s.kernel_w * s.in_c * s.out_c, 2);
  auto b = random_vec(s.out_c, 3);
  std::vector<float> y(s.batch * ps.pooled_h * ps.pooled_w * s.out_c), dk(k.size()),
      db(b.size());
  std::vector<uint8_t> arg(y.size());
  auto g = random_vec(y.size(), 4);
  const double flops = 2.0 * s.batch * ps.pooled_h * 2 * ps.pooled_w * 2 * s.out_c *
                       s.kernel_h * s.kernel_w * s.in_c;
  double tf = median_seconds([&] {
    nnfast::conv2d_relu_maxpool_forward(ps, x.data(), k.data(), b.data(), y.data(), arg.data());
  }, repeats);
  double tw = median_seconds([&] {
    nnfast::conv2d_relu_maxpool_backward_weights(ps, x.data(), g.data(), y.data(), arg.data(),
                                                 dk.data(), db.data());
  }, repeats);
  const double cores_peak = peak * nnfast::num_threads();
  auto show = [&](const char* pass, double t) {
    const double gf = flops / t / 1e9;
    std::printf("  %-40s %-14s %8.1f GFLOP/s", name, pass, gf);
    if (cores_peak > 0) std::printf("  (%4.1f%% of peak)", 100.0 * gf / cores_peak);
    std::printf("\n");
  };
  show("fused forward", tf);
  show("fused bwd-weights", tw);
}

void bench_pool_bn(int64_t batch, int64_t h, int64_t w, int64_t c, int repeats) {
  auto x = random_vec(batch * h * w * c, 5);
  nnfast::Pool2DShape s;
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.channels = c;
  s.out_h = h / 2;
  s.out_w = w / 2;
  s.pool_h = s.pool_w = s.stride_h = s.stride_w = 2;
  std::vector<float> y(batch * s.out_h * s.out_w * c), dx(x.size());
  std::vector<int32_t> am(y.size());
  auto g = random_vec(y.size(), 6);
  const double in_bytes = 4.0 * x.size(), out_bytes = 4.0 * y.size();
  auto show = [&](const char* what, double bytes, double t) {
    std::printf("  %-40s %8.1f GB/s  (%.3f ms)\n", what, bytes / t / 1e9, t * 1e3);
  };
  char label[128];
  std::snprintf(label, sizeof label, "maxpool2x2 fwd+argmax %ldx%ldx%ld b%ld", (long)h, (long)w,
                (long)c, (long)batch);
  show(label, in_bytes + 2 * out_bytes,
       median_seconds([&] { nnfast::max_pool2d_forward(s, x.data(), y.data(), am.data()); },
                      repeats));
  std::snprintf(label, sizeof label, "maxpool2x2 bwd %ldx%ldx%ld b%ld", (long)h, (long)w, (long)c,
                (long)batch);
  show(label, in_bytes + 2 * out_bytes,
       median_seconds([&] { nnfast::max_pool2d_backward(s, g.data(), am.data(), dx.data()); },
                      repeats));
  std::snprintf(label, sizeof label, "avgpool2x2 fwd %ldx%ldx%ld b%ld", (long)h, (long)w, (long)c,
                (long)batch);
  show(label, in_bytes + out_bytes,
       median_seconds([&] { nnfast::avg_pool2d_forward(s, x.data(), y.data()); }, repeats));
  const int64_t rows = batch * h * w;
  std::vector<float> gamma(c, 1.0f), beta(c, 0.0f), mean(c), var(c), yb(x.size()), dxb(x.size()),
      dg(c), dbb(c);
  auto gy = random_vec(x.size(), 7);
  std::snprintf(label, sizeof label, "batchnorm train fwd %ldx%ldx%ld b%ld", (long)h, (long)w,
                (long)c, (long)batch);
  show(label, 3 * in_bytes, median_seconds([&] {
         nnfast::batch_norm_forward_training(x.data(), rows, c, gamma.data(), beta.data(), 1e-3f,
                                             yb.data(), mean.data(), var.data());
       }, repeats));
  std::snprintf(label, sizeof label, "batchnorm bwd %ldx%ldx%ld b%ld", (long)h, (long)w, (long)c,
                (long)batch);
  show(label, 5 * in_bytes, median_seconds([&] {
         nnfast::batch_norm_backward(x.data(), gy.data(), rows, c, gamma.data(), mean.data(),
                                     var.data(), 1e-3f, true, dxb.data(), dg.data(), dbb.data());
       }, repeats));
}

nnfast::Conv2DShape shape(int64_t b, int64_t h, int64_t w, int64_t cin, int64_t cout, int64_t k,
                          int64_t stride, bool same) {
  nnfast::Conv2DShape s;
  s.batch = b;
  s.in_h = h;
  s.in_w = w;
  s.in_c = cin;
  s.out_c = cout;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.out_h = nnfast::conv_output_size(h, k, stride, 1, same);
  s.out_w = nnfast::conv_output_size(w, k, stride, 1, same);
  s.pad_top = same ? nnfast::conv_same_padding(h, k, stride, 1) : 0;
  s.pad_left = same ? nnfast::conv_same_padding(w, k, stride, 1) : 0;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    if (a.rfind("--threads=", 0) == 0) nnfast::set_num_threads(std::stoi(a.substr(10)));
  }
  const int repeats = quick ? 3 : 9;
  const double peak = fma_peak_gflops();
  std::printf("threads=%d  single-core AVX-512 FMA peak %.1f GFLOP/s\n", nnfast::num_threads(),
              peak);
  const nnfast::Isa best = nnfast::cpu_best_isa();
  for (int isa = static_cast<int>(best); isa >= 0; --isa) {
    nnfast::set_max_isa(static_cast<nnfast::Isa>(isa));
    std::printf("isa=%s\n", nnfast::isa_name(nnfast::active_isa()));
    bench_conv("conv3x3 same 56x56x64->64 b8", shape(8, 56, 56, 64, 64, 3, 1, true), repeats,
               peak);
    bench_conv("conv3x3 valid 28x28x1->32 b128", shape(128, 28, 28, 1, 32, 3, 1, false),
               repeats, peak);
    bench_conv_pool("conv3x3+relu+maxpool2 28x28x1->32 b128",
                    shape(128, 28, 28, 1, 32, 3, 1, false), repeats, peak);
    if (!quick) {
      bench_conv("conv3x3 s2 same 56x56x64->128 b8", shape(8, 56, 56, 64, 128, 3, 2, true),
                 repeats, peak);
      bench_conv("conv1x1 28x28x128->256 b8", shape(8, 28, 28, 128, 256, 1, 1, false), repeats,
                 peak);
    }
    bench_pool_bn(128, 26, 26, 32, repeats);
    if (quick) break;
  }
  nnfast::set_max_isa(best);
  return 0;
}
