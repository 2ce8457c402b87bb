# librlcc - build, test, install.
#
#   make            lib/librlcc.a, lib/librlcc.so.1.MINOR.PATCH (+ links), rlcc.pc
#   make check      every test suite; the last line is "<N> passed, <M> failed"
#   make demo       a simulated RLCC training run on built-in re-ID-like data
#   make bench      benchmarks (docs/BENCHMARKS.md)
#   make check-abi  exported symbols == version script, abidiff vs abi/ baseline
#   make docs       the API reference from the header (Doxygen), failing on gaps
#   make install    PREFIX, DESTDIR, LIBDIR, INCLUDEDIR honoured
#
# Missing Debian packages are installed by scripts/install-deps.sh.

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
DESTDIR ?=

# The version lives in one place: the public header.
VERSION_PART = $(shell sed -n 's/^\#define RLCC_VERSION_$(1) \([0-9]*\)\( .*\)\{0,1\}$$/\1/p' include/rlcc.h)
MAJOR := $(call VERSION_PART,MAJOR)
MINOR := $(call VERSION_PART,MINOR)
PATCH := $(call VERSION_PART,PATCH)
VERSION := $(MAJOR).$(MINOR).$(PATCH)
SONAME := librlcc.so.$(MAJOR)
REALNAME := librlcc.so.$(VERSION)

BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null)

# Exact and portable: no contraction into FMA, no fast-math, no -march=native.
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unknown-pragmas
BASE_CFLAGS := -std=c11 -g -O2 -ffp-contract=off -fPIC -fvisibility=hidden \
	-fopenmp -D_GNU_SOURCE $(WARN) -Iinclude $(BLAS_CFLAGS)
LIBS := $(BLAS_LIBS) -fopenmp -lm
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

SRCS := $(wildcard src/*.c)
HDRS := include/rlcc.h src/internal.h
TEST_SRCS := $(wildcard tests/c/*.c)
TEST_HDRS := $(wildcard tests/c/*.h)

.PHONY: all deps check check-abi abi-baseline demo bench docs install uninstall clean \
	test-c-clang test-c-gcc test-c-asan headertest examples
.DELETE_ON_ERROR:

all: lib/librlcc.a lib/$(REALNAME) lib/$(SONAME) lib/librlcc.so rlcc.pc bin/rlcc

deps:
	@scripts/install-deps.sh

# ---- one object set per build variant --------------------------------------
# $(1) variant, $(2) compiler, $(3) extra flags
define VARIANT
build/$(1)/%.o: src/%.c $(HDRS) | build/$(1)
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

lib/$(REALNAME): $(patsubst src/%.c,build/clang/%.o,$(SRCS)) src/rlcc.map
	@mkdir -p lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/rlcc.map \
		-Wl,--no-undefined -o $@ $(filter %.o,$^) $(LIBS)

lib/$(SONAME): lib/$(REALNAME)
	ln -sf $(REALNAME) $@
lib/librlcc.so: lib/$(SONAME)
	ln -sf $(SONAME) $@

# rlcc.pc for the current PREFIX/LIBDIR/INCLUDEDIR; install writes it anew,
# so an install to another prefix never ships a stale one.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	-e 's|@OPENMP_LIBS@|-fopenmp|' rlcc.pc.in
rlcc.pc: rlcc.pc.in include/rlcc.h
	$(PC_SED) > $@

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
bin/rlcc: $(CLI_SRCS) $(CLI_HDRS) lib/$(SONAME)
	@mkdir -p bin
	$(CC) $(BASE_CFLAGS) -Itools $(CLI_SRCS) -Llib -l:$(SONAME) \
		-Wl,-rpath,'$$ORIGIN/../lib' -lm -o $@

build/bench/bench_dbscan: bench/bench_dbscan.c tools/synth.c tools/synth.h tools/timing.h lib/librlcc.a
	@mkdir -p build/bench
	$(CC) $(BASE_CFLAGS) -Itools bench/bench_dbscan.c tools/synth.c lib/librlcc.a $(LIBS) -o $@

# ---- the two README commands --------------------------------------------------
demo: deps all
	bin/rlcc demo

# Go keeps its build cache inside the tree, never in $HOME.
GOCACHE ?= $(CURDIR)/build/gocache
check: deps
	@PYTHON=$(PYTHON) CC=$(CC) GCC=$(GCC) GOCACHE=$(GOCACHE) scripts/check.sh

bench: deps all build/bench/bench_dbscan build/bench/bench_jaccard build/bench/bench_rlcc
	PYTHON=$(PYTHON) scripts/bench.sh

# ---- API reference ------------------------------------------------------------
# Doxygen over include/rlcc.h into build/docs/html; any warning fails, an
# undocumented public symbol included (docs/Doxyfile).
docs: deps
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
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/rlcc.h $(DESTDIR)$(INCLUDEDIR)/rlcc.h
	install -m 644 lib/librlcc.a $(DESTDIR)$(LIBDIR)/librlcc.a
	install -m 755 lib/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/librlcc.so
	$(PC_SED) > $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/rlcc.h $(DESTDIR)$(LIBDIR)/librlcc.a \
	      $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/librlcc.so $(DESTDIR)$(LIBDIR)/pkgconfig/rlcc.pc

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
