# librlcc - build, test, install.
#
#   make            lib/librlcc.a, lib/librlcc.so.1.MINOR.PATCH (+ links), rlcc.pc, bin/rlcc
#   make check      every test suite; the last line is "<N> passed, <M> failed"
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
	demo bench bench-lowdim docs install install-files uninstall clean
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
# $(1) variant, $(2) compiler, $(3) extra flags
define VARIANT
build/$(1)/%.o: src/%.c $(HDRS) Makefile | build/$(1)
	$(2) $(BASE_CFLAGS) $(3) -c $$< -o $$@
build/$(1)/librlcc.a: $(patsubst src/%.c,build/$(1)/%.o,$(SRCS))
	rm -f $$@ && ar rcs $$@ $$^
build/$(1):
	mkdir -p $$@
build/$(1)/rlcc-tests: $(TEST_SRCS) $(TEST_HDRS) build/$(1)/librlcc.a
	$(2) $(BASE_CFLAGS) $(3) -Itests/c $(TEST_SRCS) build/$(1)/librlcc.a $(LIBS) -o $$@
endef
$(eval $(call VARIANT,clang,$(CC),))
$(eval $(call VARIANT,gcc,$(GCC),))
$(eval $(call VARIANT,asan,$(CC),$(SAN_FLAGS)))
$(eval $(call VARIANT,fault,$(CC),$(SAN_FLAGS) -DRLCC_FAULT_INJECTION))
$(eval $(call VARIANT,tsan,$(CC),-fsanitize=thread -fno-omit-frame-pointer))
# valgrind 3.19 reads DWARF 4, not clang 14's default DWARF 5
$(eval $(call VARIANT,valgrind,$(CC),-gdwarf-4))

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

# The default test binary links the shared library, so it runs against the
# real exported ABI; the gcc and sanitizer builds link their static archive.
build/clang/rlcc-tests-shared: $(TEST_SRCS) $(TEST_HDRS) lib/$(SONAME)
	$(CC) $(BASE_CFLAGS) -Itests/c $(TEST_SRCS) -Llib -l:$(SONAME) -Wl,-rpath,'$$ORIGIN/../../lib' \
		$(LIBS) -o $@

# The C results the binding tests compare against (tests/bindings/reference.c).
build/reference/rlcc-reference: tests/bindings/reference.c tools/npy.c tools/npy.h lib/$(SONAME)
	@mkdir -p build/reference
	$(CC) $(BASE_CFLAGS) -Itools tests/bindings/reference.c tools/npy.c -Llib -l:$(SONAME) \
		-Wl,-rpath,'$$ORIGIN/../../lib' -lm -o $@

# ---- tools -------------------------------------------------------------------
CLI_SRCS := tools/cli.c tools/demo.c tools/metrics.c tools/npy.c tools/synth.c
CLI_HDRS := tools/demo.h tools/metrics.h tools/npy.h tools/synth.h tools/timing.h
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

# Go keeps its build cache inside the tree, never in $HOME.
GOCACHE ?= $(CURDIR)/build/gocache
check: deps-check
	@PYTHON=$(PYTHON) CC=$(CC) GCC=$(GCC) GOCACHE=$(GOCACHE) scripts/check.sh

# make demo then make check in a bare Debian 12 root, and the .deb files in a
# second one (scripts/check-fresh.sh); not part of make check.
check-fresh:
	@[ -n "$(RLCC_NO_DEPS)" ] || scripts/install-deps.sh fresh
	scripts/check-fresh.sh

bench: deps-bench
	@$(MAKE) --no-print-directory build build/bench/bench_dbscan build/bench/bench_jaccard \
		build/bench/bench_rlcc
	PYTHON=$(PYTHON) scripts/bench.sh

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
check-abi: lib/$(REALNAME)
	@scripts/check-abi.sh lib/$(REALNAME) src/rlcc.map abi/librlcc.abi

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

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null

clean:
	rm -rf build lib bin rlcc.pc

build/bench/bench_jaccard: bench/bench_jaccard.c tools/synth.c tools/synth.h tools/timing.h lib/librlcc.a
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) -Itools bench/bench_jaccard.c tools/synth.c lib/librlcc.a $(LIBS) -o $@

build/bench/bench_rlcc: bench/bench_rlcc.c tools/synth.c tools/synth.h tools/timing.h lib/librlcc.a
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) -Itools bench/bench_rlcc.c tools/synth.c lib/librlcc.a $(LIBS) -o $@

# ---- fuzzing -------------------------------------------------------------------
# make check replays the committed corpus (tests/fuzz/corpus/NAME) through a plain
# driver under ASan+UBSan; make fuzz runs libFuzzer for FUZZ_SECONDS per harness.
FUZZ_HARNESSES := dbscan jaccard rlcc npy
FUZZ_SECONDS ?= 60
FUZZ_EXTRA_dbscan :=
FUZZ_EXTRA_jaccard :=
FUZZ_EXTRA_rlcc :=
FUZZ_EXTRA_npy := tools/npy.c

build/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c tests/fuzz/fuzz_input.h build/asan/librlcc.a
	@mkdir -p build/fuzz
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -Itools -Itests/fuzz $< tests/fuzz/driver.c $(FUZZ_EXTRA_$*) \
		build/asan/librlcc.a $(LIBS) -o $@

build/fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_input.h $(SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(CC) $(BASE_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Itools -Itests/fuzz -Isrc $< $(FUZZ_EXTRA_$*) $(SRCS) $(LIBS) -o $@

.PHONY: fuzz
fuzz: $(patsubst %,build/fuzz/fuzz-%,$(FUZZ_HARNESSES))
	@for h in $(FUZZ_HARNESSES); do \
		mkdir -p tests/fuzz/corpus/$$h; \
		build/fuzz/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=20 \
			-print_final_stats=1 tests/fuzz/corpus/$$h 2>&1 | tail -n 25; \
	done
