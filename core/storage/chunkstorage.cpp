#include "storage/chunkstorage.h"

#include <QEventLoop>
#include <optional>

namespace surfing {

namespace {

template <typename T, typename Start>
T waitFor(Start start)
{
    QEventLoop loop;
    std::optional<T> result;
    start(Callback<T>(&loop, [&](T value) {
        result = std::move(value);
        loop.quit();
    }));
    // The callback is queued to this thread: it runs inside exec(), never before it.
    loop.exec();
    return std::move(*result);
}

} // namespace

ReadResult readAndWait(ChunkStorage &storage, const QString &name, ByteRange range)
{
    return waitFor<ReadResult>([&](ReadCallback done) { storage.read(name, range, std::move(done)); });
}

HealthResult checkHealthAndWait(ChunkStorage &storage)
{
    return waitFor<HealthResult>([&](HealthCallback done) { storage.checkHealth(std::move(done)); });
}

} // namespace surfing
