#!/bin/sh
# Prints a Debian symbols file from a GNU ld version script, so that the two
# never drift (tests/install/deb.sh compares them):
#   scripts/gen-symbols.sh [src/rlcc.map]         > debian/librlcc1.symbols
#   scripts/gen-symbols.sh src/mpi/rlcc_mpi.map   > debian/librlcc-mpi1.symbols
# The library is told by its nodes' names, one of the two the project has:
#   RLCC_X.Y      librlcc.so.X      librlcc1      (librlcc-dev)       rlcc_*
#   RLCC_MPI_X.Y  librlcc_mpi.so.X  librlcc-mpi1  (librlcc-mpi-dev)   rlcc_mpi_*
# A symbol's version in a symbols file is the first version of its *package*
# that has it (deb-symbols(5)), and every package of the source carries the
# source's version, librlcc's. So every symbol of node RLCC_X.Y appeared in
# X.Y.0, and so did the node itself (dpkg-gensymbols lists version definitions
# as symbols): a release that adds functions bumps MINOR and adds its node
# (docs/stability.md). librlcc_mpi has versions of its own (1.0 ships with
# librlcc 1.8.0): the librlcc release that first ships each RLCC_MPI_X.Y node
# is the table MPI_FIRST below, which a release adding a node extends (a node
# it does not list is refused). Were RLCC_MPI_1.1 given 1.1.0, a program that
# needs it would accept librlcc-mpi1 1.8.0, which lacks it.
# Anything else (a node of another name, such as an experimental one, nodes of
# two libraries or two majors in one script, a symbol without the library's
# prefix, a wildcard in a global section, a symbol in two nodes) is refused,
# not guessed.
set -eu
map=${1:-$(dirname "$0")/../src/rlcc.map}
[ -r "$map" ] || { echo "gen-symbols.sh: cannot read $map" >&2; exit 1; }
# NODE=PACKAGE-VERSION ...: the librlcc release that first ships each
# librlcc_mpi node (CHANGELOG.md)
MPI_FIRST="RLCC_MPI_1.0=1.8.0"

LC_ALL=C awk -v mpi_first="$MPI_FIRST" '
    function fail(msg) { print "gen-symbols.sh: " FILENAME ": " msg > "/dev/stderr"; failed = 1; exit 1 }
    { sub(/#.*/, ""); text = text " " $0 }
    END {
        if (failed) exit 1
        nf = split(mpi_first, pairs, / +/)
        for (i = 1; i <= nf; i++) { split(pairs[i], kv, "="); first[kv[1]] = kv[2] }
        # comments out, then one token per blank-separated word
        gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, " ", text)
        if (index(text, "/*")) fail("unterminated comment")
        gsub(/[{};]/, " & ", text)
        n = split(text, tok, /[ \t]+/)
        state = "name"
        for (i = 1; i <= n; i++) {
            t = tok[i]
            if (t == "") continue
            if (state == "name") {
                # the library, from its first node; every later node the same
                if (t ~ /^RLCC_MPI_[0-9]+\.[0-9]+$/) this = "RLCC_MPI"
                else if (t ~ /^RLCC_[0-9]+\.[0-9]+$/) this = "RLCC"
                else fail("node " t " is not RLCC_MAJOR.MINOR or RLCC_MPI_MAJOR.MINOR")
                if (prefix == "") prefix = this
                else if (this != prefix) fail("node " t " in a script of " prefix "_ nodes")
                if (t in nodes) fail("node " t " twice")
                node = t; nodes[t] = 1; ver = substr(t, length(prefix) + 2)
                split(ver, mm, ".")
                if (major == "") major = mm[1]
                else if (mm[1] != major) fail("node " t " in a script of major " major)
                if (prefix == "RLCC") ver = ver ".0"
                else if (t in first) ver = first[t]
                else fail("node " t ": add the librlcc release that first ships it to MPI_FIRST in scripts/gen-symbols.sh")
                section = ""
                out[++lines] = node "@" node " " ver
                state = "open"
            } else if (state == "open") {
                if (t != "{") fail("expected { after " node)
                state = "body"
            } else if (state == "body") {
                if (t == "global:" || t == "local:") section = t
                else if (t == ";") continue
                else if (t == "}") state = "after"
                else if (section == "local:" && t == "*") continue
                else if (section == "global:" && (prefix == "RLCC_MPI" ? t ~ /^rlcc_mpi_[A-Za-z0-9_]+$/ \
                         : t ~ /^rlcc_[A-Za-z0-9_]+$/ && t !~ /^rlcc_mpi_/)) {
                    if (t in syms) fail(t " is in " syms[t] " and " node)
                    syms[t] = node
                    out[++lines] = t "@" node " " ver
                } else fail("unexpected \"" t "\" in node " node)
            } else if (state == "after") {          # "};" or "} PARENT;"
                if (t == ";") state = "name"
                else if (t in nodes && t != node) state = "semicolon"
                else fail("node " node " inherits from unknown node " t)
            } else if (state == "semicolon") {
                if (t != ";") fail("expected ; after node " node)
                state = "name"
            }
        }
        if (state != "name") fail("unterminated node " node)
        if (lines == 0) fail("no nodes")
        # librlcc_mpi.so.1 -> librlcc-mpi1 (Debian policy 8.1: the SONAME,
        # "_" as "-"), its -dev package without the major
        lib = "lib" tolower(prefix)
        pkg = lib; gsub(/_/, "-", pkg)
        print lib ".so." major " " pkg major " #MINVER#"
        print "* Build-Depends-Package: " pkg "-dev"
        for (i = 1; i <= lines; i++) print " " out[i] | "sort"
        close("sort")
    }
' "$map"
