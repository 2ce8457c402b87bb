module librlcc.org/go/rlcc

go 1.19
