//! Safe code cannot build what makes librlcc read or write out of bounds
//! (issue #11, docs/robustness.md): every CSR the crate accepts, as a `Csr`
//! or as `dbscan_csr`'s slices, is checked in full before the library sees
//! its pointers; every output is sized by a checked product; every length
//! that crosses as an `int64_t` fits one.

use rlcc::code::INVALID_ARGUMENT;
use rlcc::{Csr, Kind, Normalize, PropagateOptions};

fn refused<T: std::fmt::Debug>(result: Result<T, rlcc::Error>, text: &str) {
    let e = result.expect_err(text);
    assert_eq!(e.code, INVALID_ARGUMENT, "{}: {}", text, e.message);
    assert_eq!(e.message, text);
}

/// CSR parts `(indptr, indices, data, cols)` and the refusal they get.
type Bad = (&'static [i64], &'static [i32], &'static [f32], usize, &'static str);

/// Every way CSR parts can disagree, and the message each gets, both from
/// `Csr::try_from_parts` and from `dbscan_csr` (square, `cols = rows`).
const BAD: &[Bad] = &[
    // the case: indptr longer than indices and data, its last entry
    // right, so only a full walk of indptr sees it (librlcc's propagation
    // read row 0's five entries past the one there)
    (&[0, 5, 1], &[0], &[1.0], 2, "indptr: decreases at row 1 (5 > 1)"),
    (&[0, 1, 2, 3], &[0], &[1.0], 3, "indptr: indptr[3] = 3 must equal the length of indices (1) and data (1)"),
    (&[0, 9], &[0], &[1.0], 1, "indptr: indptr[1] = 9 must equal the length of indices (1) and data (1)"),
    (&[0, 1], &[0], &[], 1, "indptr: indptr[1] = 1 must equal the length of indices (1) and data (0)"),
    (&[0, 1], &[0, 0], &[1.0, 1.0], 1, "indptr: indptr[1] = 1 must equal the length of indices (2) and data (2)"),
    (&[], &[], &[], 0, "indptr: is empty; it needs rows + 1 entries"),
    (&[1, 1], &[0], &[1.0], 1, "indptr: indptr[0] = 1, must be 0"),
    (&[-1, 0], &[], &[], 1, "indptr: indptr[0] = -1, must be 0"),
    (&[0, -1, 0], &[], &[], 2, "indptr: decreases at row 0 (0 > -1)"),
    (&[0, 1, 2], &[0, 2], &[1.0, 1.0], 2, "indices: column 2 out of range [0, 2) in row 1"),
    (&[0, 0, 1], &[-3], &[1.0], 2, "indices: column -3 out of range [0, 2) in row 1"),
];

#[test]
fn csr_parts_that_disagree_are_refused_when_built() {
    for &(indptr, indices, data, cols, text) in BAD {
        refused(Csr::try_from_parts(indptr.to_vec(), indices.to_vec(), data.to_vec(), cols), text);
    }
}

#[test]
fn from_parts_panics_on_parts_that_disagree() {
    for &(indptr, indices, data, cols, text) in BAD {
        let built = std::panic::catch_unwind(|| {
            Csr::from_parts_with_cols(indptr.to_vec(), indices.to_vec(), data.to_vec(), cols)
        });
        assert!(built.is_err(), "from_parts_with_cols accepted {:?}", text);
        if cols + 1 == indptr.len() {
            assert!(std::panic::catch_unwind(|| Csr::from_parts(indptr.to_vec(), indices.to_vec(), data.to_vec()))
                .is_err(), "from_parts accepted {:?}", text);
        }
    }
}

#[test]
fn dbscan_csr_checks_the_whole_structure_first() {
    for &(indptr, indices, data, cols, text) in BAD {
        if cols + 1 == indptr.len() || indptr.is_empty() {
            refused(rlcc::dbscan_csr(indptr, indices, data, 1.0, 1, &Default::default()), text);
        }
    }
    // what is not structure stays the library's check, with its message
    let e = rlcc::dbscan_csr(&[0, 2, 2], &[1, 0], &[0.5, 0.5], 1.0, 1, &Default::default()).unwrap_err();
    assert_eq!(e.message, "indices: column 0 unsorted in row 0");
}

#[test]
fn a_valid_user_csr_still_propagates() {
    // rows need not be sorted, and a row may be empty
    let chat = Csr::try_from_parts(vec![0, 2, 2, 3], vec![1, 0, 1], vec![0.25, 0.75, 1.0], 2).unwrap();
    assert_eq!((chat.rows(), chat.cols()), (3, 2));
    let hard = rlcc::propagate_csr(&[0, 2, -1], &chat, None, 0.0, 1.0, None).unwrap();
    assert_eq!(hard, vec![0.75, 0.25, 0.0, 1.0, 0.0, 0.0]);
    let o = PropagateOptions { beta: 1.0, ..Default::default() };
    assert_eq!(rlcc::propagate_opts(&[0, 2, -1], &chat, None, None, &o).unwrap(), hard);
    // the dense propagate builds its own CSR: still the same values
    assert_eq!(rlcc::propagate(&[0, 2, -1], &[0.75, 0.25, 0.0, 0.0, 0.0, 1.0], 3, 2, None, 0.0, 1.0).unwrap(), hard);
}

#[test]
fn outputs_whose_size_overflows_are_refused_not_wrapped() {
    // k_prev x k_cur, n x k: products that wrap around usize would hand the
    // library a short buffer (and beyond isize::MAX bytes, vec! panics)
    let big = 1usize << 62;
    refused(rlcc::consensus_counts(&[0], &[0], big, 8), "counts: 4611686018427387904 x 8 values overflow");
    refused(rlcc::consensus_of(&[0], &[0], big, big, Kind::Iou, Normalize::Sum),
            "consensus: 4611686018427387904 x 4611686018427387904 values overflow");
    refused(rlcc::consensus_opts(&[0], &[0], 3, big, &Default::default()),
            "consensus: 3 x 4611686018427387904 values overflow");
    refused(rlcc::centroids(&[1.0], 1, 1, &[0], big), "centroids: 4611686018427387904 x 1 values overflow");
    refused(rlcc::centroids_opts(&[1.0], 1, 1, &[0], big, &Default::default()),
            "centroids: 4611686018427387904 x 1 values overflow");
    refused(rlcc::blend_rows(&[0], None, big, 1.0, None), "out: 1 x 4611686018427387904 values overflow");
    // a class count that does not fit int64 is refused by name, not passed on negative
    refused(rlcc::consensus_counts(&[0], &[0], usize::MAX, 1), "k_prev: 18446744073709551615 does not fit int64");
    // a k the library refuses allocates nothing, however large
    assert!(rlcc::knn(&[0.0, 1.0], 2, 1, usize::MAX, 0).unwrap_err().message.starts_with("k: "));
}

#[test]
fn empty_matrices_with_huge_row_counts_are_refused_before_any_output() {
    // d = 0: an empty slice holds any number of rows; the count must still fit int64
    let e = rlcc::dbscan_features(&[], usize::MAX, 0, 1.0, 1, &Default::default()).unwrap_err();
    assert_eq!(e.message, "x: 0 values, expected 18446744073709551615 x 0");
    refused(rlcc::knn(&[], 1 << 63, 0, 1, 0), "x: 0 values, expected 9223372036854775808 x 0");
}
