/* rtc._wire: the forward path's per-subscriber work in one call (header, SRTP, send).
 *
 * Why: per forwarded packet and subscriber, the Python path packs a header (struct),
 * concatenates the payload, calls libsrtp through cffi (a buffer allocated, copied in
 * and out, a bytes object made) and calls socket.sendto (the address tuple parsed again
 * each time). Here it is one C call: the header is written into a stack buffer next to
 * a copy of the payload, protected in place and sent with sendto(2) on the
 * subscriber's ICE socket, MSG_DONTWAIT, so a full kernel buffer is a drop
 * (BlockingIOError), as in Python (rtc/rtp_munger.py: the slow-subscriber rule).
 *
 * The protect is libsrtp's srtp_protect *as pylibsrtp built it* (its wheel carries
 * libsrtp 2 linked with OpenSSL: AES-NI for AES-CM and GCM), on the very session aiortc
 * made for the subscriber's transport: rtc/wire.py passes the function's address and
 * the session's, from pylibsrtp's cffi objects. So there is one SRTP state per
 * transport whichever path sends (no keystream can be used twice), and no second
 * libsrtp to match. (A first version linked Debian's libsrtp2 with a session of its
 * own: Debian builds it on NSS, which made AES-CM + HMAC-SHA1, the profile Chromium
 * picks, 30 % slower than Python's path.)
 *
 * The numbering (which sequence number and timestamp each subscriber gets) stays in
 * Python (rtc/rtp_munger.py); this only writes what it decided. rtc/wire.py is the
 * pure-Python twin and the fallback when this module was not built; the tests check
 * that both put the same bytes on the wire (tests/rtc/test_wire.py).
 *
 * A Link is one subscriber's transport: the protect function and session (a reference
 * to the Python session object keeps it alive), a duplicate of its ICE socket's
 * descriptor (so that a socket closed by aioice can never become another socket under
 * the same number while a Link still holds it) and the remote address.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Header (12) + extension + payload + SRTP trailer must fit. A UDP datagram on the
 * path is < 1,500 bytes; the extra room is the worst case of a jumbo loopback test. */
#define WIRE_BUFFER 8192
/* libsrtp 2's SRTP_MAX_TRAILER_LEN (a 16-byte tag + a 128-byte MKI): what protect may
 * append after the packet. */
#define TRAILER_ROOM 144

/* libsrtp 2: srtp_err_status_t srtp_protect(srtp_t ctx, void *rtp_hdr, int *len_ptr);
 * the status is an enum, 0 for success. */
typedef int (*protect_fn)(void *ctx, void *rtp_hdr, int *len_ptr);

static PyObject *SrtpError;

typedef struct {
    PyObject_HEAD
    protect_fn protect;
    void *session;
    PyObject *owner; /* the Python object that owns the session (kept alive) */
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
    static char *kwlist[] = {"protect", "session", "owner", "fd", "addr", NULL};
    unsigned long long protect, session;
    int fd;
    PyObject *owner, *addr;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "KKOiO", kwlist, &protect, &session, &owner,
                                     &fd, &addr)) {
        return -1;
    }
    if (protect == 0 || session == 0) {
        PyErr_SetString(PyExc_ValueError, "null protect function or session");
        return -1;
    }
    struct sockaddr_storage sa;
    socklen_t salen;
    if (parse_address(addr, &sa, &salen) < 0) {
        return -1;
    }
    if (fd >= 0) {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        if (self->fd >= 0) {
            close(self->fd);
        }
        self->fd = copy;
    }
    self->protect = (protect_fn)(uintptr_t)protect;
    self->session = (void *)(uintptr_t)session;
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    self->addr = sa;
    self->addrlen = salen;
    return 0;
}

static PyObject *
Link_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    LinkObject *self = (LinkObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->protect = NULL;
        self->session = NULL;
        self->owner = NULL;
        self->fd = -1;
        self->addrlen = 0;
    }
    return (PyObject *)self;
}

static void
Link_dealloc(LinkObject *self)
{
    if (self->fd >= 0) {
        close(self->fd);
    }
    Py_XDECREF(self->owner); /* the session goes with its owner, not with us */
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
    if (len + TRAILER_ROOM > WIRE_BUFFER) {
        PyErr_SetString(PyExc_ValueError, "packet too large");
        return -1;
    }
    if (self->protect == NULL) {
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
    int status = self->protect(self->session, buf, &out_len);
    if (status != 0) {
        PyErr_Format(SrtpError, "srtp_protect failed (%d)", status);
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
    .m_doc = "The forward path's per-subscriber header, SRTP protect and send, in one C call.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
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
