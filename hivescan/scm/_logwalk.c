/*
 * The compiled twin of hivescan/scm/logwalk.py (_Walk, walk_services_py): which service
 * records a log replay may have changed, from the bytes each record is built from.
 *
 * Why: the walk visits every value of every service key (about ten thousand cells in a 13 MB
 * hive); in Python that is ~10 ms per dirty hive, here well under one. It mirrors the Python
 * walk step by step -- the same cells, the same byte ranges, the same reasons to decline --
 * and is tested equal to it on real and built hives and on hypothesis-damaged images. The
 * extension is optional: setup.py builds it when a C compiler is present, else the Python
 * walk runs.
 *
 * Every offset, size and count comes from the file and is bounds-checked before use.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define BASE 4096
#define SHIFT 9
#define CHANGED 1
#define FORCED 2
#define NO_OFFSET 0xFFFFFFFFu
#define BIG_DATA_SEGMENT 16344
#define MAX_SUBKEYS 512
#define NK_SIZE 76
#define KEY_COMP_NAME 0x20
#define VALUE_TOMBSTONE 0x2

typedef struct {
    const uint8_t *d;   /* the file walked */
    Py_ssize_t size;
    const uint8_t *o;   /* the other file */
    const uint8_t *bits;
    Py_ssize_t limit;
    int minor;
    int touched;
    PyObject *nks;      /* list of key cell offsets reached */
    const char *why;    /* set when declining */
} Walk;

typedef struct {
    uint32_t subkeys, subkey_list, values, value_list, security;
    Py_ssize_t name_at;
    uint16_t name_len;
    int compressed;
} Nk;

static inline uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int decline(Walk *w, const char *why) {
    w->why = why;
    return -1;
}

static void range(Walk *w, Py_ssize_t a, Py_ssize_t b) {
    if (w->touched) return;
    if (b > w->limit) {
        w->touched = 1;
        return;
    }
    Py_ssize_t first = a >> SHIFT, last = (b - 1) >> SHIFT, i;
    int changed = 0;
    for (i = first; i <= last; i++) {
        if (w->bits[i] == FORCED) {
            w->touched = 1;
            return;
        }
        if (w->bits[i] == CHANGED) changed = 1;
    }
    if (changed && memcmp(w->d + a, w->o + a, (size_t)(b - a)) != 0) w->touched = 1;
}

/* (start, end) file offsets of an allocated cell, size field included */
static int cell(Walk *w, uint32_t offset, Py_ssize_t *at, Py_ssize_t *end) {
    Py_ssize_t start = BASE + (Py_ssize_t)offset;
    if (offset % 8 || start + 4 > w->size) return decline(w, "cell offset");
    int32_t raw = (int32_t)u32(w->d + start);
    if (raw > -8 || start - (Py_ssize_t)raw > w->size) return decline(w, "cell free or out of bounds");
    *at = start;
    *end = start - (Py_ssize_t)raw;
    return 0;
}

static int nk(Walk *w, uint32_t offset, Nk *out) {
    Py_ssize_t at, end;
    if (cell(w, offset, &at, &end)) return -1;
    if (end - at - 4 < NK_SIZE) return decline(w, "key cell too small");
    const uint8_t *p = w->d + at + 4;
    uint16_t name_len = u16(p + 72);
    Py_ssize_t name_at = at + 4 + NK_SIZE;
    if (p[0] != 'n' || p[1] != 'k' || name_at + name_len > end) return decline(w, "key cell not a clean key record");
    range(w, at, name_at + name_len);
    PyObject *number = PyLong_FromUnsignedLong(offset);
    if (number == NULL) return -2;
    int failed = PyList_Append(w->nks, number);
    Py_DECREF(number);
    if (failed) return -2;
    out->subkeys = u32(p + 20);
    out->subkey_list = u32(p + 28);
    out->values = u32(p + 36);
    out->value_list = u32(p + 40);
    out->security = u32(p + 44);
    out->name_at = name_at;
    out->name_len = name_len;
    out->compressed = (u16(p + 2) & KEY_COMP_NAME) != 0;
    return 0;
}

/* the name's length in characters; declines names that are not ASCII */
static int name_chars(Walk *w, const Nk *k, Py_ssize_t *length) {
    const uint8_t *p = w->d + k->name_at;
    Py_ssize_t i;
    if (k->compressed) {
        for (i = 0; i < k->name_len; i++)
            if (p[i] >= 0x80) return decline(w, "a subkey name is not ASCII");
        *length = k->name_len;
        return 0;
    }
    if (k->name_len % 2) return decline(w, "odd-length UTF-16 key name");
    for (i = 0; i < k->name_len / 2; i++)
        if (p[2 * i + 1] || p[2 * i] >= 0x80) return decline(w, "a subkey name is not ASCII");
    *length = k->name_len / 2;
    return 0;
}

/* character i of an ASCII name, upper case */
static inline char name_char(Walk *w, const Nk *k, Py_ssize_t i) {
    char c = (char)w->d[k->name_at + (k->compressed ? i : 2 * i)];
    return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

static int name_is(Walk *w, const Nk *k, Py_ssize_t length, const char *upper) {
    Py_ssize_t i, n = (Py_ssize_t)strlen(upper);
    if (length != n) return 0;
    for (i = 0; i < n; i++)
        if (name_char(w, k, i) != upper[i]) return 0;
    return 1;
}

static int names_alike(Walk *w, const Nk *a, Py_ssize_t la, const Nk *b, Py_ssize_t lb) {
    Py_ssize_t i;
    if (la != lb) return 0;
    for (i = 0; i < la; i++)
        if (name_char(w, a, i) != name_char(w, b, i)) return 0;
    return 1;
}

static int security(Walk *w, uint32_t offset) {
    if (offset == NO_OFFSET) return 0;
    Py_ssize_t at, end;
    if (cell(w, offset, &at, &end)) return -1;
    if (end - at < 24 || w->d[at + 4] != 's' || w->d[at + 5] != 'k') return decline(w, "security cell");
    uint32_t length = u32(w->d + at + 20);
    if (at + 24 + (Py_ssize_t)length > end) return decline(w, "security cell descriptor length");
    range(w, at, at + 6);
    range(w, at + 20, at + 24 + (Py_ssize_t)length);
    return 0;
}

static int big_data(Walk *w, Py_ssize_t at, Py_ssize_t end) {
    if (end - at < 12) return decline(w, "big-data record too small");
    uint16_t count = u16(w->d + at + 6);
    uint32_t seg_list = u32(w->d + at + 8);
    range(w, at, at + 12);
    Py_ssize_t l_at, l_end, s_at, s_end, i;
    if (cell(w, seg_list, &l_at, &l_end)) return -1;
    if (l_at + 4 + 4 * (Py_ssize_t)count > l_end) return decline(w, "big-data segment list short");
    range(w, l_at, l_at + 4 + 4 * (Py_ssize_t)count);
    for (i = 0; i < count; i++) {
        if (cell(w, u32(w->d + l_at + 4 + 4 * i), &s_at, &s_end)) return -1;
        range(w, s_at, s_end);
    }
    return 0;
}

static int values(Walk *w, uint32_t count, uint32_t list_offset) {
    if (!count) return 0;
    Py_ssize_t at, end, i;
    if (cell(w, list_offset, &at, &end)) return -1;
    if (at + 4 + 4 * (Py_ssize_t)count > end) return decline(w, "value list short");
    range(w, at, at + 4 + 4 * (Py_ssize_t)count);
    const uint8_t *d = w->d;
    for (i = 0; i < (Py_ssize_t)count; i++) {
        Py_ssize_t v_at, v_end, d_at, d_end;
        if (cell(w, u32(d + at + 4 + 4 * i), &v_at, &v_end)) return -1;
        if (v_end - v_at < 24) return decline(w, "value cell too small");
        const uint8_t *p = d + v_at;
        uint16_t name_len = u16(p + 6), flags = u16(p + 20);
        uint32_t size_field = u32(p + 8), data_off = u32(p + 12);
        if (p[4] != 'v' || p[5] != 'k' || flags & VALUE_TOMBSTONE || v_at + 24 + name_len > v_end)
            return decline(w, "value cell not a clean value record");
        range(w, v_at, v_at + 24 + name_len);
        if (size_field & 0x80000000u) {
            if (size_field > 0x80000004u) return decline(w, "value cell oversized inline data");
            continue;
        }
        if (size_field == 0) continue;
        if (cell(w, data_off, &d_at, &d_end)) return -1;
        if (size_field > BIG_DATA_SEGMENT && w->minor >= 4) {
            if (d_at + 6 <= w->size && d[d_at + 4] == 'd' && d[d_at + 5] == 'b') {
                if (big_data(w, d_at, d_end)) return -1;
                continue;
            }
        } else if ((Py_ssize_t)size_field > d_end - d_at - 4) {
            return decline(w, "data cell short");
        }
        range(w, d_at, d_end);
    }
    return 0;
}

static int list(Walk *w, uint32_t offset, int *is_ri, uint32_t *entries, Py_ssize_t *n, Py_ssize_t room) {
    Py_ssize_t at, end, i;
    if (cell(w, offset, &at, &end)) return -1;
    if (end - at < 8) return decline(w, "subkey list too small");
    const uint8_t *p = w->d + at + 4;
    uint16_t count = u16(p + 2);
    Py_ssize_t width;
    if (p[0] == 'l' && (p[1] == 'f' || p[1] == 'h')) width = 8;
    else if ((p[0] == 'l' && p[1] == 'i') || (p[0] == 'r' && p[1] == 'i')) width = 4;
    else return decline(w, "subkey list signature");
    if (at + 8 + width * count > end) return decline(w, "subkey list short");
    range(w, at, at + 8 + width * count);
    *is_ri = p[0] == 'r';
    if (*n + count > room) return decline(w, "more subkeys than the key declares");
    for (i = 0; i < count; i++) entries[(*n)++] = u32(p + 4 + width * i);
    return 0;
}

typedef struct {
    uint32_t offset;
    Nk nk;
    int special; /* 0 none, 1 Parameters/Security, 2 TriggerInfo */
} Sub;

/* the subkeys of a key, in list order, into *out (PyMem_Malloc'ed; the caller frees) */
static int subkeys(Walk *w, uint32_t count, uint32_t list_offset, Sub **out, Py_ssize_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!count) return 0;
    if (count > MAX_SUBKEYS) return decline(w, "too many subkeys");
    uint32_t entries[MAX_SUBKEYS], leaves[MAX_SUBKEYS];
    Py_ssize_t n = 0, n_leaves = 0, i, j;
    int is_ri = 0, leaf_ri = 0;
    /* an ri lists leaves (at most 65535 of them); room is checked as they are read */
    if (list(w, list_offset, &is_ri, leaves, &n_leaves, MAX_SUBKEYS)) return -1;
    if (is_ri) {
        for (i = 0; i < n_leaves; i++)
            for (j = 0; j < i; j++)
                if (leaves[i] == leaves[j]) return decline(w, "index root names a leaf twice");
        for (i = 0; i < n_leaves; i++) {
            if (list(w, leaves[i], &leaf_ri, entries, &n, MAX_SUBKEYS)) return -1;
            if (leaf_ri) return decline(w, "nested index root");
        }
    } else {
        memcpy(entries, leaves, sizeof(uint32_t) * (size_t)n_leaves);
        n = n_leaves;
    }
    if (n != (Py_ssize_t)count) return decline(w, "the list does not hold the declared subkeys");
    Sub *subs = PyMem_Malloc(sizeof(Sub) * (size_t)n);
    Py_ssize_t *lengths = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)n);
    if (subs == NULL || lengths == NULL) {
        PyMem_Free(subs);
        PyMem_Free(lengths);
        PyErr_NoMemory();
        return -2;
    }
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        subs[i].offset = entries[i];
        if ((rc = nk(w, entries[i], &subs[i].nk))) break;
        if ((rc = name_chars(w, &subs[i].nk, &lengths[i]))) break;
        for (j = 0; j < i; j++)
            if (names_alike(w, &subs[j].nk, lengths[j], &subs[i].nk, lengths[i])) {
                rc = decline(w, "subkeys named alike");
                break;
            }
        subs[i].special = 0;
        if (name_is(w, &subs[i].nk, lengths[i], "PARAMETERS") || name_is(w, &subs[i].nk, lengths[i], "SECURITY"))
            subs[i].special = 1;
        else if (name_is(w, &subs[i].nk, lengths[i], "TRIGGERINFO"))
            subs[i].special = 2;
    }
    PyMem_Free(lengths);
    if (rc) {
        PyMem_Free(subs);
        return rc;
    }
    *out = subs;
    *n_out = n;
    return 0;
}

static int service(Walk *w, uint32_t offset) {
    Nk key;
    Sub *subs = NULL, *triggers = NULL;
    Py_ssize_t n = 0, m = 0, i, j;
    int rc;
    w->touched = 0;
    if ((rc = nk(w, offset, &key))) return rc;
    if ((rc = security(w, key.security))) return rc;
    if ((rc = values(w, key.values, key.value_list))) return rc;
    if ((rc = subkeys(w, key.subkeys, key.subkey_list, &subs, &n))) return rc;
    for (i = 0; i < n && rc == 0; i++) {
        if (!subs[i].special) continue;
        if ((rc = values(w, subs[i].nk.values, subs[i].nk.value_list))) break;
        if (subs[i].special != 2) continue;
        if ((rc = subkeys(w, subs[i].nk.subkeys, subs[i].nk.subkey_list, &triggers, &m))) break;
        for (j = 0; j < m && rc == 0; j++) rc = values(w, triggers[j].nk.values, triggers[j].nk.value_list);
        PyMem_Free(triggers);
        triggers = NULL;
    }
    PyMem_Free(subs);
    return rc;
}

PyDoc_STRVAR(walk_doc,
             "walk_services(data, other, bits, limit, minor, offsets) -> (touched, nks, bounds) | str\n\n"
             "See hivescan/scm/logwalk.py (walk_services_py is the reference).");

static PyObject *py_walk_services(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, other, bits;
    Py_ssize_t limit;
    int minor;
    PyObject *offsets;
    if (!PyArg_ParseTuple(args, "y*y*y*niO!", &data, &other, &bits, &limit, &minor, &PyList_Type, &offsets))
        return NULL;
    PyObject *result = NULL, *touched = NULL, *nks = NULL, *bounds = NULL;
    if (limit > other.len || limit > data.len || bits.len < (data.len >> SHIFT) + 1) {
        PyErr_SetString(PyExc_ValueError, "limit or sector map does not fit the files");
        goto done;
    }
    Py_ssize_t count = PyList_GET_SIZE(offsets), i;
    touched = PyBytes_FromStringAndSize(NULL, count);
    nks = PyList_New(0);
    bounds = PyList_New(0);
    if (touched == NULL || nks == NULL || bounds == NULL) goto done;
    Walk w = {data.buf, data.len, other.buf, bits.buf, limit, minor, 0, nks, NULL};
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL || PyList_Append(bounds, zero)) {
        Py_XDECREF(zero);
        goto done;
    }
    Py_DECREF(zero);
    for (i = 0; i < count; i++) {
        unsigned long offset = PyLong_AsUnsignedLong(PyList_GET_ITEM(offsets, i));
        if (PyErr_Occurred()) goto done;
        if (offset > 0xFFFFFFFFul) {
            result = PyUnicode_FromString("service key offset out of range");
            goto done;
        }
        int rc = service(&w, (uint32_t)offset);
        if (rc == -2) goto done;
        if (rc == -1) {
            result = PyUnicode_FromString(w.why);
            goto done;
        }
        PyBytes_AS_STRING(touched)[i] = (char)w.touched;
        PyObject *end = PyLong_FromSsize_t(PyList_GET_SIZE(nks));
        if (end == NULL || PyList_Append(bounds, end)) {
            Py_XDECREF(end);
            goto done;
        }
        Py_DECREF(end);
    }
    result = PyTuple_Pack(3, touched, nks, bounds);
done:
    Py_XDECREF(touched);
    Py_XDECREF(nks);
    Py_XDECREF(bounds);
    PyBuffer_Release(&data);
    PyBuffer_Release(&other);
    PyBuffer_Release(&bits);
    return result;
}

PyDoc_STRVAR(diff_doc,
             "diff_sectors(primary, image, runs, limit, bits) -> list[int]\n\n"
             "Mark in bits (one byte per 512-byte sector) the sectors of the runs (file offsets "
             "(start, end)) whose bytes differ; return the 4096-aligned ones before limit whose "
             "first 12 bytes (a hive-bin header's signature, offset, size) differ. See "
             "changed_sectors_py in hivescan/scm/logwalk.py.");

static PyObject *py_diff_sectors(PyObject *self, PyObject *args) {
    Py_buffer primary, image, bits;
    PyObject *runs, *headers = NULL;
    Py_ssize_t limit;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*O!nw*", &primary, &image, &PyList_Type, &runs, &limit, &bits)) return NULL;
    const uint8_t *p = primary.buf, *im = image.buf;
    uint8_t *b = bits.buf;
    Py_ssize_t end = primary.len, n = PyList_GET_SIZE(runs), i;
    if (bits.len < (image.len >> SHIFT) + 1) {
        PyErr_SetString(PyExc_ValueError, "the sector map is shorter than the image");
        goto done;
    }
    headers = PyList_New(0);
    if (headers == NULL) goto done;
    for (i = 0; i < n; i++) {
        Py_ssize_t a, z, sector;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(runs, i), "nn", &a, &z)) goto fail;
        if (a < 0 || z <= a || z > image.len) {
            PyErr_SetString(PyExc_ValueError, "a run lies outside the image");
            goto fail;
        }
        if (z <= end && memcmp(im + a, p + a, (size_t)(z - a)) == 0) continue;
        for (sector = a >> SHIFT; sector <= (z - 1) >> SHIFT; sector++) {
            Py_ssize_t s = sector << SHIFT;
            if (s + 512 > end || s + 512 > image.len || memcmp(im + s, p + s, 512) != 0) {
                b[sector] = CHANGED;
                if (!(s % 4096) && s + 12 <= limit && s + 12 <= end && s + 12 <= image.len &&
                    memcmp(im + s, p + s, 12) != 0) {
                    PyObject *at = PyLong_FromSsize_t(s);
                    if (at == NULL || PyList_Append(headers, at)) {
                        Py_XDECREF(at);
                        goto fail;
                    }
                    Py_DECREF(at);
                }
            }
        }
    }
    goto done;
fail:
    Py_CLEAR(headers);
done:
    PyBuffer_Release(&primary);
    PyBuffer_Release(&image);
    PyBuffer_Release(&bits);
    return headers;
}

static PyMethodDef methods[] = {
    {"walk_services", py_walk_services, METH_VARARGS, walk_doc},
    {"diff_sectors", py_diff_sectors, METH_VARARGS, diff_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_logwalk", "The service walk of hivescan/scm/logwalk.py, compiled.", -1, methods,
};

PyMODINIT_FUNC PyInit__logwalk(void) { return PyModule_Create(&module); }
