#include "metricshistorymodel.h"

namespace surfing::ui {

MetricsHistoryModel::MetricsHistoryModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

void MetricsHistoryModel::append(const MetricsSample &sample)
{
    if (m_samples.size() >= m_capacity) {
        beginRemoveRows({}, 0, 0);
        m_samples.removeFirst();
        endRemoveRows();
    }
    beginInsertRows({}, int(m_samples.size()), int(m_samples.size()));
    m_samples.append(sample);
    endInsertRows();
}

void MetricsHistoryModel::clear()
{
    beginResetModel();
    m_samples.clear();
    endResetModel();
}

void MetricsHistoryModel::setCapacity(int samples)
{
    m_capacity = qMax(1, samples);
}

double MetricsHistoryModel::value(const MetricsSample &s, int column)
{
    switch (column) {
    case Seconds: return s.seconds;
    case HitRate: return s.hitRate;
    case FetchLatency: return s.fetchLatencyMs;
    case Rss: return s.rssMb;
    case ClientCache: return s.clientCacheMb;
    case ServerCache: return s.serverCacheMb;
    case Throughput: return s.throughputMbps;
    case TokensPerSecond: return s.tokensPerSecond;
    case ProcessCpu: return s.processCpuPercent;
    case MachineCpu: return s.machineCpuPercent;
    }
    return std::nan("");
}

QByteArray MetricsHistoryModel::toCsv() const
{
    QByteArray csv = "seconds,hit_rate,fetch_latency_ms,rss_mb,client_cache_mb,server_cache_mb,throughput_mb_s,tokens_per_s,process_cpu_percent,machine_cpu_percent\n";
    for (const MetricsSample &s : m_samples) {
        QStringList fields;
        for (int c = 0; c < ColumnCount; ++c) {
            const double v = value(s, c);
            fields << (std::isnan(v) ? QString() : QString::number(v, 'f', c == Seconds ? 3 : 4));
        }
        csv += fields.join(QLatin1Char(',')).toUtf8() + '\n';
    }
    return csv;
}

int MetricsHistoryModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_samples.size());
}

int MetricsHistoryModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MetricsHistoryModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_samples.size() || (role != Qt::DisplayRole && role != Qt::UserRole))
        return {};
    const double v = value(m_samples.at(index.row()), index.column());
    if (std::isnan(v))
        return {};
    return v;
}

QVariant MetricsHistoryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Seconds: return tr("Time (s)");
    case HitRate: return tr("Hit rate");
    case FetchLatency: return tr("Fetch latency (ms)");
    case Rss: return tr("Process RSS (MiB)");
    case ClientCache: return tr("Client cache (MiB)");
    case ServerCache: return tr("Server cache (MiB)");
    case Throughput: return tr("Throughput (MiB/s)");
    case TokensPerSecond: return tr("Tokens/s");
    case ProcessCpu: return tr("Process CPU (% of a core)");
    case MachineCpu: return tr("Machine CPU (%)");
    }
    return {};
}

} // namespace surfing::ui
