/*
 * csr.c - the library-owned sparse matrix (rlcc_csr): accessors for
 * callers, and the growable form the Jaccard steps build their matrices
 * in. Arrays are allocated through the call's budget; once a handle is
 * returned to the caller it is freed without one (rlcc__system_free).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int64_t rlcc_csr_rows(const rlcc_csr *m)
{
    return m ? m->n : 0;
}

int64_t rlcc_csr_cols(const rlcc_csr *m)
{
    return m ? m->cols : 0;
}

int64_t rlcc_csr_nnz(const rlcc_csr *m)
{
    return m ? m->indptr[m->n] : 0;
}

const int64_t *rlcc_csr_indptr(const rlcc_csr *m)
{
    return m ? m->indptr : NULL;
}

const int32_t *rlcc_csr_indices(const rlcc_csr *m)
{
    return m ? m->indices : NULL;
}

const float *rlcc_csr_data(const rlcc_csr *m)
{
    return m ? m->data : NULL;
}

void rlcc_csr_free(rlcc_csr *m)
{
    if (m == NULL)
        return;
    rlcc__system_free(m->indptr, sizeof *m->indptr * (size_t)(m->n + 1));
    rlcc__system_free(m->indices, sizeof *m->indices * (size_t)m->capacity);
    rlcc__system_free(m->data, sizeof *m->data * (size_t)m->capacity);
    rlcc__system_free(m, sizeof *m);
}

int rlcc__csr_init(rlcc_csr *m, int64_t n, int64_t capacity, rlcc__budget *budget)
{
    int err;
    memset(m, 0, sizeof *m);
    m->n = n;
    m->cols = n;
    if (capacity < 1)
        capacity = 1; /* never NULL arrays, even with no entries */
    m->capacity = capacity; /* what a failed init's release gives back */
    m->indptr = rlcc__calloc(budget, n + 1, sizeof *m->indptr, "sparse rows", &err);
    if (m->indptr != NULL)
        m->indices = rlcc__alloc(budget, capacity, sizeof *m->indices, "sparse columns", &err);
    if (m->indices != NULL)
        m->data = rlcc__alloc(budget, capacity, sizeof *m->data, "sparse values", &err);
    if (m->data == NULL) {
        rlcc__csr_release(m, budget);
        return err;
    }
    return RLCC_OK;
}

int rlcc__csr_resize(rlcc_csr *m, int64_t capacity, rlcc__budget *budget)
{
    int err;
    if (capacity < 1)
        capacity = 1;
    int32_t *indices = rlcc__realloc(budget, m->indices, m->capacity, capacity,
                                     sizeof *m->indices, "sparse columns", &err);
    if (indices == NULL)
        return err;
    m->indices = indices;
    float *data = rlcc__realloc(budget, m->data, m->capacity, capacity, sizeof *m->data,
                                "sparse values", &err);
    if (data == NULL) {
        /* keep the two arrays the same length: give the columns back, and
         * report why the values could not grow (a limit stays a limit) */
        const int why = err;
        int back_err;
        int32_t *back = rlcc__realloc(budget, m->indices, capacity, m->capacity,
                                      sizeof *m->indices, "sparse columns", &back_err);
        if (back != NULL)
            m->indices = back;
        else
            m->capacity = capacity < m->capacity ? capacity : m->capacity;
        return why;
    }
    m->data = data;
    m->capacity = capacity;
    return RLCC_OK;
}

void rlcc__csr_release(rlcc_csr *m, rlcc__budget *budget)
{
    rlcc__free(budget, m->data, m->capacity, sizeof *m->data);
    rlcc__free(budget, m->indices, m->capacity, sizeof *m->indices);
    rlcc__free(budget, m->indptr, m->n + 1, sizeof *m->indptr);
    memset(m, 0, sizeof *m);
}

void rlcc__csr_compact(rlcc_csr *m, const int64_t *slot, const int64_t *count)
{
    int64_t at = 0;
    m->indptr[0] = 0;
    for (int64_t i = 0; i < m->n; i++) {
        if (slot[i] != at && count[i] > 0) {
            memmove(m->indices + at, m->indices + slot[i], sizeof *m->indices * (size_t)count[i]);
            memmove(m->data + at, m->data + slot[i], sizeof *m->data * (size_t)count[i]);
        }
        at += count[i];
        m->indptr[i + 1] = at;
    }
}
