// af_sim.hpp -- the cooperative scheduler behind cppsim's concurrent C simulation.
//
// Contract. In hardware every function call of a DATAFLOW region is a process and all
// processes run at once, connected by FIFOs of fixed depth. C simulation reproduces that:
//
//   * afsim::Run (one at a time per process image; a second Run waits for the first) starts a
//     simulation. While it exists, hls::stream (this folder's hls_stream.h) is a BOUNDED,
//     BLOCKING FIFO of its declared depth (hls::stream<T, DEPTH>; DEPTH 0 means Vitis'
//     default, 2), and ALVEO_PROCESS(name, call) (alveo_common.hpp) starts `call` as a process
//     instead of calling it. Run::run() executes every process until all have returned.
//   * Processes are coroutines on their own stacks, scheduled cooperatively on the calling
//     thread: a process runs until it reads an empty FIFO, writes a full one or waits for the
//     processes it started (join), then the next ready process runs. The order is
//     deterministic, so FIFO peak occupancies are reproducible.
//   * Deadlock: when no process can run but some have not returned, every process is blocked.
//     run() then unwinds every blocked process (its blocked FIFO operation throws an internal
//     exception that the scheduler catches) and reports the deadlock.
//   * Outside a Run (library testbenches, plain sequential code) nothing of this applies:
//     streams are unbounded queues and ALVEO_PROCESS calls its function directly.
//
// Depth overrides (set_depth_override) replace the declared depth of the named FIFOs in every
// later Run, so FIFO sizing can be explored without recompiling.
//
// Statistics: every FIFO made during a Run is recorded under its qualified name (the name of
// the process that declared it, "/", its own name): depth, peak occupancy, words written,
// words left at the end and, on deadlock, who waits on it. Processes are recorded by name with
// their calls, blocking waits and share of the run's time. Run::report_json() returns it all
// as one JSON object (the cppsim backend turns it into BUILD/cppsim/run.json).
#ifndef AF_SIM_HPP
#define AF_SIM_HPP

#include <cstddef>
#include <functional>
#include <string>

namespace afsim {

struct Process;

enum class Wait { none, read, write, join };

// The scheduler's view of one FIFO (embedded in every hls::stream).
struct Channel {
    const std::string* name = nullptr;  // qualified name (interned for the run), or null
    unsigned depth = 0;                 // capacity in words; 0: unbounded (outside a Run)
    size_t size = 0;                    // words held now (kept by the stream)
    size_t peak = 0;                    // most words held at once
    unsigned long long words = 0;       // words written
    const std::string* reader = nullptr;  // last process to read it
    const std::string* writer = nullptr;  // last process to write it
    Process* waiting = nullptr;           // a process blocked on it
    Wait waiting_for = Wait::none;
    bool registered = false;  // made during a Run: its statistics are recorded
};

// Cheap state the inline FIFO paths read.
extern bool g_active;                    // a Run is in progress
extern Process* g_current;               // the running process (null: the Run's owner)
extern const std::string* g_current_name;  // its interned name (null outside processes)

inline bool active() { return g_active; }

void block(Channel& ch, Wait why);  // current process waits on ch until woken
void wake(Channel& ch);             // make ch's waiting process ready again
void yield();                       // let the other ready processes run first
void open_channel(Channel& ch, const char* name, unsigned declared_depth);
void close_channel(Channel& ch);    // record ch's statistics (stream destroyed)

// Start fn as a process (a child of the current one); outside a Run, call it now.
void spawn(const char* name, std::function<void()> fn);
// Wait until every process the current process started has returned (no-op outside a Run).
void join();

class Run {
  public:
    Run();  // waits for any other Run of this library to finish
    ~Run();
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;
    // Execute the spawned processes. 0: all returned; 4: deadlock; 8: a process failed.
    int run();
    // Statistics of the last run() as JSON (valid until the next Run starts).
    static const char* report_json();
};

// Depth overrides for the FIFOs of later runs, by qualified name (what-if experiments on FIFO
// sizing without recompiling); a depth of 0 removes the override.
void set_depth_override(const std::string& name, unsigned depth);
void clear_depth_overrides();

// Writes a warning about a misused stream outside a Run (read while empty, leftover data).
void warn(const std::string& what);

// Called on every FIFO operation with the channel the current process touched.
inline void note_read(Channel& ch) { ch.reader = g_current_name; }
inline void note_write(Channel& ch) {
    ch.writer = g_current_name;
    ch.words++;
    if (ch.size > ch.peak) ch.peak = ch.size;
}

}  // namespace afsim

#endif  // AF_SIM_HPP
