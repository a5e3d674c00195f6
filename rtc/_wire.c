/* rtc._wire: the forward path's per-subscriber work in one call (header, SRTP, send).
 *
 * Why: per forwarded packet and subscriber, the Python path packs a header (struct),
 * concatenates the payload, calls libsrtp through cffi (a buffer allocated, copied in
 * and out) and calls socket.sendto (the address tuple parsed again each time). Here it
 * is one C call: the header is written into a stack buffer next to a copy of the
 * payload, protected in place by libsrtp (Debian's libsrtp2) and sent with sendto(2)
 * on the subscriber's ICE socket, MSG_DONTWAIT, so a full kernel buffer is a drop
 * (BlockingIOError), as in Python (rtc/rtp_munger.py: the slow-subscriber rule).
 *
 * The numbering (which sequence number and timestamp each subscriber gets) stays in
 * Python (rtc/rtp_munger.py); this only writes what it decided. rtc/wire.py is the
 * pure-Python twin and the fallback when this module was not built; the tests check
 * that both put the same bytes on the wire (tests/rtc/test_wire.py).
 *
 * A Link is one subscriber's transport: its outbound SRTP session (the keys the
 * DTLS handshake exported, the policy aiortc uses: any outbound SSRC, repeats allowed,
 * a 1024-packet window), a duplicate of its ICE socket's descriptor (so that a socket
 * closed by aioice can never become another socket under the same number while a Link
 * still holds it) and the remote address.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <srtp2/srtp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Header (12) + extension + payload + SRTP trailer must fit. A UDP datagram on the
 * path is < 1,500 bytes; the extra room is the worst case of a jumbo loopback test. */
#define WIRE_BUFFER 8192

static PyObject *SrtpError;

typedef struct {
    PyObject_HEAD
    srtp_t session;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} LinkObject;

static int
parse_address(PyObject *addr, struct sockaddr_storage *out, socklen_t *len)
{
    const char *host;
    int port;
    if (!PyArg_ParseTuple(addr, "si", &host, &port)) {
        return -1;
    }
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "not a numeric address: %s", host);
    return -1;
}

static int
Link_init(LinkObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"profile", "key", "fd", "addr", NULL};
    int profile, fd;
    Py_buffer key;
    PyObject *addr;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iy*iO", kwlist, &profile, &key, &fd,
                                     &addr)) {
        return -1;
    }
    int result = -1;
    srtp_policy_t policy;
    memset(&policy, 0, sizeof(policy));
    if (srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, (srtp_profile_t)profile) !=
            srtp_err_status_ok ||
        srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, (srtp_profile_t)profile) !=
            srtp_err_status_ok) {
        PyErr_Format(SrtpError, "unsupported SRTP profile %d", profile);
        goto done;
    }
    size_t want = srtp_profile_get_master_key_length((srtp_profile_t)profile) +
                  srtp_profile_get_master_salt_length((srtp_profile_t)profile);
    if ((size_t)key.len != want) {
        PyErr_Format(PyExc_ValueError, "key and salt must be %zu bytes, not %zd", want,
                     key.len);
        goto done;
    }
    struct sockaddr_storage sa;
    socklen_t salen;
    if (parse_address(addr, &sa, &salen) < 0) {
        goto done;
    }
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = (unsigned char *)key.buf; /* srtp_create copies the key */
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;
    policy.next = NULL;
    if (self->session != NULL) {
        srtp_dealloc(self->session);
        self->session = NULL;
    }
    srtp_err_status_t status = srtp_create(&self->session, &policy);
    if (status != srtp_err_status_ok) {
        self->session = NULL;
        PyErr_Format(SrtpError, "srtp_create failed (%d)", (int)status);
        goto done;
    }
    if (fd >= 0) {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            goto done;
        }
        if (self->fd >= 0) {
            close(self->fd);
        }
        self->fd = copy;
    }
    self->addr = sa;
    self->addrlen = salen;
    result = 0;
done:
    PyBuffer_Release(&key);
    return result;
}

static PyObject *
Link_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    LinkObject *self = (LinkObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->session = NULL;
        self->fd = -1;
        self->addrlen = 0;
    }
    return (PyObject *)self;
}

static void
Link_dealloc(LinkObject *self)
{
    if (self->session != NULL) {
        srtp_dealloc(self->session);
    }
    if (self->fd >= 0) {
        close(self->fd);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Write the 12-byte RTP header and the extension, copy the payload after them and
 * protect in place. Returns the protected length, or -1 with an exception set. */
static int
build(LinkObject *self, unsigned char *buf, PyObject *const *args)
{
    long b0 = PyLong_AsLong(args[0]);
    long b1 = PyLong_AsLong(args[1]);
    unsigned long seq = PyLong_AsUnsignedLong(args[2]);
    unsigned long ts = PyLong_AsUnsignedLong(args[3]);
    unsigned long ssrc = PyLong_AsUnsignedLong(args[4]);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (b0 < 0 || b0 > 255 || b1 < 0 || b1 > 255 || seq > 0xFFFF || ts > 0xFFFFFFFFUL ||
        ssrc > 0xFFFFFFFFUL) {
        PyErr_SetString(PyExc_ValueError, "RTP header field out of range");
        return -1;
    }
    char *ext, *payload;
    Py_ssize_t ext_len, payload_len;
    if (PyBytes_AsStringAndSize(args[5], &ext, &ext_len) < 0 ||
        PyBytes_AsStringAndSize(args[6], &payload, &payload_len) < 0) {
        return -1;
    }
    Py_ssize_t len = 12 + ext_len + payload_len;
    if (len + SRTP_MAX_TRAILER_LEN > WIRE_BUFFER) {
        PyErr_SetString(PyExc_ValueError, "packet too large");
        return -1;
    }
    if (self->session == NULL) {
        PyErr_SetString(SrtpError, "link not initialised");
        return -1;
    }
    buf[0] = (unsigned char)b0;
    buf[1] = (unsigned char)b1;
    buf[2] = (unsigned char)(seq >> 8);
    buf[3] = (unsigned char)seq;
    buf[4] = (unsigned char)(ts >> 24);
    buf[5] = (unsigned char)(ts >> 16);
    buf[6] = (unsigned char)(ts >> 8);
    buf[7] = (unsigned char)ts;
    buf[8] = (unsigned char)(ssrc >> 24);
    buf[9] = (unsigned char)(ssrc >> 16);
    buf[10] = (unsigned char)(ssrc >> 8);
    buf[11] = (unsigned char)ssrc;
    memcpy(buf + 12, ext, (size_t)ext_len);
    memcpy(buf + 12 + ext_len, payload, (size_t)payload_len);
    int out_len = (int)len;
    srtp_err_status_t status = srtp_protect(self->session, buf, &out_len);
    if (status != srtp_err_status_ok) {
        PyErr_Format(SrtpError, "srtp_protect failed (%d)", (int)status);
        return -1;
    }
    return out_len;
}

static const char SEND_ARGS[] = "(b0, b1, seq, ts, ssrc, extension, payload)";

/* Link.send(b0, b1, seq, ts, ssrc, extension, payload) -> int: bytes sent. */
static PyObject *
Link_send(LinkObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "send takes 7 arguments %s", SEND_ARGS);
        return NULL;
    }
    if (self->fd < 0) {
        PyErr_SetString(PyExc_OSError, "link has no socket");
        return NULL;
    }
    unsigned char buf[WIRE_BUFFER];
    int len = build(self, buf, args);
    if (len < 0) {
        return NULL;
    }
    ssize_t sent = sendto(self->fd, buf, (size_t)len, MSG_DONTWAIT,
                          (struct sockaddr *)&self->addr, self->addrlen);
    if (sent < 0) {
        return PyErr_SetFromErrno(PyExc_OSError); /* EAGAIN: BlockingIOError */
    }
    return PyLong_FromSsize_t(sent);
}

/* Link.protect(b0, b1, seq, ts, ssrc, extension, payload) -> bytes: what send would
 * put on the wire, not sent (tests, and the byte-for-byte comparison). */
static PyObject *
Link_protect(LinkObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "protect takes 7 arguments %s", SEND_ARGS);
        return NULL;
    }
    unsigned char buf[WIRE_BUFFER];
    int len = build(self, buf, args);
    if (len < 0) {
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)buf, len);
}

/* Link.close(): the subscriber's transport is gone; later sends raise OSError (and are
 * dropped, as a send on aioice's closed socket was) instead of reaching its old address. */
static PyObject *
Link_close(LinkObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Link_methods[] = {
    {"close", (PyCFunction)Link_close, METH_NOARGS, "close(): stop sending (the transport is gone)"},
    {"send", (PyCFunction)(void (*)(void))Link_send, METH_FASTCALL,
     "send(b0, b1, seq, ts, ssrc, extension, payload) -> bytes sent"},
    {"protect", (PyCFunction)(void (*)(void))Link_protect, METH_FASTCALL,
     "protect(b0, b1, seq, ts, ssrc, extension, payload) -> the SRTP packet, unsent"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LinkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rtc._wire.Link",
    .tp_doc = "One subscriber's transport: outbound SRTP, its socket, its address.",
    .tp_basicsize = sizeof(LinkObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Link_new,
    .tp_init = (initproc)Link_init,
    .tp_dealloc = (destructor)Link_dealloc,
    .tp_methods = Link_methods,
};

static struct PyModuleDef wire_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rtc._wire",
    .m_doc = "The forward path's per-subscriber header, SRTP protect and send, in C.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
    if (srtp_init() != srtp_err_status_ok) {
        PyErr_SetString(PyExc_ImportError, "srtp_init failed");
        return NULL;
    }
    if (PyType_Ready(&LinkType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&wire_module);
    if (m == NULL) {
        return NULL;
    }
    SrtpError = PyErr_NewException("rtc._wire.SrtpError", NULL, NULL);
    if (SrtpError == NULL || PyModule_AddObjectRef(m, "SrtpError", SrtpError) < 0 ||
        PyModule_AddObjectRef(m, "Link", (PyObject *)&LinkType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
