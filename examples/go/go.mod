module librlcc.org/examples

go 1.19

require librlcc.org/go/rlcc v1.8.0

replace librlcc.org/go/rlcc => ../../bindings/go
