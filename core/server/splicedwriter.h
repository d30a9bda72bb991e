// Writes WebSocket frames to a plain TCP socket with the payload passed by reference rather than
// copied (Linux: vmsplice() into a pipe, splice() from it to the socket). On loopback the server's
// copy of every byte it sends was ~140 ms of CPU per GB, on the same two cores that compute and
// receive (docs/benchmarks-bounded.md); by reference the kernel hands the pages themselves to the
// receiver, which makes its one copy.
//
// The pages must not change until the peer has read them, which the sender cannot know: only
// memory that is never written while it is alive and goes straight back to the kernel when freed
// qualifies (a chunk's bytes: allocated at their final size and written once when read from
// storage, shared read-only after, and at least protocol::ownMappingMinBytes(), so freeing
// unmaps them and the kernel keeps the pages as long as the socket holds them). What the socket does not take now is dropped from the pipe: the caller
// queues those bytes itself, from its own memory, as after a short writev().
#pragma once

#include <QtGlobal>
#include <vector>

namespace surfing {

class SplicedWriter
{
public:
    struct Part {
        const char *data;
        qint64 size;
        bool byReference; // see above; else the bytes are copied into the pipe
    };

    SplicedWriter(); // a pipe of 1 MiB where the kernel allows it; isValid() false without one
    ~SplicedWriter();
    SplicedWriter(const SplicedWriter &) = delete;
    SplicedWriter &operator=(const SplicedWriter &) = delete;

    bool isValid() const { return m_pipe[0] >= 0; }
    // Writes `parts` in order to `socketFd` (non-blocking) until it takes no more; returns the bytes
    // it took (as writev would). After an error of the pipe this writer turns invalid.
    qint64 write(int socketFd, const std::vector<Part> &parts);

private:
    int m_pipe[2] = {-1, -1};
    int m_devNull = -1;
    bool m_announced = false; // the debug log says once per connection that this way is used

    qint64 fill(const std::vector<Part> &parts, size_t &part, qint64 &offset);
    bool drop(qint64 bytes);
    void close();
};

} // namespace surfing
