# Debian package: `cpack -G DEB` in a build directory. Installs surfing, surfing-cli and
# lib/surfing/surfing-cli-torch (their install() rules live in app/), the desktop entry, the
# icon, AppStream metadata, the copyright file (LICENSE, MIT) and a systemd unit for a headless server. Runtime dependencies come
# from dpkg-shlibdeps (Qt 6, libtorch, zstd, OpenSSL as Debian 12 packages them).
set(_surfing_res ${PROJECT_SOURCE_DIR}/resources)
if(SURFING_BUILD_GUI)
  install(FILES ${_surfing_res}/io.github.surfing.Surfing.desktop DESTINATION share/applications)
  install(FILES ${_surfing_res}/icons/surfing.svg DESTINATION share/icons/hicolor/scalable/apps)
  install(FILES ${_surfing_res}/icons/surfing.png DESTINATION share/icons/hicolor/256x256/apps)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/io.github.surfing.Surfing.metainfo.xml DESTINATION share/metainfo)
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright DESTINATION share/doc/surfing)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/surfing-server.service DESTINATION lib/systemd/system)

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
