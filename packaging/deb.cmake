# The Debian package, made by `cpack -G DEB` in a build directory (any build type and prefix:
# the package installs under /usr, with the config in /etc; tests/image/package_test.sh builds it
# and installs it in a Debian root). smtp-exporter_VERSION_ARCH.deb holds the binary (stripped),
# the default config as a conffile, the systemd unit (installed, not enabled: see deb/postinst),
# the dashboards and alert rules. Its postinst creates the system user smtp_exporter (kept on
# purge, as Debian keeps system users).
#
# The library dependencies are computed by dpkg-shlibdeps from the binary (dpkg-dev), never
# listed here; adduser is the maintainer scripts' own dependency.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smtp-exporter)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Prometheus exporter that probes SMTP endpoints")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "Prometheus exporter that probes SMTP endpoints
smtp_exporter connects to SMTP servers the way a mail client does and exports what it sees:
greeting, STARTTLS or implicit TLS and the certificate, authentication, envelope and delivery,
with one failure reason for each failed probe.
.
The service is installed but not enabled: edit /etc/smtp_exporter/smtp_exporter.toml, then
systemctl enable --now smtp_exporter.")
set(SMTP_EXPORTER_DEB_MAINTAINER "smtp_exporter maintainers <smtp-exporter@localhost>" CACHE STRING
  "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SMTP_EXPORTER_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)

# conffiles: what dpkg keeps when an admin edited it (the path follows the /usr prefix).
file(WRITE ${CMAKE_BINARY_DIR}/packaging/deb/conffiles "/etc/smtp_exporter/smtp_exporter.toml\n")
foreach(script postinst prerm postrm)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/${script} ${CMAKE_BINARY_DIR}/packaging/deb/${script}
    COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/packaging/deb/conffiles
  ${CMAKE_BINARY_DIR}/packaging/deb/postinst
  ${CMAKE_BINARY_DIR}/packaging/deb/prerm
  ${CMAKE_BINARY_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# No source package: the repository is the source.
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
