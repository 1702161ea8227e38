# Runs at install time (install(SCRIPT) in CMakeLists.txt): installs the default config and the
# systemd unit where the prefix of *this* installation says, and writes that prefix's paths into
# the unit. The prefix can differ from the configured one: `cmake --install build --prefix /usr`,
# and cpack, which installs with prefix /usr (CPACK_PACKAGING_INSTALL_PREFIX) into its staging
# directory through DESTDIR. GNUInstallDirs' rule for the config directory: prefix /usr ->
# /etc/smtp_exporter, any other prefix -> <prefix>/etc/smtp_exporter.
#
# Set before this script (install(CODE)): SMTP_EXPORTER_SOURCE_DIR, SMTP_EXPORTER_BUILD_DIR,
# SMTP_EXPORTER_BINDIR (relative to the prefix), SMTP_EXPORTER_SYSTEMD_UNIT_DIR (relative or
# absolute).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(sysconfdir "/etc")
else()
  set(sysconfdir "${CMAKE_INSTALL_PREFIX}/etc")
endif()
set(bindir "${CMAKE_INSTALL_PREFIX}/${SMTP_EXPORTER_BINDIR}")
if(IS_ABSOLUTE "${SMTP_EXPORTER_SYSTEMD_UNIT_DIR}")
  set(unitdir "${SMTP_EXPORTER_SYSTEMD_UNIT_DIR}")
else()
  set(unitdir "${CMAKE_INSTALL_PREFIX}/${SMTP_EXPORTER_SYSTEMD_UNIT_DIR}")
endif()

# packaging/smtp_exporter.service spells the paths of the default prefix, /usr/local.
file(READ "${SMTP_EXPORTER_SOURCE_DIR}/packaging/smtp_exporter.service" unit)
string(REPLACE "/usr/local/bin/" "${bindir}/" unit "${unit}")
string(REPLACE "/usr/local/etc/" "${sysconfdir}/" unit "${unit}")
set(staged "${SMTP_EXPORTER_BUILD_DIR}/packaging/install${CMAKE_INSTALL_PREFIX}")
file(MAKE_DIRECTORY "${staged}")
file(WRITE "${staged}/smtp_exporter.service" "${unit}")

# file(INSTALL) honours DESTDIR and records the files in the install manifest, as install() does.
file(INSTALL DESTINATION "${unitdir}" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${staged}/smtp_exporter.service")
file(INSTALL DESTINATION "${sysconfdir}/smtp_exporter" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${SMTP_EXPORTER_SOURCE_DIR}/config/smtp_exporter.toml")
