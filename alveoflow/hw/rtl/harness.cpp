// harness.cpp -- generic Verilator testbench of af_top (alveoflow/hw/rtl/verilator.py).
//
// af_ports.h (generated) lists the streams: AF_INPUTS(X), AF_OUTPUTS(X), AF_PROBES(X) with
// X(name, bits). Each input plays a binary file of words (ceil(bits/32) little-endian uint32
// per word, low word first) with a random tvalid (probability --p-in per cycle; once raised it
// holds until the word moves, as AXI-Stream requires); each output takes words with a random
// tready (--p-out) into its file until it has --out's count. The run ends when every output
// is complete (then --drain cycles more with tready high catch surplus words), or when no word
// has moved for --idle cycles (a deadlock: stats.json says which valid/ready were up), or at
// --max-cycles. Registers start from random values (--x-initial unique, seeded by --seed).
// With --cycles 1, FILE.cyc gets the cycle (uint64) of every word moved on each output.
// stats.json has every probe's peak ("probes") and its value when the run ended ("probes_end").
//
// usage: Vaf_tb --in NAME=FILE ... --out NAME=FILE:COUNT ... [--seed N] [--p-in P]
//               [--p-out P] [--max-cycles N] [--idle N] [--drain N] [--stats FILE]
//               [--cycles 0|1]
#include <verilated.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vaf_top.h"
#include "af_ports.h"

namespace {

// ---- word access for every Verilator port type ------------------------------------------------
void put(CData& p, const uint32_t* w) { p = static_cast<CData>(w[0]); }
void put(SData& p, const uint32_t* w) { p = static_cast<SData>(w[0]); }
void put(IData& p, const uint32_t* w) { p = w[0]; }
void put(QData& p, const uint32_t* w) { p = static_cast<QData>(w[0]) | (static_cast<QData>(w[1]) << 32); }
template <std::size_t N> void put(VlWide<N>& p, const uint32_t* w) {
    for (std::size_t i = 0; i < N; i++) p[i] = w[i];
}
void get(const CData& p, uint32_t* w) { w[0] = p; }
void get(const SData& p, uint32_t* w) { w[0] = p; }
void get(const IData& p, uint32_t* w) { w[0] = p; }
void get(const QData& p, uint32_t* w) { w[0] = static_cast<uint32_t>(p); w[1] = static_cast<uint32_t>(p >> 32); }
template <std::size_t N> void get(const VlWide<N>& p, uint32_t* w) {
    for (std::size_t i = 0; i < N; i++) w[i] = p[i];
}
uint64_t value(const CData& p) { return p; }
uint64_t value(const SData& p) { return p; }
uint64_t value(const IData& p) { return p; }
uint64_t value(const QData& p) { return p; }

struct Port {
    std::string name;
    int nw;                       // uint32 per word
    std::vector<uint32_t> data;
    std::size_t total = 0;        // words to send / expected
    std::size_t done = 0;         // words moved
    bool valid = false;           // (inputs) tvalid raised and held
    int64_t first = -1, last = -1;
    std::string file;
    std::vector<uint64_t> cycles;  // (outputs, with --cycles 1) cycle of every word moved
};

struct Options {
    std::map<std::string, std::string> in, out;
    uint64_t seed = 1;
    double p_in = 1.0, p_out = 1.0;
    uint64_t max_cycles = 100000000, idle = 100000, drain = 64;
    std::string stats = "stats.json";
    bool cycles = false;
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "harness: %s\n", msg.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc) die("missing value after " + a);
        std::string v = argv[++i];
        std::size_t eq = v.find('=');
        if (a == "--in" || a == "--out") {
            if (eq == std::string::npos) die(a + " takes NAME=VALUE");
            (a == "--in" ? o.in : o.out)[v.substr(0, eq)] = v.substr(eq + 1);
        } else if (a == "--seed") o.seed = std::stoull(v);
        else if (a == "--p-in") o.p_in = std::stod(v);
        else if (a == "--p-out") o.p_out = std::stod(v);
        else if (a == "--max-cycles") o.max_cycles = std::stoull(v);
        else if (a == "--idle") o.idle = std::stoull(v);
        else if (a == "--drain") o.drain = std::stoull(v);
        else if (a == "--stats") o.stats = v;
        else if (a == "--cycles") o.cycles = v == "1";
        else die("unknown option " + a);
    }
    return o;
}

void load(Port& p, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) die("cannot open " + path);
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    if (size % (4 * p.nw)) die(path + ": size is not a whole number of words");
    p.data.resize(size / 4 + p.nw);  // one spare word: the port is driven past the end too
    if (size && std::fread(p.data.data(), 4, size / 4, f) != std::size_t(size / 4)) die("short read " + path);
    std::fclose(f);
    p.total = size / (4 * p.nw);
}

void save(const Port& p, bool cycles) {
    FILE* f = std::fopen(p.file.c_str(), "wb");
    if (!f) die("cannot write " + p.file);
    std::fwrite(p.data.data(), 4, p.done * p.nw, f);
    std::fclose(f);
    if (!cycles) return;
    const std::string name = p.file + ".cyc";
    f = std::fopen(name.c_str(), "wb");
    if (!f) die("cannot write " + name);
    std::fwrite(p.cycles.data(), 8, p.cycles.size(), f);
    std::fclose(f);
}

void port_json(FILE* f, const Port& p, bool last) {
    std::fprintf(f, "    \"%s\": {\"words\": %zu, \"total\": %zu, \"first\": %lld, \"last\": %lld}%s\n",
                 p.name.c_str(), p.done, p.total, (long long)p.first, (long long)p.last,
                 last ? "" : ",");
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->randReset(2);
    ctx->randSeed(static_cast<int>(opt.seed % 1000003));
    auto top = std::make_unique<Vaf_top>(ctx.get());
    std::mt19937_64 rng(opt.seed);
    std::uniform_real_distribution<double> coin(0.0, 1.0);

    std::vector<Port> ins, outs;
    std::map<std::string, uint64_t> probes;
#define AF_ADD_IN(n, b) ins.push_back(Port{#n, ((b) + 31) / 32});
#define AF_ADD_OUT(n, b) outs.push_back(Port{#n, ((b) + 31) / 32});
#define AF_ADD_PROBE(n, b) probes[#n] = 0;
    AF_INPUTS(AF_ADD_IN)
    AF_OUTPUTS(AF_ADD_OUT)
    AF_PROBES(AF_ADD_PROBE)
    for (Port& p : ins) {
        if (!opt.in.count(p.name)) die("no --in for " + p.name);
        load(p, opt.in[p.name]);
    }
    for (Port& p : outs) {
        if (!opt.out.count(p.name)) die("no --out for " + p.name);
        std::string v = opt.out[p.name];
        std::size_t colon = v.rfind(':');
        if (colon == std::string::npos) die("--out takes NAME=FILE:COUNT");
        p.file = v.substr(0, colon);
        p.total = std::stoull(v.substr(colon + 1));
        p.data.resize((p.total + 1) * p.nw);
        if (opt.cycles) p.cycles.reserve(p.total);
    }

    // reset: four cycles with every valid and ready low
    top->ap_rst_n = 0;
#define AF_IDLE_IN(n, b) top->n##_tvalid = 0;
#define AF_IDLE_OUT(n, b) top->n##_tready = 0;
    AF_INPUTS(AF_IDLE_IN)
    AF_OUTPUTS(AF_IDLE_OUT)
    for (int i = 0; i < 4; i++) {
        top->ap_clk = 0;
        top->eval();
        top->ap_clk = 1;
        top->eval();
    }
    top->ap_rst_n = 1;

    uint64_t cycle = 0, last_move = 0, complete_at = 0, surplus = 0;
    bool complete = false, deadlock = false;
    std::vector<uint32_t> scratch(64);
    while (cycle < opt.max_cycles) {
        std::size_t k = 0;
        bool draining = complete;
#define AF_DRIVE_IN(n, b)                                                                  \
    {                                                                                      \
        Port& p = ins[k++];                                                                \
        if (!p.valid && p.done < p.total && coin(rng) < opt.p_in) p.valid = true;          \
        top->n##_tvalid = p.valid;                                                         \
        put(top->n##_tdata, &p.data[(p.done < p.total ? p.done : p.total) * p.nw]);        \
    }
        AF_INPUTS(AF_DRIVE_IN)
        k = 0;
#define AF_DRIVE_OUT(n, b) top->n##_tready = draining || coin(rng) < opt.p_out;
        AF_OUTPUTS(AF_DRIVE_OUT)
        top->ap_clk = 0;
        top->eval();
        bool moved = false;
        k = 0;
#define AF_SAMPLE_IN(n, b)                                                                 \
    {                                                                                      \
        Port& p = ins[k++];                                                                \
        if (top->n##_tvalid && top->n##_tready) {                                          \
            if (p.first < 0) p.first = cycle;                                              \
            p.last = cycle;                                                                \
            p.done++;                                                                      \
            p.valid = false;                                                               \
            moved = true;                                                                  \
        }                                                                                  \
    }
        AF_INPUTS(AF_SAMPLE_IN)
        k = 0;
#define AF_SAMPLE_OUT(n, b)                                                                \
    {                                                                                      \
        Port& p = outs[k++];                                                               \
        if (top->n##_tvalid && top->n##_tready) {                                          \
            if (p.done < p.total) {                                                        \
                get(top->n##_tdata, &p.data[p.done * p.nw]);                               \
                if (p.first < 0) p.first = cycle;                                          \
                p.last = cycle;                                                            \
                p.done++;                                                                  \
                if (opt.cycles) p.cycles.push_back(cycle);                                 \
            } else {                                                                       \
                surplus++;                                                                 \
            }                                                                              \
            moved = true;                                                                  \
        }                                                                                  \
    }
        AF_OUTPUTS(AF_SAMPLE_OUT)
#define AF_SAMPLE_PROBE(n, b)                                                              \
    {                                                                                      \
        uint64_t v = value(top->probe_##n);                                                \
        if (v > probes[#n]) probes[#n] = v;                                                \
    }
        AF_PROBES(AF_SAMPLE_PROBE)
        top->ap_clk = 1;
        top->eval();
        cycle++;
        if (moved) last_move = cycle;
        if (!complete) {
            bool all = true;
            for (const Port& p : outs) all = all && p.done == p.total;
            if (all) {
                complete = true;
                complete_at = cycle;
            }
        }
        if (complete && cycle >= complete_at + opt.drain) break;
        if (!complete && cycle - last_move > opt.idle) {
            deadlock = true;
            break;
        }
    }
    (void)scratch;

    for (const Port& p : outs) save(p, opt.cycles);
    FILE* f = std::fopen(opt.stats.c_str(), "w");
    if (!f) die("cannot write " + opt.stats);
    std::fprintf(f, "{\n  \"cycles\": %llu,\n  \"complete\": %s,\n  \"deadlock\": %s,\n",
                 (unsigned long long)(complete ? complete_at : cycle), complete ? "true" : "false",
                 deadlock ? "true" : "false");
    std::fprintf(f, "  \"surplus\": %llu,\n  \"inputs\": {\n", (unsigned long long)surplus);
    for (std::size_t i = 0; i < ins.size(); i++) port_json(f, ins[i], i + 1 == ins.size());
    std::fprintf(f, "  },\n  \"outputs\": {\n");
    for (std::size_t i = 0; i < outs.size(); i++) port_json(f, outs[i], i + 1 == outs.size());
    std::fprintf(f, "  },\n  \"probes\": {");
    std::size_t np = 0;
    for (const auto& kv : probes)
        std::fprintf(f, "%s\"%s\": %llu", np++ ? ", " : "", kv.first.c_str(), (unsigned long long)kv.second);
    std::fprintf(f, "},\n  \"probes_end\": {");
    np = 0;
#define AF_PROBE_END(n, b)                                                                 \
    std::fprintf(f, "%s\"%s\": %llu", np++ ? ", " : "", #n, (unsigned long long)value(top->probe_##n));
    AF_PROBES(AF_PROBE_END)
    std::fprintf(f, "},\n  \"stuck\": {");
    // the handshake signals as the run ended (a deadlock names the stream that waits)
    std::size_t ns = 0;
#define AF_STATE_IN(n, b) std::fprintf(f, "%s\"%s\": [%d, %d]", ns++ ? ", " : "", #n, int(top->n##_tvalid), int(top->n##_tready));
    AF_INPUTS(AF_STATE_IN)
    AF_OUTPUTS(AF_STATE_IN)
    std::fprintf(f, "}\n}\n");
    std::fclose(f);
    top->final();
    return 0;
}
