# Every dependency comes from a Debian -dev package (packaging/deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(MSGPACK REQUIRED msgpack)
pkg_check_modules(OPENSSL REQUIRED openssl)
pkg_check_modules(PCRE2 REQUIRED libpcre2-8)
pkg_check_modules(ZLIB REQUIRED zlib)
find_library(LIBEV_LIBRARY NAMES ev REQUIRED)
find_path(LIBEV_INCLUDE_DIR NAMES ev.h REQUIRED)
find_package(Threads REQUIRED)

set(SKIFF_DEP_LIBS ${LIBEV_LIBRARY} ${MSGPACK_LIBRARIES}
    ${OPENSSL_LIBRARIES} ${PCRE2_LIBRARIES} ${ZLIB_LIBRARIES} Threads::Threads m)
set(SKIFF_DEP_INCLUDES ${LIBEV_INCLUDE_DIR} ${MSGPACK_INCLUDE_DIRS}
    ${OPENSSL_INCLUDE_DIRS} ${PCRE2_INCLUDE_DIRS} ${ZLIB_INCLUDE_DIRS})
