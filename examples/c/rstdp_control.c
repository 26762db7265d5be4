/* Reward-modulated STDP in a closed loop, driven from C.
 *
 * A two-choice task: in each trial a target appears on the left or the right
 * (drawn by the host). Twenty "left" input neurons fire at 40 Hz when it is on
 * the left, twenty "right" ones when it is on the right (2 Hz otherwise). Two
 * motor neurons receive every input through a plastic connection (rule
 * "rstdp"); the motor that fires more in the 50 ms trial is the agent's
 * choice. The host then emits one spike of an "outcome" neuron: reward or
 * punishment for the chosen motor. It reaches the "dopamine" modulator, which
 * has one concentration per motor, through a connection with a delay of 20
 * steps (weight +1 for a reward, -1 for a punishment, onto the chosen motor's
 * concentration only), so the neuromodulator arrives 20 ms after the decision
 * and turns the eligibility that the chosen motor's spike pairs left into
 * weight changes; the other motor's synapses are not credited. Between trials
 * 100 ms of rest with background input let the dopamine act and decay
 * (modulator tau 10 ms, eligibility tau 100 ms), so one trial's outcome does
 * not credit the next trial's spikes. The same agent with learning off is
 * run beside it as the reference.
 *
 * Prints the learning curve: the fraction of correct choices per block of
 * trials, against chance (0.5), and exits with 1 if the last block is not
 * clearly above chance (so CI notices when learning breaks).
 * Usage: example_rstdp_control [trials = 400] [block = 25] [eta = 1e-4]
 */
#include "example.h"

#include <string.h>

enum { N_IN = 40, TRIAL_STEPS = 50, REST_STEPS = 100, DOPAMINE_DELAY = 20 };

/* The host's own generator for the task (xorshift64*); the network draws its
 * Poisson spikes from its own seed. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* The next step's input of a population of one instance: n float32 values. */
static void set_input(snn_network* net, int32_t population, float* values, int64_t n) {
    int64_t shape[2] = {1, n};
    snn_tensor t;
    memset(&t, 0, sizeof t);
    t.data = values;
    t.dtype = SNN_DTYPE_FLOAT32;
    t.ndim = 2;
    t.shape = shape;
    t.device_type = SNN_DEVICE_CPU;
    CHECK(snn_population_set_input(net, population, &t));
}

/* Input rates: 40 Hz for the group on the target's side, 2 Hz otherwise (side < 0: rest). */
static void set_rates(snn_network* net, int32_t inputs, int side) {
    float rates[N_IN];
    for (int i = 0; i < N_IN; ++i) rates[i] = side < 0 ? 2.0f : ((i < N_IN / 2) == (side == 0) ? 40.0f : 2.0f);
    set_input(net, inputs, rates, N_IN);
}

/* Outcome neuron 2 * good + motor: 0/1 punish motor 0/1, 2/3 reward motor 0/1. */
static void emit_outcome(snn_network* net, int32_t source, int good, int motor) {
    float spikes[4] = {0, 0, 0, 0};
    spikes[2 * good + motor] = 1.0f;
    set_input(net, source, spikes, 4);
}

/* Runs the task for `trials` trials with learning on or off (the reference:
 * the same agent, same task sequence and seeds, frozen) and writes the
 * percentage correct of each block into percent[]. Returns the block count. */
static int run_agent(int learning, int trials, int block, double eta, int* percent, float* final_weights) {
    rng_state = 0x9E3779B97F4A7C15ull;  /* the same targets and initial weights in both runs */
    snn_context* ctx = NULL;
    CHECK(snn_context_create(NULL, &ctx));
    snn_network_options no;
    CHECK(snn_network_options_init(&no, sizeof no));
    no.dt = 1e-3;
    no.seed = 7;
    snn_network* net = NULL;
    CHECK(snn_network_create(ctx, &no, &net));

    int64_t n_in = N_IN, two = 2, four = 4;
    int32_t inputs, motors, outcome, dopamine;
    CHECK(snn_network_add_population(net, "inputs", "poisson", 1, &n_in, &inputs));
    CHECK(snn_network_add_population(net, "motors", "lif", 1, &two, &motors));
    CHECK(snn_population_set_param(net, motors, "tau_mem", 20e-3));
    CHECK(snn_population_set_param(net, motors, "v_rest", 0.0));
    CHECK(snn_population_set_param(net, motors, "v_reset", 0.0));
    CHECK(snn_population_set_param(net, motors, "v_th", 1.0));
    CHECK(snn_network_add_population(net, "outcome", "spike_source", 1, &four, &outcome));
    CHECK(snn_network_add_population(net, "dopamine", "modulator", 1, &two, &dopamine)); /* one per motor */
    CHECK(snn_population_set_param(net, dopamine, "tau", 10e-3));

    /* Input -> motors: random weights, learned by R-STDP. */
    float w[N_IN * 2];
    for (int k = 0; k < N_IN * 2; ++k) w[k] = (float)(0.06 + 0.06 * uniform());
    snn_connection_options o;
    CHECK(snn_connection_options_init(&o, sizeof o));
    int32_t plastic;
    CHECK(snn_network_connect_dense(net, inputs, motors, w, N_IN * 2, &o, &plastic));
    CHECK(snn_connection_set_option(net, plastic, "plasticity", "rstdp"));
    CHECK(snn_connection_set_option(net, plastic, "modulator", "dopamine"));
    CHECK(snn_connection_set_param(net, plastic, "w_max", 0.4));
    CHECK(snn_connection_set_param(net, plastic, "tau_e", 0.1));
    CHECK(snn_connection_set_param(net, plastic, "eta", eta));
    CHECK(snn_connection_set_option(net, plastic, "learning", learning ? "on" : "off"));

    /* Punishment and reward of each motor reach its concentration 20 steps late. */
    const float dw[4 * 2] = {-1, 0, 0, -1, 1, 0, 0, 1};
    o.delay = DOPAMINE_DELAY;
    int32_t late;
    CHECK(snn_network_connect_dense(net, outcome, dopamine, dw, 4 * 2, &o, &late));

    int correct_in_block = 0, blocks = 0;
    for (int trial = 0; trial < trials; ++trial) {
        const int side = uniform() < 0.5 ? 0 : 1;
        int64_t counts[2] = {0, 0};
        for (int s = 0; s < TRIAL_STEPS; ++s) {
            set_rates(net, inputs, side);
            CHECK(snn_network_step(net));
            uint8_t fired[2];
            int64_t count = 0;
            CHECK(snn_population_read_spikes(net, motors, fired, 2, &count));
            counts[0] += fired[0];
            counts[1] += fired[1];
        }
        const int choice = counts[0] == counts[1] ? (uniform() < 0.5 ? 0 : 1) : (counts[0] > counts[1] ? 0 : 1);
        const int right = choice == side;
        correct_in_block += right;
        emit_outcome(net, outcome, right, choice);
        for (int s = 0; s < REST_STEPS; ++s) {
            set_rates(net, inputs, -1);
            CHECK(snn_network_step(net));
        }
        if ((trial + 1) % block == 0 || trial + 1 == trials) {
            const int size = (trial % block) + 1;
            percent[blocks++] = (100 * correct_in_block + size / 2) / size;
            correct_in_block = 0;
        }
    }
    int64_t count = 0;
    CHECK(snn_connection_get_weights(net, plastic, final_weights, N_IN * 2, &count));
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    return blocks;
}

int main(int argc, char** argv) {
    const int trials = argc > 1 ? atoi(argv[1]) : 400;
    const int block = argc > 2 ? atoi(argv[2]) : 25;
    const double eta = argc > 3 ? atof(argv[3]) : 1e-4;
    if (trials < 1 || trials > 100000 || block < 1 || !(eta >= 0.0)) {
        fprintf(stderr, "usage: %s [trials 1..100000] [block >= 1] [eta >= 0]\n", argv[0]);
        return 2;
    }
    const int max_blocks = trials / block + 1;
    int* learned = (int*)calloc((size_t)max_blocks, sizeof(int));
    int* frozen = (int*)calloc((size_t)max_blocks, sizeof(int));
    if (!learned || !frozen) return 1;
    float w[N_IN * 2], w_frozen[N_IN * 2];
    const int blocks = run_agent(1, trials, block, eta, learned, w);
    run_agent(0, trials, block, eta, frozen, w_frozen);

    printf("R-STDP closed loop (libsnn %s): %d trials, dopamine %d ms after each choice, eta %g\n", snn_version_string(),
           trials, DOPAMINE_DELAY, eta);
    printf("  block   R-STDP   frozen (reference)\n");
    for (int b = 0; b < blocks; ++b) printf("  %5d   %4d %%   %4d %%\n", b + 1, learned[b], frozen[b]);
    /* What was learned: the mean weight from each input group to each motor. */
    double mean[2][2] = {{0, 0}, {0, 0}};
    for (int i = 0; i < N_IN; ++i)
        for (int m = 0; m < 2; ++m) mean[i < N_IN / 2 ? 0 : 1][m] += w[i * 2 + m] / (N_IN / 2);
    printf("mean weights after learning: left inputs -> motors %.3f %.3f, right inputs -> motors %.3f %.3f\n", mean[0][0],
           mean[0][1], mean[1][0], mean[1][1]);
    const int last = learned[blocks - 1], last_frozen = frozen[blocks - 1];
    printf("last block: R-STDP %d %%, frozen %d %% (chance: 50 %%)\n", last, last_frozen);
    free(learned);
    free(frozen);
    if (trials >= 200 && eta > 0.0 && last < 80) {
        fprintf(stderr, "the agent did not learn the task (last block %d %%)\n", last);
        return 1;
    }
    return 0;
}
