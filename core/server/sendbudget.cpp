#include "server/sendbudget.h"

namespace surfing {

SendBudget::SendBudget(qint64 limit, QObject *parent) : QObject(parent), m_limit(limit)
{
    m_notify.setSingleShot(true);
    m_notify.setInterval(0);
    connect(&m_notify, &QTimer::timeout, this, &SendBudget::roomMade);
}

std::shared_ptr<SendBudget::Reservation> SendBudget::reserve(qint64 bytes)
{
    change(qMax<qint64>(0, bytes));
    return std::shared_ptr<Reservation>(new Reservation(this, qMax<qint64>(0, bytes)));
}

void SendBudget::change(qint64 delta)
{
    m_used += delta;
    if (delta < 0 && !m_notify.isActive())
        m_notify.start();
}

SendBudget::Reservation::~Reservation()
{
    if (m_budget)
        m_budget->change(-m_bytes);
}

void SendBudget::Reservation::resize(qint64 bytes)
{
    bytes = qMax<qint64>(0, bytes);
    if (m_budget)
        m_budget->change(bytes - m_bytes);
    m_bytes = bytes;
}

} // namespace surfing
