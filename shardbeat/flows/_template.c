/* A flow report's template in C, for the common shape (Ethernet, no VLAN, IPv4, TCP or
 * UDP): the first report of each flow, about one for every dozen packets of a busy link.
 *
 * render.py's `_common_template_py` is the reference: the event start as Go's RFC 3339
 * text, Packetbeat's flow id (base64 of the FlowID bytes), both MACs and addresses as
 * text, and the Community ID (SHA-1, FIPS 180-4), formatted into one bytes template with
 * `%s`/`%d` slots left for what changes between reports. In Python those are a dozen
 * calls and the hash; here one. tests/unit/test_flow_template.py holds the two equal on
 * random flows. A build without a C compiler makes templates in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint32_t rotl(uint32_t x, int n) { return x << n | x >> (32 - n); }

/* SHA-1 of a message short enough for one 64-byte block (at most 55 bytes). */
static void sha1_short(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint8_t block[64] = {0};
    memcpy(block, msg, len);
    block[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        block[63 - i] = (uint8_t)(bits >> (8 * i));
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16
             | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rotl(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rotl(b, 30);
        b = a;
        a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

/* Standard base64 of `len` bytes into `out`; `pad` keeps the trailing '='. Returns the
 * length written. */
static size_t base64(const uint8_t *in, size_t len, char *out, int pad) {
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18], out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63], out[o++] = abc[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = abc[v >> 18], out[o++] = abc[v >> 12 & 63];
        if (pad)
            out[o++] = '=', out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = abc[v >> 18], out[o++] = abc[v >> 12 & 63], out[o++] = abc[v >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    return o;
}

/* Go's RFC 3339 with nanoseconds, trailing zeros trimmed (render.py: timestamp_ns);
 * 0 before 1970 (a time of 64 bits ends in 2262, well before Python's year 9999). */
static int rfc3339(long long ts_ns, char *out) {
    long long secs = ts_ns / 1000000000LL, ns = ts_ns % 1000000000LL;
    if (ts_ns < 0)
        return 0;
    /* Reports cluster in few seconds: the last second's text is kept (the module runs
     * under the GIL, so one cache is safe). */
    static long long cached_secs = -1;
    static char cached[24];
    if (secs != cached_secs) {
        time_t t = (time_t)secs;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL)
            return 0;
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_secs = secs;
    }
    memcpy(out, cached, 19);
    int n = 19;
    if (ns) {
        out[n++] = '.';
        for (int i = 8; i >= 0; i--, ns /= 10)
            out[n + i] = (char)('0' + ns % 10);
        n += 9;
        while (out[n - 1] == '0')
            n--;
    }
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

static void mac_text(const uint8_t *mac, char *out) {
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 6; i++) {
        out[3 * i] = hex[mac[i] >> 4];
        out[3 * i + 1] = hex[mac[i] & 15];
        out[3 * i + 2] = i < 5 ? '-' : '\0';
    }
}

/* Appends `text` at *at; the template is built by appends, as snprintf of the whole took
 * as long as everything else together. */
static void put(char **at, const char *text) {
    size_t n = strlen(text);
    memcpy(*at, text, n);
    *at += n;
}

static void put_port(char **at, unsigned port) {
    char digits[8];
    int n = 0;
    do
        digits[n++] = (char)('0' + port % 10);
    while (port /= 10);
    while (n)
        *(*at)++ = digits[--n];
}

/* One endpoint's object, its counters left as `%d` slots:
 * {"mac":"..","ip":"..","port":N,"bytes":%d,"packets":%d} */
static void put_endpoint(char **at, const uint8_t *mac, const uint8_t *ip, unsigned port) {
    char mac_txt[18], ip_txt[16];
    mac_text(mac, mac_txt);
    inet_ntop(AF_INET, ip, ip_txt, sizeof ip_txt);
    put(at, "{\"mac\":\"");
    put(at, mac_txt);
    put(at, "\",\"ip\":\"");
    put(at, ip_txt);
    put(at, "\",\"port\":");
    put_port(at, port);
    put(at, ",\"bytes\":%d,\"packets\":%d}");
}

/* Packetbeat's flow id of the common shape: FlowID meta, then both MACs, both addresses
 * and both ports (little-endian), each pair in the order its first differing pair sorts. */
static void flow_id(const Py_buffer *meta, const uint8_t *smac, const uint8_t *dmac,
                    const uint8_t *sip, const uint8_t *dip, unsigned sport, unsigned dport,
                    char *out) {
    uint8_t sp[2] = {(uint8_t)sport, (uint8_t)(sport >> 8)};
    uint8_t dp[2] = {(uint8_t)dport, (uint8_t)(dport >> 8)};
    int c = memcmp(smac, dmac, 6);
    if (c == 0)
        c = memcmp(sip, dip, 4);
    if (c == 0)
        c = memcmp(sp, dp, 2);
    if (c > 0) {
        const uint8_t *m = smac, *a = sip;
        unsigned p = sport;
        smac = dmac, dmac = m, sip = dip, dip = a, sport = dport, dport = p;
    }
    uint8_t raw[64];
    size_t n = (size_t)meta->len;
    memcpy(raw, meta->buf, n);
    memcpy(raw + n, smac, 6), memcpy(raw + n + 6, dmac, 6);
    memcpy(raw + n + 12, sip, 4), memcpy(raw + n + 16, dip, 4);
    raw[n + 20] = (uint8_t)sport, raw[n + 21] = (uint8_t)(sport >> 8);
    raw[n + 22] = (uint8_t)dport, raw[n + 23] = (uint8_t)(dport >> 8);
    out[base64(raw, n + 24, out, 0)] = '\0';
}

/* Community ID v1, seed 0: "1:" + base64(sha1(seed | ips | proto | 0 | ports)), the
 * endpoints ordered so both directions hash alike. */
static void community_id(int proto, const uint8_t *sip, const uint8_t *dip, unsigned sport,
                         unsigned dport, char *out) {
    int c = memcmp(sip, dip, 4);
    if (c > 0 || (c == 0 && sport > dport)) {
        const uint8_t *a = sip;
        unsigned p = sport;
        sip = dip, dip = a, sport = dport, dport = p;
    }
    uint8_t msg[16] = {0, 0};
    memcpy(msg + 2, sip, 4), memcpy(msg + 6, dip, 4);
    msg[10] = (uint8_t)proto, msg[11] = 0;
    msg[12] = (uint8_t)(sport >> 8), msg[13] = (uint8_t)sport;
    msg[14] = (uint8_t)(dport >> 8), msg[15] = (uint8_t)dport;
    uint8_t digest[20];
    sha1_short(msg, sizeof msg, digest);
    out[0] = '1', out[1] = ':';
    out[2 + base64(digest, 20, out + 2, 1)] = '\0';
}

/* common(meta, proto, first_ns, src_mac, dst_mac, src_ip, dst_ip, src_port, dst_port)
 *   -> the template bytes, or None for a start this does not format (before 1970, or
 *   beyond 64 bits): Python then makes the template. */
static PyObject *common(PyObject *self, PyObject *args) {
    Py_buffer meta, smac, dmac, sip, dip;
    int proto;
    PyObject *first;
    unsigned int sport, dport;
    if (!PyArg_ParseTuple(args, "y*iOy*y*y*y*II:common", &meta, &proto, &first, &smac,
                          &dmac, &sip, &dip, &sport, &dport))
        return NULL;
    PyObject *result = NULL;
    long long first_ns = PyLong_AsLongLong(first);
    if (first_ns == -1 && PyErr_Occurred()) {  /* beyond 64 bits: Python's to format */
        PyErr_Clear();
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (meta.len > 32 || smac.len != 6 || dmac.len != 6 || sip.len != 4 || dip.len != 4
            || (proto != 6 && proto != 17) || sport > 65535 || dport > 65535) {
        PyErr_SetString(PyExc_ValueError, "common: not a flow of the common shape");
        goto done;
    }
    char start[48], id[96], cid[40];
    if (!rfc3339(first_ns, start)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    flow_id(&meta, smac.buf, dmac.buf, sip.buf, dip.buf, sport, dport, id);
    community_id(proto, sip.buf, dip.buf, sport, dport, cid);
    /* At most ~470 bytes: the texts above and the endpoints are bounded by their sizes. */
    char text[640], *at = text;
    put(&at, start);
    put(&at, "\",\"end\":\"%s\",\"duration\":%d},\"flow\":{\"id\":\"");
    put(&at, id);
    put(&at, "\",\"final\":false},\"source\":");
    put_endpoint(&at, smac.buf, sip.buf, sport);
    put(&at, ",\"destination\":");
    put_endpoint(&at, dmac.buf, dip.buf, dport);
    put(&at, ",\"network\":{\"type\":\"ipv4\",\"transport\":\"");
    put(&at, proto == 6 ? "tcp" : "udp");
    put(&at, "\",\"community_id\":\"");
    put(&at, cid);
    put(&at, "\",\"bytes\":%d,\"packets\":%d}");
    result = PyBytes_FromStringAndSize(text, at - text);
done:
    PyBuffer_Release(&meta), PyBuffer_Release(&smac), PyBuffer_Release(&dmac);
    PyBuffer_Release(&sip), PyBuffer_Release(&dip);
    return result;
}

/* timestamp(ts_ns) -> Go's RFC 3339 text as bytes, or None before 1970 or past 64 bits
 * (Python then formats it). */
static PyObject *timestamp(PyObject *self, PyObject *arg) {
    long long ts_ns = PyLong_AsLongLong(arg);
    if (ts_ns == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    char text[48];
    int n = rfc3339(ts_ns, text);
    if (!n)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(text, n);
}

static PyMethodDef methods[] = {
    {"common", common, METH_VARARGS,
     "common(meta, proto, first_ns, src_mac, dst_mac, src_ip, dst_ip, src_port, dst_port)"},
    {"timestamp", timestamp, METH_O, "timestamp(ts_ns) -> RFC 3339 bytes, or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_template", "Flow report templates, compiled.", -1, methods,
};

PyMODINIT_FUNC PyInit__template(void) { return PyModule_Create(&module); }
