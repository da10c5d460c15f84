// af_sim.cpp -- the cooperative scheduler of af_sim.hpp: coroutine stacks, context switches,
// blocking, deadlock detection and the JSON statistics of a run.
//
// A process is a coroutine: its own stack (mmap'ed, with a guard page, reused through a
// pool), switched to and from the scheduler loop in Run::run(). On x86-64 the switch is a few
// instructions (callee-saved registers, MXCSR and x87 control word, stack pointer); elsewhere
// it falls back to ucontext. Processes never run in parallel, so nothing here is locked
// except the one-Run-at-a-time mutex.
#include "af_sim.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#if defined(__x86_64__) && !defined(AF_SIM_UCONTEXT)
#include <x86intrin.h>
#else
#include <ucontext.h>
#endif

// C-linkage entry points of a new process (see the context code below).
extern "C" __attribute__((visibility("hidden"), used)) void afsim_start(void* arg);
#if defined(__x86_64__) && !defined(AF_SIM_UCONTEXT)
extern "C" void afsim_switch(void** save_sp, void* load_sp);
extern "C" void afsim_entry();
#endif

namespace afsim {

bool g_active = false;
Process* g_current = nullptr;
const std::string* g_current_name = nullptr;

namespace {

// ---- execution contexts ---------------------------------------------------------------

#if defined(__x86_64__) && !defined(AF_SIM_UCONTEXT)
struct Context {
    void* sp = nullptr;
};

// afsim_switch(save, load): push the callee-saved state, save the stack pointer to *save,
// load the other stack and pop its state. afsim_entry: first frame of a new process
// (r12 = the Process), calls afsim_start, which never returns.
asm(R"(
    .text
    .globl afsim_switch
    .hidden afsim_switch
    .type afsim_switch, @function
afsim_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size afsim_switch, .-afsim_switch

    .globl afsim_entry
    .hidden afsim_entry
    .type afsim_entry, @function
afsim_entry:
    movq %r12, %rdi
    call afsim_start
    ud2
    .size afsim_entry, .-afsim_entry
)");

void context_init(Context& ctx, char* stack, size_t size, void* arg) {
    uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + size) & ~uintptr_t(15);
    uint64_t* sp = reinterpret_cast<uint64_t*>(top) - 8;
    uint32_t csr[2];
    asm volatile("stmxcsr %0" : "=m"(csr[0]));
    asm volatile("fnstcw %0" : "=m"(csr[1]));
    sp[0] = uint64_t(csr[0]) | (uint64_t(csr[1] & 0xffff) << 32);  // MXCSR, x87 control word
    sp[1] = 0;                                                      // r15
    sp[2] = 0;                                                      // r14
    sp[3] = 0;                                                      // r13
    sp[4] = reinterpret_cast<uint64_t>(arg);                        // r12
    sp[5] = 0;                                                      // rbx
    sp[6] = 0;                                                      // rbp
    sp[7] = reinterpret_cast<uint64_t>(&afsim_entry);               // return address
    ctx.sp = sp;
}

inline void context_switch(Context& from, Context& to) { afsim_switch(&from.sp, to.sp); }

inline uint64_t ticks() { return __rdtsc(); }
#else
struct Context {
    ucontext_t uc;
};

void uc_entry(unsigned hi, unsigned lo) {
    afsim_start(reinterpret_cast<void*>((uintptr_t(hi) << 32) | uintptr_t(lo)));
}

void context_init(Context& ctx, char* stack, size_t size, void* arg) {
    getcontext(&ctx.uc);
    ctx.uc.uc_stack.ss_sp = stack;
    ctx.uc.uc_stack.ss_size = size;
    ctx.uc.uc_link = nullptr;
    const uintptr_t a = reinterpret_cast<uintptr_t>(arg);
    makecontext(&ctx.uc, reinterpret_cast<void (*)()>(uc_entry), 2, unsigned(a >> 32),
                unsigned(a & 0xffffffffu));
}

inline void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

inline uint64_t ticks() {
    return uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
}
#endif

// ---- stacks ---------------------------------------------------------------------------

size_t stack_bytes() {
    const char* env = std::getenv("AF_SIM_STACK_MB");
    const long mb = env ? std::atol(env) : 0;
    return size_t(mb > 0 ? mb : 8) << 20;
}

struct Stack {
    char* base = nullptr;  // lowest usable address (a guard page lies below)
    size_t size = 0;
};

class StackPool {
  public:
    ~StackPool() {
        for (auto& s : free_) munmap(s.base - page(), s.size + page());
    }
    Stack get() {
        if (!free_.empty()) {
            Stack s = free_.back();
            free_.pop_back();
            return s;
        }
        const size_t size = stack_bytes();
        void* mem = mmap(nullptr, size + page(), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) throw std::runtime_error("cppsim: cannot map a process stack");
        mprotect(mem, page(), PROT_NONE);  // guard page: overflow faults instead of corrupting
        return Stack{static_cast<char*>(mem) + page(), size};
    }
    void put(const Stack& s) { free_.push_back(s); }

  private:
    static size_t page() { return size_t(sysconf(_SC_PAGESIZE)); }
    std::vector<Stack> free_;
};

// ---- processes and statistics ---------------------------------------------------------

struct Cancelled {};  // thrown from a blocked operation when the run is being torn down

struct ProcStat {
    const std::string* name;
    unsigned long long calls = 0, blocks = 0;
    uint64_t ticks = 0;
};

struct FifoStat {
    const std::string* name;
    unsigned depth = 0;
    size_t peak = 0, left = 0;
    unsigned long long words = 0;
    const std::string* reader = nullptr;
    const std::string* writer = nullptr;
};

struct Blocked {  // one waiting process, recorded when a deadlock is found
    std::string process, fifo;
    Wait why;
    size_t size;
    unsigned depth;
    std::string reader, writer;
};

}  // namespace

struct Process {
    const std::string* name = nullptr;
    std::function<void()> fn;
    Process* parent = nullptr;
    unsigned children = 0;
    Wait wait = Wait::none;
    Channel* on = nullptr;
    bool started = false, done = false;
    std::string error;
    Stack stack;
    Context ctx;
    ProcStat* stat = nullptr;
    uint64_t order = 0;
};

namespace {

struct State {
    std::unordered_set<std::string> names;  // interned names (stable addresses)
    std::deque<Process*> ready;
    std::map<uint64_t, Process*> live;  // by creation order
    uint64_t created = 0;
    Context main;
    StackPool stacks;
    bool cancelling = false, failed = false;
    std::string error;
    std::deque<FifoStat> fifos;  // deques: references stay valid as they grow
    std::unordered_map<const std::string*, size_t> fifo_index;
    std::unordered_set<Channel*> channels;  // open channels of the run
    std::deque<ProcStat> procs;
    std::unordered_map<const std::string*, size_t> proc_index;
    std::vector<Blocked> deadlock;
    bool deadlocked = false;
    unsigned long long switches = 0;
    double seconds = 0;
    uint64_t run_ticks = 0;
    std::string report = "{}";
};

State* g_state = nullptr;
std::mutex g_run_mutex;
std::unordered_map<std::string, unsigned> g_depths;  // overrides, by qualified FIFO name
std::string g_last_report = "{}";

const std::string* intern(const std::string& s) { return &*g_state->names.insert(s).first; }

// The record of `name` in `stats` (in first-seen order), added when it is new.
template <typename Stats>
typename Stats::value_type& stat_of(Stats& stats,
                                    std::unordered_map<const std::string*, size_t>& index,
                                    const std::string* name) {
    auto it = index.find(name);
    if (it != index.end()) return stats[it->second];
    index.emplace(name, stats.size());
    stats.push_back(typename Stats::value_type{name});
    return stats.back();
}

ProcStat& proc_stat(const std::string* name) {
    return stat_of(g_state->procs, g_state->proc_index, name);
}

FifoStat& fifo_stat(const std::string* name) {
    return stat_of(g_state->fifos, g_state->fifo_index, name);
}

void record(Channel& ch) {
    FifoStat& f = fifo_stat(ch.name);
    f.depth = ch.depth;
    f.peak = ch.peak > f.peak ? ch.peak : f.peak;
    f.words += ch.words;
    f.left += ch.size;
    if (ch.reader) f.reader = ch.reader;
    if (ch.writer) f.writer = ch.writer;
}

// Switch from the running process back to the scheduler loop.
void suspend(Process* p) {
    p->stat->blocks++;
    context_switch(p->ctx, g_state->main);
}

void resume(Process* p);

void finish(Process* p) {
    State& st = *g_state;
    if (!p->error.empty() && !st.failed) {
        st.failed = true;
        st.error = *p->name + ": " + p->error;
    }
    st.stacks.put(p->stack);
    if (Process* parent = p->parent) {
        parent->children--;
        if (parent->children == 0 && parent->wait == Wait::join && !st.cancelling) {
            parent->wait = Wait::none;
            st.ready.push_back(parent);
        }
    }
    st.live.erase(p->order);
    delete p;
}

void resume(Process* p) {
    State& st = *g_state;
    g_current = p;
    g_current_name = p->name;
    p->started = true;
    st.switches++;
    const uint64_t t0 = ticks();
    context_switch(st.main, p->ctx);
    p->stat->ticks += ticks() - t0;
    g_current = nullptr;
    g_current_name = nullptr;
    if (p->done) finish(p);
}

void note_deadlock() {
    State& st = *g_state;
    st.deadlocked = true;
    for (auto& kv : st.live) {
        Process* p = kv.second;
        Blocked b{*p->name, "", p->wait, 0, 0, "", ""};
        if (p->on && (p->wait == Wait::read || p->wait == Wait::write)) {
            b.fifo = p->on->name ? *p->on->name : "";
            b.size = p->on->size;
            b.depth = p->on->depth;
            b.reader = p->on->reader ? *p->on->reader : "";
            b.writer = p->on->writer ? *p->on->writer : "";
        }
        st.deadlock.push_back(b);
    }
}

// Unwind every process that has not returned, children before their parents.
void cancel_all() {
    State& st = *g_state;
    st.cancelling = true;
    st.ready.clear();
    while (!st.live.empty()) resume(st.live.rbegin()->second);
}

// ---- JSON ---------------------------------------------------------------------------------

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string quoted(const std::string* s) { return quoted(s ? *s : std::string()); }

const char* wait_name(Wait w) {
    switch (w) {
        case Wait::read: return "read";
        case Wait::write: return "write";
        case Wait::join: return "join";
        default: return "none";
    }
}

std::string build_report() {
    State& st = *g_state;
    const double per_tick = st.run_ticks ? st.seconds / double(st.run_ticks) : 0.0;
    std::ostringstream js;
    js << "{\"seconds\": " << st.seconds << ", \"switches\": " << st.switches;
    js << ", \"error\": " << quoted(st.error) << ", \"fifos\": [";
    for (size_t i = 0; i < st.fifos.size(); i++) {
        const FifoStat& f = st.fifos[i];
        js << (i ? ", " : "") << "{\"name\": " << quoted(f.name) << ", \"depth\": " << f.depth
           << ", \"peak\": " << f.peak << ", \"words\": " << f.words << ", \"left\": " << f.left
           << ", \"writer\": " << quoted(f.writer) << ", \"reader\": " << quoted(f.reader)
           << "}";
    }
    js << "], \"processes\": [";
    for (size_t i = 0; i < st.procs.size(); i++) {
        const ProcStat& p = st.procs[i];
        js << (i ? ", " : "") << "{\"name\": " << quoted(p.name) << ", \"calls\": " << p.calls
           << ", \"blocks\": " << p.blocks << ", \"seconds\": " << double(p.ticks) * per_tick
           << "}";
    }
    js << "], \"deadlock\": ";
    if (!st.deadlocked) {
        js << "false";
    } else {
        js << "{\"blocked\": [";
        for (size_t i = 0; i < st.deadlock.size(); i++) {
            const Blocked& b = st.deadlock[i];
            js << (i ? ", " : "") << "{\"process\": " << quoted(b.process)
               << ", \"wait\": \"" << wait_name(b.why) << "\", \"fifo\": " << quoted(b.fifo)
               << ", \"size\": " << b.size << ", \"depth\": " << b.depth
               << ", \"reader\": " << quoted(b.reader) << ", \"writer\": " << quoted(b.writer)
               << "}";
        }
        js << "]}";
    }
    js << "}";
    return js.str();
}

}  // namespace

// ---- the API of af_sim.hpp ----------------------------------------------------------------

void warn(const std::string& what) {
    std::fprintf(stdout, "WARNING: %s\n", what.c_str());
    std::fflush(stdout);
}

void block(Channel& ch, Wait why) {
    Process* p = g_current;
    State& st = *g_state;
    if (st.cancelling) throw Cancelled();
    if (ch.waiting && ch.waiting != p)
        throw std::logic_error("FIFO '" + (ch.name ? *ch.name : std::string("?")) +
                               "' has two processes waiting on it (one reader and one writer "
                               "per FIFO)");
    ch.waiting = p;
    ch.waiting_for = why;
    p->wait = why;
    p->on = &ch;
    suspend(p);
    if (ch.waiting == p) ch.waiting = nullptr;
    p->on = nullptr;
    p->wait = Wait::none;
    if (st.cancelling) throw Cancelled();
}

void wake(Channel& ch) {
    Process* p = ch.waiting;
    ch.waiting = nullptr;
    ch.waiting_for = Wait::none;
    if (p && p->wait != Wait::none) {
        p->wait = Wait::none;
        g_state->ready.push_back(p);
    }
}

void yield() {
    Process* p = g_current;
    if (!p) return;
    g_state->ready.push_back(p);
    suspend(p);
    if (g_state->cancelling) throw Cancelled();
}

void open_channel(Channel& ch, const char* name, unsigned declared_depth) {
    State& st = *g_state;
    std::string full = g_current_name ? *g_current_name + "/" + name : std::string(name);
    ch.name = intern(full);
    auto over = g_depths.find(full);
    ch.depth = over != g_depths.end() ? over->second : declared_depth;
    ch.registered = true;
    st.channels.insert(&ch);
}

void close_channel(Channel& ch) {
    if (!g_state || !ch.registered) return;
    g_state->channels.erase(&ch);
    record(ch);
    ch.registered = false;
    ch.depth = 0;
}

void set_depth_override(const std::string& name, unsigned depth) {
    std::lock_guard<std::mutex> lock(g_run_mutex);
    if (depth)
        g_depths[name] = depth;
    else
        g_depths.erase(name);
}

void clear_depth_overrides() {
    std::lock_guard<std::mutex> lock(g_run_mutex);
    g_depths.clear();
}

void spawn(const char* name, std::function<void()> fn) {
    if (!g_active) {
        fn();
        return;
    }
    State& st = *g_state;
    if (st.cancelling) throw Cancelled();
    Process* p = new Process;
    Process* parent = g_current;
    p->name = intern(parent ? *parent->name + "/" + name : std::string(name));
    p->fn = std::move(fn);
    p->parent = parent;
    p->stat = &proc_stat(p->name);
    p->stat->calls++;
    p->order = st.created++;
    try {
        p->stack = st.stacks.get();
    } catch (...) {
        delete p;
        throw;
    }
    context_init(p->ctx, p->stack.base, p->stack.size, p);
    if (parent) parent->children++;
    st.live.emplace(p->order, p);
    st.ready.push_back(p);
}

void join() {
    Process* p = g_current;
    if (!g_active || !p) return;
    while (p->children > 0) {
        p->wait = Wait::join;
        suspend(p);
        if (g_state->cancelling) throw Cancelled();
    }
    p->wait = Wait::none;
}

Run::Run() {
    g_run_mutex.lock();
    g_state = new State;
    g_active = true;
}

Run::~Run() {
    State& st = *g_state;
    if (!st.live.empty()) cancel_all();  // run() was never called, or not to the end
    for (Channel* ch : std::vector<Channel*>(st.channels.begin(), st.channels.end()))
        close_channel(*ch);
    g_last_report = build_report();
    g_active = false;
    g_current = nullptr;
    g_current_name = nullptr;
    delete g_state;
    g_state = nullptr;
    g_run_mutex.unlock();
}

int Run::run() {
    State& st = *g_state;
    const auto start = std::chrono::steady_clock::now();
    const uint64_t t0 = ticks();
    while (!st.ready.empty() && !st.failed) {
        Process* p = st.ready.front();
        st.ready.pop_front();
        resume(p);
    }
    int status = 0;
    if (st.failed) {
        status = 8;
    } else if (!st.live.empty()) {
        note_deadlock();
        status = 4;
    }
    if (!st.live.empty()) cancel_all();
    st.run_ticks = ticks() - t0;
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return status;
}

const char* Run::report_json() { return g_last_report.c_str(); }

}  // namespace afsim

extern "C" void afsim_start(void* arg) {
    afsim::Process* p = static_cast<afsim::Process*>(arg);
    try {
        if (!afsim::g_state->cancelling) p->fn();
        if (p->children && p->error.empty())
            p->error = "returned while processes it started were running (missing ALVEO_JOIN)";
    } catch (const afsim::Cancelled&) {
    } catch (const std::exception& e) {
        p->error = e.what();
    } catch (...) {
        p->error = "unknown exception";
    }
    p->fn = nullptr;
    p->done = true;
    afsim::context_switch(p->ctx, afsim::g_state->main);
    std::abort();  // a finished process is never resumed
}
