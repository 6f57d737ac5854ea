// _cqlpp: the native half of the cqlpp Python package.
//
// Threading (see STYLE.md G17). An Engine owns an asio::io_context run by one
// thread of its own; every driver call happens there, never holding the GIL.
// A request is a `job`: built (values encoded) on the caller's thread under
// the GIL, handed to the I/O thread through a lock-free stack (one post per
// batch of submissions), completed there, then pushed onto the lock-free
// completion stack of the asyncio loop that awaits it (a Bridge, one per
// loop). The push that finds that stack empty writes the loop's eventfd,
// which the loop watches with add_reader: one wake-up per batch. The loop
// then drains the stack under one GIL acquisition per callback, turning rows
// into Python objects and resolving the request objects (request_obj, the
// awaitables in place of asyncio Futures), whose awaiting tasks it resumes
// directly. A callback is bounded (the loop's other callbacks and timers must
// not wait): a drain stops after drain_budget or drain_max_jobs and wakes the
// loop again for the rest, and a large page is converted a slice at a time
// (row_builder, PendingRows).
#include "codec.hpp"

#include "cqlpp/bulk/operations.hpp"
#include "cqlpp/driver/session.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <structmember.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace py = pybind11;
namespace drv = cqlpp::driver;
namespace proto = cqlpp::protocol;

namespace cqlpy {

// A value already encoded by codec.cpp, bound as is (the driver's documented
// customisation point: value_codec specialisations).
struct raw_value {
    const std::uint8_t* data;
    std::size_t size;
};

}  // namespace cqlpy

template <>
struct cqlpp::driver::value_codec<cqlpy::raw_value> {
    static bool can_encode(const protocol::cql_type&) noexcept { return true; }
    static conversion_errc encode(const cqlpy::raw_value& v, const protocol::cql_type&, protocol::byte_buffer& out) {
        out.insert(out.end(), v.data, v.data + v.size);
        return conversion_errc::ok;
    }
};

namespace cqlpy {
namespace {

// Python objects the module calls (set by cqlpp/__init__.py through _setup).
struct hooks {
    PyObject* make_error = nullptr;  // (category, code, message, info) -> exception
    PyObject* row_class = nullptr;   // (names tuple) -> named tuple class
    PyObject* dict_factory = nullptr;
    PyObject* tuple_factory = nullptr;
    PyObject* named_tuple_factory = nullptr;
    PyTypeObject* result_set = nullptr;  // cqlpp.ResultSet (a subclass of ResultBase), set by _set_result_class
};
hooks& hk() {
    static hooks h;
    return h;
}

bool finalizing() noexcept { return _Py_IsFinalizing(); }

// Drops a reference from any thread (the GIL is taken when not held).
void release_from_any_thread(PyObject*& o) {
    if (!o) return;
    if (finalizing()) {  // the interpreter is going away: leak rather than touch it
        o = nullptr;
        return;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    Py_CLEAR(o);
    PyGILState_Release(g);
}

struct bridge_core;
struct engine;

// Takes a job's reference to its request object (GIL held). A pending request
// is kept alive by its job, which the cyclic collector cannot see, so it is
// only tracked from here on (see request_new), if anything else still holds it.
void request_track_cb(PyObject* req);  // see request_obj::cb_untracked
PyObject* take_request_ref(PyObject*& req) {
    if (req) request_track_cb(req);
    if (req && Py_REFCNT(req) > 1 && !PyObject_GC_IsTracked(req)) PyObject_GC_Track(req);
    return std::exchange(req, nullptr);
}
void drop_request_ref(PyObject*& req) { Py_XDECREF(take_request_ref(req)); }  // and releases it

// ---- jobs --------------------------------------------------------------------------

struct job {
    std::atomic<int> refs{1};
    job* next = nullptr;
    PyObject* req = nullptr;  // strong: the request object awaited (a request_obj); cleared under the GIL when resolved
    std::shared_ptr<bridge_core> bridge;
    std::weak_ptr<engine> target;  // while queued on its bridge, not yet submitted (weak: see connect_job)
    asio::cancellation_signal cancel;
    bool finished = false;         // I/O thread only
    bool cancelled_early = false;  // I/O thread only: cancelled before it started (never starts)
    // Loop thread: the value of a finished request whose rows are still being
    // converted (see drain), strong; the request is resolved once they are.
    PyObject* partial = nullptr;

    virtual ~job() {
        if (!req && !partial) return;
        if (finalizing()) return;  // the interpreter is going away: leak rather than touch it
        PyGILState_STATE g = PyGILState_Ensure();
        Py_CLEAR(partial);
        drop_request_ref(req);
        PyGILState_Release(g);
    }
    // GIL held, request not done: its value (new ref), or null with *exc set
    // to the exception instance (new ref) to deliver.
    virtual PyObject* value(PyObject** exc) = 0;
    // GIL held: drop every Python reference (resolved, or given up).
    virtual void clear_python() {
        Py_CLEAR(partial);
        drop_request_ref(req);
    }
    // Jobs without a request object (progress reports) run here instead.
    virtual void run_callback() {}
    // I/O thread: start the operation.
    virtual void start(engine& e) = 0;

    void retain() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    void complete();  // I/O thread: hand the job to its loop
};

struct job_ref {
    job* j = nullptr;
    job_ref() = default;
    explicit job_ref(job* p) : j(p) {}
    job_ref(const job_ref& o) : j(o.j) {
        if (j) j->retain();
    }
    job_ref(job_ref&& o) noexcept : j(std::exchange(o.j, nullptr)) {}
    job_ref& operator=(job_ref o) noexcept {
        std::swap(j, o.j);
        return *this;
    }
    ~job_ref() {
        if (j) j->release();
    }
    job* operator->() const noexcept { return j; }
    job* release_ptr() noexcept { return std::exchange(j, nullptr); }
};

// ---- the loop side: one per asyncio loop ---------------------------------------------

struct bridge_core {
    std::atomic<job*> head{nullptr};
    job* deferred = nullptr;  // loop thread only: taken, not yet resolved (oldest first)
    job* converting = nullptr;  // loop thread only: finished, rows being converted (oldest first; see drain)
    int efd = -1;
    std::atomic<bool> closed{false};
    PyObject* wake_cb = nullptr;  // loops without add_reader: call_soon_threadsafe(drain)
    // Requests made during one loop iteration are handed to the I/O thread
    // together by one flush the loop runs next (loop.call_soon): one wake-up of
    // that thread per batch instead of per request (each cost a context switch
    // on a busy machine). Loop thread only, GIL held.
    job* pending = nullptr;  // newest first
    // Set while drain runs: the requests the woken tasks make are flushed at
    // the drain's end, not by a call_soon'd flush in the loop's next iteration
    // (one Handle and one loop iteration less per batch).
    bool draining = false;
    PyObject* loop = nullptr;  // the requests' get_loop(); cleared by close
    PyObject* call_soon = nullptr;
    PyObject* flush_cb = nullptr;

    bridge_core() {
        efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~bridge_core() {
        if (efd >= 0) ::close(efd);
        release_from_any_thread(wake_cb);
        release_from_any_thread(loop);
        release_from_any_thread(call_soon);
        release_from_any_thread(flush_cb);
    }

    // Any thread. Takes over the caller's reference.
    void push(job* j) {
        if (closed.load(std::memory_order_acquire)) return drop(j);
        job* old = head.load(std::memory_order_relaxed);
        do {
            j->next = old;
        } while (!head.compare_exchange_weak(old, j, std::memory_order_release, std::memory_order_relaxed));
        if (old) return;  // the loop is already woken for this batch
        wake();
    }
    // Makes the loop call drain (once more).
    void wake() {
        if (wake_cb) {
            if (finalizing()) return;
            PyGILState_STATE g = PyGILState_Ensure();
            PyObject* r = PyObject_CallNoArgs(wake_cb);
            if (!r) PyErr_Clear();  // the loop is closed: its jobs are dropped when the bridge closes
            Py_XDECREF(r);
            PyGILState_Release(g);
            return;
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(efd, &one, sizeof one);
    }
    static void drop(job* j) {
        if (!finalizing()) {
            PyGILState_STATE g = PyGILState_Ensure();
            j->clear_python();
            PyGILState_Release(g);
        }
        j->release();
    }
    // Oldest first.
    job* take_all() {
        job* list = head.exchange(nullptr, std::memory_order_acquire);
        job* rev = nullptr;
        while (list) {
            job* n = list->next;
            list->next = rev;
            rev = list;
            list = n;
        }
        return rev;
    }
};

void job::complete() {
    finished = true;
    auto b = bridge;
    b->push(this);
}

// ---- the awaitable: one per request, in place of an asyncio.Future ------------------------

// What `await engine.execute_...(...)` waits on. Towards an asyncio Task it is a
// Future (the `_asyncio_future_blocking` protocol of asyncio/tasks.py: get_loop,
// add_done_callback, result, cancel ...), but the drain that resolves it calls
// the awaiting task's wake-up itself, inside the loop callback it already runs
// in: no asyncio.Future, no call_soon Handle and no extra loop iteration per
// request. Callbacks of a request resolved anywhere else (cancel, a request
// that cannot start) are scheduled with call_soon, as a Future's are. The
// awaiting coroutine gets the value through am_send (no StopIteration).
// Loop thread, GIL held.
struct request_obj {
    PyObject_HEAD
    job* j;                       // a reference while pending: cancel reaches the native request through it
    std::shared_ptr<engine> eng;  // while pending (constructed in place by request_new)
    PyObject* loop;
    PyObject* value;  // done: the result
    PyObject* exc;    // done: the exception instance, or null
    PyObject* cb;     // the first done callback (the awaiting Task's wake-up) and its context
    PyObject* cb_ctx;
    PyObject* more;  // further callbacks: a list of (callback, context), or null
    PyObject* cancel_msg;
    std::uint8_t state;
    bool blocking;  // _asyncio_future_blocking
    // cb (the awaiting Task's wake-up, a fresh object per await) is untracked
    // by the collector while the job holds this request, for the reason the
    // request is (see request_new): held through the job, it is reachable;
    // tracked, each young collection would promote one per request in flight.
    // Tracked again (request_track_cb) before anything else can see it go.
    bool cb_untracked;
};
constexpr std::uint8_t req_pending = 0, req_done = 1, req_cancelled = 2;

struct asyncio_names {
    PyObject* cancelled_error = nullptr;
    PyObject* invalid_state_error = nullptr;
    PyObject* call_soon = nullptr;
    PyObject* call_exception_handler = nullptr;
    PyObject* context_kwnames = nullptr;  // ("context",)
    PyObject* s_message = nullptr;
    PyObject* s_exception = nullptr;
};
asyncio_names& aio() {
    static asyncio_names a;
    return a;
}

extern PyTypeObject request_type;
void post_cancel(const std::shared_ptr<engine>& e, job* j);  // after engine

request_obj* as_request(PyObject* o) { return reinterpret_cast<request_obj*>(o); }

// New reference, pending, holding a reference to `j`; null with an exception set.
// Not tracked by the cyclic collector yet: while pending, its job holds it, so
// no collection could free it, and tracked, each young collection that finds
// it in flight would move it a generation up, towards the full collections
// (milliseconds) that such promotions trigger. drop_request_ref tracks it.
PyObject* request_new(PyObject* loop, std::shared_ptr<engine> e, job* j) {
    request_obj* r = PyObject_GC_New(request_obj, &request_type);
    if (!r) return nullptr;
    new (&r->eng) std::shared_ptr<engine>(std::move(e));
    j->retain();
    r->j = j;
    r->loop = Py_NewRef(loop);
    r->value = r->exc = r->cb = r->cb_ctx = r->more = r->cancel_msg = nullptr;
    r->state = req_pending;
    r->blocking = false;
    r->cb_untracked = false;
    return reinterpret_cast<PyObject*>(r);
}

void request_track_cb(PyObject* req) {
    request_obj* r = as_request(req);
    if (!r->cb_untracked) return;
    r->cb_untracked = false;
    if (r->cb && !PyObject_GC_IsTracked(r->cb)) PyObject_GC_Track(r->cb);
}

// Resolved or cancelled: the native side is no longer needed from here.
void request_drop_native(request_obj* r) {
    if (job* j = std::exchange(r->j, nullptr)) j->release();
    r->eng.reset();
}

// loop.call_soon(cb, r, context=ctx). False with an exception set.
bool request_schedule(request_obj* r, PyObject* cb, PyObject* ctx) {
    PyObject* args[] = {r->loop, cb, reinterpret_cast<PyObject*>(r), ctx};
    PyObject* res = PyObject_VectorcallMethod(aio().call_soon, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                              aio().context_kwnames);
    Py_XDECREF(res);
    return res != nullptr;
}

// Runs cb(r) in ctx now, as the loop runs a Handle: an exception goes to the
// loop's exception handler, except KeyboardInterrupt and SystemExit, which
// propagate (false with the exception set).
bool request_run_now(request_obj* r, PyObject* cb, PyObject* ctx) {
    if (PyContext_Enter(ctx) < 0) {  // the context is entered already (shared): leave it to the loop
        PyErr_Clear();
        if (request_schedule(r, cb, ctx)) return true;
        PyErr_WriteUnraisable(cb);
        return true;
    }
    PyObject* res = PyObject_CallOneArg(cb, reinterpret_cast<PyObject*>(r));
    PyObject *t = nullptr, *v = nullptr, *tb = nullptr;
    if (!res) PyErr_Fetch(&t, &v, &tb);
    if (PyContext_Exit(ctx) < 0) PyErr_Clear();
    if (res) {
        Py_DECREF(res);
        return true;
    }
    if (PyErr_GivenExceptionMatches(t, PyExc_KeyboardInterrupt) || PyErr_GivenExceptionMatches(t, PyExc_SystemExit)) {
        PyErr_Restore(t, v, tb);
        return false;
    }
    PyErr_NormalizeException(&t, &v, &tb);
    if (v && tb) PyException_SetTraceback(v, tb);
    PyObject* d = PyDict_New();
    PyObject* msg = PyUnicode_FromFormat("Exception in callback %R", cb);
    bool reported = false;
    if (d && msg && v && PyDict_SetItem(d, aio().s_message, msg) == 0 && PyDict_SetItem(d, aio().s_exception, v) == 0) {
        PyObject* args[] = {r->loop, d};
        PyObject* h = PyObject_VectorcallMethod(aio().call_exception_handler, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                                nullptr);
        reported = h != nullptr;
        Py_XDECREF(h);
    }
    if (!reported) {
        PyErr_Clear();
        PyErr_Restore(Py_XNewRef(t), Py_XNewRef(v), Py_XNewRef(tb));
        PyErr_WriteUnraisable(cb);
    }
    Py_XDECREF(d);
    Py_XDECREF(msg);
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
    return true;
}

// Hands the callbacks their turn: now (`direct`: the caller is a loop
// callback, not inside a task) or through call_soon. False with an exception
// set (KeyboardInterrupt/SystemExit when direct; call_soon failing otherwise).
bool request_fire(request_obj* r, bool direct) {
    request_track_cb(reinterpret_cast<PyObject*>(r));
    PyObject* cb = std::exchange(r->cb, nullptr);
    PyObject* ctx = std::exchange(r->cb_ctx, nullptr);
    PyObject* more = std::exchange(r->more, nullptr);
    bool ok = true;
    if (cb) ok = direct ? request_run_now(r, cb, ctx) : request_schedule(r, cb, ctx);
    Py_XDECREF(cb);
    Py_XDECREF(ctx);
    if (more) {
        for (Py_ssize_t i = 0; ok && i < PyList_GET_SIZE(more); ++i) {
            PyObject* item = PyList_GET_ITEM(more, i);
            PyObject* c = PyTuple_GET_ITEM(item, 0);
            PyObject* x = PyTuple_GET_ITEM(item, 1);
            ok = direct ? request_run_now(r, c, x) : request_schedule(r, c, x);
        }
        Py_DECREF(more);
    }
    return ok;
}

// Resolves a pending request with `value` or `exc` (stolen; one of them set).
// A request done already (cancelled) drops them. False with an exception set:
// see request_fire.
bool request_resolve(request_obj* r, PyObject* value, PyObject* exc, bool direct) {
    if (r->state != req_pending) {
        Py_XDECREF(value);
        Py_XDECREF(exc);
        return true;
    }
    r->value = value;
    r->exc = exc;
    r->state = req_done;
    request_drop_native(r);
    return request_fire(r, direct);
}

PyObject* request_cancelled_error(request_obj* r) {
    return r->cancel_msg ? PyObject_CallOneArg(aio().cancelled_error, r->cancel_msg)
                         : PyObject_CallNoArgs(aio().cancelled_error);
}

// Sets the exception a done request raises.
void request_raise(request_obj* r) {
    if (r->state == req_cancelled) {
        if (PyObject* e = request_cancelled_error(r)) {
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(e)), e);
            Py_DECREF(e);
        }
        return;
    }
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(r->exc)), r->exc);
}

PySendResult request_send(PyObject* self, PyObject*, PyObject** result) {
    request_obj* r = as_request(self);
    if (r->state == req_pending) {
        if (r->blocking) {  // resumed while still pending: not awaited through a Task
            PyErr_SetString(PyExc_RuntimeError, "await wasn't used with future");
            *result = nullptr;
            return PYGEN_ERROR;
        }
        r->blocking = true;
        *result = Py_NewRef(self);
        return PYGEN_NEXT;
    }
    if (r->state == req_done && !r->exc) {
        *result = Py_NewRef(r->value);
        return PYGEN_RETURN;
    }
    request_raise(r);
    *result = nullptr;
    return PYGEN_ERROR;
}

PyObject* request_iternext(PyObject* self) {
    PyObject* out = nullptr;
    switch (request_send(self, Py_None, &out)) {
        case PYGEN_NEXT: return out;
        case PYGEN_RETURN:
            _PyGen_SetStopIterationValue(out);
            Py_DECREF(out);
            return nullptr;
        default: return nullptr;
    }
}

PyObject* request_self(PyObject* self) { return Py_NewRef(self); }

// The coroutine protocol (send, throw, close), so that asyncio takes a request
// wherever it takes a coroutine (create_task): Session.execute returns one.
PyObject* request_send_method(PyObject* self, PyObject*) { return request_iternext(self); }

// throw(exc) / throw(type[, value[, traceback]]): a pending request is
// cancelled (natively too), then the exception is raised.
PyObject* request_cancel_now(request_obj* r);
PyObject* request_throw(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return nullptr;
    }
    request_obj* r = as_request(self);
    if (r->state == req_pending) {
        PyObject* c = request_cancel_now(r);
        if (!c) return nullptr;
        Py_DECREF(c);
    }
    PyObject* typ = args[0];
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(typ)), typ);
    } else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, nargs > 1 ? args[1] : nullptr);
    } else {
        PyErr_SetString(PyExc_TypeError, "exceptions must be classes or instances deriving from BaseException");
    }
    return nullptr;
}

PyObject* request_close(PyObject* self, PyObject*) {
    request_obj* r = as_request(self);
    if (r->state == req_pending) {
        PyObject* c = request_cancel_now(r);
        if (!c) return nullptr;
        Py_DECREF(c);
    }
    Py_RETURN_NONE;
}

PyObject* request_done(PyObject* self, PyObject*) { return PyBool_FromLong(as_request(self)->state != req_pending); }
PyObject* request_is_cancelled(PyObject* self, PyObject*) {
    return PyBool_FromLong(as_request(self)->state == req_cancelled);
}
PyObject* request_get_loop(PyObject* self, PyObject*) { return Py_NewRef(as_request(self)->loop); }

PyObject* request_result(PyObject* self, PyObject*) {
    request_obj* r = as_request(self);
    if (r->state == req_pending) {
        PyErr_SetString(aio().invalid_state_error, "Result is not ready.");
        return nullptr;
    }
    if (r->state == req_done && !r->exc) return Py_NewRef(r->value);
    request_raise(r);
    return nullptr;
}

PyObject* request_exception(PyObject* self, PyObject*) {
    request_obj* r = as_request(self);
    if (r->state == req_pending) {
        PyErr_SetString(aio().invalid_state_error, "Exception is not set.");
        return nullptr;
    }
    if (r->state == req_cancelled) {
        request_raise(r);
        return nullptr;
    }
    return Py_NewRef(r->exc ? r->exc : Py_None);
}

// add_done_callback(fn, *, context=None)
PyObject* request_add_done_callback(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    request_obj* r = as_request(self);
    PyObject* ctx = nullptr;
    const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; ++i) {
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, i), "context") != 0) {
            PyErr_Format(PyExc_TypeError, "add_done_callback() got an unexpected keyword argument '%U'",
                         PyTuple_GET_ITEM(kwnames, i));
            return nullptr;
        }
        ctx = args[nargs + i];
    }
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "add_done_callback() takes exactly one positional argument");
        return nullptr;
    }
    PyObject* fn = args[0];
    ctx = (ctx && ctx != Py_None) ? Py_NewRef(ctx) : PyContext_CopyCurrent();
    if (!ctx) return nullptr;
    if (r->state != req_pending) {
        const bool ok = request_schedule(r, fn, ctx);
        Py_DECREF(ctx);
        if (!ok) return nullptr;
        Py_RETURN_NONE;
    }
    if (!r->cb) {
        r->cb = Py_NewRef(fn);
        r->cb_ctx = ctx;
        // Held by a pending request that its job holds: see cb_untracked.
        if (r->j && Py_REFCNT(fn) == 2 && PyObject_IS_GC(fn) && PyObject_GC_IsTracked(fn)) {
            PyObject_GC_UnTrack(fn);
            r->cb_untracked = true;
        }
        Py_RETURN_NONE;
    }
    if (!r->more && !(r->more = PyList_New(0))) {
        Py_DECREF(ctx);
        return nullptr;
    }
    PyObject* item = PyTuple_Pack(2, fn, ctx);
    Py_DECREF(ctx);
    if (!item) return nullptr;
    const int rc = PyList_Append(r->more, item);
    Py_DECREF(item);
    if (rc < 0) return nullptr;
    Py_RETURN_NONE;
}

// remove_done_callback(fn) -> how many were removed
PyObject* request_remove_done_callback(PyObject* self, PyObject* fn) {
    request_obj* r = as_request(self);
    Py_ssize_t removed = 0;
    request_track_cb(self);
    if (r->cb) {
        const int eq = PyObject_RichCompareBool(r->cb, fn, Py_EQ);
        if (eq < 0) return nullptr;
        if (eq) {
            Py_CLEAR(r->cb);
            Py_CLEAR(r->cb_ctx);
            ++removed;
        }
    }
    if (r->more) {
        PyObject* keep = PyList_New(0);
        if (!keep) return nullptr;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(r->more); ++i) {
            PyObject* item = PyList_GET_ITEM(r->more, i);
            const int eq = PyObject_RichCompareBool(PyTuple_GET_ITEM(item, 0), fn, Py_EQ);
            if (eq < 0 || (!eq && PyList_Append(keep, item) < 0)) {
                Py_DECREF(keep);
                return nullptr;
            }
            removed += eq;
        }
        Py_SETREF(r->more, keep);
    }
    return PyLong_FromSsize_t(removed);
}

// Cancels a pending request (and its native one); True. Null with an exception set.
PyObject* request_cancel_now(request_obj* r) {
    r->state = req_cancelled;
    if (r->j && r->eng) post_cancel(r->eng, r->j);
    request_drop_native(r);
    if (!request_fire(r, false)) return nullptr;
    Py_RETURN_TRUE;
}

// cancel(msg=None): cancels the native request too.
PyObject* request_cancel(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    request_obj* r = as_request(self);
    PyObject* msg = nargs > 0 ? args[0] : nullptr;
    const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; ++i) {
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, i), "msg") != 0 || nargs > 0) {
            PyErr_SetString(PyExc_TypeError, "cancel() takes one optional argument, msg");
            return nullptr;
        }
        msg = args[nargs + i];
    }
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "cancel() takes one optional argument, msg");
        return nullptr;
    }
    if (r->state != req_pending) Py_RETURN_FALSE;
    if (msg && msg != Py_None) r->cancel_msg = Py_NewRef(msg);
    return request_cancel_now(r);
}

PyObject* request_get_blocking(PyObject* self, void*) { return PyBool_FromLong(as_request(self)->blocking); }
int request_set_blocking(PyObject* self, PyObject* v, void*) {
    if (!v) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete _asyncio_future_blocking");
        return -1;
    }
    const int t = PyObject_IsTrue(v);
    if (t < 0) return -1;
    as_request(self)->blocking = t != 0;
    return 0;
}
PyObject* request_get_loop_attr(PyObject* self, void*) { return Py_NewRef(as_request(self)->loop); }

int request_traverse(PyObject* self, visitproc visit, void* arg) {
    request_obj* r = as_request(self);
    Py_VISIT(r->loop);
    Py_VISIT(r->value);
    Py_VISIT(r->exc);
    Py_VISIT(r->cb);
    Py_VISIT(r->cb_ctx);
    Py_VISIT(r->more);
    Py_VISIT(r->cancel_msg);
    return 0;
}

int request_clear(PyObject* self) {
    request_obj* r = as_request(self);
    request_track_cb(self);
    Py_CLEAR(r->loop);
    Py_CLEAR(r->value);
    Py_CLEAR(r->exc);
    Py_CLEAR(r->cb);
    Py_CLEAR(r->cb_ctx);
    Py_CLEAR(r->more);
    Py_CLEAR(r->cancel_msg);
    return 0;
}

void request_dealloc(PyObject* self) {
    request_obj* r = as_request(self);
    PyObject_GC_UnTrack(self);
    request_clear(self);
    request_drop_native(r);
    r->eng.~shared_ptr();
    PyObject_GC_Del(self);
}

PyMethodDef request_methods[] = {
    {"done", request_done, METH_NOARGS, nullptr},
    {"cancelled", request_is_cancelled, METH_NOARGS, nullptr},
    {"result", request_result, METH_NOARGS, nullptr},
    {"exception", request_exception, METH_NOARGS, nullptr},
    {"get_loop", request_get_loop, METH_NOARGS, nullptr},
    {"add_done_callback", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(request_add_done_callback)),
     METH_FASTCALL | METH_KEYWORDS, nullptr},
    {"remove_done_callback", request_remove_done_callback, METH_O, nullptr},
    {"cancel", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(request_cancel)), METH_FASTCALL | METH_KEYWORDS,
     "Cancel the request (the native one too)."},
    {"send", request_send_method, METH_O, "The coroutine protocol: as a coroutine awaiting this request."},
    {"throw", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(request_throw)), METH_FASTCALL,
     "The coroutine protocol: cancels a pending request, then raises the exception."},
    {"close", request_close, METH_NOARGS, "The coroutine protocol: cancels a pending request."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef request_getset[] = {
    {"_asyncio_future_blocking", request_get_blocking, request_set_blocking, nullptr, nullptr},
    {"_loop", request_get_loop_attr, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyAsyncMethods request_async = {request_self, nullptr, nullptr, request_send};

PyTypeObject request_type = [] {
    PyTypeObject t{PyVarObject_HEAD_INIT(nullptr, 0)};
    t.tp_name = "cqlpp._cqlpp.Request";
    t.tp_basicsize = sizeof(request_obj);
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc = "A request in flight, awaited as an asyncio Future is.";
    t.tp_dealloc = request_dealloc;
    t.tp_traverse = request_traverse;
    t.tp_clear = request_clear;
    t.tp_as_async = &request_async;
    t.tp_iter = request_self;
    t.tp_iternext = request_iternext;
    t.tp_methods = request_methods;
    t.tp_getset = request_getset;
    return t;
}();

// The work one drain does before leaving the rest to another loop iteration.
// The drain runs the awaiting tasks' next steps itself (see request_obj), so
// the budget bounds those too.
constexpr std::chrono::microseconds drain_budget{500};
constexpr std::size_t drain_max_jobs = 16;

// A ResultSet whose rows are still a PendingRows (a large page).
bool is_partial(PyObject* v);
// Converts more of a partial value's rows for about `budget`: 1 done (the
// rows are in place), 0 not yet, -1 failed (exception set).
int continue_partial(PyObject* v, std::chrono::nanoseconds budget);

// Least time a drain gives the conversion of a large page's rows
// (_cqlpp._set_convert_slice: the tests make it a whole page).
std::chrono::nanoseconds convert_slice{std::chrono::microseconds{100}};

// Resolves a request with what its job holds (`v` or `exc`, stolen; neither:
// the error set). False: see request_fire.
bool resolve_job(PyObject* req, PyObject* v, PyObject* exc) {
    if (!v && !exc) {  // converting failed: deliver that error
        PyObject *t, *val, *tb;
        PyErr_Fetch(&t, &val, &tb);
        PyErr_NormalizeException(&t, &val, &tb);
        Py_XDECREF(t);
        Py_XDECREF(tb);
        exc = val;
    }
    return request_resolve(as_request(req), v, exc, true);
}

// Resolves the finished jobs of this loop, oldest first, for up to
// drain_budget or drain_max_jobs (at least one job); the loop is woken again
// for the rest. A result with a large page (rows not converted within the
// job's eager budget) waits on b.converting: each drain converts some more of
// it (what is left of its budget, at least convert_slice), and resolves its
// request once the rows are all there, so that an awaited result is always
// whole and no one callback holds the loop for a page. False with
// KeyboardInterrupt/SystemExit set (raised by a woken task: it propagates, as
// from a Handle). GIL held, called by the loop as a callback of its own
// (never inside a task).
bool drain(bridge_core& b, std::size_t& done) {
    std::uint64_t n;
    [[maybe_unused]] auto r = ::read(b.efd, &n, sizeof n);
    done = 0;
    job* list = std::exchange(b.deferred, nullptr);
    if (job* fresh = b.take_all()) {
        job** tail = &list;
        while (*tail) tail = &(*tail)->next;
        *tail = fresh;
    }
    const auto until = std::chrono::steady_clock::now() + drain_budget;
    for (job* j = list; j;) {
        if (done > 0 && (done == drain_max_jobs || std::chrono::steady_clock::now() >= until)) {
            b.deferred = j;
            b.wake();
            break;
        }
        job* next = j->next;
        bool ok = true;
        // The job lets go of its request before the awaiting task resumes (in resolve).
        PyObject* req = take_request_ref(j->req);
        if (!req) {
            j->run_callback();
        } else if (as_request(req)->state == req_pending) {  // else cancelled: nothing to deliver
            PyObject* exc = nullptr;
            PyObject* v = nullptr;
            try {
                v = j->value(&exc);
            } catch (py::error_already_set& e) {
                e.restore();
            } catch (const std::exception& e) {
                PyErr_SetString(PyExc_RuntimeError, e.what());
            }
            if (v && is_partial(v)) {  // the rest of its rows: below, and in the next drains
                j->req = req;
                j->partial = v;
                j->next = nullptr;
                job** tail = &b.converting;
                while (*tail) tail = &(*tail)->next;
                *tail = j;
                j = next;
                ++done;
                continue;
            }
            ok = resolve_job(req, v, exc);
        }
        Py_XDECREF(req);
        j->clear_python();
        j->release();
        j = next;
        ++done;
        if (!ok) {
            if (j) b.deferred = j;
            if (j || b.converting) b.wake();
            return false;
        }
    }
    // Large pages, one at a time, oldest first.
    bool first = true;
    while (job* j = b.converting) {
        const auto now = std::chrono::steady_clock::now();
        if (!first && now >= until) break;
        first = false;
        PyObject* req = j->req;
        int st = 1;
        if (as_request(req)->state == req_pending) {  // else cancelled meanwhile: dropped
            st = continue_partial(j->partial, std::max<std::chrono::nanoseconds>(until - now, convert_slice));
            if (st == 0) break;
        }
        b.converting = j->next;
        j->req = nullptr;
        bool ok = true;
        if (as_request(req)->state == req_pending) {
            PyObject* v = std::exchange(j->partial, nullptr);
            if (st < 0) Py_CLEAR(v);
            ok = resolve_job(req, v, nullptr);
        }
        Py_DECREF(req);
        j->clear_python();
        j->release();
        if (!ok) {
            if (b.converting) b.wake();
            return false;
        }
    }
    if (b.converting) b.wake();
    return true;
}

// ---- the engine: the I/O thread -------------------------------------------------------

struct engine {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread;
    std::atomic<job*> submitted{nullptr};
    std::atomic<bool> stopped{false};

    engine() {
        thread = std::thread([this] { io.run(); });
    }
    ~engine() { stop(); }

    // Any thread: start the job on the I/O thread (one post per batch).
    void submit(job* j) {
        j->retain();
        job* old = submitted.load(std::memory_order_relaxed);
        do {
            j->next = old;
        } while (!submitted.compare_exchange_weak(old, j, std::memory_order_release, std::memory_order_relaxed));
        if (!old) asio::post(io, [this] { start_submitted(); });
    }
    // Jobs already retained, linked newest first through next (newest .. oldest).
    void submit_chain(job* newest, job* oldest) {
        job* old = submitted.load(std::memory_order_relaxed);
        do {
            oldest->next = old;
        } while (!submitted.compare_exchange_weak(old, newest, std::memory_order_release, std::memory_order_relaxed));
        if (!old) asio::post(io, [this] { start_submitted(); });
    }
    void start_submitted() {
        job* list = submitted.exchange(nullptr, std::memory_order_acquire);
        job* rev = nullptr;
        while (list) {
            job* n = list->next;
            list->next = rev;
            rev = list;
            list = n;
        }
        while (rev) {
            job* n = rev->next;
            rev->next = nullptr;
            // The job's in-flight reference (taken by submit) moves to its handler.
            if (rev->cancelled_early) rev->complete();
            else rev->start(*this);
            rev = n;
        }
    }
    // GIL released by the caller.
    void stop() {
        if (stopped.exchange(true)) return;
        guard.reset();
        io.stop();
        if (!thread.joinable()) return;
        // The I/O thread may need the GIL (dropping a closed loop's jobs): never join holding it.
        if (!finalizing() && PyGILState_Check()) {
            Py_BEGIN_ALLOW_THREADS thread.join();
            Py_END_ALLOW_THREADS
        } else {
            thread.join();
        }
    }
};

// Cancels `j` on the I/O thread of `e`, unless it has finished; a job not
// started yet (a request cancelled in the loop iteration that made it, still
// queued for the flush) never starts.
void post_cancel(const std::shared_ptr<engine>& e, job* j) {
    if (e->stopped.load()) return;
    j->retain();
    asio::post(e->io, [jr = job_ref(j)] {
        if (jr->finished) return;
        jr->cancelled_early = true;  // read by start_submitted if it has not started yet
        jr->cancel.emit(asio::cancellation_type::terminal);
    });
}

// ---- batched submission (see bridge_core::pending) ---------------------------------

// GIL held, loop thread (possibly inside a task: the callbacks are scheduled):
// fails the request of a job that cannot start.
void fail_unstarted(job* j, const char* msg) {
    PyObject* exc = PyObject_CallFunction(PyExc_RuntimeError, "s", msg);
    if (exc && j->req) {
        if (!request_resolve(as_request(j->req), nullptr, exc, false)) PyErr_WriteUnraisable(j->req);
    } else {
        if (!exc) PyErr_Clear();
        Py_XDECREF(exc);
    }
    j->clear_python();
}

// GIL held, loop thread: hands every queued job to its engine, one chain per
// run of jobs for the same engine (one wake-up of its thread each).
void flush_pending(bridge_core& b) {
    job* list = std::exchange(b.pending, nullptr);
    job* fifo = nullptr;  // oldest first
    while (list) {
        job* n = list->next;
        list->next = fifo;
        fifo = list;
        list = n;
    }
    while (fifo) {
        std::shared_ptr<engine> e = fifo->target.lock();
        job* newest = nullptr;
        job* oldest = nullptr;
        while (fifo) {
            std::shared_ptr<engine> je = fifo->target.lock();
            if (je != e) break;
            job* n = fifo->next;
            fifo->target.reset();
            if (!e || e->stopped.load()) {
                fail_unstarted(fifo, "the cluster is shut down");
                fifo->release();  // the queue's reference
            } else {
                // The queue's reference becomes the in-flight one.
                fifo->next = newest;
                newest = fifo;
                if (!oldest) oldest = fifo;
            }
            fifo = n;
        }
        if (newest) e->submit_chain(newest, oldest);
    }
}

// GIL held, loop thread: submit now, after the requests queued before it (a
// session's close must not overtake the requests made before it).
void submit_in_order(bridge_core& b, engine& e, job* j) {
    if (b.pending) flush_pending(b);
    e.submit(j);
}

// GIL held, loop thread: submit now, or queue for the flush the loop runs next.
void submit_batched(bridge_core& b, const std::shared_ptr<engine>& e, job* j) {
    if (!b.call_soon || b.closed.load(std::memory_order_relaxed)) return e->submit(j);
    if (!b.pending && !b.draining) {
        PyObject* r = PyObject_CallOneArg(b.call_soon, b.flush_cb);
        if (!r) {  // the loop is closed: no batching
            PyErr_Clear();
            return e->submit(j);
        }
        Py_DECREF(r);
    }
    j->retain();
    j->target = e;
    j->next = b.pending;
    b.pending = j;
}

// ---- ResultSet: made by the drain itself ----------------------------------------------

// The fields of cqlpp.ResultSet (a Python subclass adding the methods): the
// drain fills them in place of a 5-tuple that Session.execute unpacked into a
// Python __init__ (ten attribute stores and a frame per request).
struct result_obj {
    PyObject_HEAD
    PyObject* f[10];
};
constexpr int rs_session = 0, rs_statement = 1, rs_parameters = 2, rs_opts = 3, rs_factory = 4, rs_rows = 5,
              rs_paging_state = 6, rs_names = 7, rs_coordinator = 8, rs_warnings = 9;

PyObject* result_base_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
    if ((kwargs && PyDict_GET_SIZE(kwargs) > 0) || PyTuple_GET_SIZE(args) != 10) {
        PyErr_SetString(PyExc_TypeError,
                        "ResultSet(session, statement, parameters, opts, factory, rows, paging_state, column_names, "
                        "coordinator, warnings)");
        return nullptr;
    }
    auto* r = reinterpret_cast<result_obj*>(type->tp_alloc(type, 0));
    if (!r) return nullptr;
    for (int i = 0; i < 10; ++i) r->f[i] = Py_NewRef(PyTuple_GET_ITEM(args, i));
    return reinterpret_cast<PyObject*>(r);
}

int result_base_traverse(PyObject* self, visitproc visit, void* arg) {
    for (PyObject* o : reinterpret_cast<result_obj*>(self)->f) Py_VISIT(o);
    return 0;
}

int result_base_clear(PyObject* self) {
    for (PyObject*& o : reinterpret_cast<result_obj*>(self)->f) Py_CLEAR(o);
    return 0;
}

void result_base_dealloc(PyObject* self) {
    PyObject_GC_UnTrack(self);
    result_base_clear(self);
    Py_TYPE(self)->tp_free(self);
}

PyMemberDef result_base_members[] = {
    {"_session", T_OBJECT, offsetof(result_obj, f) + rs_session * sizeof(PyObject*), 0, nullptr},
    {"_statement", T_OBJECT, offsetof(result_obj, f) + rs_statement * sizeof(PyObject*), 0, nullptr},
    {"_parameters", T_OBJECT, offsetof(result_obj, f) + rs_parameters * sizeof(PyObject*), 0, nullptr},
    {"_opts", T_OBJECT, offsetof(result_obj, f) + rs_opts * sizeof(PyObject*), 0, nullptr},
    {"_factory", T_OBJECT, offsetof(result_obj, f) + rs_factory * sizeof(PyObject*), 0, nullptr},
    {"current_rows", T_OBJECT, offsetof(result_obj, f) + rs_rows * sizeof(PyObject*), 0, "This page's rows."},
    {"paging_state", T_OBJECT, offsetof(result_obj, f) + rs_paging_state * sizeof(PyObject*), 0,
     "The next page's paging state (bytes), or None on the last page."},
    {"column_names", T_OBJECT, offsetof(result_obj, f) + rs_names * sizeof(PyObject*), 0, nullptr},
    {"coordinator", T_OBJECT, offsetof(result_obj, f) + rs_coordinator * sizeof(PyObject*), 0, nullptr},
    {"warnings", T_OBJECT, offsetof(result_obj, f) + rs_warnings * sizeof(PyObject*), 0, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyTypeObject result_base_type = [] {
    PyTypeObject t{PyVarObject_HEAD_INIT(nullptr, 0)};
    t.tp_name = "cqlpp._cqlpp.ResultBase";
    t.tp_basicsize = sizeof(result_obj);
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE;
    t.tp_doc = "The fields of cqlpp.ResultSet.";
    t.tp_new = result_base_new;
    t.tp_dealloc = result_base_dealloc;
    t.tp_traverse = result_base_traverse;
    t.tp_clear = result_base_clear;
    t.tp_members = result_base_members;
    return t;
}();

// What Session.execute gives its ResultSet besides the result (strong
// references, GIL held; session null: the result is the 5-tuple instead).
struct result_context {
    PyObject* session = nullptr;
    PyObject* statement = nullptr;
    PyObject* parameters = nullptr;
    PyObject* opts = nullptr;
    void clear() {
        Py_CLEAR(session);
        Py_CLEAR(statement);
        Py_CLEAR(parameters);
        Py_CLEAR(opts);
    }
    void release_from_any() {
        release_from_any_thread(session);
        release_from_any_thread(statement);
        release_from_any_thread(parameters);
        release_from_any_thread(opts);
    }
};

// ---- conversion of results -------------------------------------------------------

std::string err_category(const std::error_code& ec) { return ec.category().name(); }

PyObject* consistency_name(proto::consistency c) {
    auto s = proto::to_string(c);
    return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

// The exception for a failed request (new reference), built by cqlpp._errors.
PyObject* make_exception(const std::error_code& ec, const drv::diagnostics& d) {
    try {
        py::dict info;
        if (d.server_error) {
            const auto& se = *d.server_error;
            info["server_message"] = se.message;
            std::visit(
                [&](const auto& x) {
                    using T = std::decay_t<decltype(x)>;
                    if constexpr (std::is_same_v<T, proto::unavailable_info>) {
                        info["consistency"] = py::reinterpret_steal<py::object>(consistency_name(x.cl));
                        info["required_replicas"] = x.required;
                        info["alive_replicas"] = x.alive;
                    } else if constexpr (std::is_same_v<T, proto::write_timeout_info>) {
                        info["consistency"] = py::reinterpret_steal<py::object>(consistency_name(x.cl));
                        info["received_responses"] = x.received;
                        info["required_responses"] = x.block_for;
                        info["write_type"] = x.write_type;
                    } else if constexpr (std::is_same_v<T, proto::read_timeout_info>) {
                        info["consistency"] = py::reinterpret_steal<py::object>(consistency_name(x.cl));
                        info["received_responses"] = x.received;
                        info["required_responses"] = x.block_for;
                        info["data_retrieved"] = x.data_present;
                    } else if constexpr (std::is_same_v<T, proto::read_failure_info>) {
                        info["consistency"] = py::reinterpret_steal<py::object>(consistency_name(x.cl));
                        info["received_responses"] = x.received;
                        info["required_responses"] = x.block_for;
                        info["failures"] = x.num_failures;
                        info["data_retrieved"] = x.data_present;
                    } else if constexpr (std::is_same_v<T, proto::write_failure_info>) {
                        info["consistency"] = py::reinterpret_steal<py::object>(consistency_name(x.cl));
                        info["received_responses"] = x.received;
                        info["required_responses"] = x.block_for;
                        info["failures"] = x.num_failures;
                        info["write_type"] = x.write_type;
                    } else if constexpr (std::is_same_v<T, proto::function_failure_info>) {
                        info["keyspace"] = x.keyspace;
                        info["function"] = x.function;
                        info["arg_types"] = x.arg_types;
                    } else if constexpr (std::is_same_v<T, proto::already_exists_info>) {
                        info["keyspace"] = x.keyspace;
                        info["table"] = x.table;
                    } else if constexpr (std::is_same_v<T, proto::cas_write_unknown_info>) {
                        info["consistency"] = py::reinterpret_steal<py::object>(consistency_name(x.cl));
                        info["received_responses"] = x.received;
                        info["required_responses"] = x.block_for;
                    }
                },
                se.details);
            info["server_code"] = static_cast<int>(se.code);
        }
        py::list attempts;
        for (const auto& a : d.attempts) attempts.append(py::make_tuple(a.host, a.ec.message(), a.detail));
        info["attempts"] = attempts;
        std::string msg = d.message.empty() ? ec.message() : d.message;
        // A server error's value carries a marker bit (never 0): hand Python the wire code.
        const auto server_code = proto::server_errc_of(ec);
        const int code = server_code ? static_cast<int>(*server_code) : ec.value();
        py::object e = py::reinterpret_borrow<py::object>(hk().make_error)(err_category(ec), code, msg, info);
        return e.release().ptr();
    } catch (py::error_already_set& e) {
        e.restore();
        return nullptr;
    }
}

// What every result of one prepared statement shares, made into Python
// objects once (not per result): the column names, and the named tuple class.
// Touched under the GIL only. Keyed by the driver's column_set, which the
// prepared statement's results share (a new one replaces it: ALTER TABLE).
struct result_shape {
    std::shared_ptr<const drv::column_set> cols;
    PyObject* names = nullptr;  // tuple of str
    PyObject* cls = nullptr;    // named tuple class, made on first use
    result_shape() = default;
    result_shape(const result_shape&) = delete;
    result_shape& operator=(const result_shape&) = delete;
    ~result_shape() { reset(); }
    void reset() {
        if (finalizing()) {
            names = cls = nullptr;
            return;
        }
        PyGILState_STATE g = PyGILState_Ensure();
        Py_CLEAR(names);
        Py_CLEAR(cls);
        PyGILState_Release(g);
    }
};

// A tuple of the column names (new reference).
PyObject* column_names(const drv::column_set* cols, std::size_t width) {
    PyObject* names = PyTuple_New(static_cast<Py_ssize_t>(width));
    if (!names) return nullptr;
    for (std::size_t c = 0; c < width; ++c) {
        const auto& n = (*cols)[c].name;
        PyObject* s = PyUnicode_FromStringAndSize(n.data(), static_cast<Py_ssize_t>(n.size()));
        if (!s) {
            Py_DECREF(names);
            return nullptr;
        }
        PyTuple_SET_ITEM(names, static_cast<Py_ssize_t>(c), s);
    }
    return names;
}

// The rows of a page as Python objects, converted a slice at a time: a large
// page is turned into rows over several loop callbacks (cqlpp's coroutines
// yield to the loop between slices, see PendingRows), so that no one callback
// holds the loop for a whole page. GIL held for every member.
class row_builder {
public:
    row_builder() = default;
    row_builder(const row_builder&) = delete;
    row_builder& operator=(const row_builder&) = delete;
    ~row_builder() {
        for (PyObject* o : items_) Py_XDECREF(o);
        Py_XDECREF(reinterpret_cast<PyObject*>(cls_));
        Py_XDECREF(names_);
        Py_XDECREF(factory_);
    }

    // False with an exception set. `shape` (may be null) caches the names
    // and the row class across the results of a prepared statement.
    bool init(drv::rows_view rows, PyObject* factory, result_shape* shape) {
        rows_ = std::move(rows);
        const auto* cols = rows_.columns();
        const std::size_t width = rows_.column_count();
        if (width > 0 && !cols) {
            PyErr_SetString(PyExc_RuntimeError, "result page without column metadata");
            return false;
        }
        const bool cached = shape && shape->names && cols && shape->cols.get() == cols;
        if (cached) {
            Py_INCREF(shape->names);
            names_ = shape->names;
        } else {
            names_ = column_names(cols, width);
            if (!names_) return false;
            if (shape && cols) {
                Py_CLEAR(shape->cls);
                Py_XSETREF(shape->names, Py_NewRef(names_));
                shape->cols = rows_.shared_columns();
            }
        }
        const auto& h = hk();
        as_dict_ = factory == h.dict_factory;
        const bool named = factory == nullptr || factory == Py_None || factory == h.named_tuple_factory;
        if (named) {
            if (shape && shape->cls && shape->names == names_) {
                Py_INCREF(shape->cls);
                cls_ = reinterpret_cast<PyTypeObject*>(shape->cls);
            } else {
                PyObject* c = PyObject_CallOneArg(h.row_class, names_);
                if (!c) return false;
                cls_ = reinterpret_cast<PyTypeObject*>(c);
                if (shape && shape->names == names_) shape->cls = Py_NewRef(c);
            }
        } else if (!as_dict_ && factory != h.tuple_factory) {  // a user factory: called on tuples at the end
            Py_INCREF(factory);
            factory_ = factory;
        }
        items_.reserve(rows_.size());
        return true;
    }

    std::size_t size() const noexcept { return rows_.size(); }
    bool complete() const noexcept { return items_.size() == rows_.size(); }
    PyObject* names() const noexcept { return names_; }  // borrowed

    // Converts rows until all are done or `budget` has passed (checked every
    // ~256 cells; at least one slice is converted). False with an exception set.
    bool fill(std::chrono::nanoseconds budget) {
        const std::size_t slice = std::max<std::size_t>(1, 256 / std::max<std::size_t>(1, rows_.column_count()));
        const auto until = std::chrono::steady_clock::now() + budget;
        // Every row allocated counts towards the collector's next young
        // collection (one per 700), and each of those moves whatever the
        // application has in flight a generation up, until a full collection
        // of the whole heap (several ms) runs: a 5,000-row page made seven.
        // Rows are made under the GIL with no other Python code running, and
        // one made of plain values is untracked at once (convert_row): so the
        // collector waits for the end of this slice, which costs it at most one
        // young collection instead of one per 700 rows.
        const int was_enabled = PyGC_Disable();
        bool ok = true;
        while (ok && !complete()) {
            const std::size_t end = std::min(rows_.size(), items_.size() + slice);
            for (std::size_t i = items_.size(); i < end; ++i) {
                PyObject* r = convert_row(rows_[i]);
                if (!r) {
                    ok = false;
                    break;
                }
                items_.push_back(r);
            }
            if (std::chrono::steady_clock::now() >= until) break;
        }
        if (was_enabled) PyGC_Enable();
        return ok;
    }

    // complete(): the list (new reference), through the user factory if any;
    // null with an exception set.
    PyObject* finish() {
        PyObject* list = PyList_New(static_cast<Py_ssize_t>(items_.size()));
        if (!list) return nullptr;
        for (std::size_t i = 0; i < items_.size(); ++i) PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), items_[i]);
        items_.clear();
        if (!factory_) return list;
        PyObject* out = PyObject_CallFunctionObjArgs(factory_, names_, list, nullptr);  // DataStax signature
        Py_DECREF(list);
        return out;
    }

private:
    PyObject* convert_row(const drv::row_view& row) {
        const auto* cols = rows_.columns();
        const auto width = static_cast<Py_ssize_t>(rows_.column_count());
        PyObject* r;
        if (as_dict_) r = PyDict_New();
        else if (cls_) r = cls_->tp_alloc(cls_, width);  // named tuples are tuple subclasses
        else r = PyTuple_New(width);
        bool holds_tracked = false;
        for (Py_ssize_t c = 0; r && c < width; ++c) {
            const auto& cell = row.raw(static_cast<std::size_t>(c));
            PyObject* v = decode((*cols)[static_cast<std::size_t>(c)].type, cell.is_set() ? cell.bytes.data() : nullptr,
                                 cell.is_set() ? cell.bytes.size() : 0, ctx_);
            if (!v) {
                Py_CLEAR(r);
                break;
            }
            holds_tracked = holds_tracked || PyObject_GC_IsTracked(v);
            if (as_dict_) {
                const int rc = PyDict_SetItem(r, PyTuple_GET_ITEM(names_, c), v);
                Py_DECREF(v);
                if (rc < 0) Py_CLEAR(r);
            } else {
                PyTuple_SET_ITEM(r, c, v);
            }
        }
        // A row of values the collector does not track cannot be part of a cycle
        // (CPython untracks such tuples and dicts itself, but only once a
        // collection has traversed them): untracked now, a large page costs the
        // collections that run while it is converted and held nothing.
        if (r && !holds_tracked) PyObject_GC_UnTrack(r);
        return r;
    }

    drv::rows_view rows_;  // shares the page: its bytes live as long as this does
    PyObject* names_ = nullptr;
    PyTypeObject* cls_ = nullptr;    // named tuple class, or null
    PyObject* factory_ = nullptr;    // a user factory, or null
    bool as_dict_ = false;
    std::vector<PyObject*> items_;   // converted rows; the list is only made (and seen) once complete
    decode_ctx ctx_;
};

// What the loop converts of a page in the drain that resolves its request;
// the rest waits for PendingRows.convert, called by the awaiting coroutine.
constexpr std::chrono::microseconds eager_budget{100};

// A page not yet fully converted (exposed to Python as PendingRows).
struct pending_rows {
    std::unique_ptr<row_builder> b;
    // The list when complete (then this object is spent), else None.
    py::object convert(double budget_s) {
        if (!b) throw std::runtime_error("PendingRows already converted");
        if (!b->fill(std::chrono::nanoseconds(static_cast<std::int64_t>(budget_s * 1e9)))) throw py::error_already_set();
        if (!b->complete()) return py::none();
        PyObject* out = b->finish();
        b.reset();
        if (!out) throw py::error_already_set();
        return py::reinterpret_steal<py::object>(out);
    }
    std::size_t size() const { return b ? b->size() : 0; }
};

bool is_partial(PyObject* v) {
    static const py::detail::type_info* ti = py::detail::get_type_info(typeid(pending_rows));
    if (!PyObject_TypeCheck(v, &result_base_type)) return false;
    PyObject* rows = reinterpret_cast<result_obj*>(v)->f[rs_rows];
    return ti && rows && Py_TYPE(rows) == ti->type;
}

int continue_partial(PyObject* v, std::chrono::nanoseconds budget) {
    PyObject*& rows = reinterpret_cast<result_obj*>(v)->f[rs_rows];
    try {
        auto& pr = py::handle(rows).cast<pending_rows&>();
        py::object out = pr.convert(std::chrono::duration<double>(budget).count());
        if (out.is_none()) return 0;
        Py_SETREF(rows, out.release().ptr());
        return 1;
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    return -1;
}

// Rows of a page (new reference): the list shaped by the row factory when it
// converts within eager_budget, else a PendingRows holding the rest.
// *names_out (optional) receives the column names tuple (new reference).
PyObject* rows_to_python(const drv::rows_view& rows, PyObject* factory, result_shape* shape = nullptr,
                         PyObject** names_out = nullptr) {
    auto b = std::make_unique<row_builder>();
    if (!b->init(rows, factory, shape) || !b->fill(eager_budget)) return nullptr;
    if (names_out) *names_out = Py_NewRef(b->names());
    if (b->complete()) {
        PyObject* out = b->finish();
        if (!out && names_out) Py_CLEAR(*names_out);
        return out;
    }
    try {
        return py::cast(pending_rows{std::move(b)}).release().ptr();
    } catch (py::error_already_set& e) {
        if (names_out) Py_CLEAR(*names_out);
        e.restore();
        return nullptr;
    }
}

// The coordinator's address as str: a request's result names one of a few
// hosts, so the last ones' objects are reused. GIL held.
PyObject* coordinator_str(const std::string& host) {
    struct entry {
        std::string host;
        PyObject* obj = nullptr;
    };
    static entry cache[8];
    static unsigned next = 0;
    for (auto& e : cache)
        if (e.obj && e.host == host) return Py_NewRef(e.obj);
    PyObject* o = PyUnicode_FromStringAndSize(host.data(), static_cast<Py_ssize_t>(host.size()));
    if (!o) return nullptr;
    auto& e = cache[next++ % 8];
    e.host = host;
    Py_XSETREF(e.obj, Py_NewRef(o));
    return o;
}

PyObject* bytes_or_none(std::span<const std::uint8_t> b) {
    if (b.empty()) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()), static_cast<Py_ssize_t>(b.size()));
}

// (rows, paging_state, column_names, coordinator, warnings or None) for a
// successful result (new reference); a ResultSet instead when `ctx` has a session.
PyObject* result_tuple(const drv::result& r, PyObject* factory, result_shape* shape, const result_context* ctx) {
    PyObject* names = nullptr;
    PyObject* rows = rows_to_python(r.rows(), factory, shape, &names);
    if (!rows) return nullptr;
    PyObject* warnings = Py_None;
    if (!r.warnings().empty()) {
        warnings = PyList_New(0);
        for (auto s : r.warnings()) {
            PyObject* w = warnings ? PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size())) : nullptr;
            if (!w || PyList_Append(warnings, w) < 0) Py_CLEAR(warnings);
            Py_XDECREF(w);
        }
    } else {
        Py_INCREF(warnings);
    }
    PyObject* coord = coordinator_str(r.coordinator());
    PyObject* ps = bytes_or_none(r.paging_state());
    if (!warnings || !coord || !ps) {
        Py_DECREF(rows);
        Py_DECREF(names);
        Py_XDECREF(warnings);
        Py_XDECREF(coord);
        Py_XDECREF(ps);
        return nullptr;
    }
    PyTypeObject* rs_type = ctx && ctx->session ? hk().result_set : nullptr;
    PyObject* t = rs_type ? rs_type->tp_alloc(rs_type, 0) : PyTuple_New(5);
    if (!t) {
        Py_DECREF(rows);
        Py_DECREF(names);
        Py_DECREF(warnings);
        Py_DECREF(coord);
        Py_DECREF(ps);
        return nullptr;
    }
    if (rs_type) {
        PyObject** f = reinterpret_cast<result_obj*>(t)->f;
        f[rs_session] = Py_NewRef(ctx->session);
        f[rs_statement] = Py_NewRef(ctx->statement);
        f[rs_parameters] = Py_NewRef(ctx->parameters);
        f[rs_opts] = Py_NewRef(ctx->opts);
        f[rs_factory] = Py_NewRef(factory ? factory : Py_None);
        f[rs_rows] = rows;
        f[rs_paging_state] = ps;
        f[rs_names] = names;
        f[rs_coordinator] = coord;
        f[rs_warnings] = warnings;
        return t;
    }
    PyTuple_SET_ITEM(t, 0, rows);
    PyTuple_SET_ITEM(t, 1, ps);
    PyTuple_SET_ITEM(t, 2, names);
    PyTuple_SET_ITEM(t, 3, coord);
    PyTuple_SET_ITEM(t, 4, warnings);
    return t;
}

// ---- sessions, statements -----------------------------------------------------------

struct prepared_handle {
    drv::prepared_statement ps;
    std::shared_ptr<result_shape> shape = std::make_shared<result_shape>();
    py::tuple marker_names() const {
        py::list l;
        for (const auto& m : ps.markers()) l.append(m.name);
        return py::tuple(l);
    }
    py::tuple marker_types() const {
        py::list l;
        for (const auto& m : ps.markers()) l.append(type_name(m.type));
        return py::tuple(l);
    }
    py::object result_columns() const {
        auto c = ps.result_columns();
        if (!c) return py::none();
        py::list l;
        for (std::size_t i = 0; i < c->size(); ++i) l.append(py::make_tuple((*c)[i].name, type_name((*c)[i].type)));
        return py::object(l);
    }
};

struct session_handle {
    std::shared_ptr<engine> eng;
    std::shared_ptr<drv::session> s;
    ~session_handle() {
        // The session must go on its own thread while that thread runs.
        if (s && eng && !eng->stopped.load()) asio::post(eng->io, [s = std::move(s)]() mutable { s.reset(); });
    }
};

// Statement options from Python: (consistency, serial_consistency, page_size,
// paging_state, timeout_s, idempotent, timestamp_us) or None.
template <class Options>
void apply_options(Options& o, const py::object& opts) {
    if (opts.is_none()) return;
    auto t = opts.cast<py::tuple>();
    if (t.size() != 7) throw py::value_error("options: 7 fields expected");
    if (!t[0].is_none()) o.consistency = static_cast<proto::consistency>(t[0].cast<int>());
    if (!t[1].is_none()) o.serial_consistency = static_cast<proto::consistency>(t[1].cast<int>());
    if (!t[2].is_none()) o.page_size = t[2].cast<std::int32_t>();
    if (!t[3].is_none()) {
        auto b = t[3].cast<py::bytes>();
        std::string_view sv = b;
        o.paging_state.assign(sv.begin(), sv.end());
    }
    if (!t[4].is_none()) {
        const double secs = t[4].cast<double>();
        if (!(secs > 0)) throw py::value_error("timeout must be positive");
        o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(secs * 1000.0 + 0.5));
    }
    if (!t[5].is_none()) o.idempotent = t[5].cast<bool>();
    if (!t[6].is_none()) o.timestamp = t[6].cast<std::int64_t>();
}

// Binds Python values (a sequence, or a mapping by marker name) to a bound statement.
void bind_values(drv::bound_statement& b, const drv::prepared_statement& ps, PyObject* values) {
    const auto markers = ps.markers();
    if (values == Py_None) {
        if (!markers.empty())
            throw py::value_error("statement has " + std::to_string(markers.size()) + " bind markers, no values given");
        return;
    }
    thread_local proto::byte_buffer scratch;
    auto bind_one = [&](std::size_t i, PyObject* v) {
        if (v == Py_None) {
            b.set(i, std::nullopt);
        } else if (v == types().unset) {
            b.set(i, drv::unset);
        } else {
            scratch.clear();
            if (!encode(markers[i].type, v, scratch)) {
                // Name the marker in the message, keep the exception type.
                PyObject *t, *val, *tb;
                PyErr_Fetch(&t, &val, &tb);
                PyErr_NormalizeException(&t, &val, &tb);
                PyObject* s = val ? PyObject_Str(val) : nullptr;
                std::string msg = "bind marker " + std::to_string(i) + " \"" + markers[i].name + "\": " +
                                  (s ? PyUnicode_AsUTF8(s) : "bad value");
                Py_XDECREF(s);
                Py_XDECREF(val);
                Py_XDECREF(tb);
                PyErr_SetString(t ? t : PyExc_TypeError, msg.c_str());
                Py_XDECREF(t);
                throw py::error_already_set();
            }
            b.set(i, raw_value{scratch.data(), scratch.size()});
        }
    };
    if (PyDict_Check(values)) {
        for (std::size_t i = 0; i < markers.size(); ++i) {
            PyObject* v = PyDict_GetItemString(values, markers[i].name.c_str());
            bind_one(i, v ? v : types().unset);  // missing names stay unset (as the DataStax driver does on v4+)
        }
    } else {
        PyObject* seq = PySequence_Fast(values, "parameters must be a sequence or a dict");
        if (!seq) throw py::error_already_set();
        py::object keep = py::reinterpret_steal<py::object>(seq);
        const auto n = static_cast<std::size_t>(PySequence_Fast_GET_SIZE(seq));
        if (n != markers.size())
            throw py::value_error("statement has " + std::to_string(markers.size()) + " bind markers, " +
                                  std::to_string(n) + " values given");
        for (std::size_t i = 0; i < n; ++i) bind_one(i, PySequence_Fast_GET_ITEM(seq, static_cast<Py_ssize_t>(i)));
    }
    if (b.error()) throw py::value_error(b.error_message());
}

// Starts `aw` (an awaitable producing R) on the I/O thread; `done` receives it there.
template <class Job, class Awaitable, class Done>
void spawn(engine& e, Job* j, Awaitable&& aw, Done done) {
    asio::co_spawn(e.io, std::forward<Awaitable>(aw),
                   asio::bind_cancellation_slot(j->cancel.slot(), [j, done](std::exception_ptr ep, auto r) mutable {
                       done(*j, ep, std::move(r));
                       j->complete();
                   }));
}

struct exec_job final : job {
    std::shared_ptr<drv::session> s;
    std::variant<drv::statement, drv::bound_statement, drv::batch> stmt;
    PyObject* factory = nullptr;
    std::shared_ptr<result_shape> shape;  // the prepared statement's, or null
    result_context ctx;                   // set: the value is a ResultSet
    drv::result r;

    ~exec_job() override {
        release_from_any_thread(factory);
        ctx.release_from_any();
    }
    void clear_python() override {
        Py_CLEAR(factory);
        ctx.clear();
        job::clear_python();
    }
    void start(engine&) override {
        // The driver's callback form (no coroutine frame per request, as
        // co_spawn over execute() would make); the statement moves into the
        // request. The job's in-flight reference goes with the handler.
        std::visit(
            [&](auto& st) {
                s->async_execute(std::move(st), asio::bind_cancellation_slot(cancel.slot(), [this](drv::result res) {
                                     r = std::move(res);
                                     complete();
                                 }));
            },
            stmt);
    }
    PyObject* value(PyObject** exc) override {
        if (!r.ok()) {
            *exc = make_exception(r.error(), r.diag());
            return nullptr;
        }
        return result_tuple(r, factory, shape.get(), &ctx);
    }
};

struct prepare_job final : job {
    std::shared_ptr<drv::session> s;
    std::string query, keyspace;
    drv::outcome<drv::prepared_statement> out;
    void start(engine& e) override {
        spawn(e, this, s->prepare(query, keyspace),
              [](job& j, std::exception_ptr, drv::outcome<drv::prepared_statement> o) {
                  static_cast<prepare_job&>(j).out = std::move(o);
              });
    }
    PyObject* value(PyObject** exc) override {
        if (!out.ok()) {
            *exc = make_exception(out.error(), out.diag());
            return nullptr;
        }
        return py::cast(prepared_handle{out.value()}).release().ptr();
    }
};

struct connect_job final : job {
    std::weak_ptr<engine> eng;  // weak: a job may be released on the I/O thread, which must not end the engine
    drv::session_config cfg;
    drv::connect_result out;
    void start(engine& e) override {
        spawn(e, this, drv::session::connect(e.io.get_executor(), cfg),
              [](job& j, std::exception_ptr, drv::connect_result r) { static_cast<connect_job&>(j).out = std::move(r); });
    }
    PyObject* value(PyObject** exc) override {
        if (!out.ok() || !out.value()) {
            *exc = make_exception(out.ok() ? make_error_code(drv::errc::no_contact_point) : out.error(), out.diag());
            return nullptr;
        }
        auto h = std::make_unique<session_handle>();
        h->eng = eng.lock();
        if (!h->eng) {
            PyErr_SetString(PyExc_RuntimeError, "the cluster was shut down while connecting");
            return nullptr;
        }
        h->s = std::move(out.value());
        return py::cast(std::move(h)).release().ptr();
    }
};

struct close_job final : job {
    std::shared_ptr<drv::session> s;
    void start(engine& e) override {
        asio::co_spawn(e.io, s->close(), [this](std::exception_ptr) { complete(); });
    }
    PyObject* value(PyObject**) override { Py_RETURN_NONE; }
};

// A paged stream: one page per job, the driver fetching one page ahead.
struct stream_state {
    std::shared_ptr<drv::session> s;
    std::variant<drv::statement, drv::bound_statement> stmt;
    drv::page_stream ps;
    bool opened = false;
    result_shape shape;  // the pages' names and row class
};

struct page_job final : job {
    std::shared_ptr<stream_state> st;
    PyObject* factory = nullptr;
    drv::result r;
    bool done_flag = false;
    proto::byte_buffer paging_state;

    ~page_job() override { release_from_any_thread(factory); }
    void clear_python() override {
        Py_CLEAR(factory);
        job::clear_python();
    }
    void start(engine& e) override {
        if (!st->opened) {
            st->ps = std::visit([&](auto& x) { return st->s->stream(x); }, st->stmt);
            st->opened = true;
        }
        spawn(e, this, st->ps.next_page(), [](job& j, std::exception_ptr, drv::result r) {
            auto& self = static_cast<page_job&>(j);
            self.r = std::move(r);
            self.done_flag = self.st->ps.done();
            auto p = self.st->ps.paging_state();
            self.paging_state.assign(p.begin(), p.end());
        });
    }
    PyObject* value(PyObject** exc) override {
        if (!r.ok()) {
            *exc = make_exception(r.error(), r.diag());
            return nullptr;
        }
        PyObject* rows = rows_to_python(r.rows(), factory, &st->shape);
        if (!rows) return nullptr;
        PyObject* ps = bytes_or_none(paging_state);
        PyObject* out = Py_BuildValue("(NON)", rows, done_flag ? Py_True : Py_False, ps);
        return out;
    }
};

struct stream_handle {
    std::shared_ptr<engine> eng;
    std::shared_ptr<stream_state> st;
    ~stream_handle() {
        if (st && eng && !eng->stopped.load()) asio::post(eng->io, [st = std::move(st)]() mutable { st.reset(); });
    }
};

// ---- bulk operations ----------------------------------------------------------------

py::dict progress_dict(const cqlpp::bulk::progress& p) {
    py::dict d;
    d["operation"] = p.operation;
    d["ranges_done"] = p.ranges_done;
    d["ranges_total"] = p.ranges_total;
    d["rows"] = p.rows;
    d["bytes"] = p.bytes;
    d["errors"] = p.errors;
    d["retries"] = p.retries;
    d["elapsed_seconds"] = p.elapsed_seconds;
    d["rows_per_second"] = p.rows_per_second;
    d["eta_seconds"] = p.eta_seconds ? py::cast(*p.eta_seconds) : py::none();
    d["final"] = p.final;
    return d;
}

struct bulk_job;
struct progress_job final : job {
    job_ref owner;  // the bulk job, which holds the callback
    cqlpp::bulk::progress p;
    void start(engine&) override {}
    PyObject* value(PyObject**) override { Py_RETURN_NONE; }
    void run_callback() override;
};

struct bulk_job final : job {
    std::shared_ptr<drv::session> s;
    std::string op;
    cqlpp::bulk::operation_options opts;
    cqlpp::bulk::progress_callback cb;
    PyObject* progress = nullptr;
    cqlpp::bulk::operation_result out;

    ~bulk_job() override { release_from_any_thread(progress); }
    void clear_python() override {
        // The callback stays until the last progress report is delivered (they hold this job).
        job::clear_python();
    }
    void start(engine& e) override {
        if (progress) {
            cb = [this](const cqlpp::bulk::progress& p) {
                auto* pj = new progress_job();
                retain();
                pj->owner = job_ref(this);
                pj->bridge = bridge;
                pj->p = p;
                pj->complete();
            };
        }
        auto fn = op == "count" ? &cqlpp::bulk::count
                  : op == "unload" ? &cqlpp::bulk::unload
                  : op == "load"   ? &cqlpp::bulk::load
                                   : &cqlpp::bulk::checksum;
        spawn(e, this, fn(*s, opts, cb), [](job& j, std::exception_ptr ep, cqlpp::bulk::operation_result r) {
            auto& self = static_cast<bulk_job&>(j);
            self.out = std::move(r);
            if (ep && !self.out.ec) self.out.message = "bulk operation failed with an internal exception";
        });
    }
    PyObject* value(PyObject** exc) override {
        if (!out.ok()) {
            drv::diagnostics d;
            d.message = out.message;
            *exc = make_exception(out.ec, d);
            return nullptr;
        }
        py::dict d;
        d["summary"] = py::module_::import("json").attr("loads")(out.summary.to_json());
        d["rows"] = out.summary.rows;
        d["rows_this_run"] = out.rows_this_run;
        d["ranges_resumed"] = out.ranges_resumed;
        d["ranges_planned"] = out.ranges_planned;
        d["checksum"] = py::make_tuple(out.summary.checksum.sum, out.summary.checksum.xor_all, out.summary.checksum.rows);
        py::dict per_host;
        for (const auto& [h, n] : out.rows_per_host) per_host[py::str(h)] = n;
        d["rows_per_host"] = per_host;
        d["message"] = out.message;
        return d.release().ptr();
    }
};

void progress_job::run_callback() {
    auto* b = static_cast<bulk_job*>(owner.j);
    if (!b->progress) return;
    try {
        py::reinterpret_borrow<py::object>(b->progress)(progress_dict(p));
    } catch (py::error_already_set& e) {
        e.restore();
        PyErr_WriteUnraisable(b->progress);
    }
}

// ---- Python-facing classes -------------------------------------------------------------

struct py_bridge {
    std::shared_ptr<bridge_core> core = std::make_shared<bridge_core>();
    int fd() const { return core->efd; }
    std::size_t drain_now() {
        std::size_t done = 0;
        auto& b = *core;
        b.draining = true;
        const bool ok = drain(b, done);
        b.draining = false;
        // What the woken tasks asked for starts now (see bridge_core::draining).
        if (b.pending) {
            PyObject *t, *v, *tb;
            PyErr_Fetch(&t, &v, &tb);  // keeps a KeyboardInterrupt from drain
            flush_pending(b);
            PyErr_Restore(t, v, tb);
        }
        if (!ok) throw py::error_already_set();
        return done;
    }
    void flush() { flush_pending(*core); }
    void set_wake(py::object cb) { core->wake_cb = cb.release().ptr(); }
    // The loop this bridge serves; flush: this bridge's flush (a bound method).
    void set_loop(py::object loop, py::object flush) {
        Py_XSETREF(core->call_soon, py::object(loop.attr("call_soon")).release().ptr());
        Py_XSETREF(core->loop, loop.release().ptr());
        Py_XSETREF(core->flush_cb, flush.release().ptr());
    }
    // The loop is going away: drop what is queued; later completions are dropped on arrival.
    void close() {
        if (core->closed.exchange(true)) return;
        for (job* j = std::exchange(core->pending, nullptr); j;) {
            job* n = j->next;
            j->target.reset();
            j->clear_python();
            j->release();
            j = n;
        }
        Py_CLEAR(core->call_soon);  // breaks bridge -> flush method -> bridge
        Py_CLEAR(core->flush_cb);
        Py_CLEAR(core->loop);
        for (job* j = std::exchange(core->deferred, nullptr); j;) {
            job* n = j->next;
            j->clear_python();
            j->release();
            j = n;
        }
        for (job* j = std::exchange(core->converting, nullptr); j;) {
            job* n = j->next;
            j->clear_python();
            j->release();
            j = n;
        }
        for (job* j = core->take_all(); j;) {
            job* n = j->next;
            j->clear_python();
            j->release();
            j = n;
        }
    }
    ~py_bridge() { close(); }
};

// A job of engine `e` for the loop of `b`, and the request object its caller
// awaits (*out). The job's creation reference is the caller's to hand on
// (submit) or release.
template <class J>
J* make_job(const std::shared_ptr<engine>& e, py_bridge& b, py::object& out) {
    if (e->stopped.load()) throw std::runtime_error("the cluster is shut down");
    if (!b.core->loop) throw std::runtime_error("the event loop of this request is closed");
    auto* j = new J();
    j->bridge = b.core;
    j->req = request_new(b.core->loop, e, j);
    if (!j->req) {
        j->release();
        throw py::error_already_set();
    }
    out = py::reinterpret_borrow<py::object>(j->req);
    return j;
}

struct py_engine {
    std::shared_ptr<engine> e = std::make_shared<engine>();

    void shutdown() {
        py::gil_scoped_release nogil;
        e->stop();
    }
    ~py_engine() {
        if (!e->stopped.load()) {
            py::gil_scoped_release nogil;
            e->stop();
        }
    }

    // A job of this engine for the loop of `b`, and the request object its
    // caller awaits (*out). The job's creation reference is the caller's to
    // hand on (submit) or release.
    template <class J>
    J* new_job(py_bridge& b, py::object& out) {
        return make_job<J>(e, b, out);
    }

    py::object connect(py_bridge& b, py::dict c) {
        drv::session_config cfg;
        cfg.contact_points = c["contact_points"].cast<std::vector<std::string>>();
        cfg.default_port = c["port"].cast<std::uint16_t>();
        if (!c["keyspace"].is_none()) cfg.keyspace = c["keyspace"].cast<std::string>();
        const int pv = c["protocol_version"].is_none() ? 5 : c["protocol_version"].cast<int>();
        if (pv != 4 && pv != 5) throw py::value_error("protocol_version must be 4 or 5");
        cfg.connection.version = pv == 4 ? proto::protocol_version::v4 : proto::protocol_version::v5;
        cfg.connection.allow_version_fallback = c["protocol_version"].is_none();
        cfg.connection.lz4 = c["compression"].cast<bool>();
        if (!c["username"].is_none())
            cfg.connection.auth = cqlpp::transport::credentials{c["username"].cast<std::string>(),
                                                                c["password"].cast<std::string>()};
        if (!c["tls"].is_none()) {
            auto t = c["tls"].cast<py::dict>();
            cqlpp::transport::tls_config tc;
            tc.ca_file = t["ca_file"].cast<std::string>();
            tc.cert_file = t["cert_file"].cast<std::string>();
            tc.key_file = t["key_file"].cast<std::string>();
            tc.verify_hostname = t["check_hostname"].cast<bool>();
            tc.server_name = t["server_name"].cast<std::string>();
            cfg.connection.tls = tc;
        }
        const double ct = c["connect_timeout"].cast<double>();
        cfg.connection.connect_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ct * 1000));
        cfg.request_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c["request_timeout"].cast<double>() * 1000));
        if (!c["consistency"].is_none()) cfg.consistency = static_cast<proto::consistency>(c["consistency"].cast<int>());
        cfg.page_size = c["page_size"].cast<std::int32_t>();
        cfg.connections_per_host = c["connections_per_host"].cast<std::size_t>();
        cfg.fetch_schema = c["fetch_schema"].cast<bool>();
        py::object req;
        auto* j = new_job<connect_job>(b, req);
        j->eng = e;
        j->cfg = std::move(cfg);
        submit_in_order(*b.core, *e, j);
        j->release();
        return req;
    }
};

py::object submit_exec(py_engine& pe, session_handle& sh, py_bridge& b,
                       std::variant<drv::statement, drv::bound_statement, drv::batch> st, py::object factory,
                       std::shared_ptr<result_shape> shape = nullptr) {
    py::object req;
    auto* j = pe.new_job<exec_job>(b, req);
    j->shape = std::move(shape);
    j->s = sh.s;
    j->stmt = std::move(st);
    j->factory = factory.is_none() ? nullptr : factory.release().ptr();
    submit_batched(*b.core, pe.e, j);
    j->release();
    return req;
}

drv::statement simple_statement(const std::string& q, const py::object& opts) {
    drv::statement s(q);
    apply_options(s.options(), opts);
    return s;
}

drv::bound_statement bound_statement(const prepared_handle& p, const py::object& values, const py::object& opts) {
    auto b = p.ps.bind_empty();
    bind_values(b, p.ps, values.ptr());
    apply_options(b.options(), opts);
    return b;
}

// ---- the hot path without pybind11's dispatch ------------------------------------------

// The C++ object of a pybind11 instance of T's class. The class's type_info
// is looked up once (pybind11's casters hash the type's name per argument per
// call); anything but an instance of exactly that class goes through
// pybind11's cast (a subclass; else a TypeError is thrown).
template <class T>
T& native_of(PyObject* o) {
    static const py::detail::type_info* ti = py::detail::get_type_info(typeid(T));
    if (ti && Py_TYPE(o) == ti->type) {
        auto vh = reinterpret_cast<py::detail::instance*>(o)->get_value_and_holder(ti, false);
        if (vh && vh.value_ptr()) return *vh.template value_ptr<T>();
    }
    return py::handle(o).cast<T&>();
}

// C++ exceptions of an entry point as Python's (as pybind11 translates them).
PyObject* raise_current() {
    try {
        throw;
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (py::builtin_exception& e) {
        e.set_error();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    return nullptr;
}

// Submits an exec_job for the loop of `bridge`: the Request awaited, resolved
// with a ResultSet of (session_obj, statement, parameters, kw).
PyObject* submit_for_result(session_handle& sh, PyObject* bridge, drv::bound_statement* bound, drv::statement* simple,
                            PyObject* factory, std::shared_ptr<result_shape> shape, PyObject* const* rs) {
    auto& b = native_of<py_bridge>(bridge);
    py::object req;
    auto* j = make_job<exec_job>(sh.eng, b, req);
    j->shape = std::move(shape);
    j->s = sh.s;
    if (bound) j->stmt.emplace<drv::bound_statement>(std::move(*bound));
    else j->stmt.emplace<drv::statement>(std::move(*simple));
    j->factory = factory == Py_None ? nullptr : Py_NewRef(factory);
    j->ctx.session = Py_NewRef(rs[0]);
    j->ctx.statement = Py_NewRef(rs[1]);
    j->ctx.parameters = Py_NewRef(rs[2]);
    j->ctx.opts = Py_NewRef(rs[3]);
    submit_batched(*b.core, sh.eng, j);
    j->release();
    return req.release().ptr();
}

// _execute_bound(session, bridge, prepared, values, opts, factory, session_obj, statement, parameters, kw)
// -> Request resolving to a cqlpp.ResultSet. METH_FASTCALL: Session.execute's one native call.
PyObject* fast_execute_bound(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "_execute_bound takes 10 arguments");
        return nullptr;
    }
    try {
        auto& sh = native_of<session_handle>(args[0]);
        const auto& p = native_of<prepared_handle>(args[2]);
        auto st = bound_statement(p, py::reinterpret_borrow<py::object>(args[3]), py::reinterpret_borrow<py::object>(args[4]));
        return submit_for_result(sh, args[1], &st, nullptr, args[5], p.shape, args + 6);
    } catch (...) {
        return raise_current();
    }
}

// _execute_simple(session, bridge, query, opts, factory, session_obj, statement, parameters, kw) -> Request
PyObject* fast_execute_simple(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "_execute_simple takes 9 arguments");
        return nullptr;
    }
    try {
        auto& sh = native_of<session_handle>(args[0]);
        auto st = simple_statement(py::handle(args[2]).cast<std::string>(), py::reinterpret_borrow<py::object>(args[3]));
        return submit_for_result(sh, args[1], nullptr, &st, args[4], nullptr, args + 5);
    } catch (...) {
        return raise_current();
    }
}

PyMethodDef fast_methods[] = {
    {"_execute_bound", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_execute_bound)), METH_FASTCALL,
     "Session.execute's native call for a prepared statement."},
    {"_execute_simple", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_execute_simple)), METH_FASTCALL,
     "Session.execute's native call for a query string."},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace
}  // namespace cqlpy

PYBIND11_MODULE(_cqlpp, m) {
    using namespace cqlpy;
    m.doc() = "cqlpp native core (see the cqlpp package)";
    init_datetime();

    m.def("_setup", [](py::dict d) {
        auto keep = [&](const char* k) { return py::object(d[k]).release().ptr(); };
        auto& t = types();
        t.uuid_cls = keep("uuid");
        t.decimal_cls = keep("decimal");
        t.ip_address = keep("ip_address");
        t.duration_cls = keep("duration");
        t.udt_class = keep("udt_class");
        t.unset = keep("unset");
        auto& h = hk();
        h.make_error = keep("make_error");
        h.row_class = keep("row_class");
        h.dict_factory = keep("dict_factory");
        h.tuple_factory = keep("tuple_factory");
        h.named_tuple_factory = keep("named_tuple_factory");
    });

    py::class_<py_bridge>(m, "Bridge")
        .def(py::init<>())
        .def("fileno", &py_bridge::fd)
        .def("drain", &py_bridge::drain_now, "Resolve every finished request of this loop.")
        .def("flush", &py_bridge::flush, "Start the requests queued since the last flush.")
        .def("set_loop", &py_bridge::set_loop)
        .def("set_wake", &py_bridge::set_wake)
        .def("close", &py_bridge::close);

    py::class_<pending_rows>(m, "PendingRows")
        .def("convert", &pending_rows::convert, py::arg("budget"),
             "Converts rows for about `budget` seconds: the page's list once all are done, else None.")
        .def("__len__", &pending_rows::size);

    {
        auto& a = aio();
        py::module_ ex = py::module_::import("asyncio.exceptions");
        a.cancelled_error = py::object(ex.attr("CancelledError")).release().ptr();
        a.invalid_state_error = py::object(ex.attr("InvalidStateError")).release().ptr();
        a.call_soon = PyUnicode_InternFromString("call_soon");
        a.call_exception_handler = PyUnicode_InternFromString("call_exception_handler");
        a.context_kwnames = py::make_tuple("context").release().ptr();
        a.s_message = PyUnicode_InternFromString("message");
        a.s_exception = PyUnicode_InternFromString("exception");
        if (PyType_Ready(&request_type) < 0) throw py::error_already_set();
        Py_INCREF(&request_type);
        m.add_object("Request", reinterpret_cast<PyObject*>(&request_type));
        if (PyType_Ready(&result_base_type) < 0) throw py::error_already_set();
        Py_INCREF(&result_base_type);
        m.add_object("ResultBase", reinterpret_cast<PyObject*>(&result_base_type));
        for (PyMethodDef* d = fast_methods; d->ml_name; ++d) {
            PyObject* f = PyCFunction_NewEx(d, nullptr, m.ptr());
            if (!f) throw py::error_already_set();
            m.add_object(d->ml_name, py::reinterpret_steal<py::object>(f));
        }
    }
    m.def("_set_convert_slice", [](double seconds) {
        const double old = std::chrono::duration<double>(convert_slice).count();
        convert_slice = std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
        return old;
    }, "The least time (seconds) a drain gives a large page's rows; returns the previous value.");
    // cqlpp.ResultSet: the class the drain makes (a subclass of ResultBase).
    m.def("_set_result_class", [](py::object cls) {
        if (!PyType_Check(cls.ptr()) ||
            !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(cls.ptr()), &result_base_type))
            throw py::type_error("a subclass of ResultBase expected");
        PyTypeObject* old = std::exchange(hk().result_set, reinterpret_cast<PyTypeObject*>(cls.release().ptr()));
        Py_XDECREF(reinterpret_cast<PyObject*>(old));
    });

    py::class_<prepared_handle>(m, "Prepared")
        .def_property_readonly("query", [](const prepared_handle& p) { return p.ps.query(); })
        .def_property_readonly("keyspace", [](const prepared_handle& p) { return p.ps.keyspace(); })
        .def_property_readonly("marker_names", &prepared_handle::marker_names)
        .def_property_readonly("marker_types", &prepared_handle::marker_types)
        .def_property_readonly("result_columns", &prepared_handle::result_columns)
        .def_property_readonly("routing_key_indexes", [](const prepared_handle& p) {
            auto s = p.ps.partition_key_indices();
            return std::vector<int>(s.begin(), s.end());
        });

    py::class_<stream_handle>(m, "Stream");

    py::class_<session_handle>(m, "Session")
        .def_property_readonly("protocol_version", [](const session_handle& s) { return static_cast<int>(s.s->protocol_version()); })
        .def_property_readonly("keyspace", [](const session_handle& s) { return s.s->config().keyspace; });

    py::class_<py_engine>(m, "Engine")
        .def(py::init<>())
        .def("shutdown", &py_engine::shutdown)
        .def("connect", &py_engine::connect)
        .def("execute_simple",
             [](py_engine& e, session_handle& s, py_bridge& b, const std::string& q, py::object opts, py::object factory) {
                 return submit_exec(e, s, b, simple_statement(q, opts), std::move(factory));
             })
        .def("execute_bound",
             [](py_engine& e, session_handle& s, py_bridge& b, const prepared_handle& p, py::object values,
                py::object opts, py::object factory) {
                 return submit_exec(e, s, b, bound_statement(p, values, opts), std::move(factory), p.shape);
             })
        .def("execute_batch",
             [](py_engine& e, session_handle& s, py_bridge& b, int type, py::list entries, py::object opts) {
                 drv::batch bt(static_cast<proto::batch_type>(type));
                 for (auto item : entries) {
                     auto t = item.cast<py::tuple>();
                     if (py::isinstance<py::str>(t[0])) bt.add(drv::statement(t[0].cast<std::string>()));
                     else bt.add(bound_statement(t[0].cast<const prepared_handle&>(), t[1], py::none()));
                 }
                 apply_options(bt.options(), opts);
                 return submit_exec(e, s, b, std::move(bt), py::none());
             })
        .def("prepare",
             [](py_engine& e, session_handle& s, py_bridge& b, std::string q, std::string ks) {
                 py::object req;
                 auto* j = e.new_job<prepare_job>(b, req);
                 j->s = s.s;
                 j->query = std::move(q);
                 j->keyspace = std::move(ks);
                 submit_in_order(*b.core, *e.e, j);
                 j->release();
                 return req;
             })
        .def("close_session",
             [](py_engine& e, session_handle& s, py_bridge& b) {
                 py::object req;
                 auto* j = e.new_job<close_job>(b, req);
                 j->s = s.s;
                 submit_in_order(*b.core, *e.e, j);
                 j->release();
                 return req;
             })
        .def("open_stream",
             [](py_engine& e, session_handle& s, py::object query, py::object values, py::object opts) {
                 auto st = std::make_shared<stream_state>();
                 st->s = s.s;
                 if (py::isinstance<py::str>(query)) st->stmt = simple_statement(query.cast<std::string>(), opts);
                 else st->stmt = bound_statement(query.cast<const prepared_handle&>(), values, opts);
                 return stream_handle{e.e, std::move(st)};
             })
        .def("next_page",
             [](py_engine& e, stream_handle& sh, py_bridge& b, py::object factory) {
                 py::object req;
                 auto* j = e.new_job<page_job>(b, req);
                 j->st = sh.st;
                 j->factory = factory.is_none() ? nullptr : factory.release().ptr();
                 submit_in_order(*b.core, *e.e, j);
                 j->release();
                 return req;
             })
        .def("bulk",
             [](py_engine& e, session_handle& s, py_bridge& b, std::string op, py::dict o,
                py::object progress) {
                 if (op != "count" && op != "unload" && op != "load" && op != "checksum")
                     throw py::value_error("unknown bulk operation " + op);
                 cqlpp::bulk::operation_options opts;
                 opts.keyspace = o["keyspace"].cast<std::string>();
                 opts.table = o["table"].cast<std::string>();
                 opts.concurrency = o["concurrency"].cast<std::size_t>();
                 opts.page_size = o["page_size"].cast<std::int32_t>();
                 opts.server_side_count = o["server_side_count"].cast<bool>();
                 opts.format = o["format"].cast<std::string>() == "json" ? cqlpp::bulk::data_format::json
                                                                          : cqlpp::bulk::data_format::csv;
                 if (!o["output_dir"].is_none()) opts.output_dir = o["output_dir"].cast<std::string>();
                 for (auto p : o["inputs"]) opts.inputs.emplace_back(p.cast<std::string>());
                 if (!o["run_dir"].is_none()) opts.run_dir = o["run_dir"].cast<std::string>();
                 opts.resume = o["resume"].cast<bool>();
                 opts.plan.splits = o["splits"].cast<std::size_t>();
                 opts.progress_interval = std::chrono::milliseconds(
                     static_cast<std::int64_t>(o["progress_interval"].cast<double>() * 1000));
                 if (!o["consistency"].is_none())
                     opts.consistency = static_cast<proto::consistency>(o["consistency"].cast<int>());
                 py::object req;
                 auto* j = e.new_job<bulk_job>(b, req);
                 j->s = s.s;
                 j->op = std::move(op);
                 j->opts = std::move(opts);
                 j->progress = progress.is_none() ? nullptr : progress.release().ptr();
                 submit_in_order(*b.core, *e.e, j);
                 j->release();
                 return req;
             })
        .def("metrics",
             [](py_engine& e, session_handle& s) {
                 drv::session_metrics m;
                 if (e.e->stopped.load()) throw std::runtime_error("the cluster is shut down");
                 {
                     py::gil_scoped_release nogil;
                     std::promise<drv::session_metrics> p;
                     auto f = p.get_future();
                     asio::post(e.e->io, [&] { p.set_value(s.s->metrics()); });
                     m = f.get();
                 }
                 py::dict d;
                 d["requests"] = m.requests;
                 d["errors"] = m.errors;
                 d["retries"] = m.retries;
                 d["speculative_executions"] = m.speculative_executions;
                 d["timeouts"] = m.timeouts;
                 d["reprepares"] = m.reprepares;
                 d["control_reconnects"] = m.control_reconnects;
                 d["topology_refreshes"] = m.topology_refreshes;
                 d["schema_refreshes"] = m.schema_refreshes;
                 py::dict lat;
                 lat["count"] = m.latency.count();
                 for (auto [name, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}})
                     lat[name] = std::chrono::duration<double>(m.latency.percentile(q)).count();
                 lat["max"] = std::chrono::duration<double>(m.latency.max()).count();
                 d["latency"] = lat;
                 py::list hosts;
                 for (const auto& h : m.hosts) {
                     py::dict hd;
                     hd["endpoint"] = h.endpoint;
                     hd["datacenter"] = h.datacenter;
                     hd["up"] = h.up;
                     hd["connections"] = h.pool.connections;
                     hd["in_flight"] = h.pool.in_flight;
                     hd["orphaned"] = h.pool.orphaned;
                     hd["reconnects"] = h.pool.reconnects;
                     hd["bytes_written"] = h.pool.bytes_written;
                     hd["bytes_read"] = h.pool.bytes_read;
                     hd["write_syscalls"] = h.pool.write_syscalls;
                     hosts.append(hd);
                 }
                 d["hosts"] = hosts;
                 return d;
             })
        .def("metadata", [](py_engine&, session_handle& s) {
            auto md = s.s->metadata();  // an immutable snapshot; readable from any thread
            py::dict d;
            if (!md) return d;
            d["cluster_name"] = md->cluster_name;
            d["partitioner"] = md->partitioner;
            py::list hosts;
            auto host_dict = [](const drv::host& h) {
                py::dict hd;
                hd["endpoint"] = h.endpoint_string();
                hd["address"] = h.endpoint_string().substr(0, h.endpoint_string().rfind(':'));
                hd["port"] = h.port;
                hd["datacenter"] = h.datacenter;
                hd["rack"] = h.rack;
                hd["host_id"] = py::bytes(reinterpret_cast<const char*>(h.host_id.data()), h.host_id.size());
                hd["up"] = h.is_up();
                hd["tokens"] = h.tokens.size();
                return hd;
            };
            for (const auto& h : md->tokens.hosts()) hosts.append(host_dict(*h));
            d["hosts"] = hosts;
            py::list ring;
            for (const auto& e : md->tokens.ring()) ring.append(py::make_tuple(e.t, e.owner ? e.owner->endpoint_string() : ""));
            d["ring"] = ring;
            py::dict kss;
            for (const auto& [name, ks] : md->keyspaces) {
                py::dict kd;
                kd["name"] = name;
                py::dict repl;
                repl["class"] = ks.replication.class_name;
                repl["replication_factor"] = ks.replication.replication_factor;
                for (const auto& [dc, f] : ks.replication.dc_factors) repl[py::str(dc)] = f;
                kd["replication"] = repl;
                py::dict tables;
                for (const auto& [tn, t] : ks.tables) {
                    py::dict td;
                    td["name"] = tn;
                    td["keyspace"] = t.keyspace;
                    py::list cols;
                    for (const auto& c : t.columns) {
                        const char* kind = c.kind == drv::column_metadata::kind::partition_key ? "partition_key"
                                           : c.kind == drv::column_metadata::kind::clustering  ? "clustering"
                                           : c.kind == drv::column_metadata::kind::static_     ? "static"
                                                                                               : "regular";
                        cols.append(py::make_tuple(c.name, type_name(c.type), kind));
                    }
                    td["columns"] = cols;
                    py::list pk, ck;
                    for (auto i : t.partition_key) pk.append(t.columns[i].name);
                    for (auto i : t.clustering) ck.append(t.columns[i].name);
                    td["partition_key"] = pk;
                    td["clustering_key"] = ck;
                    tables[py::str(tn)] = td;
                }
                kd["tables"] = tables;
                kss[py::str(name)] = kd;
            }
            d["keyspaces"] = kss;
            return d;
        })
        .def("replicas", [](py_engine&, session_handle& s, const std::string& ks, std::int64_t token) {
            auto md = s.s->metadata();
            std::vector<std::string> out;
            if (md)
                for (const auto* h : md->tokens.replicas(ks, token)) out.push_back(h->endpoint_string());
            return out;
        });

    m.def("token_of", [](py::bytes key) {
        std::string_view sv = key;
        return drv::token_of(proto::bytes_view(reinterpret_cast<const std::uint8_t*>(sv.data()), sv.size()));
    });
}
