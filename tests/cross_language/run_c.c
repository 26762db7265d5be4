/* The cross-language runner for C (protocol in README.md here).
 *
 *     cross_language_c network.snn copy|bound
 */
#include <snn/snn.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEPS 300

typedef struct {
    uint64_t hash;
    int64_t count;
    int32_t index[2]; /* network population ids of "hid" and "out" */
} recorder;

static void mix(uint64_t* h, const void* data, size_t size) {
    const unsigned char* p = (const unsigned char*)data;
    for (size_t i = 0; i < size; ++i) *h = (*h ^ p[i]) * 0x100000001B3ull;
}

static void mix_le(uint64_t* h, uint64_t value, int bytes) {
    unsigned char b[8];
    for (int i = 0; i < bytes; ++i) b[i] = (unsigned char)(value >> (8 * i));
    mix(h, b, (size_t)bytes);
}

static int32_t on_spike(int32_t population, int64_t step, int32_t batch_index, int32_t count, const int32_t* ids,
                        void* user_data) {
    recorder* r = (recorder*)user_data;
    const int32_t tag = population == r->index[0] ? 1 : 2;
    for (int32_t k = 0; k < count; ++k) {
        mix_le(&r->hash, (uint32_t)tag, 4);
        mix_le(&r->hash, (uint64_t)step, 8);
        mix_le(&r->hash, (uint32_t)batch_index, 4);
        mix_le(&r->hash, (uint32_t)ids[k], 4);
    }
    r->count += count;
    return 0;
}

static int check(snn_status status, const char* what) {
    if (status == SNN_OK) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, snn_status_name(status), snn_last_error());
    return 1;
}

int main(int argc, char** argv) {
    if (argc != 3 || (strcmp(argv[2], "copy") != 0 && strcmp(argv[2], "bound") != 0)) {
        fprintf(stderr, "usage: %s network.snn copy|bound\n", argv[0]);
        return 2;
    }
    const int bound = strcmp(argv[2], "bound") == 0;
    snn_context* ctx = NULL;
    snn_network* net = NULL;
    int32_t in = -1, batch = 0;
    snn_population_info info;
    recorder rec = {0xCBF29CE484222325ull, 0, {-1, -1}};
    uint8_t* spikes = NULL;
    info.struct_size = sizeof info;
    int failed = check(snn_context_create(NULL, &ctx), "context") || check(snn_network_load(ctx, argv[1], NULL, &net), "load") ||
                 check(snn_network_find_population(net, "in", &in), "in") ||
                 check(snn_network_find_population(net, "hid", &rec.index[0]), "hid") ||
                 check(snn_network_find_population(net, "out", &rec.index[1]), "out") ||
                 check(snn_network_batch(net, &batch), "batch") ||
                 check(snn_population_info_get(net, in, &info), "info") ||
                 check(snn_population_set_spike_callback(net, rec.index[0], on_spike, &rec), "callback") ||
                 check(snn_population_set_spike_callback(net, rec.index[1], on_spike, &rec), "callback");
    if (!failed) {
        const int64_t n = info.size;
        spikes = (uint8_t*)calloc((size_t)(STEPS * batch * n), 1);
        for (int64_t k = 0; k < STEPS; ++k)
            for (int64_t b = 0; b < batch; ++b)
                for (int64_t j = 0; j < n; ++j) spikes[(k * batch + b) * n + j] = (k * 7 + b * 13 + j * 3) % 11 == 0;
        if (bound) {
            const int64_t shape[3] = {STEPS, batch, n};
            snn_tensor t = {spikes, SNN_DTYPE_UINT8, 3, shape, NULL, SNN_DEVICE_CPU, 0, NULL, NULL};
            failed = check(snn_population_bind_input(net, in, &t), "bind") || check(snn_network_run(net, STEPS), "run");
        } else {
            const int64_t shape[2] = {batch, n};
            for (int64_t k = 0; k < STEPS && !failed; ++k) {
                snn_tensor t = {spikes + k * batch * n, SNN_DTYPE_UINT8, 2, shape, NULL, SNN_DEVICE_CPU, 0, NULL, NULL};
                failed = check(snn_population_set_input(net, in, &t), "input") || check(snn_network_step(net), "step");
            }
        }
    }
    if (!failed) printf("%s spikes=%" PRId64 " fnv1a64=%016" PRIx64 "\n", argv[2], rec.count, rec.hash);
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    free(spikes);
    return failed;
}
