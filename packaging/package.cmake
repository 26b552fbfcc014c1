# The Debian package: `cpack -G DEB --config build/CPackConfig.cmake` after a
# build (tests/integration/test_package.py does it into a temporary folder).
# It holds the binary, the systemd unit, the man page and the example
# settings; the libraries it needs are computed by dpkg-shlibdeps.
set(PKG_DIR ${CMAKE_SOURCE_DIR}/packaging)
# cpack (and `make install`) package what was built, never rebuild: the test
# packs the tree other tests are running from.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/deploybot.1.gz
  COMMAND gzip -9n -c ${PKG_DIR}/deploybot.1 > ${CMAKE_BINARY_DIR}/deploybot.1.gz
  DEPENDS ${PKG_DIR}/deploybot.1)
add_custom_target(deploybot_man ALL DEPENDS ${CMAKE_BINARY_DIR}/deploybot.1.gz)

install(TARGETS deploybot RUNTIME DESTINATION bin)
# /lib, as Debian 12 packages install units (the /usr merge moves them later).
install(FILES ${PKG_DIR}/deploybot.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_BINARY_DIR}/deploybot.1.gz DESTINATION share/man/man1)
install(FILES README.md DESTINATION share/doc/deploybot)
# Examples only: the service reads deploybot.conf.json and deploybot.env,
# which the operator writes (the package never overwrites them).
install(FILES ${PKG_DIR}/deploybot.conf.json.example ${PKG_DIR}/deploybot.env.example
  DESTINATION /etc/deploybot)
file(WRITE ${CMAKE_BINARY_DIR}/debian-control/conffiles
  "/etc/deploybot/deploybot.conf.json.example\n/etc/deploybot/deploybot.env.example\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME deploybot)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "deploybot maintainers <deploybot@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GitOps deploy bot: webhooks to AWS plan and apply")
# The long description, below the summary line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "deploybot verifies a push to the config repository, fetches it with
libgit2, plans the environments it touches against AWS and, on the deploy
branch, applies them, with a commit status per environment. It runs as the
hardened systemd service deploybot.service.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# HTTPS to git hosts, AWS and GitHub needs the CA certificates.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates, procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian-control/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
