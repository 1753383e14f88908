/*
 * Reading a hive file and hashing it in one pass (hivescan/hive/source.py HiveSource.from_file).
 *
 * Why: a 13 MB hive read whole and then hashed is brought from memory twice; hashed chunk by
 * chunk right after each chunk is read, it is hashed while the chunk is still in the CPU's
 * cache (measured: 10.5 ms instead of 12-14 ms of CPU per hive, issue 13). The bytes object
 * is filled here before anyone else can see it, so it is as immutable as any other.
 *
 * read_hashing(fd, size, hasher, chunk) reads at most `size` bytes from the file descriptor's
 * current position, calls hasher.update() with each chunk (a read-only memoryview of the
 * bytes read so far: hashlib releases the GIL for it), and returns the bytes read (fewer at
 * the end of the file). OS errors raise OSError, as a file object's read() does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <unistd.h>

PyDoc_STRVAR(read_hashing_doc,
             "read_hashing(fd, size, hasher, chunk) -> bytes\n\n"
             "Read at most size bytes from fd, each chunk handed to hasher.update() as it is read.");

static PyObject *read_hashing(PyObject *self, PyObject *args) {
    (void)self;
    int fd;
    Py_ssize_t size, chunk;
    PyObject *hasher;
    if (!PyArg_ParseTuple(args, "inOn", &fd, &size, &hasher, &chunk)) return NULL;
    if (size < 0 || chunk <= 0) {
        PyErr_SetString(PyExc_ValueError, "size must be >= 0 and chunk > 0");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) return NULL;
    char *buf = PyBytes_AS_STRING(out);
    Py_ssize_t done = 0;
    int at_end = 0;
    while (done < size && !at_end) {
        Py_ssize_t want = size - done < chunk ? size - done : chunk, have = 0;
        while (have < want) {
            ssize_t got;
            Py_BEGIN_ALLOW_THREADS
            got = read(fd, buf + done + have, (size_t)(want - have));
            Py_END_ALLOW_THREADS
            if (got < 0) {
                if (errno == EINTR) {
                    if (PyErr_CheckSignals()) goto fail;
                    continue;
                }
                PyErr_SetFromErrno(PyExc_OSError);
                goto fail;
            }
            if (got == 0) {
                at_end = 1;
                break;
            }
            have += got;
        }
        if (have > 0) {
            PyObject *view = PyMemoryView_FromMemory(buf + done, have, PyBUF_READ);
            if (view == NULL) goto fail;
            PyObject *res = PyObject_CallMethod(hasher, "update", "O", view);
            Py_DECREF(view);
            if (res == NULL) goto fail;
            Py_DECREF(res);
            done += have;
        }
    }
    if (done < size && _PyBytes_Resize(&out, done) < 0) return NULL; /* frees out on failure */
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"read_hashing", read_hashing, METH_VARARGS, read_hashing_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_readhash", "A hive file read and hashed in one pass (hivescan/hive/source.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__readhash(void) { return PyModule_Create(&module); }
