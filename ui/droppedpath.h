// What a path dropped on the window (or picked with Open...) is: a model to chunk or a chunk
// directory to serve. Anything else is refused with a message naming the path.
#pragma once

#include <QString>

class QMimeData;

namespace surfing::ui {

struct DroppedPath {
    enum class Kind { Model, ChunkDir };
    Kind kind = Kind::Model;
    QString dir; // the model directory or the chunk directory
};

// Throws surfing::Error saying what the path is and what would be accepted. A hub name ORG/NAME
// that is not a local path is looked up in the local Hugging Face cache (format/hubcache.h).
DroppedPath classifyPath(const QString &pathOrHubName);

// The first local file or folder the mime data carries; empty when none.
QString localPathFromMime(const QMimeData *mime);

} // namespace surfing::ui
