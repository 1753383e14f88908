/*
 * The compiled walk of one service key (hivescan/scm/keywalk.py): the exact bytes a service
 * record is decoded from, as one canonical byte string, and the key cells the record's
 * reading lists -- or a decline.
 *
 * Why: a service key equal byte for byte to one decoded before (in this hive or another host
 * of the same build) takes its decoded fields from hivescan.scm.services.RecordMemo. Finding
 * that out through the Python reader costs a Key object per subkey, a value list per key and
 * the listing bookkeeping (~50 us per service); here it is a few microseconds.
 *
 * The walk accepts only the plain common case, where the Python reader
 * (hivescan/hive/tree.py _list_subkeys_fast and hivescan/hive/cells.py Cells.values, their
 * fast paths) would read the very same bytes and note nothing: every cell allocated, 8-aligned
 * and in bounds; subkey lists that are sound lf/lh/li leaves or one index root over distinct
 * leaves, holding exactly the declared count; key records with no layered-key bits; value
 * records that are not tombstones, with data inline (at most 4 bytes) or in one cell of at
 * most `most` bytes; names that are ASCII (compressed, or UTF-16 with zero high bytes) and
 * not alike (ci) among siblings; a security cell that reads; no key cell reached twice.
 * Anything else returns None and the caller takes the Python path, which says what is wrong.
 *
 * Every offset, size and count comes from the file and is bounds-checked before use.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#define BASE 4096
#define NO_OFFSET 0xFFFFFFFFu
#define MAX_ITEMS 512 /* subkeys or values of one key: the duplicate-name checks are quadratic */
#define NK_SIZE 76
#define KEY_COMP_NAME 0x20
#define VALUE_COMP_NAME 0x1
#define VALUE_TOMBSTONE 0x2
#define MAX_CELLS (4 * MAX_ITEMS) /* key cells one walk may reach (checked distinct) */

typedef struct {
    const uint8_t *d;
    Py_ssize_t size;
    uint32_t most; /* the largest value data the reader's fast path takes from one cell */
    uint8_t *out;  /* the canonical bytes, growing */
    Py_ssize_t len, cap;
    uint32_t seen[MAX_CELLS]; /* key cells reached, to decline one reached twice */
    Py_ssize_t n_seen;
} Walk;

typedef struct {
    uint32_t offset;
    uint64_t last_write;
    uint32_t subkeys, subkey_list, values, value_list, security;
    Py_ssize_t name_at;
    uint16_t name_len;
    int compressed;
} Nk;

#define DECLINE (-1)
#define FAIL (-2) /* a Python exception is set */

static inline uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t u64(const uint8_t *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

/* -- the canonical bytes */

static int put(Walk *w, const void *bytes, Py_ssize_t n) {
    if (w->len + n > w->cap) {
        Py_ssize_t cap = w->cap ? w->cap : 1024;
        while (cap < w->len + n) cap *= 2;
        uint8_t *grown = PyMem_Realloc(w->out, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return FAIL;
        }
        w->out = grown;
        w->cap = cap;
    }
    memcpy(w->out + w->len, bytes, (size_t)n);
    w->len += n;
    return 0;
}

static int put_u8(Walk *w, uint8_t v) { return put(w, &v, 1); }

static int put_u16(Walk *w, uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return put(w, b, 2);
}

static int put_u32(Walk *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(w, b, 4);
}

/* a name: whether compressed (one byte), its length, its raw bytes */
static int put_name(Walk *w, int compressed, Py_ssize_t at, uint16_t length) {
    if (put_u8(w, (uint8_t)(compressed != 0)) || put_u16(w, length)) return FAIL;
    return put(w, w->d + at, length);
}

/* -- cells, as hivescan.hive.cells reads them on its fast paths */

/* payload (start, end): an allocated cell, 8-aligned, in bounds (Cells.cell without a note) */
static int cell(Walk *w, uint32_t offset, Py_ssize_t *start, Py_ssize_t *end) {
    Py_ssize_t at = BASE + (Py_ssize_t)offset;
    if (offset % 8 || at + 4 > w->size) return DECLINE;
    int32_t raw = (int32_t)u32(w->d + at);
    if (raw > -8 || at - (Py_ssize_t)raw > w->size) return DECLINE;
    *start = at + 4;
    *end = at - (Py_ssize_t)raw;
    return 0;
}

static int reach(Walk *w, uint32_t offset) {
    Py_ssize_t i;
    for (i = 0; i < w->n_seen; i++)
        if (w->seen[i] == offset) return DECLINE;
    if (w->n_seen == MAX_CELLS) return DECLINE;
    w->seen[w->n_seen++] = offset;
    return 0;
}

/* Cells.nk, and no layered-key bits (the reader notes those) */
static int nk(Walk *w, uint32_t offset, Nk *out) {
    Py_ssize_t start, end;
    if (cell(w, offset, &start, &end)) return DECLINE;
    if (end - start < NK_SIZE) return DECLINE;
    const uint8_t *p = w->d + start;
    uint16_t name_len = u16(p + 72);
    Py_ssize_t name_at = start + NK_SIZE;
    if (p[0] != 'n' || p[1] != 'k' || name_at + name_len > end || p[13] != 0) return DECLINE;
    if (reach(w, offset)) return DECLINE;
    out->offset = offset;
    out->last_write = u64(p + 4);
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

/* An ASCII name's length in characters (compressed: one byte each; else UTF-16LE with zero
 * high bytes); declines others: str.upper and the registry's upper case differ beyond ASCII */
static int ascii_name(Walk *w, int compressed, Py_ssize_t at, uint16_t n_bytes, Py_ssize_t *chars) {
    const uint8_t *p = w->d + at;
    Py_ssize_t i;
    if (compressed) {
        for (i = 0; i < n_bytes; i++)
            if (p[i] >= 0x80) return DECLINE;
        *chars = n_bytes;
        return 0;
    }
    if (n_bytes % 2) return DECLINE;
    for (i = 0; i < n_bytes / 2; i++)
        if (p[2 * i + 1] || p[2 * i] >= 0x80) return DECLINE;
    *chars = n_bytes / 2;
    return 0;
}

typedef struct {
    Py_ssize_t at, chars;
    int compressed;
} Name;

static inline uint8_t upper_at(const Walk *w, const Name *n, Py_ssize_t i) {
    uint8_t c = w->d[n->at + (n->compressed ? i : 2 * i)];
    return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

static int alike(const Walk *w, const Name *a, const Name *b) {
    Py_ssize_t i;
    if (a->chars != b->chars) return 0;
    for (i = 0; i < a->chars; i++)
        if (upper_at(w, a, i) != upper_at(w, b, i)) return 0;
    return 1;
}

static int name_is(const Walk *w, const Name *n, const char *upper) {
    Py_ssize_t i, k = (Py_ssize_t)strlen(upper);
    if (n->chars != k) return 0;
    for (i = 0; i < k; i++)
        if (upper_at(w, n, i) != (uint8_t)upper[i]) return 0;
    return 1;
}

/* Cells.security reads the descriptor without a note (HiveReader.security_hex) */
static int security(Walk *w, uint32_t offset) {
    if (offset == NO_OFFSET) return 0;
    Py_ssize_t start, end;
    if (cell(w, offset, &start, &end)) return DECLINE;
    if (end - start < 20 || w->d[start] != 's' || w->d[start + 1] != 'k') return DECLINE;
    uint32_t length = u32(w->d + start + 16);
    if (start + 20 + (Py_ssize_t)length > end) return DECLINE;
    return 0;
}

/* The values of a key exactly as Cells.values' fast path reads them (no note, no careful
 * read), no names alike (ci); appended as: count, then per value name, type, data */
static int values(Walk *w, uint32_t count, uint32_t list_offset) {
    Name names[MAX_ITEMS];
    Py_ssize_t i, j, start, end;
    if (count > MAX_ITEMS) return DECLINE;
    if (put_u32(w, count)) return FAIL;
    if (!count) return 0;
    if (cell(w, list_offset, &start, &end)) return DECLINE;
    if (4 * (Py_ssize_t)count > end - start) return DECLINE;
    const uint8_t *d = w->d;
    for (i = 0; i < (Py_ssize_t)count; i++) {
        uint32_t off = u32(d + start + 4 * i);
        Py_ssize_t at = BASE + (Py_ssize_t)off;
        if (off % 8 || at + 24 > w->size) return DECLINE;
        const uint8_t *p = d + at;
        int32_t raw = (int32_t)u32(p);
        uint16_t name_len = u16(p + 6), flags = u16(p + 20);
        uint32_t size_field = u32(p + 8), data_off = u32(p + 12), type = u32(p + 16);
        Py_ssize_t name_end = at + 24 + name_len;
        if (raw > -24 || !(name_end <= at - (Py_ssize_t)raw && at - (Py_ssize_t)raw <= w->size)) return DECLINE;
        if (p[4] != 'v' || p[5] != 'k' || flags & VALUE_TOMBSTONE) return DECLINE;
        int compressed = name_len == 0 || (flags & VALUE_COMP_NAME) != 0;
        names[i].at = at + 24;
        names[i].compressed = compressed;
        if (ascii_name(w, compressed, at + 24, name_len, &names[i].chars)) return DECLINE;
        for (j = 0; j < i; j++)
            if (alike(w, &names[j], &names[i])) return DECLINE;
        const uint8_t *data;
        uint32_t length;
        if (size_field & 0x80000000u) {
            if (size_field > 0x80000004u) return DECLINE;
            data = p + 12;
            length = size_field & 0x7FFFFFFFu;
        } else if (size_field == 0) { /* empty, wherever the offset points (the careful read says so too) */
            data = p;
            length = 0;
        } else {
            Py_ssize_t d_at = BASE + (Py_ssize_t)data_off;
            if (size_field > w->most || data_off % 8 || d_at + 4 > w->size) return DECLINE;
            int32_t d_raw = (int32_t)u32(d + d_at);
            if (d_raw >= 0 || d_at - (Py_ssize_t)d_raw > w->size || (Py_ssize_t)size_field > -(Py_ssize_t)d_raw - 4)
                return DECLINE;
            data = d + d_at + 4;
            length = size_field;
        }
        if (put_name(w, compressed, at + 24, name_len) || put_u32(w, type) || put_u32(w, length) ||
            put(w, data, length))
            return FAIL;
    }
    return 0;
}

/* one list cell as Cells._sound_list takes it; entries appended to entries[*n] */
static int list(Walk *w, uint32_t offset, int *is_ri, uint32_t *entries, Py_ssize_t *n) {
    Py_ssize_t start, end, i, width;
    if (cell(w, offset, &start, &end)) return DECLINE;
    if (end - start < 4) return DECLINE;
    const uint8_t *p = w->d + start;
    uint16_t count = u16(p + 2);
    if (p[0] == 'l' && (p[1] == 'f' || p[1] == 'h')) width = 8;
    else if ((p[0] == 'l' && p[1] == 'i') || (p[0] == 'r' && p[1] == 'i')) width = 4;
    else return DECLINE;
    if (4 + width * count > end - start) return DECLINE;
    if (*n + count > MAX_ITEMS) return DECLINE;
    *is_ri = p[0] == 'r';
    for (i = 0; i < count; i++) entries[(*n)++] = u32(p + 4 + width * i);
    return 0;
}

typedef struct {
    Nk nk;
    Name name;
} Sub;

/* The subkeys of a key in list order (HiveReader._list_subkeys_fast without a note): a sound
 * list holding exactly `count` key records, names ASCII and not alike (ci). */
static int subkeys(Walk *w, uint32_t count, uint32_t list_offset, Sub *subs, Py_ssize_t *n_out) {
    uint32_t entries[MAX_ITEMS], leaves[MAX_ITEMS];
    Py_ssize_t n = 0, n_leaves = 0, i, j;
    int is_ri = 0, leaf_ri = 0;
    *n_out = 0;
    if (!count) return 0;
    if (count > MAX_ITEMS) return DECLINE;
    if (list(w, list_offset, &is_ri, leaves, &n_leaves)) return DECLINE;
    if (is_ri) {
        for (i = 0; i < n_leaves; i++)
            for (j = 0; j < i; j++)
                if (leaves[i] == leaves[j]) return DECLINE;
        for (i = 0; i < n_leaves; i++) {
            if (list(w, leaves[i], &leaf_ri, entries, &n)) return DECLINE;
            if (leaf_ri) return DECLINE;
        }
    } else {
        memcpy(entries, leaves, sizeof(uint32_t) * (size_t)n_leaves);
        n = n_leaves;
    }
    if (n != (Py_ssize_t)count) return DECLINE;
    for (i = 0; i < n; i++) {
        Sub *s = &subs[i];
        if (nk(w, entries[i], &s->nk)) return DECLINE;
        s->name.at = s->nk.name_at;
        s->name.compressed = s->nk.compressed;
        if (ascii_name(w, s->nk.compressed, s->nk.name_at, s->nk.name_len, &s->name.chars)) return DECLINE;
        for (j = 0; j < i; j++)
            if (alike(w, &subs[j].name, &s->name)) return DECLINE;
    }
    *n_out = n;
    return 0;
}

typedef struct {
    PyObject *subs;     /* tuple: the service key's subkey cells */
    PyObject *trigger;  /* the TriggerInfo key cell, or None */
    PyObject *triggers; /* tuple: TriggerInfo's subkey cells */
    PyObject *times;    /* tuple: last writes of the special subkeys (list order), then of the trigger subkeys */
} Found;

static PyObject *offsets_tuple(const Sub *subs, Py_ssize_t n) {
    PyObject *t = PyTuple_New(n);
    Py_ssize_t i;
    if (t == NULL) return NULL;
    for (i = 0; i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLong(subs[i].nk.offset);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* the whole walk of one service key; 0 accepted, DECLINE or FAIL */
static int service(Walk *w, uint32_t offset, Found *f, Sub *subs, Sub *triggers) {
    Nk key;
    Py_ssize_t n = 0, m = 0, i;
    int rc, special[3] = {-1, -1, -1}; /* Parameters, Security, TriggerInfo: first in list order */
    uint64_t times[3 + MAX_ITEMS];
    Py_ssize_t n_times = 0;
    if (nk(w, offset, &key)) return DECLINE;
    if (security(w, key.security)) return DECLINE;
    if ((rc = put_name(w, key.compressed, key.name_at, key.name_len))) return rc;
    if ((rc = values(w, key.values, key.value_list))) return rc;
    if ((rc = subkeys(w, key.subkeys, key.subkey_list, subs, &n))) return rc;
    if ((rc = put_u32(w, (uint32_t)n))) return rc;
    for (i = 0; i < n; i++) {
        if ((rc = put_name(w, subs[i].nk.compressed, subs[i].nk.name_at, subs[i].nk.name_len))) return rc;
        int kind = name_is(w, &subs[i].name, "PARAMETERS") ? 0
                   : name_is(w, &subs[i].name, "SECURITY")  ? 1
                   : name_is(w, &subs[i].name, "TRIGGERINFO") ? 2
                                                               : -1;
        if (kind >= 0 && special[kind] < 0) { /* names are not alike: each kind at most once */
            special[kind] = (int)i;
            times[n_times++] = subs[i].nk.last_write;
        }
    }
    for (i = 0; i < 2; i++) {
        if ((rc = put_u8(w, special[i] >= 0))) return rc;
        if (special[i] >= 0 && (rc = values(w, subs[special[i]].nk.values, subs[special[i]].nk.value_list)))
            return rc;
    }
    if ((rc = put_u8(w, special[2] >= 0))) return rc;
    if (special[2] >= 0) {
        const Nk *t = &subs[special[2]].nk;
        if ((rc = subkeys(w, t->subkeys, t->subkey_list, triggers, &m))) return rc;
        if ((rc = put_u32(w, (uint32_t)m))) return rc;
        for (i = 0; i < m; i++) {
            const Nk *s = &triggers[i].nk;
            /* its time is not content: a record takes it from `times` (trigger times differ from
               host to host while the triggers are the same) */
            if ((rc = put_name(w, s->compressed, s->name_at, s->name_len))) return rc;
            if ((rc = values(w, s->values, s->value_list))) return rc;
            times[n_times++] = s->last_write;
        }
    }
    f->subs = offsets_tuple(subs, n);
    f->triggers = offsets_tuple(triggers, m);
    f->times = PyTuple_New(n_times);
    if (special[2] >= 0) f->trigger = PyLong_FromUnsignedLong(subs[special[2]].nk.offset);
    else f->trigger = Py_NewRef(Py_None);
    if (f->subs == NULL || f->triggers == NULL || f->times == NULL || f->trigger == NULL) return FAIL;
    for (i = 0; i < n_times; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(times[i]);
        if (v == NULL) return FAIL;
        PyTuple_SET_ITEM(f->times, i, v);
    }
    return 0;
}

PyDoc_STRVAR(walk_doc,
             "walk_service(data, offset, most) -> (content, subkeys, trigger, trigger_subkeys, times) | None\n\n"
             "See hivescan/scm/keywalk.py.");

static PyObject *py_walk_service(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data;
    unsigned long long offset;
    unsigned long most;
    if (!PyArg_ParseTuple(args, "y*Kk", &data, &offset, &most)) return NULL;
    PyObject *result = NULL;
    /* per call, never static: building the result tuples may run the cyclic collector, and
     * with it finalizers that could call this function again */
    Walk *w = PyMem_Malloc(sizeof(Walk));
    Sub *subs = PyMem_Malloc(2 * MAX_ITEMS * sizeof(Sub));
    Found f = {NULL, NULL, NULL, NULL};
    if (w == NULL || subs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    w->out = NULL;
    w->len = w->cap = 0;
    w->n_seen = 0;
    w->d = data.buf;
    w->size = data.len;
    w->most = most > 0xFFFFFFFFul ? 0xFFFFFFFFu : (uint32_t)most;
    if (offset > 0xFFFFFFFFull) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    int rc = service(w, (uint32_t)offset, &f, subs, subs + MAX_ITEMS);
    if (rc == FAIL) goto done;
    if (rc == DECLINE) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *content = PyBytes_FromStringAndSize((const char *)w->out, w->len);
    if (content == NULL) goto done;
    result = PyTuple_Pack(5, content, f.subs, f.trigger, f.triggers, f.times);
    Py_DECREF(content);
done:
    Py_XDECREF(f.subs);
    Py_XDECREF(f.trigger);
    Py_XDECREF(f.triggers);
    Py_XDECREF(f.times);
    if (w != NULL) PyMem_Free(w->out);
    PyMem_Free(w);
    PyMem_Free(subs);
    PyBuffer_Release(&data);
    return result;
}

/* -- reading the canonical bytes back (keywalk.read_walked, for a key the memo has not seen) */

typedef struct {
    const uint8_t *p;
    Py_ssize_t len, pos;
    PyTypeObject *cls; /* RawValue: a tuple subclass of six items */
    PyObject *tail;    /* its last three items, the same for every value the walk read */
    PyObject *upcase;  /* the registry's upper case of a name that is not ASCII (hive.tree.upcase) */
} Reader;

/* a value name's key in a by-name dict (hive.tree.values_by_name): str.upper of an ASCII name
 * (made here: the walk's names are ASCII), the registry's upper case of any other */
static PyObject *upper_name(Reader *r, PyObject *name) {
    if (!PyUnicode_IS_ASCII(name)) return PyObject_CallOneArg(r->upcase, name);
    Py_ssize_t n = PyUnicode_GET_LENGTH(name), i;
    const Py_UCS1 *src = PyUnicode_1BYTE_DATA(name);
    for (i = 0; i < n; i++)
        if (src[i] >= 'a' && src[i] <= 'z') break;
    if (i == n) return Py_NewRef(name); /* upper case already: the name itself */
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL) return NULL;
    Py_UCS1 *dst = PyUnicode_1BYTE_DATA(out);
    for (i = 0; i < n; i++) dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (Py_UCS1)(src[i] - 32) : src[i];
    return out;
}

static int take(Reader *r, Py_ssize_t n) {
    if (n < 0 || r->pos > r->len - n) {
        PyErr_SetString(PyExc_ValueError, "walked bytes end early");
        return -1;
    }
    r->pos += n;
    return 0;
}

static PyObject *read_name(Reader *r) {
    Py_ssize_t at = r->pos;
    if (take(r, 3)) return NULL;
    int compressed = r->p[at] != 0;
    uint16_t length = u16(r->p + at + 1);
    if (take(r, length)) return NULL;
    const char *raw = (const char *)r->p + at + 3;
    if (compressed) return PyUnicode_DecodeLatin1(raw, length, NULL);
    int order = -1; /* little-endian */
    return PyUnicode_DecodeUTF16(raw, length, NULL, &order);
}

/* a value list; with `by_name`, also its values_by_name dict (upper-case name -> the first
 * value of names alike), set there (a new reference) when the list is returned */
static PyObject *read_values(Reader *r, PyObject **by_name) {
    Py_ssize_t at = r->pos;
    if (take(r, 4)) return NULL;
    uint32_t count = u32(r->p + at);
    if (count > MAX_ITEMS) {
        PyErr_SetString(PyExc_ValueError, "walked bytes hold too many values");
        return NULL;
    }
    PyObject *out = PyList_New(count), *names = NULL;
    if (out == NULL) return NULL;
    if (by_name != NULL && (names = PyDict_New()) == NULL) goto fail;
    for (uint32_t i = 0; i < count; i++) {
        PyObject *name = read_name(r);
        if (name == NULL) goto fail;
        at = r->pos;
        if (take(r, 8)) {
            Py_DECREF(name);
            goto fail;
        }
        uint32_t type = u32(r->p + at), length = u32(r->p + at + 4);
        if (take(r, (Py_ssize_t)length)) {
            Py_DECREF(name);
            goto fail;
        }
        PyObject *type_ = PyLong_FromUnsignedLong(type);
        PyObject *data = PyBytes_FromStringAndSize((const char *)r->p + at + 8, (Py_ssize_t)length);
        PyObject *value = r->cls->tp_alloc(r->cls, 6); /* as tuple.__new__(RawValue, ...) makes one */
        if (type_ == NULL || data == NULL || value == NULL) {
            Py_DECREF(name);
            Py_XDECREF(type_);
            Py_XDECREF(data);
            Py_XDECREF(value);
            goto fail;
        }
        PyTuple_SET_ITEM(value, 0, name);
        PyTuple_SET_ITEM(value, 1, type_);
        PyTuple_SET_ITEM(value, 2, data);
        for (Py_ssize_t k = 0; k < 3; k++) PyTuple_SET_ITEM(value, 3 + k, Py_NewRef(PyTuple_GET_ITEM(r->tail, k)));
        PyList_SET_ITEM(out, i, value);
        if (names != NULL) {
            PyObject *upper = upper_name(r, name);
            if (upper == NULL) goto fail;
            PyObject *kept = PyDict_SetDefault(names, upper, value); /* borrowed; the first of names alike */
            Py_DECREF(upper);
            if (kept == NULL) goto fail;
        }
    }
    if (by_name != NULL) *by_name = names;
    return out;
fail:
    Py_DECREF(out);
    Py_XDECREF(names);
    return NULL;
}

/* a present flag (one byte), then the values when present, as (values, by name); None when absent */
static PyObject *read_held(Reader *r) {
    Py_ssize_t at = r->pos;
    PyObject *by_name = NULL;
    if (take(r, 1)) return NULL;
    if (!r->p[at]) return Py_NewRef(Py_None);
    PyObject *values = read_values(r, &by_name);
    if (values == NULL) return NULL;
    PyObject *pair = PyTuple_Pack(2, values, by_name);
    Py_DECREF(values);
    Py_DECREF(by_name);
    return pair;
}

static PyObject *read_content(Reader *r) {
    PyObject *own = NULL, *own_by_name = NULL, *names = NULL, *params = NULL, *security = NULL, *triggers = NULL;
    PyObject *result = NULL;
    /* the service key's own name: the caller's key has it */
    if (take(r, 3) || take(r, u16(r->p + 1))) return NULL;
    if ((own = read_values(r, &own_by_name)) == NULL) goto done;
    Py_ssize_t at = r->pos;
    if (take(r, 4)) goto done;
    uint32_t count = u32(r->p + at);
    if (count > MAX_ITEMS) {
        PyErr_SetString(PyExc_ValueError, "walked bytes hold too many subkeys");
        goto done;
    }
    if ((names = PyList_New(count)) == NULL) goto done;
    for (uint32_t i = 0; i < count; i++) {
        PyObject *name = read_name(r);
        if (name == NULL) goto done;
        PyList_SET_ITEM(names, i, name);
    }
    if ((params = read_held(r)) == NULL || (security = read_held(r)) == NULL) goto done;
    at = r->pos;
    if (take(r, 1)) goto done;
    if (!r->p[at]) {
        triggers = Py_NewRef(Py_None);
    } else {
        at = r->pos;
        if (take(r, 4)) goto done;
        count = u32(r->p + at);
        if (count > MAX_ITEMS) {
            PyErr_SetString(PyExc_ValueError, "walked bytes hold too many triggers");
            goto done;
        }
        if ((triggers = PyList_New(count)) == NULL) goto done;
        for (uint32_t i = 0; i < count; i++) {
            PyObject *name = read_name(r);
            if (name == NULL) goto done;
            PyObject *values = read_values(r, NULL);
            if (values == NULL) {
                Py_DECREF(name);
                goto done;
            }
            PyObject *pair = PyTuple_Pack(2, name, values);
            Py_DECREF(name);
            Py_DECREF(values);
            if (pair == NULL) goto done;
            PyList_SET_ITEM(triggers, i, pair);
        }
    }
    if (r->pos != r->len) {
        PyErr_SetString(PyExc_ValueError, "walked bytes go on past their end");
        goto done;
    }
    result = PyTuple_Pack(6, own, own_by_name, names, params, security, triggers);
done:
    Py_XDECREF(own);
    Py_XDECREF(own_by_name);
    Py_XDECREF(names);
    Py_XDECREF(params);
    Py_XDECREF(security);
    Py_XDECREF(triggers);
    return result;
}

PyDoc_STRVAR(read_doc,
             "read_walked(content, cls, tail, upcase) -> (values, by_name, subkey_names, parameters, security,\n"
             "triggers)\n\n"
             "The canonical bytes of walk_service read back: each value as cls(name, type, data, *tail),\n"
             "by_name the key's values by upper-case name (the first of names alike; upcase(name) for a\n"
             "name that is not ASCII), parameters/security (values, by_name) or None, triggers a list\n"
             "of (name, values) or None.\n"
             "See hivescan/scm/keywalk.py read_walked.");

static PyObject *py_read_walked(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer content;
    PyObject *cls, *tail, *upcase;
    if (!PyArg_ParseTuple(args, "y*O!O!O", &content, &PyType_Type, &cls, &PyTuple_Type, &tail, &upcase)) return NULL;
    PyObject *result = NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type) || PyTuple_GET_SIZE(tail) != 3 ||
        !PyCallable_Check(upcase)) {
        PyErr_SetString(PyExc_TypeError, "cls must be a tuple subclass, tail a tuple of three, upcase callable");
    } else {
        Reader r = {content.buf, content.len, 0, (PyTypeObject *)cls, tail, upcase};
        result = read_content(&r);
    }
    PyBuffer_Release(&content);
    return result;
}

/* -- a record answered from the memo (hivescan/scm/memo.py record_from_hit) */

PyDoc_STRVAR(copy_doc,
             "copy_slots(obj) -> a new object of obj's type holding the very same slot values\n\n"
             "For instances of slotted classes whose every field is an object slot (no __dict__,\n"
             "no __weakref__): ServiceRecord, ~80 fields. What ``cls(**fields)`` does in ~5 us of\n"
             "Python stores, as ~80 pointer copies. The values are shared, not copied: the caller\n"
             "replaces every mutable one. See hivescan/scm/memo.py.");

static PyObject *py_copy_slots(PyObject *self, PyObject *obj) {
    (void)self;
    PyTypeObject *tp = Py_TYPE(obj);
    Py_ssize_t slots = 0;
    if (tp->tp_dictoffset != 0 || tp->tp_weaklistoffset != 0 || tp->tp_itemsize != 0) goto refuse;
    for (PyTypeObject *t = tp; t != NULL; t = t->tp_base) {
        for (PyMemberDef *m = t->tp_members; m != NULL && m->name != NULL; m++) {
            if (m->type != T_OBJECT_EX) goto refuse;
            slots++;
        }
    }
    /* every word past the object header is one of those slots, nothing else */
    if (tp->tp_basicsize != (Py_ssize_t)sizeof(PyObject) + slots * (Py_ssize_t)sizeof(PyObject *)) goto refuse;
    PyObject *copy = tp->tp_alloc(tp, 0);
    if (copy == NULL) return NULL;
    for (PyTypeObject *t = tp; t != NULL; t = t->tp_base) {
        for (PyMemberDef *m = t->tp_members; m != NULL && m->name != NULL; m++) {
            PyObject *v = *(PyObject **)((char *)obj + m->offset);
            *(PyObject **)((char *)copy + m->offset) = Py_XNewRef(v);
        }
    }
    return copy;
refuse:
    PyErr_Format(PyExc_TypeError, "%s is not a class of object slots alone", tp->tp_name);
    return NULL;
}

/* -- a record built from its fields (hivescan/frozen.py compiled_builder) */

#define MAX_SLOTS 256

/* the offsets of a class's object slots in member order; -1 (TypeError set) unless every
 * field is an object slot and nothing else is in the object (as copy_slots asks) */
static Py_ssize_t slot_offsets(PyTypeObject *tp, Py_ssize_t *offsets, const char **names) {
    Py_ssize_t n = 0;
    if (tp->tp_dictoffset != 0 || tp->tp_weaklistoffset != 0 || tp->tp_itemsize != 0) goto refuse;
    for (PyTypeObject *t = tp; t != NULL; t = t->tp_base) {
        for (PyMemberDef *m = t->tp_members; m != NULL && m->name != NULL; m++) {
            if (m->type != T_OBJECT_EX || n == MAX_SLOTS) goto refuse;
            offsets[n] = m->offset;
            if (names != NULL) names[n] = m->name;
            n++;
        }
    }
    if (tp->tp_basicsize != (Py_ssize_t)sizeof(PyObject) + n * (Py_ssize_t)sizeof(PyObject *)) goto refuse;
    return n;
refuse:
    PyErr_Format(PyExc_TypeError, "%s is not a class of object slots alone", tp->tp_name);
    return -1;
}

PyDoc_STRVAR(slot_names_doc,
             "slot_names(cls) -> the names of cls's object slots, in the order build_slots numbers them\n\n"
             "TypeError unless every field of cls is an object slot (as copy_slots asks).");

static PyObject *py_slot_names(PyObject *self, PyObject *cls) {
    (void)self;
    Py_ssize_t offsets[MAX_SLOTS], n, i;
    const char *names[MAX_SLOTS];
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "slot_names takes a class");
        return NULL;
    }
    if ((n = slot_offsets((PyTypeObject *)cls, offsets, names)) < 0) return NULL;
    PyObject *out = PyTuple_New(n);
    if (out == NULL) return NULL;
    for (i = 0; i < n; i++) {
        PyObject *name = PyUnicode_InternFromString(names[i]);
        if (name == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, name);
    }
    return out;
}

PyDoc_STRVAR(build_doc,
             "build_slots(plan, *args, **fields) -> a new instance of plan's class holding the arguments,\n"
             "defaults for the rest\n\n"
             "plan: (cls, defaults, places, factories, missing, positional), with per slot in slot_names\n"
             "order its default (missing: a required field) and its factory or None; places maps a field\n"
             "name to its slot number, positional gives the slot numbers of the positional parameters.\n"
             "What a dataclass's __init__ stores, without a Python store per field: for frozen slotted\n"
             "dataclasses whose __init__ only assigns. See hivescan/frozen.py.");

/* a keyword's value into its slot (a TypeError for a name that is no field, or given twice) */
static int keyword(PyTypeObject *tp, PyObject *obj, const Py_ssize_t *offsets, Py_ssize_t n, PyObject *places,
                   PyObject *key, PyObject *value) {
    PyObject *place = PyDict_GetItemWithError(places, key); /* borrowed */
    if (place == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", tp->tp_name, key);
        return -1;
    }
    Py_ssize_t i = PyLong_AsSsize_t(place);
    if (i < 0 || i >= n) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "build_slots: a place out of range");
        return -1;
    }
    PyObject **slot = (PyObject **)((char *)obj + offsets[i]);
    if (*slot != NULL) {
        PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument %R", tp->tp_name, key);
        return -1;
    }
    *slot = Py_NewRef(value);
    return 0;
}

/* the instance: positional args[first:], then the items of `fields` (a dict or NULL), then
 * the keywords, then defaults and factories for the slots left */
static PyObject *build(PyObject *plan, PyObject *args, Py_ssize_t first, PyObject *fields, PyObject *kwargs) {
    PyObject *cls, *defaults, *places, *factories, *missing, *positional;
    Py_ssize_t offsets[MAX_SLOTS], n, i, pos, n_args = PyTuple_GET_SIZE(args) - first;
    if (!PyTuple_Check(plan) || PyTuple_GET_SIZE(plan) != 6) goto bad_plan;
    cls = PyTuple_GET_ITEM(plan, 0);
    defaults = PyTuple_GET_ITEM(plan, 1);
    places = PyTuple_GET_ITEM(plan, 2);
    factories = PyTuple_GET_ITEM(plan, 3);
    missing = PyTuple_GET_ITEM(plan, 4);
    positional = PyTuple_GET_ITEM(plan, 5);
    if (!PyType_Check(cls) || !PyTuple_Check(defaults) || !PyDict_Check(places) || !PyTuple_Check(factories) ||
        !PyTuple_Check(positional))
        goto bad_plan;
    PyTypeObject *tp = (PyTypeObject *)cls;
    if ((n = slot_offsets(tp, offsets, NULL)) < 0) return NULL;
    if (PyTuple_GET_SIZE(defaults) != n || PyTuple_GET_SIZE(factories) != n) goto bad_plan;
    if (n_args > PyTuple_GET_SIZE(positional)) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd positional arguments but %zd were given", tp->tp_name,
                     PyTuple_GET_SIZE(positional), n_args);
        return NULL;
    }
    PyObject *obj = tp->tp_alloc(tp, 0); /* every slot NULL */
    if (obj == NULL) return NULL;
    PyObject *key, *value;
    for (Py_ssize_t j = 0; j < n_args; j++) {
        i = PyLong_AsSsize_t(PyTuple_GET_ITEM(positional, j));
        if (i < 0 || i >= n) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "build_slots: a place out of range");
            goto fail;
        }
        PyObject **slot = (PyObject **)((char *)obj + offsets[i]);
        Py_XSETREF(*slot, Py_NewRef(PyTuple_GET_ITEM(args, first + j)));
    }
    for (pos = 0; fields != NULL && PyDict_Next(fields, &pos, &key, &value);) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "keywords must be strings");
            goto fail;
        }
        if (keyword(tp, obj, offsets, n, places, key, value)) goto fail;
    }
    for (pos = 0; kwargs != NULL && PyDict_Next(kwargs, &pos, &key, &value);)
        if (keyword(tp, obj, offsets, n, places, key, value)) goto fail;
    for (i = 0; i < n; i++) {
        PyObject **slot = (PyObject **)((char *)obj + offsets[i]);
        if (*slot != NULL) continue;
        PyObject *factory = PyTuple_GET_ITEM(factories, i), *d = PyTuple_GET_ITEM(defaults, i);
        if (factory != Py_None) {
            if ((*slot = PyObject_CallNoArgs(factory)) == NULL) goto fail;
        } else if (d == missing) {
            PyErr_Format(PyExc_TypeError, "%s() missing a required argument (slot %zd)", tp->tp_name, i);
            goto fail;
        } else {
            *slot = Py_NewRef(d);
        }
    }
    return obj;
fail:
    Py_DECREF(obj);
    return NULL;
bad_plan:
    PyErr_SetString(PyExc_TypeError,
                    "build_slots: plan must be (cls, defaults, places, factories, missing, positional)");
    return NULL;
}

static PyObject *py_build_slots(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError, "build_slots takes a plan");
        return NULL;
    }
    return build(PyTuple_GET_ITEM(args, 0), args, 1, NULL, kwargs);
}

PyDoc_STRVAR(build_from_doc,
             "build_slots_from(plan, fields, **more) -> build_slots(plan, **fields, **more), without\n"
             "copying the fields dict into a keyword dict first.");

static PyObject *py_build_slots_from(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    PyObject *plan, *fields;
    if (!PyArg_ParseTuple(args, "OO!", &plan, &PyDict_Type, &fields)) return NULL;
    return build(plan, args, 2, fields, kwargs);
}

static PyMethodDef methods[] = {
    {"walk_service", py_walk_service, METH_VARARGS, walk_doc},
    {"read_walked", py_read_walked, METH_VARARGS, read_doc},
    {"copy_slots", py_copy_slots, METH_O, copy_doc},
    {"slot_names", py_slot_names, METH_O, slot_names_doc},
    {"build_slots", (PyCFunction)(void (*)(void))py_build_slots, METH_VARARGS | METH_KEYWORDS, build_doc},
    {"build_slots_from", (PyCFunction)(void (*)(void))py_build_slots_from, METH_VARARGS | METH_KEYWORDS,
     build_from_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_keywalk", "The service-key walk of hivescan/scm/keywalk.py, compiled.", -1, methods,
};

/* INTERFACE: raised whenever a function's arguments or answers change, so that a build older
 * than the Python beside it (an editable checkout not rebuilt) is not called the new way:
 * keywalk.py then takes its Python path instead (see KEYWALK_INTERFACE there). */
#define KEYWALK_INTERFACE 2

PyMODINIT_FUNC PyInit__keywalk(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "INTERFACE", KEYWALK_INTERFACE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
