/*
 * snn.h — the public C ABI of libsnn, a spiking neural network runtime.
 *
 * This header is the whole public interface and its manual. It compiles as C99
 * and as C++, and stays parseable by simple tools (plain declarations, integer
 * #defines only) because the Python, Rust and C# bindings are generated from it.
 *
 * Conventions (docs/conventions.md has the long form):
 *  - Everything is prefixed snn_ / SNN_. Functions are snn_<object>_<verb>.
 *  - Functions that can fail return snn_status: SNN_OK (0) or a negative code.
 *    The message of the last failure on the calling thread is snn_last_error().
 *    Functions that cannot fail (version, last error, destroy) return their
 *    value or void. Nothing here aborts, prints, or lets an exception escape.
 *  - Ownership: an object returned through an `out` pointer by a *_create or
 *    *_load call is owned by the caller and freed with its own *_destroy
 *    (destroy(NULL) is a no-op). A `const char*` returned by a query is borrowed
 *    from its parent and valid until the parent changes or is destroyed.
 *  - Populations and connections are int32 ids inside a network, assigned from
 *    0 in creation order. A stale or foreign id is an error, never a crash.
 *  - Options structs begin with `uint32_t struct_size` and have an *_init
 *    function that fills defaults for the size the caller was compiled with;
 *    fields are only ever added at the end.
 *  - Variable-size results use the two-call pattern: call with capacity 0 (the
 *    buffer may be NULL) to learn the count, then again with a buffer.
 *  - Per-neuron arrays are laid out [batch][neurons]; whole-run arrays
 *    [steps][batch][neurons]. Dense weights are [pre][post].
 *  - Threads: a context is thread-safe; a network is used by one thread at a
 *    time. Callbacks run on the thread that called snn_network_step/run.
 *  - Units are SI (seconds, volts, hertz) unless a model's page says otherwise.
 *
 * ABI stability: symbols and struct layouts below are append-only within a
 * major version; status codes are never renumbered.
 */
#ifndef SNN_SNN_H
#define SNN_SNN_H

#include <stdint.h>

#define SNN_VERSION_MAJOR 0
#define SNN_VERSION_MINOR 1
#define SNN_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, the value snn_version() returns. */
#define SNN_VERSION_NUMBER 100

#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(SNN_BUILDING_LIBRARY)
#    define SNN_API __declspec(dllexport)
#  elif defined(SNN_STATIC)
#    define SNN_API
#  else
#    define SNN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(SNN_BUILDING_LIBRARY)
#  define SNN_API __attribute__((visibility("default")))
#else
#  define SNN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status codes, errors, version                                            */
/* ------------------------------------------------------------------------ */

/* The result of every fallible call. Values are stable forever. */
typedef int32_t snn_status;

enum snn_status_code {
    SNN_OK = 0,
    SNN_INVALID_ARGUMENT = -1, /* a NULL pointer, a bad value, an unknown name */
    SNN_NOT_FOUND = -2,        /* a name that matches no population, variable, ... */
    SNN_OUT_OF_RANGE = -3,     /* an id or index outside its range */
    SNN_SHAPE = -4,            /* an array of the wrong size or shape */
    SNN_STATE = -5,            /* the object cannot do this now (e.g. build after run) */
    SNN_FORMAT = -6,           /* a file or buffer that is not a valid .snn */
    SNN_IO = -7,               /* the operating system refused a file operation */
    SNN_NO_MEMORY = -8,        /* the allocator returned NULL */
    SNN_UNSUPPORTED = -9,      /* valid, but not supported by this build or backend */
    SNN_BACKEND = -10,         /* a backend failed or is unavailable */
    SNN_CANCELLED = -11,       /* a callback asked the run to stop */
    SNN_INTERNAL = -12         /* a bug in libsnn; please report it */
};

/* A static, human-readable name for a status code ("SNN_SHAPE"). */
SNN_API const char* snn_status_name(snn_status status);

/* The message of the last failed call on this thread, or "" if none failed.
 * Borrowed; valid until the next libsnn call on this thread. */
SNN_API const char* snn_last_error(void);

/* Forget the last error of this thread. */
SNN_API void snn_clear_error(void);

/* The runtime version as SNN_VERSION_NUMBER, and as "MAJOR.MINOR.PATCH". */
SNN_API uint32_t snn_version(void);
SNN_API const char* snn_version_string(void);

/* ------------------------------------------------------------------------ */
/* Enumerations (stable integer values)                                     */
/* ------------------------------------------------------------------------ */

/* Element types of tensors. */
#define SNN_DTYPE_FLOAT32 1
#define SNN_DTYPE_FLOAT64 2
#define SNN_DTYPE_UINT8 3
#define SNN_DTYPE_INT32 4
#define SNN_DTYPE_INT64 5
#define SNN_DTYPE_BOOL 6 /* one byte, 0 or 1 */

/* Where a tensor's memory lives. */
#define SNN_DEVICE_CPU 1

/* Log levels for the log hook. */
#define SNN_LOG_ERROR 0
#define SNN_LOG_WARNING 1
#define SNN_LOG_INFO 2
#define SNN_LOG_DEBUG 3

/* Kinds of connection (snn_connection_info.kind). */
#define SNN_CONNECTION_DENSE 1
#define SNN_CONNECTION_SPARSE 2
#define SNN_CONNECTION_ONE_TO_ONE 3
#define SNN_CONNECTION_CONV2D 4 /* shared kernel over a [C, H, W] population; snn_network_connect_conv2d */

/* Pooling after a conv2d connection (snn_conv2d_geometry.pool). */
#define SNN_POOL_NONE 0
#define SNN_POOL_MAX 1 /* the largest value of the window */
#define SNN_POOL_AVG 2 /* the window's sum divided by its size */
#define SNN_POOL_SUM 3 /* the window's sum */

/* Model kinds for the model registry queries. */
#define SNN_MODEL_NEURON 1
#define SNN_MODEL_SYNAPSE 2
#define SNN_MODEL_PLASTICITY 3 /* learning rules of connections (option "plasticity") */

/* Parameter kinds (snn_param_info.kind). */
#define SNN_PARAM_NUMBER 1
#define SNN_PARAM_STRING 2

/* Distributions for snn_*_randomize_state. */
#define SNN_DIST_UNIFORM 1 /* a = low, b = high: values in [a, b) */
#define SNN_DIST_NORMAL 2  /* a = mean, b = standard deviation */

/* Flags for snn_network_save*. */
#define SNN_SAVE_DEFAULT 0
#define SNN_SAVE_CURRENT_STATE 1 /* also store the running state and step: a loaded copy continues exactly */

/* ------------------------------------------------------------------------ */
/* Tensors: a small descriptor for arrays shared without copies             */
/* ------------------------------------------------------------------------ */

/* Describes an n-dimensional array. Strides are in elements; NULL strides mean
 * C-contiguous. When libsnn exports a tensor (a view of its own memory) it
 * fills this struct and the caller gives it back with snn_tensor_release.
 * When the caller binds a tensor to a network, libsnn copies the descriptor
 * (not the data) and, when it no longer needs the memory (unbind, rebind,
 * destroy), calls `deleter` once if it is not NULL, passing its copy. */
typedef struct snn_tensor snn_tensor;
struct snn_tensor {
    void* data;
    int32_t dtype;       /* SNN_DTYPE_* */
    int32_t ndim;        /* 0..8 */
    const int64_t* shape;
    const int64_t* strides; /* elements; NULL = C-contiguous */
    int32_t device_type; /* SNN_DEVICE_CPU */
    int32_t device_id;
    void* manager_ctx;   /* the owner's data, for the deleter */
    void (*deleter)(snn_tensor* self);
};

/* Gives back a tensor exported by libsnn (snn_*_view_*). NULL is a no-op. */
SNN_API void snn_tensor_release(snn_tensor* tensor);

/* ------------------------------------------------------------------------ */
/* Context: backend, threads, allocator and log hooks                       */
/* ------------------------------------------------------------------------ */

/* A context owns a backend and its resources. Networks are created on a
 * context and must be destroyed before it. Thread-safe. */
typedef struct snn_context snn_context;

/* Memory hooks. alloc returns memory aligned to at least `alignment` (a power
 * of two) or NULL; free receives the same size and alignment. Both are called
 * from any thread that uses the context's objects. */
typedef void* (*snn_alloc_fn)(uint64_t size, uint64_t alignment, void* user_data);
typedef void (*snn_free_fn)(void* ptr, uint64_t size, uint64_t alignment, void* user_data);

/* Log hook: level is SNN_LOG_*; message is valid during the call only. */
typedef void (*snn_log_fn)(int32_t level, const char* message, void* user_data);

/* A host's own parallel loop (a game engine's job system, say), used instead
 * of libsnn's worker threads: it must call body(body_data, i) exactly once for
 * every i in [0, count), on any of its threads and in any order, and return
 * when every call has returned. Results do not depend on how it splits the
 * work. The context's `threads` says into how many parts libsnn may divide a
 * piece of work for it (0: one per hardware core). */
typedef void (*snn_parallel_for_fn)(int64_t count, void (*body)(void* body_data, int64_t index), void* body_data,
                                    void* user_data);

typedef struct snn_context_options {
    uint32_t struct_size;
    const char* backend;   /* "auto" (NULL means "auto"), "cpu" or "reference" */
    int32_t threads;       /* worker threads; 0 = one per hardware core */
    int32_t log_level;     /* messages up to this SNN_LOG_* level reach log_fn */
    snn_alloc_fn alloc_fn; /* NULL: the C runtime's aligned allocation */
    snn_free_fn free_fn;   /* set together with alloc_fn */
    void* alloc_user_data;
    snn_log_fn log_fn;     /* NULL: no logging */
    void* log_user_data;
    /* The "cpu" backend's SIMD level: "auto" (NULL: the best this CPU runs,
     * or $SNN_CPU_SIMD if set), "avx512", "avx2" or "generic". Every level
     * gives bit-identical results. */
    const char* simd;
    /* NULL: libsnn starts `threads - 1` worker threads of its own. Else the
     * host's parallel loop runs libsnn's parallel work and libsnn starts no
     * thread. */
    snn_parallel_for_fn parallel_for;
    void* parallel_for_user_data;
} snn_context_options;

/* Fills defaults into the first `struct_size` bytes (pass sizeof(*options)). */
SNN_API snn_status snn_context_options_init(snn_context_options* options, uint32_t struct_size);

/* Creates a context. options may be NULL for all defaults. */
SNN_API snn_status snn_context_create(const snn_context_options* options, snn_context** out_context);
SNN_API void snn_context_destroy(snn_context* context);

/* The backend the context runs ("reference", ...): after "auto", the one picked.
 * Borrowed from the context. */
SNN_API snn_status snn_context_backend(const snn_context* context, const char** out_name);
SNN_API snn_status snn_context_threads(const snn_context* context, int32_t* out_threads);
/* The SIMD level the context's backend runs ("avx512", "avx2", "generic";
 * "scalar" for "reference"). Static string. */
SNN_API snn_status snn_context_simd(const snn_context* context, const char** out_level);

/* The names of the backends this build can run, in order of preference
 * ("auto" picks the first). Two-call pattern; names are static strings. */
SNN_API snn_status snn_backend_list(const char** out_names, int32_t capacity, int32_t* out_count);

/* ------------------------------------------------------------------------ */
/* Model registry: which neuron and synapse models exist, and their params  */
/* ------------------------------------------------------------------------ */

typedef struct snn_param_info {
    uint32_t struct_size;
    const char* name;          /* "tau_mem" */
    int32_t kind;              /* SNN_PARAM_NUMBER or SNN_PARAM_STRING */
    double default_number;     /* for numbers */
    const char* default_string;/* for strings; NULL for numbers */
    const char* unit;          /* "s", "V", "Hz", "1", ... ("" for strings) */
    const char* choices;       /* strings: allowed values separated by '|'; else "" */
    const char* description;
} snn_param_info;

/* Names of the models of a kind (SNN_MODEL_NEURON, SNN_MODEL_SYNAPSE or SNN_MODEL_PLASTICITY).
 * Two-call pattern; the strings are static. */
SNN_API snn_status snn_model_list(int32_t kind, const char** out_names, int32_t capacity, int32_t* out_count);

/* The parameters of a model. Two-call pattern: each element's struct_size must
 * be set by the caller (it may be smaller than this header's). */
SNN_API snn_status snn_model_params(int32_t kind, const char* model, snn_param_info* out_params,
                                   int32_t capacity, int32_t* out_count);

/* Names of the state variables of a model ("v", "u", "I", "g", ...). Two-call. */
SNN_API snn_status snn_model_state_vars(int32_t kind, const char* model, const char** out_names,
                                        int32_t capacity, int32_t* out_count);

/* ------------------------------------------------------------------------ */
/* Network: create, destroy, run                                            */
/* ------------------------------------------------------------------------ */

/* A network: populations joined by connections, with parameters and the state
 * of `batch` independent instances that share weights. Used by one thread at a
 * time. Destroy it before its context. */
typedef struct snn_network snn_network;

typedef struct snn_network_options {
    uint32_t struct_size;
    double dt;      /* step length in seconds; default 1e-4 */
    uint64_t seed;  /* seed of the network's random streams; default 0 */
    int32_t batch;  /* number of instances (and initial capacity); default 1 */
} snn_network_options;

SNN_API snn_status snn_network_options_init(snn_network_options* options, uint32_t struct_size);

/* Creates an empty network on a context. options may be NULL for defaults. */
SNN_API snn_status snn_network_create(snn_context* context, const snn_network_options* options,
                                      snn_network** out_network);
SNN_API void snn_network_destroy(snn_network* network);

SNN_API snn_status snn_network_dt(const snn_network* network, double* out_dt);
SNN_API snn_status snn_network_seed(const snn_network* network, uint64_t* out_seed);
/* The current step: 0 at creation and after reset; +1 per completed step. */
SNN_API snn_status snn_network_current_step(const snn_network* network, int64_t* out_step);

/* The number of instances. set_batch may grow the capacity; instances that
 * were running keep their state, new ones start from the initial state
 * (instance i from instance i mod the old batch). Returns SNN_STATE while any
 * exported view of the network is alive. */
SNN_API snn_status snn_network_batch(const snn_network* network, int32_t* out_batch);
SNN_API snn_status snn_network_set_batch(snn_network* network, int32_t batch);

/* Advances one step / `steps` steps (Decision 1 of docs/architecture.md: deliver,
 * integrate, threshold and reset, emit). The first step freezes the structure.
 * Returns SNN_CANCELLED if a spike callback returned non-zero; the step that
 * ran the callback is complete. */
SNN_API snn_status snn_network_step(snn_network* network);
SNN_API snn_status snn_network_run(snn_network* network, int64_t steps);

/* Restores the initial state (each variable as it was at the first step),
 * step 0 and the random streams' start. Copied inputs are cleared. */
SNN_API snn_status snn_network_reset(snn_network* network);

/* ------------------------------------------------------------------------ */
/* Populations                                                              */
/* ------------------------------------------------------------------------ */

/* Adds a population of prod(shape) neurons of a named model ("lif", "poisson",
 * ... see snn_model_list). Parameters take their defaults until set. Names are
 * unique within a network, 1..255 bytes of [A-Za-z0-9_-]. ndim is 1..8. */
SNN_API snn_status snn_network_add_population(snn_network* network, const char* name, const char* model,
                                              int32_t ndim, const int64_t* shape, int32_t* out_population);

SNN_API snn_status snn_network_population_count(const snn_network* network, int32_t* out_count);
SNN_API snn_status snn_network_find_population(const snn_network* network, const char* name,
                                               int32_t* out_population);

typedef struct snn_population_info {
    uint32_t struct_size;
    const char* name;   /* borrowed from the network */
    const char* model;  /* static */
    int64_t size;       /* number of neurons */
    int32_t ndim;
    int64_t shape[8];
    int32_t is_input;   /* 1 for sources that take per-step inputs */
} snn_population_info;

/* Fills info; set info->struct_size first. */
SNN_API snn_status snn_population_info_get(const snn_network* network, int32_t population,
                                           snn_population_info* info);

/* Sets a numeric parameter for every neuron. */
SNN_API snn_status snn_population_set_param(snn_network* network, int32_t population, const char* name,
                                            double value);
/* Sets a numeric parameter per neuron: count must be the population size. */
SNN_API snn_status snn_population_set_param_array(snn_network* network, int32_t population, const char* name,
                                                  const float* values, int64_t count);
/* Reads a numeric parameter per neuron (as float32, as the engine uses it).
 * Two-call pattern on `count`. */
SNN_API snn_status snn_population_get_param(const snn_network* network, int32_t population, const char* name,
                                            float* out_values, int64_t capacity, int64_t* out_count);
/* String options (e.g. "reset" = "value" | "subtract"). */
SNN_API snn_status snn_population_set_option(snn_network* network, int32_t population, const char* name,
                                             const char* value);
SNN_API snn_status snn_population_get_option(const snn_network* network, int32_t population,
                                             const char* name, const char** out_value);

/* State variables by name ("v", "u", "a", "spikes" read-only, ...), as float32
 * in the [batch][n] layout. read: count >= batch*n (two-call on out_count).
 * write: count == n (the same values for every instance) or batch*n. A write
 * before the first step also sets the initial state that reset restores. */
SNN_API snn_status snn_population_read_state(const snn_network* network, int32_t population, const char* var,
                                             float* out_values, int64_t capacity, int64_t* out_count);
SNN_API snn_status snn_population_write_state(snn_network* network, int32_t population, const char* var,
                                              const float* values, int64_t count);
/* Draws a state variable from a distribution (SNN_DIST_*) with its own seed,
 * independently per instance and neuron (like Brian2's v = 'Vr + rand()*...'). */
SNN_API snn_status snn_population_randomize_state(snn_network* network, int32_t population, const char* var,
                                                  int32_t distribution, double a, double b, uint64_t seed);

/* The spikes of the last step as bytes (0/1), [batch][n]. Two-call on count. */
SNN_API snn_status snn_population_read_spikes(const snn_network* network, int32_t population,
                                              uint8_t* out_spikes, int64_t capacity, int64_t* out_count);

/* A view of a state variable in the network's own memory, [batch][n] float32,
 * valid and live (it changes as the network steps) until released with
 * snn_tensor_release. A view is of the running state, so the first view, like
 * the first step, fixes the network's structure (it runs no step). Returns
 * SNN_UNSUPPORTED where the stored form is not the logical one (a device
 * backend): use read_state there. */
SNN_API snn_status snn_population_view_state(snn_network* network, int32_t population, const char* var,
                                             snn_tensor** out_view);

/* Inputs of source populations ("spike_source": spikes, nonzero = spike;
 * "current_source": values; "poisson": rates in Hz replacing `rate`).
 * set_input copies a [batch][n] tensor (float32, or uint8/bool for spikes) that
 * the next step consumes; a step without input uses the model's default. */
SNN_API snn_status snn_population_set_input(snn_network* network, int32_t population, const snn_tensor* input);

/* Binds a caller-owned input buffer read in place: shape [batch, n] (read every
 * step) or [steps, batch, n] (step k of each snn_network_run reads slice k;
 * snn_network_step reads slice 0). The buffer must stay valid until unbound;
 * its deleter, if any, is called when libsnn lets go of it. Takes precedence
 * over set_input. */
SNN_API snn_status snn_population_bind_input(snn_network* network, int32_t population, const snn_tensor* buffer);
SNN_API snn_status snn_population_unbind_input(snn_network* network, int32_t population);

/* Binds a caller-owned output buffer that each step writes in place: `var` is
 * "spikes" (uint8, bool or float32) or a state variable (float32). Shape
 * [batch, n] (overwritten every step) or [steps, batch, n] (step k of a run
 * writes slice k; a run longer than `steps` is refused with SNN_SHAPE). */
SNN_API snn_status snn_population_bind_output(snn_network* network, int32_t population, const char* var,
                                              const snn_tensor* buffer);
SNN_API snn_status snn_population_unbind_output(snn_network* network, int32_t population, const char* var);

/* Spike callback: after each step, once per instance whose population spiked,
 * with the ascending ids of the neurons that spiked (valid during the call).
 * Runs on the thread that called step/run. A non-zero return stops the run
 * with SNN_CANCELLED after the current step. */
typedef int32_t (*snn_spike_fn)(int32_t population, int64_t step, int32_t batch_index, int32_t count,
                                const int32_t* neuron_ids, void* user_data);

/* Registers (fn != NULL) or removes (fn == NULL) the population's callback. */
SNN_API snn_status snn_population_set_spike_callback(snn_network* network, int32_t population, snn_spike_fn fn,
                                                     void* user_data);

/* ------------------------------------------------------------------------ */
/* Connections                                                              */
/* ------------------------------------------------------------------------ */

typedef struct snn_connection_options {
    uint32_t struct_size;
    const char* name;     /* NULL: "<pre>_to_<post>", made unique with a suffix "_2", "_3", ... */
    const char* synapse;  /* NULL: "delta"; or "exp", "cond_exp" */
    int32_t delay;        /* steps, default 1; 0 only where it forms no cycle */
    const char* weight_dtype; /* NULL: "float32"; or "bfloat16" (snn_connection_set_option) */
} snn_connection_options;

SNN_API snn_status snn_connection_options_init(snn_connection_options* options, uint32_t struct_size);

/* Dense: weights [n_pre][n_post], count = n_pre * n_post, copied. */
SNN_API snn_status snn_network_connect_dense(snn_network* network, int32_t pre, int32_t post,
                                             const float* weights, int64_t count,
                                             const snn_connection_options* options, int32_t* out_connection);

/* Sparse CSR over presynaptic rows: row_ptr[n_pre + 1] (row_ptr[0] = 0,
 * non-decreasing, row_ptr[n_pre] = nnz), post_index[nnz] in [0, n_post),
 * weights[nnz], and optional per-synapse delays[nnz] (NULL: options->delay).
 * Duplicate (pre, post) pairs are allowed and add up. All arrays copied. */
SNN_API snn_status snn_network_connect_sparse(snn_network* network, int32_t pre, int32_t post, int64_t nnz,
                                              const int64_t* row_ptr, const int32_t* post_index,
                                              const float* weights, const int32_t* delays,
                                              const snn_connection_options* options, int32_t* out_connection);

/* Fixed probability: each (pre, post) pair is connected with probability p,
 * drawn from libsnn's generator keyed by `seed` (same seed, same synapses on
 * every platform), all with weight `weight`. Stored as sparse. */
SNN_API snn_status snn_network_connect_random(snn_network* network, int32_t pre, int32_t post, double p,
                                              float weight, uint64_t seed, const snn_connection_options* options,
                                              int32_t* out_connection);

/* One to one (n_pre == n_post): weights[n] (count = n), or one weight for all
 * when weights is NULL and count is 0 (using `weight`). */
SNN_API snn_status snn_network_connect_one_to_one(snn_network* network, int32_t pre, int32_t post,
                                                  const float* weights, int64_t count, float weight,
                                                  const snn_connection_options* options, int32_t* out_connection);

/* A 2-D convolution, as PyTorch's Conv2d followed by an optional pooling
 * (docs/models.md, "Convolution"). The presynaptic population is read as
 * [in_channels, in_height, in_width] and the postsynaptic one as
 * [out_channels, out_height, out_width] in C order, where the convolution
 * gives conv = (in + 2 padding - kernel) / stride + 1 positions per axis and
 * the pooling out = (conv - pool) / pool_stride + 1 (rounded down). Each
 * step the connection computes, from zero, the convolution of what arrives
 * (only the presynaptic neurons with a nonzero value are visited), pools
 * it, adds the bias of each output channel, and adds the result to its
 * targets once. Weights: the kernel [out_channels][in_channels]
 * [kernel_height][kernel_width], then with `bias` the [out_channels] biases;
 * count = out_channels * in_channels * kernel_height * kernel_width
 * (+ out_channels). Limits: every size 1 to 2^20; padding less than the
 * kernel's size; a pool of at most 256 cells (its fields are ignored, and
 * read back as 0, with SNN_POOL_NONE). */
typedef struct snn_conv2d_geometry {
    uint32_t struct_size;
    int32_t in_channels, in_height, in_width;
    int32_t out_channels;
    int32_t kernel_height, kernel_width;
    int32_t stride_y, stride_x;   /* default 1 */
    int32_t padding_y, padding_x; /* zeros around the input, default 0 */
    int32_t bias;                 /* 1: a bias per output channel follows the kernel (default 0) */
    int32_t pool;                 /* SNN_POOL_* (default SNN_POOL_NONE) */
    int32_t pool_height, pool_width;
    int32_t pool_stride_y, pool_stride_x; /* 0 (default): the pool's size */
} snn_conv2d_geometry;

SNN_API snn_status snn_conv2d_geometry_init(snn_conv2d_geometry* geometry, uint32_t struct_size);
SNN_API snn_status snn_network_connect_conv2d(snn_network* network, int32_t pre, int32_t post,
                                              const snn_conv2d_geometry* geometry, const float* weights, int64_t count,
                                              const snn_connection_options* options, int32_t* out_connection);
/* The geometry of a conv2d connection (its defaults filled in). */
SNN_API snn_status snn_connection_conv2d_get(const snn_network* network, int32_t connection,
                                             snn_conv2d_geometry* out_geometry);

SNN_API snn_status snn_network_connection_count(const snn_network* network, int32_t* out_count);
SNN_API snn_status snn_network_find_connection(const snn_network* network, const char* name,
                                               int32_t* out_connection);

typedef struct snn_connection_info {
    uint32_t struct_size;
    const char* name;     /* borrowed from the network */
    const char* synapse;  /* static */
    int32_t pre;
    int32_t post;
    int32_t kind;         /* SNN_CONNECTION_* */
    int32_t delay;        /* the connection's delay; for per-synapse delays, the largest */
    int64_t nnz;          /* number of weights (dense: n_pre * n_post) */
    int32_t has_synapse_delays;
} snn_connection_info;

SNN_API snn_status snn_connection_info_get(const snn_network* network, int32_t connection,
                                           snn_connection_info* info);

/* Synapse model parameters ("tau", "e_rev"), one value per connection. */
SNN_API snn_status snn_connection_set_param(snn_network* network, int32_t connection, const char* name,
                                            double value);
SNN_API snn_status snn_connection_get_param(const snn_network* network, int32_t connection, const char* name,
                                            double* out_value);

/* String options of a connection. "weight_dtype": "float32" (default) or
 * "bfloat16": the weights become bfloat16 numbers (rounded to nearest, ties
 * to even, now and whenever they are set; reading them gives those values),
 * which the "cpu" backend stores in half the memory of float32. */
SNN_API snn_status snn_connection_set_option(snn_network* network, int32_t connection, const char* name,
                                             const char* value);
SNN_API snn_status snn_connection_get_option(const snn_network* network, int32_t connection, const char* name,
                                             const char** out_value);

/* Weights in the connection's order (dense: [pre][post]; sparse: CSR order;
 * one-to-one: by neuron; conv2d: the kernel, then any biases). get: two-call on count; set: count == nnz. */
SNN_API snn_status snn_connection_get_weights(const snn_network* network, int32_t connection, float* out_weights,
                                              int64_t capacity, int64_t* out_count);
SNN_API snn_status snn_connection_set_weights(snn_network* network, int32_t connection, const float* weights,
                                              int64_t count);
/* The (pre, post) index pairs and delays in the same order as the weights.
 * Any of the three output arrays may be NULL. Two-call on count. A conv2d
 * connection shares its weights among pairs: SNN_UNSUPPORTED. */
SNN_API snn_status snn_connection_get_synapses(const snn_network* network, int32_t connection,
                                               int32_t* out_pre, int32_t* out_post, int32_t* out_delays,
                                               int64_t capacity, int64_t* out_count);

/* Synaptic state ("I" for exp, "g" for cond_exp), [batch][n_post] float32, as
 * for populations. Delta synapses have no state. */
SNN_API snn_status snn_connection_read_state(const snn_network* network, int32_t connection, const char* var,
                                             float* out_values, int64_t capacity, int64_t* out_count);
SNN_API snn_status snn_connection_write_state(snn_network* network, int32_t connection, const char* var,
                                              const float* values, int64_t count);
SNN_API snn_status snn_connection_randomize_state(snn_network* network, int32_t connection, const char* var,
                                                  int32_t distribution, double a, double b, uint64_t seed);

/* What learning changed in one step on one plastic connection (docs/models.md,
 * "Plasticity"), given to its learning callback. */
typedef struct snn_learning_event {
    uint32_t struct_size;
    int32_t connection;
    int64_t step;
    int64_t synapses_changed;  /* updates that changed a weight (one changed at a presynaptic and a postsynaptic event counts twice) */
    double total_change;       /* the sum of |new - old| over those updates */
    int32_t all;               /* 1: any synapse may have changed (rstdp, normalisation); rows and columns are then empty */
    int32_t row_count;         /* presynaptic neurons whose synapses changed through presynaptic events */
    const int32_t* rows;
    int32_t column_count;      /* postsynaptic neurons whose synapses changed through their spikes */
    const int32_t* columns;
} snn_learning_event;

/* Learning callback: after each step in which a plastic connection's weights
 * changed, on the thread that called step/run, after the spike callbacks.
 * The event and its arrays are valid during the call; the callback may read
 * the new weights (snn_connection_get_weights) and state. A non-zero return
 * stops the run with SNN_CANCELLED after the current step. */
typedef int32_t (*snn_learning_fn)(const snn_learning_event* event, void* user_data);

/* Registers (fn != NULL) or removes (fn == NULL) a plastic connection's learning callback. */
SNN_API snn_status snn_connection_set_learning_callback(snn_network* network, int32_t connection, snn_learning_fn fn,
                                                        void* user_data);

/* ------------------------------------------------------------------------ */
/* Files: .snn (a safetensors container; docs/file-format.md)               */
/* ------------------------------------------------------------------------ */

typedef struct snn_load_options {
    uint32_t struct_size;
    int32_t batch; /* 0: the batch the file was saved with */
} snn_load_options;

SNN_API snn_status snn_load_options_init(snn_load_options* options, uint32_t struct_size);

/* flags: SNN_SAVE_*. */
SNN_API snn_status snn_network_save(const snn_network* network, const char* path, uint32_t flags);
/* Serialises into buffer. Two-call pattern on out_size (bytes). */
SNN_API snn_status snn_network_save_to_memory(const snn_network* network, uint32_t flags, void* buffer,
                                              int64_t capacity, int64_t* out_size);

/* Loads a network onto a context. A file that is truncated, corrupted or not
 * a .snn returns SNN_FORMAT. options may be NULL. */
SNN_API snn_status snn_network_load(snn_context* context, const char* path, const snn_load_options* options,
                                    snn_network** out_network);
SNN_API snn_status snn_network_load_from_memory(snn_context* context, const void* data, int64_t size,
                                                const snn_load_options* options, snn_network** out_network);

/* ------------------------------------------------------------------------ */
/* Training: surrogate-gradient backpropagation through time                */
/* (docs/training.md)                                                       */
/* ------------------------------------------------------------------------ */

/* A trainer runs a network forward over a batch of sequences, keeping what
 * the backward pass needs (the tape), then backpropagates gradients to the
 * weights of its connections (and to neuron parameters chosen with
 * snn_trainer_train_param) and updates them with an optimizer. The
 * forward pass computes exactly what "reference" computes for the same
 * inputs from the initial state. The weights it trains are the network's own:
 * after snn_trainer_step the network runs, saves and exports them. A trainer
 * must be destroyed before its network; it refuses to run once populations
 * or connections were added after its creation. */
typedef struct snn_trainer snn_trainer;

typedef struct snn_trainer_options {
    uint32_t struct_size;
    int32_t detach_reset; /* 1: no gradient flows through the reset (as snnTorch); 0 (default): it does */
    /* 1: each forward pass continues from where the previous one ended (state
     * and the spikes still travelling on delayed connections), for truncated
     * BPTT over a long sequence given in pieces; gradients stop at the cuts.
     * snn_trainer_reset_state starts a new sequence. 0 (default): every
     * forward pass starts from the initial state. */
    int32_t carry_state;
    /* 1: backward also computes the gradient with respect to the inputs of
     * the source populations (snn_trainer_read_input_grad), for a trainer
     * inside a larger differentiable model. 0 (default): it does not. */
    int32_t input_grads;
} snn_trainer_options;

/* Optimizers (snn_optimizer_options.kind). */
#define SNN_OPTIMIZER_SGD 1   /* with momentum; weight_decay adds weight_decay * w to the gradient */
#define SNN_OPTIMIZER_ADAM 2  /* Adam; weight_decay as SGD */
#define SNN_OPTIMIZER_ADAMW 3 /* Adam with decoupled weight decay */

typedef struct snn_optimizer_options {
    uint32_t struct_size;
    int32_t kind;         /* SNN_OPTIMIZER_*; default SNN_OPTIMIZER_ADAM */
    double learning_rate; /* default 1e-3 */
    double momentum;      /* SGD; default 0 */
    double beta1;         /* Adam(W); default 0.9 */
    double beta2;         /* Adam(W); default 0.999 */
    double eps;           /* Adam(W); default 1e-8 */
    double weight_decay;  /* default 0 */
    double clip_norm;     /* > 0: gradients scaled so that their joint L2 norm is at most this; default 0 (off) */
} snn_optimizer_options;

SNN_API snn_status snn_trainer_options_init(snn_trainer_options* options, uint32_t struct_size);
SNN_API snn_status snn_optimizer_options_init(snn_optimizer_options* options, uint32_t struct_size);

/* Checks that the network can be trained (docs/training.md lists what can),
 * else SNN_UNSUPPORTED naming what cannot. options may be NULL. */
SNN_API snn_status snn_trainer_create(snn_network* network, const snn_trainer_options* options,
                                      snn_trainer** out_trainer);
SNN_API void snn_trainer_destroy(snn_trainer* trainer);

/* Runs `steps` steps on `batch` sequences, each from the network's initial
 * state (that of instance 0), and records the tape. inputs[k] is
 * [steps, batch, n] (float32, uint8 or bool; strides allowed) for source
 * population populations[k]; a source without input emits what it does in a
 * step without input. Poisson sources cannot be trained through: encode
 * rates as spikes (a spike_source) instead. The inputs are copied. */
SNN_API snn_status snn_trainer_forward(snn_trainer* trainer, int64_t steps, int32_t batch, int32_t count,
                                       const int32_t* populations, const snn_tensor* inputs);

/* What the last forward pass produced: var "spikes" (0 or 1) or "v" (after
 * the reset) of a non-source population, [steps, batch, n] float32. */
SNN_API snn_status snn_trainer_read_output(const snn_trainer* trainer, int32_t population, const char* var,
                                           float* out, int64_t count);

/* A built-in loss on a population's output of the last forward pass, its
 * value averaged over the batch; adds its gradient to what the next
 * snn_trainer_backward propagates. loss: "ce_count" (cross-entropy of the
 * spike counts as logits), "mse_count" (mean squared error of the spike
 * counts), "ce_max_v" / "ce_mean_v" (cross-entropy of the maximum or mean
 * over time of v, for an "li" readout). target: int32 [batch] class labels
 * for "ce_*", float32 [batch, n] counts for "mse_count". */
SNN_API snn_status snn_trainer_loss(snn_trainer* trainer, int32_t population, const char* loss,
                                    const snn_tensor* target, double* out_loss);

/* Adds a gradient of the caller's own loss with respect to a population's
 * output ("spikes" or "v", as snn_trainer_read_output): [steps, batch, n]. */
SNN_API snn_status snn_trainer_add_output_grad(snn_trainer* trainer, int32_t population, const char* var,
                                               const float* grad, int64_t count);

/* Backpropagates the gradients given since the last forward pass (losses and
 * output gradients, which it then clears) through the tape, adding to each
 * trained connection's weight gradient. */
SNN_API snn_status snn_trainer_backward(snn_trainer* trainer);

/* Sets every weight gradient to zero. */
SNN_API snn_status snn_trainer_zero_grad(snn_trainer* trainer);

/* A connection's weight gradient, in the order and shape of its weights ([pre, post] dense, [nnz] sparse
 * and one-to-one, the kernel then the biases for conv2d). */
SNN_API snn_status snn_trainer_read_grad(const snn_trainer* trainer, int32_t connection, float* out_grad,
                                         int64_t count);
SNN_API snn_status snn_trainer_write_grad(snn_trainer* trainer, int32_t connection, const float* grad,
                                          int64_t count);

/* Chooses the optimizer (and resets its state). The default is Adam with
 * the defaults of snn_optimizer_options_init. */
SNN_API snn_status snn_trainer_set_optimizer(snn_trainer* trainer, const snn_optimizer_options* options);

/* One optimizer step on every trained connection's weights from its gradient
 * (which it leaves as it is: call snn_trainer_zero_grad). */
SNN_API snn_status snn_trainer_step(snn_trainer* trainer);

/* With input_grads: the gradient of the last backward pass with respect to
 * a source population's input, [steps, batch, n] float32 (for a spike
 * source, with respect to its 0/1 values, as a straight-through estimate). */
SNN_API snn_status snn_trainer_read_input_grad(const snn_trainer* trainer, int32_t population, float* out_grad,
                                               int64_t count);

/* With carry_state: the next forward pass starts from the initial state (a
 * new sequence). Without it, nothing to do (every pass does). */
SNN_API snn_status snn_trainer_reset_state(snn_trainer* trainer);

/* Bytes the tape of the last forward pass holds. */
SNN_API snn_status snn_trainer_tape_bytes(const snn_trainer* trainer, int64_t* out_bytes);

/* Neuron parameters trained beside the weights (docs/training.md): "v_th"
 * (lif, alif, if, leaky), "tau_mem" or "beta" (lif, alif, li whose inputs
 * are all delta synapses; "beta" trains the decay per step exp(-dt /
 * tau_mem), a dimensionless number, and stores it back as tau_mem) and
 * "beta" (leaky), one value per neuron. trainable 1: from the next forward
 * pass on, snn_trainer_backward also computes their gradient and
 * snn_trainer_step updates them with the weights (tau_mem kept at least dt /
 * 1000, a decay within [1e-6, 1 - 1e-6], leaky's beta in [0, 1]); 0: no
 * longer. */
SNN_API snn_status snn_trainer_train_param(snn_trainer* trainer, int32_t population, const char* name,
                                           int32_t trainable);
/* A trained parameter's gradient, [n] (zero_grad clears it). */
SNN_API snn_status snn_trainer_read_param_grad(const snn_trainer* trainer, int32_t population, const char* name,
                                               float* out_grad, int64_t count);

/* ------------------------------------------------------------------------ */
/* Vision: filter banks, image filtering, ZCA whitening, latency coding     */
/* (docs/vision.md states every equation and order of operations)           */
/* ------------------------------------------------------------------------ */

/* These functions keep no state and need no context: they read the caller's
 * arrays and write the caller's buffers (scratch memory, if any, comes from
 * the C++ runtime heap and is freed before they return). Images are
 * [batch][channels][height][width] float32 in C order. */

/* Padding of snn_image_filter (snn_image_filter_geometry.padding). */
#define SNN_PADDING_VALID 0 /* only positions where the kernel lies inside the image */
#define SNN_PADDING_SAME 1  /* zeros around the image; the output has the input's size (odd kernels) */

/* Rules of snn_latency_encode (snn_latency_options.rule). */
#define SNN_LATENCY_RANK 0   /* rank order: sorted by value, spread evenly over the steps */
#define SNN_LATENCY_LINEAR 1 /* step round((1 - clip(v, 0, 1)) * (steps - 1)), as snn.encode.latency */

/* A named filter and its parameters. filter: "dog" (difference of
 * Gaussians, on-centre), "log" (the negative Laplacian of Gaussian, on-centre)
 * or "gabor" (one kernel per orientation). Lengths are in pixels, angles in
 * radians. Limits: size odd, 1 to 1023; every sigma, the wavelength and gamma
 * positive and finite; sigma1 < sigma2; 1 to 1024 orientations. */
typedef struct snn_filter_options {
    uint32_t struct_size;
    const char* filter;   /* NULL: "dog" */
    int32_t size;         /* kernel side; default 7 */
    double sigma1;        /* dog: the centre's standard deviation; default 1 */
    double sigma2;        /* dog: the surround's; default 2 */
    double sigma;         /* log, gabor: the Gaussian's standard deviation; default 1 */
    double wavelength;    /* gabor: lambda, the wavelength of the carrier; default 4 */
    double gamma;         /* gabor: spatial aspect ratio; default 0.5 */
    double psi;           /* gabor: phase offset; default 0 */
    int32_t orientations; /* gabor: the number of kernels; default 4 */
    const double* thetas; /* gabor: [orientations] angles; NULL (default): k * pi / orientations, k = 0, 1, ... */
    int32_t zero_mean;    /* 1 (default): each kernel minus its mean, so a uniform image gives 0; 0: as the equation */
} snn_filter_options;

SNN_API snn_status snn_filter_options_init(snn_filter_options* options, uint32_t struct_size);

/* The kernels of a filter, [filters][size][size] float32 (computed in double,
 * rounded): one filter for "dog" and "log", `orientations` for "gabor".
 * Two-call pattern on out_count (values); out_filters (may be NULL) receives
 * the number of filters. */
SNN_API snn_status snn_filter_kernels(const snn_filter_options* options, float* out_kernels, int64_t capacity,
                                      int64_t* out_count, int32_t* out_filters);

/* The shapes of snn_image_filter. Every size 1 to 2^20. */
typedef struct snn_image_filter_geometry {
    uint32_t struct_size;
    int32_t batch, channels, height, width;   /* the images, [batch][channels][height][width] */
    int32_t filters, kernel_height, kernel_width; /* the kernels, [filters][channels][kernel_height][kernel_width] */
    int32_t padding; /* SNN_PADDING_*; default SNN_PADDING_VALID */
    int32_t on_off;  /* 1: each response r becomes two channels, max(r, 0) then max(-r, 0); default 0 */
} snn_image_filter_geometry;

SNN_API snn_status snn_image_filter_geometry_init(snn_image_filter_geometry* geometry, uint32_t struct_size);

/* Filters a batch of images with a bank of kernels: the cross-correlation of
 * PyTorch's conv2d (no kernel flip, stride 1), summed over channels, each sum
 * accumulated in float32 from zero in the order channel, kernel row, kernel
 * column. Output [batch][filters (x 2 with on_off)][out_height][out_width],
 * out = in - kernel + 1 (valid) or in (same). Two-call pattern on out_count. */
SNN_API snn_status snn_image_filter(const snn_image_filter_geometry* geometry, const float* images,
                                    const float* kernels, float* out, int64_t capacity, int64_t* out_count);

/* ZCA whitening fitted on data [rows][columns] (rows >= 2, columns 1 to
 * 16384): the mean m and W = U diag(1 / sqrt(lambda + epsilon)) U^T of the
 * covariance (1 / rows) sum (x - m)(x - m)^T = U diag(lambda) U^T, computed
 * in double (a cyclic Jacobi eigen-decomposition) and rounded to float32.
 * epsilon >= 0; every lambda + epsilon must be positive. out_mean [columns]
 * (mean_count = columns) and out_whitening [columns][columns]. */
SNN_API snn_status snn_zca_fit(const float* data, int64_t rows, int64_t columns, double epsilon, float* out_mean,
                               int64_t mean_count, float* out_whitening, int64_t whitening_count);

/* Applies a fitted whitening: out[r] = W (data[r] - mean), summed in double
 * in ascending column order and rounded. out may be data itself;
 * count = rows * columns. */
SNN_API snn_status snn_zca_apply(const float* data, int64_t rows, int64_t columns, const float* mean,
                                 const float* whitening, float* out, int64_t count);

typedef struct snn_latency_options {
    uint32_t struct_size;
    int32_t rule;     /* SNN_LATENCY_*; default SNN_LATENCY_RANK */
    double threshold; /* values <= threshold (and NaN) never spike; default 0 */
} snn_latency_options;

SNN_API snn_status snn_latency_options_init(snn_latency_options* options, uint32_t struct_size);

/* Intensity-to-latency coding: values [batch][neurons], one spike or none per
 * neuron within `steps` steps, higher values earlier. Rank rule: per
 * instance, a neuron with value above the threshold spikes at step
 * floor(r * steps / K), where K neurons are above the threshold and r of them
 * have a strictly greater value (equal values spike together). Writes
 * out_first [batch][neurons] int32 (the step, or -1 for none) and/or
 * out_spikes [steps][batch][neurons] uint8 (0/1, a spike_source's whole-run
 * input); either may be NULL, not both. first_count and spikes_count are the
 * buffers' sizes in elements (ignored for a NULL buffer). options may be NULL. */
SNN_API snn_status snn_latency_encode(const float* values, int32_t batch, int64_t neurons, int32_t steps,
                                      const snn_latency_options* options, int32_t* out_first, int64_t first_count,
                                      uint8_t* out_spikes, int64_t spikes_count);

/* Decoders of a recorded spike tensor [steps][batch][neurons] (nonzero =
 * spike): the first step with a spike (-1 for none), and the number of
 * steps with a spike, each [batch][neurons] int32 (count = batch * neurons). */
SNN_API snn_status snn_spikes_first_step(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons,
                                         int32_t* out_first, int64_t count);
SNN_API snn_status snn_spikes_count(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons,
                                    int32_t* out_counts, int64_t count);

#ifdef __cplusplus
}
#endif

#endif /* SNN_SNN_H */
