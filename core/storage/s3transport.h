// The HTTP side of S3Storage: signs requests (SigV4), sends them with its own
// QNetworkAccessManager, retries 5xx answers with backoff, times out silent transfers and turns
// every failure into a surfing::Error naming the object. Lives on S3Storage's I/O thread; call
// its methods only there (S3Storage marshals).
#pragma once

#include "storage/chunkstorage.h"
#include "storage/s3location.h"

#include <QHash>
#include <QNetworkProxy>
#include <QObject>

#include <functional>
#include <memory>

class QNetworkAccessManager;
class QNetworkReply;

namespace surfing {

class S3Transport : public QObject
{
    Q_OBJECT
public:
    explicit S3Transport(const S3Location &location, QObject *parent = nullptr);
    ~S3Transport() override; // fails what is still in flight

    void get(const QString &name, ByteRange range, const ReadCallback &done);
    void head(const QString &name, const HealthCallback &done);
    void put(const QString &name, const QByteArray &data, const Callback<QString> &done);
    void setProxy(const QNetworkProxy &proxy);

private:
    struct Operation {
        QByteArray method;
        QString name;
        ByteRange range;
        QByteArray body;
        int attempt = 0;
        std::function<void(QNetworkReply *reply, const QByteArray &body)> succeed;
        // `status`: the HTTP status, 0 when the endpoint could not be reached, -1 on a timeout.
        std::function<void(const QString &message, int status)> fail;
    };
    using OperationPtr = std::shared_ptr<Operation>;

    void start(const OperationPtr &operation);
    void send(const OperationPtr &operation);
    void finish(const OperationPtr &operation, QNetworkReply *reply, bool timedOut);
    void retryLater(const OperationPtr &operation, const QString &why);
    void complete(const OperationPtr &operation);
    QString describeFailure(const Operation &operation, QNetworkReply *reply,
                            const QByteArray &body) const;
    QString describeNetworkError(const Operation &operation, QNetworkReply *reply) const;

    S3Location m_location;
    QNetworkAccessManager *m_network;
    QList<OperationPtr> m_inFlight;
};

} // namespace surfing
