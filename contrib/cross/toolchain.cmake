# Cross-compiling for a Debian multiarch target: the compiler, the target's
# libraries and headers from its :ARCH -dev packages, and qemu-user to run
# what the build and the tests execute (gtest discovery, CTest, the
# integration tests' otad/otactl/otad-sim through wrapper scripts).
# Set OTAD_TRIPLET (arm-linux-gnueabihf, mipsel-linux-gnu, s390x-linux-gnu)
# and OTAD_QEMU (qemu-arm-static, ...) on the cmake command line.
set(CMAKE_SYSTEM_NAME Linux)
string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR "${OTAD_TRIPLET}")
set(CMAKE_C_COMPILER ${OTAD_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${OTAD_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${OTAD_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${OTAD_TRIPLET} /usr/lib/${OTAD_TRIPLET} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# BOTH: the libevent unpacked into .deps/ is found where its .pc file says.
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_CROSSCOMPILING_EMULATOR ${OTAD_QEMU} -L /usr/${OTAD_TRIPLET})
# pkg-config must read the target's .pc files only: contrib/cross.sh sets
# PKG_CONFIG_LIBDIR=/usr/lib/<triplet>/pkgconfig:/usr/share/pkgconfig.
