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
// into Python objects and resolving the futures. A callback is bounded (the
// loop's other callbacks and timers must not wait): a drain stops after
// drain_budget or drain_max_jobs and wakes the loop again for the rest, and a large page is
// converted a slice at a time (row_builder, PendingRows).
#include "codec.hpp"

#include "cqlpp/bulk/operations.hpp"
#include "cqlpp/driver/session.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

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

// ---- jobs --------------------------------------------------------------------------

struct job {
    std::atomic<int> refs{1};
    job* next = nullptr;
    PyObject* future = nullptr;   // strong; cleared under the GIL when resolved
    std::shared_ptr<bridge_core> bridge;
    std::weak_ptr<engine> target;  // while queued on its bridge, not yet submitted (weak: see connect_job)
    asio::cancellation_signal cancel;
    bool finished = false;  // I/O thread only

    virtual ~job() { release_from_any_thread(future); }
    // GIL held, future not done: the value to set (new ref), or null with
    // *exc set to the exception instance (new ref) to deliver.
    virtual PyObject* value(PyObject** exc) = 0;
    // GIL held: drop every Python reference (resolved, or given up).
    virtual void clear_python() { Py_CLEAR(future); }
    // Jobs without a future (progress reports) run here instead.
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
    int efd = -1;
    std::atomic<bool> closed{false};
    PyObject* wake_cb = nullptr;  // loops without add_reader: call_soon_threadsafe(drain)
    // Requests made during one loop iteration are handed to the I/O thread
    // together by one flush the loop runs next (loop.call_soon): one wake-up of
    // that thread per batch instead of per request (each cost a context switch
    // on a busy machine). Loop thread only, GIL held.
    job* pending = nullptr;  // newest first
    PyObject* call_soon = nullptr;
    PyObject* flush_cb = nullptr;

    bridge_core() {
        efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~bridge_core() {
        if (efd >= 0) ::close(efd);
        release_from_any_thread(wake_cb);
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

// The work one drain does before leaving the rest to another loop iteration.
constexpr std::chrono::microseconds drain_budget{500};
// Each resolved future wakes a task that runs in the loop's next iteration
// (tens of microseconds each: a whole batch would make that iteration long).
constexpr std::size_t drain_max_jobs = 16;

// Resolves the finished jobs of this loop, oldest first, for up to
// drain_budget or drain_max_jobs (at least one job); the loop is woken again for the rest.
// GIL held (called by the loop).
std::size_t drain(bridge_core& b) {
    std::uint64_t n;
    [[maybe_unused]] auto r = ::read(b.efd, &n, sizeof n);
    std::size_t done = 0;
    job* list = std::exchange(b.deferred, nullptr);
    if (job* fresh = b.take_all()) {
        job** tail = &list;
        while (*tail) tail = &(*tail)->next;
        *tail = fresh;
    }
    const auto until = std::chrono::steady_clock::now() + drain_budget;
    static PyObject* s_done = PyUnicode_InternFromString("done");
    static PyObject* s_set_result = PyUnicode_InternFromString("set_result");
    static PyObject* s_set_exception = PyUnicode_InternFromString("set_exception");
    for (job* j = list; j;) {
        if (done > 0 && (done == drain_max_jobs || std::chrono::steady_clock::now() >= until)) {
            b.deferred = j;
            b.wake();
            break;
        }
        job* next = j->next;
        if (!j->future) {
            j->run_callback();
        } else {
            // No done() call first: a future is rarely done (cancelled) before its
            // result, and set_result then fails with InvalidStateError, dropped here.
            PyObject* exc = nullptr;
            PyObject* v = nullptr;
            try {
                v = j->value(&exc);
            } catch (py::error_already_set& e) {
                e.restore();
            } catch (const std::exception& e) {
                PyErr_SetString(PyExc_RuntimeError, e.what());
            }
            if (!v && !exc) {  // converting failed: deliver that error
                PyObject *t, *val, *tb;
                PyErr_Fetch(&t, &val, &tb);
                PyErr_NormalizeException(&t, &val, &tb);
                Py_XDECREF(t);
                Py_XDECREF(tb);
                exc = val;
            }
            PyObject* args[] = {j->future, v ? v : exc};
            PyObject* res = PyObject_VectorcallMethod(v ? s_set_result : s_set_exception, args,
                                                      2 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
            if (!res) {
                PyObject *t, *val, *tb;
                PyErr_Fetch(&t, &val, &tb);
                PyObject* d = PyObject_CallMethodNoArgs(j->future, s_done);
                if (!d) PyErr_Clear();
                if (d == Py_True) {  // cancelled meanwhile: nothing to deliver
                    Py_XDECREF(t);
                    Py_XDECREF(val);
                    Py_XDECREF(tb);
                } else {
                    PyErr_Restore(t, val, tb);
                    PyErr_WriteUnraisable(j->future);
                }
                Py_XDECREF(d);
            }
            Py_XDECREF(res);
            Py_XDECREF(v);
            Py_XDECREF(exc);
        }
        j->clear_python();
        j->release();
        j = next;
        ++done;
    }
    return done;
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
            rev->start(*this);  // the job's in-flight reference (taken by submit) moves to its handler
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

// ---- batched submission (see bridge_core::pending) ---------------------------------

// GIL held, loop thread: fails the request of a job that cannot start.
void fail_unstarted(job* j, const char* msg) {
    static PyObject* s_set_exception = PyUnicode_InternFromString("set_exception");
    PyObject* exc = PyObject_CallFunction(PyExc_RuntimeError, "s", msg);
    if (exc && j->future) {
        PyObject* args[] = {j->future, exc};
        PyObject* r = PyObject_VectorcallMethod(s_set_exception, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
        if (!r) PyErr_Clear();  // the future was cancelled meanwhile
        Py_XDECREF(r);
    }
    if (!exc) PyErr_Clear();
    Py_XDECREF(exc);
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
    if (!b.pending) {
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
        while (!complete()) {
            const std::size_t end = std::min(rows_.size(), items_.size() + slice);
            for (std::size_t i = items_.size(); i < end; ++i) {
                PyObject* r = convert_row(rows_[i]);
                if (!r) return false;
                items_.push_back(r);
            }
            if (std::chrono::steady_clock::now() >= until) break;
        }
        return true;
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
// successful result (new reference).
PyObject* result_tuple(const drv::result& r, PyObject* factory, result_shape* shape) {
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
    PyObject* t = PyTuple_New(5);
    if (!t) {
        Py_DECREF(rows);
        Py_DECREF(names);
        Py_DECREF(warnings);
        Py_DECREF(coord);
        Py_DECREF(ps);
        return nullptr;
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
    drv::result r;
    std::string failure;  // an exception escaped the coroutine

    ~exec_job() override { release_from_any_thread(factory); }
    void clear_python() override {
        Py_CLEAR(factory);
        job::clear_python();
    }
    void start(engine& e) override {
        auto done = [](job& j, std::exception_ptr ep, drv::result r) {
            auto& self = static_cast<exec_job&>(j);
            self.r = std::move(r);
            if (ep) self.failure = "request failed with an internal exception";
        };
        std::visit([&](auto& st) { spawn(e, this, s->execute(st), done); }, stmt);
    }
    PyObject* value(PyObject** exc) override {
        if (!failure.empty()) {
            PyErr_SetString(PyExc_RuntimeError, failure.c_str());
            return nullptr;
        }
        if (!r.ok()) {
            *exc = make_exception(r.error(), r.diag());
            return nullptr;
        }
        return result_tuple(r, factory, shape.get());
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
    std::size_t drain_now() { return drain(*core); }
    void flush() { flush_pending(*core); }
    void set_wake(py::object cb) { core->wake_cb = cb.release().ptr(); }
    // call_soon: the loop's; flush: this bridge's flush (a bound method).
    void set_flush(py::object call_soon, py::object flush) {
        Py_XSETREF(core->call_soon, call_soon.release().ptr());
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
        for (job* j = std::exchange(core->deferred, nullptr); j;) {
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

struct cancel_handle {
    std::shared_ptr<engine> eng;
    job_ref j;
    void cancel() {
        if (!j.j || eng->stopped.load()) return;
        asio::post(eng->io, [j = j] {
            if (!j->finished) j->cancel.emit(asio::cancellation_type::terminal);
        });
    }
};

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

    template <class J>
    J* prepare_job_common(py_bridge& b, py::object fut) {
        if (e->stopped.load()) throw std::runtime_error("the cluster is shut down");
        auto* j = new J();
        j->bridge = b.core;
        j->future = fut.release().ptr();
        return j;
    }

    void connect(py_bridge& b, py::object fut, py::dict c) {
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
        auto* j = prepare_job_common<connect_job>(b, std::move(fut));
        j->eng = e;
        j->cfg = std::move(cfg);
        submit_in_order(*b.core, *e, j);
        j->release();
    }
};

cancel_handle submit_exec(py_engine& pe, session_handle& sh, py_bridge& b, py::object fut,
                          std::variant<drv::statement, drv::bound_statement, drv::batch> st, py::object factory,
                          std::shared_ptr<result_shape> shape = nullptr) {
    auto* j = pe.prepare_job_common<exec_job>(b, std::move(fut));
    j->shape = std::move(shape);
    j->s = sh.s;
    j->stmt = std::move(st);
    j->factory = factory.is_none() ? nullptr : factory.release().ptr();
    cancel_handle h{pe.e, job_ref(j)};  // takes the creation reference
    submit_batched(*b.core, pe.e, j);
    return h;
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
        .def("set_flush", &py_bridge::set_flush)
        .def("set_wake", &py_bridge::set_wake)
        .def("close", &py_bridge::close);

    py::class_<pending_rows>(m, "PendingRows")
        .def("convert", &pending_rows::convert, py::arg("budget"),
             "Converts rows for about `budget` seconds: the page's list once all are done, else None.")
        .def("__len__", &pending_rows::size);

    py::class_<cancel_handle>(m, "Request").def("cancel", &cancel_handle::cancel);

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
             [](py_engine& e, session_handle& s, py_bridge& b, py::object fut, const std::string& q, py::object opts,
                py::object factory) { return submit_exec(e, s, b, std::move(fut), simple_statement(q, opts), std::move(factory)); })
        .def("execute_bound",
             [](py_engine& e, session_handle& s, py_bridge& b, py::object fut, const prepared_handle& p, py::object values,
                py::object opts, py::object factory) {
                 return submit_exec(e, s, b, std::move(fut), bound_statement(p, values, opts), std::move(factory), p.shape);
             })
        .def("execute_batch",
             [](py_engine& e, session_handle& s, py_bridge& b, py::object fut, int type, py::list entries, py::object opts) {
                 drv::batch bt(static_cast<proto::batch_type>(type));
                 for (auto item : entries) {
                     auto t = item.cast<py::tuple>();
                     if (py::isinstance<py::str>(t[0])) bt.add(drv::statement(t[0].cast<std::string>()));
                     else bt.add(bound_statement(t[0].cast<const prepared_handle&>(), t[1], py::none()));
                 }
                 apply_options(bt.options(), opts);
                 return submit_exec(e, s, b, std::move(fut), std::move(bt), py::none());
             })
        .def("prepare",
             [](py_engine& e, session_handle& s, py_bridge& b, py::object fut, std::string q, std::string ks) {
                 auto* j = e.prepare_job_common<prepare_job>(b, std::move(fut));
                 j->s = s.s;
                 j->query = std::move(q);
                 j->keyspace = std::move(ks);
                 cancel_handle h{e.e, job_ref(j)};
                 submit_in_order(*b.core, *e.e, j);
                 return h;
             })
        .def("close_session",
             [](py_engine& e, session_handle& s, py_bridge& b, py::object fut) {
                 auto* j = e.prepare_job_common<close_job>(b, std::move(fut));
                 j->s = s.s;
                 submit_in_order(*b.core, *e.e, j);
                 j->release();
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
             [](py_engine& e, stream_handle& sh, py_bridge& b, py::object fut, py::object factory) {
                 auto* j = e.prepare_job_common<page_job>(b, std::move(fut));
                 j->st = sh.st;
                 j->factory = factory.is_none() ? nullptr : factory.release().ptr();
                 cancel_handle h{e.e, job_ref(j)};
                 submit_in_order(*b.core, *e.e, j);
                 return h;
             })
        .def("bulk",
             [](py_engine& e, session_handle& s, py_bridge& b, py::object fut, std::string op, py::dict o,
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
                 auto* j = e.prepare_job_common<bulk_job>(b, std::move(fut));
                 j->s = s.s;
                 j->op = std::move(op);
                 j->opts = std::move(opts);
                 j->progress = progress.is_none() ? nullptr : progress.release().ptr();
                 cancel_handle h{e.e, job_ref(j)};
                 submit_in_order(*b.core, *e.e, j);
                 return h;
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
