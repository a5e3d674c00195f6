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
#include <structmember.h>

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
write_packet(LinkObject *self, unsigned char *buf, long b0, long b1, unsigned long seq,
             unsigned long ts, unsigned long ssrc, const char *ext, Py_ssize_t ext_len,
             const char *payload, Py_ssize_t payload_len)
{
    if (b0 < 0 || b0 > 255 || b1 < 0 || b1 > 255 || seq > 0xFFFF || ts > 0xFFFFFFFFUL ||
        ssrc > 0xFFFFFFFFUL) {
        PyErr_SetString(PyExc_ValueError, "RTP header field out of range");
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

/* write_packet from send()'s Python arguments. */
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
    char *ext, *payload;
    Py_ssize_t ext_len, payload_len;
    if (PyBytes_AsStringAndSize(args[5], &ext, &ext_len) < 0 ||
        PyBytes_AsStringAndSize(args[6], &payload, &payload_len) < 0) {
        return -1;
    }
    return write_packet(self, buf, b0, b1, seq, ts, ssrc, ext, ext_len, payload, payload_len);
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

/* ------------------------------------------------------------------ SlotState
 *
 * The numbering state of one subscriber slot (rtc/rtp_munger.py's RtpMunger), stored
 * in C so that forward_all can read and advance it without a Python call. It is a base
 * the server's slot class mixes in (rtc/fanout.py's ForwardTrack): its member
 * descriptors come before the instance dictionary, so RtpMunger's own code, unchanged,
 * reads and writes these fields; RtpMunger alone (tests, the pure-Python twin) keeps
 * them as ordinary attributes. Only the fields forward_all touches live here. */

typedef struct {
    PyObject_HEAD
    PyObject *out;          /* the slot's egress (rtc.forward.RtpOut) or None */
    char waiting_keyframe;
    char video;             /* RtpMunger._video */
    char has_ts;            /* last_ts is not None */
    long long seq_offset;
    long long ts_offset;
    long long first_in;
    long long last_out;
    long long last_ts;
    double last_time;
    long long packets_sent;
    long long octets_sent;
    long long frames_sent;
    long long frames_dropped;
} SlotStateObject;

static PyObject *
SlotState_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args; /* a subclass's __init__ takes its own arguments */
    (void)kwds;
    SlotStateObject *self = (SlotStateObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->waiting_keyframe = 1;
    }
    return (PyObject *)self;
}

static int
SlotState_traverse(SlotStateObject *self, visitproc visit, void *arg)
{
    /* Not Py_TYPE(self): a static type; a heap subtype's own traverse visits its type
     * before calling this one. */
    Py_VISIT(self->out);
    return 0;
}

static int
SlotState_clear(SlotStateObject *self)
{
    Py_CLEAR(self->out);
    return 0;
}

static void
SlotState_dealloc(SlotStateObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    SlotState_clear(self);
    type->tp_free((PyObject *)self);
}

static PyObject *
SlotState_get_last_ts(SlotStateObject *self, void *closure)
{
    (void)closure;
    if (!self->has_ts) {
        Py_RETURN_NONE;
    }
    return PyLong_FromLongLong(self->last_ts);
}

static int
SlotState_set_last_ts(SlotStateObject *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL || value == Py_None) {
        self->has_ts = 0;
        return 0;
    }
    long long ts = PyLong_AsLongLong(value);
    if (ts == -1 && PyErr_Occurred()) {
        return -1;
    }
    self->last_ts = ts;
    self->has_ts = 1;
    return 0;
}

static PyGetSetDef SlotState_getset[] = {
    {"last_ts", (getter)SlotState_get_last_ts, (setter)SlotState_set_last_ts,
     "timestamp of the last packet sent, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define SLOT_MEMBER(name, kind, field) \
    {name, kind, offsetof(SlotStateObject, field), 0, NULL}
static PyMemberDef SlotState_members[] = {
    SLOT_MEMBER("out", T_OBJECT, out),
    SLOT_MEMBER("waiting_keyframe", T_BOOL, waiting_keyframe),
    SLOT_MEMBER("_video", T_BOOL, video),
    SLOT_MEMBER("seq_offset", T_LONGLONG, seq_offset),
    SLOT_MEMBER("ts_offset", T_LONGLONG, ts_offset),
    SLOT_MEMBER("first_in", T_LONGLONG, first_in),
    SLOT_MEMBER("last_out", T_LONGLONG, last_out),
    SLOT_MEMBER("last_time", T_DOUBLE, last_time),
    SLOT_MEMBER("packets_sent", T_LONGLONG, packets_sent),
    SLOT_MEMBER("octets_sent", T_LONGLONG, octets_sent),
    SLOT_MEMBER("frames_sent", T_LONGLONG, frames_sent),
    SLOT_MEMBER("frames_dropped", T_LONGLONG, frames_dropped),
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SlotStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rtc._wire.SlotState",
    .tp_doc = "A subscriber slot's numbering state, readable by forward_all (a base class).",
    .tp_basicsize = sizeof(SlotStateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = SlotState_new,
    .tp_dealloc = (destructor)SlotState_dealloc,
    .tp_traverse = (traverseproc)SlotState_traverse,
    .tp_clear = (inquiry)SlotState_clear,
    .tp_members = SlotState_members,
    .tp_getset = SlotState_getset,
};

/* ---------------------------------------------------------------- forward_all
 *
 * forward_all(sinks, seq, ts, marker, payload, keystart, now) -> bool
 *
 * One publisher packet to every slot of a source, in one call: for each slot, what
 * RtpMunger.forward does (rtc/rtp_munger.py, the reference, line for line), the
 * header, SRTP and sendto included. Returns whether any slot waits for a keyframe.
 * A slot it cannot take whole is handed to its own Python ``forward`` (same arguments),
 * so the result is always what calling ``forward`` on each slot would give:
 *   - not a SlotState, or ``forward`` replaced on the instance (the reduced level);
 *   - waiting for a keyframe and this packet starts one (the rebase draws random
 *     starting points and reads the clock: Python's);
 *   - an egress whose link is not a C Link (Python's send, a TURN relay, a test's).
 * tests/rtc/test_wire.py checks it against that loop, byte for byte and field by field. */

static PyObject *str_forward, *str_link, *str_b0, *str_pt_marker, *str_ssrc, *str_extension;

/* 1: sent or dropped here; 0: hand to Python; -1: an exception (as Python's would raise). */
static int
forward_one(SlotStateObject *slot, unsigned long seq, unsigned long ts, long marker,
            const char *payload, Py_ssize_t payload_len, int keystart, double now,
            int *waiting)
{
    PyObject *out = slot->out;
    if (out == NULL || out == Py_None) {
        return 1; /* no egress: nothing to send, not waiting */
    }
    if (slot->waiting_keyframe) {
        if (!keystart) {
            if (marker) {
                slot->frames_dropped += 1;
            }
            *waiting = 1;
            return 1;
        }
        return 0; /* the rebase: Python's */
    }
    if (((seq - (unsigned long long)slot->first_in) & 0xFFFF) >= 0x8000) {
        return 1; /* older than where this slot (re)started */
    }
    PyObject *link = PyObject_GetAttr(out, str_link);
    if (link == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (!Py_IS_TYPE(link, &LinkType)) {
        Py_DECREF(link);
        return 0;
    }
    PyObject *b0_obj = PyObject_GetAttr(out, str_b0);
    PyObject *pt_marker = PyObject_GetAttr(out, str_pt_marker);
    PyObject *ssrc_obj = PyObject_GetAttr(out, str_ssrc);
    PyObject *ext_obj = PyObject_GetAttr(out, str_extension);
    int result = -1;
    if (b0_obj == NULL || pt_marker == NULL || ssrc_obj == NULL || ext_obj == NULL) {
        goto done;
    }
    PyObject *b1_obj = PySequence_GetItem(pt_marker, marker);
    if (b1_obj == NULL) {
        goto done;
    }
    long b0 = PyLong_AsLong(b0_obj);
    long b1 = PyLong_AsLong(b1_obj);
    Py_DECREF(b1_obj);
    unsigned long ssrc = PyLong_AsUnsignedLong(ssrc_obj);
    char *ext;
    Py_ssize_t ext_len;
    if (PyErr_Occurred() || PyBytes_AsStringAndSize(ext_obj, &ext, &ext_len) < 0) {
        goto done;
    }
    unsigned long o = (unsigned long)((seq + (unsigned long long)slot->seq_offset) & 0xFFFF);
    unsigned long t =
        (unsigned long)((ts + (unsigned long long)slot->ts_offset) & 0xFFFFFFFFULL);
    LinkObject *l = (LinkObject *)link;
    if (l->fd < 0) {
        result = 1; /* the transport is gone: Link.send's OSError, before any protect */
        goto done;
    }
    unsigned char buf[WIRE_BUFFER];
    int len = write_packet(l, buf, b0, b1, o, t, ssrc, ext, ext_len, payload, payload_len);
    if (len < 0) {
        if (PyErr_ExceptionMatches(SrtpError)) {
            PyErr_Clear(); /* SRTP refused an old index: Python's out.errors */
            result = 1;
        }
        goto done; /* ValueError: raised, as Python's would be */
    }
    ssize_t sent = sendto(l->fd, buf, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&l->addr,
                          l->addrlen);
    result = 1;
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* The subscriber's send buffer is full: it is behind (rtp_munger's rule). */
            slot->frames_dropped += 1;
            if (slot->video) {
                slot->waiting_keyframe = 1;
                *waiting = 1;
            }
        }
        goto done; /* any other error: the socket is gone, dropped */
    }
    if (((o - (unsigned long long)slot->last_out) & 0xFFFF) < 0x8000) {
        slot->last_out = (long long)o;
    }
    slot->last_ts = (long long)t;
    slot->has_ts = 1;
    slot->last_time = now;
    slot->packets_sent += 1;
    slot->octets_sent += payload_len;
    if (marker || !slot->video) {
        slot->frames_sent += 1;
    }
done:
    Py_DECREF(link);
    Py_XDECREF(b0_obj);
    Py_XDECREF(pt_marker);
    Py_XDECREF(ssrc_obj);
    Py_XDECREF(ext_obj);
    return result;
}

/* Whether the instance replaced its ``forward`` (rtc/fanout.py: the reduced level). */
static int
overridden(PyObject *sink)
{
    PyObject *dict = PyObject_GenericGetDict(sink, NULL);
    if (dict == NULL) {
        PyErr_Clear();
        return 0;
    }
    int found = PyDict_Contains(dict, str_forward);
    Py_DECREF(dict);
    if (found < 0) {
        PyErr_Clear();
        return 1;
    }
    return found;
}

static PyObject *
forward_all(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 7 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "forward_all(sinks: tuple, seq, ts, marker, payload, keystart, now)");
        return NULL;
    }
    unsigned long seq = PyLong_AsUnsignedLong(args[1]);
    unsigned long ts = PyLong_AsUnsignedLong(args[2]);
    long marker = PyLong_AsLong(args[3]);
    int keystart = PyObject_IsTrue(args[5]);
    double now = PyFloat_AsDouble(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (marker < 0 || marker > 3) {
        PyErr_SetString(PyExc_ValueError, "marker out of range");
        return NULL;
    }
    char *payload;
    Py_ssize_t payload_len;
    if (PyBytes_AsStringAndSize(args[4], &payload, &payload_len) < 0) {
        return NULL;
    }
    PyObject *sinks = args[0];
    Py_INCREF(sinks); /* a slot's Python forward could change the source's sink tuple */
    int waiting = 0;
    Py_ssize_t n = PyTuple_GET_SIZE(sinks);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *sink = PyTuple_GET_ITEM(sinks, i);
        int done = 0;
        if (PyObject_TypeCheck(sink, &SlotStateType) && !overridden(sink)) {
            done = forward_one((SlotStateObject *)sink, seq, ts, marker, payload, payload_len,
                               keystart, now, &waiting);
            if (done < 0) {
                Py_DECREF(sinks);
                return NULL;
            }
        }
        if (!done) {
            PyObject *call[7] = {sink, args[1], args[2], args[3], args[4], args[5], args[6]};
            PyObject *r = PyObject_VectorcallMethod(
                str_forward, call, 7 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
            if (r == NULL) {
                Py_DECREF(sinks);
                return NULL;
            }
            int truth = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (truth < 0) {
                Py_DECREF(sinks);
                return NULL;
            }
            waiting |= truth;
        }
    }
    Py_DECREF(sinks);
    return PyBool_FromLong(waiting);
}

static PyMethodDef wire_functions[] = {
    {"forward_all", (PyCFunction)(void (*)(void))forward_all, METH_FASTCALL,
     "forward_all(sinks, seq, ts, marker, payload, keystart, now) -> any slot waits for a "
     "keyframe"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wire_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rtc._wire",
    .m_doc = "The forward path's per-subscriber header, SRTP protect and send, in one C call.",
    .m_size = -1,
    .m_methods = wire_functions,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
    if (PyType_Ready(&LinkType) < 0 || PyType_Ready(&SlotStateType) < 0) {
        return NULL;
    }
    str_forward = PyUnicode_InternFromString("forward");
    str_link = PyUnicode_InternFromString("link");
    str_b0 = PyUnicode_InternFromString("b0");
    str_pt_marker = PyUnicode_InternFromString("pt_marker");
    str_ssrc = PyUnicode_InternFromString("ssrc");
    str_extension = PyUnicode_InternFromString("extension");
    if (!str_forward || !str_link || !str_b0 || !str_pt_marker || !str_ssrc || !str_extension) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&wire_module);
    if (m == NULL) {
        return NULL;
    }
    SrtpError = PyErr_NewException("rtc._wire.SrtpError", NULL, NULL);
    if (SrtpError == NULL || PyModule_AddObjectRef(m, "SrtpError", SrtpError) < 0 ||
        PyModule_AddObjectRef(m, "Link", (PyObject *)&LinkType) < 0 ||
        PyModule_AddObjectRef(m, "SlotState", (PyObject *)&SlotStateType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
