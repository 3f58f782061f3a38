/* The pcap record walk in C: where each record of a window starts.
 *
 * A record's 16-byte header says how long it is, so finding the next record needs the
 * one before it: a sequential loop over every packet, the last one shardbeat ran in
 * Python (~0.25-0.5 us a record, a tenth of a flows-only replay). Here it is a few
 * nanoseconds a record. `locate_records_py` in batch.py is the reference this must
 * match exactly; tests/unit/test_record_walk.py holds the two equal on random and
 * corrupt windows. A build without a C compiler falls back to that Python walk.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define HEADER 16

/* walk(data, end, max_record) -> (starts, spanned, corrupt)
 * starts: the records' start offsets as native int64 bytes; spanned: the bytes the whole
 * records span (where the next read starts); corrupt: a header's length above
 * max_record stopped the walk there (the records before it are kept). */
static PyObject *walk(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t end, max_record;
    if (!PyArg_ParseTuple(args, "y*nn:walk", &view, &end, &max_record))
        return NULL;
    if (end > view.len || max_record < 0) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "walk: end %zd outside a buffer of %zd bytes, "
                     "or max_record %zd negative", end, view.len, max_record);
        return NULL;
    }
    /* At most one record per header's worth of bytes; a negative end (a window shorter
     * than its padding) holds none. */
    Py_ssize_t room = end > 0 ? end / HEADER + 1 : 0;
    PyObject *out = PyBytes_FromStringAndSize(NULL, room * (Py_ssize_t)sizeof(int64_t));
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    int64_t *starts = (int64_t *)PyBytes_AS_STRING(out);
    const unsigned char *data = view.buf;
    Py_ssize_t pos = 0, count = 0, limit = end - HEADER;
    int corrupt = 0;
    while (pos <= limit) {
        uint32_t length;
        memcpy(&length, data + pos + 8, sizeof length);  /* incl_len, little-endian pcap */
#if PY_BIG_ENDIAN
        length = __builtin_bswap32(length);
#endif
        if ((uint64_t)length > (uint64_t)max_record) {
            corrupt = 1;
            break;
        }
        starts[count++] = pos;
        pos += HEADER + (Py_ssize_t)length;
    }
    if (!corrupt && count && pos > end)  /* the last record is cut short: not taken */
        pos = (Py_ssize_t)starts[--count];
    PyBuffer_Release(&view);
    if (_PyBytes_Resize(&out, count * (Py_ssize_t)sizeof(int64_t)) < 0)
        return NULL;
    return Py_BuildValue("NnO", out, pos, corrupt ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"walk", walk, METH_VARARGS,
     "walk(data, end, max_record) -> (starts as int64 bytes, bytes spanned, corrupt)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_recwalk", "The pcap record walk, compiled.", -1, methods,
};

PyMODINIT_FUNC PyInit__recwalk(void) { return PyModule_Create(&module); }
