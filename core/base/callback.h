// How asynchronous work in core/ hands back its result: a Callback<T>, called from whichever
// thread finishes the work, runs its function exactly once on the thread of a context QObject
// (through that thread's event loop), or never if the context is destroyed first. It replaces
// QFuture::then(), whose Qt 6.4 continuations raced with the finishing thread.
//
//   storage->read(name, {}, ReadCallback(this, [this](ReadResult r) { ... }));
//
// Only the first call of a Callback (or of any copy of it) counts; later calls do nothing.
// Callback::direct() runs the function in the calling thread instead, for thread-safe receivers
// that own no event loop (ServerCache).
#pragma once

#include <QObject>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace surfing {

template <typename T>
class Callback
{
public:
    using Function = std::function<void(T)>;

    Callback() = default; // calls to an empty Callback do nothing

    // Create it on `context`'s thread, or while `context` is certainly alive.
    Callback(QObject *context, Function function) : m_state(std::make_shared<State>())
    {
        m_state->context = context;
        m_state->function = std::move(function);
        // Runs inside ~QObject on the context's thread, before Qt drops the events posted to it:
        // after it, nothing is posted to the context any more.
        m_state->watch = QObject::connect(context, &QObject::destroyed,
                                          [weak = std::weak_ptr<State>(m_state)] {
                                              if (const auto state = weak.lock())
                                                  state->forget();
                                          });
    }

    static Callback direct(Function function)
    {
        Callback callback;
        callback.m_state = std::make_shared<State>();
        callback.m_state->function = std::move(function);
        callback.m_state->direct = true;
        return callback;
    }

    // Callable from any thread.
    void operator()(T value) const
    {
        State *state = m_state.get();
        if (!state)
            return;
        std::unique_lock lock(state->mutex);
        if (state->done)
            return;
        state->done = true;
        if (state->direct) {
            Function function = std::exchange(state->function, nullptr);
            lock.unlock();
            function(std::move(value));
            return;
        }
        if (!state->context)
            return; // destroyed: dropped
        // Posted under the lock, so the context cannot finish ~QObject meanwhile (its destroyed()
        // handler waits for the lock); events still queued when it dies are discarded by Qt.
        QMetaObject::invokeMethod(
            state->context,
            [shared = m_state, value = std::move(value)]() mutable { shared->deliver(std::move(value)); },
            Qt::QueuedConnection);
    }

private:
    struct State {
        std::mutex mutex;
        QObject *context = nullptr;
        Function function;
        QMetaObject::Connection watch;
        bool direct = false;
        bool done = false;

        ~State() { QObject::disconnect(watch); }

        void forget()
        {
            Function dropped;
            std::lock_guard lock(mutex);
            context = nullptr;
            dropped = std::exchange(function, nullptr); // destroyed after the lock is released
        }

        // On the context's thread, the context alive.
        void deliver(T value)
        {
            QObject::disconnect(watch);
            Function function;
            {
                std::lock_guard lock(mutex);
                function = std::exchange(this->function, nullptr);
            }
            if (function)
                function(std::move(value));
        }
    };

    std::shared_ptr<State> m_state;
};

} // namespace surfing
