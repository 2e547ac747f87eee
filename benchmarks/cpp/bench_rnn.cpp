// Recurrent kernels benchmark: forward (inference and training) and backward through time of
// LSTM, GRU (reset_after true and false) and SimpleRNN, for every ISA variant this CPU runs,
// reported as milliseconds per call and GFLOP/s of the matmul work (input projection +
// recurrent GEMMs; backward counts dX, dW, dU and the per-step dh GEMM). "emb ms" is
// inference from an embedding table of --vocab rows (RnnForwardArgs::ids: the table is
// projected once, each step gathers its rows).
//   bench_rnn [--batch=32] [--steps=100] [--input=128] [--units=64] [--vocab=10000]
//             [--threads=1,2] [--isa=avx512,avx2,ref] [--repeats=15]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "nnfast/rnn.h"
#include "nnfast/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

template <typename Fn>
double median_ms(Fn&& fn, int repeats) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Case {
  const char* name;
  nnfast::RnnCell cell;
  bool reset_after;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t B = 32, T = 100, I = 128, U = 64, V = 10000;
  int repeats = 15;
  std::vector<std::string> threads = {"1", "2"}, isas = {"avx512", "avx2", "ref"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* key) -> const char* {
      size_t n = std::strlen(key);
      return a.compare(0, n, key) == 0 ? argv[i] + n : nullptr;
    };
    if (const char* v = val("--batch=")) B = std::atoll(v);
    else if (const char* v = val("--steps=")) T = std::atoll(v);
    else if (const char* v = val("--input=")) I = std::atoll(v);
    else if (const char* v = val("--units=")) U = std::atoll(v);
    else if (const char* v = val("--vocab=")) V = std::atoll(v);
    else if (const char* v = val("--repeats=")) repeats = std::atoi(v);
    else if (const char* v = val("--threads=")) threads = split(v);
    else if (const char* v = val("--isa=")) isas = split(v);
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const Case cases[] = {{"lstm", nnfast::RnnCell::lstm, true},
                        {"gru", nnfast::RnnCell::gru, true},
                        {"gru_v1", nnfast::RnnCell::gru, false},
                        {"simple", nnfast::RnnCell::simple, true}};
  std::mt19937 rng(0);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  auto fill = [&](std::vector<float>& v) {
    for (auto& x : v) x = nd(rng);
  };
  std::printf("batch=%lld steps=%lld input=%lld units=%lld vocab=%lld, median of %d\n",
              (long long)B, (long long)T, (long long)I, (long long)U, (long long)V, repeats);
  std::printf("%-8s %-7s %3s %10s %10s %10s %10s %10s %10s\n", "cell", "isa", "thr",
              "infer ms", "emb ms", "train ms", "bwd ms", "fwd GF/s", "bwd GF/s");
  std::vector<float> table(V * I);
  std::vector<int64_t> ids(B * T);
  for (auto& x : table) x = nd(rng);
  for (int64_t i = 0; i < B * T; ++i) ids[i] = static_cast<int64_t>(rng() % V);
  for (const Case& c : cases) {
    nnfast::RnnConfig cfg;
    cfg.cell = c.cell;
    cfg.reset_after = c.reset_after;
    cfg.batch = B;
    cfg.steps = T;
    cfg.input = I;
    cfg.units = U;
    const int64_t G = nnfast::rnn_gates(cfg), GU = G * U;
    std::vector<float> x(B * T * I), W(I * GU), R(U * GU), b((c.cell == nnfast::RnnCell::gru &&
                                                               c.reset_after ? 2 : 1) * GU);
    fill(x);
    fill(W);
    fill(R);
    fill(b);
    std::vector<float> hs(B * T * U), hl(B * U), cl(B * U), dhl(B * U, 1.0f);
    std::vector<float> ws(nnfast::rnn_workspace_size(cfg, true));
    std::vector<float> dx(x.size()), dW(W.size()), dR(R.size()), db(b.size());
    nnfast::RnnForwardArgs fa;
    fa.x = x.data();
    fa.kernel = W.data();
    fa.recurrent_kernel = R.data();
    fa.bias = b.data();
    fa.h_seq = hs.data();
    fa.h_last = hl.data();
    fa.c_last = cl.data();
    fa.workspace = ws.data();
    nnfast::RnnBackwardArgs ba;
    ba.x = x.data();
    ba.kernel = W.data();
    ba.recurrent_kernel = R.data();
    ba.h_seq = hs.data();
    ba.workspace = ws.data();
    ba.dh_last = dhl.data();
    ba.dx = dx.data();
    ba.dkernel = dW.data();
    ba.drecurrent_kernel = dR.data();
    ba.dbias = db.data();
    std::vector<float> ws_emb(nnfast::rnn_embedded_workspace_size(cfg, V, false));
    nnfast::RnnForwardArgs ea = fa;
    ea.x = table.data();
    ea.ids = ids.data();
    ea.vocab = V;
    ea.h_seq = nullptr;
    ea.workspace = ws_emb.data();
    const double fwd_flop = 2.0 * B * T * GU * (I + U);
    const double bwd_flop = 2.0 * B * T * GU * (2 * I + 2 * U);
    for (const std::string& isa : isas) {
      nnfast::set_max_isa(nnfast::parse_isa(isa));
      if (nnfast::active_isa() != nnfast::parse_isa(isa)) continue;  // CPU lacks it
      for (const std::string& th : threads) {
        nnfast::set_num_threads(std::atoi(th.c_str()));
        fa.training = false;
        const double infer = median_ms([&] { nnfast::rnn_forward(cfg, fa); }, repeats);
        const double emb = median_ms([&] { nnfast::rnn_forward(cfg, ea); }, repeats);
        fa.training = true;
        const double train = median_ms([&] { nnfast::rnn_forward(cfg, fa); }, repeats);
        const double bwd = median_ms([&] { nnfast::rnn_backward(cfg, ba); }, repeats);
        std::printf("%-8s %-7s %3s %10.3f %10.3f %10.3f %10.3f %10.1f %10.1f\n", c.name,
                    isa.c_str(), th.c_str(), infer, emb, train, bwd, fwd_flop / train * 1e-6,
                    bwd_flop / bwd * 1e-6);
      }
    }
  }
  return 0;
}
