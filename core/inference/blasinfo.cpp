#include "inference/blasinfo.h"

#include "base/blastuning.h"

#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <dlfcn.h>
#include <link.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcBlas, "surfing.blas")

namespace surfing {
namespace {

int collectBlasLibrary(struct dl_phdr_info *info, size_t, void *data)
{
    const QString path = QFile::decodeName(info->dlpi_name);
    const QString name = QFileInfo(path).fileName();
    if (name.startsWith(QLatin1String("libblas.so")) || name.startsWith(QLatin1String("libopenblas"))
        || name.startsWith(QLatin1String("libblis"))) {
        *static_cast<QString *>(data) = path;
        return 1;
    }
    return 0;
}

QString threading(const QString &path)
{
    if (path.contains(QLatin1String("openmp")))
        return QStringLiteral(" (OpenMP)");
    if (path.contains(QLatin1String("pthread")))
        return QStringLiteral(" (pthread)");
    if (path.contains(QLatin1String("serial")))
        return QStringLiteral(" (serial)");
    return {};
}

// OpenBLAS says its version, build and the CPU kernels it chose ("OpenBLAS 0.3.21 DYNAMIC_ARCH
// NO_AFFINITY Haswell MAX_THREADS=64"). Looked up in the BLAS library and what it links only:
// liblapack.so.3 may be OpenBLAS's while libblas.so.3 is the reference one.
QString openBlasConfig(const QString &blasLibrary)
{
    void *handle = ::dlopen(QFile::encodeName(blasLibrary).constData(), RTLD_NOW | RTLD_NOLOAD);
    if (!handle)
        return {};
    using GetConfig = char *(*)();
    const auto getConfig = reinterpret_cast<GetConfig>(::dlsym(handle, "openblas_get_config"));
    const QString config = getConfig ? QString::fromLatin1(getConfig()).simplified() : QString();
    ::dlclose(handle);
    return config;
}

} // namespace

BlasInfo loadedBlas()
{
    BlasInfo info;
    QString loaded;
    dl_iterate_phdr(collectBlasLibrary, &loaded);
    if (loaded.isEmpty())
        return info;
    info.library = QFileInfo(loaded).canonicalFilePath();
    if (info.library.isEmpty())
        info.library = loaded;
    const QString config = openBlasConfig(loaded);
    if (!config.isEmpty())
        info.name = config + threading(info.library);
    else if (info.library.contains(QLatin1String("blis")))
        info.name = QStringLiteral("BLIS") + threading(info.library);
    else if (info.library.contains(QLatin1String("/blas/")) || info.library.contains(QLatin1String("netlib"))) {
        info.name = QStringLiteral("netlib reference BLAS");
        info.isReference = true;
    } else {
        info.name = QFileInfo(info.library).fileName();
    }
    return info;
}

void warnIfReferenceBlas()
{
    static std::once_flag once;
    std::call_once(once, [] {
        const BlasInfo blas = loadedBlas();
        if (blas.isReference)
            qCWarning(lcBlas).noquote()
                << "libtorch is using the netlib reference BLAS (" + blas.library + "), which makes inference several "
                   "times slower; install OpenBLAS (sudo apt-get install libopenblas0-pthread) and run again";
        else if (blas.found())
            qCDebug(lcBlas).noquote() << "BLAS:" << blas.name << "from" << blas.library;
    });
}

void restartForFastBlasKernels(char *argv[])
{
    if (std::getenv("OPENBLAS_CORETYPE"))
        return;
    using GetCoreName = char *(*)();
    const auto coreName = reinterpret_cast<GetCoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const QByteArray preferred = preferredOpenBlasCoreType();
    if (!coreName || preferred.isEmpty() || qstricmp(coreName(), preferred.constData()) == 0)
        return;
    qCDebug(lcBlas) << "OpenBLAS chose" << coreName() << "kernels; restarting with OPENBLAS_CORETYPE=" << preferred;
    preferFastOpenBlasKernels();
    ::execv("/proc/self/exe", argv);
    qCWarning(lcBlas) << "could not restart with OPENBLAS_CORETYPE set:" << std::strerror(errno);
}

void setBlasThreads(int threads)
{
    using SetOpenBlasThreads = void (*)(int);
    if (const auto set = reinterpret_cast<SetOpenBlasThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
    using SetBlisThreads = void (*)(long);
    if (const auto set = reinterpret_cast<SetBlisThreads>(::dlsym(RTLD_DEFAULT, "bli_thread_set_num_threads")))
        set(threads);
}

int blasThreads()
{
    using GetOpenBlasThreads = int (*)();
    if (const auto get = reinterpret_cast<GetOpenBlasThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
        return get();
    using GetBlisThreads = long (*)();
    if (const auto get = reinterpret_cast<GetBlisThreads>(::dlsym(RTLD_DEFAULT, "bli_thread_get_num_threads")))
        return int(get());
    return 0;
}

} // namespace surfing
