/* The batch decoder's header reading in C: one pass over a batch's frames.
 *
 * decode/batch.py reads the common shapes (Ethernet, at most one 802.1Q tag, IPv4
 * unfragmented or IPv6 straight to TCP/UDP) of every frame of a batch with numpy: some
 * forty passes over the batch's columns. Every process of a sharded replay does this for
 * every frame, its own or not, so it is work that does not shrink with more workers.
 * Here the same rules run in one pass. `decode_columns_np` in batch.py is the reference
 * this must match exactly; tests/unit/test_decode_headers.py holds the two equal on
 * random and mangled frames. A build without a C compiler decodes with numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define ETHERNET 1
#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define TCP 6
#define UDP 17
/* The batch's padding: no read below reaches further than this past a frame's start. */
#define PAD 128

/* Rows of the int64 output, in the order batch.py names them. */
enum { IDX, VLAN, VERSION, PROTO, SPORT, DPORT, FLAGS, SEQ, ACK, L3, PAY_START, PAY_END,
       SRC_MAC, DST_MAC, INT_ROWS };
/* Rows of the uint64 output. */
enum { SRC_HI, SRC_LO, DST_HI, DST_LO, ADDR_ROWS };

static inline int64_t be16(const uint8_t *p) { return (int64_t)p[0] << 8 | p[1]; }

static inline int64_t be32(const uint8_t *p) {
    return (int64_t)p[0] << 24 | (int64_t)p[1] << 16 | (int64_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p) {
    return (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4);
}

static inline int64_t be48(const uint8_t *p) { return be16(p) << 32 | be32(p + 2); }

typedef struct {
    Py_buffer buf, offsets, caplen, linktype, ints, addrs, tagged, slow;
} Views;

static void release(Views *v) {
    Py_buffer *all[] = {&v->buf, &v->offsets, &v->caplen, &v->linktype, &v->ints, &v->addrs,
                        &v->tagged, &v->slow};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]->obj != NULL)
            PyBuffer_Release(all[i]);
}

static int shapes_fit(const Views *v, Py_ssize_t n) {
    return v->offsets.len == n * 8 && v->caplen.len == n * 8 && v->linktype.len == n * 4
        && v->ints.len == INT_ROWS * n * 8 && v->addrs.len == ADDR_ROWS * n * 8
        && v->tagged.len == n && v->slow.len == n * 8;
}

/* One frame: 1 and its columns written at row `row` when it has a common shape. */
static int decode_one(const uint8_t *buf, int64_t off, int64_t cap, Py_ssize_t row,
                      Py_ssize_t n, int64_t *ints, uint64_t *addrs, uint8_t *tagged_out) {
    const uint8_t *f = buf + off;
    int64_t end = off + cap;
    int64_t etype = be16(f + 12);
    int tagged = etype == ETH_VLAN;
    if (cap < (tagged ? 18 : 14) + 20 + 8)
        return 0;
    int64_t vlan = 0, l3 = off + 14;
    if (tagged) {
        vlan = be16(f + 14) & 0x0FFF;
        etype = be16(f + 16);
        l3 = off + 18;
    }
    const uint8_t *ip = buf + l3;
    int v4 = etype == ETH_IPV4 && ip[0] >> 4 == 4;
    int v6 = etype == ETH_IPV6 && ip[0] >> 4 == 6;
    int64_t ihl, total, proto;
    if (v4) {
        ihl = (ip[0] & 0x0F) * 4;
        total = be16(ip + 2);
        proto = ip[9];
        if (ihl < 20 || (be16(ip + 6) & 0x3FFF) != 0 || total < ihl)
            return 0;
    } else if (v6) {
        ihl = 40;
        total = be16(ip + 4) + 40;
        proto = ip[6];
        if (total <= 40)
            return 0;
    } else {
        return 0;
    }
    int is_tcp = proto == TCP;
    int64_t ip_end = l3 + total, l4 = l3 + ihl;
    if ((!is_tcp && proto != UDP) || ip_end > end || l4 + (is_tcp ? 20 : 8) > ip_end)
        return 0;
    const uint8_t *t = buf + l4;
    int64_t pay_start, pay_end;
    if (is_tcp) {
        int64_t doff = (t[12] >> 4) * 4;
        pay_start = l4 + doff;
        pay_end = ip_end;
        if (doff < 20 || pay_start > ip_end)
            return 0;
    } else {
        pay_start = l4 + 8;
        pay_end = l4 + be16(t + 4);
        if (pay_end < l4 + 8 || pay_end > ip_end)
            return 0;
    }
    ints[VLAN * n + row] = vlan;
    ints[VERSION * n + row] = v4 ? 4 : 6;
    ints[PROTO * n + row] = proto;
    ints[SPORT * n + row] = be16(t);
    ints[DPORT * n + row] = be16(t + 2);
    ints[FLAGS * n + row] = is_tcp ? t[13] : 0;
    ints[SEQ * n + row] = is_tcp ? be32(t + 4) : 0;
    ints[ACK * n + row] = is_tcp ? be32(t + 8) : 0;
    ints[L3 * n + row] = l3;
    ints[PAY_START * n + row] = pay_start;
    ints[PAY_END * n + row] = pay_end;
    ints[DST_MAC * n + row] = be48(f);
    ints[SRC_MAC * n + row] = be48(f + 6);
    if (v4) {
        addrs[SRC_HI * n + row] = addrs[DST_HI * n + row] = 0;
        addrs[SRC_LO * n + row] = (uint64_t)be32(ip + 12);
        addrs[DST_LO * n + row] = (uint64_t)be32(ip + 16);
    } else {
        addrs[SRC_HI * n + row] = be64(ip + 8);
        addrs[SRC_LO * n + row] = be64(ip + 16);
        addrs[DST_HI * n + row] = be64(ip + 24);
        addrs[DST_LO * n + row] = be64(ip + 32);
    }
    tagged_out[row] = (uint8_t)tagged;
    return 1;
}

/* decode(buf, offsets, caplen, linktype, ints, addrs, tagged, slow) -> (fast, slow)
 * buf: the batch's bytes; offsets, caplen: int64 per frame; linktype: int32 per frame.
 * ints (int64, INT_ROWS x n), addrs (uint64, ADDR_ROWS x n), tagged (uint8, n) and
 * slow (int64, n) are written: the first `fast` columns of each row hold the frames of a
 * common shape, in frame order; the first `slow` entries of `slow` the other frames. */
static PyObject *decode(PyObject *self, PyObject *args) {
    Views v = {0};
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*w*w*w*:decode", &v.buf, &v.offsets, &v.caplen,
                          &v.linktype, &v.ints, &v.addrs, &v.tagged, &v.slow))
        return NULL;
    Py_ssize_t n = v.offsets.len / 8;
    if (!shapes_fit(&v, n)) {
        release(&v);
        PyErr_SetString(PyExc_ValueError, "decode: the arrays do not fit one batch of frames");
        return NULL;
    }
    const uint8_t *buf = v.buf.buf;
    const int64_t *offsets = v.offsets.buf, *caplen = v.caplen.buf;
    const int32_t *linktype = v.linktype.buf;
    int64_t *ints = v.ints.buf, *slow = v.slow.buf;
    uint64_t *addrs = v.addrs.buf;
    uint8_t *tagged = v.tagged.buf;
    Py_ssize_t fast = 0, slow_count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t off = offsets[i], cap = caplen[i];
        /* Every read stays within PAD bytes of the frame's start; a frame without them
         * after it in the buffer (never, with the batch's padding) goes to the slow path. */
        int readable = off >= 0 && cap >= 0 && off + PAD <= v.buf.len && cap <= v.buf.len - off;
        if (readable && linktype[i] == ETHERNET
                && decode_one(buf, off, cap, fast, n, ints, addrs, tagged)) {
            ints[IDX * n + fast++] = i;
        } else {
            slow[slow_count++] = i;
        }
    }
    release(&v);
    return Py_BuildValue("nn", fast, slow_count);
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS,
     "decode(buf, offsets, caplen, linktype, ints, addrs, tagged, slow) -> (fast, slow)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_headers", "The batch decoder's header reading, compiled.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__headers(void) { return PyModule_Create(&module); }
