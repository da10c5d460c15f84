// hls_stream.h -- C-simulation model of hls::stream for alveoflow's cppsim (never synthesised:
// Vitis HLS uses its own hls_stream.h; this folder is only on g++'s include path).
//
// hls::stream<T, DEPTH> is a FIFO of T. hls::stream<T> (DEPTH 0) is the base of every depth,
// so a stream<T, 8> binds to a `hls::stream<T>&` parameter, as in Vitis HLS.
//
//  * During an afsim::Run (af_sim.hpp) the FIFO is bounded and blocking: it holds at most
//    DEPTH words (DEPTH 0: 2, Vitis' default FIFO depth), read() of an empty FIFO and write()
//    to a full one suspend the calling process until the other side moves. empty() polled by
//    a process that finds nothing lets the other processes run.
//  * Outside a Run it is an unbounded queue, like the classic C-simulation model: read() of an
//    empty stream prints a warning and returns T(), and a stream destroyed with words left
//    prints a warning.
//  * on_write(hook) calls hook(word) for every word written (cppsim taps).
#ifndef AF_CSIM_HLS_STREAM_H
#define AF_CSIM_HLS_STREAM_H

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "af_sim.hpp"

namespace hls {

template <class T, int DEPTH = 0> class stream;

template <class T> class stream<T, 0> {
  public:
    stream() { init("stream", 0); }
    explicit stream(const char* name) { init(name, 0); }
    explicit stream(const std::string& name) { init(name.c_str(), 0); }
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    virtual ~stream() {
        if (ch_.registered) {
            afsim::close_channel(ch_);
        } else if (ch_.size) {
            afsim::warn("hls::stream '" + name_ + "' contains leftover data");
        }
    }

    T read() {
        while (ch_.size == 0) {
            if (!can_block()) {
                afsim::warn("hls::stream '" + name_ + "' is read while empty");
                return T();
            }
            afsim::block(ch_, afsim::Wait::read);
        }
        T v = buf_[head_];
        head_ = (head_ + 1) & mask_;
        ch_.size--;
        afsim::note_read(ch_);
        if (ch_.waiting) afsim::wake(ch_);
        return v;
    }
    void read(T& v) { v = read(); }
    void operator>>(T& v) { v = read(); }

    void write(const T& v) {
        while (ch_.depth && ch_.size >= ch_.depth && can_block())
            afsim::block(ch_, afsim::Wait::write);
        if (ch_.size == buf_.size()) grow();
        buf_[(head_ + ch_.size) & mask_] = v;
        ch_.size++;
        afsim::note_write(ch_);
        if (hook_) hook_(v);
        if (ch_.waiting) afsim::wake(ch_);
    }
    void operator<<(const T& v) { write(v); }

    bool empty() {
        if (ch_.size == 0 && can_block()) afsim::yield();
        return ch_.size == 0;
    }
    bool full() const { return ch_.depth && ch_.size >= ch_.depth; }
    size_t size() const { return ch_.size; }
    bool read_nb(T& v) {
        if (ch_.size == 0) return false;
        v = read();
        return true;
    }
    bool write_nb(const T& v) {
        if (full()) return false;
        write(v);
        return true;
    }

    // Calls hook(word) for every word written from now on.
    void on_write(std::function<void(const T&)> hook) { hook_ = std::move(hook); }
    const std::string& name() const { return name_; }

  protected:
    stream(const char* name, unsigned depth) { init(name, depth ? depth : 2); }

  private:
    void init(const char* name, unsigned declared) {
        name_ = name ? name : "stream";
        buf_.resize(4);
        mask_ = 3;
        head_ = 0;
        if (afsim::active()) afsim::open_channel(ch_, name_.c_str(), declared ? declared : 2);
    }
    // A full or empty FIFO can only wait inside a process of a Run.
    static bool can_block() { return afsim::active() && afsim::g_current != nullptr; }
    void grow() {
        std::vector<T> bigger(buf_.size() * 2);
        for (size_t i = 0; i < ch_.size; i++) bigger[i] = buf_[(head_ + i) & mask_];
        buf_.swap(bigger);
        mask_ = buf_.size() - 1;
        head_ = 0;
    }

    std::string name_;
    std::vector<T> buf_;
    size_t head_ = 0, mask_ = 0;
    afsim::Channel ch_;
    std::function<void(const T&)> hook_;
};

template <class T, int DEPTH> class stream : public stream<T, 0> {
    static_assert(DEPTH > 0, "hls::stream depth must be positive");

  public:
    stream() : stream<T, 0>("stream", DEPTH) {}
    explicit stream(const char* name) : stream<T, 0>(name, DEPTH) {}
    explicit stream(const std::string& name) : stream<T, 0>(name.c_str(), DEPTH) {}
};

}  // namespace hls

#endif  // AF_CSIM_HLS_STREAM_H
