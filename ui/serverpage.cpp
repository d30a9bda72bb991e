#include "serverpage.h"

#include "base/error.h"
#include "elidedlabel.h"
#include "formatting.h"
#include "remoteserverbox.h"
#include "requestlogmodel.h"
#include "servercontroller.h"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStringListModel>
#include <QTableView>
#include <QVBoxLayout>

namespace surfing::ui {

ServerPage::ServerPage(ServerController *controller, RequestLogModel *log, QWidget *parent)
    : QWidget(parent)
    , m_controller(controller)
    , m_log(log)
    , m_dirs(new QStringListModel(this))
    , m_clients(new QStringListModel(this))
{
    auto *layout = new QHBoxLayout(this);
    auto *left = new QVBoxLayout;
    left->addWidget(buildSetup(), 1);
    left->addWidget(buildRemote());
    layout->addLayout(left, 2);
    layout->addWidget(buildActivity(), 3);

    connect(m_controller, &ServerController::stateChanged, this, &ServerPage::onStateChanged);
    connect(m_controller, &ServerController::statsUpdated, this, &ServerPage::onStats);
    connect(m_controller, &ServerController::started, this, [this](const QUrl &url, const QStringList &models) {
        m_log->addNote(tr("listening on %1, serving %2").arg(url.toString(), models.join(QStringLiteral(", "))));
        Q_EMIT statusMessage(tr("Server listening on %1").arg(url.toString()));
    });
    connect(m_controller, &ServerController::stopped, this, [this] {
        m_clients->setStringList({});
        m_log->addNote(tr("server stopped"));
    });
    connect(m_controller, &ServerController::failed, this, [this](const QString &message) {
        QString action = tr("Check the chunk folders and the settings, then press Start again.");
        if (message.contains(QLatin1String("in use"), Qt::CaseInsensitive) || message.contains(QLatin1String("address"), Qt::CaseInsensitive))
            action = tr("Another program uses port %1: pick another port (0 picks a free one) and press Start.").arg(m_port->value());
        Q_EMIT errorOccurred(tr("The server did not start: %1").arg(message), action);
    });
    connect(m_controller, &ServerController::clientConnected, this, [this](const QString &peer) {
        QStringList list = m_clients->stringList();
        list.append(peer);
        m_clients->setStringList(list);
        m_log->addNote(tr("%1 connected").arg(peer));
    });
    connect(m_controller, &ServerController::clientDisconnected, this, [this](const QString &peer) {
        QStringList list = m_clients->stringList();
        list.removeOne(peer);
        m_clients->setStringList(list);
        m_log->addNote(tr("%1 disconnected").arg(peer));
    });
    connect(m_controller, &ServerController::requestServed, m_log, &RequestLogModel::addServed);
    connect(m_controller, &ServerController::requestFailed, m_log, &RequestLogModel::addFailure);
    onStateChanged();
}

QWidget *ServerPage::buildSetup()
{
    auto *box = new QGroupBox(tr("Local server (runs inside this app)"), this);
    auto *layout = new QVBoxLayout(box);
    layout->addWidget(new QLabel(tr("Chunk folders to serve (one model each):"), box));
    m_dirView = new QListView(box);
    m_dirView->setModel(m_dirs);
    m_dirView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    layout->addWidget(m_dirView, 1);
    auto *dirButtons = new QHBoxLayout;
    auto *add = new QPushButton(tr("Add folder…"), box);
    auto *remove = new QPushButton(tr("Remove"), box);
    dirButtons->addWidget(add);
    dirButtons->addWidget(remove);
    dirButtons->addStretch(1);
    layout->addLayout(dirButtons);
    connect(add, &QPushButton::clicked, this, &ServerPage::addChunkDirDialog);
    connect(remove, &QPushButton::clicked, this, &ServerPage::removeSelectedDir);

    auto *form = new QFormLayout;
    m_host = new QLineEdit(QStringLiteral("127.0.0.1"), box);
    m_port = new QSpinBox(box);
    m_port->setRange(0, 65535);
    m_port->setValue(8765);
    m_port->setToolTip(tr("0 picks a free port"));
    m_token = new QLineEdit(box);
    m_token->setEchoMode(QLineEdit::PasswordEchoOnEdit);
    m_token->setPlaceholderText(tr("none: anyone on the host may connect"));
    m_tls = new QCheckBox(tr("Serve wss:// with TLS"), box);
    m_cert = new QLineEdit(box);
    m_cert->setPlaceholderText(tr("certificate (PEM)"));
    m_key = new QLineEdit(box);
    m_key->setPlaceholderText(tr("private key (PEM)"));
    auto *certRow = new QHBoxLayout;
    auto *certBrowse = new QPushButton(tr("…"), box);
    certRow->addWidget(m_cert, 1);
    certRow->addWidget(certBrowse);
    auto *keyRow = new QHBoxLayout;
    auto *keyBrowse = new QPushButton(tr("…"), box);
    keyRow->addWidget(m_key, 1);
    keyRow->addWidget(keyBrowse);
    m_cacheMb = new QSpinBox(box);
    m_cacheMb->setRange(0, 1 << 20);
    m_cacheMb->setValue(512);
    m_cacheMb->setSuffix(tr(" MiB"));
    form->addRow(tr("Host"), m_host);
    form->addRow(tr("Port"), m_port);
    form->addRow(tr("Token"), m_token);
    form->addRow(QString(), m_tls);
    form->addRow(tr("Certificate"), certRow);
    form->addRow(tr("Key"), keyRow);
    form->addRow(tr("Cache budget"), m_cacheMb);
    layout->addLayout(form);
    for (QWidget *w : {static_cast<QWidget *>(m_cert), static_cast<QWidget *>(m_key), static_cast<QWidget *>(certBrowse), static_cast<QWidget *>(keyBrowse)}) {
        w->setEnabled(false);
        connect(m_tls, &QCheckBox::toggled, w, &QWidget::setEnabled);
    }
    connect(certBrowse, &QPushButton::clicked, this, [this] { browseTls(m_cert, tr("TLS certificate")); });
    connect(keyBrowse, &QPushButton::clicked, this, [this] { browseTls(m_key, tr("TLS private key")); });

    auto *run = new QHBoxLayout;
    m_startStop = new QPushButton(tr("Start server"), box);
    m_startStop->setProperty("primary", true);
    m_startStop->setToolTip(tr("Start or stop the local server (Ctrl+R)"));
    m_state = new ElidedLabel(box);
    run->addWidget(m_startStop);
    run->addWidget(m_state, 1);
    layout->addLayout(run);
    connect(m_startStop, &QPushButton::clicked, this, &ServerPage::toggle);
    return box;
}

QWidget *ServerPage::buildRemote()
{
    m_remote = new RemoteServerBox(this);
    connect(m_remote, &RemoteServerBox::remoteServerChosen, this, &ServerPage::remoteServerChosen);
    connect(m_remote, &RemoteServerBox::errorOccurred, this, &ServerPage::errorOccurred);
    connect(m_remote, &RemoteServerBox::statusMessage, this, &ServerPage::statusMessage);
    return m_remote;
}

QWidget *ServerPage::buildActivity()
{
    auto *splitter = new QSplitter(Qt::Vertical, this);
    auto *top = new QWidget(splitter);
    auto *topLayout = new QHBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    auto *clientsBox = new QGroupBox(tr("Connected clients"), top);
    auto *clientsLayout = new QVBoxLayout(clientsBox);
    auto *clientsView = new QListView(clientsBox);
    clientsView->setModel(m_clients);
    clientsView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    clientsLayout->addWidget(clientsView);
    auto *statsBox = new QGroupBox(tr("Server statistics"), top);
    auto *statsLayout = new QVBoxLayout(statsBox);
    m_stats = new QLabel(statsBox);
    m_stats->setTextFormat(Qt::RichText);
    m_stats->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    statsLayout->addWidget(m_stats);
    topLayout->addWidget(clientsBox, 1);
    topLayout->addWidget(statsBox, 1);

    auto *logBox = new QGroupBox(tr("Request log"), splitter);
    auto *logLayout = new QVBoxLayout(logBox);
    m_logView = new QTableView(logBox);
    m_logView->setModel(m_log);
    m_logView->verticalHeader()->hide();
    // Every column fits the page: the long one (chunk or event) takes what is left, elided.
    m_logView->horizontalHeader()->setStretchLastSection(false);
    m_logView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_logView->horizontalHeader()->setSectionResizeMode(RequestLogModel::Chunk, QHeaderView::Stretch);
    m_logView->setTextElideMode(Qt::ElideMiddle);
    m_logView->setWordWrap(false);
    m_logView->setAlternatingRowColors(true);
    logLayout->addWidget(m_logView);
    connect(m_log, &QAbstractItemModel::rowsInserted, m_logView, &QTableView::scrollToBottom);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 2);
    onStats({});
    return splitter;
}

void ServerPage::addChunkDir(const QString &dir)
{
    QStringList dirs = m_dirs->stringList();
    if (!dirs.contains(dir)) {
        dirs.append(dir);
        m_dirs->setStringList(dirs);
    }
    onStateChanged();
}

QStringList ServerPage::chunkDirs() const
{
    return m_dirs->stringList();
}

void ServerPage::setPort(int port)
{
    m_port->setValue(port);
}

WeightServerOptions ServerPage::options() const
{
    WeightServerOptions o;
    if (!o.host.setAddress(m_host->text().trimmed()))
        throw Error(tr("Host '%1' is not an IP address.").arg(m_host->text()));
    o.port = quint16(m_port->value());
    o.token = m_token->text();
    o.cacheBytes = qint64(m_cacheMb->value()) * 1024 * 1024;
    if (m_tls->isChecked()) {
        o.tlsCertFile = m_cert->text().trimmed();
        o.tlsKeyFile = m_key->text().trimmed();
        if (o.tlsCertFile.isEmpty() || o.tlsKeyFile.isEmpty())
            throw Error(tr("TLS needs both a certificate and a private key file."));
    }
    return o;
}

void ServerPage::start()
{
    if (m_dirs->stringList().isEmpty()) {
        Q_EMIT errorOccurred(tr("No chunk folder to serve."),
                             tr("Chunk a model on the Chunk page and press \u201cServe these chunks\u201d, or Add folder…"));
        return;
    }
    WeightServerOptions o;
    try {
        o = options();
    } catch (const Error &e) {
        Q_EMIT errorOccurred(e.message(), tr("Correct the field and press Start again."));
        return;
    }
    m_controller->start(o, m_dirs->stringList());
}

void ServerPage::stop()
{
    m_controller->stop();
}

void ServerPage::toggle()
{
    if (m_controller->state() == ServerController::State::Running)
        stop();
    else
        start();
}

void ServerPage::addChunkDirDialog()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a chunk folder"));
    if (dir.isEmpty())
        return;
    if (!QFileInfo::exists(QDir(dir).filePath(QStringLiteral("chunk_info.json")))) {
        Q_EMIT errorOccurred(tr("%1 is not a chunk folder: it has no chunk_info.json.").arg(dir),
                             tr("Chunk the model first on the Chunk page."));
        return;
    }
    addChunkDir(dir);
}

void ServerPage::removeSelectedDir()
{
    const QModelIndex index = m_dirView->currentIndex();
    if (index.isValid())
        m_dirs->removeRow(index.row());
    onStateChanged();
}

void ServerPage::browseTls(QLineEdit *edit, const QString &title)
{
    const QString file = QFileDialog::getOpenFileName(this, title, QString(), tr("PEM (*.pem *.crt *.key);;All files (*)"));
    if (!file.isEmpty())
        edit->setText(file);
}

void ServerPage::onStateChanged()
{
    const ServerController::State state = m_controller->state();
    const bool stopped = state == ServerController::State::Stopped;
    m_startStop->setText(state == ServerController::State::Running ? tr("Stop server") : tr("Start server"));
    m_startStop->setEnabled(state == ServerController::State::Running || (stopped && !m_dirs->stringList().isEmpty()));
    for (QWidget *w : {static_cast<QWidget *>(m_host), static_cast<QWidget *>(m_port), static_cast<QWidget *>(m_token),
                       static_cast<QWidget *>(m_tls), static_cast<QWidget *>(m_cacheMb)})
        w->setEnabled(stopped);
    switch (state) {
    case ServerController::State::Stopped: m_state->setFullText(tr("Stopped")); break;
    case ServerController::State::Starting: m_state->setFullText(tr("Starting…")); break;
    case ServerController::State::Stopping: m_state->setFullText(tr("Stopping…")); break;
    case ServerController::State::Running:
        m_state->setFullText(tr("Listening on %1 · %n model(s): %2", nullptr, int(m_controller->modelNames().size()))
                                 .arg(m_controller->url().toString(), m_controller->modelNames().join(QStringLiteral(", "))));
        break;
    }
}

void ServerPage::onStats(const ServerStats &s)
{
    const qint64 lookups = s.cache.hits + s.cache.misses;
    const QString rows = tr(
        "<table cellspacing=4>"
        "<tr><td>Requests</td><td align=right>%1</td></tr>"
        "<tr><td>Chunks served</td><td align=right>%2</td></tr>"
        "<tr><td>Bytes sent</td><td align=right>%3</td></tr>"
        "<tr><td>Open connections</td><td align=right>%4 (of %5 total)</td></tr>"
        "<tr><td>Latency p50 / p99</td><td align=right>\u2264 %6 / \u2264 %7</td></tr>"
        "<tr><td><b>Cache</b> hits / misses</td><td align=right>%8 / %9 (%10%)</td></tr>"
        "<tr><td>Cached</td><td align=right>%11 of %12 in %13 chunks</td></tr>"
        "<tr><td>Evictions</td><td align=right>%14</td></tr>"
        "<tr><td>Read from storage</td><td align=right>%15</td></tr>"
        "</table>")
        .arg(s.requestsTotal()).arg(s.chunksServed).arg(formatBytes(s.bytesSent))
        .arg(s.connectionsOpen).arg(s.connectionsTotal)
        .arg(formatMilliseconds(s.latencyP50Seconds * 1000), formatMilliseconds(s.latencyP99Seconds * 1000))
        .arg(s.cache.hits).arg(s.cache.misses).arg(lookups ? 100.0 * s.cache.hits / lookups : 0.0, 0, 'f', 1)
        .arg(formatBytes(s.cache.bytesCached), formatBytes(s.cache.budgetBytes)).arg(s.cache.entries)
        .arg(s.cache.evictions).arg(formatBytes(s.cache.bytesLoaded));
    m_stats->setText(rows); // sizes and times carry no-break spaces: a unit never wraps alone
}

QString ServerPage::stateText() const
{
    return m_state->fullText();
}

QString ServerPage::statsText() const
{
    return m_stats->text();
}

void ServerPage::loadSettings()
{
    QSettings s;
    m_host->setText(s.value(QStringLiteral("server/host"), QStringLiteral("127.0.0.1")).toString());
    m_port->setValue(s.value(QStringLiteral("server/port"), 8765).toInt());
    m_cacheMb->setValue(s.value(QStringLiteral("server/cacheMb"), 512).toInt());
    m_remote->loadSettings();
    for (const QString &dir : s.value(QStringLiteral("server/chunkDirs")).toStringList())
        if (QFileInfo::exists(QDir(dir).filePath(QStringLiteral("chunk_info.json"))))
            addChunkDir(dir);
}

void ServerPage::saveSettings() const
{
    QSettings s;
    s.setValue(QStringLiteral("server/host"), m_host->text());
    s.setValue(QStringLiteral("server/port"), m_port->value());
    s.setValue(QStringLiteral("server/cacheMb"), m_cacheMb->value());
    m_remote->saveSettings();
    s.setValue(QStringLiteral("server/chunkDirs"), chunkDirs());
}

} // namespace surfing::ui
