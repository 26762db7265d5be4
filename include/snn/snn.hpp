/*
 * snn.hpp — the C++ interface of libsnn: header-only RAII over include/snn/snn.h.
 *
 * Every function here calls the C API and adds only ownership, error
 * reporting and C++ types; nothing from snn.h is declared again. docs/cpp.md
 * is the long form of this comment.
 *
 * Owners and handles
 *   snn::Context, snn::Network and snn::StateView (a live view of a state
 *   variable) own their C object and give it back in their destructor. They
 *   are move-only; a moved-from owner is empty (get() is nullptr, `if (net)`
 *   is false) and every call on it fails with SNN_INVALID_ARGUMENT. A
 *   Network keeps the context it was created on alive, and a StateView its
 *   network, so owners may be destroyed in any order. snn::Population and
 *   snn::Connection are copyable handles (a network and an id): they stay
 *   valid while the Network object lives, also across its moves, and must
 *   not be used after it.
 *
 * Errors: two forms of every fallible call
 *   - `T f(args...)` throws snn::Error (a std::runtime_error carrying the
 *     status code and the library's message, snn_last_error()).
 *   - `T f(args..., snn::Status& status)` throws nothing from libsnn: it sets
 *     `status` (OK, or the code and message) and returns a default value
 *     (empty handle, 0, empty vector) on failure. Default arguments of the
 *     first form are explicit in the second: `net.save(path, SNN_SAVE_DEFAULT, status)`.
 *   With SNN_NO_EXCEPTIONS defined, or when the compiler has exceptions off
 *   (-fno-exceptions, no /EHsc), only the Status form exists, so code written
 *   with it compiles both ways. (The standard library may still throw
 *   std::bad_alloc, or abort without exceptions, when memory runs out.)
 *   With exceptions on, an exception thrown by a spike callback stops the run
 *   after the current step and propagates from step()/run(), in both forms.
 *
 * Arrays
 *   snn::Span<T> is std::span<T> when the standard library has it (C++20),
 *   else a small pointer + size view with the same members (data, size,
 *   begin, end, operator[], subspan). Functions take Span<const T> for input
 *   arrays, so std::vector, std::array and C arrays pass directly.
 *
 * Threads: as the C API. A Context may be shared between threads; a Network
 * and its handles are used by one thread at a time; spike callbacks run on
 * the thread that called step()/run().
 */
#ifndef SNN_SNN_HPP
#define SNN_SNN_HPP

#include <snn/snn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(_MSVC_LANG) && _MSVC_LANG > __cplusplus
#define SNN_HPP_CPLUSPLUS _MSVC_LANG
#else
#define SNN_HPP_CPLUSPLUS __cplusplus
#endif

#if SNN_HPP_CPLUSPLUS >= 202002L && defined(__has_include)
#if __has_include(<span>)
#include <span>
#endif
#endif
#if defined(__cpp_lib_span) && !defined(SNN_HPP_NO_STD_SPAN)
#define SNN_HPP_STD_SPAN 1
#else
#define SNN_HPP_STD_SPAN 0
#endif

#if defined(SNN_NO_EXCEPTIONS)
#define SNN_HPP_EXCEPTIONS 0
#elif defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define SNN_HPP_EXCEPTIONS 1
#else
#define SNN_HPP_EXCEPTIONS 0
#endif

#if SNN_HPP_EXCEPTIONS
#include <exception>
#include <stdexcept>
#endif

namespace snn {

// The two error modes get different inline namespaces, so translation units
// built in different modes never share a definition by mistake.
#if SNN_HPP_EXCEPTIONS
inline namespace cxx_exceptions {
#else
inline namespace cxx_status {
#endif

// ---------------------------------------------------------------------------
// Span: std::span where available, else pointer + size

#if SNN_HPP_STD_SPAN
template <class T>
using Span = std::span<T>;
#else
/// A view of `size()` contiguous elements (std::span's dynamic-extent subset).
template <class T>
class Span {
    template <class C>
    using element_of = std::remove_pointer_t<decltype(std::data(std::declval<C&>()))>;
    // Only qualification conversions (float -> const float), as std::span.
    template <class U>
    static constexpr bool compatible = std::is_convertible<U (*)[], T (*)[]>::value;

public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;
    using iterator = T*;

    constexpr Span() noexcept = default;
    constexpr Span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
    /// From a contiguous container or array (std::vector, std::array, T[N]).
    /// A temporary is accepted only for a view of const elements.
    template <class C, class = std::enable_if_t<!std::is_same<std::remove_cv_t<std::remove_reference_t<C>>, Span>::value &&
                                                compatible<element_of<C>> &&
                                                (std::is_lvalue_reference<C>::value || std::is_const<T>::value)>,
              class = decltype(std::size(std::declval<C&>()))>
    constexpr Span(C&& container) noexcept : data_(std::data(container)), size_(std::size(container)) {}
    template <class U, class = std::enable_if_t<compatible<U>>>
    constexpr Span(const Span<U>& other) noexcept : data_(other.data()), size_(other.size()) {}

    constexpr T* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr T& front() const noexcept { return data_[0]; }
    constexpr T& back() const noexcept { return data_[size_ - 1]; }
    constexpr T* begin() const noexcept { return data_; }
    constexpr T* end() const noexcept { return data_ + size_; }
    constexpr Span first(std::size_t count) const noexcept { return Span(data_, count); }
    constexpr Span last(std::size_t count) const noexcept { return Span(data_ + (size_ - count), count); }
    constexpr Span subspan(std::size_t offset, std::size_t count = static_cast<std::size_t>(-1)) const noexcept {
        return Span(data_ + offset, count == static_cast<std::size_t>(-1) ? size_ - offset : count);
    }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};
#endif

/// A borrowed, NUL-terminated string: a `const char*` or a `std::string`.
class StringRef {
public:
    StringRef(const char* text) noexcept : text_(text) {}  // NOLINT: implicit by design
    StringRef(const std::string& text) noexcept : text_(text.c_str()) {}  // NOLINT
    const char* c_str() const noexcept { return text_; }

private:
    const char* text_;
};

// ---------------------------------------------------------------------------
// Status and Error

/// The outcome of a call: SNN_OK, or a status code (snn_status_code) and the
/// library's message.
class Status {
public:
    Status() = default;
    Status(snn_status code, std::string message) : code_(code), message_(std::move(message)) {}

    snn_status code() const noexcept { return code_; }
    bool ok() const noexcept { return code_ == SNN_OK; }
    /// "SNN_SHAPE", ... (snn_status_name).
    const char* name() const noexcept { return snn_status_name(code_); }
    /// What went wrong, starting with the argument at fault; "" when ok().
    const std::string& message() const noexcept { return message_; }
    /// "SNN_SHAPE: weights: 6 values given; ..." ("SNN_OK" when ok()).
    std::string to_string() const { return message_.empty() ? std::string(name()) : name() + (": " + message_); }
    void clear() noexcept {
        code_ = SNN_OK;
        message_.clear();
    }
#if SNN_HPP_EXCEPTIONS
    /// Throws snn::Error unless ok().
    void throw_if_error() const;
#endif

private:
    snn_status code_ = SNN_OK;
    std::string message_;
};

#if SNN_HPP_EXCEPTIONS
/// A failed libsnn call. what() is Status::to_string().
class Error : public std::runtime_error {
public:
    explicit Error(Status status) : std::runtime_error(status.to_string()), status_(std::move(status)) {}
    snn_status code() const noexcept { return status_.code(); }
    const char* name() const noexcept { return status_.name(); }
    const std::string& message() const noexcept { return status_.message(); }
    const Status& status() const noexcept { return status_; }

private:
    Status status_;
};

inline void Status::throw_if_error() const {
    if (!ok()) throw Error(*this);
}
#endif

namespace detail {

// Records the outcome of a C call in `status` (the message is read at once:
// the next libsnn call on this thread replaces it). True when it succeeded.
inline bool succeeded(snn_status code, Status& status) {
    if (code == SNN_OK) {
        status.clear();
        return true;
    }
    status = Status(code, snn_last_error());
    return false;
}

// A failure found by the wrapper itself, before calling libsnn.
inline bool fail(Status& status, snn_status code, std::string message) {
    status = Status(code, std::move(message));
    return false;
}

#if SNN_HPP_EXCEPTIONS
// Runs the Status form of a call and throws its error.
template <class F>
auto or_throw(F&& call) -> decltype(call(std::declval<Status&>())) {
    Status status;
    if constexpr (std::is_void<decltype(call(status))>::value) {
        call(status);
        status.throw_if_error();
    } else {
        auto result = call(status);
        status.throw_if_error();
        return result;
    }
}
#endif

// The two-call pattern: asks for the count, then fills a vector.
template <class T, class Count, class F>
std::vector<T> read_all(F&& call, Status& status) {
    Count count = 0;
    std::vector<T> out;
    if (!succeeded(call(static_cast<T*>(nullptr), Count(0), &count), status) || count <= 0) return out;
    out.resize(static_cast<std::size_t>(count));
    if (!succeeded(call(out.data(), count, &count), status)) {
        out.clear();
        return out;
    }
    out.resize(static_cast<std::size_t>(count));
    return out;
}

inline std::vector<std::string> strings(const std::vector<const char*>& names) {
    std::vector<std::string> out;
    out.reserve(names.size());
    for (const char* name : names) out.emplace_back(name ? name : "");
    return out;
}

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> : std::integral_constant<int32_t, SNN_DTYPE_FLOAT32> {};
template <>
struct dtype_of<uint8_t> : std::integral_constant<int32_t, SNN_DTYPE_UINT8> {};
template <>
struct dtype_of<bool> : std::integral_constant<int32_t, SNN_DTYPE_BOOL> {};

inline snn_tensor host_tensor(const void* data, int32_t dtype, int32_t ndim, const int64_t* shape) noexcept {
    snn_tensor t{};
    t.data = const_cast<void*>(data);  // libsnn only reads inputs
    t.dtype = dtype;
    t.ndim = ndim;
    t.shape = shape;
    t.strides = nullptr;
    t.device_type = SNN_DEVICE_CPU;
    t.device_id = 0;
    t.manager_ctx = nullptr;
    t.deleter = nullptr;
    return t;
}

struct ContextState;
struct NetworkState;
struct SpikeHandler;
struct LearningHandler;

}  // namespace detail

// ---------------------------------------------------------------------------
// Library-wide queries

/// The runtime's SNN_VERSION_NUMBER and "MAJOR.MINOR.PATCH".
inline uint32_t version() noexcept { return snn_version(); }
inline const char* version_string() noexcept { return snn_version_string(); }

/// Backends this build runs, best first ("cpu", "reference").
inline std::vector<std::string> backends(Status& status) {
    return detail::strings(detail::read_all<const char*, int32_t>(
        [](const char** out, int32_t capacity, int32_t* count) { return snn_backend_list(out, capacity, count); }, status));
}

/// Model kinds of the registry queries.
enum class ModelKind : int32_t {
    neuron = SNN_MODEL_NEURON,
    synapse = SNN_MODEL_SYNAPSE,
    plasticity = SNN_MODEL_PLASTICITY  ///< learning rules (connection option "plasticity")
};

/// Names of the neuron or synapse models ("lif", "poisson", ... / "delta", "exp", ...).
inline std::vector<std::string> models(ModelKind kind, Status& status) {
    return detail::strings(detail::read_all<const char*, int32_t>(
        [kind](const char** out, int32_t capacity, int32_t* count) {
            return snn_model_list(static_cast<int32_t>(kind), out, capacity, count);
        },
        status));
}

/// The parameters of a model, as the C registry describes them (static strings).
inline std::vector<snn_param_info> model_params(ModelKind kind, StringRef model, Status& status) {
    const int32_t k = static_cast<int32_t>(kind);
    int32_t count = 0;
    std::vector<snn_param_info> out;
    if (!detail::succeeded(snn_model_params(k, model.c_str(), nullptr, 0, &count), status) || count <= 0) return out;
    snn_param_info blank{};
    blank.struct_size = sizeof(snn_param_info);
    out.assign(static_cast<std::size_t>(count), blank);
    if (!detail::succeeded(snn_model_params(k, model.c_str(), out.data(), count, &count), status))
        out.clear();
    return out;
}

/// Names of a model's state variables ("v", "I", ...).
inline std::vector<std::string> model_state_vars(ModelKind kind, StringRef model, Status& status) {
    return detail::strings(detail::read_all<const char*, int32_t>(
        [&](const char** out, int32_t capacity, int32_t* count) {
            return snn_model_state_vars(static_cast<int32_t>(kind), model.c_str(), out, capacity, count);
        },
        status));
}

#if SNN_HPP_EXCEPTIONS
inline std::vector<std::string> backends() { return detail::or_throw([&](Status& s) { return backends(s); }); }
inline std::vector<std::string> models(ModelKind kind) {
    return detail::or_throw([&](Status& s) { return models(kind, s); });
}
inline std::vector<snn_param_info> model_params(ModelKind kind, StringRef model) {
    return detail::or_throw([&](Status& s) { return model_params(kind, model, s); });
}
inline std::vector<std::string> model_state_vars(ModelKind kind, StringRef model) {
    return detail::or_throw([&](Status& s) { return model_state_vars(kind, model, s); });
}
#endif

// ---------------------------------------------------------------------------
// Context

/// The body of one parallel loop libsnn hands to a host's parallel_for:
/// call it once for every index in [0, count).
class ParallelBody {
public:
    ParallelBody(void (*body)(void*, int64_t), void* data) noexcept : body_(body), data_(data) {}
    void operator()(int64_t index) const { body_(data_, index); }

private:
    void (*body_)(void*, int64_t);
    void* data_;
};

/// Log hook: level (SNN_LOG_*) and message (valid during the call).
using LogFunction = std::function<void(int32_t level, const char* message)>;
/// A host's parallel loop: must call body(i) once for each i in [0, count)
/// and return when all calls have returned (see snn_parallel_for_fn).
using ParallelFor = std::function<void(int64_t count, ParallelBody body)>;

/// Options of Context::create: snn_context_options with chainable setters.
/// raw() reaches every field of the C struct (filled by
/// snn_context_options_init), including ones without a setter here.
class ContextOptions {
public:
    ContextOptions() noexcept { (void)snn_context_options_init(&raw_, sizeof raw_); }

    /// "auto" (default), "cpu" or "reference".
    ContextOptions& backend(std::string name) {
        backend_ = std::move(name);
        return *this;
    }
    /// Worker threads; 0 = one per hardware core.
    ContextOptions& threads(int32_t count) noexcept {
        raw_.threads = count;
        return *this;
    }
    /// The "cpu" backend's SIMD level: "auto", "avx512", "avx2", "generic".
    ContextOptions& simd(std::string level) {
        simd_ = std::move(level);
        return *this;
    }
    /// Messages up to `level` (SNN_LOG_*) go to `fn`, which may run on any thread
    /// that uses the context. With exceptions on, what `fn` throws is dropped.
    ContextOptions& log(int32_t level, LogFunction fn) {
        raw_.log_level = level;
        log_ = std::move(fn);
        return *this;
    }
    /// Memory hooks (see snn_alloc_fn / snn_free_fn); set both or neither.
    ContextOptions& allocator(snn_alloc_fn alloc, snn_free_fn free, void* user_data) noexcept {
        raw_.alloc_fn = alloc;
        raw_.free_fn = free;
        raw_.alloc_user_data = user_data;
        return *this;
    }
    /// Runs libsnn's parallel loops on the host's job system instead of
    /// libsnn's threads (an engine's ParallelFor). `fn` must not throw.
    ContextOptions& parallel_for(ParallelFor fn) {
        parallel_for_ = std::move(fn);
        return *this;
    }

    snn_context_options& raw() noexcept { return raw_; }
    const snn_context_options& raw() const noexcept { return raw_; }

private:
    friend class Context;
    snn_context_options raw_{};
    std::string backend_;
    std::string simd_;
    LogFunction log_;
    ParallelFor parallel_for_;
};

namespace detail {
// The C context and its hooks, shared by the Context and every Network made
// on it: the C context goes when the last of them does. Its address is the
// hooks' user_data.
struct ContextState {
    snn_context* raw = nullptr;
    LogFunction log;
    ParallelFor parallel_for;

    ContextState() = default;
    ContextState(const ContextState&) = delete;
    ContextState& operator=(const ContextState&) = delete;
    ~ContextState() { snn_context_destroy(raw); }

    static void log_trampoline(int32_t level, const char* message, void* user_data) noexcept {
        auto* self = static_cast<ContextState*>(user_data);
#if SNN_HPP_EXCEPTIONS
        try {
            self->log(level, message);
        } catch (...) {  // nothing may cross into C
        }
#else
        self->log(level, message);
#endif
    }
    static void parallel_trampoline(int64_t count, void (*body)(void*, int64_t), void* body_data, void* user_data) noexcept {
        static_cast<ContextState*>(user_data)->parallel_for(count, ParallelBody(body, body_data));
    }
};
}  // namespace detail

/// Owns an snn_context: a backend, its threads and hooks. Thread-safe.
/// Networks created on it keep it alive, so the order in which a Context and
/// its Networks are destroyed does not matter.
class Context {
public:
    /// An empty context (no C object).
    Context() noexcept = default;
    /// Takes ownership of a context created through the C API.
    explicit Context(snn_context* raw) : state_(raw ? std::make_shared<detail::ContextState>() : nullptr) {
        if (state_) state_->raw = raw;
    }
    Context(Context&&) noexcept = default;
    Context& operator=(Context&&) noexcept = default;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() = default;

    /// Creates a context (snn_context_create).
    static Context create(const ContextOptions& options, Status& status) {
        snn_context_options c = options.raw_;
        if (!options.backend_.empty()) c.backend = options.backend_.c_str();
        if (!options.simd_.empty()) c.simd = options.simd_.c_str();
        Context context;
        context.state_ = std::make_shared<detail::ContextState>();
        detail::ContextState& state = *context.state_;
        state.log = options.log_;
        state.parallel_for = options.parallel_for_;
        if (state.log) {
            c.log_fn = &detail::ContextState::log_trampoline;
            c.log_user_data = &state;
        }
        if (state.parallel_for) {
            c.parallel_for = &detail::ContextState::parallel_trampoline;
            c.parallel_for_user_data = &state;
        }
        if (!detail::succeeded(snn_context_create(&c, &state.raw), status)) context.close();
        return context;
    }
    static Context create(Status& status) { return create(ContextOptions(), status); }

    /// The backend it runs ("cpu", "reference"): after "auto", the one picked.
    std::string backend(Status& status) const {
        const char* name = nullptr;
        return detail::succeeded(snn_context_backend(get(), &name), status) ? std::string(name) : std::string();
    }
    int32_t threads(Status& status) const {
        int32_t count = 0;
        return detail::succeeded(snn_context_threads(get(), &count), status) ? count : 0;
    }
    /// The SIMD level of the backend ("avx512", "avx2", "generic"; "scalar" for "reference").
    std::string simd(Status& status) const {
        const char* level = nullptr;
        return detail::succeeded(snn_context_simd(get(), &level), status) ? std::string(level) : std::string();
    }

#if SNN_HPP_EXCEPTIONS
    static Context create(const ContextOptions& options = ContextOptions()) {
        return detail::or_throw([&](Status& s) { return create(options, s); });
    }
    std::string backend() const { return detail::or_throw([&](Status& s) { return backend(s); }); }
    int32_t threads() const { return detail::or_throw([&](Status& s) { return threads(s); }); }
    std::string simd() const { return detail::or_throw([&](Status& s) { return simd(s); }); }
#endif

    snn_context* get() const noexcept { return state_ ? state_->raw : nullptr; }
    explicit operator bool() const noexcept { return get() != nullptr; }
    /// Lets go of the context and leaves this object empty; the C context is
    /// destroyed now, or when the last network created on it is.
    void close() noexcept { state_.reset(); }

private:
    friend class Network;
    std::shared_ptr<detail::ContextState> state_;
};

// ---------------------------------------------------------------------------
// Options of networks, loading and connections

/// Options of Network::create (snn_network_options).
class NetworkOptions {
public:
    NetworkOptions() noexcept { (void)snn_network_options_init(&raw_, sizeof raw_); }
    /// Step length in seconds (default 1e-4).
    NetworkOptions& dt(double seconds) noexcept {
        raw_.dt = seconds;
        return *this;
    }
    /// Seed of the network's random streams (default 0).
    NetworkOptions& seed(uint64_t value) noexcept {
        raw_.seed = value;
        return *this;
    }
    /// Number of independent instances (default 1).
    NetworkOptions& batch(int32_t instances) noexcept {
        raw_.batch = instances;
        return *this;
    }
    snn_network_options& raw() noexcept { return raw_; }
    const snn_network_options& raw() const noexcept { return raw_; }

private:
    snn_network_options raw_{};
};

/// Options of Network::load (snn_load_options).
class LoadOptions {
public:
    LoadOptions() noexcept { (void)snn_load_options_init(&raw_, sizeof raw_); }
    /// Instances to load; 0 (default): the batch the file was saved with.
    LoadOptions& batch(int32_t instances) noexcept {
        raw_.batch = instances;
        return *this;
    }
    snn_load_options& raw() noexcept { return raw_; }
    const snn_load_options& raw() const noexcept { return raw_; }

private:
    snn_load_options raw_{};
};

/// Options of the connect_* calls (snn_connection_options).
class ConnectionOptions {
public:
    ConnectionOptions() noexcept { (void)snn_connection_options_init(&raw_, sizeof raw_); }
    /// Default: "<pre>_to_<post>", made unique.
    ConnectionOptions& name(std::string value) {
        name_ = std::move(value);
        has_name_ = true;
        return *this;
    }
    /// "delta" (default), "exp" or "cond_exp".
    ConnectionOptions& synapse(std::string model) {
        synapse_ = std::move(model);
        has_synapse_ = true;
        return *this;
    }
    /// Delay in steps (default 1).
    ConnectionOptions& delay(int32_t steps) noexcept {
        raw_.delay = steps;
        return *this;
    }
    snn_connection_options& raw() noexcept { return raw_; }
    const snn_connection_options& raw() const noexcept { return raw_; }
    /// The C struct with the strings set here filled in (valid while *this is).
    snn_connection_options c_options() const noexcept {
        snn_connection_options c = raw_;
        if (has_name_) c.name = name_.c_str();
        if (has_synapse_) c.synapse = synapse_.c_str();
        return c;
    }

private:
    snn_connection_options raw_{};
    std::string name_, synapse_;
    bool has_name_ = false, has_synapse_ = false;
};

/// Pooling after a conv2d connection (snn_conv2d_geometry.pool).
enum class Pool : int32_t { none = SNN_POOL_NONE, max = SNN_POOL_MAX, avg = SNN_POOL_AVG, sum = SNN_POOL_SUM };

/// The shape of a conv2d connection (snn_conv2d_geometry) with chainable
/// setters; the presynaptic population is read as [in_channels, in_height,
/// in_width], the postsynaptic one as [out_channels, out_height, out_width].
class Conv2dGeometry {
public:
    Conv2dGeometry() noexcept { (void)snn_conv2d_geometry_init(&raw_, sizeof raw_); }
    /// The geometry libsnn reports (Connection::conv2d).
    explicit Conv2dGeometry(const snn_conv2d_geometry& raw) noexcept : raw_(raw) {}
    Conv2dGeometry& input(int32_t channels, int32_t height, int32_t width) noexcept {
        raw_.in_channels = channels;
        raw_.in_height = height;
        raw_.in_width = width;
        return *this;
    }
    Conv2dGeometry& out_channels(int32_t channels) noexcept {
        raw_.out_channels = channels;
        return *this;
    }
    Conv2dGeometry& kernel(int32_t height, int32_t width) noexcept {
        raw_.kernel_height = height;
        raw_.kernel_width = width;
        return *this;
    }
    /// Default 1, 1.
    Conv2dGeometry& stride(int32_t y, int32_t x) noexcept {
        raw_.stride_y = y;
        raw_.stride_x = x;
        return *this;
    }
    /// Zeros around the input; default 0, 0.
    Conv2dGeometry& padding(int32_t y, int32_t x) noexcept {
        raw_.padding_y = y;
        raw_.padding_x = x;
        return *this;
    }
    /// A bias per output channel follows the kernel in the weights (default false).
    Conv2dGeometry& bias(bool on) noexcept {
        raw_.bias = on ? 1 : 0;
        return *this;
    }
    /// Pooling after the convolution; strides 0: the pool's size.
    Conv2dGeometry& pool(Pool kind, int32_t height, int32_t width, int32_t stride_y = 0, int32_t stride_x = 0) noexcept {
        raw_.pool = static_cast<int32_t>(kind);
        raw_.pool_height = height;
        raw_.pool_width = width;
        raw_.pool_stride_y = stride_y;
        raw_.pool_stride_x = stride_x;
        return *this;
    }
    /// out_channels * in_channels * kernel_height * kernel_width (+ out_channels with a bias).
    int64_t weight_count() const noexcept {
        return int64_t(raw_.out_channels) * raw_.in_channels * raw_.kernel_height * raw_.kernel_width +
               (raw_.bias ? raw_.out_channels : 0);
    }
    snn_conv2d_geometry& raw() noexcept { return raw_; }
    const snn_conv2d_geometry& raw() const noexcept { return raw_; }

private:
    snn_conv2d_geometry raw_{};
};

/// Distributions of randomize_state.
enum class Distribution : int32_t {
    uniform = SNN_DIST_UNIFORM,  ///< a = low, b = high: values in [a, b)
    normal = SNN_DIST_NORMAL     ///< a = mean, b = standard deviation
};

class Network;
class Population;
class Connection;
class StateView;
class Trainer;
struct SpikeEvent;
struct LearningEvent;

namespace detail {

// What a Network owns besides its C pointer, at an address that stays put
// when the Network object moves: handles and callbacks point here.
struct NetworkState : std::enable_shared_from_this<NetworkState> {
    snn_network* raw = nullptr;
    std::shared_ptr<ContextState> context;  // kept alive while the network lives
    std::vector<std::unique_ptr<SpikeHandler>> handlers;  // by population id
    std::vector<std::unique_ptr<SpikeHandler>> retired;   // replaced during a run
    std::vector<std::unique_ptr<LearningHandler>> learning;          // by connection id
    std::vector<std::unique_ptr<LearningHandler>> retired_learning;  // replaced during a run
    int running = 0;  // step/run calls in progress
#if SNN_HPP_EXCEPTIONS
    std::exception_ptr pending;  // thrown by a callback, rethrown by step/run
#endif
    NetworkState() = default;
    NetworkState(const NetworkState&) = delete;
    NetworkState& operator=(const NetworkState&) = delete;
    ~NetworkState();  // destroys the network, then its callbacks and context
};

inline snn_network* raw_of(const NetworkState* state) noexcept { return state ? state->raw : nullptr; }

}  // namespace detail

// ---------------------------------------------------------------------------
// Population

/// A population of a network: a handle (network and id), cheap to copy.
/// Valid while its snn::Network object lives.
class Population {
public:
    Population() noexcept = default;

    int32_t id() const noexcept { return id_; }
    /// Number of neurons (product of the shape).
    int64_t size() const noexcept { return size_; }
    snn_network* network() const noexcept { return detail::raw_of(state_); }
    explicit operator bool() const noexcept { return state_ != nullptr && id_ >= 0; }
    friend bool operator==(const Population& a, const Population& b) noexcept {
        return a.state_ == b.state_ && a.id_ == b.id_;
    }
    friend bool operator!=(const Population& a, const Population& b) noexcept { return !(a == b); }

    /// The C description (name borrowed from the network, model static).
    snn_population_info info(Status& status) const {
        snn_population_info result{};
        result.struct_size = sizeof result;
        if (!detail::succeeded(snn_population_info_get(network(), id_, &result), status)) {
            result = snn_population_info{};
            result.struct_size = sizeof result;
        }
        return result;
    }
    std::string name(Status& status) const {
        snn_population_info i = info(status);
        return status.ok() ? std::string(i.name) : std::string();
    }
    std::string model(Status& status) const {
        snn_population_info i = info(status);
        return status.ok() ? std::string(i.model) : std::string();
    }
    std::vector<int64_t> shape(Status& status) const {
        snn_population_info i = info(status);
        return status.ok() ? std::vector<int64_t>(i.shape, i.shape + i.ndim) : std::vector<int64_t>();
    }
    /// True for sources that take per-step inputs.
    bool is_input(Status& status) const { return info(status).is_input != 0; }

    // -- parameters ---------------------------------------------------------

    /// Sets a numeric parameter for every neuron.
    void set_param(StringRef name, double value, Status& status) {
        detail::succeeded(snn_population_set_param(network(), id_, name.c_str(), value), status);
    }
    /// Sets a numeric parameter per neuron (size() values).
    void set_param(StringRef name, Span<const float> values, Status& status) {
        detail::succeeded(snn_population_set_param_array(network(), id_, name.c_str(), values.data(),
                                                         static_cast<int64_t>(values.size())),
                          status);
    }
    /// A numeric parameter per neuron, as float32 (size() values).
    std::vector<float> param(StringRef name, Status& status) const {
        return detail::read_all<float, int64_t>(
            [&](float* out, int64_t capacity, int64_t* count) {
                return snn_population_get_param(network(), id_, name.c_str(), out, capacity, count);
            },
            status);
    }
    /// String options ("reset" = "value" | "subtract").
    void set_option(StringRef name, StringRef value, Status& status) {
        detail::succeeded(snn_population_set_option(network(), id_, name.c_str(), value.c_str()), status);
    }
    std::string option(StringRef name, Status& status) const {
        const char* value = nullptr;
        const snn_status code = snn_population_get_option(network(), id_, name.c_str(), &value);
        return detail::succeeded(code, status) ? std::string(value) : std::string();
    }

    // -- state ----------------------------------------------------------------

    /// A copy of a state variable ("v", "spikes", ...), [batch][n].
    std::vector<float> read_state(StringRef var, Status& status) const {
        return detail::read_all<float, int64_t>(
            [&](float* out, int64_t capacity, int64_t* count) {
                return snn_population_read_state(network(), id_, var.c_str(), out, capacity, count);
            },
            status);
    }
    /// Copies a state variable into `out` (at least batch * n values); returns the count.
    int64_t read_state(StringRef var, Span<float> out, Status& status) const {
        int64_t count = 0;
        return detail::succeeded(snn_population_read_state(network(), id_, var.c_str(), out.data(),
                                                           static_cast<int64_t>(out.size()), &count),
                                 status)
                   ? count
                   : 0;
    }
    /// Writes a state variable: n values (the same for every instance) or batch * n.
    void write_state(StringRef var, Span<const float> values, Status& status) {
        detail::succeeded(snn_population_write_state(network(), id_, var.c_str(), values.data(),
                                                     static_cast<int64_t>(values.size())),
                          status);
    }
    /// Draws a state variable from a distribution, per instance and neuron.
    void randomize_state(StringRef var, Distribution distribution, double a, double b, uint64_t seed, Status& status) {
        detail::succeeded(
            snn_population_randomize_state(network(), id_, var.c_str(), static_cast<int32_t>(distribution), a, b, seed),
            status);
    }
    /// The spikes of the last step (0/1), [batch][n].
    std::vector<uint8_t> read_spikes(Status& status) const {
        return detail::read_all<uint8_t, int64_t>(
            [&](uint8_t* out, int64_t capacity, int64_t* count) {
                return snn_population_read_spikes(network(), id_, out, capacity, count);
            },
            status);
    }
    int64_t read_spikes(Span<uint8_t> out, Status& status) const {
        int64_t count = 0;
        return detail::succeeded(
                   snn_population_read_spikes(network(), id_, out.data(), static_cast<int64_t>(out.size()), &count), status)
                   ? count
                   : 0;
    }
    /// A live view of a state variable in the network's memory (no copy).
    inline StateView view_state(StringRef var, Status& status);

    // -- inputs (source populations) ----------------------------------------------

    /// Copies this step's input, [batch][n]: spikes (nonzero = spike), currents or rates in Hz.
    void set_input(Span<const float> values, Status& status) { set_input_as(values, status); }
    void set_input(Span<const uint8_t> values, Status& status) { set_input_as(values, status); }
    void set_input(Span<const bool> values, Status& status) { set_input_as(values, status); }
    /// Copies this step's input from any tensor the C API accepts (strided, ...).
    void set_input(const snn_tensor& input, Status& status) {
        detail::succeeded(snn_population_set_input(network(), id_, &input), status);
    }

    /// Binds a buffer that each step reads in place: steps == 0: [batch][n],
    /// read every step; steps > 0: [steps][batch][n], step k of a run reads
    /// slice k. The buffer must outlive the binding (unbind_input, another
    /// bind, or the network's end); write into it between steps.
    void bind_input(Span<const float> buffer, int64_t steps, Status& status) { bind_input_as(buffer, steps, status); }
    void bind_input(Span<const uint8_t> buffer, int64_t steps, Status& status) { bind_input_as(buffer, steps, status); }
    void bind_input(Span<const bool> buffer, int64_t steps, Status& status) { bind_input_as(buffer, steps, status); }
    void bind_input(const snn_tensor& buffer, Status& status) {
        detail::succeeded(snn_population_bind_input(network(), id_, &buffer), status);
    }
    void unbind_input(Status& status) { detail::succeeded(snn_population_unbind_input(network(), id_), status); }

    // -- outputs ----------------------------------------------------------------------

    /// Binds a buffer that each step writes in place: `var` is "spikes"
    /// (float, uint8_t or bool) or a state variable (float). steps == 0:
    /// [batch][n], overwritten every step; steps > 0: [steps][batch][n], step k
    /// of a run writes slice k.
    void bind_output(StringRef var, Span<float> buffer, int64_t steps, Status& status) {
        bind_output_as(var, buffer, steps, status);
    }
    void bind_output(StringRef var, Span<uint8_t> buffer, int64_t steps, Status& status) {
        bind_output_as(var, buffer, steps, status);
    }
    void bind_output(StringRef var, Span<bool> buffer, int64_t steps, Status& status) {
        bind_output_as(var, buffer, steps, status);
    }
    void bind_output(StringRef var, const snn_tensor& buffer, Status& status) {
        detail::succeeded(snn_population_bind_output(network(), id_, var.c_str(), &buffer), status);
    }
    void unbind_output(StringRef var, Status& status) {
        detail::succeeded(snn_population_unbind_output(network(), id_, var.c_str()), status);
    }

    // -- spike callbacks ------------------------------------------------------------------

    /// Calls `fn` after each step in which this population spiked, once per
    /// instance, on the thread that called step()/run(). `fn` is any callable
    /// (lambda, std::function, functor; move-only ones too), stored by the
    /// network until replaced or removed, and called as
    ///   fn(const snn::SpikeEvent& event)                     or
    ///   fn(int64_t step, int32_t batch_index, snn::Span<const int32_t> neuron_ids)
    /// It returns void (keep running) or a bool: true stops the run after the
    /// current step (step()/run() then return false).
    template <class F>
    void on_spike(F&& fn, Status& status);
    /// Removes the population's spike callback.
    inline void remove_spike_callback(Status& status);

#if SNN_HPP_EXCEPTIONS
    snn_population_info info() const { return detail::or_throw([&](Status& s) { return info(s); }); }
    std::string name() const { return detail::or_throw([&](Status& s) { return name(s); }); }
    std::string model() const { return detail::or_throw([&](Status& s) { return model(s); }); }
    std::vector<int64_t> shape() const { return detail::or_throw([&](Status& s) { return shape(s); }); }
    bool is_input() const { return detail::or_throw([&](Status& s) { return is_input(s); }); }
    void set_param(StringRef name, double value) { detail::or_throw([&](Status& s) { set_param(name, value, s); }); }
    void set_param(StringRef name, Span<const float> values) {
        detail::or_throw([&](Status& s) { set_param(name, values, s); });
    }
    std::vector<float> param(StringRef name) const { return detail::or_throw([&](Status& s) { return param(name, s); }); }
    void set_option(StringRef name, StringRef value) { detail::or_throw([&](Status& s) { set_option(name, value, s); }); }
    std::string option(StringRef name) const { return detail::or_throw([&](Status& s) { return option(name, s); }); }
    std::vector<float> read_state(StringRef var) const {
        return detail::or_throw([&](Status& s) { return read_state(var, s); });
    }
    int64_t read_state(StringRef var, Span<float> out) const {
        return detail::or_throw([&](Status& s) { return read_state(var, out, s); });
    }
    void write_state(StringRef var, Span<const float> values) {
        detail::or_throw([&](Status& s) { write_state(var, values, s); });
    }
    void randomize_state(StringRef var, Distribution distribution, double a, double b, uint64_t seed) {
        detail::or_throw([&](Status& s) { randomize_state(var, distribution, a, b, seed, s); });
    }
    std::vector<uint8_t> read_spikes() const { return detail::or_throw([&](Status& s) { return read_spikes(s); }); }
    int64_t read_spikes(Span<uint8_t> out) const {
        return detail::or_throw([&](Status& s) { return read_spikes(out, s); });
    }
    inline StateView view_state(StringRef var);
    void set_input(Span<const float> values) { detail::or_throw([&](Status& s) { set_input(values, s); }); }
    void set_input(Span<const uint8_t> values) { detail::or_throw([&](Status& s) { set_input(values, s); }); }
    void set_input(Span<const bool> values) { detail::or_throw([&](Status& s) { set_input(values, s); }); }
    void set_input(const snn_tensor& input) { detail::or_throw([&](Status& s) { set_input(input, s); }); }
    void bind_input(Span<const float> buffer, int64_t steps = 0) {
        detail::or_throw([&](Status& s) { bind_input(buffer, steps, s); });
    }
    void bind_input(Span<const uint8_t> buffer, int64_t steps = 0) {
        detail::or_throw([&](Status& s) { bind_input(buffer, steps, s); });
    }
    void bind_input(Span<const bool> buffer, int64_t steps = 0) {
        detail::or_throw([&](Status& s) { bind_input(buffer, steps, s); });
    }
    void bind_input(const snn_tensor& buffer) { detail::or_throw([&](Status& s) { bind_input(buffer, s); }); }
    void unbind_input() { detail::or_throw([&](Status& s) { unbind_input(s); }); }
    void bind_output(StringRef var, Span<float> buffer, int64_t steps = 0) {
        detail::or_throw([&](Status& s) { bind_output(var, buffer, steps, s); });
    }
    void bind_output(StringRef var, Span<uint8_t> buffer, int64_t steps = 0) {
        detail::or_throw([&](Status& s) { bind_output(var, buffer, steps, s); });
    }
    void bind_output(StringRef var, Span<bool> buffer, int64_t steps = 0) {
        detail::or_throw([&](Status& s) { bind_output(var, buffer, steps, s); });
    }
    void bind_output(StringRef var, const snn_tensor& buffer) {
        detail::or_throw([&](Status& s) { bind_output(var, buffer, s); });
    }
    void unbind_output(StringRef var) { detail::or_throw([&](Status& s) { unbind_output(var, s); }); }
    template <class F>
    void on_spike(F&& fn) { detail::or_throw([&](Status& s) { on_spike(std::forward<F>(fn), s); }); }
    void remove_spike_callback() { detail::or_throw([&](Status& s) { remove_spike_callback(s); }); }
#endif

private:
    friend class Network;
    friend class Connection;
    friend class Trainer;
    Population(detail::NetworkState* state, int32_t id, int64_t size) noexcept : state_(state), id_(id), size_(size) {}

    // The [steps][batch][n] element count a buffer must have, or false with status set.
    bool expect_elements(std::size_t given, int64_t steps, const char* what, int64_t* out_batch, Status& status) const {
        int32_t batch = 0;
        if (!detail::succeeded(snn_network_batch(network(), &batch), status)) return false;
        if (steps < 0) return detail::fail(status, SNN_INVALID_ARGUMENT, std::string(what) + ": steps is negative");
        const int64_t expected = (steps > 0 ? steps : 1) * batch * size_;
        if (static_cast<int64_t>(given) != expected)
            return detail::fail(status, SNN_SHAPE,
                                std::string(what) + ": " + std::to_string(given) + " values given; " +
                                    (steps > 0 ? "[steps, batch, n] = [" + std::to_string(steps) + ", " : "[batch, n] = [") +
                                    std::to_string(batch) + ", " + std::to_string(size_) + "] needs " +
                                    std::to_string(expected));
        *out_batch = batch;
        return true;
    }
    template <class T>
    void set_input_as(Span<const T> values, Status& status) {
        int64_t batch = 0;
        if (!expect_elements(values.size(), 0, "input", &batch, status)) return;
        const int64_t shape[2] = {batch, size_};
        const snn_tensor t = detail::host_tensor(values.data(), detail::dtype_of<T>::value, 2, shape);
        detail::succeeded(snn_population_set_input(network(), id_, &t), status);
    }
    template <class T>
    void bind_input_as(Span<const T> buffer, int64_t steps, Status& status) {
        int64_t batch = 0;
        if (!expect_elements(buffer.size(), steps, "buffer", &batch, status)) return;
        const int64_t shape[3] = {steps, batch, size_};
        const snn_tensor t = detail::host_tensor(buffer.data(), detail::dtype_of<T>::value, steps > 0 ? 3 : 2,
                                                 steps > 0 ? shape : shape + 1);
        detail::succeeded(snn_population_bind_input(network(), id_, &t), status);
    }
    template <class T>
    void bind_output_as(StringRef var, Span<T> buffer, int64_t steps, Status& status) {
        int64_t batch = 0;
        if (!expect_elements(buffer.size(), steps, "buffer", &batch, status)) return;
        const int64_t shape[3] = {steps, batch, size_};
        const snn_tensor t = detail::host_tensor(buffer.data(), detail::dtype_of<T>::value, steps > 0 ? 3 : 2,
                                                 steps > 0 ? shape : shape + 1);
        detail::succeeded(snn_population_bind_output(network(), id_, var.c_str(), &t), status);
    }

    detail::NetworkState* state_ = nullptr;
    int32_t id_ = -1;
    int64_t size_ = 0;
};

/// What a spike callback receives: the instance `batch_index` of `population`
/// spiked in `step`, with the ascending ids `neuron_ids` (valid during the call).
struct SpikeEvent {
    Population population;
    int64_t step;
    int32_t batch_index;
    Span<const int32_t> neuron_ids;
};

namespace detail {

struct SpikeHandler {
    explicit SpikeHandler(Population p) noexcept : population(p) {}
    virtual ~SpikeHandler() = default;
    virtual bool call(const SpikeEvent& event) = 0;  // true: stop
    Population population;
    NetworkState* owner = nullptr;

    static int32_t trampoline(int32_t, int64_t step, int32_t batch_index, int32_t count, const int32_t* neuron_ids,
                              void* user_data) noexcept {
        auto* self = static_cast<SpikeHandler*>(user_data);
        const SpikeEvent event{self->population, step, batch_index,
                               Span<const int32_t>(neuron_ids, count > 0 ? static_cast<std::size_t>(count) : 0u)};
#if SNN_HPP_EXCEPTIONS
        try {
            return self->call(event) ? 1 : 0;
        } catch (...) {  // stops the run; step()/run() rethrow it
            if (!self->owner->pending) self->owner->pending = std::current_exception();
            return 1;
        }
#else
        return self->call(event) ? 1 : 0;
#endif
    }
};

template <class F>
struct SpikeHandlerOf final : SpikeHandler {
    SpikeHandlerOf(Population p, F f) : SpikeHandler(p), fn(std::move(f)) {}
    bool call(const SpikeEvent& e) override {
        if constexpr (std::is_invocable<F&, const SpikeEvent&>::value) {
            return result(fn, e);
        } else {
            static_assert(std::is_invocable<F&, int64_t, int32_t, Span<const int32_t>>::value,
                          "a spike callback takes (const snn::SpikeEvent&) or "
                          "(int64_t step, int32_t batch_index, snn::Span<const int32_t> neuron_ids)");
            return result(fn, e.step, e.batch_index, e.neuron_ids);
        }
    }
    template <class... A>
    static bool result(F& f, A&&... args) {
        using R = std::invoke_result_t<F&, A...>;
        if constexpr (std::is_void<R>::value) {
            std::invoke(f, std::forward<A>(args)...);
            return false;
        } else {
            return static_cast<bool>(std::invoke(f, std::forward<A>(args)...));
        }
    }
    F fn;
};


template <class T>
struct is_std_function : std::false_type {};
template <class R, class... A>
struct is_std_function<std::function<R(A...)>> : std::true_type {};

// Installs (handler) or removes (nullptr) a population's callback. The old
// handler is kept alive until the end of a run in progress.
inline bool install_handler(NetworkState* state, int32_t population, std::unique_ptr<SpikeHandler> handler, Status& status) {
    if (!state) return detail::fail(status, SNN_INVALID_ARGUMENT, "population: an empty handle");
    snn_spike_fn fn = handler ? &SpikeHandler::trampoline : nullptr;
    if (handler) handler->owner = state;
    // Room first (this may allocate), so libsnn never holds a handler that is not stored.
    int32_t count = 0;
    if (!succeeded(snn_network_population_count(state->raw, &count), status)) return false;
    const std::size_t index = static_cast<std::size_t>(population >= 0 && population < count ? population : 0);
    if (state->handlers.size() <= index) state->handlers.resize(index + 1);
    if (state->running > 0) state->retired.reserve(state->retired.size() + 1);
    // An id out of range is refused here, with libsnn's message.
    if (!succeeded(snn_population_set_spike_callback(state->raw, population, fn, handler.get()), status)) return false;
    if (state->running > 0 && state->handlers[index]) state->retired.push_back(std::move(state->handlers[index]));
    state->handlers[index] = std::move(handler);
    return true;
}

}  // namespace detail

template <class F>
void Population::on_spike(F&& fn, Status& status) {
    using Fn = std::decay_t<F>;
    if constexpr (std::is_same<Fn, std::nullptr_t>::value) {
        detail::install_handler(state_, id_, nullptr, status);  // on_spike(nullptr): remove
    } else {
        if constexpr (std::is_pointer<Fn>::value || detail::is_std_function<Fn>::value) {
            if (!fn) {  // a null function pointer or an empty std::function: remove
                detail::install_handler(state_, id_, nullptr, status);
                return;
            }
        }
        std::unique_ptr<detail::SpikeHandler> handler(new detail::SpikeHandlerOf<Fn>(*this, std::forward<F>(fn)));
        detail::install_handler(state_, id_, std::move(handler), status);
    }
}

inline void Population::remove_spike_callback(Status& status) { detail::install_handler(state_, id_, nullptr, status); }

// ---------------------------------------------------------------------------
// StateView

/// Owns a live view of a state variable, [batch][n] float32 in the network's
/// memory: it changes as the network steps, and writes go straight into the
/// state. Move-only; keeps its network alive. While any view is alive,
/// Network::set_batch fails with SNN_STATE.
class StateView {
public:
    StateView() noexcept = default;
    /// Takes ownership of a tensor exported by snn_population_view_state
    /// (its network must outlive it).
    explicit StateView(snn_tensor* tensor) noexcept : tensor_(tensor) {}
    StateView(StateView&& other) noexcept
        : tensor_(std::exchange(other.tensor_, nullptr)), network_(std::move(other.network_)) {}
    StateView& operator=(StateView&& other) noexcept {
        if (this != &other) {
            close();
            tensor_ = std::exchange(other.tensor_, nullptr);
            network_ = std::move(other.network_);
        }
        return *this;
    }
    StateView(const StateView&) = delete;
    StateView& operator=(const StateView&) = delete;
    ~StateView() { close(); }

    float* data() const noexcept { return tensor_ ? static_cast<float*>(tensor_->data) : nullptr; }
    int32_t batch() const noexcept { return tensor_ ? static_cast<int32_t>(tensor_->shape[0]) : 0; }
    int64_t neurons() const noexcept { return tensor_ ? tensor_->shape[1] : 0; }
    std::size_t size() const noexcept { return static_cast<std::size_t>(batch()) * static_cast<std::size_t>(neurons()); }
    /// All values, [batch][n].
    Span<float> values() const noexcept { return Span<float>(data(), size()); }
    /// The n values of one instance.
    Span<float> instance(int32_t batch_index) const noexcept {
        const std::size_t n = static_cast<std::size_t>(neurons());
        return Span<float>(data() + static_cast<std::size_t>(batch_index) * n, n);
    }
    float& operator()(int32_t batch_index, int64_t neuron) const noexcept {
        return data()[static_cast<std::ptrdiff_t>(batch_index) * neurons() + neuron];
    }

    snn_tensor* get() const noexcept { return tensor_; }
    explicit operator bool() const noexcept { return tensor_ != nullptr; }
    /// Gives the view back now; leaves it empty.
    void close() noexcept {
        snn_tensor_release(std::exchange(tensor_, nullptr));
        network_.reset();
    }

private:
    friend class Population;
    snn_tensor* tensor_ = nullptr;
    std::shared_ptr<detail::NetworkState> network_;  // the view's network, kept alive
};

inline StateView Population::view_state(StringRef var, Status& status) {
    snn_tensor* tensor = nullptr;
    StateView view;
    if (detail::succeeded(snn_population_view_state(network(), id_, var.c_str(), &tensor), status)) {
        view.tensor_ = tensor;
        view.network_ = state_->shared_from_this();
    }
    return view;
}
#if SNN_HPP_EXCEPTIONS
inline StateView Population::view_state(StringRef var) {
    return detail::or_throw([&](Status& s) { return view_state(var, s); });
}
#endif

// ---------------------------------------------------------------------------
// Connection

/// The synapses of a connection in weight order: (pre[k], post[k]) with delays[k] steps.
struct Synapses {
    std::vector<int32_t> pre, post, delays;
};

/// A connection of a network: a handle (network and id), cheap to copy.
/// Valid while its snn::Network object lives.
class Connection {
public:
    Connection() noexcept = default;

    int32_t id() const noexcept { return id_; }
    snn_network* network() const noexcept { return detail::raw_of(state_); }
    explicit operator bool() const noexcept { return state_ != nullptr && id_ >= 0; }
    friend bool operator==(const Connection& a, const Connection& b) noexcept {
        return a.state_ == b.state_ && a.id_ == b.id_;
    }
    friend bool operator!=(const Connection& a, const Connection& b) noexcept { return !(a == b); }

    /// The C description (kind SNN_CONNECTION_*, delay, nnz, ...).
    snn_connection_info info(Status& status) const {
        snn_connection_info result{};
        result.struct_size = sizeof result;
        if (!detail::succeeded(snn_connection_info_get(network(), id_, &result), status)) {
            result = snn_connection_info{};
            result.struct_size = sizeof result;
        }
        return result;
    }
    std::string name(Status& status) const {
        snn_connection_info i = info(status);
        return status.ok() ? std::string(i.name) : std::string();
    }
    std::string synapse(Status& status) const {
        snn_connection_info i = info(status);
        return status.ok() ? std::string(i.synapse) : std::string();
    }
    /// Number of weights (dense: n_pre * n_post).
    int64_t nnz(Status& status) const { return info(status).nnz; }
    inline Population pre(Status& status) const;
    inline Population post(Status& status) const;

    /// Synapse parameters ("tau", "e_rev"), one value per connection.
    void set_param(StringRef name, double value, Status& status) {
        detail::succeeded(snn_connection_set_param(network(), id_, name.c_str(), value), status);
    }
    double param(StringRef name, Status& status) const {
        double value = 0.0;
        return detail::succeeded(snn_connection_get_param(network(), id_, name.c_str(), &value), status) ? value : 0.0;
    }
    /// String options: "weight_dtype", "plasticity" (a learning rule, before the
    /// first step), the rule's options ("learning" = "on" | "off", "pairing", ...).
    void set_option(StringRef name, StringRef value, Status& status) {
        detail::succeeded(snn_connection_set_option(network(), id_, name.c_str(), value.c_str()), status);
    }
    std::string option(StringRef name, Status& status) const {
        const char* value = nullptr;
        const snn_status code = snn_connection_get_option(network(), id_, name.c_str(), &value);
        return detail::succeeded(code, status) ? std::string(value ? value : "") : std::string();
    }
    /// The geometry of a conv2d connection, its defaults filled in.
    Conv2dGeometry conv2d(Status& status) const {
        snn_conv2d_geometry g{};
        g.struct_size = sizeof g;
        if (!detail::succeeded(snn_connection_conv2d_get(network(), id_, &g), status)) return Conv2dGeometry();
        return Conv2dGeometry(g);
    }
    /// Weights in the connection's order (dense [pre][post], sparse CSR order, one-to-one by neuron).
    std::vector<float> weights(Status& status) const {
        return detail::read_all<float, int64_t>(
            [&](float* out, int64_t capacity, int64_t* count) {
                return snn_connection_get_weights(network(), id_, out, capacity, count);
            },
            status);
    }
    int64_t weights(Span<float> out, Status& status) const {
        int64_t count = 0;
        return detail::succeeded(
                   snn_connection_get_weights(network(), id_, out.data(), static_cast<int64_t>(out.size()), &count), status)
                   ? count
                   : 0;
    }
    /// Sets every weight (nnz values, in the order of weights()).
    void set_weights(Span<const float> values, Status& status) {
        detail::succeeded(
            snn_connection_set_weights(network(), id_, values.data(), static_cast<int64_t>(values.size())), status);
    }
    Synapses synapses(Status& status) const {
        Synapses s;
        int64_t count = 0;
        if (!detail::succeeded(snn_connection_get_synapses(network(), id_, nullptr, nullptr, nullptr, 0, &count), status) ||
            count <= 0)
            return s;
        s.pre.resize(static_cast<std::size_t>(count));
        s.post.resize(static_cast<std::size_t>(count));
        s.delays.resize(static_cast<std::size_t>(count));
        const snn_status code =
            snn_connection_get_synapses(network(), id_, s.pre.data(), s.post.data(), s.delays.data(), count, &count);
        if (!detail::succeeded(code, status)) return Synapses();
        return s;
    }
    /// Synaptic state ("I" for exp, "g" for cond_exp), [batch][n_post].
    std::vector<float> read_state(StringRef var, Status& status) const {
        return detail::read_all<float, int64_t>(
            [&](float* out, int64_t capacity, int64_t* count) {
                return snn_connection_read_state(network(), id_, var.c_str(), out, capacity, count);
            },
            status);
    }
    void write_state(StringRef var, Span<const float> values, Status& status) {
        detail::succeeded(snn_connection_write_state(network(), id_, var.c_str(), values.data(),
                                                     static_cast<int64_t>(values.size())),
                          status);
    }
    void randomize_state(StringRef var, Distribution distribution, double a, double b, uint64_t seed, Status& status) {
        detail::succeeded(
            snn_connection_randomize_state(network(), id_, var.c_str(), static_cast<int32_t>(distribution), a, b, seed),
            status);
    }

    /// Calls `fn` after each step in which learning changed this (plastic)
    /// connection's weights, after the spike callbacks, on the thread that
    /// called step()/run(). `fn` is any callable, stored by the network until
    /// replaced or removed, called as fn(const snn::LearningEvent&) and
    /// returning void or bool (true stops the run after the current step).
    template <class F>
    void on_learning(F&& fn, Status& status);
    /// Removes the connection's learning callback.
    inline void remove_learning_callback(Status& status);

#if SNN_HPP_EXCEPTIONS
    snn_connection_info info() const { return detail::or_throw([&](Status& s) { return info(s); }); }
    std::string name() const { return detail::or_throw([&](Status& s) { return name(s); }); }
    std::string synapse() const { return detail::or_throw([&](Status& s) { return synapse(s); }); }
    int64_t nnz() const { return detail::or_throw([&](Status& s) { return nnz(s); }); }
    inline Population pre() const;
    inline Population post() const;
    void set_param(StringRef name, double value) { detail::or_throw([&](Status& s) { set_param(name, value, s); }); }
    double param(StringRef name) const { return detail::or_throw([&](Status& s) { return param(name, s); }); }
    void set_option(StringRef name, StringRef value) { detail::or_throw([&](Status& s) { set_option(name, value, s); }); }
    std::string option(StringRef name) const { return detail::or_throw([&](Status& s) { return option(name, s); }); }
    Conv2dGeometry conv2d() const { return detail::or_throw([&](Status& s) { return conv2d(s); }); }
    template <class F>
    void on_learning(F&& fn) { detail::or_throw([&](Status& s) { on_learning(std::forward<F>(fn), s); }); }
    void remove_learning_callback() { detail::or_throw([&](Status& s) { remove_learning_callback(s); }); }
    std::vector<float> weights() const { return detail::or_throw([&](Status& s) { return weights(s); }); }
    int64_t weights(Span<float> out) const { return detail::or_throw([&](Status& s) { return weights(out, s); }); }
    void set_weights(Span<const float> values) { detail::or_throw([&](Status& s) { set_weights(values, s); }); }
    Synapses synapses() const { return detail::or_throw([&](Status& s) { return synapses(s); }); }
    std::vector<float> read_state(StringRef var) const {
        return detail::or_throw([&](Status& s) { return read_state(var, s); });
    }
    void write_state(StringRef var, Span<const float> values) {
        detail::or_throw([&](Status& s) { write_state(var, values, s); });
    }
    void randomize_state(StringRef var, Distribution distribution, double a, double b, uint64_t seed) {
        detail::or_throw([&](Status& s) { randomize_state(var, distribution, a, b, seed, s); });
    }
#endif

private:
    friend class Network;
    friend class Trainer;
    Connection(detail::NetworkState* state, int32_t id) noexcept : state_(state), id_(id) {}
    inline Population endpoint(bool post, Status& status) const;

    detail::NetworkState* state_ = nullptr;
    int32_t id_ = -1;
};

// ---------------------------------------------------------------------------
// Learning callbacks

/// What a learning callback receives: learning changed `connection`'s weights
/// in `step` (docs/models.md, "Plasticity"); `rows` and `columns` are valid
/// during the call (empty when `all`).
struct LearningEvent {
    Connection connection;
    int64_t step;
    int64_t synapses_changed;  ///< updates that changed a weight
    double total_change;       ///< the sum of |new - old| over them
    bool all;                  ///< any synapse may have changed (rstdp, normalisation)
    Span<const int32_t> rows;     ///< presynaptic neurons changed through presynaptic events
    Span<const int32_t> columns;  ///< postsynaptic neurons changed through their spikes
};

namespace detail {

struct LearningHandler {
    explicit LearningHandler(Connection c) noexcept : connection(c) {}
    virtual ~LearningHandler() = default;
    virtual bool call(const LearningEvent& event) = 0;  // true: stop
    Connection connection;
    NetworkState* owner = nullptr;

    static int32_t trampoline(const snn_learning_event* e, void* user_data) noexcept {
        auto* self = static_cast<LearningHandler*>(user_data);
        const auto span = [](const int32_t* p, int32_t n) {
            return Span<const int32_t>(p, p && n > 0 ? static_cast<std::size_t>(n) : 0u);
        };
        const LearningEvent event{self->connection, e->step,   e->synapses_changed, e->total_change, e->all != 0,
                                  span(e->rows, e->row_count), span(e->columns, e->column_count)};
#if SNN_HPP_EXCEPTIONS
        try {
            return self->call(event) ? 1 : 0;
        } catch (...) {  // stops the run; step()/run() rethrow it
            if (!self->owner->pending) self->owner->pending = std::current_exception();
            return 1;
        }
#else
        return self->call(event) ? 1 : 0;
#endif
    }
};

template <class F>
struct LearningHandlerOf final : LearningHandler {
    LearningHandlerOf(Connection c, F f) : LearningHandler(c), fn(std::move(f)) {}
    bool call(const LearningEvent& e) override {
        static_assert(std::is_invocable<F&, const LearningEvent&>::value,
                      "a learning callback takes (const snn::LearningEvent&)");
        using R = std::invoke_result_t<F&, const LearningEvent&>;
        if constexpr (std::is_void<R>::value) {
            std::invoke(fn, e);
            return false;
        } else {
            return static_cast<bool>(std::invoke(fn, e));
        }
    }
    F fn;
};

// Destroys the network first (libsnn lets go of the callbacks), then they go.
inline NetworkState::~NetworkState() { snn_network_destroy(raw); }

// As install_handler, for a connection's learning callback.
inline bool install_learning(NetworkState* state, int32_t connection, std::unique_ptr<LearningHandler> handler,
                             Status& status) {
    if (!state) return detail::fail(status, SNN_INVALID_ARGUMENT, "connection: an empty handle");
    snn_learning_fn fn = handler ? &LearningHandler::trampoline : nullptr;
    if (handler) handler->owner = state;
    int32_t count = 0;
    if (!succeeded(snn_network_connection_count(state->raw, &count), status)) return false;
    const std::size_t index = static_cast<std::size_t>(connection >= 0 && connection < count ? connection : 0);
    if (state->learning.size() <= index) state->learning.resize(index + 1);
    if (state->running > 0) state->retired_learning.reserve(state->retired_learning.size() + 1);
    if (!succeeded(snn_connection_set_learning_callback(state->raw, connection, fn, handler.get()), status)) return false;
    if (state->running > 0 && state->learning[index])
        state->retired_learning.push_back(std::move(state->learning[index]));
    state->learning[index] = std::move(handler);
    return true;
}

}  // namespace detail

template <class F>
void Connection::on_learning(F&& fn, Status& status) {
    using Fn = std::decay_t<F>;
    if constexpr (std::is_same<Fn, std::nullptr_t>::value) {
        detail::install_learning(state_, id_, nullptr, status);  // on_learning(nullptr): remove
    } else {
        if constexpr (std::is_pointer<Fn>::value || detail::is_std_function<Fn>::value) {
            if (!fn) {  // a null function pointer or an empty std::function: remove
                detail::install_learning(state_, id_, nullptr, status);
                return;
            }
        }
        std::unique_ptr<detail::LearningHandler> handler(new detail::LearningHandlerOf<Fn>(*this, std::forward<F>(fn)));
        detail::install_learning(state_, id_, std::move(handler), status);
    }
}

inline void Connection::remove_learning_callback(Status& status) {
    detail::install_learning(state_, id_, nullptr, status);
}

// ---------------------------------------------------------------------------
// Network

/// Owns an snn_network: populations, connections, parameters and the state
/// of `batch` instances. Move-only; used by one thread at a time. It keeps
/// the context it was created on alive.
class Network {
public:
    /// An empty network (no C object).
    Network() noexcept = default;
    /// Takes ownership of a network created through the C API (its context
    /// must outlive it: only networks made by create/load keep theirs alive).
    explicit Network(snn_network* raw) : state_(raw ? std::make_shared<detail::NetworkState>() : nullptr) {
        if (state_) state_->raw = raw;
    }
    Network(Network&&) noexcept = default;
    Network& operator=(Network&&) noexcept = default;
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;
    ~Network() = default;

    // -- creating, loading, saving ----------------------------------------------------

    /// An empty network on `context` (snn_network_create).
    static Network create(const Context& context, const NetworkOptions& options, Status& status) {
        snn_network* raw = nullptr;
        detail::succeeded(snn_network_create(context.get(), &options.raw(), &raw), status);
        return Network(raw, context);
    }
    /// Loads a .snn file (snn_network_load).
    static Network load(const Context& context, StringRef path, const LoadOptions& options, Status& status) {
        snn_network* raw = nullptr;
        detail::succeeded(snn_network_load(context.get(), path.c_str(), &options.raw(), &raw), status);
        return Network(raw, context);
    }
    /// Loads a .snn file's bytes (snn_network_load_from_memory).
    static Network load_from_memory(const Context& context, Span<const uint8_t> data, const LoadOptions& options,
                                    Status& status) {
        snn_network* raw = nullptr;
        detail::succeeded(snn_network_load_from_memory(context.get(), data.data(), static_cast<int64_t>(data.size()),
                                                       &options.raw(), &raw),
                          status);
        return Network(raw, context);
    }
    /// Saves to a .snn file; flags SNN_SAVE_* (SNN_SAVE_CURRENT_STATE keeps the running state).
    void save(StringRef path, uint32_t flags, Status& status) const {
        detail::succeeded(snn_network_save(get(), path.c_str(), flags), status);
    }
    std::vector<uint8_t> save_to_memory(uint32_t flags, Status& status) const {
        int64_t size = 0;
        std::vector<uint8_t> out;
        if (!detail::succeeded(snn_network_save_to_memory(get(), flags, nullptr, 0, &size), status)) return out;
        out.resize(static_cast<std::size_t>(size));
        if (!detail::succeeded(snn_network_save_to_memory(get(), flags, out.data(), size, &size), status)) out.clear();
        return out;
    }

    // -- properties ----------------------------------------------------------------------

    double dt(Status& status) const {
        double value = 0.0;
        return detail::succeeded(snn_network_dt(get(), &value), status) ? value : 0.0;
    }
    uint64_t seed(Status& status) const {
        uint64_t value = 0;
        return detail::succeeded(snn_network_seed(get(), &value), status) ? value : 0;
    }
    /// 0 at creation and after reset; +1 per completed step.
    int64_t current_step(Status& status) const {
        int64_t value = 0;
        return detail::succeeded(snn_network_current_step(get(), &value), status) ? value : 0;
    }
    int32_t batch(Status& status) const {
        int32_t value = 0;
        return detail::succeeded(snn_network_batch(get(), &value), status) ? value : 0;
    }
    /// Changes the number of instances (SNN_STATE while a StateView is alive).
    void set_batch(int32_t batch, Status& status) { detail::succeeded(snn_network_set_batch(get(), batch), status); }

    // -- running ---------------------------------------------------------------------------

    /// Advances one step. Returns false when a spike callback asked to stop
    /// (the step is complete), true otherwise (also on failure: see status).
    bool step(Status& status) { return finish_run(snn_network_step(enter_run()), status); }
    /// Advances `steps` steps; false when a spike callback stopped the run.
    bool run(int64_t steps, Status& status) { return finish_run(snn_network_run(enter_run(), steps), status); }
    /// Back to the initial state at step 0; copied inputs cleared.
    void reset(Status& status) { detail::succeeded(snn_network_reset(get()), status); }

    // -- populations --------------------------------------------------------------------------

    /// Adds a population of n neurons of a model ("lif", "poisson", ...).
    Population add_population(StringRef name, int64_t n, StringRef model, Status& status) {
        return add_population(name, Span<const int64_t>(&n, 1), model, status);
    }
    /// Adds a population with a shape ({C, H, W}, ...), prod(shape) neurons.
    Population add_population(StringRef name, Span<const int64_t> shape, StringRef model, Status& status) {
        int32_t id = -1;
        if (!detail::succeeded(snn_network_add_population(get(), name.c_str(), model.c_str(),
                                                          static_cast<int32_t>(shape.size()), shape.data(), &id),
                               status))
            return Population();
        int64_t size = 1;
        for (int64_t d : shape) size *= d;
        return Population(state_.get(), id, size);
    }
    Population add_population(StringRef name, std::initializer_list<int64_t> shape, StringRef model, Status& status) {
        return add_population(name, Span<const int64_t>(shape.begin(), shape.size()), model, status);
    }
    /// The population called `name` (SNN_NOT_FOUND if none).
    Population population(StringRef name, Status& status) const {
        int32_t id = -1;
        if (!detail::succeeded(snn_network_find_population(get(), name.c_str(), &id), status)) return Population();
        return population(id, status);
    }
    /// The population with id `id` (0 .. population_count() - 1).
    Population population(int32_t id, Status& status) const {
        snn_population_info info{};
        info.struct_size = sizeof info;
        if (!detail::succeeded(snn_population_info_get(get(), id, &info), status)) return Population();
        return Population(state_.get(), id, info.size);
    }
    int32_t population_count(Status& status) const {
        int32_t count = 0;
        return detail::succeeded(snn_network_population_count(get(), &count), status) ? count : 0;
    }
    /// Every population, in id order.
    std::vector<Population> populations(Status& status) const {
        std::vector<Population> out;
        const int32_t count = population_count(status);
        for (int32_t id = 0; id < count && status.ok(); ++id) out.push_back(population(id, status));
        if (!status.ok()) out.clear();
        return out;
    }

    // -- connections ----------------------------------------------------------------------------

    /// Dense weights [n_pre][n_post] (copied).
    Connection connect_dense(Population pre, Population post, Span<const float> weights, const ConnectionOptions& options,
                             Status& status) {
        if (!owns(pre, "pre", status) || !owns(post, "post", status)) return Connection();
        const snn_connection_options c = options.c_options();
        int32_t id = -1;
        detail::succeeded(snn_network_connect_dense(get(), pre.id(), post.id(), weights.data(),
                                                    static_cast<int64_t>(weights.size()), &c, &id),
                          status);
        return connection_or_empty(id, status);
    }
    /// Sparse CSR over presynaptic rows: row_ptr (n_pre + 1 values), post_index
    /// and weights (nnz values each), delays empty or nnz values (steps).
    Connection connect_sparse(Population pre, Population post, Span<const int64_t> row_ptr, Span<const int32_t> post_index,
                              Span<const float> weights, Span<const int32_t> delays, const ConnectionOptions& options,
                              Status& status) {
        if (!owns(pre, "pre", status) || !owns(post, "post", status)) return Connection();
        // libsnn reads n_pre + 1 row pointers and nnz of the rest: check the sizes here.
        const std::size_t nnz = weights.size();
        snn_population_info pre_info{};
        pre_info.struct_size = sizeof pre_info;
        if (!detail::succeeded(snn_population_info_get(get(), pre.id(), &pre_info), status)) return Connection();
        if (static_cast<int64_t>(row_ptr.size()) != pre_info.size + 1)
            return fail_connection(status, "row_ptr: " + std::to_string(row_ptr.size()) + " values given; n_pre + 1 = " +
                                               std::to_string(pre_info.size + 1));
        if (post_index.size() != nnz)
            return fail_connection(status, "post_index: " + std::to_string(post_index.size()) +
                                               " values given; weights has " + std::to_string(nnz));
        if (!delays.empty() && delays.size() != nnz)
            return fail_connection(status, "delays: " + std::to_string(delays.size()) + " values given; weights has " +
                                               std::to_string(nnz));
        const snn_connection_options c = options.c_options();
        int32_t id = -1;
        detail::succeeded(snn_network_connect_sparse(get(), pre.id(), post.id(), static_cast<int64_t>(nnz), row_ptr.data(),
                                                     post_index.data(), weights.data(),
                                                     delays.empty() ? nullptr : delays.data(), &c, &id),
                          status);
        return connection_or_empty(id, status);
    }
    /// Each (pre, post) pair with probability p, weight `weight`; `seed` fixes the draw.
    Connection connect_random(Population pre, Population post, double p, float weight, uint64_t seed,
                              const ConnectionOptions& options, Status& status) {
        if (!owns(pre, "pre", status) || !owns(post, "post", status)) return Connection();
        const snn_connection_options c = options.c_options();
        int32_t id = -1;
        detail::succeeded(snn_network_connect_random(get(), pre.id(), post.id(), p, weight, seed, &c, &id), status);
        return connection_or_empty(id, status);
    }
    /// One to one (n_pre == n_post) with one weight per neuron.
    Connection connect_one_to_one(Population pre, Population post, Span<const float> weights,
                                  const ConnectionOptions& options, Status& status) {
        if (!owns(pre, "pre", status) || !owns(post, "post", status)) return Connection();
        const snn_connection_options c = options.c_options();
        int32_t id = -1;
        detail::succeeded(snn_network_connect_one_to_one(get(), pre.id(), post.id(), weights.data(),
                                                         static_cast<int64_t>(weights.size()), 0.0f, &c, &id),
                          status);
        return connection_or_empty(id, status);
    }
    /// One to one with the same weight for every neuron.
    Connection connect_one_to_one(Population pre, Population post, float weight, const ConnectionOptions& options,
                                  Status& status) {
        if (!owns(pre, "pre", status) || !owns(post, "post", status)) return Connection();
        const snn_connection_options c = options.c_options();
        int32_t id = -1;
        detail::succeeded(snn_network_connect_one_to_one(get(), pre.id(), post.id(), nullptr, 0, weight, &c, &id), status);
        return connection_or_empty(id, status);
    }
    /// A 2-D convolution (as PyTorch's Conv2d, then an optional pooling):
    /// weights are the kernel [out_c][in_c][kh][kw], then with a bias the
    /// [out_c] biases (geometry.weight_count() values).
    Connection connect_conv2d(Population pre, Population post, const Conv2dGeometry& geometry, Span<const float> weights,
                              const ConnectionOptions& options, Status& status) {
        if (!owns(pre, "pre", status) || !owns(post, "post", status)) return Connection();
        const snn_connection_options c = options.c_options();
        int32_t id = -1;
        detail::succeeded(snn_network_connect_conv2d(get(), pre.id(), post.id(), &geometry.raw(), weights.data(),
                                                     static_cast<int64_t>(weights.size()), &c, &id),
                          status);
        return connection_or_empty(id, status);
    }
    Connection connection(StringRef name, Status& status) const {
        int32_t id = -1;
        if (!detail::succeeded(snn_network_find_connection(get(), name.c_str(), &id), status)) return Connection();
        return Connection(state_.get(), id);
    }
    /// The connection with id `id` (0 .. connection_count() - 1).
    Connection connection(int32_t id, Status& status) const {
        int32_t count = connection_count(status);
        if (!status.ok()) return Connection();
        if (id < 0 || id >= count)
            return fail_connection(status, "connection: id " + std::to_string(id) + " is not in [0, " +
                                               std::to_string(count) + ")",
                                   SNN_OUT_OF_RANGE);
        return Connection(state_.get(), id);
    }
    int32_t connection_count(Status& status) const {
        int32_t count = 0;
        return detail::succeeded(snn_network_connection_count(get(), &count), status) ? count : 0;
    }
    std::vector<Connection> connections(Status& status) const {
        std::vector<Connection> out;
        const int32_t count = connection_count(status);
        for (int32_t id = 0; id < count; ++id) out.push_back(Connection(state_.get(), id));
        return out;
    }

#if SNN_HPP_EXCEPTIONS
    static Network create(const Context& context, const NetworkOptions& options = NetworkOptions()) {
        return detail::or_throw([&](Status& s) { return create(context, options, s); });
    }
    static Network load(const Context& context, StringRef path, const LoadOptions& options = LoadOptions()) {
        return detail::or_throw([&](Status& s) { return load(context, path, options, s); });
    }
    static Network load_from_memory(const Context& context, Span<const uint8_t> data,
                                    const LoadOptions& options = LoadOptions()) {
        return detail::or_throw([&](Status& s) { return load_from_memory(context, data, options, s); });
    }
    void save(StringRef path, uint32_t flags = SNN_SAVE_DEFAULT) const {
        detail::or_throw([&](Status& s) { save(path, flags, s); });
    }
    std::vector<uint8_t> save_to_memory(uint32_t flags = SNN_SAVE_DEFAULT) const {
        return detail::or_throw([&](Status& s) { return save_to_memory(flags, s); });
    }
    double dt() const { return detail::or_throw([&](Status& s) { return dt(s); }); }
    uint64_t seed() const { return detail::or_throw([&](Status& s) { return seed(s); }); }
    int64_t current_step() const { return detail::or_throw([&](Status& s) { return current_step(s); }); }
    int32_t batch() const { return detail::or_throw([&](Status& s) { return batch(s); }); }
    void set_batch(int32_t batch) { detail::or_throw([&](Status& s) { set_batch(batch, s); }); }
    bool step() { return detail::or_throw([&](Status& s) { return step(s); }); }
    bool run(int64_t steps) { return detail::or_throw([&](Status& s) { return run(steps, s); }); }
    void reset() { detail::or_throw([&](Status& s) { reset(s); }); }
    Population add_population(StringRef name, int64_t n, StringRef model) {
        return detail::or_throw([&](Status& s) { return add_population(name, n, model, s); });
    }
    Population add_population(StringRef name, Span<const int64_t> shape, StringRef model) {
        return detail::or_throw([&](Status& s) { return add_population(name, shape, model, s); });
    }
    Population add_population(StringRef name, std::initializer_list<int64_t> shape, StringRef model) {
        return detail::or_throw([&](Status& s) { return add_population(name, shape, model, s); });
    }
    Population population(StringRef name) const { return detail::or_throw([&](Status& s) { return population(name, s); }); }
    Population population(int32_t id) const { return detail::or_throw([&](Status& s) { return population(id, s); }); }
    int32_t population_count() const { return detail::or_throw([&](Status& s) { return population_count(s); }); }
    std::vector<Population> populations() const { return detail::or_throw([&](Status& s) { return populations(s); }); }
    Connection connect_dense(Population pre, Population post, Span<const float> weights,
                             const ConnectionOptions& options = ConnectionOptions()) {
        return detail::or_throw([&](Status& s) { return connect_dense(pre, post, weights, options, s); });
    }
    Connection connect_sparse(Population pre, Population post, Span<const int64_t> row_ptr, Span<const int32_t> post_index,
                              Span<const float> weights, Span<const int32_t> delays = {},
                              const ConnectionOptions& options = ConnectionOptions()) {
        return detail::or_throw(
            [&](Status& s) { return connect_sparse(pre, post, row_ptr, post_index, weights, delays, options, s); });
    }
    Connection connect_random(Population pre, Population post, double p, float weight, uint64_t seed,
                              const ConnectionOptions& options = ConnectionOptions()) {
        return detail::or_throw([&](Status& s) { return connect_random(pre, post, p, weight, seed, options, s); });
    }
    Connection connect_one_to_one(Population pre, Population post, Span<const float> weights,
                                  const ConnectionOptions& options = ConnectionOptions()) {
        return detail::or_throw([&](Status& s) { return connect_one_to_one(pre, post, weights, options, s); });
    }
    Connection connect_one_to_one(Population pre, Population post, float weight,
                                  const ConnectionOptions& options = ConnectionOptions()) {
        return detail::or_throw([&](Status& s) { return connect_one_to_one(pre, post, weight, options, s); });
    }
    Connection connect_conv2d(Population pre, Population post, const Conv2dGeometry& geometry, Span<const float> weights,
                              const ConnectionOptions& options = ConnectionOptions()) {
        return detail::or_throw([&](Status& s) { return connect_conv2d(pre, post, geometry, weights, options, s); });
    }
    Connection connection(StringRef name) const { return detail::or_throw([&](Status& s) { return connection(name, s); }); }
    Connection connection(int32_t id) const { return detail::or_throw([&](Status& s) { return connection(id, s); }); }
    int32_t connection_count() const { return detail::or_throw([&](Status& s) { return connection_count(s); }); }
    std::vector<Connection> connections() const { return detail::or_throw([&](Status& s) { return connections(s); }); }
#endif

    snn_network* get() const noexcept { return detail::raw_of(state_.get()); }
    explicit operator bool() const noexcept { return get() != nullptr; }
    /// Lets go of the network and leaves this object empty: the C network is
    /// destroyed now, or when the last StateView of it is released. Its
    /// Population and Connection handles become invalid.
    void close() noexcept { state_.reset(); }

private:
    friend class Trainer;
    // A handle of another network would name one of this network's populations by its id.
    bool owns(const Population& p, const char* what, Status& status) const {
        if (!state_ || p.state_ == state_.get()) return true;  // an empty network: libsnn says so
        return detail::fail(status, SNN_INVALID_ARGUMENT,
                            std::string(what) + (p.state_ ? ": a population of another network" : ": an empty handle"));
    }
    Network(snn_network* raw, const Context& context) : Network(raw) {
        if (state_) state_->context = context.state_;
    }
    snn_network* enter_run() noexcept {
        if (state_) ++state_->running;
        return get();
    }
    bool finish_run(snn_status code, Status& status) {
        if (state_) {
            if (--state_->running == 0) {
                state_->retired.clear();
                state_->retired_learning.clear();
            }
        }
#if SNN_HPP_EXCEPTIONS
        if (state_ && state_->pending) {
            status.clear();
            std::rethrow_exception(std::exchange(state_->pending, nullptr));
        }
#endif
        if (code == SNN_CANCELLED) {  // a callback asked to stop: not an error
            status.clear();
            return false;
        }
        detail::succeeded(code, status);
        return true;
    }
    Connection connection_or_empty(int32_t id, const Status& status) const {
        return status.ok() ? Connection(state_.get(), id) : Connection();
    }
    static Connection fail_connection(Status& status, std::string message, snn_status code = SNN_SHAPE) {
        detail::fail(status, code, std::move(message));
        return Connection();
    }

    std::shared_ptr<detail::NetworkState> state_;
};

// ---------------------------------------------------------------------------
// Definitions that need Population and Connection complete

inline Population Connection::endpoint(bool post, Status& status) const {
    snn_connection_info i = info(status);
    if (!status.ok()) return Population();
    snn_population_info p{};
    p.struct_size = sizeof p;
    const int32_t id = post ? i.post : i.pre;
    if (!detail::succeeded(snn_population_info_get(network(), id, &p), status)) return Population();
    return Population(state_, id, p.size);
}
inline Population Connection::pre(Status& status) const { return endpoint(false, status); }
inline Population Connection::post(Status& status) const { return endpoint(true, status); }
#if SNN_HPP_EXCEPTIONS
inline Population Connection::pre() const { return detail::or_throw([&](Status& s) { return pre(s); }); }
inline Population Connection::post() const { return detail::or_throw([&](Status& s) { return post(s); }); }
#endif

// ---------------------------------------------------------------------------
// Training (docs/training.md)

/// Optimizers of Trainer::set_optimizer (snn_optimizer_options.kind).
enum class Optimizer : int32_t { sgd = SNN_OPTIMIZER_SGD, adam = SNN_OPTIMIZER_ADAM, adamw = SNN_OPTIMIZER_ADAMW };

/// Options of Trainer::create (snn_trainer_options).
class TrainerOptions {
public:
    TrainerOptions() noexcept { (void)snn_trainer_options_init(&raw_, sizeof raw_); }
    /// No gradient through the reset (as snnTorch); default false.
    TrainerOptions& detach_reset(bool on) noexcept {
        raw_.detach_reset = on ? 1 : 0;
        return *this;
    }
    /// Each forward pass continues from where the previous one ended (truncated BPTT); default false.
    TrainerOptions& carry_state(bool on) noexcept {
        raw_.carry_state = on ? 1 : 0;
        return *this;
    }
    /// backward also computes the gradient of the sources' inputs (read_input_grad); default false.
    TrainerOptions& input_grads(bool on) noexcept {
        raw_.input_grads = on ? 1 : 0;
        return *this;
    }
    snn_trainer_options& raw() noexcept { return raw_; }
    const snn_trainer_options& raw() const noexcept { return raw_; }

private:
    snn_trainer_options raw_{};
};

/// Options of Trainer::set_optimizer (snn_optimizer_options); default Adam, lr 1e-3.
class OptimizerOptions {
public:
    OptimizerOptions() noexcept { (void)snn_optimizer_options_init(&raw_, sizeof raw_); }
    explicit OptimizerOptions(Optimizer kind) noexcept : OptimizerOptions() { raw_.kind = static_cast<int32_t>(kind); }
    OptimizerOptions& kind(Optimizer value) noexcept {
        raw_.kind = static_cast<int32_t>(value);
        return *this;
    }
    OptimizerOptions& learning_rate(double value) noexcept {
        raw_.learning_rate = value;
        return *this;
    }
    /// SGD only.
    OptimizerOptions& momentum(double value) noexcept {
        raw_.momentum = value;
        return *this;
    }
    /// Adam(W): beta1, beta2, eps.
    OptimizerOptions& betas(double beta1, double beta2) noexcept {
        raw_.beta1 = beta1;
        raw_.beta2 = beta2;
        return *this;
    }
    OptimizerOptions& eps(double value) noexcept {
        raw_.eps = value;
        return *this;
    }
    OptimizerOptions& weight_decay(double value) noexcept {
        raw_.weight_decay = value;
        return *this;
    }
    /// > 0: gradients scaled to a joint L2 norm of at most this; 0 (default): off.
    OptimizerOptions& clip_norm(double value) noexcept {
        raw_.clip_norm = value;
        return *this;
    }
    snn_optimizer_options& raw() noexcept { return raw_; }
    const snn_optimizer_options& raw() const noexcept { return raw_; }

private:
    snn_optimizer_options raw_{};
};

/// Owns an snn_trainer: surrogate-gradient BPTT over a network's weights
/// (and neuron parameters chosen with train_param). Move-only; it keeps its
/// network alive, so it is always destroyed first. Arrays are float32
/// [steps][batch][n] for outputs and their gradients, in the shape of the
/// weights for weight gradients, as in snn.h.
class Trainer {
public:
    Trainer() noexcept = default;
    Trainer(Trainer&& other) noexcept
        : raw_(std::exchange(other.raw_, nullptr)),
          network_(std::move(other.network_)),
          steps_(other.steps_),
          batch_(other.batch_) {}
    Trainer& operator=(Trainer&& other) noexcept {
        if (this != &other) {
            close();
            raw_ = std::exchange(other.raw_, nullptr);
            network_ = std::move(other.network_);
            steps_ = other.steps_;
            batch_ = other.batch_;
        }
        return *this;
    }
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;
    ~Trainer() { close(); }

    /// A trainer of `network`'s connections (snn_trainer_create); SNN_UNSUPPORTED
    /// names what cannot be trained.
    static Trainer create(Network& network, const TrainerOptions& options, Status& status) {
        Trainer t;
        if (detail::succeeded(snn_trainer_create(network.get(), &options.raw(), &t.raw_), status))
            t.network_ = network.state_;
        return t;
    }
    static Trainer create(Network& network, Status& status) { return create(network, TrainerOptions(), status); }

    /// Runs `steps` steps on `batch` sequences from the initial state and
    /// records the tape; `input` is `source`'s [steps][batch][n] input
    /// (spikes where nonzero, or currents).
    void forward(int64_t steps, int32_t batch, Population source, Span<const float> input, Status& status) {
        forward_as(steps, batch, source, input, status);
    }
    void forward(int64_t steps, int32_t batch, Population source, Span<const uint8_t> input, Status& status) {
        forward_as(steps, batch, source, input, status);
    }
    void forward(int64_t steps, int32_t batch, Population source, Span<const bool> input, Status& status) {
        forward_as(steps, batch, source, input, status);
    }
    /// Any number of sources (inputs[k] for sources[k], tensors as the C API takes them).
    void forward(int64_t steps, int32_t batch, Span<const Population> sources, Span<const snn_tensor> inputs,
                 Status& status) {
        if (sources.size() != inputs.size())
            return (void)detail::fail(status, SNN_SHAPE,
                                      "inputs: " + std::to_string(inputs.size()) + " tensors for " +
                                          std::to_string(sources.size()) + " populations");
        std::vector<int32_t> ids;
        ids.reserve(sources.size());
        for (const Population& p : sources) {
            if (!owns(p, "populations", status)) return;
            ids.push_back(p.id());
        }
        run_forward(steps, batch, static_cast<int32_t>(ids.size()), ids.data(), inputs.data(), status);
    }
    /// Without inputs: every source emits what it does in a step without input.
    void forward(int64_t steps, int32_t batch, Status& status) {
        run_forward(steps, batch, 0, nullptr, nullptr, status);
    }

    /// The last forward pass's output of a non-source population: "spikes"
    /// or "v", [steps][batch][n].
    std::vector<float> read_output(Population population, StringRef var, Status& status) const {
        std::vector<float> out(whole_run(population));
        if (!read_output(population, var, Span<float>(out), status)) out.clear();
        return out;
    }
    /// Into `out` (steps * batch * n values); false on failure.
    bool read_output(Population population, StringRef var, Span<float> out, Status& status) const {
        if (!owns(population, "population", status)) return false;
        return detail::succeeded(snn_trainer_read_output(raw_, population.id(), var.c_str(), out.data(),
                                                         static_cast<int64_t>(out.size())),
                                 status);
    }
    /// A built-in loss ("ce_count", "ce_max_v", "ce_mean_v") on class labels
    /// (one per sequence), averaged over the batch; its gradient goes to the
    /// next backward().
    double loss(Population population, StringRef loss, Span<const int32_t> labels, Status& status) {
        const int64_t shape[1] = {static_cast<int64_t>(labels.size())};
        return loss_of(population, loss, detail::host_tensor(labels.data(), SNN_DTYPE_INT32, 1, shape), status);
    }
    /// "mse_count" on target spike counts, [batch][n].
    double loss(Population population, StringRef loss, Span<const float> targets, Status& status) {
        const int64_t n = population.size();
        const int64_t shape[2] = {n > 0 ? static_cast<int64_t>(targets.size()) / n : 0, n};
        if (n > 0 && static_cast<int64_t>(targets.size()) % n != 0) {
            detail::fail(status, SNN_SHAPE,
                         "target: " + std::to_string(targets.size()) + " values given; not [batch, " +
                             std::to_string(n) + "]");
            return 0.0;
        }
        return loss_of(population, loss, detail::host_tensor(targets.data(), SNN_DTYPE_FLOAT32, 2, shape), status);
    }
    double loss(Population population, StringRef loss, const snn_tensor& target, Status& status) {
        return loss_of(population, loss, target, status);
    }
    /// Adds the gradient of the caller's own loss with respect to an output
    /// ("spikes" or "v"), [steps][batch][n].
    void add_output_grad(Population population, StringRef var, Span<const float> grad, Status& status) {
        if (!owns(population, "population", status)) return;
        detail::succeeded(snn_trainer_add_output_grad(raw_, population.id(), var.c_str(), grad.data(),
                                                      static_cast<int64_t>(grad.size())),
                          status);
    }
    /// Backpropagates the losses and output gradients given since forward().
    void backward(Status& status) { detail::succeeded(snn_trainer_backward(raw_), status); }
    void zero_grad(Status& status) { detail::succeeded(snn_trainer_zero_grad(raw_), status); }
    /// One optimizer step on every trained weight (the gradients stay: zero_grad()).
    void step(Status& status) { detail::succeeded(snn_trainer_step(raw_), status); }
    /// Chooses the optimizer and resets its state (default: Adam, lr 1e-3).
    void set_optimizer(const OptimizerOptions& options, Status& status) {
        detail::succeeded(snn_trainer_set_optimizer(raw_, &options.raw()), status);
    }
    /// A connection's weight gradient, in the order and size of its weights.
    std::vector<float> read_grad(Connection connection, Status& status) const {
        std::vector<float> out;
        if (!owns(connection, status)) return out;
        const int64_t nnz = connection.nnz(status);
        if (!status.ok()) return out;
        out.resize(static_cast<std::size_t>(nnz));
        if (!detail::succeeded(snn_trainer_read_grad(raw_, connection.id(), out.data(), nnz), status)) out.clear();
        return out;
    }
    void write_grad(Connection connection, Span<const float> grad, Status& status) {
        if (!owns(connection, status)) return;
        detail::succeeded(
            snn_trainer_write_grad(raw_, connection.id(), grad.data(), static_cast<int64_t>(grad.size())), status);
    }
    /// With input_grads: the gradient of the last backward pass with respect
    /// to a source's input, [steps][batch][n].
    std::vector<float> read_input_grad(Population source, Status& status) const {
        std::vector<float> out(whole_run(source));
        if (!owns(source, "population", status) ||
            !detail::succeeded(
                snn_trainer_read_input_grad(raw_, source.id(), out.data(), static_cast<int64_t>(out.size())), status))
            out.clear();
        return out;
    }
    /// With carry_state: the next forward pass starts a new sequence.
    void reset_state(Status& status) { detail::succeeded(snn_trainer_reset_state(raw_), status); }
    /// Bytes the tape of the last forward pass holds.
    int64_t tape_bytes(Status& status) const {
        int64_t bytes = 0;
        return detail::succeeded(snn_trainer_tape_bytes(raw_, &bytes), status) ? bytes : 0;
    }
    /// Trains a neuron parameter ("v_th", "tau_mem", "beta") beside the weights, or stops.
    void train_param(Population population, StringRef name, bool trainable, Status& status) {
        if (!owns(population, "population", status)) return;
        detail::succeeded(snn_trainer_train_param(raw_, population.id(), name.c_str(), trainable ? 1 : 0), status);
    }
    /// A trained parameter's gradient, one value per neuron.
    std::vector<float> read_param_grad(Population population, StringRef name, Status& status) const {
        std::vector<float> out(static_cast<std::size_t>(population.size() > 0 ? population.size() : 0));
        if (!owns(population, "population", status) ||
            !detail::succeeded(snn_trainer_read_param_grad(raw_, population.id(), name.c_str(), out.data(),
                                                           static_cast<int64_t>(out.size())),
                               status))
            out.clear();
        return out;
    }

#if SNN_HPP_EXCEPTIONS
    static Trainer create(Network& network, const TrainerOptions& options = TrainerOptions()) {
        return detail::or_throw([&](Status& s) { return create(network, options, s); });
    }
    void forward(int64_t steps, int32_t batch, Population source, Span<const float> input) {
        detail::or_throw([&](Status& s) { forward(steps, batch, source, input, s); });
    }
    void forward(int64_t steps, int32_t batch, Population source, Span<const uint8_t> input) {
        detail::or_throw([&](Status& s) { forward(steps, batch, source, input, s); });
    }
    void forward(int64_t steps, int32_t batch, Population source, Span<const bool> input) {
        detail::or_throw([&](Status& s) { forward(steps, batch, source, input, s); });
    }
    void forward(int64_t steps, int32_t batch, Span<const Population> sources, Span<const snn_tensor> inputs) {
        detail::or_throw([&](Status& s) { forward(steps, batch, sources, inputs, s); });
    }
    void forward(int64_t steps, int32_t batch) { detail::or_throw([&](Status& s) { forward(steps, batch, s); }); }
    std::vector<float> read_output(Population population, StringRef var) const {
        return detail::or_throw([&](Status& s) { return read_output(population, var, s); });
    }
    void read_output(Population population, StringRef var, Span<float> out) const {
        detail::or_throw([&](Status& s) { read_output(population, var, out, s); });
    }
    double loss(Population population, StringRef name, Span<const int32_t> labels) {
        return detail::or_throw([&](Status& s) { return loss(population, name, labels, s); });
    }
    double loss(Population population, StringRef name, Span<const float> targets) {
        return detail::or_throw([&](Status& s) { return loss(population, name, targets, s); });
    }
    double loss(Population population, StringRef name, const snn_tensor& target) {
        return detail::or_throw([&](Status& s) { return loss(population, name, target, s); });
    }
    void add_output_grad(Population population, StringRef var, Span<const float> grad) {
        detail::or_throw([&](Status& s) { add_output_grad(population, var, grad, s); });
    }
    void backward() { detail::or_throw([&](Status& s) { backward(s); }); }
    void zero_grad() { detail::or_throw([&](Status& s) { zero_grad(s); }); }
    void step() { detail::or_throw([&](Status& s) { step(s); }); }
    void set_optimizer(const OptimizerOptions& options) { detail::or_throw([&](Status& s) { set_optimizer(options, s); }); }
    std::vector<float> read_grad(Connection connection) const {
        return detail::or_throw([&](Status& s) { return read_grad(connection, s); });
    }
    void write_grad(Connection connection, Span<const float> grad) {
        detail::or_throw([&](Status& s) { write_grad(connection, grad, s); });
    }
    std::vector<float> read_input_grad(Population source) const {
        return detail::or_throw([&](Status& s) { return read_input_grad(source, s); });
    }
    void reset_state() { detail::or_throw([&](Status& s) { reset_state(s); }); }
    int64_t tape_bytes() const { return detail::or_throw([&](Status& s) { return tape_bytes(s); }); }
    void train_param(Population population, StringRef name, bool trainable = true) {
        detail::or_throw([&](Status& s) { train_param(population, name, trainable, s); });
    }
    std::vector<float> read_param_grad(Population population, StringRef name) const {
        return detail::or_throw([&](Status& s) { return read_param_grad(population, name, s); });
    }
#endif

    snn_trainer* get() const noexcept { return raw_; }
    explicit operator bool() const noexcept { return raw_ != nullptr; }
    /// Destroys the trainer now (the network lives on) and leaves this object empty.
    void close() noexcept {
        snn_trainer_destroy(std::exchange(raw_, nullptr));
        network_.reset();
    }

private:
    bool owns(const Population& p, const char* what, Status& status) const {
        if (!raw_ || p.state_ == network_.get()) return true;  // an empty trainer: libsnn says so
        return detail::fail(status, SNN_INVALID_ARGUMENT,
                            std::string(what) + (p.state_ ? ": a population of another network" : ": an empty handle"));
    }
    bool owns(const Connection& c, Status& status) const {
        if (!raw_ || c.state_ == network_.get()) return true;
        return detail::fail(status, SNN_INVALID_ARGUMENT,
                            c.state_ ? "connection: a connection of another network" : "connection: an empty handle");
    }
    // [steps][batch][n] of the last forward pass.
    std::size_t whole_run(const Population& p) const {
        const int64_t n = steps_ * batch_ * p.size();
        return n > 0 ? static_cast<std::size_t>(n) : 0u;
    }
    void run_forward(int64_t steps, int32_t batch, int32_t count, const int32_t* ids, const snn_tensor* inputs,
                     Status& status) {
        if (detail::succeeded(snn_trainer_forward(raw_, steps, batch, count, ids, inputs), status)) {
            steps_ = steps;
            batch_ = batch;
        }
    }
    template <class T>
    void forward_as(int64_t steps, int32_t batch, Population source, Span<const T> input, Status& status) {
        if (!owns(source, "population", status)) return;
        const int64_t shape[3] = {steps, batch, source.size()};
        if (steps > 0 && batch > 0 && static_cast<int64_t>(input.size()) != steps * batch * source.size())
            return (void)detail::fail(status, SNN_SHAPE,
                                      "input: " + std::to_string(input.size()) + " values given; [steps, batch, n] = [" +
                                          std::to_string(steps) + ", " + std::to_string(batch) + ", " +
                                          std::to_string(source.size()) + "] needs " +
                                          std::to_string(steps * batch * source.size()));
        const snn_tensor t = detail::host_tensor(input.data(), detail::dtype_of<T>::value, 3, shape);
        const int32_t id = source.id();
        run_forward(steps, batch, 1, &id, &t, status);
    }
    double loss_of(Population population, StringRef name, const snn_tensor& target, Status& status) {
        if (!owns(population, "population", status)) return 0.0;
        double value = 0.0;
        return detail::succeeded(snn_trainer_loss(raw_, population.id(), name.c_str(), &target, &value), status) ? value
                                                                                                              : 0.0;
    }

    snn_trainer* raw_ = nullptr;
    std::shared_ptr<detail::NetworkState> network_;  // the trained network, kept alive
    int64_t steps_ = 0;
    int32_t batch_ = 0;
};

// ---------------------------------------------------------------------------
// Vision: stateless filters, whitening and latency coding (docs/vision.md)

/// Options of filter_kernels (snn_filter_options): "dog" (default), "log" or "gabor".
class FilterOptions {
public:
    FilterOptions() noexcept { (void)snn_filter_options_init(&raw_, sizeof raw_); }
    explicit FilterOptions(std::string filter) : FilterOptions() { filter_ = std::move(filter); }
    FilterOptions& filter(std::string name) {
        filter_ = std::move(name);
        return *this;
    }
    /// Kernel side, odd (default 7).
    FilterOptions& size(int32_t pixels) noexcept {
        raw_.size = pixels;
        return *this;
    }
    /// dog: the centre's and the surround's standard deviations (default 1, 2).
    FilterOptions& sigmas(double centre, double surround) noexcept {
        raw_.sigma1 = centre;
        raw_.sigma2 = surround;
        return *this;
    }
    /// log, gabor: the Gaussian's standard deviation (default 1).
    FilterOptions& sigma(double value) noexcept {
        raw_.sigma = value;
        return *this;
    }
    /// gabor: wavelength (default 4), aspect ratio (0.5) and phase (0).
    FilterOptions& gabor(double wavelength, double gamma, double psi = 0.0) noexcept {
        raw_.wavelength = wavelength;
        raw_.gamma = gamma;
        raw_.psi = psi;
        return *this;
    }
    /// gabor: this many kernels at k * pi / count (default 4).
    FilterOptions& orientations(int32_t count) noexcept {
        raw_.orientations = count;
        thetas_.clear();
        return *this;
    }
    /// gabor: one kernel per angle (radians).
    FilterOptions& thetas(std::vector<double> angles) {
        thetas_ = std::move(angles);
        raw_.orientations = static_cast<int32_t>(thetas_.size());
        return *this;
    }
    /// Each kernel minus its mean (default true).
    FilterOptions& zero_mean(bool on) noexcept {
        raw_.zero_mean = on ? 1 : 0;
        return *this;
    }
    snn_filter_options& raw() noexcept { return raw_; }
    const snn_filter_options& raw() const noexcept { return raw_; }
    /// The C struct with the strings and angles set here filled in (valid while *this is).
    snn_filter_options c_options() const noexcept {
        snn_filter_options c = raw_;
        if (!filter_.empty()) c.filter = filter_.c_str();
        if (!thetas_.empty()) c.thetas = thetas_.data();
        return c;
    }

private:
    snn_filter_options raw_{};
    std::string filter_;
    std::vector<double> thetas_;
};

/// A bank of square kernels, [filters][size][size].
struct FilterBank {
    std::vector<float> kernels;
    int32_t filters = 0;
    int32_t size = 0;
};

/// The kernels of a named filter (snn_filter_kernels).
inline FilterBank filter_kernels(const FilterOptions& options, Status& status) {
    const snn_filter_options c = options.c_options();
    FilterBank bank;
    int64_t count = 0;
    int32_t filters = 0;
    if (!detail::succeeded(snn_filter_kernels(&c, nullptr, 0, &count, &filters), status)) return bank;
    bank.kernels.resize(static_cast<std::size_t>(count));
    if (!detail::succeeded(snn_filter_kernels(&c, bank.kernels.data(), count, &count, &filters), status))
        return FilterBank();
    bank.filters = filters;
    bank.size = c.size;
    return bank;
}

/// Padding of image_filter.
enum class Padding : int32_t { valid = SNN_PADDING_VALID, same = SNN_PADDING_SAME };

/// The shapes of image_filter (snn_image_filter_geometry).
class ImageFilterGeometry {
public:
    ImageFilterGeometry() noexcept { (void)snn_image_filter_geometry_init(&raw_, sizeof raw_); }
    /// The images, [batch][channels][height][width].
    ImageFilterGeometry& images(int32_t batch, int32_t channels, int32_t height, int32_t width) noexcept {
        raw_.batch = batch;
        raw_.channels = channels;
        raw_.height = height;
        raw_.width = width;
        return *this;
    }
    /// The kernels, [filters][channels][height][width].
    ImageFilterGeometry& kernels(int32_t filters, int32_t height, int32_t width) noexcept {
        raw_.filters = filters;
        raw_.kernel_height = height;
        raw_.kernel_width = width;
        return *this;
    }
    ImageFilterGeometry& padding(Padding value) noexcept {
        raw_.padding = static_cast<int32_t>(value);
        return *this;
    }
    /// Each response r becomes two channels, max(r, 0) then max(-r, 0) (default false).
    ImageFilterGeometry& on_off(bool on) noexcept {
        raw_.on_off = on ? 1 : 0;
        return *this;
    }
    snn_image_filter_geometry& raw() noexcept { return raw_; }
    const snn_image_filter_geometry& raw() const noexcept { return raw_; }

private:
    snn_image_filter_geometry raw_{};
};

namespace detail {
// libsnn reads these arrays by the geometry alone: check their sizes first.
// Sizes that are not positive are left for libsnn to name.
inline bool expect_size(std::size_t given, std::initializer_list<int64_t> dims, const char* what, Status& status) {
    int64_t n = 1;
    for (int64_t d : dims) {
        if (d <= 0) return true;
        n *= d;
    }
    if (static_cast<int64_t>(given) == n) return true;
    return fail(status, SNN_SHAPE, std::string(what) + ": " + std::to_string(given) + " values given; the geometry needs " +
                                       std::to_string(n));
}
}  // namespace detail

/// Filters images with a bank of kernels (snn_image_filter): output
/// [batch][filters (x 2 with on_off)][out_height][out_width].
inline std::vector<float> image_filter(const ImageFilterGeometry& geometry, Span<const float> images,
                                       Span<const float> kernels, Status& status) {
    const snn_image_filter_geometry& g = geometry.raw();
    if (!detail::expect_size(images.size(), {g.batch, g.channels, g.height, g.width}, "images", status) ||
        !detail::expect_size(kernels.size(), {g.filters, g.channels, g.kernel_height, g.kernel_width}, "kernels", status))
        return {};
    return detail::read_all<float, int64_t>(
        [&](float* out, int64_t capacity, int64_t* count) {
            return snn_image_filter(&g, images.data(), kernels.data(), out, capacity, count);
        },
        status);
}

/// A fitted ZCA whitening: mean [columns] and W [columns][columns].
struct Zca {
    std::vector<float> mean;
    std::vector<float> whitening;
    int64_t columns = 0;
};

/// Fits ZCA whitening on data [rows][columns] (snn_zca_fit).
inline Zca zca_fit(Span<const float> data, int64_t rows, int64_t columns, double epsilon, Status& status) {
    Zca z;
    if (!detail::expect_size(data.size(), {rows, columns}, "data", status)) return z;
    const int64_t c = columns > 0 ? columns : 0;
    z.mean.resize(static_cast<std::size_t>(c));
    z.whitening.resize(static_cast<std::size_t>(c * c));
    if (!detail::succeeded(snn_zca_fit(data.data(), rows, columns, epsilon, z.mean.data(), c, z.whitening.data(), c * c),
                           status))
        return Zca();
    z.columns = columns;
    return z;
}

/// Applies a fitted whitening to rows of `zca.columns` values (snn_zca_apply).
inline std::vector<float> zca_apply(const Zca& zca, Span<const float> data, Status& status) {
    const int64_t c = zca.columns;
    if (c <= 0 || static_cast<int64_t>(zca.mean.size()) != c || static_cast<int64_t>(zca.whitening.size()) != c * c) {
        detail::fail(status, SNN_INVALID_ARGUMENT, "zca: not a fitted whitening");
        return {};
    }
    if (static_cast<int64_t>(data.size()) % c != 0) {
        detail::fail(status, SNN_SHAPE,
                     "data: " + std::to_string(data.size()) + " values given; not rows of " + std::to_string(c));
        return {};
    }
    std::vector<float> out(data.size());
    if (!detail::succeeded(snn_zca_apply(data.data(), static_cast<int64_t>(data.size()) / c, c, zca.mean.data(),
                                         zca.whitening.data(), out.data(), static_cast<int64_t>(out.size())),
                           status))
        out.clear();
    return out;
}

/// Rules of latency_encode.
enum class LatencyRule : int32_t { rank = SNN_LATENCY_RANK, linear = SNN_LATENCY_LINEAR };

/// Options of latency_encode (snn_latency_options).
class LatencyOptions {
public:
    LatencyOptions() noexcept { (void)snn_latency_options_init(&raw_, sizeof raw_); }
    LatencyOptions& rule(LatencyRule value) noexcept {
        raw_.rule = static_cast<int32_t>(value);
        return *this;
    }
    /// Values <= threshold never spike (default 0).
    LatencyOptions& threshold(double value) noexcept {
        raw_.threshold = value;
        return *this;
    }
    snn_latency_options& raw() noexcept { return raw_; }
    const snn_latency_options& raw() const noexcept { return raw_; }

private:
    snn_latency_options raw_{};
};

/// What latency_encode gives: the spike step per neuron (-1: none),
/// [batch][neurons], and the spikes, [steps][batch][neurons] (a
/// spike_source's whole-run input).
struct LatencyCode {
    std::vector<int32_t> first;
    std::vector<uint8_t> spikes;
};

/// Intensity-to-latency coding of values [batch][neurons] over `steps` steps.
inline LatencyCode latency_encode(Span<const float> values, int32_t batch, int32_t steps, const LatencyOptions& options,
                                  Status& status) {
    LatencyCode code;
    if (batch > 0 && values.size() % static_cast<std::size_t>(batch) != 0) {
        detail::fail(status, SNN_SHAPE,
                     "values: " + std::to_string(values.size()) + " values given; not [" + std::to_string(batch) +
                         ", neurons]");
        return code;
    }
    const int64_t neurons = batch > 0 ? static_cast<int64_t>(values.size()) / batch : 0;
    const int64_t cells = batch > 0 ? batch * neurons : 0;
    code.first.resize(static_cast<std::size_t>(cells));
    code.spikes.resize(static_cast<std::size_t>(steps > 0 ? steps * cells : 0));
    if (!detail::succeeded(snn_latency_encode(values.data(), batch, neurons, steps, &options.raw(), code.first.data(),
                                              cells, code.spikes.data(), static_cast<int64_t>(code.spikes.size())),
                           status))
        return LatencyCode();
    return code;
}

namespace detail {
template <class F>
std::vector<int32_t> decode_spikes(Span<const uint8_t> spikes, int64_t steps, int32_t batch, F&& call, Status& status) {
    if (steps > 0 && batch > 0 && spikes.size() % static_cast<std::size_t>(steps * batch) != 0) {
        fail(status, SNN_SHAPE,
             "spikes: " + std::to_string(spikes.size()) + " values given; not [" + std::to_string(steps) + ", " +
                 std::to_string(batch) + ", neurons]");
        return {};
    }
    const int64_t neurons = steps > 0 && batch > 0 ? static_cast<int64_t>(spikes.size()) / (steps * batch) : 0;
    std::vector<int32_t> out(static_cast<std::size_t>(batch > 0 ? batch * neurons : 0));
    if (!succeeded(call(spikes.data(), steps, batch, neurons, out.data(), static_cast<int64_t>(out.size())), status))
        out.clear();
    return out;
}
}  // namespace detail

/// The first step with a spike (-1: none) of a recorded [steps][batch][neurons] tensor, [batch][neurons].
inline std::vector<int32_t> spikes_first_step(Span<const uint8_t> spikes, int64_t steps, int32_t batch, Status& status) {
    return detail::decode_spikes(spikes, steps, batch, snn_spikes_first_step, status);
}
/// The number of steps with a spike, [batch][neurons].
inline std::vector<int32_t> spikes_count(Span<const uint8_t> spikes, int64_t steps, int32_t batch, Status& status) {
    return detail::decode_spikes(spikes, steps, batch, snn_spikes_count, status);
}

#if SNN_HPP_EXCEPTIONS
inline FilterBank filter_kernels(const FilterOptions& options = FilterOptions()) {
    return detail::or_throw([&](Status& s) { return filter_kernels(options, s); });
}
inline std::vector<float> image_filter(const ImageFilterGeometry& geometry, Span<const float> images,
                                       Span<const float> kernels) {
    return detail::or_throw([&](Status& s) { return image_filter(geometry, images, kernels, s); });
}
inline Zca zca_fit(Span<const float> data, int64_t rows, int64_t columns, double epsilon) {
    return detail::or_throw([&](Status& s) { return zca_fit(data, rows, columns, epsilon, s); });
}
inline std::vector<float> zca_apply(const Zca& zca, Span<const float> data) {
    return detail::or_throw([&](Status& s) { return zca_apply(zca, data, s); });
}
inline LatencyCode latency_encode(Span<const float> values, int32_t batch, int32_t steps,
                                  const LatencyOptions& options = LatencyOptions()) {
    return detail::or_throw([&](Status& s) { return latency_encode(values, batch, steps, options, s); });
}
inline std::vector<int32_t> spikes_first_step(Span<const uint8_t> spikes, int64_t steps, int32_t batch) {
    return detail::or_throw([&](Status& s) { return spikes_first_step(spikes, steps, batch, s); });
}
inline std::vector<int32_t> spikes_count(Span<const uint8_t> spikes, int64_t steps, int32_t batch) {
    return detail::or_throw([&](Status& s) { return spikes_count(spikes, steps, batch, s); });
}
#endif

}  // inline namespace
}  // namespace snn

#endif /* SNN_SNN_HPP */
