#!/bin/bash
# check-examples.sh - the examples run and print what they should: the C ones
# and README.md's first C block as make check-examples built them in
# build/examples/, the Python ones, and examples/reid_fixture in C, Python,
# Rust and Go printing the same text from one committed fixture. (The
# installed library: tests/install/installed.sh.) Prints "examples: ..." last.
source "$(dirname "$0")/check-lib.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=build/examples
want="2 clusters, labels 0 0 0 1 1 1 -1"
refusal="refused: invalid argument (x: row 1 has NaN"
py() { PYTHONPATH=bindings/python "$PYTHON" "$@"; }

"$bin/dbscan" >"$out/c.txt"
record "examples/dbscan.c runs" $(( $? == 0 ))
grep -q "$want" "$out/c.txt" && grep -qF "$refusal" "$out/c.txt"
record "examples/dbscan.c prints the clusters and the refusal" $(( $? == 0 ))
cat "$out/c.txt"
py examples/dbscan.py >"$out/py.txt"
record "examples/dbscan.py runs" $(( $? == 0 ))
grep -q "$want" "$out/py.txt" && grep -qF "$refusal" "$out/py.txt"
record "examples/dbscan.py prints the same clusters" $(( $? == 0 ))
cat "$out/py.txt"
"$bin/trainer_loop" >"$out/tl.txt" && grep -q "^epoch 3: 40 classes" "$out/tl.txt"
record "examples/trainer_loop.c runs four epochs through the refiner" $(( $? == 0 ))
py examples/trainer_loop.py >"$out/tl.py.txt" && grep -q "^epoch 3: 40 classes" "$out/tl.py.txt"
record "examples/trainer_loop.py runs four epochs through the refiner" $(( $? == 0 ))
# rlcc.distributed.Refiner over a torch.distributed world of 2 it spawns (gloo, loopback)
py examples/distributed_refiner.py >"$out/dr.py.txt" 2>&1 && grep -q "^epoch 2: " "$out/dr.py.txt" \
    && grep -qx "2 ranks give the labels and targets of one process: True" "$out/dr.py.txt"
record "examples/distributed_refiner.py: 2 spawned ranks give one process's labels and targets" $(( $? == 0 ))

# One task, four languages, one committed fixture: identical output.
"$bin/reid_fixture" examples/data >"$out/fx.c.txt" \
    && diff -u examples/data/reid_fixture.expected "$out/fx.c.txt"
record "examples/reid_fixture.c prints examples/data/reid_fixture.expected" $(( $? == 0 ))
py examples/reid_fixture.py examples/data >"$out/fx.py.txt" && diff -u "$out/fx.c.txt" "$out/fx.py.txt"
record "examples/reid_fixture.py prints what the C example prints" $(( $? == 0 ))
cargo_crate run -q --offline --example reid_fixture -- "$top/examples/data" >"$out/fx.rs.txt" \
    && diff -u "$out/fx.c.txt" "$out/fx.rs.txt"
record "examples/reid_fixture.rs prints what the C example prints" $(( $? == 0 ))
go_in examples/go run . "$top/examples/data" >"$out/fx.go.txt" && diff -u "$out/fx.c.txt" "$out/fx.go.txt"
record "examples/go/reid_fixture.go prints what the C example prints" $(( $? == 0 ))

# The README's examples are real programs: its first fenced block of each
# language (the C one is build/examples/readme, from README.md).
"$bin/readme" | grep -q "2 clusters, point 5 is -1"
record "README.md's C example builds and prints what it says" $(( $? == 0 ))
sed -n '/^```python$/,/^```$/{p;/^```$/q}' README.md | sed '1d;$d' >"$out/readme.py"
py "$out/readme.py" | grep -q "^True "
record "README.md's Python example runs and both inputs agree" $(( $? == 0 ))
# examples/mpi_knn.c, built as docs/scale-out.md says (pkg-config rlcc_mpi,
# here the checkout's), run by mpirun at 3 ranks
if PKG_CONFIG_PATH=build/pkgconfig pkg-config --exists rlcc_mpi; then
    cc -std=c11 examples/mpi_knn.c $(PKG_CONFIG_PATH=build/pkgconfig pkg-config --cflags --libs rlcc_mpi) \
        -lm -o "$out/mpi_knn" &&
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 \
            mpirun --oversubscribe --bind-to none -np 3 "$out/mpi_knn" >"$out/mpi.txt" 2>&1
    grep -q "^3 ranks: .* 3000 of 3000 neighbours share" "$out/mpi.txt"
    record "examples/mpi_knn.c builds with pkg-config rlcc_mpi and runs at 3 ranks" $(( $? == 0 ))
fi
tally examples
