// The Server page: chunk folders to serve, host/port/token/TLS/cache budget, Start/Stop of the
// in-process server, connected clients, the request log and the server cache statistics; or the
// URL of a remote server for the Playground.
#pragma once

#include "server/weightserveroptions.h"

#include <QUrl>
#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QListView;
class QPushButton;
class QSpinBox;
class QStringListModel;
class QTableView;

namespace surfing {
struct ServerStats;
}

namespace surfing::ui {

class ElidedLabel;
class RemoteServerBox;
class RequestLogModel;
class ServerController;

class ServerPage : public QWidget
{
    Q_OBJECT
public:
    ServerPage(ServerController *controller, RequestLogModel *log, QWidget *parent = nullptr);

    void addChunkDir(const QString &dir);
    QStringList chunkDirs() const;
    void setPort(int port);
    // The options as entered; throws surfing::Error naming the field when one is invalid.
    WeightServerOptions options() const;
    QStringListModel *clientsModel() const { return m_clients; }
    QString statsText() const;
    QString stateText() const;
    RemoteServerBox *remoteBox() const { return m_remote; }

    void loadSettings();
    void saveSettings() const;

public Q_SLOTS:
    void start();
    void stop();
    void toggle();

Q_SIGNALS:
    void errorOccurred(const QString &message, const QString &action);
    void statusMessage(const QString &message);
    // `replicas`: further servers of the same model (the field takes a comma-separated list).
    void remoteServerChosen(const QUrl &url, const QString &token, const QList<QUrl> &replicas);

private:
    QWidget *buildSetup();
    QWidget *buildRemote();
    QWidget *buildActivity();
    void addChunkDirDialog();
    void removeSelectedDir();
    void browseTls(QLineEdit *edit, const QString &title);
    void onStateChanged();
    void onStats(const ServerStats &stats);

    ServerController *m_controller;
    RequestLogModel *m_log;
    QStringListModel *m_dirs;
    QStringListModel *m_clients;
    QListView *m_dirView;
    QLineEdit *m_host;
    QSpinBox *m_port;
    QLineEdit *m_token;
    QCheckBox *m_tls;
    QLineEdit *m_cert;
    QLineEdit *m_key;
    QSpinBox *m_cacheMb;
    QPushButton *m_startStop;
    ElidedLabel *m_state;
    QLabel *m_stats;
    RemoteServerBox *m_remote;
    QTableView *m_logView;
};

} // namespace surfing::ui
