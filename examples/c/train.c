/* Training from C: a two-layer spiking network learns to tell four noisy
 * spike patterns apart (docs/training.md). Surrogate-gradient BPTT, Adam,
 * cross-entropy on the output spike counts; the trained network is then run
 * (snn_network_run) on test patterns and its accuracy printed.
 *
 *   train [seed]       exits 1 if the test accuracy is below 80 %
 */
#include <snn/snn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                                      \
    do {                                                                                                 \
        snn_status status_ = (call);                                                                     \
        if (status_ != SNN_OK) {                                                                         \
            fprintf(stderr, "%s failed: %s: %s\n", #call, snn_status_name(status_), snn_last_error()); \
            exit(1);                                                                                     \
        }                                                                                                \
    } while (0)

enum { kInputs = 40, kHidden = 32, kClasses = 4, kSteps = 25, kBatch = 32, kBatches = 120, kTest = 200 };

static uint64_t rng_state;
static double uniform(void) { /* xorshift64*, in [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static float normal(void) { /* Box-Muller */
    const double u = uniform() + 1e-12, v = uniform();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static uint8_t prototypes[kClasses][kInputs];

/* Spikes [kSteps][batch][kInputs] of random classes: each prototype neuron
 * fires with probability 0.5 per step, every other neuron with 0.03. */
static void make_batch(int32_t batch, uint8_t* spikes, int32_t* labels) {
    for (int32_t b = 0; b < batch; ++b) labels[b] = (int32_t)(uniform() * kClasses);
    for (int32_t t = 0; t < kSteps; ++t)
        for (int32_t b = 0; b < batch; ++b)
            for (int32_t i = 0; i < kInputs; ++i)
                spikes[((size_t)t * batch + b) * kInputs + i] = uniform() < (prototypes[labels[b]][i] ? 0.5 : 0.03);
}

static int32_t add_layer(snn_network* net, const char* name, int64_t n) {
    int32_t pop = -1;
    CHECK(snn_network_add_population(net, name, "lif", 1, &n, &pop));
    CHECK(snn_population_set_param(net, pop, "tau_mem", 20e-3));
    CHECK(snn_population_set_param(net, pop, "v_rest", 0.0));
    CHECK(snn_population_set_param(net, pop, "v_reset", 0.0));
    CHECK(snn_population_set_param(net, pop, "v_th", 1.0));
    CHECK(snn_population_set_option(net, pop, "reset", "subtract"));
    return pop;
}

static void connect_layer(snn_network* net, int32_t pre, int32_t post, int64_t n_pre, int64_t n_post, float mean, float sd) {
    snn_connection_options options;
    int32_t conn = -1;
    float* w = malloc(sizeof(float) * (size_t)(n_pre * n_post));
    for (int64_t k = 0; k < n_pre * n_post; ++k) w[k] = mean + sd * normal();
    CHECK(snn_connection_options_init(&options, sizeof options));
    options.synapse = "delta";
    options.delay = 0; /* a feedforward layer sees its input in the same step */
    CHECK(snn_network_connect_dense(net, pre, post, w, n_pre * n_post, &options, &conn));
    free(w);
}

int main(int argc, char** argv) {
    snn_context* context = NULL;
    snn_network* net = NULL;
    snn_network_options network_options;
    snn_trainer* trainer = NULL;
    snn_optimizer_options adam;
    int64_t n_in = kInputs, shape[3] = {kSteps, kBatch, kInputs}, label_shape[1] = {kBatch};
    static uint8_t spikes[kSteps * kTest * kInputs];
    static int32_t labels[kTest];
    static uint8_t out_spikes[kSteps * kTest * kClasses];
    int32_t input, hidden, output, correct = 0;
    double loss = 0.0, first = 0.0, last = 0.0;

    rng_state = 0x9E3779B97F4A7C15ULL ^ (argc > 1 ? strtoull(argv[1], NULL, 10) : 1);
    for (int32_t c = 0; c < kClasses; ++c)
        for (int32_t i = 0; i < kInputs; ++i) prototypes[c][i] = uniform() < 0.25;

    CHECK(snn_context_create(NULL, &context));
    CHECK(snn_network_options_init(&network_options, sizeof network_options));
    network_options.dt = 1e-3;
    CHECK(snn_network_create(context, &network_options, &net));
    CHECK(snn_network_add_population(net, "input", "spike_source", 1, &n_in, &input));
    hidden = add_layer(net, "hidden", kHidden);
    output = add_layer(net, "output", kClasses);
    connect_layer(net, input, hidden, kInputs, kHidden, 0.05f, 0.25f);
    connect_layer(net, hidden, output, kHidden, kClasses, 0.1f, 0.3f);

    CHECK(snn_trainer_create(net, NULL, &trainer));
    CHECK(snn_optimizer_options_init(&adam, sizeof adam));
    adam.learning_rate = 1e-2;
    CHECK(snn_trainer_set_optimizer(trainer, &adam));
    for (int32_t k = 0; k < kBatches; ++k) {
        snn_tensor x, y;
        memset(&x, 0, sizeof x);
        memset(&y, 0, sizeof y);
        make_batch(kBatch, spikes, labels);
        x.data = spikes;
        x.dtype = SNN_DTYPE_UINT8;
        x.ndim = 3;
        x.shape = shape;
        x.device_type = SNN_DEVICE_CPU;
        y.data = labels;
        y.dtype = SNN_DTYPE_INT32;
        y.ndim = 1;
        y.shape = label_shape;
        y.device_type = SNN_DEVICE_CPU;
        CHECK(snn_trainer_forward(trainer, kSteps, kBatch, 1, &input, &x));
        CHECK(snn_trainer_loss(trainer, output, "ce_count", &y, &loss));
        CHECK(snn_trainer_backward(trainer));
        CHECK(snn_trainer_step(trainer));
        CHECK(snn_trainer_zero_grad(trainer));
        if (k < 10) first += loss / 10;
        if (k >= kBatches - 10) last += loss / 10;
        if (k % 20 == 0 || k == kBatches - 1) printf("batch %3d  loss %.4f\n", k, loss);
    }
    snn_trainer_destroy(trainer);

    /* The trained weights are the network's: run it on test patterns. */
    {
        snn_tensor x;
        int64_t test_shape[3] = {kSteps, kTest, kInputs}, out_shape[3] = {kSteps, kTest, kClasses};
        memset(&x, 0, sizeof x);
        make_batch(kTest, spikes, labels);
        CHECK(snn_network_set_batch(net, kTest));
        x.data = spikes;
        x.dtype = SNN_DTYPE_UINT8;
        x.ndim = 3;
        x.shape = test_shape;
        x.device_type = SNN_DEVICE_CPU;
        CHECK(snn_population_bind_input(net, input, &x));
        x.data = out_spikes;
        x.shape = out_shape;
        CHECK(snn_population_bind_output(net, output, "spikes", &x));
        CHECK(snn_network_run(net, kSteps));
    }
    for (int32_t b = 0; b < kTest; ++b) {
        int32_t counts[kClasses] = {0}, best = 0;
        for (int32_t t = 0; t < kSteps; ++t)
            for (int32_t c = 0; c < kClasses; ++c) counts[c] += out_spikes[((size_t)t * kTest + b) * kClasses + c];
        for (int32_t c = 1; c < kClasses; ++c)
            if (counts[c] > counts[best]) best = c;
        correct += best == labels[b];
    }
    printf("loss %.4f -> %.4f; test accuracy %.1f %% (%d of %d)\n", first, last, 100.0 * correct / kTest, correct, kTest);
    snn_network_destroy(net);
    snn_context_destroy(context);
    return correct >= 0.8 * kTest ? 0 : 1;
}
