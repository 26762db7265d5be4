/* The program every packaging consumer builds (tests/consumers/README.md):
 * it includes <snn/snn.h> from the installed or packaged headers, links the
 * packaged libsnn, builds a small network, runs it and checks its spikes.
 *
 * Four spike sources drive four LIF neurons one to one through delta synapses
 * of 50 mV (well above the 15 mV between the default rest and threshold).
 * Sources 1 and 3 spike in step 0; with the default delay of one step, LIF
 * neurons 1 and 3 must spike in step 1 and no neuron at any other time.
 * Exit code 0 only if that is exactly what the library reports. */
#include <snn/snn.h>

#include <stdio.h>

#define STEPS 6
#define N 4

typedef struct {
    int32_t population;
    int64_t spikes;      /* all spikes seen */
    int64_t wrong;       /* spikes other than the expected ones */
    int32_t seen[N];     /* expected spikes seen, per neuron */
} record;

static int32_t on_spike(int32_t population, int64_t step, int32_t batch_index, int32_t count,
                        const int32_t* neuron_ids, void* user_data) {
    record* r = (record*)user_data;
    int32_t k;
    for (k = 0; k < count; ++k) {
        const int32_t id = neuron_ids[k];
        r->spikes += 1;
        if (population == r->population && step == 1 && batch_index == 0 && (id == 1 || id == 3))
            r->seen[id] += 1;
        else
            r->wrong += 1;
    }
    return 0;
}

static int check(snn_status status, const char* what) {
    if (status == SNN_OK) return 0;
    fprintf(stderr, "consumer: %s failed: %s: %s\n", what, snn_status_name(status), snn_last_error());
    return 1;
}

int main(void) {
    snn_context* ctx = NULL;
    snn_network* net = NULL;
    int32_t src = -1, lif = -1, conn = -1;
    const int64_t n = N;
    uint8_t spikes[N] = {0, 1, 0, 1};
    const int64_t shape[2] = {1, N};
    snn_tensor input = {spikes, SNN_DTYPE_UINT8, 2, shape, NULL, SNN_DEVICE_CPU, 0, NULL, NULL};
    record rec = {-1, 0, 0, {0, 0, 0, 0}};
    int failed;

    if (snn_version() != SNN_VERSION_NUMBER) {
        fprintf(stderr, "consumer: header %d but library %u (%s)\n", SNN_VERSION_NUMBER, (unsigned)snn_version(),
                snn_version_string());
        return 1;
    }
    failed = check(snn_context_create(NULL, &ctx), "snn_context_create") ||
             check(snn_network_create(ctx, NULL, &net), "snn_network_create") ||
             check(snn_network_add_population(net, "src", "spike_source", 1, &n, &src), "add src") ||
             check(snn_network_add_population(net, "lif", "lif", 1, &n, &lif), "add lif") ||
             check(snn_network_connect_one_to_one(net, src, lif, NULL, 0, 0.05f, NULL, &conn), "connect");
    rec.population = lif;
    failed = failed || check(snn_population_set_spike_callback(net, lif, on_spike, &rec), "callback") ||
             check(snn_population_set_input(net, src, &input), "set_input") ||
             check(snn_network_run(net, STEPS), "run");
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    if (failed) return 1;
    if (rec.spikes != 2 || rec.wrong != 0 || rec.seen[1] != 1 || rec.seen[3] != 1) {
        fprintf(stderr, "consumer: expected LIF neurons 1 and 3 to spike once, in step 1; got %lld spikes (%lld unexpected)\n",
                (long long)rec.spikes, (long long)rec.wrong);
        return 1;
    }
    printf("libsnn %s: LIF neurons 1 and 3 spiked in step 1, as expected\n", snn_version_string());
    return 0;
}
