// MainWindow, the run side: a Playground request becomes a run (memory check, a fresh timeline),
// its progress, results and errors go to the pages, the memory estimate follows the setup.
#include "mainwindow.h"

#include "base/error.h"
#include "chatpanel.h"
#include "chatview.h"
#include "client/memoryestimate.h"
#include "erroradvice.h"
#include "errorbanner.h"
#include "formatting.h"
#include "inferencecontroller.h"
#include "memoryestimatelabel.h"
#include "metricssampler.h"
#include "playgroundpage.h"
#include "servercontroller.h"
#include "serverpage.h"
#include "timelinemodel.h"

#include <QDir>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>

namespace surfing::ui {

void MainWindow::connectInference()
{
    PlaygroundPage *page = m_playgroundPage;
    connect(page, &PlaygroundPage::runRequested, this, &MainWindow::startRun);
    connect(page, &PlaygroundPage::stopRequested, m_inference, &InferenceController::cancel);
    connect(page, &PlaygroundPage::setupChanged, this, &MainWindow::updateMemoryEstimate);
    connect(m_inference, &InferenceController::runningChanged, page, &PlaygroundPage::setRunning);
    connect(m_inference, &InferenceController::runningChanged, this, [this](bool running) {
        if (!running && m_restartPending && m_server->state() == ServerController::State::Running)
            m_server->stop(); // the restart that waited for the run; stopped() starts it again
    });
    connect(m_inference, &InferenceController::progressMessage, page, &PlaygroundPage::showStats);
    connect(m_inference, &InferenceController::connectAttempted, page, [page](const QUrl &url, int attempt) {
        page->showStats(tr("Connecting to %1 · attempt %2 · Stop cancels").arg(url.toString()).arg(attempt));
    });
    connect(m_inference, &InferenceController::cancelled, this, [this, page](const QString &message) {
        page->chatPanel()->showFailure(message); // the turn that was waiting for the connection
        page->showStats(message);
        showInfo(message);
    });
    connect(m_inference, &InferenceController::manifestKnown, this, [this](const QString &, const ChunkManifest &manifest) {
        if (m_lastRequest.source == PlaygroundRequest::Source::RemoteServer)
            m_manifests.insert(m_lastRequest.serverUrl.toString() + QLatin1Char('|') + m_lastRequest.model, manifest);
        updateMemoryEstimate();
    });
    ChatPanel *chat = page->chatPanel();
    connect(m_inference, &InferenceController::modelOpened, page, &PlaygroundPage::setModelInfo);
    connect(m_inference, &InferenceController::tokenGenerated, chat, &ChatPanel::appendToken);
    connect(m_inference, &InferenceController::tokenGenerated, m_sampler, [this] { m_sampler->addTokens(1); });
    connect(m_inference, &InferenceController::layerEventsRecorded, m_timeline, &TimelineModel::addEvents);
    connect(m_inference, &InferenceController::layerEventsRecorded, m_sampler, &MetricsSampler::addLayerEvents);
    connect(m_inference, &InferenceController::clientCacheBytesChanged, m_sampler, &MetricsSampler::setClientCacheBytes);
    connect(m_inference, &InferenceController::finished, this, [this, page, chat](const InferenceResult &result) {
        if (m_bannerFromRun) // the run that failed before works now
            m_banner->dismiss();
        m_bannerFromRun = false;
        chat->showResult(result);
        page->showStats(chat->statsText() + tr(" · weights from %1").arg(describeSource(m_lastRequest)));
    });
    connect(m_inference, &InferenceController::similaritiesComputed, chat, &ChatPanel::showSimilarities);
    connect(m_inference, &InferenceController::runRefused, this, [this, chat](const QString &message, const QString &action) {
        chat->showFailure(message);
        showError(message, action);
    });
    connect(m_inference, &InferenceController::failed, this, &MainWindow::onRunFailed);
}

void MainWindow::onRunFailed(const QString &message)
{
    PlaygroundPage *page = m_playgroundPage;
    page->chatPanel()->showFailure(message);
    page->showStats(tr("Failed · %1").arg(describeSource(m_lastRequest)));
    showError(tr("Inference failed: %1").arg(message), adviceForRunError(message, m_lastRequest));
    m_bannerFromRun = true;
    const std::optional<ContextOverflow> overflow = contextOverflowIn(message);
    if (!overflow || currentPage() != PlaygroundTab)
        return;
    // Too long for the model: the field to change is where the cursor is, and one click runs
    // the same turn again with what fits.
    if (overflow->promptAloneTooLong()) {
        page->chatPanel()->promptEdit()->setFocus(Qt::OtherFocusReason);
        return;
    }
    page->focusMaxTokens();
    const int allowed = overflow->allowedNewTokens();
    const int turn = page->chatPanel()->chatView()->turnCount() - 1;
    m_banner->setFixButton(allowed == 1 ? tr("Run with 1 new token") : tr("Run with %1 new tokens").arg(allowed), [page, allowed, turn] {
        page->setMaxTokens(allowed);
        page->regenerate(turn);
    });
    placeBanner();
}

QString MainWindow::describeSource(const PlaygroundRequest &r) const
{
    if (r.source == PlaygroundRequest::Source::ChunkFolder)
        return QDir::toNativeSeparators(r.chunkDir);
    QStringList urls; // every server of the list: the client spreads its requests over them
    for (QUrl url : QList<QUrl>{r.serverUrl} + r.replicas) {
        if (!r.model.isEmpty())
            url.setPath(QLatin1Char('/') + r.model);
        urls << url.toString();
    }
    return urls.join(QStringLiteral(", "));
}

const ChunkManifest *MainWindow::manifestFor(const PlaygroundRequest &r)
{
    if (r.source == PlaygroundRequest::Source::RemoteServer) {
        const auto it = m_manifests.constFind(r.serverUrl.toString() + QLatin1Char('|') + r.model);
        return it == m_manifests.constEnd() ? nullptr : &it.value();
    }
    if (r.chunkDir.isEmpty())
        return nullptr;
    auto it = m_manifests.find(r.chunkDir);
    if (it == m_manifests.end()) {
        try {
            it = m_manifests.insert(r.chunkDir, ChunkManifest::load(r.chunkDir));
        } catch (const Error &) {
            return nullptr;
        }
    }
    return &it.value();
}

void MainWindow::setAvailableMemoryBytes(qint64 bytes)
{
    m_availableOverride = bytes;
    updateMemoryEstimate();
}

void MainWindow::updateMemoryEstimate()
{
    PlaygroundRequest r;
    try {
        r = m_playgroundPage->request(false);
    } catch (const Error &) {
        m_memoryEstimate->setUnknown(tr("choose a model"));
        return;
    }
    const ChunkManifest *manifest = manifestFor(r);
    if (!manifest) {
        m_memoryEstimate->setUnknown(r.source == PlaygroundRequest::Source::RemoteServer
                                         ? tr("known after the first run from this server")
                                         : tr("choose a model"));
        return;
    }
    const qint64 available = m_availableOverride >= 0 ? m_availableOverride : availableMemoryBytes();
    m_memoryEstimate->setEstimate(estimateRunMemory(*manifest, r.cacheBytes, r.cacheLayers, r.options.prefetchDepth, available));
}

void MainWindow::startRun(const PlaygroundRequest &request)
{
    PlaygroundRequest r = request;
    if (r.source == PlaygroundRequest::Source::LocalServer && r.token.isEmpty()) {
        try {
            r.token = m_serverPage->options().token; // our own server's token
        } catch (const Error &) {
        }
    }
    updateMemoryEstimate();
    if (m_memoryEstimate->hasEstimate() && m_memoryEstimate->estimate().isKnownNotToFit()) {
        const MemoryEstimate &e = m_memoryEstimate->estimate();
        QMessageBox box(QMessageBox::Warning, tr("This run may not fit in memory"),
                        tr("The run is expected to need %1 at its peak, and this machine has %2 available.")
                            .arg(formatBytes(e.peakBytes()), formatBytes(e.availableBytes)),
                        QMessageBox::NoButton, this);
        box.setObjectName(QStringLiteral("memoryWarning"));
        box.setInformativeText(tr("Lower \u201cCache budget\u201d or \u201cCache chunks\u201d and the prefetch depth "
                                  "in the Playground to make it fit.\n\n%1").arg(e.breakdown()));
        QPushButton *run = box.addButton(tr("Run anyway"), QMessageBox::AcceptRole);
        box.addButton(QMessageBox::Cancel);
        box.setDefaultButton(QMessageBox::Cancel);
        box.exec();
        if (box.clickedButton() != run) {
            m_playgroundPage->withdrawLastTurn();
            showInfo(tr("Run not started: it would need more memory than is available"));
            return;
        }
    }
    m_lastRequest = r;
    m_timeline->startRun(r.source == PlaygroundRequest::Source::ChunkFolder
                             ? tr("%1 (chunk folder)").arg(QDir(r.chunkDir).dirName()) : describeSource(r));
    m_inference->start(r);
}

} // namespace surfing::ui
