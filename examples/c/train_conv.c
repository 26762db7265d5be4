/* Training a convolutional spiking network on Fashion-MNIST from C
 * (docs/training.md): rate-coded images -> conv2d 1->8, 5x5, max pool 2 ->
 * LIF [8, 12, 12] -> dense -> LIF 10, trained by surrogate-gradient BPTT with
 * Adam on the cross-entropy of the output spike counts. The trained network
 * is run on test images (snn_network_run), saved to a .snn file, loaded back
 * and run again on the same spikes: both accuracies are printed and must agree.
 *
 *   train_conv [train_images [test_images [epochs [folder]]]]
 *
 * Defaults: 2000 training images, 1000 test images, 1 epoch. The folder holds
 * the IDX files (train-images-idx3-ubyte.gz, ..., plain or gzip-compressed;
 * gzip files are read through `gzip -dc`); default $SNN_FASHION_MNIST, else
 * /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). Without
 * the files it prints why and exits 0 ("skipped"). Exits 1 if a call fails,
 * if the loaded network classifies differently, or if, trained on at least
 * 1000 images, it reaches less than 40 % test accuracy (2000 images, the
 * default, give about 65 %).
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* popen, getpid, clock_gettime */
#endif
#include <snn/snn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <process.h>
#define popen _popen
#define pclose _pclose
#define getpid _getpid
#else
#include <unistd.h>
#endif

#define CHECK(call)                                                                                      \
    do {                                                                                                 \
        snn_status status_ = (call);                                                                     \
        if (status_ != SNN_OK) {                                                                         \
            fprintf(stderr, "%s failed: %s: %s\n", #call, snn_status_name(status_), snn_last_error()); \
            exit(1);                                                                                     \
        }                                                                                                \
    } while (0)

enum {
    kSide = 28,
    kPixels = kSide * kSide,
    kChannels = 8,
    kKernel = 5,
    kPooled = (kSide - kKernel + 1) / 2, /* 24 / 2 = 12 */
    kHidden = kChannels * kPooled * kPooled,
    kClasses = 10,
    kSteps = 25,
    kBatch = 16,     /* training sequences per optimizer step */
    kTestBatch = 250 /* test images per snn_network_run */
};

/* ------------------------------------------------------------------------ */
/* A small deterministic random number generator (xorshift64*)              */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double uniform(void) { /* in [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------------ */
/* Fashion-MNIST: IDX files, plain or through `gzip -dc`                     */

typedef struct {
    FILE* file;
    int pipe; /* opened with popen */
} idx_stream;

static int file_exists(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* Finds `stem` or `stem.gz` in folder; 0 if neither is there. */
static int find_file(const char* folder, const char* stem, char* path, size_t size) {
    snprintf(path, size, "%s/%s.gz", folder, stem);
    if (file_exists(path)) return 1;
    snprintf(path, size, "%s/%s", folder, stem);
    return file_exists(path);
}

static int open_idx(const char* path, idx_stream* s) {
    const size_t n = strlen(path);
    s->pipe = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    if (!s->pipe) {
        s->file = fopen(path, "rb");
        return s->file != NULL;
    }
    { /* gzip -dc -- 'path', with any ' in the path written as '\'' */
        char command[4200];
        size_t k = 0;
        const char* prefix = "gzip -dc -- '";
        for (const char* p = prefix; *p; ++p) command[k++] = *p;
        for (const char* p = path; *p && k + 8 < sizeof command; ++p) {
            if (*p == '\'') {
                memcpy(command + k, "'\\''", 4);
                k += 4;
            } else {
                command[k++] = *p;
            }
        }
        command[k++] = '\'';
        command[k] = '\0';
        s->file = popen(command, "r");
        return s->file != NULL;
    }
}

static void close_idx(idx_stream* s) {
    if (!s->file) return;
    if (s->pipe) {
        char sink[65536];
        while (fread(sink, 1, sizeof sink, s->file) > 0) {
        } /* let gzip finish rather than break its pipe */
        pclose(s->file);
    } else {
        fclose(s->file);
    }
    s->file = NULL;
}

static uint32_t big_endian(const unsigned char* b) {
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

/* Reads the first `count` items of an IDX file of unsigned bytes with `ndim`
 * dimensions (images: 3, labels: 1) whose items hold `item` bytes each. */
static int read_idx(const char* path, int ndim, size_t item, size_t count, unsigned char* out) {
    idx_stream s = {NULL, 0};
    unsigned char header[16];
    int ok = 0;
    if (!open_idx(path, &s)) {
        fprintf(stderr, "%s: cannot open it\n", path);
        return 0;
    }
    if (fread(header, 1, 4 + 4 * (size_t)ndim, s.file) != 4 + 4 * (size_t)ndim || header[0] != 0 || header[1] != 0 ||
        header[2] != 0x08 || header[3] != ndim) {
        fprintf(stderr, "%s: not an IDX file of %d-dimensional unsigned bytes (is gzip installed?)\n", path, ndim);
    } else if (big_endian(header + 4) < count) {
        fprintf(stderr, "%s: %u items, %zu wanted\n", path, big_endian(header + 4), count);
    } else if (ndim == 3 && (big_endian(header + 8) != kSide || big_endian(header + 12) != kSide)) {
        fprintf(stderr, "%s: images of %u x %u pixels, not 28 x 28\n", path, big_endian(header + 8), big_endian(header + 12));
    } else if (fread(out, item, count, s.file) != count) {
        fprintf(stderr, "%s: truncated\n", path);
    } else {
        ok = 1;
    }
    close_idx(&s);
    return ok;
}

typedef struct {
    unsigned char* images; /* [n][784] */
    unsigned char* labels; /* [n] */
    size_t n;
} dataset;

static int load_split(const char* folder, const char* prefix, size_t n, dataset* d) {
    char images[4096], labels[4096], stem[64];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    if (!find_file(folder, stem, images, sizeof images)) return -1;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    if (!find_file(folder, stem, labels, sizeof labels)) return -1;
    d->n = n;
    d->images = malloc(n * kPixels);
    d->labels = malloc(n);
    if (!d->images || !d->labels) {
        fprintf(stderr, "out of memory\n");
        return 0;
    }
    return read_idx(images, 3, kPixels, n, d->images) && read_idx(labels, 1, 1, n, d->labels);
}

/* Rate coding: in each of kSteps steps, pixel i of an image spikes with
 * probability (its intensity) / 255. spikes is [kSteps][batch][784]; image b
 * of the batch is images[order[b]]. */
static void encode(const dataset* d, const size_t* order, int32_t batch, uint8_t* spikes, int32_t* labels) {
    for (int32_t b = 0; b < batch; ++b) labels[b] = d->labels[order[b]];
    for (int32_t t = 0; t < kSteps; ++t)
        for (int32_t b = 0; b < batch; ++b) {
            const unsigned char* image = d->images + order[b] * kPixels;
            uint8_t* row = spikes + ((size_t)t * batch + b) * kPixels;
            for (int32_t i = 0; i < kPixels; ++i) row[i] = uniform() * 255.0 < image[i];
        }
}

/* ------------------------------------------------------------------------ */
/* The network                                                              */

typedef struct {
    int32_t input, hidden, output, conv, dense;
} layers;

/* A LIF layer as snnTorch's Leaky(beta=0.9): v_rest 0, threshold 1, reset by
 * subtraction, and tau_mem such that exp(-dt / tau_mem) = 0.9. */
static int32_t add_lif(snn_network* net, const char* name, int32_t ndim, const int64_t* shape, double dt) {
    int32_t pop = -1;
    CHECK(snn_network_add_population(net, name, "lif", ndim, shape, &pop));
    CHECK(snn_population_set_param(net, pop, "tau_mem", -dt / log(0.9)));
    CHECK(snn_population_set_param(net, pop, "v_rest", 0.0));
    CHECK(snn_population_set_param(net, pop, "v_reset", 0.0));
    CHECK(snn_population_set_param(net, pop, "v_th", 1.0));
    CHECK(snn_population_set_option(net, pop, "reset", "subtract"));
    return pop;
}

/* Weights uniform in [-bound, bound), bound = 1 / sqrt(fan_in) (PyTorch's default). */
static float* uniform_weights(size_t n, int64_t fan_in) {
    float* w = malloc(n * sizeof *w);
    const double bound = 1.0 / sqrt((double)fan_in);
    if (!w) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t k = 0; k < n; ++k) w[k] = (float)((2.0 * uniform() - 1.0) * bound);
    return w;
}

static layers build(snn_network* net, double dt) {
    layers l;
    const int64_t in_shape[3] = {1, kSide, kSide}, hidden_shape[3] = {kChannels, kPooled, kPooled}, out_shape[1] = {kClasses};
    snn_conv2d_geometry g;
    snn_connection_options options;
    const size_t n_kernel = (size_t)kChannels * kKernel * kKernel, n_conv = n_kernel + kChannels;
    float* w;

    CHECK(snn_network_add_population(net, "input", "spike_source", 3, in_shape, &l.input));
    l.hidden = add_lif(net, "features", 3, hidden_shape, dt);
    l.output = add_lif(net, "output", 1, out_shape, dt);

    CHECK(snn_connection_options_init(&options, sizeof options));
    options.synapse = "delta";
    options.delay = 0; /* a feedforward layer sees its input in the same step */

    CHECK(snn_conv2d_geometry_init(&g, sizeof g));
    g.in_channels = 1;
    g.in_height = kSide;
    g.in_width = kSide;
    g.out_channels = kChannels;
    g.kernel_height = kKernel;
    g.kernel_width = kKernel;
    g.bias = 1;
    g.pool = SNN_POOL_MAX;
    g.pool_height = 2;
    g.pool_width = 2; /* pool strides 0: the pool's size */
    w = uniform_weights(n_conv, kKernel * kKernel); /* the kernel [8][1][5][5], then 8 biases */
    options.name = "conv";
    CHECK(snn_network_connect_conv2d(net, l.input, l.hidden, &g, w, (int64_t)n_conv, &options, &l.conv));
    free(w);

    w = uniform_weights((size_t)kHidden * kClasses, kHidden); /* [1152][10] */
    options.name = "readout";
    CHECK(snn_network_connect_dense(net, l.hidden, l.output, w, (int64_t)kHidden * kClasses, &options, &l.dense));
    free(w);
    return l;
}

static snn_tensor tensor(void* data, int32_t dtype, int32_t ndim, const int64_t* shape) {
    snn_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.ndim = ndim;
    t.shape = shape;
    t.device_type = SNN_DEVICE_CPU;
    return t;
}

/* The class of instance b: the output neuron with the most spikes (the lowest on a tie). */
static int32_t predicted(const uint8_t* spikes, int32_t batch, int32_t b) {
    int32_t counts[kClasses] = {0}, best = 0;
    for (int32_t t = 0; t < kSteps; ++t)
        for (int32_t c = 0; c < kClasses; ++c) counts[c] += spikes[((size_t)t * batch + b) * kClasses + c];
    for (int32_t c = 1; c < kClasses; ++c)
        if (counts[c] > counts[best]) best = c;
    return best;
}

/* Runs the network (snn_network_run, from its initial state) on the test
 * images, rate-coded from the random stream's state `seed` (the same seed,
 * the same spikes), and writes each one's predicted class. */
static void classify(snn_network* net, const layers* l, const dataset* d, uint64_t seed, int32_t* classes) {
    static uint8_t spikes[(size_t)kSteps * kTestBatch * kPixels], out[(size_t)kSteps * kTestBatch * kClasses];
    size_t order[kTestBatch];
    int32_t labels[kTestBatch];
    rng_state = seed;
    for (size_t first = 0; first < d->n; first += kTestBatch) {
        const int32_t batch = (int32_t)(d->n - first < kTestBatch ? d->n - first : kTestBatch);
        const int64_t in_shape[3] = {kSteps, batch, kPixels}, out_shape[3] = {kSteps, batch, kClasses};
        snn_tensor x = tensor(spikes, SNN_DTYPE_UINT8, 3, in_shape), y = tensor(out, SNN_DTYPE_UINT8, 3, out_shape);
        for (int32_t b = 0; b < batch; ++b) order[b] = first + (size_t)b;
        encode(d, order, batch, spikes, labels);
        CHECK(snn_network_reset(net));
        CHECK(snn_network_set_batch(net, batch));
        CHECK(snn_population_bind_input(net, l->input, &x));
        CHECK(snn_population_bind_output(net, l->output, "spikes", &y));
        CHECK(snn_network_run(net, kSteps));
        CHECK(snn_population_unbind_input(net, l->input));
        CHECK(snn_population_unbind_output(net, l->output, "spikes"));
        for (int32_t b = 0; b < batch; ++b) classes[first + (size_t)b] = predicted(out, batch, b);
    }
}

static double seconds(void) { /* wall-clock time */
    struct timespec ts;
#ifdef _WIN32
    timespec_get(&ts, TIME_UTC);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
    const size_t n_train = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000, n_test = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    const int epochs = argc > 3 ? atoi(argv[3]) : 1;
    const char* env = getenv("SNN_FASHION_MNIST");
    const char* folder = argc > 4 ? argv[4] : env && *env ? env : "/usr/share/datasets/fashion-mnist";
    const double dt = 1e-3;
    dataset train = {NULL, NULL, 0}, test = {NULL, NULL, 0};
    snn_context* context = NULL;
    snn_network* net = NULL;
    snn_network* loaded = NULL;
    snn_network_options network_options;
    snn_trainer* trainer = NULL;
    snn_optimizer_options adam;
    const char* backend = NULL;
    layers l;
    size_t* order;
    uint8_t* spikes;
    uint64_t test_seed;
    float* out_spikes;
    int32_t labels[kBatch], *classes, *classes_loaded;
    size_t correct = 0, correct_loaded = 0, same = 0;
    char path[4096];
    double start, train_seconds;
    int status;

    if (n_train < 1 || n_test < 1 || n_train > 60000 || n_test > 10000 || epochs < 1) {
        fprintf(stderr, "usage: %s [train_images (1..60000) [test_images (1..10000) [epochs [folder]]]]\n", argv[0]);
        return 2;
    }
    status = load_split(folder, "train", n_train, &train);
    if (status > 0) status = load_split(folder, "t10k", n_test, &test);
    if (status < 0) {
        printf("skipped: the four Fashion-MNIST IDX files are not in %s (install Debian's dataset-fashion-mnist, or give a folder\n"
               "of train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n"
               "t10k-labels-idx1-ubyte.gz as the fourth argument or in $SNN_FASHION_MNIST)\n",
               folder);
        return 0;
    }
    if (status == 0) return 1;

    CHECK(snn_context_create(NULL, &context));
    CHECK(snn_context_backend(context, &backend));
    CHECK(snn_network_options_init(&network_options, sizeof network_options));
    network_options.dt = dt;
    CHECK(snn_network_create(context, &network_options, &net));
    l = build(net, dt);
    printf("Fashion-MNIST, %zu training and %zu test images, %d epoch(s); libsnn %s, backend %s\n", n_train, n_test, epochs,
           snn_version_string(), backend);
    printf("input [1, 28, 28] -> conv2d 5x5, 8 channels, max pool 2 -> LIF [8, 12, 12] -> dense -> LIF 10; %d steps\n", kSteps);

    /* Training: shuffled batches of rate-coded images. */
    order = malloc(n_train * sizeof *order);
    spikes = malloc((size_t)kSteps * kBatch * kPixels);
    out_spikes = malloc((size_t)kSteps * kBatch * kClasses * sizeof *out_spikes);
    if (!order || !spikes || !out_spikes) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    CHECK(snn_trainer_create(net, NULL, &trainer));
    CHECK(snn_optimizer_options_init(&adam, sizeof adam));
    adam.kind = SNN_OPTIMIZER_ADAM;
    adam.learning_rate = 2e-3;
    CHECK(snn_trainer_set_optimizer(trainer, &adam));
    start = seconds();
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        double loss_sum = 0.0, loss = 0.0;
        size_t seen = 0, right = 0, batches = 0;
        for (size_t i = 0; i < n_train; ++i) order[i] = i;
        for (size_t i = n_train - 1; i > 0; --i) { /* Fisher-Yates */
            const size_t j = (size_t)(uniform() * (double)(i + 1));
            const size_t swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        for (size_t first = 0; first < n_train; first += kBatch) {
            const int32_t batch = (int32_t)(n_train - first < kBatch ? n_train - first : kBatch);
            const int64_t x_shape[3] = {kSteps, batch, kPixels}, y_shape[1] = {batch};
            snn_tensor x = tensor(spikes, SNN_DTYPE_UINT8, 3, x_shape), y = tensor(labels, SNN_DTYPE_INT32, 1, y_shape);
            encode(&train, order + first, batch, spikes, labels);
            CHECK(snn_trainer_forward(trainer, kSteps, batch, 1, &l.input, &x));
            CHECK(snn_trainer_loss(trainer, l.output, "ce_count", &y, &loss));
            CHECK(snn_trainer_read_output(trainer, l.output, "spikes", out_spikes, (int64_t)kSteps * batch * kClasses));
            CHECK(snn_trainer_backward(trainer));
            CHECK(snn_trainer_step(trainer));
            CHECK(snn_trainer_zero_grad(trainer));
            for (int32_t b = 0; b < batch; ++b) {
                int32_t counts[kClasses] = {0}, best = 0;
                for (int32_t t = 0; t < kSteps; ++t)
                    for (int32_t c = 0; c < kClasses; ++c) counts[c] += out_spikes[((size_t)t * batch + b) * kClasses + c] != 0.0f;
                for (int32_t c = 1; c < kClasses; ++c)
                    if (counts[c] > counts[best]) best = c;
                right += best == labels[b];
            }
            seen += (size_t)batch;
            loss_sum += loss * batch;
            if (++batches % 25 == 0 || first + kBatch >= n_train)
                printf("epoch %d, %5zu images: loss %.4f, training accuracy %.3f\n", epoch, seen, loss_sum / (double)seen,
                       (double)right / (double)seen);
        }
    }
    train_seconds = seconds() - start;
    printf("training: %.1f s\n", train_seconds);
    snn_trainer_destroy(trainer);
    free(spikes);
    free(out_spikes);

    /* The trained weights are the network's: run it on the test images. */
    classes = malloc(n_test * sizeof *classes);
    classes_loaded = malloc(n_test * sizeof *classes_loaded);
    if (!classes || !classes_loaded) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    test_seed = rng_state;
    start = seconds();
    classify(net, &l, &test, test_seed, classes);
    for (size_t i = 0; i < n_test; ++i) correct += classes[i] == test.labels[i];
    printf("test accuracy %.3f (%zu of %zu), snn_network_run in %.2f s\n", (double)correct / (double)n_test, correct, n_test,
           seconds() - start);

    /* Save, load, and run the file on the same spikes. */
    {
        const char* tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/snn_train_conv_%ld.snn", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    }
    CHECK(snn_network_save(net, path, SNN_SAVE_DEFAULT));
    CHECK(snn_network_load(context, path, NULL, &loaded));
    remove(path);
    classify(loaded, &l, &test, test_seed, classes_loaded); /* the same ids: the file keeps the order */
    for (size_t i = 0; i < n_test; ++i) {
        correct_loaded += classes_loaded[i] == test.labels[i];
        same += classes_loaded[i] == classes[i];
    }
    printf("saved to %s and loaded: test accuracy %.3f (%zu of %zu); %zu of %zu predictions as before\n", path,
           (double)correct_loaded / (double)n_test, correct_loaded, n_test, same, n_test);

    snn_network_destroy(loaded);
    snn_network_destroy(net);
    snn_context_destroy(context);
    free(order);
    free(classes);
    free(classes_loaded);
    free(train.images);
    free(train.labels);
    free(test.images);
    free(test.labels);
    fflush(stdout);
    if (same != n_test) {
        fprintf(stderr, "the loaded network classifies differently\n");
        return 1;
    }
    if (n_train >= 1000 && correct * 10 < n_test * 4) {
        fprintf(stderr, "test accuracy below 40 %%\n");
        return 1;
    }
    return 0;
}
