// tb_sim.cpp -- the C-simulation stream model and scheduler (hw/hls/csim): bounded FIFOs,
// concurrent dataflow processes, peak occupancy, nested regions, deadlock detection and
// unwinding, and the sequential behaviour outside a run.
#include <cstring>
#include <string>

#include "alveo_common.hpp"
#include "tb_common.hpp"

typedef ap_uint<16> word;

// Writes n words 0..n-1.
void produce(hls::stream<word>& out, unsigned n) {
    for (unsigned i = 0; i < n; i++) out.write(word(i));
}

// Reads n words, checks they count up from 0, stores their sum.
void consume(hls::stream<word>& in, unsigned n, long long* sum, long* wrong) {
    long long s = 0;
    for (unsigned i = 0; i < n; i++) {
        const unsigned v = in.read().to_uint();
        if (v != (i & 0xffff)) (*wrong)++;
        s += v;
    }
    *sum = s;
}

// Copies every word to both outputs (a fork feeding a long and a short branch).
void fork(hls::stream<word>& in, hls::stream<word>& a, hls::stream<word>& b, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        const word x = in.read();
        a.write(x);
        b.write(x);
    }
}

// The long branch: holds `lag` words before it emits anything (like a conv's line buffer).
void delay(hls::stream<word>& in, hls::stream<word>& out, unsigned n, unsigned lag) {
    word buf[64];
    for (unsigned i = 0; i < n + lag; i++) {
        if (i < n) buf[i % 64] = in.read();
        if (i >= lag) out.write(buf[(i - lag) % 64]);
    }
}

void add(hls::stream<word>& a, hls::stream<word>& b, hls::stream<word>& out, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        const word x = a.read();  // the long branch first
        out.write(word(x + b.read()));
    }
}

// A residual block as one DATAFLOW region: fork -> (delay | bypass FIFO of depth D) -> add.
template <int D>
void block(hls::stream<word>& in, hls::stream<word>& out, unsigned n, unsigned lag) {
    hls::stream<word, 2> main_in("main_in"), main_out("main_out");
    hls::stream<word, D> bypass("bypass");
    ALVEO_PROCESS("fork", fork(in, main_in, bypass, n));
    ALVEO_PROCESS("delay", delay(main_in, main_out, n, lag));
    ALVEO_PROCESS("add", add(main_out, bypass, out, n));
    ALVEO_JOIN();
}

// Two blocks in a row inside one region (nested regions).
template <int D>
void two_blocks(hls::stream<word>& in, hls::stream<word>& out, unsigned n, unsigned lag) {
    hls::stream<word> mid("mid");
    ALVEO_PROCESS("first", block<D>(in, mid, n, lag));
    ALVEO_PROCESS("second", block<D>(mid, out, n, lag));
    ALVEO_JOIN();
}

bool has(const char* text, const char* part) { return std::strstr(text, part) != nullptr; }

int run_sequential() {
    tb::Checker chk("sequential outside a run");
    hls::stream<word> s("s"), o("o");
    produce(s, 1000);  // unbounded outside a run
    chk.ok(s.size() == 1000, "an unbounded stream holds every word");
    long long sum = 0;
    long wrong = 0;
    ALVEO_PROCESS("consume", consume(s, 1000, &sum, &wrong));  // a plain call
    chk.ok(sum == 999LL * 1000 / 2 && wrong == 0, "the call ran at once");
    hls::stream<word> in("in");
    produce(in, 10);
    block<2>(in, o, 10, 4);  // processes run in order, one after another
    chk.ok(o.size() == 10, "a region runs sequentially");
    while (!o.empty()) o.read();
    return chk.report();
}

int run_pipeline() {
    tb::Checker chk("producer -> depth 3 -> consumer");
    long long sum = 0;
    long wrong = 0;
    int status;
    {
        afsim::Run run;
        hls::stream<word, 3> fifo("fifo");
        afsim::spawn("producer", [&] { produce(fifo, 100); });
        afsim::spawn("consumer", [&] { consume(fifo, 100, &sum, &wrong); });
        status = run.run();
        chk.ok(fifo.size() == 0, "every word was read");
    }
    chk.ok(status == 0, "the run completes");
    chk.eq(sum, 99 * 100 / 2, "sum", 0);
    chk.eq(wrong, 0, "words out of order", 0);
    const char* js = afsim::Run::report_json();
    chk.ok(has(js, "{\"name\": \"fifo\", \"depth\": 3, \"peak\": 3, \"words\": 100, \"left\": 0"),
           "the FIFO reports depth 3, peak 3, 100 words");
    chk.ok(has(js, "\"writer\": \"producer\", \"reader\": \"consumer\""), "its two sides");
    chk.ok(has(js, "\"deadlock\": false"), "no deadlock");
    return chk.report();
}

int run_region(bool deep) {
    tb::Checker chk(deep ? "residual region, deep bypass" : "residual region, shallow bypass");
    const unsigned n = 40, lag = 6;
    long long sum = 0;
    long wrong = 0;
    int status;
    {
        afsim::Run run;
        hls::stream<word, 2> in("in"), out("out");
        afsim::spawn("source", [&] { produce(in, n); });
        if (deep)
            afsim::spawn("net", [&] { two_blocks<8>(in, out, n, lag); });
        else
            afsim::spawn("net", [&] { two_blocks<3>(in, out, n, lag); });
        afsim::spawn("sink", [&] { consume(out, n, &sum, &wrong); });
        status = run.run();
    }
    const char* js = afsim::Run::report_json();
    if (deep) {
        chk.ok(status == 0, "the run completes");
        chk.eq(wrong, n - 1, "outputs are doubled (i + i != i for i > 0)", 0);
        chk.eq(sum, 4LL * (n - 1) * n / 2, "sum of 4*i", 0);
        // the bypass must hold the words the delay keeps back: lag + 1 (+1 in flight)
        chk.ok(has(js, "\"name\": \"net/first/bypass\", \"depth\": 8, \"peak\": 8"),
               "the bypass FIFO is named by its region and fills up");
        chk.ok(has(js, "\"name\": \"net/second/delay\", \"calls\": 1"), "nested process names");
    } else {
        chk.ok(status == 4, "a too-shallow bypass deadlocks");
        chk.ok(has(js, "\"process\": \"net/first/fork\", \"wait\": \"write\", \"fifo\": "
                       "\"net/first/bypass\", \"size\": 3, \"depth\": 3"),
               "the fork waits on the full bypass");
        chk.ok(has(js, "\"size\": 3, \"depth\": 3, \"reader\": \"\", \"writer\": "
                       "\"net/first/fork\""),
               "the bypass was never read");
        chk.ok(has(js, "\"process\": \"net/first/add\", \"wait\": \"read\", \"fifo\": "
                       "\"net/first/main_out\", \"size\": 0"),
               "add waits on the empty main branch");
        chk.ok(has(js, "\"process\": \"net\", \"wait\": \"join\""), "the region waits");
        chk.ok(!has(js, "\"deadlock\": false"), "reported");
    }
    return chk.report();
}

int run_sequential_deadlocks() {
    // Inside a run, calling the two halves of a region one after the other (what the old
    // sequential harness did) deadlocks as soon as the first fills its FIFO.
    tb::Checker chk("sequential calls over a bounded FIFO");
    long long sum = 0;
    long wrong = 0;
    int status;
    {
        afsim::Run run;
        afsim::spawn("region", [&] {
            hls::stream<word, 4> fifo("fifo");
            produce(fifo, 10);
            consume(fifo, 10, &sum, &wrong);
        });
        status = run.run();
    }
    chk.ok(status == 4, "deadlock found");
    chk.ok(has(afsim::Run::report_json(), "\"process\": \"region\", \"wait\": \"write\""),
           "the region waits to write its full FIFO");
    return chk.report();
}

int run_many_frames() {
    // A region called once per frame: processes are created and joined 50 times over.
    tb::Checker chk("regions called per frame");
    const unsigned frames = 50, n = 16;
    long long sum = 0;
    long wrong = 0;
    int status;
    {
        afsim::Run run;
        hls::stream<word, 2> in("in"), out("out");
        afsim::spawn("source", [&] { produce(in, frames * n); });
        afsim::spawn("net", [&] {
            for (unsigned f = 0; f < frames; f++) block<8>(in, out, n, 5);
        });
        afsim::spawn("sink", [&] { consume(out, frames * n, &sum, &wrong); });
        status = run.run();
    }
    chk.ok(status == 0, "the run completes");
    chk.eq(sum, 2LL * (frames * n - 1) * frames * n / 2, "sum", 0);
    chk.ok(has(afsim::Run::report_json(), "\"name\": \"net/fork\", \"calls\": 50"),
           "one process per call");
    return chk.report();
}

int main() {
    int fails = 0;
    fails += run_sequential();
    fails += run_pipeline();
    fails += run_region(true);
    fails += run_region(false);
    fails += run_sequential_deadlocks();
    fails += run_many_frames();
    return fails ? 1 : 0;
}
