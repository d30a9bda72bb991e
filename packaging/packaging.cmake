# Debian package: `cpack -G DEB` in a build directory. Installs surfing, surfing-cli and
# lib/surfing/surfing-cli-torch (their install() rules live in app/), the desktop entry, the
# icon, AppStream metadata, the copyright file (LICENSE, MIT), the documentation with configuration
# examples, and systemd units for a headless server and for replicas. Runtime dependencies come
# from dpkg-shlibdeps (Qt 6, libtorch, zstd, OpenSSL as Debian 12 packages them).
set(_surfing_res ${PROJECT_SOURCE_DIR}/resources)
if(SURFING_BUILD_GUI)
  install(FILES ${_surfing_res}/io.github.surfing.Surfing.desktop DESTINATION share/applications)
  install(FILES ${_surfing_res}/icons/surfing.svg DESTINATION share/icons/hicolor/scalable/apps)
  install(FILES ${_surfing_res}/icons/surfing.png DESTINATION share/icons/hicolor/256x256/apps)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/io.github.surfing.Surfing.metainfo.xml DESTINATION share/metainfo)
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright DESTINATION share/doc/surfing COMPONENT docs)
# The documentation where Debian keeps it, the README with docs/ beside it so that its links and
# Help › Documentation work from the installed app; configuration examples under examples/
# (Debian policy 12.6), for the administrator to copy: the HAProxy configuration of
# docs/deploy.md is not installed as /etc/haproxy/haproxy.cfg, which belongs to the haproxy package.
# Components only name parts for tests/packaging; the .deb holds every one.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/surfing COMPONENT docs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/surfing/docs COMPONENT docs)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/haproxy/surfing.cfg DESTINATION share/doc/surfing/examples/haproxy COMPONENT docs)
# systemd units (not enabled): a single headless server, and the replica template of docs/deploy.md.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/surfing-server.service ${CMAKE_CURRENT_LIST_DIR}/systemd/surfing-serve@.service
        DESTINATION lib/systemd/system COMPONENT units)

set(CPACK_PACKAGE_NAME "surfing")
set(CPACK_PACKAGE_VENDOR "Surfing")
set(CPACK_PACKAGE_CONTACT "Surfing developers <surfing@users.noreply.github.com>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Stream transformer weights layer by layer")
set(CPACK_PACKAGE_DESCRIPTION "Cuts Hugging Face models into per-layer chunks, serves them over WebSocket \
and runs BERT, GPT-2, LLaMA and T5 models with libtorch while fetching each layer just in time. \
Includes the surfing desktop application and the surfing-cli command line tool.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libtorch calls libblas.so.3; without a fast one it gets netlib's reference BLAS (issue 11).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread | libopenblas0-openmp | libblis4-pthread | libblis4-openmp")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qt6-wayland")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
