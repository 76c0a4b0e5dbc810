# A Debian package of tsarc (`cpack -G DEB` in a build folder), for hosts
# that are not containers. Everything `cmake --install` installs goes in,
# below /usr. The shared-library dependencies are computed by
# dpkg-shlibdeps from the binary, so they match the Debian release that
# built it; the clients the components run are recommendations, since a
# host may back up only some kinds (or run them in pods through kubectl).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tsarc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "back up, restore and migrate 3scale API Management through S3")
set(CPACK_PACKAGE_DESCRIPTION
  "tsarc backs up a 3scale deployment (databases, system-storage, Redis, Secrets and ConfigMaps) as deduplicated, compressed, encrypted and checksummed chunks in S3-compatible storage or a folder, and restores or migrates it in the right order.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "tsarc maintainers <tsarc@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
  "ca-certificates, mariadb-client | default-mysql-client, postgresql-client, redis-tools, tar")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "kubernetes-client, redis-server")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
