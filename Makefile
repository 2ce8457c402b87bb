# librlcc - build, test, install.
#
#   make            lib/librlcc.a, lib/librlcc.so.1.MINOR.PATCH (+ links), rlcc.pc, bin/rlcc
#   make check      every test suite; the last line is "<N> passed, <M> failed"
#   make check-SUITE  one suite alone (the tests section at the end: check-c,
#                   check-sanitizers, check-abi, check-python, ...)
#   make demo       a simulated RLCC training run on built-in re-ID-like data
#   make bench      benchmarks (docs/BENCHMARKS.md)
#   make check-abi  exported symbols == version script, abidiff vs abi/ baseline
#   make docs       the API reference from the header (Doxygen), failing on gaps
#   make install    PREFIX, DESTDIR, LIBDIR, INCLUDEDIR, BINDIR, MANDIR honoured
#   make check-fresh  make demo and make check in a bare Debian 12 root (debootstrap)
#
# Missing Debian packages are installed by scripts/install-deps.sh, by tier:
# make, make demo and make install install the build tier only, make check the
# check tier, make bench the bench tier. RLCC_NO_DEPS=1 skips it (a package
# build, whose build dependencies are the package manager's business).

PYTHON ?= /usr/bin/python3
CC ?= clang
ifeq ($(origin CC),default)
CC := clang
endif
GCC ?= gcc
CXX_HEADER ?= clang++

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CMAKEDIR ?= $(LIBDIR)/cmake/rlcc
DESTDIR ?=

# The version lives in one place: the public header.
VERSION_PART = $(shell sed -n 's/^\#define RLCC_VERSION_$(1) \([0-9]*\)\( .*\)\{0,1\}$$/\1/p' include/rlcc.h)
MAJOR := $(call VERSION_PART,MAJOR)
MINOR := $(call VERSION_PART,MINOR)
PATCH := $(call VERSION_PART,PATCH)
VERSION := $(MAJOR).$(MINOR).$(PATCH)
SONAME := librlcc.so.$(MAJOR)
REALNAME := librlcc.so.$(VERSION)

# Read when make parses this file: the goals that may install OpenBLAS first
# (all, demo, install, check, bench) install it and then run make again.
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

# The OpenMP runtime the library is built against, by name, for rlcc.pc and
# the CMake package: clang's -fopenmp is LLVM's libomp, which a gcc that
# links librlcc.a must be told by name (its own -fopenmp means libgomp).
# clang 14 also adds an rpath to its own folder unless told not to: no
# library or program of ours carries a path of the build machine.
ifneq ($(findstring clang,$(CC)),)
OPENMP_RUNTIME := -l:libomp.so.5
NO_OPENMP_RPATH := -fno-openmp-implicit-rpath
else
OPENMP_RUNTIME := -lgomp
NO_OPENMP_RPATH :=
endif
STATIC_LIBS := -lopenblas $(OPENMP_RUNTIME) -lm -lpthread

# Exact and portable: no contraction into FMA, no fast-math, no -march=native.
# The debug information names source files relative to the checkout, not by
# the folder it was built in.
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unknown-pragmas
# A caller's (or dpkg-buildflags') CPPFLAGS and CFLAGS come first, so they
# cannot undo the flags that keep results exact; LDFLAGS reach every link of
# what is installed.
BASE_CFLAGS := $(CPPFLAGS) $(CFLAGS) -std=c11 -g -O2 -ffp-contract=off -fPIC -fvisibility=hidden \
	-fopenmp -D_GNU_SOURCE $(WARN) -Iinclude $(BLAS_CFLAGS) -fdebug-prefix-map=$(CURDIR)=.
LIBS := $(BLAS_LIBS) -fopenmp -lm
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

SRCS := $(wildcard src/*.c)
HDRS := include/rlcc.h $(wildcard src/*.h)
TEST_SRCS := $(wildcard tests/c/*.c)
TEST_HDRS := $(wildcard tests/c/*.h)

.PHONY: all build deps deps-build deps-check deps-bench check check-fresh check-abi abi-baseline \
	abi-scratch-lib demo bench bench-lowdim docs install install-files uninstall clean
.DELETE_ON_ERROR:

# The goals a user types first install their tier of Debian packages, then run
# make again, so that pkg-config is asked about OpenBLAS after it is there.
all: deps-build
	@$(MAKE) --no-print-directory build

build: lib/librlcc.a lib/$(REALNAME) lib/$(SONAME) lib/librlcc.so rlcc.pc bin/rlcc \
	build/pkgconfig/rlcc.pc

deps: deps-check
deps-build deps-check deps-bench: deps-%:
	@[ -n "$(RLCC_NO_DEPS)" ] || scripts/install-deps.sh $*

# ---- one object set per build variant --------------------------------------
# Each variant's C test runner, build/VARIANT/rlcc-tests, links the variant's
# static archive, except the default build's (build/clang/rlcc-tests), which
# links lib/librlcc.so.1 so that it runs against the real exported ABI.
TEST_LIB_clang = lib/$(SONAME)
TEST_LINK_clang = -Llib -l:$(SONAME) -Wl,-rpath,'$$ORIGIN/../../lib'
# $(1) variant, $(2) compiler, $(3) extra flags
define VARIANT
build/$(1)/%.o: src/%.c $(HDRS) Makefile | build/$(1)
	$(2) $(BASE_CFLAGS) $(3) -c $$< -o $$@
build/$(1)/librlcc.a: $(patsubst src/%.c,build/$(1)/%.o,$(SRCS))
	rm -f $$@ && ar rcs $$@ $$^
build/$(1):
	mkdir -p $$@
build/$(1)/rlcc-tests: $(TEST_SRCS) $(TEST_HDRS) $(or $(TEST_LIB_$(1)),build/$(1)/librlcc.a) | build/$(1)
	$(2) $(BASE_CFLAGS) $(3) -Itests/c $(TEST_SRCS) $$(or $$(TEST_LINK_$(1)),build/$(1)/librlcc.a) \
		$(LIBS) -o $$@
endef
$(eval $(call VARIANT,clang,$(CC),))
$(eval $(call VARIANT,gcc,$(GCC),))
$(eval $(call VARIANT,asan,$(CC),$(SAN_FLAGS)))
$(eval $(call VARIANT,fault,$(CC),$(SAN_FLAGS) -DRLCC_FAULT_INJECTION))
$(eval $(call VARIANT,tsan,$(CC),-fsanitize=thread -fno-omit-frame-pointer))
# valgrind 3.19 reads DWARF 4, not clang 14's default DWARF 5
VALGRIND_CFLAGS := -gdwarf-4
$(eval $(call VARIANT,valgrind,$(CC),$(VALGRIND_CFLAGS)))

# Allocation k fails, for every k of every entry point (tests/fault).
build/fault/fault-test: tests/fault/fault_test.c build/fault/librlcc.a
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -DRLCC_FAULT_INJECTION -Isrc tests/fault/fault_test.c \
		build/fault/librlcc.a $(LIBS) -o $@

lib/librlcc.a: build/clang/librlcc.a
	@mkdir -p lib
	cp $< $@

lib/$(REALNAME): $(patsubst src/%.c,build/clang/%.o,$(SRCS)) src/rlcc.map Makefile
	@mkdir -p lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/rlcc.map \
		-Wl,--no-undefined $(NO_OPENMP_RPATH) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS)

lib/$(SONAME): lib/$(REALNAME)
	ln -sf $(REALNAME) $@
lib/librlcc.so: lib/$(SONAME)
	ln -sf $(SONAME) $@

# rlcc.pc for the current PREFIX/LIBDIR/INCLUDEDIR; install writes it anew,
# so an install to another prefix never ships a stale one.
# $(call PC_SED,PREFIX,LIBDIR,INCLUDEDIR,EXTRA_LIBS)
PC_SED = sed -e 's|@PREFIX@|$(1)|' -e 's|@LIBDIR@|$(2)|' \
	-e 's|@INCLUDEDIR@|$(3)|' -e 's|@VERSION@|$(VERSION)|' \
	-e 's|@EXTRA_LIBS@|$(4)|' -e 's|@STATIC_LIBS@|$(STATIC_LIBS)|' rlcc.pc.in
rlcc.pc: rlcc.pc.in include/rlcc.h Makefile
	$(call PC_SED,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),) > $@

# The checkout as a pkg-config package (PKG_CONFIG_PATH=build/pkgconfig), with
# an rpath to lib/: how the Go tests and any program built against an
# uninstalled tree find it. Never installed.
build/pkgconfig/rlcc.pc: rlcc.pc.in include/rlcc.h Makefile
	@mkdir -p build/pkgconfig
	$(call PC_SED,$(CURDIR),$(CURDIR)/lib,$(CURDIR)/include, -Wl$(comma)-rpath$(comma)$${libdir}) > $@
comma := ,

# The C results the binding tests compare against (tests/bindings/reference.c).
build/reference/rlcc-reference: tests/bindings/reference.c tools/npy.c tools/npy.h lib/$(SONAME)
	@mkdir -p build/reference
	$(CC) $(BASE_CFLAGS) -Itools tests/bindings/reference.c tools/npy.c -Llib -l:$(SONAME) \
		-Wl,-rpath,'$$ORIGIN/../../lib' -lm -o $@

# ---- librlcc_mpi ------------------------------------------------------------------
# The optional library over MPI (include/rlcc_mpi.h, src/mpi/), built when
# OpenMPI's pkg-config file is there (Debian libopenmpi-dev, in the check
# tier). Its own SONAME, version script, ABI baseline and pkg-config file.
HAVE_MPI := $(shell pkg-config --exists ompi-c 2>/dev/null && echo yes)
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS := $(shell pkg-config --libs ompi-c 2>/dev/null)
MPI_VERSION_PART = $(shell sed -n 's/^\#define RLCC_MPI_VERSION_$(1) \([0-9]*\)\( .*\)\{0,1\}$$/\1/p' include/rlcc_mpi.h)
MPI_VERSION := $(call MPI_VERSION_PART,MAJOR).$(call MPI_VERSION_PART,MINOR).$(call MPI_VERSION_PART,PATCH)
MPI_SONAME := librlcc_mpi.so.$(call MPI_VERSION_PART,MAJOR)
MPI_REALNAME := librlcc_mpi.so.$(MPI_VERSION)
MPI_SRCS := $(wildcard src/mpi/*.c)
MPI_OBJS := $(patsubst src/mpi/%.c,build/mpi/%.o,$(MPI_SRCS))
MPI_BUILD := $(if $(HAVE_MPI),lib/$(MPI_REALNAME) lib/$(MPI_SONAME) lib/librlcc_mpi.so rlcc_mpi.pc \
	build/pkgconfig/rlcc_mpi.pc)
build: $(MPI_BUILD)

build/mpi/%.o: src/mpi/%.c src/mpi/mpi_internal.h include/rlcc_mpi.h include/rlcc.h Makefile
	@mkdir -p build/mpi
	$(CC) $(BASE_CFLAGS) $(MPI_CFLAGS) -Isrc/mpi -c $< -o $@
lib/$(MPI_REALNAME): $(MPI_OBJS) src/mpi/rlcc_mpi.map lib/$(SONAME)
	$(CC) -shared -Wl,-soname,$(MPI_SONAME) -Wl,--version-script=src/mpi/rlcc_mpi.map \
		-Wl,--no-undefined $(NO_OPENMP_RPATH) $(LDFLAGS) -o $@ $(MPI_OBJS) -Llib -l:$(SONAME) \
		$(MPI_LIBS) -lm
lib/$(MPI_SONAME): lib/$(MPI_REALNAME)
	ln -sf $(MPI_REALNAME) $@
lib/librlcc_mpi.so: lib/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $@
MPI_PC_SED = sed -e 's|@PREFIX@|$(1)|' -e 's|@LIBDIR@|$(2)|' -e 's|@INCLUDEDIR@|$(3)|' \
	-e 's|@MPI_VERSION@|$(MPI_VERSION)|' -e 's|@EXTRA_LIBS@|$(4)|' rlcc_mpi.pc.in
rlcc_mpi.pc: rlcc_mpi.pc.in include/rlcc_mpi.h Makefile
	$(call MPI_PC_SED,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),) > $@
# (an RPATH, not a RUNPATH: it must also find librlcc.so.1 for librlcc_mpi.so.1,
# which a linker with --as-needed links only indirectly)
build/pkgconfig/rlcc_mpi.pc: rlcc_mpi.pc.in include/rlcc_mpi.h Makefile
	@mkdir -p build/pkgconfig
	$(call MPI_PC_SED,$(CURDIR),$(CURDIR)/lib,$(CURDIR)/include, -Wl$(comma)--disable-new-dtags -Wl$(comma)-rpath$(comma)$${libdir}) > $@

# The MPI tests: one program run by mpirun at 2, 3 and 4 ranks (scripts/check-mpi.sh).
build/mpi/mpi-tests: tests/mpi/test_mpi.c lib/$(MPI_SONAME) lib/$(SONAME)
	$(CC) $(BASE_CFLAGS) $(MPI_CFLAGS) tests/mpi/test_mpi.c -Llib -l:$(MPI_SONAME) -l:$(SONAME) \
		-Wl,-rpath,'$$ORIGIN/../../lib' $(MPI_LIBS) -lm -o $@
# ... and the same program over ASan+UBSan builds of both libraries' sources.
build/mpi/mpi-tests-asan: tests/mpi/test_mpi.c $(MPI_SRCS) src/mpi/mpi_internal.h build/asan/librlcc.a
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(MPI_CFLAGS) -Isrc/mpi tests/mpi/test_mpi.c $(MPI_SRCS) \
		build/asan/librlcc.a $(MPI_LIBS) $(LIBS) -o $@
check-mpi: build/mpi/mpi-tests build/mpi/mpi-tests-asan
	@scripts/check-mpi.sh build/mpi/mpi-tests build/mpi/mpi-tests-asan
check-abi-mpi: lib/$(MPI_REALNAME)
	@if scripts/check-abi.sh lib/$(MPI_REALNAME) src/mpi/rlcc_mpi.map abi/librlcc_mpi.abi; then \
		echo "abi-mpi: 1 passed, 0 failed"; else echo "abi-mpi: 0 passed, 1 failed"; exit 1; fi
abi-baseline-mpi: lib/$(MPI_REALNAME)
	@mkdir -p abi
	abidw --no-corpus-path --headers-dir include lib/$(MPI_REALNAME) > abi/librlcc_mpi.abi
	@echo "abi/librlcc_mpi.abi refreshed for $(MPI_VERSION)"
# make bench-mpi: rlcc_mpi_knn at 1, 2, 3 and 4 ranks against rlcc_knn alone
# (docs/scale-out.md; BENCH_MPI_ARGS="N D K").
build/bench/bench_mpi: bench/bench_mpi.c tools/timing.h lib/$(MPI_SONAME) lib/$(SONAME)
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) $(MPI_CFLAGS) -Itools bench/bench_mpi.c -Llib -l:$(MPI_SONAME) -l:$(SONAME) \
		-Wl,-rpath,'$$ORIGIN/../../lib' $(MPI_LIBS) -lm -o $@
BENCH_MPI_ARGS ?= 8000 512 30
bench-mpi: build/bench/bench_mpi
	$(PYTHON) bench/scale_model.py $(BENCH_MPI_ARGS)
.PHONY: check-mpi check-abi-mpi abi-baseline-mpi bench-mpi

# ---- tools -------------------------------------------------------------------
CLI_SRCS := tools/cli.c tools/args.c tools/demo.c tools/metrics.c tools/npy.c tools/output.c \
	tools/progress.c tools/synth.c
CLI_HDRS := tools/args.h tools/demo.h tools/metrics.h tools/npy.h tools/output.h tools/progress.h \
	tools/synth.h tools/timing.h
bin/rlcc: $(CLI_SRCS) $(CLI_HDRS) lib/$(SONAME) Makefile
	@mkdir -p bin
	$(CC) $(BASE_CFLAGS) -Itools $(CLI_SRCS) -Llib -l:$(SONAME) $(NO_OPENMP_RPATH) $(LDFLAGS) \
		-Wl,-rpath,'$$ORIGIN/../lib' -lm -o $@

# The installed CLI finds the installed library: no rpath when LIBDIR is one
# the dynamic loader searches anyway, else a relative one ($ORIGIN/../lib for
# PREFIX/bin and PREFIX/lib), so an installed tree can be moved as a whole.
MULTIARCH := $(shell $(GCC) -print-multiarch 2>/dev/null)
SYSTEM_LIBDIRS := /lib /usr/lib /lib64 /usr/lib64 $(if $(MULTIARCH),/lib/$(MULTIARCH) /usr/lib/$(MULTIARCH))
INSTALL_RPATH ?= $(if $(filter $(patsubst %/,%,$(LIBDIR)),$(SYSTEM_LIBDIRS)),,$$ORIGIN/$(shell realpath -m --relative-to=$(BINDIR) $(LIBDIR)))
build/install/rlcc: $(CLI_SRCS) $(CLI_HDRS) lib/$(SONAME) FORCE
	@mkdir -p build/install
	$(CC) $(BASE_CFLAGS) -Itools $(CLI_SRCS) -Llib -l:$(SONAME) $(NO_OPENMP_RPATH) $(LDFLAGS) \
		$(if $(INSTALL_RPATH),-Wl$(comma)-rpath$(comma)'$(INSTALL_RPATH)') -lm -o $@
.PHONY: FORCE
FORCE:

build/bench/bench_dbscan: bench/bench_dbscan.c tools/synth.c tools/synth.h tools/timing.h lib/librlcc.a
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) -Itools bench/bench_dbscan.c tools/synth.c lib/librlcc.a $(LIBS) -o $@

# ---- the two README commands --------------------------------------------------
demo: deps-build
	@$(MAKE) --no-print-directory build
	bin/rlcc demo

# make check: the check tier of packages, then every test suite (the tests
# section at the end of this file).
check: deps-check
	@scripts/check.sh build $(CHECK_SUITES)

# make demo then make check in a bare Debian 12 root, and the .deb files in a
# second one (scripts/check-fresh.sh); not part of make check.
check-fresh:
	@[ -n "$(RLCC_NO_DEPS)" ] || scripts/install-deps.sh fresh
	scripts/check-fresh.sh

bench: deps-bench
	@$(MAKE) --no-print-directory build build/bench/bench_dbscan build/bench/bench_jaccard \
		build/bench/bench_rlcc
	PYTHON=$(PYTHON) scripts/bench.sh

# Only the InfoMap tables (bench/bench_infomap.py; INFOMAP_BIN=path/to/Infomap,
# INFOMAP_ARGS=--quick). Issue #15 item 2.
bench-infomap: deps-bench
	@$(MAKE) --no-print-directory build
	PYTHONPATH=bindings/python RLCC_LIBRARY=$(CURDIR)/lib/librlcc.so.1 $(PYTHON) \
		bench/bench_infomap.py $(INFOMAP_ARGS)

# Only the low-dimensional DBSCAN tables (bench/bench_lowdim.py; LOWDIM_ARGS=--quick).
bench-lowdim: deps-bench
	@$(MAKE) --no-print-directory build
	PYTHONPATH=bindings/python RLCC_LIBRARY=$(CURDIR)/lib/librlcc.so.1 $(PYTHON) \
		bench/bench_lowdim.py $(LOWDIM_ARGS)

# ---- API reference ------------------------------------------------------------
# Doxygen over include/rlcc.h into build/docs/html; any warning fails, an
# undocumented public symbol included (docs/Doxyfile).
docs: deps-check
	@mkdir -p build/docs
	doxygen docs/Doxyfile
	@echo "API reference: build/docs/html/rlcc_8h.html"

# ---- ABI -------------------------------------------------------------------------
# One check, counted as one test: the exported symbols are the version
# script's and abidiff finds no change against the committed baseline.
check-abi: lib/$(REALNAME)
	@if scripts/check-abi.sh lib/$(REALNAME) src/rlcc.map abi/librlcc.abi; then \
		echo "abi: 1 passed, 0 failed"; else echo "abi: 0 passed, 1 failed"; exit 1; fi

# ... and it fails on scratch builds that break the ABI (scripts/test-abi.sh),
# each built by abi-scratch-lib from its copy of src/ and include/ in
# ABI_SCRATCH, the way lib/$(REALNAME) is built.
check-abi-breaks: lib/$(REALNAME)
	@scripts/test-abi.sh
abi-scratch-lib:
	@[ -d "$(ABI_SCRATCH)/src" ] || { echo "abi-scratch-lib: ABI_SCRATCH=DIR, a copy of src/ and include/" >&2; exit 2; }
	$(CC) $(patsubst -Iinclude,-I$(ABI_SCRATCH)/include,$(BASE_CFLAGS)) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=$(ABI_SCRATCH)/src/rlcc.map -Wl,--no-undefined $(NO_OPENMP_RPATH) \
		-o $(ABI_SCRATCH)/librlcc.so $(wildcard $(ABI_SCRATCH)/src/*.c) $(LIBS)

abi-baseline: lib/$(REALNAME)
	@mkdir -p abi
	abidw --no-corpus-path --headers-dir include lib/$(REALNAME) > abi/librlcc.abi
	@echo "abi/librlcc.abi refreshed for $(VERSION)"

# ---- install ----------------------------------------------------------------------
# The CMake package locates itself: its paths are relative to the folder it is
# installed in, so a DESTDIR or a moved tree works. $(call RELPATH,FROM,TO)
RELPATH = $(shell realpath -m --relative-to=$(1) $(2))
CMAKE_SED = sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' \
	-e 's|@REALNAME@|$(REALNAME)|g' -e 's|@SONAME@|$(SONAME)|g' \
	-e 's|@CMAKE_TO_LIBDIR@|$(call RELPATH,$(CMAKEDIR),$(LIBDIR))|g' \
	-e 's|@CMAKE_TO_INCLUDEDIR@|$(call RELPATH,$(CMAKEDIR),$(INCLUDEDIR))|g' \
	-e 's|@STATIC_LIBS@|$(STATIC_LIBS)|g'

install: deps-build
	@$(MAKE) --no-print-directory install-files

INSTALLED := $(INCLUDEDIR)/rlcc.h $(LIBDIR)/librlcc.a $(LIBDIR)/$(REALNAME) $(LIBDIR)/$(SONAME) \
	$(LIBDIR)/librlcc.so $(LIBDIR)/pkgconfig/rlcc.pc $(CMAKEDIR)/rlccConfig.cmake \
	$(CMAKEDIR)/rlccConfigVersion.cmake $(BINDIR)/rlcc $(MANDIR)/man1/rlcc.1
install-files: build build/install/rlcc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 include/rlcc.h $(DESTDIR)$(INCLUDEDIR)/rlcc.h
	install -m 644 lib/librlcc.a $(DESTDIR)$(LIBDIR)/librlcc.a
	install -m 755 lib/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/librlcc.so
	$(call PC_SED,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),) > $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc.pc
	$(CMAKE_SED) cmake/rlccConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/rlccConfig.cmake
	$(CMAKE_SED) cmake/rlccConfigVersion.cmake.in > $(DESTDIR)$(CMAKEDIR)/rlccConfigVersion.cmake
	chmod 644 $(DESTDIR)$(CMAKEDIR)/rlccConfig.cmake $(DESTDIR)$(CMAKEDIR)/rlccConfigVersion.cmake
	install -m 755 build/install/rlcc $(DESTDIR)$(BINDIR)/rlcc
	sed '/^\.TH /s/"librlcc [0-9.]*"/"librlcc $(VERSION)"/' docs/rlcc.1 > $(DESTDIR)$(MANDIR)/man1/rlcc.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/rlcc.1
	$(if $(HAVE_MPI),$(MAKE) --no-print-directory install-mpi)

# librlcc_mpi, when it was built (OpenMPI present): header, library, pkg-config.
INSTALLED_MPI := $(INCLUDEDIR)/rlcc_mpi.h $(LIBDIR)/$(MPI_REALNAME) $(LIBDIR)/$(MPI_SONAME) \
	$(LIBDIR)/librlcc_mpi.so $(LIBDIR)/pkgconfig/rlcc_mpi.pc
.PHONY: install-mpi
install-mpi: $(MPI_BUILD)
	install -m 644 include/rlcc_mpi.h $(DESTDIR)$(INCLUDEDIR)/rlcc_mpi.h
	install -m 755 lib/$(MPI_REALNAME) $(DESTDIR)$(LIBDIR)/$(MPI_REALNAME)
	ln -sf $(MPI_REALNAME) $(DESTDIR)$(LIBDIR)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $(DESTDIR)$(LIBDIR)/librlcc_mpi.so
	$(call MPI_PC_SED,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),) > $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc_mpi.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc_mpi.pc

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED) $(INSTALLED_MPI))
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null

clean:
	rm -rf build lib bin rlcc.pc rlcc_mpi.pc

build/bench/bench_jaccard: bench/bench_jaccard.c tools/synth.c tools/synth.h tools/timing.h lib/librlcc.a
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) -Itools bench/bench_jaccard.c tools/synth.c lib/librlcc.a $(LIBS) -o $@

build/bench/bench_rlcc: bench/bench_rlcc.c tools/synth.c tools/synth.h tools/timing.h lib/librlcc.a
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) -Itools bench/bench_rlcc.c tools/synth.c lib/librlcc.a $(LIBS) -o $@

# ---- fuzzing -------------------------------------------------------------------
# make check replays the committed corpus (tests/fuzz/corpus/NAME) through a plain
# driver under ASan+UBSan; make fuzz runs libFuzzer for FUZZ_SECONDS per harness.
FUZZ_HARNESSES := dbscan jaccard rlcc npy checkpoint cli blocks
FUZZ_SECONDS ?= 60
FUZZ_EXTRA_dbscan :=
FUZZ_EXTRA_jaccard :=
FUZZ_EXTRA_rlcc :=
FUZZ_EXTRA_npy := tools/npy.c
FUZZ_EXTRA_checkpoint :=
FUZZ_EXTRA_cli := tools/args.c
FUZZ_EXTRA_blocks :=
# the tools' sources a harness compiles are prerequisites too
build/fuzz/replay-npy build/fuzz/fuzz-npy: tools/npy.c tools/npy.h
build/fuzz/replay-cli build/fuzz/fuzz-cli: tools/args.c tools/args.h

build/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c tests/fuzz/fuzz_input.h tests/c/state_format.h build/asan/librlcc.a
	@mkdir -p build/fuzz
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -Itools -Itests/fuzz $< tests/fuzz/driver.c $(FUZZ_EXTRA_$*) \
		build/asan/librlcc.a $(LIBS) -o $@

build/fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_input.h tests/c/state_format.h $(SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(CC) $(BASE_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Itools -Itests/fuzz -Isrc $< $(FUZZ_EXTRA_$*) $(SRCS) $(LIBS) -o $@

# The checkpoint corpus starts from real states (tests/fuzz/checkpoint_seeds.c):
# make fuzz-seeds-checkpoint merges those that add coverage into it.
build/fuzz/checkpoint-seeds: tests/fuzz/checkpoint_seeds.c lib/librlcc.a
	@mkdir -p build/fuzz
	$(CC) $(BASE_CFLAGS) $< lib/librlcc.a $(LIBS) -o $@
.PHONY: fuzz-seeds-checkpoint
fuzz-seeds-checkpoint: build/fuzz/checkpoint-seeds build/fuzz/fuzz-checkpoint
	rm -rf build/fuzz/seeds-checkpoint && mkdir -p build/fuzz/seeds-checkpoint tests/fuzz/corpus/checkpoint
	build/fuzz/checkpoint-seeds build/fuzz/seeds-checkpoint
	build/fuzz/fuzz-checkpoint -merge=1 tests/fuzz/corpus/checkpoint build/fuzz/seeds-checkpoint

.PHONY: fuzz
fuzz: $(patsubst %,build/fuzz/fuzz-%,$(FUZZ_HARNESSES))
	@for h in $(FUZZ_HARNESSES); do \
		mkdir -p tests/fuzz/corpus/$$h; \
		build/fuzz/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=20 \
			$$([ -f tests/fuzz/$$h.dict ] && echo -dict=tests/fuzz/$$h.dict) \
			-print_final_stats=1 tests/fuzz/corpus/$$h 2>&1 | tail -n 25; \
	done

# ---- tests ----------------------------------------------------------------------
# Every suite is a target, check-SUITE, that runs alone in a built tree (it
# builds what it needs and installs nothing) and prints its tally line
# "<suite>: N passed, M failed". make check runs deps-check, then check-build
# and every suite of CHECK_SUITES through scripts/check.sh, which shows each
# suite's output, counts a suite that ends without a tally as one failure, and
# prints the total "<N> passed, <M> failed" last; check-c, check-sanitizers,
# check-fuzz, check-install and check-bindings total a few suites the same way.
# The C runner: build/clang/rlcc-tests --help (one test: rlcc-tests NAME).
CHECK_SUITES = header c-clang c-gcc asan fault tsan valgrind $(addprefix fuzz-,$(FUZZ_HARNESSES)) \
	abi abi-breaks docs examples cli installed deb wheel rust go python mpi abi-mpi
CHECK_GROUPS := check-c check-sanitizers check-fuzz check-install check-bindings
.PHONY: $(addprefix check-,build $(CHECK_SUITES)) $(CHECK_GROUPS)

check-c:
	@scripts/check.sh c-clang c-gcc
check-sanitizers:
	@scripts/check.sh asan fault tsan valgrind
check-fuzz:
	@scripts/check.sh $(addprefix fuzz-,$(FUZZ_HARNESSES))
check-install:
	@scripts/check.sh installed deb wheel
check-bindings:
	@scripts/check.sh python rust go

# make check stops here when the libraries, the CLI or rlcc.pc do not build.
check-build: build
	@echo "build-library: 1 passed, 0 failed"

# LeakSanitizer in every sanitized run: tests/lsan.supp says why TLS is not
# scanned and what is suppressed (nothing of librlcc's).
SAN_ENV = LSAN_OPTIONS='use_tls=0:suppressions=$(CURDIR)/tests/lsan.supp'
TSAN_ENV = TSAN_OPTIONS='ignore_noninstrumented_modules=1 halt_on_error=1'

# The C tests, one result per test, in TAP (tests/c/main.c).
check-c-clang: build/clang/rlcc-tests
	build/clang/rlcc-tests --suite=c-clang
check-c-gcc: build/gcc/rlcc-tests
	build/gcc/rlcc-tests --suite=c-gcc
check-asan: build/asan/rlcc-tests
	ASAN_OPTIONS=detect_leaks=1 $(SAN_ENV) build/asan/rlcc-tests --suite=c-asan-ubsan
check-tsan: build/tsan/rlcc-tests
	$(TSAN_ENV) build/tsan/rlcc-tests --suite=c-tsan
# Allocation k fails, for every k of every entry point.
check-fault: build/fault/fault-test
	$(SAN_ENV) build/fault/fault-test

# valgrind memcheck on the examples, built against the DWARF 4 archive.
VALGRIND_EXAMPLES := $(addprefix build/valgrind/examples/,dbscan trainer_loop)
build/valgrind/examples/%: examples/%.c build/valgrind/librlcc.a
	@mkdir -p $(@D)
	$(CC) -std=c11 $(VALGRIND_CFLAGS) -O1 -Iinclude $< build/valgrind/librlcc.a $(LIBS) -o $@
check-valgrind: $(VALGRIND_EXAMPLES)
	@scripts/check-valgrind.sh $^

# The public header alone, with each compiler and language mode.
GXX ?= g++
HEADER_CFLAGS := -pedantic -Wall -Wextra -Werror -Iinclude
HEADER_TESTS := $(addprefix build/header/,c99-cc.o c99-gcc.o c11-cc.o cxx11-clangxx.o cxx11-gxx.o)
build/header/c99-cc.o: tests/header/headertest.c include/rlcc.h FORCE
	@mkdir -p $(@D)
	$(CC) -std=c99 $(HEADER_CFLAGS) -c $< -o $@
build/header/c99-gcc.o: tests/header/headertest.c include/rlcc.h FORCE
	@mkdir -p $(@D)
	$(GCC) -std=c99 $(HEADER_CFLAGS) -c $< -o $@
build/header/c11-cc.o: tests/header/headertest.c include/rlcc.h FORCE
	@mkdir -p $(@D)
	$(CC) -std=c11 $(HEADER_CFLAGS) -c $< -o $@
build/header/cxx11-clangxx.o: tests/header/headertest.cpp include/rlcc.h FORCE
	@mkdir -p $(@D)
	$(CXX_HEADER) -std=c++11 $(HEADER_CFLAGS) -c $< -o $@
build/header/cxx11-gxx.o: tests/header/headertest.cpp include/rlcc.h FORCE
	@mkdir -p $(@D)
	$(GXX) -std=c++11 $(HEADER_CFLAGS) -c $< -o $@
check-header:
	@scripts/check-targets.sh header $(HEADER_TESTS)

# The committed fuzz corpus through a plain driver under ASan+UBSan.
$(addprefix check-fuzz-,$(FUZZ_HARNESSES)): check-fuzz-%: build/fuzz/replay-%
	$(SAN_ENV) build/fuzz/replay-$* tests/fuzz/corpus/$*

# The API reference builds with no warning, and an undocumented function fails it.
check-docs:
	@scripts/check-docs.sh

# The examples, built as a user builds them against lib/, and README.md's
# first C block; scripts/check-examples.sh runs them and the Python, Rust and
# Go examples and compares what they print.
EXAMPLE_CFLAGS := -std=c11 -Wall -Werror -Iinclude
EXAMPLES := $(addprefix build/examples/,dbscan trainer_loop reid_fixture readme)
build/examples/%: examples/%.c include/rlcc.h lib/$(SONAME)
	@mkdir -p $(@D)
	$(CC) $(EXAMPLE_CFLAGS) $< -Llib -l:$(SONAME) -Wl,-rpath,'$$ORIGIN/../../lib' -lm -o $@
build/examples/readme.c: README.md
	@mkdir -p $(@D)
	sed -n '/^```c$$/,/^```$$/{p;/^```$$/q}' README.md | sed '1d;$$d' >$@
build/examples/readme: build/examples/readme.c include/rlcc.h lib/$(SONAME)
	$(CC) $(EXAMPLE_CFLAGS) $< -Llib -l:$(SONAME) -Wl,-rpath,'$$ORIGIN/../../lib' -lm -o $@
check-examples: build $(EXAMPLES)
	@PYTHON=$(PYTHON) GOCACHE=$(GOCACHE) scripts/check-examples.sh

# bin/rlcc: every command, exit code and malformed input (tests/python/test_cli.py).
check-cli: build
	@PYTHON=$(PYTHON) scripts/check-python.sh cli

# As users install it: make install (tests/install/installed.sh), the Debian
# packages (deb.sh), the Python wheel (wheel.sh).
check-installed: build
	@CC=$(CC) GCC=$(GCC) tests/install/installed.sh
check-deb: build
	@tests/install/deb.sh
check-wheel: build
	@PYTHON=$(PYTHON) tests/install/wheel.sh

# The bindings: pytest against the wheel installed in a venv, cargo test and
# clippy, go test (also -race), vet and gofmt. Each compares against the C
# reference, built here first: the Rust tests that run it run at once, and
# each would otherwise ask make to rebuild it while another runs it ("Text
# file busy"). Go keeps its build cache inside the tree, never in $HOME.
GOCACHE ?= $(CURDIR)/build/gocache
check-python: build build/reference/rlcc-reference
	@PYTHON=$(PYTHON) scripts/check-python.sh wheel
check-rust: build build/reference/rlcc-reference
	@scripts/check-rust.sh
check-go: build build/reference/rlcc-reference
	@GOCACHE=$(GOCACHE) scripts/check-go.sh
