/*
 * Marvin32 in C: the compiled twin of the pure-Python hivescan/hive/marvin.py.
 *
 * Why: checking the Marvin32 hashes of a dirty hive's log entries is a serial chain of
 * 32-bit operations per input word; in Python each operation costs an object, so hashing
 * the 2.8 MB of logs of a real Windows 10 hive took about half a second, most of a replay.
 * Here it is a few milliseconds. The extension is optional: setup.py builds it when a C
 * compiler is present, and marvin.py falls back to the Python code (and says so) otherwise.
 * Both are tested equal on random inputs (hypothesis) and on real log entries.
 *
 * Algorithm: the .NET runtime's reference Marvin (System.Marvin), as marvin.py describes it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

#define MIX(lo, hi)              \
    do {                         \
        hi ^= lo;                \
        lo = rotl32(lo, 20) + hi; \
        hi = rotl32(hi, 9) ^ lo; \
        lo = rotl32(lo, 27) + hi; \
        hi = rotl32(hi, 19);     \
    } while (0)

static uint64_t marvin32_raw(const unsigned char *data, Py_ssize_t length, uint64_t seed) {
    uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32);
    Py_ssize_t full = length & ~(Py_ssize_t)3, i;
    for (i = 0; i < full; i += 4) {
        /* little-endian word, whatever the host's byte order */
        uint32_t w = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24;
        lo += w;
        MIX(lo, hi);
    }
    uint32_t final = 0x80; /* the 0-3 tail bytes, then the 0x80 pad byte */
    for (i = length - 1; i >= full; i--) final = (final << 8) | data[i];
    lo += final;
    MIX(lo, hi);
    MIX(lo, hi); /* one more zero word */
    return (uint64_t)hi << 32 | lo;
}

static int read_seed(PyObject *seed_obj, uint64_t *seed) {
    if (seed_obj == NULL) return 0;
    unsigned long long value = PyLong_AsUnsignedLongLongMask(seed_obj);
    if (value == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    *seed = (uint64_t)value;
    return 0;
}

PyDoc_STRVAR(marvin32_doc, "marvin32(data, seed) -> int\n\nThe 64-bit Marvin32 hash of a bytes-like object.");

static PyObject *py_marvin32(PyObject *self, PyObject *args) {
    Py_buffer view;
    PyObject *seed_obj;
    uint64_t seed = 0, result;
    if (!PyArg_ParseTuple(args, "y*O:marvin32", &view, &seed_obj)) return NULL;
    if (read_seed(seed_obj, &seed) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    result = marvin32_raw((const unsigned char *)view.buf, view.len, seed);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(result);
}

static PyMethodDef methods[] = {
    {"marvin32", py_marvin32, METH_VARARGS, marvin32_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_marvin", "Marvin32 compiled (see hivescan/hive/marvin.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__marvin(void) { return PyModule_Create(&module); }
