#!/bin/bash
# bench.sh - `make bench`: librlcc DBSCAN against its floor (one SSYRK of
# the same matrix, same OpenBLAS) and scikit-learn's brute-force DBSCAN,
# the Jaccard pipeline, the RLCC consensus step, the refiner's memory, the
# GIL and pseudo labels over a plain metric, on synthetic re-ID embeddings,
# D = 2048. Prints Markdown tables.
#   scripts/bench.sh [SECTION ...]   sections: dbscan jaccard consensus
#                                    refiner gil metric kmeans lowdim
#                                    infomap (default: all)
#   (section kmeans: KMEANS_N=12936 KMEANS_K=500 KMEANS_ITERS=300 KMEANS_REPEAT=3)
#   SIZES="12936 32621" EPS=1.0 MIN_SAMPLES=4 RLCC_N=32621 REFINER_N=32621
#   REFINER_GENERATIONS=3 GIL_N=12000 METRIC_N=12936 scripts/bench.sh
#   SMOKE=1 scripts/bench.sh refiner   small sizes (N = 2000, D = 256): a
#                                    quick check that the benchmarks run,
#                                    not numbers to quote
# The binaries are build/bench/* (make bench builds them).
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -n "${SMOKE:-}" ]; then
    SIZES=${SIZES:-2000} D=${D:-256} RLCC_N=${RLCC_N:-2000} REFINER_N=${REFINER_N:-2000}
    GIL_N=${GIL_N:-2000} METRIC_N=${METRIC_N:-2000} KMEANS_N=${KMEANS_N:-2000} KMEANS_K=${KMEANS_K:-50}
    KMEANS_REPEAT=${KMEANS_REPEAT:-1}
fi
SIZES=${SIZES:-"12936 32621"}
D=${D:-2048}
EPS=${EPS:-1.0}
MIN_SAMPLES=${MIN_SAMPLES:-4}
RLCC_N=${RLCC_N:-32621}
REFINER_N=${REFINER_N:-32621}
REFINER_GENERATIONS=${REFINER_GENERATIONS:-3}
GIL_N=${GIL_N:-12000}
METRIC_N=${METRIC_N:-12936}
KMEANS_N=${KMEANS_N:-12936} KMEANS_K=${KMEANS_K:-500} KMEANS_ITERS=${KMEANS_ITERS:-300} KMEANS_REPEAT=${KMEANS_REPEAT:-3}
ALL_SECTIONS="dbscan jaccard consensus refiner gil metric kmeans lowdim infomap"
SECTIONS=${*:-$ALL_SECTIONS}
for section in $SECTIONS; do
    case " $ALL_SECTIONS " in
        *" $section "*) ;;
        *) echo "bench.sh: unknown section $section ($ALL_SECTIONS)" >&2
           exit 2 ;;
    esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
wants() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "OpenBLAS: $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)' 2>/dev/null || echo missing)"

if wants dbscan; then
echo
echo "| N | D | eps | clusters | noise | librlcc s | SSYRK floor s | librlcc / floor | scikit-learn brute s | speed-up vs scikit-learn | re-decided pairs | librlcc peak RSS MB | librlcc working MB | scikit-learn peak RSS MB | identical labels |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    line=$(build/bench/bench_dbscan "$n" "$D" "$EPS" "$MIN_SAMPLES" "$work/x.f32")
    sk=$("$PYTHON" bench/sklearn_dbscan.py "$work/x.f32" "$n" "$D" "$EPS" "$MIN_SAMPLES")
    rl=$(field "$line" rlcc_s)
    sks=$(field "$sk" sklearn_s)
    echo "| $n | $D | $EPS | $(field "$line" clusters) | $(field "$line" noise_pct)% | $rl | $(field "$line" floor_s) | $(field "$line" ratio) | $sks | $(echo "$sks $rl" | awk '{printf "%.1fx", $1 / $2}') | $(field "$line" redecided) | $(field "$line" peak_rss_mb) | $(field "$line" work_mb) | $(field "$sk" sklearn_peak_rss_mb) | $(field "$sk" identical_labels) |"
    rm -f "$work/x.f32"
done
fi

if wants jaccard; then
echo
echo "Jaccard pipeline: kNN (k1 = 30) + k-reciprocal Jaccard (k2 = 6, sparse) + DBSCAN at eps 0.58/0.60/0.62 (min_samples 4)."
echo "The kNN, kNN + Jaccard and floor: medians of ${BENCH_ROUNDS:-3} alternating rounds (BENCH_ROUNDS), each ratio the median of its per-round ratios."
echo
echo "| N | librlcc kNN s | SSYRK floor s | kNN / floor | Jaccard s | kNN + Jaccard s | (kNN + Jaccard) / floor | DBSCAN x3 s | librlcc pipeline s | reference: faiss kNN s | NumPy Jaccard s | scikit-learn DBSCAN x3 s | reference pipeline s | speed-up | librlcc peak RSS MB, cutoff 0.9 | cutoff 1.0 | reference peak RSS MB | same labels at 0.60 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    ours=$(build/bench/bench_jaccard "$n" "$D" 0.9 "$work/x.f32" "$work/labels.i32")
    full=$(BENCH_ROUNDS=1 build/bench/bench_jaccard "$n" "$D" 1.0)
    ref=$("$PYTHON" bench/reference_pipeline.py "$work/x.f32" "$n" "$D" "$work/labels.i32")
    pipe=$(field "$ours" pipeline_s)
    refpipe=$(field "$ref" ref_pipeline_s)
    echo "| $n | $(field "$ours" knn_s) | $(field "$ours" floor_s) | $(field "$ours" knn_ratio) | $(field "$ours" jaccard_s) | $(field "$ours" knn_jaccard_s) | $(field "$ours" knn_jaccard_ratio) | $(field "$ours" dbscan3_s) | $pipe | $(field "$ref" ref_knn_s) | $(field "$ref" ref_jaccard_s) | $(field "$ref" ref_dbscan3_s) | $refpipe | $(echo "$refpipe $pipe" | awk '{printf "%.1fx", $1 / $2}') | $(field "$ours" peak_rss_mb) | $(field "$full" peak_rss_mb) | $(field "$ref" ref_peak_rss_mb) | $(field "$ref" same_labels) |"
    rm -f "$work/x.f32" "$work/labels.i32"
done
fi

if wants consensus; then
echo
echo "RLCC consensus step: consensus (CSR) + class probabilities + propagation + blend, against the one SGEMM it needs"
echo
echo "| N | D | K_prev = K_cur | dense s | its GEMM (N x D x K_prev) s | dense / GEMM | per batch of 256 ms | its GEMM ms | batch / GEMM | peak RSS MB, batches only | peak RSS MB, with dense |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for k in 1000 $((RLCC_N / 2)); do
    line=$(build/bench/bench_rlcc "$RLCC_N" "$D" "$k" "$k")
    echo "| $RLCC_N | $D | $k | $(field "$line" dense_s) | $(field "$line" gemm_s) | $(field "$line" dense_ratio) | $(field "$line" batch_ms) | $(field "$line" batch_gemm_ms) | $(field "$line" batch_ratio) | $(field "$line" batch_peak_rss_mb) | $(field "$line" dense_peak_rss_mb) |"
done
fi

if wants refiner; then
echo
echo "Refiner memory: $REFINER_GENERATIONS generations (Jaccard + DBSCAN, beta 0: the features kept for the targets), N = $REFINER_N, D = $D, one process per mode; MB = 10^6 bytes"
echo
echo "| mode | caller's matrices MB | peak RSS above them MB | target MB | met | rlcc_refiner_bytes after each generation MB | step s per generation | classes |"
echo "|---|---|---|---|---|---|---|---|"
for mode in copy borrow callback; do
    line=$(build/bench/bench_rlcc refiner "$mode" "$REFINER_N" "$D" "$REFINER_GENERATIONS")
    matrix=$(field "$line" matrix_mb)
    peak=$(field "$line" peak_above_caller_mb)
    case $mode in
        copy) label="step_matrix, copying"; target=$(echo "$matrix" | awk '{printf "%.1f", $1 + 200}') ;;
        borrow) label="step_matrix, borrowing"; target=200 ;;
        callback) label="1.2 rlcc_refiner_step, copy callback"; target= ;;
    esac
    met=$([ -z "$target" ] && echo "-" || echo "$peak $target" | awk '{print ($1 <= $2) ? "yes" : "no"}')
    bytes= steps= classes=
    for ((g = 0; g < REFINER_GENERATIONS; g++)); do
        bytes="$bytes${bytes:+ / }$(field "$line" "bytes_g${g}_mb")"
        steps="$steps${steps:+ / }$(field "$line" "step_s_g${g}")"
        classes="$classes${classes:+ / }$(field "$line" "classes_g${g}")"
    done
    callers=$(echo "$matrix $(field "$line" caller_matrices)" | awk '{printf "%.1f (%d)", $1 * $2, $2}')
    echo "| $label | $callers | $peak | ${target:--} | $met | $bytes | $steps | $classes |"
done
fi

if wants gil; then
echo
echo "Python binding, GIL released: two threads, each one DBSCAN (n_threads = 1, OpenBLAS 1 thread), against one call"
echo
echo "| N | D | one call s | two threads s | two threads / one call |"
echo "|---|---|---|---|---|"
gil=$(OPENBLAS_NUM_THREADS=1 PYTHONPATH=bindings/python "$PYTHON" bench/gil_threads.py "$GIL_N" 3)
echo "| $(field "$gil" n) | 256 | $(field "$gil" one_call_s) | $(field "$gil" two_threads_s) | $(field "$gil" ratio) |"
fi

if wants metric; then
echo
echo "Pseudo labels over a plain metric (euclidean, eps 0.78 / 0.80 / 0.82): one Gram pass for three radii, against three DBSCANs"
echo
echo "| N | D | clusters | one pass s | three DBSCANs s | speed-up | same labels |"
echo "|---|---|---|---|---|---|---|"
pm=$(PYTHONPATH=bindings/python "$PYTHON" bench/pseudo_metric.py "$METRIC_N" "$D")
echo "| $(field "$pm" n) | $(field "$pm" d) | $(field "$pm" clusters) | $(field "$pm" one_pass_s) | $(field "$pm" three_dbscans_s) | $(field "$pm" speedup)x | $(field "$pm" same_labels) |"
fi

# k-means (1.7, issue #15 item 3): bench/bench_kmeans.py, median of KMEANS_REPEAT runs
if wants kmeans; then
echo
echo "k-means pseudo labels (1.7): rlcc.kmeans from faiss's start (tol 0, max_iter $KMEANS_ITERS), against the same number of N x D x K SGEMMs and scikit-learn's KMeans(algorithm=\"lloyd\", n_init=1) from the same start (float32), median of $KMEANS_REPEAT"
echo
PYTHONPATH=bindings/python RLCC_LIBRARY="$PWD/lib/librlcc.so.1" "$PYTHON" bench/bench_kmeans.py --header \
    --n "$KMEANS_N" --d "$D" --k "$KMEANS_K" --iters "$KMEANS_ITERS" --repeat "$KMEANS_REPEAT"
fi

if wants lowdim; then
echo
echo "Low-dimensional DBSCAN (1.5): librlcc's grid, tree, brute and auto against scikit-learn (kd_tree, n_jobs=-1) and R's dbscan"
echo
PYTHONPATH=bindings/python RLCC_LIBRARY="$PWD/lib/librlcc.so.1" "$PYTHON" bench/bench_lowdim.py ${LOWDIM_ARGS:-}
fi

# InfoMap pseudo labels (issue #15 item 2): librlcc's search against the
# mapequation Infomap program (INFOMAP_BIN=path; skipped with a message
# without it); INFOMAP_ARGS=--quick for two small cases.
if wants infomap; then
echo
echo "InfoMap pseudo labels (1.7): librlcc's two-level search against mapequation Infomap v1.x"
echo
PYTHONPATH=bindings/python RLCC_LIBRARY="$PWD/lib/librlcc.so.1" "$PYTHON" bench/bench_infomap.py ${INFOMAP_ARGS:-}
fi
