// Bytes the server holds for sending to its clients (chunks loading or being sent), against a
// server-wide bound: a client that never reads must not pin chunks the cache already let go.
// A Reservation gives its bytes back when its last copy goes, wherever that happens (a finished
// transfer, a cancel, a failed read, a closed connection).
#pragma once

#include <QObject>
#include <QPointer>
#include <QTimer>
#include <memory>

namespace surfing {

class SendBudget : public QObject
{
    Q_OBJECT
public:
    class Reservation
    {
    public:
        ~Reservation();
        Reservation(const Reservation &) = delete;
        Reservation &operator=(const Reservation &) = delete;
        qint64 bytes() const { return m_bytes; }
        void resize(qint64 bytes);

    private:
        friend class SendBudget;
        Reservation(SendBudget *budget, qint64 bytes) : m_budget(budget), m_bytes(bytes) {}
        QPointer<SendBudget> m_budget;
        qint64 m_bytes;
    };

    explicit SendBudget(qint64 limit, QObject *parent = nullptr);

    qint64 limit() const { return m_limit; }
    qint64 used() const { return m_used; }
    // Room for one more transfer: below the limit (one may take it past it, like a full bucket).
    bool hasRoom() const { return m_limit <= 0 || m_used < m_limit; }
    std::shared_ptr<Reservation> reserve(qint64 bytes);

Q_SIGNALS:
    // Bytes went back: waiting connections may go on. Queued, at most once per event-loop turn.
    void roomMade();

private:
    void change(qint64 delta);

    qint64 m_limit;
    qint64 m_used = 0;
    QTimer m_notify;
};

} // namespace surfing
