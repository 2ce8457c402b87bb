#!/bin/sh
# Prints debian/librlcc1.symbols from the GNU ld version script, so that the
# two never drift (tests/install/deb.sh compares them):
#   scripts/gen-symbols.sh [src/rlcc.map] > debian/librlcc1.symbols
# Every rlcc_* symbol of node RLCC_X.Y appeared in version X.Y.0, and so did
# the node itself (dpkg-gensymbols lists version definitions as symbols): a
# release that adds functions bumps MINOR and adds its node (docs/stability.md).
# Anything else (a node of another name, such as an experimental one, a
# wildcard in a global section, a symbol in two nodes) is refused, not guessed.
set -eu
map=${1:-$(dirname "$0")/../src/rlcc.map}
[ -r "$map" ] || { echo "gen-symbols.sh: cannot read $map" >&2; exit 1; }

LC_ALL=C awk '
    function fail(msg) { print "gen-symbols.sh: " FILENAME ": " msg > "/dev/stderr"; failed = 1; exit 1 }
    { sub(/#.*/, ""); text = text " " $0 }
    END {
        if (failed) exit 1
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
                if (t !~ /^RLCC_[0-9]+\.[0-9]+$/) fail("node " t " is not RLCC_MAJOR.MINOR")
                if (t in nodes) fail("node " t " twice")
                node = t; nodes[t] = 1; ver = substr(t, 6) ".0"; section = ""
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
                else if (section == "global:" && t ~ /^rlcc_[A-Za-z0-9_]+$/) {
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
        print "librlcc.so.1 librlcc1 #MINVER#"
        print "* Build-Depends-Package: librlcc-dev"
        for (i = 1; i <= lines; i++) print " " out[i] | "sort"
        close("sort")
    }
' "$map"
